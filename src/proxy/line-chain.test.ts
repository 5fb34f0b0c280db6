/**
 * A chain counted before it is written (`LineChain` with a count): written
 * with as many lines as counted, it holds them; with another number (a
 * writer's bug) reading it is a packeteye internal error naming the chain,
 * which the CLI reports as such, without a stack trace.
 */
import { describe, expect, it } from 'vitest';
import { InternalError } from '../diag.js';
import { LineChain } from './dump.js';
import { RestoreLine } from './proxier.js';

const line = (i: number) => new RestoreLine(`-A KUBE-SVC-X -j KUBE-SEP-${i}`, 'rule', 'KUBE-SVC-X');

function counted(count: number, written: number): LineChain {
  const c: LineChain = new LineChain('KUBE-SVC-X', '-', {}, count, () =>
    c.hold(Array.from({ length: written }, (_, i) => line(i))),
  );
  return c;
}

describe('a counted chain written with another number of lines', () => {
  const cases: [string, number, number][] = [
    ['as counted', 2, 2],
    ['none counted', 0, 0],
    ['one fewer', 3, 2],
    ['one more', 1, 2],
    ['none written', 2, 0],
  ];
  it.each(cases)('%s (%i counted, %i written)', (_name, count, written) => {
    const c = counted(count, written);
    if (count === written) {
      expect(c.rules).toHaveLength(written);
      return;
    }
    let thrown: unknown;
    try {
      void c.rules;
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InternalError);
    const d = (thrown as InternalError).diagnostic;
    expect(d.code).toBe('internal-error');
    expect(d.message).toBe(
      `kube-proxy chain KUBE-SVC-X: ${written} rules written, ${count} counted`,
    );
  });
});
