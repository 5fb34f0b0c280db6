/**
 * `checkIPTablesRuleJumps` from kube-proxy's proxier_test.go: every `-j` goes
 * to a chain the data creates and fills, every `-A` chain is declared, and no
 * declared kube-proxy chain is left unused. Test helper only.
 */
import { parseDump } from '../dump.js';

const TARGETS = new Set([
  'ACCEPT',
  'REJECT',
  'DROP',
  'MARK',
  'RETURN',
  'DNAT',
  'SNAT',
  'MASQUERADE',
]);
const ALWAYS = new Set([
  'KUBE-SERVICES',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-NODEPORTS',
  'KUBE-POSTROUTING',
  'KUBE-FORWARD',
  'KUBE-MARK-MASQ',
  'KUBE-PROXY-FIREWALL',
  'KUBE-FIREWALL',
]);

export function checkRuleJumps(text: string): string[] {
  const errors: string[] = [];
  for (const t of parseDump(text).tables) {
    const created = new Set(t.chains.map((c) => c.name));
    for (const o of t.other) {
      const m = /^-X (\S+)/.exec(o);
      if (m) created.delete(m[1]!);
    }
    const filled = new Set(t.chains.filter((c) => c.rules.length > 0).map((c) => c.name));
    const jumped = new Set<string>();
    for (const c of t.chains) {
      for (const r of c.rules) {
        const m = /-j (\S+)/.exec(r);
        if (m && !TARGETS.has(m[1]!)) jumped.add(m[1]!);
      }
    }
    const missing = [...jumped, ...filled].filter((c) => !created.has(c));
    if (missing.length > 0)
      errors.push(
        `some chains in ${t.name} are used but were not created: ${[...new Set(missing)].sort().join(' ')}`,
      );
    const empty = [...jumped].filter((c) => !filled.has(c) && c !== 'KUBE-NODEPORTS');
    if (empty.length > 0)
      errors.push(
        `some chains in ${t.name} are jumped to but have no rules: ${empty.sort().join(' ')}`,
      );
    const extra = [...created].filter((c) => !jumped.has(c) && !ALWAYS.has(c));
    if (extra.length > 0)
      errors.push(`some chains in ${t.name} are created but not used: ${extra.sort().join(' ')}`);
  }
  return errors;
}
