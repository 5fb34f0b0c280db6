/**
 * The fuzzers' findings, replayed: every input `npm run fuzz` saved under
 * test/fixtures/fuzz/ (a crash, a hang or an exit other than 0 and 2 when
 * it was found) must now exit 0 or 2, promptly (under the fuzzer's hang bound). And a short seeded slice of
 * the fuzzers themselves, every reader, on every run of the suite.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANG_MS, makeInput, READERS, runInput, type FuzzInput } from './readers.js';
import { FIXTURES, inputRand, loadSeeds } from './seeds.js';

const saved = existsSync(FIXTURES)
  ? readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

describe('fuzz findings, replayed', () => {
  it('there are findings to replay', () => {
    expect(saved.length).toBeGreaterThan(0);
  });
  it.each(saved)('%s exits 0 or 2, no hang', async (name) => {
    const f = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as FuzzInput;
    const o = await runInput(f);
    expect([0, 2], o.stderr).toContain(o.code);
    expect(o.ms).toBeLessThan(HANG_MS);
  });
});

describe('a seeded slice of every fuzzer', () => {
  const seeds = loadSeeds();
  it.each(READERS)('%s: 25 inputs, each exits 0 or 2', async (reader) => {
    for (let n = 0; n < 25; n++) {
      const input = makeInput(reader, inputRand(20261207, n), seeds);
      const o = await runInput(input);
      expect([0, 2], `${reader} #${n}: ${o.stderr}`).toContain(o.code);
      expect(o.ms, `${reader} #${n}`).toBeLessThan(HANG_MS);
    }
  });
});
