import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepestNesting } from './parse-slow.js';

/**
 * deepestNesting as it read every character of every line, kept as the
 * reference: the reading that skips lines without a bracket or `#` must
 * give the same depth and line.
 */
function everyCharacter(text: string): { depth: number; line: number } {
  const json = /^\s*[[{]/.test(text);
  let best = { depth: 0, line: 1 };
  let flow = 0;
  const indents: number[] = [];
  let line = 1;
  for (let i = 0; i <= text.length;) {
    const nl = text.indexOf('\n', i);
    const end = nl === -1 ? text.length : nl;
    let j = i;
    while (j < end && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
    let extra = 0;
    if (!json) {
      flow = 0;
      if (j < end && text.charCodeAt(j) !== 35) {
        const ind = j - i;
        while (indents.length > 0 && indents[indents.length - 1]! >= ind) indents.pop();
        indents.push(ind);
        for (
          let k = j;
          text.charCodeAt(k) === 45 && (text.charCodeAt(k + 1) === 32 || k + 1 === end);
          k += 2
        )
          extra++;
      }
    }
    for (let k = j; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c === 34 || (c === 39 && !json)) {
        for (k++; k < end && text.charCodeAt(k) !== c; k++)
          if (c === 34 && text.charCodeAt(k) === 92) k++;
      } else if (c === 35 && !json && (k === j || text.charCodeAt(k - 1) === 32)) break;
      else if (c === 91 || c === 123) {
        flow++;
        const depth = (json ? 0 : indents.length) + flow + extra;
        if (depth > best.depth) best = { depth, line };
      } else if (c === 93 || c === 125) flow--;
    }
    const depth = (json ? 0 : indents.length) + Math.max(flow, 0) + extra;
    if (depth > best.depth) best = { depth, line };
    if (nl === -1) break;
    i = nl + 1;
    line++;
  }
  return best;
}

describe('deepestNesting: lines without a bracket or `#` are skipped, not read', () => {
  it.each([
    ['plain YAML', 'a:\n  b:\n    c: 1\n  d: 2\n'],
    ['flow on a later line', 'a: 1\nb: 2\nc: [1, {d: [2]}]\n'],
    ['a quote hiding brackets', 'a: "[[["\nb: {c: 1}\n'],
    ['a comment hiding brackets', 'a: 1 # [[[\nb:\n  - [1]\n'],
    ['JSON over lines', '{\n "a": [\n  {"b": "]"},\n  [[1]]\n ]\n}\n'],
    ['no newline at the end', 'a:\n  - - [x'],
    ['brackets only on the last line', 'a:\n  b: 1\n  c: {d: {e: 1}}'],
  ])('%s', (_name, text) => {
    expect(deepestNesting(text)).toEqual(everyCharacter(text));
  });

  it('equals the reading of every character on random texts', () => {
    const piece = fc.constantFrom(
      'a',
      'key: v',
      ' ',
      '  ',
      '\t',
      '\n',
      '- ',
      '-',
      '#',
      ' #',
      '"',
      "'",
      '\\',
      '[',
      ']',
      '{',
      '}',
      ':',
      ',',
      '"x\\"y"',
      "'it''s'",
    );
    const text = fc.array(piece, { maxLength: 80 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, fc.boolean(), (t, asJson) => {
        const s = asJson ? `{${t}` : t;
        expect(deepestNesting(s)).toEqual(everyCharacter(s));
      }),
      { numRuns: 3000 },
    );
  });
});
