/**
 * The hook pipeline: for each of the five IPv4 hooks, the functions the
 * kernel registers there, in priority order (lower runs first;
 * include/uapi/linux/netfilter_ipv4.h, nf_conntrack_proto.c
 * ipv4_conntrack_ops[], nf_nat_proto.c nf_nat_ipv4_ops[]):
 *
 *   PREROUTING  raw(-300) → conntrack in(-200) → mangle(-150) → nat DNAT(-100)
 *   INPUT       mangle(-150) → filter(0) → security(50) → nat SNAT(100) → confirm(INT_MAX)
 *   FORWARD     mangle(-150) → filter(0) → security(50)
 *   OUTPUT      raw(-300) → conntrack local(-200) → mangle(-150) → nat DNAT(-100) → filter(0) → security(50)
 *   POSTROUTING mangle(-150) → nat SNAT(100) → confirm(INT_MAX)
 *
 * A table's hook only exists when the ruleset has that table (its module is
 * loaded); nftables base chains take their place among them by priority.
 */
import type { ManipType } from '../conntrack/nat.js';
import type { CompiledNft, NftStage } from './nft-walk.js';
import type { HookName, TableName } from './types.js';

/** One registered hook function. */
export type Stage =
  | { readonly kind: 'table'; readonly table: Exclude<TableName, 'nat'>; readonly priority: number }
  | { readonly kind: 'nat'; readonly manip: ManipType; readonly priority: number }
  | { readonly kind: 'conntrack'; readonly priority: number }
  | { readonly kind: 'confirm'; readonly priority: number }
  /** An nftables base chain of type filter or route (nat chains run inside the nat stage). */
  | { readonly kind: 'nft'; readonly nft: NftStage; readonly priority: number };

const RAW: Stage = { kind: 'table', table: 'raw', priority: -300 };
const CT: Stage = { kind: 'conntrack', priority: -200 };
const MANGLE: Stage = { kind: 'table', table: 'mangle', priority: -150 };
const NAT_DST: Stage = { kind: 'nat', manip: 'DST', priority: -100 };
const FILTER: Stage = { kind: 'table', table: 'filter', priority: 0 };
const SECURITY: Stage = { kind: 'table', table: 'security', priority: 50 };
const NAT_SRC: Stage = { kind: 'nat', manip: 'SRC', priority: 100 };
const CONFIRM: Stage = { kind: 'confirm', priority: Number.MAX_SAFE_INTEGER };

/** The kernel's hook functions per hook, in priority order (§1.1). */
export const HOOK_STAGES: Readonly<Record<HookName, readonly Stage[]>> = {
  PREROUTING: [RAW, CT, MANGLE, NAT_DST],
  INPUT: [MANGLE, FILTER, SECURITY, NAT_SRC, CONFIRM],
  FORWARD: [MANGLE, FILTER, SECURITY],
  OUTPUT: [RAW, CT, MANGLE, NAT_DST, FILTER, SECURITY],
  POSTROUTING: [MANGLE, NAT_SRC, CONFIRM],
};

/**
 * The hook functions at `hook` with the host's nftables base chains among
 * them by priority. At equal priority the iptables table comes first (the
 * kernel orders equal priorities by registration, which a dump does not
 * record). nftables `type nat` chains are not stages of their own: like
 * iptables' nat table they register with the NAT core (nf_nat_register_fn)
 * and run inside its stage, ordered among themselves by priority.
 */
export function stagesAt(
  hook: HookName,
  nft: CompiledNft | undefined,
  v6: boolean,
): readonly Stage[] {
  const base = HOOK_STAGES[hook];
  if (!nft) return base;
  const extra = nft.stages(hook, v6).filter((s) => s.base.type !== 'nat');
  if (extra.length === 0) return base;
  const all: Stage[] = [
    ...base,
    ...extra.map((s): Stage => ({ kind: 'nft', nft: s, priority: s.priority })),
  ];
  // Array.prototype.sort is stable: base stages were listed first.
  return all.sort((a, b) => a.priority - b.priority);
}
