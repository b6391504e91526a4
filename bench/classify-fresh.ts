/**
 * A fresh batch (a corpus file labelled before the classifier was run on it), scored the way the hidden sets are:
 * category and kind accuracy, split by what decided (rule or model), and the top confusions. Two models: the
 * SHIPPED one (whatever src/domain/classification/model-weights.ts holds; before a retrain it has not seen the
 * batch) and, with --without, one this run trains on the whole corpus except the batch (the honest figure once the
 * shipped model has been retrained with it).
 * `npm run build && node dist/bench/classify-fresh.js [FILE=fresh-batch-3.jsonl] [--without] [--misses]`.
 * The last line is a JSON summary.
 */
import { BUILT_IN_RULES, classifyFailure, observationOf, type Classification, type LinearModel } from '../src/domain/classification';
import { loadCorpus, type FamilyEntry } from './corpus-files';
import { fitClassifierModel } from './train-classifier';

interface Figures {
  messages: number;
  category: number;
  kind: number;
  byRule: { n: number; category: number; kind: number };
  byModel: { n: number; category: number; kind: number };
  unknown: { n: number; wrong: number };
  confusions: [string, number][];
}

const short = (c: string): string => c.replace(/_ERROR$/, '');
const ratio = (n: number, d: number): number => Number((n / Math.max(1, d)).toFixed(4));

function figures(entries: readonly FamilyEntry[], model: LinearModel | undefined, showMisses: boolean, title: string, heldOutFamilies: ReadonlySet<string>): Figures {
  const f: Figures = { messages: entries.length, category: 0, kind: 0, byRule: { n: 0, category: 0, kind: 0 }, byModel: { n: 0, category: 0, kind: 0 }, unknown: { n: 0, wrong: 0 }, confusions: [] };
  const confusion = new Map<string, number>();
  const misses: string[] = [];
  let hiddenMisses = 0;
  for (const e of entries) {
    const got: Classification = classifyFailure(observationOf(e), BUILT_IN_RULES, model ? { model } : {});
    const okC = got.category === e.category;
    const okK = got.kind === e.kind;
    const part = got.decidedBy === 'model' && got.category !== 'UNKNOWN_ERROR' ? f.byModel : f.byRule;
    part.n += 1;
    if (okC) ((f.category += 1), (part.category += 1));
    if (okK) ((f.kind += 1), (part.kind += 1));
    if (got.category === 'UNKNOWN_ERROR') ((f.unknown.n += 1), (f.unknown.wrong += okC ? 0 : 1));
    if (!okC) {
      const key = `${short(e.category)} → ${short(got.category)}`;
      confusion.set(key, (confusion.get(key) ?? 0) + 1);
    }
    // A held-out family's misses stay unread: whoever writes rules from this output must not see them.
    if (!okC || !okK) {
      if (heldOutFamilies.has(e.family)) hiddenMisses += 1;
      else misses.push(`  [${e.family}] ${short(e.category)}/${e.kind} got ${short(got.category)}/${got.kind} by ${got.rule}${got.decidedBy === 'model' ? ` ${got.confidence}` : ''}: ${e.message.replace(/\s+/g, ' ').slice(0, 140)}`);
    }
  }
  f.confusions = [...confusion].sort((a, b) => b[1] - a[1]).slice(0, 10);
  const pct = (n: number, d: number): string => `${((100 * n) / Math.max(1, d)).toFixed(1)}%`;
  console.log(`${title}: ${f.messages} messages, category ${pct(f.category, f.messages)}, kind ${pct(f.kind, f.messages)}`);
  console.log(`  decided by a rule: ${f.byRule.n} (category ${pct(f.byRule.category, f.byRule.n)}, kind ${pct(f.byRule.kind, f.byRule.n)}); by the model: ${f.byModel.n} (category ${pct(f.byModel.category, f.byModel.n)}, kind ${pct(f.byModel.kind, f.byModel.n)}); UNKNOWN_ERROR ${f.unknown.n} (${f.unknown.wrong} wrongly)`);
  console.log(`  top confusions: ${f.confusions.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (showMisses) {
    for (const m of misses) console.log(m);
    if (hiddenMisses) console.log(`  (${hiddenMisses} misses of held-out families not shown)`);
  }
  return f;
}

function summary(f: Figures): Record<string, unknown> {
  return {
    messages: f.messages,
    categoryAccuracy: ratio(f.category, f.messages),
    kindAccuracy: ratio(f.kind, f.messages),
    rule: { decided: f.byRule.n, categoryAccuracy: ratio(f.byRule.category, f.byRule.n), kindAccuracy: ratio(f.byRule.kind, f.byRule.n) },
    model: { decided: f.byModel.n, categoryAccuracy: ratio(f.byModel.category, f.byModel.n), kindAccuracy: ratio(f.byModel.kind, f.byModel.n) },
    unknown: f.unknown.n,
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--')) ?? 'fresh-batch-3.jsonl';
  const corpus = loadCorpus();
  const batch = corpus.all.filter((e) => e.file === file);
  if (batch.length === 0) throw new Error(`no records from ${file} in the corpus`);
  const families = new Set(batch.map((e) => e.family));
  console.log(`${file}: ${batch.length} records in ${families.size} families`);
  const shipped = figures(batch, undefined, args.includes('--misses') && !args.includes('--without'), 'SHIPPED model', corpus.heldOutFamilies);
  let without: Figures | undefined;
  if (args.includes('--without')) {
    const fitted = fitClassifierModel(corpus.all.filter((e) => e.file !== file));
    without = figures(batch, fitted.model, args.includes('--misses'), `model trained on the corpus WITHOUT ${file} (threshold ${fitted.model.threshold})`, corpus.heldOutFamilies);
  }
  console.log(JSON.stringify({ file, shipped: summary(shipped), ...(without ? { trainedWithout: summary(without) } : {}) }));
}

main();
