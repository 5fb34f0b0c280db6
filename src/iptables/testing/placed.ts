/**
 * A ruleset's rules with the line each stands at, whether its own or placed
 * from a shared chain (`ruleLine`): what the tests of shared kube-proxy chains
 * (src/iptables/parse-memo.test.ts, parse-block.test.ts, src/proxy/share.test.ts)
 * compare against reading the same text (`saveTablesText`) rule by rule.
 * Test-only.
 */
import { ruleLine, type Ruleset } from '../../kernel/netfilter/types.js';

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
