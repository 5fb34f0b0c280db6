import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasStreamSyntax } from './parse-fast.js';

/** The pattern the search stands for: a `%` directive or a `...` marker at a line's start. */
const STREAM_SYNTAX = /^(?:%|\.\.\.(?:[ \t\r\n]|$))/m;

describe('hasStreamSyntax finds what the multiline pattern finds', () => {
  it.each([
    ['nothing', 'a: 1\nb: 2\n', false],
    ['a directive', '%YAML 1.2\n---\na: 1\n', true],
    ['a directive on a later line', 'a: 1\n%TAG ! x\n', true],
    ['a percent inside a line', 'a: 50%\nb: "%"\n', false],
    ['a document end', 'a: 1\n...\n', true],
    ['a document end at the end', 'a: 1\n...', true],
    ['a document end and a comment', 'a: 1\n... # end\n', true],
    ['dots inside a line', 'a: ...\nb: x...\n', false],
    ['four dots', 'a: 1\n....\n', false],
    ['after a carriage return alone', 'a: 1\r%x\n', true],
    ['before a carriage return', 'a: 1\n...\r\n', true],
    ['after a line separator', 'a: 1\u2028...\n', true],
    ['before a paragraph separator', 'a: 1\n...\u2029b', true],
    ['dots then a letter', '...x\n', false],
  ])('%s', (_name, text, want) => {
    expect(STREAM_SYNTAX.test(text)).toBe(want);
    expect(hasStreamSyntax(text)).toBe(want);
  });

  it('on random texts', () => {
    const piece = fc.constantFrom(
      'a',
      ': ',
      '%',
      '.',
      '...',
      ' ',
      '\t',
      '\n',
      '\r',
      '\r\n',
      '\u2028',
      '\u2029',
      '#',
      '-',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(hasStreamSyntax(text)).toBe(STREAM_SYNTAX.test(text));
      }),
      { numRuns: 5000 },
    );
  });
});
