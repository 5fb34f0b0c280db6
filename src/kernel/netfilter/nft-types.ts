/**
 * The nftables model: what `nft list ruleset` prints (and what `nft -f`
 * loads) — tables of one address family holding base chains (hook,
 * priority, policy), regular chains of rules, and sets and maps. A rule is
 * a sequence of expressions evaluated left to right, as nft_do_chain runs
 * its expressions: a failing match ends the rule (NFT_BREAK), a statement
 * acts and continues, a verdict ends it. `iptables/nft` reads text into
 * these values with every literal already typed (addresses as integers,
 * protocol and service names as numbers); `kernel/nftables` evaluates them.
 */
import type { SourceRef } from './types.js';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** A base chain's hook, as nft spells it. */
export type NftHook =
  'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

/**
 * The type of one component of a value: what a selector yields, what a set's
 * key holds. `ipv4_addr` values are unsigned 32-bit numbers, `ipv6_addr`
 * 128-bit bigints, `ifname` strings; every other type a number.
 */
export type NftType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'mark'
  | 'ifname'
  | 'ct_state'
  | 'ct_status'
  | 'ct_dir'
  | 'fib_addrtype'
  | 'nf_proto'
  | 'pkt_type'
  | 'icmp_type'
  | 'icmpv6_type'
  | 'tcp_flag'
  | 'integer'
  | 'verdict';

export type NftScalar = number | bigint | string;

/** What a selector reads from the packet, its metadata or the kernel. */
export type Selector =
  | {
      readonly kind: 'payload';
      readonly proto: 'ip' | 'ip6' | 'tcp' | 'udp' | 'sctp' | 'th' | 'icmp' | 'icmpv6';
      readonly field: string;
    }
  | { readonly kind: 'meta'; readonly key: string }
  | {
      readonly kind: 'ct';
      readonly key: string;
      readonly dir?: 'original' | 'reply';
      readonly family?: 'ip' | 'ip6';
    }
  | {
      readonly kind: 'fib';
      readonly flags: readonly ('saddr' | 'daddr' | 'iif' | 'oif' | 'mark')[];
      readonly result: 'type' | 'oif' | 'oifname';
    }
  | {
      readonly kind: 'numgen';
      readonly mode: 'random' | 'inc';
      readonly mod: number;
      readonly offset: number;
    }
  /** `mark and 0x4000`, `ct mark & 0xff`: the selector with a bitwise operation applied. */
  | {
      readonly kind: 'bitwise';
      readonly inner: Selector;
      readonly op: 'and' | 'or' | 'xor';
      readonly value: number;
    };

/** One component of a key or element: an exact value or an inclusive interval. */
export type NftAtom =
  | { readonly kind: 'value'; readonly value: NftScalar }
  | { readonly kind: 'range'; readonly from: NftScalar; readonly to: NftScalar }
  /** `eth*`: an interface-name prefix. */
  | { readonly kind: 'wildcard'; readonly prefix: string };

export type NftVerdict =
  | { readonly kind: 'accept' | 'drop' | 'continue' | 'return' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string };

export interface NftElement {
  /** One atom per component of the key (`ip daddr . meta l4proto . th dport` has three). */
  readonly key: readonly NftAtom[];
  /** A map's value: a verdict, or data atoms (`dnat to ip saddr map { … : 10.0.0.1 }`). */
  readonly verdict?: NftVerdict;
  readonly data?: readonly NftAtom[];
  readonly comment?: string;
  /** Dynamic sets: seconds from now until the element expires. */
  readonly timeout?: number;
  readonly source?: SourceRef;
}

/** A named set or map (`set NAME { … }`) or an anonymous one written inline (`{ 1, 2 }`). */
export interface NftSet {
  readonly name: string;
  readonly keyType: readonly NftType[];
  /** Maps only: `verdict`, or the data's type. */
  readonly dataType?: readonly NftType[];
  readonly flags: readonly string[];
  /** Dynamic sets: the default element timeout in seconds. */
  readonly timeout?: number;
  readonly elements: NftElement[];
  readonly comment?: string;
  readonly source: SourceRef;
}

export type SetRef =
  | { readonly kind: 'named'; readonly name: string }
  | { readonly kind: 'anonymous'; readonly set: NftSet };

