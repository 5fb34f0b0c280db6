/**
 * A ruleset's rules with the line each stands at, whether its own or placed
 * from a shared chain (`ruleLine`): what the tests of shared kube-proxy chains
 * (src/iptables/parse-memo.test.ts, parse-block.test.ts, src/proxy/share.test.ts)
 * compare against reading the same text rule by rule, and that text (`textOf`:
 * the iptables layer's one-loop copy of proxy/dump.ts formatDump, which it
 * cannot import). Test-only.
 */
import { ruleLine, type Ruleset } from '../../kernel/netfilter/types.js';
import type { SaveTableLines } from '../parse-tables.js';

export function placed(rs: Ruleset): unknown {
  return [...rs.tables.values()].map((t) => ({
    name: t.name,
    chains: [...t.chains.values()].map((c) => ({
      name: c.name,
      policy: c.policy,
      line: c.source.line,
      rules: c.rules.map((r, i) => ({
        matches: r.matches,
        target: r.target,
        text: r.text,
        line: ruleLine(c, i),
      })),
    })),
  }));
}

/** The text `parseIptablesTables` reads tables as (per table `*name`, declarations, rules, other lines, `COMMIT`). */
export function textOf(tables: readonly SaveTableLines[]): string {
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} ${c.policy} [0:0]\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${r}\n`;
    for (const o of t.other) out += `${o}\n`;
    out += 'COMMIT\n';
  }
  return out;
}
