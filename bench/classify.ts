/**
 * Times the error classifier on the labelled corpus and reports its accuracy.
 * Run after a build: `node dist/bench/classify.js [passes]`. The last line is a JSON summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyFailure, observationOf, parseCorpus, scoreCorpus } from '../src/domain/classification';

const CORPUS = 'test/fixtures/error-corpus.jsonl';

/** dist/bench/ after a build, bench/ when run from source. */
function corpusPath(): string {
  const candidates = [join(__dirname, '..', '..', CORPUS), join(__dirname, '..', CORPUS)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`error corpus not found; looked in:\n  ${candidates.join('\n  ')}`);
  return found;
}

function main(): void {
  const passes = Number(process.argv[2] ?? 200);
  if (!Number.isInteger(passes) || passes < 1) throw new Error(`passes must be a positive integer, got ${process.argv[2]}`);

  const entries = parseCorpus(readFileSync(corpusPath(), 'utf8'));
  const observations = entries.map(observationOf);
  const score = scoreCorpus(entries);

  // Warm up so the JIT has compiled the regexes before timing.
  for (let i = 0; i < 10; i += 1) for (const obs of observations) classifyFailure(obs);

  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < passes; i += 1) {
    for (const obs of observations) sink += classifyFailure(obs).rule.length;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const meanMicrosPerMessage = elapsedNs / 1000 / (passes * observations.length);

  console.log(`messages:               ${entries.length}`);
  console.log(`passes:                 ${passes} (checksum ${sink})`);
  console.log(`category accuracy:      ${score.categoryAccuracy.toFixed(4)}`);
  console.log(`kind accuracy:          ${score.kindAccuracy.toFixed(4)}`);
  console.log(`mean time per message:  ${meanMicrosPerMessage.toFixed(2)} µs`);
  for (const miss of score.misses) {
    console.log(`  miss ${miss.source}: expected ${miss.expected.category}/${miss.expected.kind}, got ${miss.actual.category}/${miss.actual.kind} (${miss.actual.rule})`);
  }
  console.log(
    JSON.stringify({
      messages: entries.length,
      categoryAccuracy: Number(score.categoryAccuracy.toFixed(4)),
      kindAccuracy: Number(score.kindAccuracy.toFixed(4)),
      meanMicrosPerMessage: Number(meanMicrosPerMessage.toFixed(2)),
    }),
  );
}

main();
