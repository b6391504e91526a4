// A real test that fails: an assertion, i.e. a test failure (not an infrastructure error).
const test = require('node:test');
const assert = require('node:assert');

test('rounding keeps two decimals', () => {
  assert.strictEqual(Math.round(1.005 * 100) / 100, 1.01);
});
