/**
 * The nft language's tokens: words, quoted strings, `{ } ; ,`, line ends
 * (which end a command or a rule outside braces), and the `# handle N`
 * comments `nft -a list ruleset` prints after a rule, chain, set or table.
 * Other comments are dropped. Offsets let a rule keep its own text.
 */
export interface Tok {
  readonly kind: 'word' | 'string' | 'punct' | 'nl' | 'handle';
  readonly text: string;
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

const NL = 10;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const VT = 11;
const FF = 12;
const BACKSLASH = 92;
const HASH = 35;
const QUOTE = 34;
const OPEN = 123;
const CLOSE = 125;
const SEMI = 59;
const COMMA = 44;

/** Characters that end a word: white space, `{ } ; ,` and `"`. */
const STOP: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (const ch of ' \t\r\n\v\f{};,"') t[ch.charCodeAt(0)] = 1;
  return t;
})();

export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  for (const st of tokenStatements(src, true)) out.push(...st);
  return out;
}

/**
 * The tokens statement by statement: a statement ends at a line end or `;`
 * outside braces (the terminator itself is left out unless `keepEnds`).
 * Reading a large script this way keeps only one statement's tokens alive.
 */
export function* tokenStatements(src: string, keepEnds = false): Generator<Tok[]> {
  let out: Tok[] = [];
  let depth = 0;
  let line = 1;
  let i = 0;
  const n = src.length;
  while (i < n) {
    const ch = src.charCodeAt(i);
    if (ch === NL) {
      const t: Tok = { kind: 'nl', text: '\n', line, start: i, end: i + 1 };
      line++;
      i++;
      if (depth <= 0) {
        depth = 0;
        if (keepEnds) out.push(t);
        if (out.length > 0) yield out;
        out = [];
      } else out.push(t);
      continue;
    }
    if (ch === SPACE || ch === TAB || ch === CR || ch === VT || ch === FF) {
      i++;
      continue;
    }
    if (ch === BACKSLASH && src.charCodeAt(i + 1) === NL) {
      // A continued line.
      i += 2;
      line++;
      continue;
    }
    if (ch === HASH) {
      let j = src.indexOf('\n', i);
      if (j < 0) j = n;
      const m = /^#\s*handle\s+(\d+)/.exec(src.slice(i, j));
      if (m) out.push({ kind: 'handle', text: m[1]!, line, start: i, end: j });
      i = j;
      continue;
    }
    if (ch === QUOTE) {
      let j = i + 1;
      let text = '';
      while (j < n && src[j] !== '"' && src[j] !== '\n') {
        if (src[j] === '\\' && j + 1 < n) {
          text += src[j + 1];
          j += 2;
        } else text += src[j++];
      }
      out.push({ kind: 'string', text, line, start: i, end: Math.min(j + 1, n) });
      i = j + 1;
      continue;
    }
    if (ch === OPEN || ch === CLOSE || ch === SEMI || ch === COMMA) {
      const text = ch === OPEN ? '{' : ch === CLOSE ? '}' : ch === SEMI ? ';' : ',';
      const t: Tok = { kind: 'punct', text, line, start: i, end: i + 1 };
      i++;
      if (ch === OPEN) depth++;
      else if (ch === CLOSE) depth--;
      if (ch === SEMI && depth <= 0) {
        depth = 0;
        if (keepEnds) out.push(t);
        if (out.length > 0) yield out;
        out = [];
      } else out.push(t);
      continue;
    }
    let j = i + 1;
    while (j < n) {
      const cj = src.charCodeAt(j);
      if (cj < 128 && STOP[cj] === 1) break;
      j++;
    }
    out.push({ kind: 'word', text: src.slice(i, j), line, start: i, end: j });
    i = j;
  }
  if (out.length > 0) yield out;
}
