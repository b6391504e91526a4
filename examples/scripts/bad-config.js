#!/usr/bin/env node
// Reads its options the way training harnesses do and rejects an unknown one: a configuration error (fail fast, no
// retry, dead letter queue). Usage: bad-config.js --batch-size N (anything else is refused, as a typo would be).
const args = process.argv.slice(2);
if (args.length === 2 && args[0] === '--batch-size' && Number(args[1]) > 0) {
  console.log(`config ok: batch size ${args[1]}; training would start here`);
  process.exit(0);
}
console.error(`error: unrecognized arguments: ${args.join(' ') || '--batch-szie 32'}`);
console.error('usage: train.py [-h] [--batch-size BATCH_SIZE]');
process.exit(2);
