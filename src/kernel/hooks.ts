/**
 * The seam between the IP stack and netfilter.
 *
 * The stack calls `NetfilterHooks.hook` once per hook it passes, exactly
 * where Linux calls NF_HOOK (ip_rcv → PREROUTING, ip_local_deliver → INPUT,
 * ip_forward → FORWARD, __ip_local_out → OUTPUT, ip_output → POSTROUTING; and
 * from br_netfilter for bridged IPv4). Whatever sits behind this interface
 * (the iptables engine with conntrack, or `ACCEPT_ALL` in tests) sees the
 * packet, its skb metadata and the context the kernel would give it, and
 * answers with a verdict and the (possibly rewritten) packet.
 *
 *               PREROUTING ──► route ──► INPUT ──► socket
 *   rx ──► (br_nf)               │
 *                                └──► FORWARD ──► POSTROUTING ──► tx
 *   socket ──► route ──► OUTPUT ──► (reroute) ─────┘
 */
import type { Ipv4 } from '../wire/addr.js';
import type { Ipv4Packet } from '../wire/packet.js';
import type { NetfilterEnv, Verdict } from './netfilter/env.js';
import type { HookName } from './netfilter/types.js';
import type { DropReason } from './drop.js';
import type { Chooser } from './random.js';
import type { SkbMeta } from './skb.js';
import type { Recorder } from './step.js';

export { FRESH_META, type SkbMeta } from './skb.js';

/** What a hook call knows about where the packet is (`struct nf_hook_state`). */
export interface HookCall {
  readonly hook: HookName;
  /** `state->in` */
  readonly inIface?: string;
  /** `state->out` */
  readonly outIface?: string;
  /** br_netfilter: the bridge ports (`nf_bridge_info` physindev / physoutdev). */
  readonly bridge?: { readonly physIn?: string; readonly physOut?: string };
  /** POSTROUTING: the route's gateway, or the destination for on-link routes (rt_nexthop). */
  readonly nexthop?: Ipv4;
}

export interface HookResult {
  readonly verdict: Verdict;
  readonly packet: Ipv4Packet;
  readonly meta: SkbMeta;
  /** REJECT: the ICMP error or TCP RST the kernel sends to the source (null: none, e.g. source not unicast). */
  readonly rejectResponse?: Ipv4Packet | null;
  /** OUTPUT: mangle/nat changed what routing depends on, so the stack re-routes keeping the source. */
  readonly rerouteNeeded?: boolean;
  /** A short reason for DROP/REJECT/UNSUPPORTED (who decided), for the drop step. */
  readonly why?: string;
  /** DROP: the named drop reason when it is not netfilter's (a cloud fabric hook); default `netfilter-drop`. */
  readonly reason?: DropReason;
}

export interface NetfilterHooks {
  hook(
    call: HookCall,
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
    chooser: Chooser,
  ): HookResult;
  /**
   * nf_ct_attach (nf_conntrack_attach): the meta of a packet the kernel
   * generates about the packet with `meta` — an ICMP error (icmp_glue_bits)
   * or a REJECT's reset — which carries that packet's conntrack entry as
   * RELATED in the other direction, even when the entry is not confirmed yet.
   * Absent: the new packet starts untracked-yet (FRESH_META).
   */
  related?(meta: SkbMeta): SkbMeta;
  /**
   * The same hooks as installed, with nothing of the packets since: no
   * conntrack entries, no rule state (recent lists, nth counters, limits).
   * Absent: the hooks keep no state across packets, or cannot be made cold
   * (then a kept host cannot be reset; see Host.coldSnapshot).
   */
  cold?(): NetfilterHooks;
}

/** No rules at all: every hook accepts and nothing changes (a host without iptables). */
export const ACCEPT_ALL: NetfilterHooks = {
  hook: (_call, packet, meta) => ({ verdict: 'ACCEPT', packet, meta }),
  cold: () => ACCEPT_ALL,
};
