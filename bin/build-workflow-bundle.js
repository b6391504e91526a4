#!/usr/bin/env node
// Bundles the workflows once at build time, so that workers start in well under a second instead of webpacking each time.
const { bundleWorkflowCode } = require('@temporalio/worker');
const fs = require('node:fs');
const path = require('node:path');

(async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(path.join(__dirname, '..', 'dist', 'src', 'workflows')),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  fs.writeFileSync(path.join(__dirname, '..', 'dist', 'workflow-bundle.js'), code);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
