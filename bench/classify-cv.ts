/**
 * A development figure for the learned fallback, on the training families only: k-fold cross-validation by family
 * (families dealt into folds, each fold predicted by a model trained on the others), the model alone on every
 * record and on the records no rule recognises (what it is really asked). Also counts, on the held-out families,
 * which rule decided each miss (rule names only, never the messages: whoever writes rules should not read them).
 * The figure that chooses the model's features and options (never the held-out families).
 * `npm run build && node dist/bench/classify-cv.js [--folds N] [--options '{"l2": 1e-5}'] [--held-out-rules]`.
 * The last line is a JSON summary.
 */
import { BUILT_IN_RULES, UNRECOGNISED_RULE, classifyFailure, observationOf } from '../src/domain/classification';
import { crossValidate, featurise, type TrainingOptions } from '../src/domain/classification/train';
import { loadCorpus } from './corpus-files';
import { fitClassifierModel, trainingExample } from './train-classifier';

function main(): void {
  const args = process.argv.slice(2);
  const foldsArg = args.indexOf('--folds');
  const folds = foldsArg >= 0 ? Number(args[foldsArg + 1]) : 5;
  const optionsArg = args.indexOf('--options');
  const options = optionsArg >= 0 ? (JSON.parse(args[optionsArg + 1] ?? '{}') as TrainingOptions) : {};
  const corpus = loadCorpus();
  const started = Date.now();
  const data = featurise(corpus.training.map(trainingExample));
  const oof = crossValidate(data, folds, options);
  const unrecognised = new Set(
    corpus.training.flatMap((e, i) => (classifyFailure(observationOf(e), BUILT_IN_RULES, { model: null }).rule === UNRECOGNISED_RULE ? [i] : [])),
  );
  const rate = (rows: typeof oof, withThreshold: boolean): number => {
    let hits = 0;
    for (const r of rows) {
      const category = withThreshold && !r.predicted.confident ? 'UNKNOWN_ERROR' : r.predicted.category;
      if (category === r.category) hits += 1;
    }
    return Number((hits / Math.max(1, rows.length)).toFixed(4));
  };
  const kindRate = (rows: typeof oof): number => Number((rows.filter((r) => r.predicted.kind === r.kind).length / Math.max(1, rows.length)).toFixed(4));
  const onUnrecognised = oof.filter((r) => unrecognised.has(r.index));
  const seconds = (Date.now() - started) / 1000;
  console.log(`${folds}-fold CV by family on ${oof.length} training records: model alone, category ${rate(oof, false)}, kind ${kindRate(oof)}; options ${JSON.stringify(options)}`);
  console.log(`  on the ${onUnrecognised.length} records no rule recognises: category ${rate(onUnrecognised, false)} (no threshold)`);

  const byRule = new Map<string, number>();
  // The shipped model has seen the held-out families (final fit): count with one trained without them.
  const evaluationModel = args.includes('--held-out-rules') ? fitClassifierModel(corpus.training, options).model : null;
  for (const e of evaluationModel ? corpus.heldOut : []) {
    const got = classifyFailure(observationOf(e), BUILT_IN_RULES, { model: evaluationModel });
    if (got.category === e.category) continue;
    const key = `${e.category.replace(/_ERROR$/, '')} → ${got.category.replace(/_ERROR$/, '')} by ${got.rule}`;
    byRule.set(key, (byRule.get(key) ?? 0) + 1);
  }
  if (args.includes('--held-out-rules')) {
    console.log('held-out category misses by deciding rule:');
    for (const [k, n] of [...byRule].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(3)}  ${k}`);
  }
  console.log(JSON.stringify({ folds, options, records: oof.length, modelAlone: rate(oof, false), modelAloneKind: kindRate(oof), unrecognised: onUnrecognised.length, modelOnUnrecognised: rate(onUnrecognised, false), seconds }));
}

main();
