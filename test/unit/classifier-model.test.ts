/** The learned fallback: features, weights as data, training determinism, how it joins the rule table, its cost. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATEGORIES } from '../../src/domain/categories';
import {
  BUILT_IN_RULES,
  MODEL_RULE,
  OPAQUE_OVERRIDE_CONFIDENCE,
  UNRECOGNISED_RULE,
  classifyFailure,
  classifyJsonl,
  defaultModel,
  loadModel,
  type LinearModel,
} from '../../src/domain/classification';
import { compileRule } from '../../src/domain/classification/rules';
import { FEATURE_DIM, featureIndices, modelText } from '../../src/domain/classification/features';
import { decodeBase64, encodeBase64 } from '../../src/domain/classification/model';
import { MODEL_DATA } from '../../src/domain/classification/model-weights';
import { featurise, keepSharedFeatures, serialiseModel, trainModel } from '../../src/domain/classification/train';

describe('weights as data', () => {
  it('base64 round-trips any length', () => {
    for (const n of [0, 1, 2, 3, 4, 255, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      expect(Array.from(decodeBase64(encodeBase64(bytes)))).toEqual(Array.from(bytes));
    }
  });

  it('the committed model is compact, complete and loads without I/O', () => {
    expect(MODEL_DATA.weights.length).toBeLessThan(2 * 1024 * 1024);
    const model = defaultModel();
    expect(model.weights.length).toBe(FEATURE_DIM * model.labels.length);
    const categories = new Set(model.labels.map((l) => l.category));
    for (const c of ERROR_CATEGORIES) expect([c, categories.has(c)]).toEqual([c, true]);
    expect(model.threshold).toBeGreaterThanOrEqual(0);
    expect(model.threshold).toBeLessThan(1);
  });

  it('quantisation keeps the decisions of the float model', () => {
    const data = featurise(
      [
        ['GPU ran out of device memory while allocating a tensor', 'RESOURCE_ALLOCATION_ERROR', 'resource', 'a'],
        ['the socket was reset by the remote peer', 'NETWORK_CONNECTION_ERROR', 'transient', 'b'],
        ['unknown option --frobnicate in the config file', 'TEST_CONFIGURATION_ERROR', 'validation', 'c'],
        ['expected 3 but received 4 in test_sum', 'TEST_EXECUTION_ERROR', 'validation', 'd'],
      ].map(([message, category, kind, family]) => ({ input: { message: message ?? '' }, category: category ?? '', kind: kind as 'resource', family: family ?? '' })),
    );
    const float = trainModel(data, { epochs: 10, minFeatureFamilies: 1 });
    const int8 = loadModel(serialiseModel(float, { records: 4, families: 4, heldOutFamilies: [], note: 'test' }));
    for (const text of ['device memory allocating', 'reset by peer', 'unknown option', 'expected but received']) {
      const obs = { message: text };
      expect(classifyFailure(obs, [], { model: int8 }).category).toBe(classifyFailure(obs, [], { model: float }).category);
    }
  });
});

describe('features', () => {
  it('are deterministic, sorted, distinct and within range', () => {
    const input = { message: 'torch.OutOfMemoryError: HIP out of memory. Tried to allocate 2.00 GiB', exitCode: 1 };
    const a = featureIndices(input);
    expect(featureIndices(input)).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(new Set(a).size).toBe(a.length);
    for (const i of a) expect(i >= 0 && i < FEATURE_DIM).toBe(true);
  });

  it('have no words, no model: an exit code alone is for the rules', () => {
    expect(featureIndices({ exitCode: 77 })).toEqual([]);
    expect(classifyFailure({ exitCode: 77 })).toMatchObject({ category: 'UNKNOWN_ERROR', rule: UNRECOGNISED_RULE, decidedBy: 'rule', confidence: 0 });
  });

  it('read a bounded part of any output, keeping the error lines', () => {
    const filler = 'INFO step ok\n'.repeat(20000);
    const text = modelText({ message: 'job failed', outputTail: `${filler}ERROR device lost\n${filler}` });
    expect(text.length).toBeLessThan(12 * 1024);
    expect(text).toContain('ERROR device lost');
  });

  it('keepSharedFeatures drops what only one family says ("legacy-F" is F)', () => {
    const data = [
      { indices: [1, 2], category: 'A', kind: 'transient' as const, family: 'x' },
      { indices: [1, 3], category: 'A', kind: 'transient' as const, family: 'legacy-x' },
      { indices: [1, 4], category: 'B', kind: 'transient' as const, family: 'y' },
    ];
    expect(keepSharedFeatures(data, 2).map((d) => d.indices)).toEqual([[1], [1], [1]]);
  });
});

describe('training', () => {
  it('is deterministic: the same corpus gives the same weights', () => {
    const data = featurise(
      ['out of memory', 'connection refused', 'timed out waiting', 'module not found'].map((message, i) => ({
        input: { message },
        category: ERROR_CATEGORIES[i] ?? 'UNKNOWN_ERROR',
        kind: 'transient' as const,
        family: `f${i}`,
      })),
    );
    const a = trainModel(data, { epochs: 3, minFeatureFamilies: 1 });
    const b = trainModel(data, { epochs: 3, minFeatureFamilies: 1 });
    expect(Array.from(a.weights.slice(0, 5000))).toEqual(Array.from(b.weights.slice(0, 5000)));
    expect(Array.from(a.bias)).toEqual(Array.from(b.bias));
  });
});

describe('the fallback in classifyFailure', () => {
  it('decides what no rule matches, saying so, with a confidence', () => {
    const obs = { message: 'java.io.IOException: Server returned HTTP response code: 503 for URL https://example.org/artifact.jar' };
    const ruleOnly = classifyFailure(obs, [], { model: null });
    expect(ruleOnly.rule).toBe(UNRECOGNISED_RULE);
    const result = classifyFailure(obs, []);
    expect(result.decidedBy).toBe('model');
    expect(result.confidence).toBeGreaterThan(0);
    expect(result.confidence).toBeLessThanOrEqual(1);
    if (result.category !== 'UNKNOWN_ERROR') expect(result.rule).toBe(MODEL_RULE);
  });

  it('never overrides a rule', () => {
    const result = classifyFailure({ message: 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB' });
    expect(result).toMatchObject({ rule: 'gpu-oom-pytorch', decidedBy: 'rule', confidence: 1 });
  });

  it('a rule that only says "it failed" yields to a confident model, and keeps the decision otherwise', () => {
    const opaque = [compileRule({ name: 'wrapper-exit-1', category: 'UNKNOWN_ERROR', pattern: /exit status 1/, description: 'a wrapper' }, 'transient', 'built-in')];
    const stub = (bias: number[]): LinearModel => ({
      featureBits: MODEL_DATA.featureBits,
      labels: [
        { category: 'TEST_DEPENDENCY_ERROR', kind: 'validation' },
        { category: 'TEST_CONFIGURATION_ERROR', kind: 'validation' },
        { category: 'NETWORK_TIMEOUT_ERROR', kind: 'transient' },
      ],
      bias: Float64Array.from(bias),
      weights: new Float32Array(FEATURE_DIM * 3),
      threshold: 0,
    });
    const obs = { message: "llama-server process has terminated: exit status 1: error loading model: unknown model architecture: 'mllama'" };
    expect(classifyFailure(obs, opaque, { model: stub([8, 0, 0]) })).toMatchObject({ category: 'TEST_DEPENDENCY_ERROR', rule: MODEL_RULE, decidedBy: 'model' });
    // Three equally likely answers: below OPAQUE_OVERRIDE_CONFIDENCE, so the wrapper's UNKNOWN_ERROR stands.
    expect(OPAQUE_OVERRIDE_CONFIDENCE).toBeGreaterThan(1 / 3);
    expect(classifyFailure(obs, opaque, { model: stub([0, 0, 0]) })).toMatchObject({ category: 'UNKNOWN_ERROR', rule: 'wrapper-exit-1', decidedBy: 'rule' });
  });

  it('answers UNKNOWN_ERROR below its threshold', () => {
    const model = { ...defaultModel(), threshold: 1.01 };
    const result = classifyFailure({ message: 'the frobnicator was not in the expected state' }, BUILT_IN_RULES, { model });
    expect(result).toMatchObject({ category: 'UNKNOWN_ERROR', kind: 'transient', rule: UNRECOGNISED_RULE, decidedBy: 'model' });
    expect(result.confidence).toBeGreaterThan(0);
  });

  it('dtf classify --jsonl prints decidedBy and confidence next to category, kind and rule', () => {
    const out = classifyJsonl('{"message": "No space left on device"}\n{"message": "the frobnicator sulks"}').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out[0]).toMatchObject({ category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'disk-full', decidedBy: 'rule', confidence: 1 });
    expect(Object.keys(out[1] ?? {})).toEqual(expect.arrayContaining(['category', 'kind', 'rule', 'decidedBy', 'confidence']));
  });

  it('stays cheap on a 64 KiB tail (a loose bound: bench:classify measures it)', () => {
    // Timed in a fresh node process on the built code: in CI this jest process has run the integration tests first,
    // and what they leave in it made the same code 16× slower here than anywhere else.
    const script = `
      const { classifyFailure } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'src', 'domain', 'classification'))});
      const tail = ${JSON.stringify('2026-12-01T09:00:00Z INFO train.py:120 step=100 loss=0.1234 lr=3e-4 throughput=1234 samples/s\n')}.repeat(700) + 'Traceback: the frobnicator sulks\\n';
      const obs = { message: 'job failed', outputTail: tail.slice(-64 * 1024), exitCode: 1 };
      for (let i = 0; i < 20; i += 1) classifyFailure(obs);
      const batches = [];
      for (let b = 0; b < 10; b += 1) {
        const start = process.hrtime.bigint();
        for (let i = 0; i < 10; i += 1) classifyFailure(obs);
        batches.push(Number(process.hrtime.bigint() - start) / 1e6 / 10);
      }
      const r = classifyFailure(obs);
      console.log(JSON.stringify({ minMs: Math.min(...batches), decidedBy: r.decidedBy }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as { minMs: number; decidedBy: string };
    expect(out.decidedBy).toBe('model'); // the slow path: no rule matches, the model decides
    expect(out.minMs).toBeLessThan(10);
  });
});

describe('pathological inputs', () => {
  it('no rule backtracks badly on 64 KiB runs of one character or on blank lines', () => {
    const run = (s: string, n: number): string => s.repeat(Math.ceil(n / s.length)).slice(0, n);
    const inputs = [run('1', 65536), run('=', 65536), run('\n', 65536), run(' \n', 65536), run('a', 65536), run('% ', 65536), `x.py ${run('F', 65530)}`];
    for (const text of inputs) {
      const start = process.hrtime.bigint();
      classifyFailure({ message: text.slice(0, 16384), outputTail: text });
      expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(250);
    }
  });
});

describe('the workflow bundle', () => {
  it('src/workflows imports nothing from the classifier (the model stays out of the bundle)', () => {
    const dir = join(__dirname, '..', '..', 'src', 'workflows');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      expect([file, /classification/.test(readFileSync(join(dir, file), 'utf8'))]).toEqual([file, false]);
    }
  });
});
