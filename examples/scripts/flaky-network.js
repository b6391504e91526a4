#!/usr/bin/env node
// Downloads a "dataset" from a local port that refuses connections on the first attempt(s) (a real ECONNREFUSED),
// and succeeds from attempt DTF_ATTEMPT >= --ok-from. Usage: flaky-network.js [--ok-from N]
const net = require('node:net');
const i = process.argv.indexOf('--ok-from');
const okFrom = i >= 0 ? Number(process.argv[i + 1]) : 2;
const attempt = Number(process.env.DTF_ATTEMPT || 1);
if (attempt >= okFrom) {
  console.log(`attempt ${attempt}: dataset downloaded`);
  process.exit(0);
}
// Port 1 on loopback: nothing listens there, so the connection is really refused.
const socket = net.connect({ host: '127.0.0.1', port: 1 });
socket.on('error', (err) => {
  console.error(`Error: connect ${err.code} 127.0.0.1:1`);
  console.error(`    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) { errno: ${err.errno}, code: '${err.code}', syscall: 'connect' }`);
  process.exit(1);
});