export type NftExpr =
  /** `SELECTOR [op] VALUE` — a relational match (op `==` when not written). */
  | {
      readonly kind: 'cmp';
      readonly left: readonly Selector[];
      readonly op: '==' | '!=' | '<' | '>' | '<=' | '>=';
      readonly right: readonly NftAtom[];
      /** Bitmask types (`ct state new,established`): a match when any given bit is set. */
      readonly flags: boolean;
    }
  /** `SELECTOR [!=] @set` or `SELECTOR [!=] { … }` */
  | {
      readonly kind: 'lookup';
      readonly left: readonly Selector[];
      readonly set: SetRef;
      readonly invert: boolean;
    }
  /** `SELECTOR vmap @map` / `vmap { k : verdict, … }` */
  | { readonly kind: 'vmap'; readonly left: readonly Selector[]; readonly map: SetRef }
  | { readonly kind: 'verdict'; readonly verdict: NftVerdict }
  | { readonly kind: 'counter' }
  | { readonly kind: 'log'; readonly prefix?: string }
  | { readonly kind: 'notrack' }
  /** `limit rate [over] N/UNIT [burst N packets]`; with `bytes`, N bytes/UNIT and a burst in bytes. */
  | {
      readonly kind: 'limit';
      readonly rate: number;
      readonly per: number;
      readonly burst: number;
      readonly over: boolean;
      readonly bytes?: true;
    }
  /** `quota [over] N bytes [used N bytes]`: matches until N bytes have passed (over: after). */
  | {
      readonly kind: 'quota';
      readonly bytes: number;
      readonly used: number;
      readonly over: boolean;
    }
  | {
      readonly kind: 'reject';
      readonly with?: {
        readonly type: 'icmp' | 'icmpv6' | 'icmpx' | 'tcp-reset';
        readonly code: string;
      };
    }
  /** `meta mark set …`, `ct mark set …`: value = (SOURCE op operand) or a constant. */
  | {
      readonly kind: 'set-mark';
      readonly target: 'meta' | 'ct';
      readonly value:
        | { readonly kind: 'const'; readonly value: number }
        | { readonly kind: 'expr'; readonly from: Selector };
    }
  /** `dnat/snat [ip|ip6] to ADDR[:PORT]`, `dnat to SELECTOR map { … }`, `masquerade`, `redirect to :PORT` */
  | {
      readonly kind: 'nat';
      readonly type: 'dnat' | 'snat' | 'masquerade' | 'redirect';
      readonly addr?: { readonly from: string; readonly to: string };
      readonly port?: { readonly from: number; readonly to: number };
      /** `dnat to ip saddr map { … }`: the address (and port) looked up. */
      readonly map?: { readonly left: readonly Selector[]; readonly set: SetRef };
      readonly flags: readonly string[];
    }
  /** `update @set { ip saddr }`, `add @set { … }` */
  | {
      readonly kind: 'set-update';
      readonly op: 'add' | 'update';
      readonly set: string;
      readonly key: readonly Selector[];
      readonly timeout?: number;
    }
  /** Something packeteye does not model: evaluating it is UNSUPPORTED, never a guess. */
  | { readonly kind: 'unsupported'; readonly text: string };

export interface NftRule {
  readonly exprs: readonly NftExpr[];
  /** The rule as nft prints it (without `add rule FAMILY TABLE CHAIN`). */
  readonly text: string;
  /** The kernel's handle (`# handle N` in `nft -a list ruleset`), when the text says. */
  readonly handle?: number;
  readonly source: SourceRef;
}

export interface NftBaseChain {
  readonly type: 'filter' | 'nat' | 'route';
  readonly hook: NftHook;
  /** The numeric priority (`dstnat` = -100, `filter - 10` = -10, …). */
  readonly priority: number;
  readonly policy: 'accept' | 'drop';
  readonly device?: string;
}

export interface NftChain {
  readonly name: string;
  readonly base?: NftBaseChain;
  readonly rules: NftRule[];
  readonly handle?: number;
  readonly source: SourceRef;
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly chains: Map<string, NftChain>;
  readonly sets: Map<string, NftSet>;
  readonly handle?: number;
  readonly source: SourceRef;
}

/** One network namespace's nftables ruleset: what `nft list ruleset` prints. */
export interface NftRuleset {
  readonly tables: readonly NftTable[];
}
