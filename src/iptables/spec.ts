/**
 * The shape shared by match and target extensions: which options an extension
 * takes (with their aliases, arity and whether `!` may precede them), and a
 * `build` that turns the options a rule gave into a model value, normalised
 * the way the extension's kernel struct would hold it.
 */

import type { Parsed } from './values.js';

export interface OptSpec {
  /** The spelling iptables-save prints; aliases map to it. */
  readonly canon: string;
  /** Number of value arguments; `words` = the comment rule (see rule.ts). */
  readonly arity: 0 | 1 | 2 | 'words';
  readonly invertible: boolean;
  /**
   * A free string (`--comment`, `--log-prefix`): like getopt, take the next
   * argument whatever it looks like, since iptables-save prints `-x` bare.
   */
  readonly anyValue?: boolean;
}

export interface Given {
  readonly opt: string;
  readonly values: readonly string[];
  readonly invert: boolean;
}

/** What `build` may look at besides its own options: the rule's `-p`. */
export interface BuildContext {
  readonly protocol?: { readonly name: string; readonly invert: boolean };
  /** The dump's address family: iptables-save (ipv4, the default) or ip6tables-save (ipv6). */
  readonly family?: 'ipv4' | 'ipv6';
}

/**
 * A model value, an error, or — with `unsupported` set to the offending
 * option — a valid spelling whose effect packeteye cannot know.
 */
export type BuildResult<T> =
  { ok: true; value: T } | { ok: false; error: string; unsupported?: string };

export interface ExtensionSpec<T> {
  readonly name: string;
  readonly options: ReadonlyMap<string, OptSpec>;
  build(given: readonly Given[], ctx: BuildContext): BuildResult<T>;
}

export type OptDef = readonly [
  spellings: string | readonly string[],
  arity: OptSpec['arity'],
  invertible: boolean,
  anyValue?: 'any',
];

/** Builds the option table from `[spellings, arity, invertible]` rows; the first spelling is canonical. */
export function options(defs: readonly OptDef[]): ReadonlyMap<string, OptSpec> {
  const m = new Map<string, OptSpec>();
  for (const [spellings, arity, invertible, any] of defs) {
    const list = typeof spellings === 'string' ? [spellings] : spellings;
    const spec: OptSpec = {
      canon: list[0]!,
      arity,
      invertible,
      ...(any ? { anyValue: true } : {}),
    };
    for (const s of list) m.set(s, spec);
  }
  return m;
}

/** The last value given for `opt`, if any (duplicates are refused earlier). */
export function find(given: readonly Given[], opt: string): Given | undefined {
  for (const g of given) if (g.opt === opt) return g;
  return undefined;
}

export const okv = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const err = <T>(error: string): Parsed<T> => ({ ok: false, error });
export const unsupportedOption = <T>(opt: string, why: string): BuildResult<T> => ({
  ok: false,
  error: `${opt}: ${why}`,
  unsupported: opt,
});
