/**
 * How far two careful labellers agree on the corpus: a second, independent labelling of a sample of its records
 * (test/fixtures/corpus-agreement/second-labels.jsonl: 16 records of each category, drawn with a fixed seed,
 * labelled blind, from the message alone, by the conventions of DESIGN.md and issue 3, without the corpus's
 * labels or its LABELLING.md), compared with the corpus's own labels. Agreement is printed raw and weighted by
 * how often each category occurs in the corpus. It bounds what any classifier can score against labels made
 * by someone else. `npm run build && node dist/bench/classify-agreement.js`; the last line is a JSON summary.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CategoryName, ErrorKind } from '../src/domain/categories';
import { loadCorpus, repoRoot } from './corpus-files';

const SecondLabel = z.object({ sha1: z.string().regex(/^[0-9a-f]{40}$/), source: z.string(), category: CategoryName, kind: ErrorKind, why: z.string() });

function main(): void {
  const corpus = loadCorpus();
  const byHash = new Map(corpus.all.map((e) => [createHash('sha1').update(e.message).digest('hex'), e]));
  const lines = readFileSync(join(repoRoot(), 'test', 'fixtures', 'corpus-agreement', 'second-labels.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
  const perCategory = new Map<string, { n: number; category: number; kind: number }>();
  const disagreements = new Map<string, number>();
  let missing = 0;
  for (const [i, line] of lines.entries()) {
    const second = SecondLabel.parse(JSON.parse(line), { path: [`line ${i + 1}`] });
    const first = byHash.get(second.sha1);
    if (!first) {
      missing += 1;
      continue;
    }
    const row = perCategory.get(first.category) ?? { n: 0, category: 0, kind: 0 };
    row.n += 1;
    if (second.category === first.category) row.category += 1;
    else {
      const key = `${first.category.replace(/_ERROR$/, '')} → ${second.category.replace(/_ERROR$/, '')}`;
      disagreements.set(key, (disagreements.get(key) ?? 0) + 1);
    }
    if (second.kind === first.kind) row.kind += 1;
    perCategory.set(first.category, row);
  }
  const frequency = new Map<string, number>();
  for (const e of corpus.all) frequency.set(e.category, (frequency.get(e.category) ?? 0) + 1);
  let n = 0;
  let category = 0;
  let kind = 0;
  let weightedCategory = 0;
  let weightedKind = 0;
  let weightTotal = 0;
  console.log('per category (corpus label: second labeller agrees on category, kind / records):');
  for (const [name, row] of [...perCategory].sort((a, b) => a[0].localeCompare(b[0]))) {
    n += row.n;
    category += row.category;
    kind += row.kind;
    const w = frequency.get(name) ?? 0;
    weightTotal += w;
    weightedCategory += (w * row.category) / row.n;
    weightedKind += (w * row.kind) / row.n;
    console.log(`  ${name.padEnd(28)} ${row.category}, ${row.kind} / ${row.n}`);
  }
  console.log('disagreements (corpus → second labeller):');
  for (const [key, count] of [...disagreements].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(3)}  ${key}`);
  const r = (x: number): number => Number(x.toFixed(4));
  console.log(`${n} records compared (${missing} no longer in the corpus): category ${r(category / n)}, kind ${r(kind / n)}; weighted by category frequency: category ${r(weightedCategory / weightTotal)}, kind ${r(weightedKind / weightTotal)}`);
  console.log(JSON.stringify({ records: n, missing, categoryAgreement: r(category / n), kindAgreement: r(kind / n), weightedCategoryAgreement: r(weightedCategory / weightTotal), weightedKindAgreement: r(weightedKind / weightTotal) }));
}

main();
