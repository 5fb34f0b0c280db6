/**
 * Splitting one iptables-restore line into arguments, the way iptables'
 * `add_param_to_argv` (iptables/xshared.c) does: blanks separate arguments;
 * a double quote opens a quoted argument in which `\x` stands for `x`; the
 * closing quote ends the argument. Outside quotes a backslash is an ordinary
 * character. A single linear scan, no regular expressions.
 */

export interface Token {
  readonly text: string;
  /** The argument was (partly) written in double quotes: never an option, whatever it starts with. */
  readonly quoted: boolean;
}

export type TokenizeResult = { ok: true; tokens: Token[] } | { ok: false; tokens: Token[]; error: string };

export function tokenizeLine(line: string): TokenizeResult {
  const tokens: Token[] = [];
  let buf = '';
  let inToken = false;
  let quoted = false;
  let quoteOpen = false;
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoteOpen) {
      if (escaped) {
        buf += c;
        escaped = false;
      } else if (c === '\\') {
        escaped = true;
      } else if (c === '"') {
        quoteOpen = false;
        tokens.push({ text: buf, quoted: true });
        buf = '';
        inToken = false;
        quoted = false;
      } else {
        buf += c;
      }
      continue;
    }
    if (c === '"') {
      quoteOpen = true;
      quoted = true;
      inToken = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inToken) {
        tokens.push({ text: buf, quoted });
        buf = '';
        inToken = false;
        quoted = false;
      }
      continue;
    }
    buf += c;
    inToken = true;
  }
  if (quoteOpen) return { ok: false, tokens, error: 'unterminated quote' };
  if (inToken) tokens.push({ text: buf, quoted });
  return { ok: true, tokens };
}
