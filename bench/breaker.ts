/**
 * Times a circuit breaker's decision: the closed path (call goes through to a no-op service call) and the open
 * path (refused with ServiceUnavailableError). Run after a build: `node dist/bench/breaker.js [calls]`.
 * The last line is a JSON summary.
 */
import { ServiceBreakers } from '../src/resilience/service-breakers';

const noop = () => Promise.resolve(1);
const failing = () => Promise.reject(new Error('down'));

async function microsPerCall(breakers: ServiceBreakers, service: string, calls: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i += 1) await breakers.call(service, noop).catch(() => undefined);
  return Number(process.hrtime.bigint() - started) / 1_000 / calls;
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 100_000);
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`calls must be a positive integer, got ${process.argv[2]}`);
  const breakers = new ServiceBreakers({ consecutiveFailures: 1, halfOpenAfterMs: 3_600_000 });

  await breakers.call('open', failing).catch(() => undefined);
  if (breakers.state('open') !== 'open') throw new Error('the breaker under test did not open');

  // Warm up both paths so the JIT has compiled them before timing.
  await microsPerCall(breakers, 'closed', 10_000);
  await microsPerCall(breakers, 'open', 10_000);
  const closedMicrosPerCall = await microsPerCall(breakers, 'closed', calls);
  const openMicrosPerCall = await microsPerCall(breakers, 'open', calls);
  if (breakers.state('closed') !== 'closed' || breakers.state('open') !== 'open') throw new Error('a breaker changed state while timed');

  console.log(`calls per path:          ${calls}`);
  console.log(`closed (call let through): ${closedMicrosPerCall.toFixed(3)} µs per call`);
  console.log(`open (refused, fail fast): ${openMicrosPerCall.toFixed(3)} µs per call`);
  console.log(JSON.stringify({ calls, closedMicrosPerCall: round(closedMicrosPerCall), openMicrosPerCall: round(openMicrosPerCall) }));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
