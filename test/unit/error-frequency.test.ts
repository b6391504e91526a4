import {
  DEFAULT_MAX_ENTRIES,
  ErrorFrequencyTracker,
  NORMALIZED_MESSAGE_MAX_CHARS,
  normalizeMessage,
} from '../../src/domain/error-frequency';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2025-06-01T12:00:00Z');

const OOM_A = 'CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)';
const OOM_B = 'CUDA out of memory. Tried to allocate 512.50 MiB (GPU 3; 23.69 GiB total)';
const CONN = 'Connection refused while contacting 10.0.0.7:7233';

describe('normalizeMessage', () => {
  it('makes the same CUDA OOM with other numbers similar', () => {
    expect(normalizeMessage(OOM_A)).toBe(normalizeMessage(OOM_B));
    expect(normalizeMessage(OOM_A)).toBe('cuda out of memory. tried to allocate <size> (gpu <n>; <size> total)');
  });

  it('keeps a different error apart', () => {
    expect(normalizeMessage(OOM_A)).not.toBe(normalizeMessage('CUDA error: device-side assert triggered (GPU 0)'));
    expect(normalizeMessage(OOM_A)).not.toBe(normalizeMessage(CONN));
  });

  it('is not a substring test: a message that merely contains another is different', () => {
    expect(normalizeMessage(`${OOM_A}; then segmentation fault`)).not.toBe(normalizeMessage(OOM_A));
  });

  it('replaces hex addresses, uuids, paths, quoted names and long hex ids', () => {
    const a = normalizeMessage(
      "Segfault at 0x7f3a2c001000 in /opt/conda/lib/libtorch.so for job 3f2b1c9e-8a7d-4e2f-9b1a-0c5d6e7f8a9b, module 'torch', commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    );
    const b = normalizeMessage(
      'Segfault at 0xdeadbeef in /usr/lib/x86_64-linux-gnu/libc.so.6 for job 00000000-0000-4000-8000-000000000000, module "numpy", commit 1a2b3c4d5e6f7a8b',
    );
    expect(a).toBe(b);
    expect(a).toBe('segfault at <hex> in <path> for job <uuid>, module <str>, commit <hex>');
  });

  it("leaves apostrophes in words alone (can't is not a quoted string)", () => {
    expect(normalizeMessage("can't open 'a.txt'")).toBe("can't open <str>");
  });

  it('lowercases, collapses whitespace and truncates', () => {
    expect(normalizeMessage('  Assertion   FAILED\n\t here ')).toBe('assertion failed here');
    expect(normalizeMessage('x'.repeat(10_000))).toHaveLength(NORMALIZED_MESSAGE_MAX_CHARS);
  });

  it('treats numbers of any magnitude alike', () => {
    expect(normalizeMessage('allocated 1234 bytes')).toBe(normalizeMessage('allocated 123456789 bytes'));
    expect(normalizeMessage('exit after 3 retries')).toBe(normalizeMessage('exit after 12 retries'));
  });
});

describe('ErrorFrequencyTracker', () => {
  it('counts the error just recorded', () => {
    const t = new ErrorFrequencyTracker();
    expect(t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0)).toEqual({
      lastHour: 1,
      last6Hours: 1,
      last24Hours: 1,
      recurring: false,
    });
  });

  it('counts similar messages of the same category together', () => {
    const t = new ErrorFrequencyTracker();
    t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0);
    expect(t.record('RESOURCE_ALLOCATION_ERROR', OOM_B, T0 + MINUTE).lastHour).toBe(2);
  });

  it('keeps the same message under another category apart', () => {
    const t = new ErrorFrequencyTracker();
    t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0);
    expect(t.record('HARDWARE_CAPABILITY_ERROR', OOM_A, T0 + MINUTE).lastHour).toBe(1);
  });

  it('keeps a different message of the same category apart', () => {
    const t = new ErrorFrequencyTracker();
    t.record('NETWORK_CONNECTION_ERROR', CONN, T0);
    expect(t.record('NETWORK_CONNECTION_ERROR', 'Connection reset by peer', T0 + MINUTE).lastHour).toBe(1);
  });

  it('counts into the 1 h, 6 h and 24 h windows by age', () => {
    const t = new ErrorFrequencyTracker();
    const now = T0 + 30 * HOUR;
    t.record('WORKER_CRASH_ERROR', 'Segmentation fault', now - 25 * HOUR); // outside every window
    t.record('WORKER_CRASH_ERROR', 'Segmentation fault', now - 23 * HOUR);
    t.record('WORKER_CRASH_ERROR', 'Segmentation fault', now - 5 * HOUR);
    t.record('WORKER_CRASH_ERROR', 'Segmentation fault', now - 2 * HOUR);
    t.record('WORKER_CRASH_ERROR', 'Segmentation fault', now - 59 * MINUTE);
    expect(t.record('WORKER_CRASH_ERROR', 'Segmentation fault', now)).toEqual({
      lastHour: 2,
      last6Hours: 4,
      last24Hours: 5,
      recurring: false,
    });
  });

  it('an error exactly one hour old is no longer in the last hour', () => {
    const t = new ErrorFrequencyTracker();
    t.record('WORKER_CRASH_ERROR', 'Segmentation fault', T0);
    expect(t.record('WORKER_CRASH_ERROR', 'Segmentation fault', T0 + HOUR)).toMatchObject({ lastHour: 1, last6Hours: 2 });
  });

  it('is recurring at the third similar error within an hour, not at the second', () => {
    const t = new ErrorFrequencyTracker();
    expect(t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0).recurring).toBe(false);
    expect(t.record('RESOURCE_ALLOCATION_ERROR', OOM_B, T0 + 10 * MINUTE).recurring).toBe(false);
    const third = t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0 + 20 * MINUTE);
    expect(third).toMatchObject({ lastHour: 3, recurring: true });
  });

  it('is not recurring when the three are spread over more than an hour', () => {
    const t = new ErrorFrequencyTracker();
    t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0);
    t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0 + 40 * MINUTE);
    expect(t.record('RESOURCE_ALLOCATION_ERROR', OOM_A, T0 + 80 * MINUTE)).toMatchObject({ lastHour: 2, recurring: false });
  });

  it('prunes entries older than 24 h', () => {
    const t = new ErrorFrequencyTracker();
    for (let i = 0; i < 50; i++) t.record('UNKNOWN_ERROR', `boom ${i}`, T0 + i * MINUTE);
    expect(t.size).toBe(50);
    t.record('UNKNOWN_ERROR', 'boom', T0 + 25 * HOUR);
    expect(t.size).toBe(1);
  });

  it('caps the number of entries, dropping the oldest', () => {
    const t = new ErrorFrequencyTracker({ maxEntries: 10 });
    for (let i = 0; i < 25; i++) t.record('UNKNOWN_ERROR', `distinct error kind ${String.fromCharCode(97 + i)}`, T0 + i);
    expect(t.size).toBe(10);
    // The first ones were evicted, so the same message starts counting afresh.
    expect(t.record('UNKNOWN_ERROR', 'distinct error kind a', T0 + 100).lastHour).toBe(1);
    expect(t.record('UNKNOWN_ERROR', 'distinct error kind y', T0 + 101).lastHour).toBe(2);
  });

  it('has a bounded default', () => {
    const t = new ErrorFrequencyTracker();
    for (let i = 0; i < DEFAULT_MAX_ENTRIES + 100; i++) t.record('UNKNOWN_ERROR', 'same', T0 + i);
    expect(t.size).toBe(DEFAULT_MAX_ENTRIES);
  });
});
