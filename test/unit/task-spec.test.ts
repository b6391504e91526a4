import { SpecError, TestTaskSpec, parseTaskFile } from '../../src/domain/task-spec';
import fs from 'node:fs';
import path from 'node:path';
import { readTaskFile, substituteSpecDir } from '../../src/cli/submit';

const issuesOf = (data: unknown): string[] => {
  try {
    parseTaskFile(data, 'f.yaml');
  } catch (err) {
    if (err instanceof SpecError) return err.issues;
    throw err;
  }
  throw new Error('expected a SpecError');
};

describe('task spec', () => {
  test('fills defaults for a minimal task', () => {
    const spec = TestTaskSpec.parse({ name: 't1', command: ['pytest', '-q'] });
    expect(spec).toMatchObject({ timeoutSeconds: 600, placementTimeoutSeconds: 60, env: {}, labels: {}, expect: 'passed' });
    expect(spec.hardware).toEqual({ class: 'cpu', gpus: 1, fallback: [] });
  });

  test('accepts one task, a list, or a batch with defaults merged under each task', () => {
    expect(parseTaskFile({ name: 'a', command: ['true'] }).tasks).toHaveLength(1);
    expect(parseTaskFile([{ name: 'a', command: ['true'] }, { name: 'b', command: ['true'] }]).tasks).toHaveLength(2);
    const { tasks } = parseTaskFile({
      defaults: { timeoutSeconds: 30, env: { A: '1' }, hardware: { class: 'cuda', minGpuMemoryGb: 8 } },
      tasks: [{ name: 'a', command: ['x'], env: { B: '2' } }, { name: 'b', command: ['y'], hardware: { minGpuMemoryGb: 24 } }],
    });
    expect(tasks[0]).toMatchObject({ timeoutSeconds: 30, env: { A: '1', B: '2' }, hardware: { class: 'cuda', minGpuMemoryGb: 8 } });
    expect(tasks[1].hardware).toMatchObject({ class: 'cuda', minGpuMemoryGb: 24 });
  });

  test('names every bad field with its path and what was expected', () => {
    const issues = issuesOf({ tasks: [{ name: 'ok', command: ['true'] }, { name: 'bad name!', command: 'pytest', timeoutSeconds: -1, hardware: { class: 'tpu' } }] });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tasks\[1\]\.name: expected 1-100 letters/),
        'tasks[1].command: Expected array, received string (got string)',
        expect.stringMatching(/^tasks\[1\]\.timeoutSeconds: Number must be greater than 0/),
        expect.stringMatching(/^tasks\[1\]\.hardware\.class: Invalid enum value. Expected 'cuda' \| 'cpu', received 'tpu'/),
      ]),
    );
  });

  test('rejects unknown fields, duplicate names, GPU needs on CPU tasks and a fallback to the own class', () => {
    expect(issuesOf({ name: 'a', command: ['x'], comand: ['y'] })).toEqual([expect.stringMatching(/Unrecognized key\(s\) in object: 'comand'/)]);
    expect(issuesOf([{ name: 'a', command: ['x'] }, { name: 'a', command: ['y'] }])).toEqual([expect.stringMatching(/duplicate task name "a"/)]);
    expect(issuesOf({ name: 'a', command: ['x'], hardware: { minGpuMemoryGb: 8 } })).toEqual(['hardware.class: minGpuMemoryGb/minComputeCapability need class "cuda"']);
    expect(issuesOf({ name: 'a', command: ['x'], hardware: { class: 'cuda', fallback: ['cuda'] } })).toEqual([
      'hardware.fallback: fallback must not repeat the task\'s own class "cuda"',
    ]);
    expect(issuesOf({ name: 'a', command: [] })).toEqual([expect.stringMatching(/^command: expected at least the program/)]);
    expect(issuesOf({ name: 'a', command: ['x'], retry: { network: { maxAttemptsInPlace: 2 } } })).toEqual([
      expect.stringMatching(/^retry\.network: expected an UPPER_SNAKE_CASE category name/),
    ]);
  });

  test('{{specDir}} becomes the task file directory in every string', () => {
    expect(substituteSpecDir({ command: ['node', '{{specDir}}/a.js'], env: { D: '{{specDir}}' }, n: 3 }, '/x')).toEqual({
      command: ['node', '/x/a.js'],
      env: { D: '/x' },
      n: 3,
    });
  });
});

describe('the demo suite', () => {
  const examples = path.join(__dirname, '..', '..', 'examples');

  test('parses, and every corrected spec in examples/fixes names a dead-lettered task of the suite', () => {
    const { tasks } = readTaskFile(`${examples}/demo-suite.yaml`);
    const fixes = fs.readdirSync(`${examples}/fixes`).filter((f) => f.endsWith('.yaml'));
    expect(fixes.length).toBeGreaterThan(0);
    for (const file of fixes) {
      const [fixed] = readTaskFile(`${examples}/fixes/${file}`).tasks;
      expect(tasks.find((t) => t.name === fixed.name)?.expect).toBe('dead_lettered');
      expect(fs.existsSync(fixed.command[1])).toBe(true); // {{specDir}} resolved to a real script
    }
    expect(tasks.find((t) => t.services.length)?.services[0]).toMatchObject({ name: 'artifact-store' });
  });
});
