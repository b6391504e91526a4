/**
 * Fault injection (chaos support): instead of the task's command, the attempt runs a small program that really fails
 * the named way — a refused connection, a read that times out, a heap that runs out, a process killed by a signal —
 * so classification, retry and recovery are exercised end to end. Off unless asked for; logged loudly when on.
 */
import { INJECTABLE_CATEGORIES, InjectRates } from '../domain/categories';

type InjectableCategory = (typeof INJECTABLE_CATEGORIES)[number];

const nodeScript = (code: string) => [process.execPath, '-e', code];

/** The categories that can be made to happen for real, safely, and how. */
export const FAULTS: Record<InjectableCategory, () => string[]> = {
  NETWORK_CONNECTION_ERROR: () =>
    nodeScript(
      `require('net').connect({host:'127.0.0.1',port:1}).on('error',e=>{console.error('Error: connect '+e.code+' 127.0.0.1:1 (dtf fault injection)');process.exit(1)})`,
    ),
  NETWORK_TIMEOUT_ERROR: () =>
    nodeScript(
      `const n=require('net');const s=n.createServer(()=>{}).listen(0,'127.0.0.1',()=>{const c=n.connect(s.address().port,'127.0.0.1');c.setTimeout(200,()=>{console.error('Error: read ETIMEDOUT: the peer did not answer within 200 ms (dtf fault injection)');process.exit(1)})})`,
    ),
  RESOURCE_ALLOCATION_ERROR: () => [process.execPath, '--max-old-space-size=16', '-e', `const a=[];for(;;)a.push(new Array(1e6).fill(1))`],
  WORKER_CRASH_ERROR: () => nodeScript(`console.error('dtf fault injection: killing this process with SIGKILL');process.kill(process.pid,'SIGKILL')`),
  TEST_EXECUTION_ERROR: () => nodeScript(`require('assert').strictEqual(1+1,3)`),
  TEST_DEPENDENCY_ERROR: () => nodeScript(`require('dtf-injected-missing-module')`),
};

export { InjectRates };

/** Parses `--inject CATEGORY:RATE[,CATEGORY:RATE…]`. */
export function parseInjectOption(text: string): InjectRates {
  const rates: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [category, rate] = part.split(':');
    rates[category] = Number(rate);
    if (rate === undefined || Number.isNaN(rates[category])) throw new Error(`--inject "${part}": expected CATEGORY:RATE with RATE between 0 and 1`);
  }
  const parsed = InjectRates.safeParse(rates); // names the category that cannot be injected for real
  if (!parsed.success) throw new Error(`--inject: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Draws at most one fault for this attempt: each category in turn with its own rate. */
export function drawFault(rates: InjectRates, random: () => number = Math.random): InjectableCategory | undefined {
  for (const [category, rate] of Object.entries(rates) as [InjectableCategory, number][]) if (random() < rate) return category;
  return undefined;
}
