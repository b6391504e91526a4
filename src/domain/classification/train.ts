/**
 * Training of the learned fallback (model.ts): multinomial logistic regression with L2 regularisation, fitted by
 * AdaGrad over seeded shuffles, so the same corpus always gives the same weights. Pure; the training script
 * (bench/train-classifier.ts) reads the corpus and writes the result. Evaluation and final fit are kept apart: the
 * benchmark trains its own model without the held-out families for the held-out figure (and one per family for
 * leave-one-family-out), while the shipped weights are the final fit on the whole corpus, held-out families
 * included. Features and options are chosen by cross-validation by family over the training families only
 * (bench/classify-cv.ts). Not imported by the classifier at run time.
 */
import { DEFAULT_KIND, type BuiltInCategory, type ErrorKind } from '../categories';
import { FEATURE_BITS, FEATURE_DIM, featureIndices, type ModelInput } from './features';
import { decide, encodeBase64, labelProbabilities, type LinearModel, type ModelData, type ModelLabel } from './model';
import { seededRandom } from '../seeded-random';

export interface TrainingExample {
  input: ModelInput;
  category: string;
  kind: ErrorKind;
  family: string;
}

export interface TrainingOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  /** A (category, kind) pair becomes its own label with at least this many examples; else the category's default. */
  minPairCount?: number;
  seed?: number;
  /**
   * A feature is learned only if it occurs in at least this many families ("legacy-F" counts as F). Words that
   * only one tool prints let the model memorise the family instead of the failure; dropping them helps it carry
   * over to families it has never seen.
   */
  minFeatureFamilies?: number;
}

/** l2 chosen by 5-fold cross-validation by family over the training families (bench/classify-cv.ts --options). */
const DEFAULTS: Required<TrainingOptions> = { epochs: 16, learningRate: 0.2, l2: 2e-3, minPairCount: 3, seed: 9, minFeatureFamilies: 2 };

const familyGroupOf = (family: string): string => (family.startsWith('legacy-') ? family.slice('legacy-'.length) : family);

/** Drops from each example the features seen in fewer than `min` families. */
export function keepSharedFeatures(data: readonly Featurised[], min: number): Featurised[] {
  if (min <= 1) return [...data];
  const families = new Map<number, Set<string>>();
  for (const d of data) {
    const group = familyGroupOf(d.family);
    for (const i of d.indices) {
      let set = families.get(i);
      if (!set) families.set(i, (set = new Set()));
      if (set.size < min) set.add(group);
    }
  }
  return data.map((d) => ({ ...d, indices: d.indices.filter((i) => (families.get(i)?.size ?? 0) >= min) }));
}


function defaultKind(category: string): ErrorKind {
  return DEFAULT_KIND[category as BuiltInCategory] ?? 'transient';
}

/** The label set: every category's default pair, plus pairs frequent enough to learn. */
export function labelSet(examples: readonly TrainingExample[], minPairCount: number): ModelLabel[] {
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(`${e.category}/${e.kind}`, (counts.get(`${e.category}/${e.kind}`) ?? 0) + 1);
  const labels: ModelLabel[] = [];
  const seen = new Set<string>();
  for (const e of examples) {
    const key = `${e.category}/${e.kind}`;
    const own = e.kind === defaultKind(e.category) || (counts.get(key) ?? 0) >= minPairCount;
    const label: ModelLabel = own ? { category: e.category, kind: e.kind } : { category: e.category, kind: defaultKind(e.category) };
    const k = `${label.category}/${label.kind}`;
    if (!seen.has(k)) {
      seen.add(k);
      labels.push(label);
    }
  }
  return labels.sort((a, b) => `${a.category}/${a.kind}`.localeCompare(`${b.category}/${b.kind}`));
}

function labelIndex(labels: readonly ModelLabel[], category: string, kind: ErrorKind): number {
  let fallback = -1;
  for (let c = 0; c < labels.length; c += 1) {
    const l = labels[c];
    if (!l || l.category !== category) continue;
    if (l.kind === kind) return c;
    if (l.kind === defaultKind(category) || fallback < 0) fallback = c;
  }
  return fallback;
}

export interface Featurised {
  indices: number[];
  category: string;
  kind: ErrorKind;
  family: string;
  /** Extra weight, e.g. for examples no rule recognises (what the model will actually be asked). */
  weight?: number;
}

export function featurise(examples: readonly TrainingExample[]): Featurised[] {
  return examples.map((e) => ({ indices: featureIndices(e.input), category: e.category, kind: e.kind, family: e.family }));
}

/**
 * Fits the model. Examples are weighted so each category counts as if it had sqrt(n) examples (a mild balance:
 * rare categories are not drowned, frequent ones keep their prior).
 */
