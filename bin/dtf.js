#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'index.js');
if (!fs.existsSync(entry)) {
  console.error('dtf is not built yet: run `npm ci` (or `npm run build`) in ' + path.join(__dirname, '..'));
  process.exit(2);
}
require(entry).main(process.argv).catch((err) => {
  if (!err || err.message !== '') console.error(err && err.message ? err.message : err);
  process.exit(typeof err?.exitCode === 'number' ? err.exitCode : 1);
});
