/**
 * What netfilter needs from the rest of the host, and what it hands back:
 * the one seam between the IP stack and netfilter, seen from netfilter's
 * side (`kernel/hooks.ts` is the stack's side: where NF_HOOK is called).
 *
 * The Host (routing, links, bridges, sockets) implements `NetfilterEnv` once
 * per network namespace (the single-host `iptables trace` has its own) and passes a `HookContext` per hook call: the
 * devices the kernel would pass as `state->in` / `state->out`, the bridge
 * ports br_netfilter records (`nf_bridge_info`), and the next hop the route
 * chose (for MASQUERADE).
 */
import type { Ipv4 } from '../../wire/addr.js';
import type { Ipv4Packet } from '../../wire/packet.js';
import type { ConntrackSysctls } from '../conntrack/core.js';
import type { Skb } from '../skb.js';
import type { Step } from '../step.js';

export type { Skb };
import type { AddrType, HookName, TableName } from './types.js';

export interface NetfilterEnv {
  /** The host (network namespace) name, for trace steps. */
  readonly host: string;
  /**
   * `inet_dev_addr_type(net, dev, addr)`: the route type of `ip` in the local
   * routing table (LOCAL, BROADCAST, …; UNICAST when the local table has no
   * entry; MULTICAST for 224/4; BROADCAST for 0/8 and 255.255.255.255).
   * With `dev`, a local-table hit on another device answers UNICAST
   * (`--limit-iface-in/out`). For an IPv6 address (single-host trace only)
   * ipv6_chk_addr's answer: LOCAL for ::1 and the host's addresses.
   */
  addrType(ip: Ipv4, dev?: string): AddrType;
  /**
   * MASQUERADE's source: `inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE)`
   * (net/ipv4/devinet.c). null when the host has no usable address: the
   * kernel drops the packet.
   */
  masqueradeSource(outIface: string, nexthop: Ipv4): Ipv4 | null;
  /**
   * REDIRECT in PREROUTING: the first address of the incoming device
   * (nf_nat_redirect_ipv4; nf_nat_redirect_ipv6 when `family` is ipv6 —
   * only the single-host iptables trace evaluates IPv6); null = drop.
   */
  primaryAddress(iface: string, family?: 'ipv4' | 'ipv6'): Ipv4 | null;
  /** Simulated time in seconds (never the real clock). */
  now(): number;
  /**
   * The reverse-path lookup of xt_rpfilter (rpfilter_mt): `fib_lookup` for
   * daddr `src`, saddr `dst`, iif lo, `mark`, scope universe; the route's type
   * and its nexthop devices, or null when the lookup fails. Absent when the
   * host's routes are not known (a bare iptables-save dump): then
   * `-m rpfilter` cannot be decided and the trace says so.
   */
  reverseRoute?(
    src: Ipv4,
    dst: Ipv4,
    mark: number,
  ): { type: string; devs: readonly string[] } | null;
  readonly sysctls: ConntrackSysctls;
}

export interface HookContext {
  /** `state->in`: the receiving device (PREROUTING, INPUT, FORWARD). */
  readonly inIface?: string;
  /** `state->out`: the sending device (FORWARD, OUTPUT, POSTROUTING). */
  readonly outIface?: string;
  /**
   * Present when the packet is bridged IP going through br_netfilter
   * (`nf_bridge_info` exists): the bridge ports it came in on / goes out of.
   */
  readonly bridge?: { readonly physIn?: string; readonly physOut?: string };
  /** POSTROUTING: the route's gateway, or the destination for on-link routes. */
  readonly nexthop?: Ipv4;
}

export type Verdict = 'ACCEPT' | 'DROP' | 'REJECT' | 'UNSUPPORTED';

/** A rule, named so a user can find it: table, chain, 1-based index, dump line. */
export interface RuleRef {
  readonly hook: HookName;
  /** An iptables table (`nat`), or an nftables table as `FAMILY NAME` (`ip kube-proxy`). */
  readonly table: TableName | NftTableLabel;
  readonly chain: string;
  /** 1-based position in its chain (`iptables -L --line-numbers`). */
  readonly index: number;
  readonly file?: string;
  readonly line?: number;
  /** The rule as iptables-save prints it (without `-A CHAIN`), or as nft prints it. */
  readonly text: string;
  /** nftables rules: the kernel's rule handle, when the ruleset text gave it (`nft -a`). */
  readonly handle?: number;
}

/** An nftables table named as `nft` does: `ip kube-proxy`, `inet filter`. */
export type NftTableLabel = `${string} ${string}`;

/** Who gave a verdict. */
export type Decider =
  | ({ readonly kind: 'rule'; readonly target: string } & RuleRef)
  | {
      readonly kind: 'policy';
      readonly hook: HookName;
      readonly table: TableName | NftTableLabel;
      readonly chain: string;
      readonly policy: 'ACCEPT' | 'DROP';
    }
  /** The kernel itself (conntrack confirm clash, MASQUERADE without an address, …). */
  | { readonly kind: 'kernel'; readonly hook: HookName; readonly reason: string };

/** A rule whose matches all matched (it "hit"), with what its target did. */
export interface RuleHit extends RuleRef {
  /** The target as written (`DNAT --to-destination 10.0.0.1:80`), or '' for a rule without one. */
  readonly target: string;
}

/** What REJECT makes the kernel send back (ipt_REJECT.c: nf_send_unreach / nf_send_reset). */
export interface RejectInfo {
  /** `--reject-with` as given (default icmp-port-unreachable). */
  readonly with: string;
  /** The ICMP error or TCP RST the kernel sends to the packet's source. */
  readonly response: Ipv4Packet | null;
}

/** One table's traversal at a hook. */
export interface TableDecision {
  readonly table: TableName | NftTableLabel;
  readonly chain: string;
  readonly verdict: Verdict;
  readonly decidedBy: Decider;
}

export interface HookOutcome {
  readonly hook: HookName;
  readonly verdict: Verdict;
  /**
   * For DROP/REJECT/UNSUPPORTED: who ended it. For ACCEPT: the filter table's
   * decision when filter ran at this hook, else the last table's; null when
   * no table ran.
   */
  readonly decidedBy: Decider | null;
  /** The packet and its metadata after this hook (NAT applied, mark, ct). */
  readonly skb: Skb;
  /** Every table traversed, in priority order. */
  readonly tables: readonly TableDecision[];
  readonly hits: readonly RuleHit[];
  readonly steps: readonly Step[];
  readonly reject?: RejectInfo;
  /** Why the verdict is UNSUPPORTED: the construct and its rule. */
  readonly unsupported?: { readonly what: string; readonly rule?: RuleRef };
  /**
   * OUTPUT only: mangle changed mark/src/dst/TOS or nat changed the
   * destination, so the kernel re-routes (ip_route_me_harder) keeping the
   * source address.
   */
  readonly rerouteNeeded: boolean;
}
