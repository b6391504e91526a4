#!/usr/bin/env node
// A stand-in training job: allocates what it says on the GPU it was given (DTF_GPU_MEMORY_GB, set by the worker)
// and fails the way PyTorch does when that GPU is too small. Usage: train.js --needs-gb N [--steps N]
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const needs = opt('needs-gb', 1);
const steps = opt('steps', 5);
const have = Number(process.env.DTF_GPU_MEMORY_GB || 0);
console.log(`train: host ${process.env.DTF_HOST}, GPU memory ${have} GB, model needs ${needs} GB`);
if (have < needs) {
  console.error('Traceback (most recent call last):');
  console.error('  File "train.py", line 42, in <module>');
  console.error(
    `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${(needs - have + 0.5).toFixed(2)} GiB ` +
      `(GPU 0; ${have.toFixed(2)} GiB total capacity; ${(have * 0.9).toFixed(2)} GiB already allocated)`,
  );
  process.exit(1);
}
let step = 0;
const timer = setInterval(() => {
  step += 1;
  console.log(`step ${step}/${steps} loss=${(1 / step).toFixed(3)}`);
  if (step >= steps) {
    clearInterval(timer);
    console.log('train: done');
  }
}, 100);
