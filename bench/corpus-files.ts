/**
 * The classifier corpus on disk: the original test/fixtures/error-corpus.jsonl and the family files under
 * test/fixtures/corpus/, split into training and held-out records by test/fixtures/corpus/holdout.json.
 * Used by the training script, the benchmark and the corpus test, so all three see the same split.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorpusEntry } from '../src/domain/classification';

export interface FamilyEntry extends CorpusEntry {
  family: string;
  /** The file the record came from, e.g. `gpu-ml.jsonl`. */
  file: string;
}

export interface Corpus {
  all: FamilyEntry[];
  training: FamilyEntry[];
  heldOut: FamilyEntry[];
  heldOutFamilies: ReadonlySet<string>;
  /**
   * Records of held-out families in files that rule writers read in full (holdout.json readByRuleWriters): no
   * longer unseen, so neither held out nor training (the final fit, on `all`, still learns from them).
   */
  exposed: FamilyEntry[];
  /** Lines that did not parse (a file being appended to at the moment), by file. */
  skipped: Record<string, number>;
}

/** The repository root: from dist/bench/ after a build or bench/ and test/unit/ when run from source. */
export function repoRoot(): string {
  const candidates = [join(__dirname, '..', '..'), join(__dirname, '..'), join(__dirname, '..', '..', '..')];
  const found = candidates.find((p) => existsSync(join(p, 'test', 'fixtures', 'error-corpus.jsonl')));
  if (!found) throw new Error(`corpus not found above ${__dirname}`);
  return found;
}

/** "legacy-pytest" and "pytest" are one family for leave-one-family-out. */
export function familyGroup(family: string): string {
  return family.startsWith('legacy-') ? family.slice('legacy-'.length) : family;
}

function readJsonl(path: string, file: string, skipped: Record<string, number>): FamilyEntry[] {
  const out: FamilyEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    if (!line.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      skipped[file] = (skipped[file] ?? 0) + 1;
      continue;
    }
    const parsed = CorpusEntry.safeParse(json);
    if (!parsed.success || !parsed.data.family) {
      skipped[file] = (skipped[file] ?? 0) + 1;
      continue;
    }
    out.push({ ...parsed.data, family: parsed.data.family, file });
  }
  return out;
}

export function loadCorpus(root: string = repoRoot()): Corpus {
  const fixtures = join(root, 'test', 'fixtures');
  const skipped: Record<string, number> = {};
  const all = readJsonl(join(fixtures, 'error-corpus.jsonl'), 'error-corpus.jsonl', skipped);
  const dir = join(fixtures, 'corpus');
  if (existsSync(dir)) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) all.push(...readJsonl(join(dir, file), file, skipped));
  }
  const holdout = JSON.parse(readFileSync(join(dir, 'holdout.json'), 'utf8')) as { families: string[]; readByRuleWriters?: { files: string[] } };
  const heldOutFamilies = new Set(holdout.families);
  const readFiles = new Set(holdout.readByRuleWriters?.files ?? []);
  // Legacy records always train (the original rules were written from them); held out is by family of the new files.
  const ofHeldOutFamily = (e: FamilyEntry): boolean => !e.family.startsWith('legacy-') && heldOutFamilies.has(e.family);
  const isExposed = (e: FamilyEntry): boolean => ofHeldOutFamily(e) && readFiles.has(e.file);
  return {
    all,
    training: all.filter((e) => !ofHeldOutFamily(e)),
    heldOut: all.filter((e) => ofHeldOutFamily(e) && !isExposed(e)),
    heldOutFamilies,
    exposed: all.filter(isExposed),
    skipped,
  };
}
