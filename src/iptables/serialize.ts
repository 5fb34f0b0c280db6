/**
 * A Ruleset back to the text `iptables-save` prints (iptables 1.8,
 * iptables/iptables-save.c and nft-shared save paths): per table `*name`,
 * the built-in chains in hook order with their policy, then the user chains
 * sorted by name (strcmp order, as both backends list them) with `-`, every
 * counter `[0:0]`, then each chain's rules as `-A CHAIN text`, then `COMMIT`.
 * Tables are printed in the ruleset's order. No `#` header lines: they carry
 * a date and packeteye output is deterministic.
 */

import { BUILTIN_CHAINS, type Chain, type Ruleset, type Table } from '../kernel/netfilter/types.js';

function byName(a: Chain, b: Chain): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The chains of a table in iptables-save order. */
export function chainsInSaveOrder(table: Table): Chain[] {
  const builtins = BUILTIN_CHAINS[table.name] as readonly string[];
  const out: Chain[] = [];
  for (const b of builtins) {
    const c = table.chains.get(b);
    out.push(c ?? { name: b, policy: 'ACCEPT', rules: [], source: {} });
  }
  const users = [...table.chains.values()].filter((c) => !builtins.includes(c.name));
  users.sort(byName);
  return out.concat(users);
}

export function serializeTable(table: Table): string {
  const chains = chainsInSaveOrder(table);
  const lines: string[] = [`*${table.name}`];
  for (const c of chains) lines.push(`:${c.name} ${c.policy ?? '-'} [0:0]`);
  for (const c of chains) {
    for (const r of c.rules) lines.push(r.text ? `-A ${c.name} ${r.text}` : `-A ${c.name}`);
  }
  lines.push('COMMIT');
  return lines.join('\n');
}

/** The whole ruleset as iptables-save text, ending with a newline. */
export function serializeRuleset(rs: Ruleset): string {
  let out = '';
  for (const t of rs.tables.values()) out += `${serializeTable(t)}\n`;
  return out;
}
