#!/usr/bin/env node
// Reads a config the way test harnesses do and rejects an unknown option: a configuration error (fail fast, no retry).
console.error("error: unrecognized arguments: --batch-szie 32");
console.error('usage: train.py [-h] [--batch-size BATCH_SIZE]');
process.exit(2);
