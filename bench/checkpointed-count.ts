/** The started-log of examples/scripts/checkpointed-count.js: one JSON line per start of the command (for its test and bench). */
import fs from 'node:fs';

export interface CountStart {
  /** Epoch ms the command started. */
  at: number;
  /** The step it started from (0, or the restored checkpoint's). */
  from: number;
  restored: boolean;
  seq: number;
  host: string;
  attempt: number;
}

export function readStartedLog(file: string): CountStart[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as CountStart);
}
