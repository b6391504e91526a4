/**
 * How often this worker has seen "the same" error: same category and same message once the parts that vary
 * between occurrences (numbers, sizes, paths, ids, quoted names) are replaced by placeholders. Pure: the clock is passed in.
 */
import { z } from 'zod';

export const ErrorFrequency = z.object({
  lastHour: z.number().int().nonnegative(),
  last6Hours: z.number().int().nonnegative(),
  last24Hours: z.number().int().nonnegative(),
  /** More than RECURRING_THRESHOLD similar errors in the last hour (this one included). */
  recurring: z.boolean(),
});
export type ErrorFrequency = z.infer<typeof ErrorFrequency>;

const HOUR_MS = 60 * 60 * 1000;
export const FREQUENCY_WINDOWS_MS = { lastHour: HOUR_MS, last6Hours: 6 * HOUR_MS, last24Hours: 24 * HOUR_MS } as const;
/** Recurring means more than this many similar errors in the last hour. */
export const RECURRING_THRESHOLD = 2;
/** Entries kept per tracker; the oldest go first. 24 h of one error a minute still fits in bounded memory. */
export const DEFAULT_MAX_ENTRIES = 2000;
/** Only the head of a message decides similarity; a multi-megabyte message must not cost multi-megabyte regex work. */
const NORMALIZE_INPUT_CHARS = 2000;
export const NORMALIZED_MESSAGE_MAX_CHARS = 200;

/** Applied in order: earlier rows swallow text that later rows would otherwise split (a uuid before its digits). */
const NORMALIZATION_RULES: ReadonlyArray<readonly [name: string, pattern: RegExp, placeholder: string]> = [
  ['url', /\b[a-z][a-z0-9+.-]{0,15}:\/\/[^\s'"`<>]+/g, '<url>'],
  ['quoted', /(?<![\w])(?:'[^'\n]{0,200}'|"[^"\n]{0,200}"|`[^`\n]{0,200}`)/g, '<str>'],
  ['uuid', /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>'],
  ['hex address', /\b0x[0-9a-f]+\b/g, '<hex>'],
  // Long hex runs are hashes, container and commit ids. Needing a digit spares words ("deadbeef"), needing a letter
  // leaves plain numbers to the size and number rows, so 1234 bytes and 123456789 bytes still look alike.
  ['hex id', /\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/g, '<hex>'],
  ['absolute path', /(?<![\w.])(?:[a-z]:|~|\.{1,2})?(?:[\\/][\w.@+-]+){2,}[\\/]?/g, '<path>'],
  ['relative path', /(?<![\w./\\])[\w.@+-]+(?:[\\/][\w.@+-]+){2,}[\\/]?/g, '<path>'],
  ['ip address', /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '<ip>'],
  ['memory size', /\b\d+(?:\.\d+)?\s?(?:[kmgtpe]i?b|bytes?)\b/g, '<size>'],
  ['number', /\d+(?:\.\d+)?/g, '<n>'],
];

/**
 * A message reduced to its shape, so "Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)" and the same with other
 * numbers compare equal while a different error does not.
 */
export function normalizeMessage(message: string): string {
  let text = message.slice(0, NORMALIZE_INPUT_CHARS).toLowerCase();
  for (const [, pattern, placeholder] of NORMALIZATION_RULES) text = text.replace(pattern, placeholder);
  return text.replace(/\s+/g, ' ').trim().slice(0, NORMALIZED_MESSAGE_MAX_CHARS);
}

interface Entry {
  at: number;
  key: string;
}

export interface ErrorFrequencyTrackerOptions {
  maxEntries?: number;
}

/** In-memory, per worker: a worker restart forgets its history, which is acceptable for a "recurring here" signal. */
export class ErrorFrequencyTracker {
  private entries: Entry[] = [];
  private readonly maxEntries: number;

  constructor(options: ErrorFrequencyTrackerOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? DEFAULT_MAX_ENTRIES));
  }

  /** Records one error at `now` (ms since epoch) and returns how often it was seen, this one included. */
  record(category: string, message: string, now: number): ErrorFrequency {
    const key = `${category}\u0000${normalizeMessage(message)}`;
    this.prune(now);
    this.entries.push({ at: now, key });
    if (this.entries.length > this.maxEntries) this.entries.splice(0, this.entries.length - this.maxEntries);

    let lastHour = 0;
    let last6Hours = 0;
    let last24Hours = 0;
    for (const entry of this.entries) {
      if (entry.key !== key || entry.at > now) continue;
      const age = now - entry.at;
      if (age < FREQUENCY_WINDOWS_MS.lastHour) lastHour++;
      if (age < FREQUENCY_WINDOWS_MS.last6Hours) last6Hours++;
      if (age < FREQUENCY_WINDOWS_MS.last24Hours) last24Hours++;
    }
    return { lastHour, last6Hours, last24Hours, recurring: lastHour > RECURRING_THRESHOLD };
  }

  /** Entries held now (for tests and metrics). */
  get size(): number {
    return this.entries.length;
  }

  private prune(now: number): void {
    const horizon = now - FREQUENCY_WINDOWS_MS.last24Hours;
    if (this.entries.some((e) => e.at <= horizon)) this.entries = this.entries.filter((e) => e.at > horizon);
  }
}