export function trainModel(all: readonly Featurised[], options: TrainingOptions = {}, threshold = 0): LinearModel {
  const o = { ...DEFAULTS, ...options };
  const data = keepSharedFeatures(all, o.minFeatureFamilies);
  const labels = labelSet(data.map((d) => ({ input: {}, category: d.category, kind: d.kind, family: d.family })), o.minPairCount);
  const n = labels.length;
  const weights = new Float64Array(FEATURE_DIM * n);
  const accum = new Float64Array(FEATURE_DIM * n);
  const bias = new Float64Array(n);
  const biasAccum = new Float64Array(n);
  const perCategory = new Map<string, number>();
  for (const d of data) perCategory.set(d.category, (perCategory.get(d.category) ?? 0) + 1);
  const meanCount = data.length / Math.max(1, perCategory.size);
  const targets = data.map((d) => labelIndex(labels, d.category, d.kind));
  const sampleWeight = data.map((d) => Math.min(3, Math.sqrt(meanCount / (perCategory.get(d.category) ?? 1))) * (d.weight ?? 1));
  const order = data.map((_, i) => i);
  const random = seededRandom(o.seed);
  const z = new Float64Array(n);
  const eps = 1e-8;
  for (let epoch = 0; epoch < o.epochs; epoch += 1) {
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
    }
    for (const s of order) {
      const d = data[s];
      if (!d || d.indices.length === 0) continue;
      const v = 1 / Math.sqrt(d.indices.length);
      z.set(bias);
      for (const i of d.indices) {
        const base = i * n;
        for (let c = 0; c < n; c += 1) z[c] = (z[c] ?? 0) + (weights[base + c] ?? 0) * v;
      }
      let max = -Infinity;
      for (let c = 0; c < n; c += 1) max = Math.max(max, z[c] ?? 0);
      let sum = 0;
      for (let c = 0; c < n; c += 1) {
        z[c] = Math.exp((z[c] ?? 0) - max);
        sum += z[c] ?? 0;
      }
      const sw = sampleWeight[s] ?? 1;
      const target = targets[s] ?? 0;
      for (let c = 0; c < n; c += 1) {
        const g = (((z[c] ?? 0) / sum) - (c === target ? 1 : 0)) * sw;
        biasAccum[c] = (biasAccum[c] ?? 0) + g * g;
        bias[c] = (bias[c] ?? 0) - (o.learningRate * g) / Math.sqrt((biasAccum[c] ?? 0) + eps);
        for (const i of d.indices) {
          const k = i * n + c;
          const w = weights[k] ?? 0;
          const gw = g * v + o.l2 * w;
          accum[k] = (accum[k] ?? 0) + gw * gw;
          weights[k] = w - (o.learningRate * gw) / Math.sqrt((accum[k] ?? 0) + eps);
        }
      }
    }
  }
  return { featureBits: FEATURE_BITS, labels, bias, weights: Float32Array.from(weights), threshold };
}

export function predictFeaturised(model: LinearModel, indices: readonly number[]) {
  return decide(model.labels, labelProbabilities(model, indices), model.threshold);
}

/** int8 per label, scale = max |w| / 127 of that label. */
export function serialiseModel(model: LinearModel, trainedOn: ModelData['trainedOn']): ModelData {
  const n = model.labels.length;
  const scales = new Array<number>(n).fill(0);
  for (let k = 0; k < model.weights.length; k += 1) {
    const c = k % n;
    scales[c] = Math.max(scales[c] ?? 0, Math.abs(model.weights[k] ?? 0));
  }
  for (let c = 0; c < n; c += 1) scales[c] = (scales[c] ?? 0) / 127 || 1;
  const bytes = new Uint8Array(model.weights.length);
  for (let k = 0; k < model.weights.length; k += 1) {
    const q = Math.max(-127, Math.min(127, Math.round((model.weights[k] ?? 0) / (scales[k % n] ?? 1))));
    bytes[k] = q & 255;
  }
  return {
    version: 1,
    featureBits: model.featureBits,
    labels: model.labels,
    bias: Array.from(model.bias, (b) => Number(b.toFixed(5))),
    scales: scales.map((s) => Number(s.toPrecision(6))),
    weights: encodeBase64(bytes),
    threshold: model.threshold,
    trainedOn,
  };
}

/**
 * Out-of-fold predictions by family: families are dealt into `folds` groups (seeded), each group predicted by a
 * model trained on the others. What the threshold is calibrated on.
 */
export function crossValidate(
  data: readonly Featurised[],
  folds: number,
  options: TrainingOptions = {},
): { index: number; category: string; kind: ErrorKind; predicted: ReturnType<typeof predictFeaturised> }[] {
  const families = [...new Set(data.map((d) => d.family))].sort();
  const random = seededRandom((options.seed ?? DEFAULTS.seed) + 1);
  for (let i = families.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [families[i], families[j]] = [families[j] ?? '', families[i] ?? ''];
  }
  const foldOf = new Map(families.map((f, i) => [f, i % folds]));
  const out: { index: number; category: string; kind: ErrorKind; predicted: ReturnType<typeof predictFeaturised> }[] = [];
  for (let k = 0; k < folds; k += 1) {
    const train = data.filter((d) => foldOf.get(d.family) !== k);
    if (train.length === data.length) continue;
    const model = trainModel(train, options);
    data.forEach((d, index) => {
      if (foldOf.get(d.family) === k) out.push({ index, category: d.category, kind: d.kind, predicted: predictFeaturised(model, d.indices) });
    });
  }
  return out;
}

/** The abstention threshold that maximises out-of-fold category + kind accuracy (UNKNOWN_ERROR when below). */
export function calibrateThreshold(oof: ReturnType<typeof crossValidate>): { threshold: number; accuracy: number } {
  let best = { threshold: 0, accuracy: -1 };
  for (let t = 0; t <= 0.9001; t += 0.02) {
    let hits = 0;
    for (const r of oof) {
      const unknown = r.predicted.confidence < t;
      const category = unknown ? 'UNKNOWN_ERROR' : r.predicted.category;
      const kind = unknown ? 'transient' : r.predicted.kind;
      hits += (category === r.category ? 1 : 0) + (kind === r.kind ? 1 : 0);
    }
    const accuracy = hits / (2 * Math.max(1, oof.length));
    if (accuracy > best.accuracy + 1e-9) best = { threshold: Number(t.toFixed(2)), accuracy };
  }
  return best;
}
