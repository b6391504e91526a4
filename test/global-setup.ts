/** Starts one real Temporal dev server (found or installed by the project's own code) for the whole test run. */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startDevServer } from '../src/server/dev-server';

export default async function globalSetup(): Promise<void> {
  if (process.env.DTF_TEST_ADDRESS) return; // an already running server was given
  const port = await freePort();
  const logDir = path.join(__dirname, '..', '.dtf', 'test-logs');
  fs.mkdirSync(logDir, { recursive: true });
  const server = await startDevServer({ port, headless: true, logFile: path.join(logDir, 'temporal-server.log'), log: (m) => console.log(`[global-setup] ${m}`) });
  process.env.DTF_TEST_ADDRESS = server.address;
  process.env.DTF_TEST_LOG_DIR = logDir;
  (globalThis as { __dtfServer?: typeof server }).__dtfServer = server;
}
