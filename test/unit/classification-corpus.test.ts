/**
 * The classifier against the labelled corpus of real error messages (test/fixtures/error-corpus.jsonl):
 * each line is an error copied from a public issue thread, labelled with the category and kind we expect.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATEGORIES } from '../../src/domain/categories';
import { parseCorpus, scoreCorpus } from '../../src/domain/classification';

const CORPUS_PATH = join(__dirname, '..', 'fixtures', 'error-corpus.jsonl');
const entries = parseCorpus(readFileSync(CORPUS_PATH, 'utf8'));

describe('error corpus', () => {
  it('has at least 300 sourced messages spread over every category', () => {
    expect(entries.length).toBeGreaterThanOrEqual(300);
    const perCategory = new Map<string, number>();
    for (const e of entries) perCategory.set(e.category, (perCategory.get(e.category) ?? 0) + 1);
    for (const category of ERROR_CATEGORIES) {
      expect([category, (perCategory.get(category) ?? 0) >= (category === 'UNKNOWN_ERROR' ? 3 : 10)]).toEqual([category, true]);
    }
    expect(new Set(entries.map((e) => e.message)).size).toBe(entries.length);
  });

  it('is classified with category accuracy >= 0.95 and kind accuracy >= 0.93', () => {
    const score = scoreCorpus(entries);
    const misses = score.misses
      .map((m) => `  ${m.source}: expected ${m.expected.category}/${m.expected.kind}, got ${m.actual.category}/${m.actual.kind} (${m.actual.rule})`)
      .join('\n');
    console.log(
      `error corpus: ${score.messages} messages, category accuracy ${score.categoryAccuracy.toFixed(3)}, ` +
        `kind accuracy ${score.kindAccuracy.toFixed(3)}${misses ? `\nmisses:\n${misses}` : ''}`,
    );
    expect(score.categoryAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(score.kindAccuracy).toBeGreaterThanOrEqual(0.93);
  });
});
