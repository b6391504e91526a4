#!/usr/bin/env node
// Writes or removes a named artifact in a directory outside the workspace (a stand-in for a dataset cache or an
// artifact store). Usage: artifact.js create|remove DIR NAME
const fs = require('node:fs');
const path = require('node:path');
const [op, dir, name] = process.argv.slice(2);
const file = path.join(dir, name);
if (op === 'create') {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, `${process.env.DTF_TASK} on ${process.env.DTF_HOST}\n`);
  console.log(`created ${file}`);
} else if (op === 'remove') {
  fs.rmSync(file, { force: true });
  console.log(`removed ${file}`);
} else {
  console.error(`usage: artifact.js create|remove DIR NAME (got "${op}")`);
  process.exit(2);
}
