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

const PUNCT = new Set(['{', '}', ';', ',']);

/** Characters that end a word: white space, `{ } ; ,` and `"`. */
const STOP: readonly boolean[] = (() => {
  const t: boolean[] = new Array<boolean>(128).fill(false);
  for (const ch of ' \t\r\n\v\f{};,"') t[ch.charCodeAt(0)] = true;
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
    const ch = src[i]!;
    if (ch === '\n') {
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
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '\\' && src[i + 1] === '\n') {
      // A continued line.
      i += 2;
      line++;
      continue;
    }
    if (ch === '#') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = n;
      const m = /^#\s*handle\s+(\d+)/.exec(src.slice(i, j));
      if (m) out.push({ kind: 'handle', text: m[1]!, line, start: i, end: j });
      i = j;
      continue;
    }
    if (ch === '"') {
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
    if (PUNCT.has(ch)) {
      const t: Tok = { kind: 'punct', text: ch, line, start: i, end: i + 1 };
      i++;
      if (ch === '{') depth++;
      else if (ch === '}') depth--;
      if (ch === ';' && depth <= 0) {
        depth = 0;
        if (keepEnds) out.push(t);
        if (out.length > 0) yield out;
        out = [];
      } else out.push(t);
      continue;
    }
    let j = i;
    while (j < n && !STOP[src.charCodeAt(j)]) j++;
    out.push({ kind: 'word', text: src.slice(i, j), line, start: i, end: j });
    i = j;
  }
  if (out.length > 0) yield out;
}
