/**
 * nft's symbolic variables (`define NAME = VALUE`, `redefine`, `undefine`,
 * used as `$NAME`), as nft's parser handles them: a name defined twice is
 * an error ("redefinition of symbol"), a use of a name not defined is an
 * error ("unknown identifier"), a value may use earlier variables;
 * `undefine` of an unknown name is accepted, as nft 1.0.6 does. A use is
 * replaced by the value's tokens, placed where the `$NAME` was written, so a
 * rule keeps its own text and line.
 */
import { RuleError } from './rule.js';
import type { Tok } from './tokenize.js';

export class Variables {
  private readonly values = new Map<string, readonly Tok[]>();

  /** Whether `st` (line ends removed) is a define/redefine/undefine command. */
  static isCommand(st: readonly Tok[]): boolean {
    const w = st[0];
    return (
      w !== undefined &&
      w.kind === 'word' &&
      (w.text === 'define' || w.text === 'redefine' || w.text === 'undefine')
    );
  }

  /** Runs a define/redefine/undefine command. */
  command(st: readonly Tok[]): void {
    const verb = st[0]!;
    const name = st[1];
    if (!name || name.kind !== 'word') throw new RuleError(`${verb.text}: expected a name`, verb);
    if (verb.text === 'undefine') {
      // nft 1.0.6 accepts undefining a name it does not know.
      this.values.delete(name.text);
      return;
    }
    if (st[2]?.text !== '=' || st.length < 4)
      throw new RuleError(`${verb.text} ${name.text}: expected = VALUE`, st[2] ?? name);
    if (verb.text === 'define' && this.values.has(name.text))
      throw new RuleError(`redefinition of symbol '${name.text}'`, name);
    this.values.set(name.text, this.expand(st.slice(3)));
  }

  /** The tokens with every `$NAME` replaced by its value (the same array when there is none). */
  expand(toks: readonly Tok[]): Tok[] {
    if (!toks.some(isUse)) return toks as Tok[];
    const out: Tok[] = [];
    for (const t of toks) {
      if (!isUse(t)) {
        out.push(t);
        continue;
      }
      const v = this.values.get(t.text.slice(1));
      if (!v) throw new RuleError(`unknown identifier '${t.text.slice(1)}'`, t);
      for (const x of v) out.push({ ...x, line: t.line, start: t.start, end: t.end });
    }
    return out;
  }
}

function isUse(t: Tok): boolean {
  return t.kind === 'word' && t.text.length > 1 && t.text.charCodeAt(0) === 36; // '$'
}
