// A real test file for node's built-in test runner: passes.
const test = require('node:test');
const assert = require('node:assert');

test('adds', () => assert.strictEqual(1 + 2, 3));
test('sorts numbers', () => assert.deepStrictEqual([3, 1, 2].sort(), [1, 2, 3]));
