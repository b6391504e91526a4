/**
 * The labelled error corpus (test/fixtures/error-corpus.jsonl) and how to score the classifier against it.
 * Shared by the corpus test and the benchmark so both report the same numbers.
 */
import { z } from 'zod';
import { CategoryName, ErrorKind } from '../categories';
import { classifyFailure, type FailureObservation } from './classify';
import type { CompiledRule } from './rules';

export const CorpusEntry = z.object({
  message: z.string(),
  exit_code: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  category: CategoryName,
  kind: ErrorKind,
  /** Where the text came from: `owner/repo#issue` or a document. */
  source: z.string().min(1),
  /** The tool family (e.g. `slurm`, `pytest`); the held-out split and leave-one-family-out are by family. */
  family: z.string().min(1).optional(),
  /** Why the label (the labeller's note). */
  note: z.string().optional(),
});
export type CorpusEntry = z.infer<typeof CorpusEntry>;

/** Parses JSONL; throws on the first malformed line, naming it (a fixture must be clean). */
export function parseCorpus(text: string): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.trim()) return;
    const parsed = CorpusEntry.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`corpus line ${index + 1}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    entries.push(parsed.data);
  });
  return entries;
}

export function observationOf(entry: CorpusEntry): FailureObservation {
  return {
    message: entry.message,
    ...(entry.exit_code !== undefined ? { exitCode: entry.exit_code } : {}),
    ...(entry.signal !== undefined ? { signal: entry.signal } : {}),
  };
}

export interface CorpusMiss {
  source: string;
  expected: { category: string; kind: ErrorKind };
  actual: { category: string; kind: ErrorKind; rule: string };
}

export interface CorpusScore {
  messages: number;
  categoryAccuracy: number;
  kindAccuracy: number;
  misses: CorpusMiss[];
}

export function scoreCorpus(entries: readonly CorpusEntry[], rules?: readonly CompiledRule[]): CorpusScore {
  let categoryHits = 0;
  let kindHits = 0;
  const misses: CorpusMiss[] = [];
  for (const entry of entries) {
    const actual = classifyFailure(observationOf(entry), rules);
    const categoryOk = actual.category === entry.category;
    const kindOk = actual.kind === entry.kind;
    if (categoryOk) categoryHits += 1;
    if (kindOk) kindHits += 1;
    if (!categoryOk || !kindOk) {
      misses.push({
        source: entry.source,
        expected: { category: entry.category, kind: entry.kind },
        actual: { category: actual.category, kind: actual.kind, rule: actual.rule },
      });
    }
  }
  const n = entries.length || 1;
  return { messages: entries.length, categoryAccuracy: categoryHits / n, kindAccuracy: kindHits / n, misses };
}
