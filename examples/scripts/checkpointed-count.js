#!/usr/bin/env node
// A long task that checkpoints: counts to N, one step every STEP_MS, saving its progress to $DTF_CHECKPOINT_DIR
// after every step (written in the workspace, then renamed into it: a checkpoint is never half a file). Started again with a restored
// checkpoint, it goes on from there. It keeps a log in out/ (an artifact) and, with --started-log FILE, appends one
// JSON line per start to FILE (for tests and benchmarks: where and when each run started, and from which step).
// --blob-bytes N adds N random bytes to the checkpoint (weights, say), written once: a checkpoint too large to go inline.
// Usage: checkpointed-count.js --to N [--step-ms MS] [--started-log FILE] [--blob-bytes N]
const fs = require('node:fs');
const path = require('node:path');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const to = Number(arg('to', '20'));
const stepMs = Number(arg('step-ms', '500'));
const startedLog = arg('started-log');
const blobBytes = Number(arg('blob-bytes', '0'));

const dir = process.env.DTF_CHECKPOINT_DIR;
if (!dir) {
  console.error('DTF_CHECKPOINT_DIR is not set: run me under dtf');
  process.exit(2);
}
const progressFile = path.join(dir, 'progress.json');
let from = 0;
if (fs.existsSync(progressFile)) from = JSON.parse(fs.readFileSync(progressFile, 'utf8')).done;
const restored = process.env.DTF_CHECKPOINT_RESTORED === '1';
console.log(`starting at step ${from} of ${to} on ${process.env.DTF_HOST} (attempt ${process.env.DTF_ATTEMPT}, checkpoint restored: ${restored}, seq ${process.env.DTF_CHECKPOINT_SEQ})`);
if (startedLog) {
  fs.appendFileSync(startedLog, `${JSON.stringify({ at: Date.now(), from, restored, seq: Number(process.env.DTF_CHECKPOINT_SEQ), host: process.env.DTF_HOST, attempt: Number(process.env.DTF_ATTEMPT) })}\n`);
}
const blob = path.join(dir, 'blob.bin');
if (blobBytes > 0 && !fs.existsSync(blob)) {
  fs.writeFileSync('blob.tmp', require('node:crypto').randomBytes(blobBytes));
  fs.renameSync('blob.tmp', blob);
}
fs.mkdirSync('out', { recursive: true });
const logFile = path.join('out', 'count.log');
fs.appendFileSync(logFile, `start at ${from} on ${process.env.DTF_HOST}\n`);

let done = from;
const finish = () => {
  fs.writeFileSync(path.join('out', 'result.json'), JSON.stringify({ counted: to, resumedFrom: from }));
  console.log('done');
};
const step = () => {
  done += 1;
  fs.appendFileSync(logFile, `step ${done}\n`);
  fs.writeFileSync('progress.json.tmp', JSON.stringify({ done }));
  fs.renameSync('progress.json.tmp', progressFile);
  console.log(`step ${done}/${to}`);
  if (done >= to) finish();
  else setTimeout(step, stepMs);
};
if (done >= to) finish();
else setTimeout(step, stepMs);
