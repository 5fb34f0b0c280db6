/**
 * Where the fuzzers' seeds and findings live: seeds are the examples and the
 * iptables fixtures; findings are test/fixtures/fuzz/*.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../bench/prng.js';
import type { Seeds } from './readers.js';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const FIXTURES = join(ROOT, 'test/fixtures/fuzz');

/** The generator for input n of a seed: each input stands alone. */
export const inputRand = (seed: number, n: number): (() => number) =>
  prng((seed * 1_000_003 + n) >>> 0);

export function loadSeeds(): Seeds {
  const dir = (d: string, re: RegExp): string[] =>
    readdirSync(join(ROOT, d))
      .filter((f) => re.test(f))
      .sort()
      .map((f) => readFileSync(join(ROOT, d, f), 'utf8'));
  return {
    cluster: dir('examples', /\.ya?ml$/).filter((t) => t.length < 200_000),
    iptables: [
      ...dir('examples/iptables', /\.rules$/),
      ...dir('test/fixtures/iptables', /\.(save|rules)$/),
    ],
  };
}
