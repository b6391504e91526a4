#!/usr/bin/env node
// Runs for N seconds printing progress (for reassign and worker-kill scenarios). Usage: sleep.js SECONDS
const total = Number(process.argv[2] || 5);
let t = 0;
const timer = setInterval(() => {
  t += 0.5;
  console.log(`working ${t}/${total} s on ${process.env.DTF_HOST}`);
  if (t >= total) {
    clearInterval(timer);
    console.log('done');
  }
}, 500);
