/**
 * What the iptables-save roundtrip kernel tests
 * (src/iptables/roundtrip.kernel.test.ts, roundtrip6.kernel.test.ts) share:
 * running a command in their namespace, emptying its tables between cases,
 * and comparing dumps and parsed rulesets in ways that ignore what the
 * backends may print differently. Test-only (tsconfig.build.json leaves
 * `testing/` out of the build).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Ruleset } from '../../kernel/netfilter/types.js';

/** A file of the repository, by its path from the repository root. */
export const read = (rel: string): string =>
  readFileSync(new URL(`../../../${rel}`, import.meta.url), 'utf8');

/** Runs args inside network namespace `ns` (optionally with stdin); stdout, or throws. */
export function inNs(ns: string, args: readonly string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 20_000,
  });
}

/** Empties every table `save` shows in `ns` (with `restore`), so each case starts from a fresh namespace's state. */
export function flushAll(ns: string, save: string, restore: string): void {
  const tables = [...inNs(ns, [save]).matchAll(/^\*(\S+)$/gm)].map((m) => m[1]!);
  const blank = tables.map((t) => `*${t}\nCOMMIT\n`).join('');
  if (blank) inNs(ns, [restore], blank);
}

/** The dump without its `#` comment lines (generator and timestamps). */
export const withoutComments = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

/** Tables keyed by name (the two backends print them in different orders). */
export function byTable(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of text.split(/^(?=\*)/m)) {
    const name = /^\*(\S+)/.exec(block)?.[1];
    if (name) out[name] = block.trim();
  }
  return out;
}

/** table → chain → [policy, rules as (text, matches, target)]; no sources. */
export function model(rs: Ruleset): unknown {
  const out: Record<string, unknown> = {};
  for (const [tn, t] of rs.tables) {
    const chains: Record<string, unknown> = {};
    for (const [cn, c] of t.chains)
      chains[cn] = [c.policy, c.rules.map((r) => [r.text, r.matches, r.target])];
    out[tn] = chains;
  }
  return out;
}
