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

export type TokenizeResult =
  { ok: true; tokens: Token[] } | { ok: false; tokens: Token[]; error: string };

export function tokenizeLine(line: string): TokenizeResult {
  const tokens: Token[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    // One argument: unquoted runs are sliced, quoted runs unescaped; a closing quote ends it.
    let text = '';
    let quoted = false;
    let runStart = i;
    for (;;) {
      if (i >= n || c === 32 || c === 9 || c === 10 || c === 13) {
        text += line.slice(runStart, i);
        break;
      }
      if (c !== 34) {
        c = line.charCodeAt(++i);
        continue;
      }
      // An opening double quote: the text so far, then the quoted part.
      text += line.slice(runStart, i);
      quoted = true;
      i++;
      let segStart = i;
      for (;;) {
        if (i >= n) return { ok: false, tokens, error: 'unterminated quote' };
        const q = line.charCodeAt(i);
        if (q === 92) {
          // `\x` stands for x (a trailing backslash escapes nothing: the quote stays open).
          text += line.slice(segStart, i);
          if (i + 1 >= n) return { ok: false, tokens, error: 'unterminated quote' };
          text += line[i + 1];
          i += 2;
          segStart = i;
          continue;
        }
        if (q === 34) break;
        i++;
      }
      text += line.slice(segStart, i);
      i++; // past the closing quote, which ends the argument
      runStart = i;
      break;
    }
    tokens.push({ text, quoted });
  }
  return { ok: true, tokens };
}
