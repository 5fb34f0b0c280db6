/**
 * The netfilter rule model: tables of chains of rules, each rule a list of
 * matches and at most one target — what `iptables-save` prints and what the
 * kernel's x_tables evaluate. `iptables/` parses text into these values;
 * `kernel/netfilter` evaluates them. Names are the kernel's and iptables'.
 */

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';

export type HookName = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Built-in chains per table (net/ipv4/netfilter/iptable_*.c valid_hooks). */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly HookName[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter', 'security'];

/** Where a rule came from, for `FILE:LINE` in every message and trace step. */
export interface SourceRef {
  readonly file?: string;
  readonly line?: number;
}

export interface Negatable {
  readonly invert: boolean;
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED' | 'SNAT' | 'DNAT';
export type CtStatus = 'EXPECTED' | 'SEEN_REPLY' | 'ASSURED' | 'CONFIRMED';
export type AddrType =
  | 'UNSPEC'
  | 'UNICAST'
  | 'LOCAL'
  | 'BROADCAST'
  | 'ANYCAST'
  | 'MULTICAST'
  | 'BLACKHOLE'
  | 'UNREACHABLE'
  | 'PROHIBIT'
  | 'THROW'
  | 'NAT'
  | 'XRESOLVE';

export type Match =
  /** `-p tcp` */
  | ({ readonly kind: 'protocol'; readonly protocol: string } & Negatable)
  /** `-s 10.0.0.0/8` */
  | ({ readonly kind: 'source'; readonly cidr: string } & Negatable)
  /** `-d 10.0.0.0/8` */
  | ({ readonly kind: 'destination'; readonly cidr: string } & Negatable)
  /** `-i eth0`, `-i cali+` (wildcard = trailing `+`) */
  | ({
      readonly kind: 'in-interface';
      readonly name: string;
      readonly wildcard: boolean;
    } & Negatable)
  | ({
      readonly kind: 'out-interface';
      readonly name: string;
      readonly wildcard: boolean;
    } & Negatable)
  /** `-f` / `! -f` */
  | ({ readonly kind: 'fragment' } & Negatable)
  /** `-m tcp/udp/sctp --sport/--dport/--tcp-flags/--syn`; each field negatable on its own. */
  | {
      readonly kind: 'l4';
      readonly protocol: 'tcp' | 'udp' | 'sctp';
      readonly sport?: PortRange & Negatable;
      readonly dport?: PortRange & Negatable;
      /** `--tcp-flags mask comp` (flag names upper case), `--syn` = SYN,RST,ACK,FIN SYN. */
      readonly tcpFlags?: {
        readonly mask: readonly string[];
        readonly comp: readonly string[];
      } & Negatable;
    }
  | ({
      readonly kind: 'multiport';
      readonly which: 'sports' | 'dports' | 'ports';
      readonly ports: readonly PortRange[];
    } & Negatable)
  | ({ readonly kind: 'icmp'; readonly type: number; readonly code?: number } & Negatable)
  /** ip6tables `-p ipv6-icmp -m icmp6 --icmpv6-type T[/C]` (code absent = any code). */
  | ({ readonly kind: 'icmp6'; readonly type: number; readonly code?: number } & Negatable)
  | { readonly kind: 'comment'; readonly text: string }
  | {
      readonly kind: 'conntrack';
      readonly ctstate?: { readonly states: readonly CtState[] } & Negatable;
      readonly ctstatus?: { readonly statuses: readonly CtStatus[] } & Negatable;
      readonly ctorigdst?: { readonly cidr: string } & Negatable;
      readonly ctorigdstport?: PortRange & Negatable;
      readonly ctdir?: 'ORIGINAL' | 'REPLY';
    }
  /** `-m state --state` (the older spelling of ctstate) */
  | ({ readonly kind: 'state'; readonly states: readonly CtState[] } & Negatable)
  | ({ readonly kind: 'mark'; readonly value: number; readonly mask: number } & Negatable)
  | ({ readonly kind: 'connmark'; readonly value: number; readonly mask: number } & Negatable)
  | {
      readonly kind: 'addrtype';
      readonly srcType?: { readonly types: readonly AddrType[] } & Negatable;
      readonly dstType?: { readonly types: readonly AddrType[] } & Negatable;
      readonly limitIfaceIn: boolean;
      readonly limitIfaceOut: boolean;
    }
  | ({
      readonly kind: 'statistic';
      readonly mode: 'random';
      /** As written, e.g. 0.3333333333; the kernel compares against a u32 cut-off. */
      readonly probability: number;
    } & Negatable)
  | ({
      readonly kind: 'statistic';
      readonly mode: 'nth';
      readonly every: number;
      readonly packet: number;
    } & Negatable)
  | ({
      readonly kind: 'recent';
      readonly name: string;
      readonly action: 'set' | 'rcheck' | 'update' | 'remove';
      readonly seconds?: number;
      readonly hitcount?: number;
      readonly reap: boolean;
      readonly rttl: boolean;
      /** rsource (default) or rdest */
      readonly side: 'source' | 'dest';
      readonly mask?: string;
    } & Negatable)
  /**
   * `-m rpfilter`: the reverse-path check (xt_rpfilter): would the host route
   * a reply to the source out of the device the packet came in on?
   * `--invert` is an option of its own, not `!`.
   */
  | {
      readonly kind: 'rpfilter';
      readonly loose: boolean;
      readonly validmark: boolean;
      readonly acceptLocal: boolean;
      readonly invert: boolean;
    }
  /**
   * `-m limit --limit AVG --limit-burst N` (xt_limit): a token bucket of
   * `burst` packets refilled one per `period` seconds. `period` is iptables'
   * `avg` in 1/10000 s (XT_LIMIT_SCALE), as the kernel holds it.
   */
  | ({ readonly kind: 'limit'; readonly avg: number; readonly burst: number } & Negatable)
  /** `-m set --match-set NAME src,dst`: the packet looked up in an IP set (ipset.ts). */
  | ({
      readonly kind: 'set';
      readonly name: string;
      readonly flags: readonly ('src' | 'dst')[];
      /** `--return-nomatch`: an element added with nomatch counts as a match. */
      readonly returnNomatch: boolean;
    } & Negatable)
  | {
      readonly kind: 'physdev';
      readonly physdevIn?: { readonly name: string; readonly wildcard: boolean } & Negatable;
      readonly physdevOut?: { readonly name: string; readonly wildcard: boolean } & Negatable;
      readonly isIn?: Negatable;
      readonly isOut?: Negatable;
      readonly isBridged?: Negatable;
    }
  /**
   * `-m nfacct --nfacct-name NAME`: counts into an nfacct object. xt_nfacct
   * matches unless the object is over a quota; packeteye models no quotas, so
   * it always matches (kube-proxy ≥1.30 uses it for counters only).
   */
  | { readonly kind: 'nfacct'; readonly name: string }
  /** A match module or option packeteye does not model. Evaluating it is an error, never a guess. */
  | { readonly kind: 'unsupported'; readonly module: string; readonly args: readonly string[] };

export type Target =
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'RETURN' }
  /** `-j CHAIN` */
  | { readonly kind: 'jump'; readonly chain: string }
  /** `-g CHAIN` */
  | { readonly kind: 'goto'; readonly chain: string }
  /** `-j REJECT [--reject-with X]`, default icmp-port-unreachable (ip6tables: icmp6-port-unreachable). */
  | { readonly kind: 'REJECT'; readonly with: string }
  /** `-j MARK --set-xmark v/m` (all MARK spellings normalise to xmark: mark = (mark & ~m) ^ v). */
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly args: readonly string[] }
  /** `-j DNAT --to-destination a[-b][:p[-q]]` */
  | {
      readonly kind: 'DNAT';
      readonly toAddr?: { readonly from: string; readonly to: string };
      readonly toPorts?: PortRange;
      readonly random: boolean;
      readonly persistent: boolean;
    }
  | {
      readonly kind: 'SNAT';
      readonly toAddr?: { readonly from: string; readonly to: string };
      readonly toPorts?: PortRange;
      readonly random: boolean;
      readonly randomFully: boolean;
      readonly persistent: boolean;
    }
  | {
      readonly kind: 'MASQUERADE';
      readonly toPorts?: PortRange;
      readonly random: boolean;
      readonly randomFully: boolean;
    }
  | { readonly kind: 'REDIRECT'; readonly toPorts?: PortRange; readonly random: boolean }
  | { readonly kind: 'LOG'; readonly prefix?: string; readonly level?: string }
  /** `-j NFLOG`: hands a copy to nfnetlink_log group `group`; the packet continues (XT_CONTINUE). */
  | {
      readonly kind: 'NFLOG';
      readonly group: number;
      readonly prefix?: string;
      /** `--nflog-size`: how many bytes of the packet to copy. */
      readonly size?: number;
      readonly threshold: number;
    }
  /** raw table `-j NOTRACK` or `-j CT --notrack` */
  | { readonly kind: 'NOTRACK' }
  | { readonly kind: 'unsupported'; readonly name: string; readonly args: readonly string[] };

export interface Rule {
  readonly matches: readonly Match[];
  /** Absent for a rule without `-j`/`-g` (it only counts packets). */
  readonly target?: Target;
  /** The rule as `iptables-save` prints it, without `-A CHAIN`. */
  readonly text: string;
  readonly source: SourceRef;
}

export interface Chain {
  readonly name: string;
  /** Built-in chains only: `ACCEPT` or `DROP`. */
  readonly policy?: 'ACCEPT' | 'DROP';
  readonly rules: readonly Rule[];
  readonly source: SourceRef;
  /**
   * The line of `rules[0]` in the text the chain was read from, when its
   * rules (read once and shared by several rulesets, each placing them at
   * its own lines) carry no line of their own: rule i stands at
   * `firstLine + i` (`ruleLine`).
   */
  readonly firstLine?: number;
}

/** The line of a chain's rule `i`: its own, else the one its place in the chain gives. */
export function ruleLine(chain: Chain, i: number): number | undefined {
  const own = chain.rules[i]?.source.line;
  if (own !== undefined) return own;
  return chain.firstLine === undefined ? undefined : chain.firstLine + i;
}

export interface Table {
  readonly name: TableName;
  /** In declaration order. Built-in chains always present. */
  readonly chains: ReadonlyMap<string, Chain>;
}

/** One host's netfilter configuration: what `iptables-save` would print. */
export interface Ruleset {
  readonly tables: ReadonlyMap<TableName, Table>;
  /**
   * Which tool's dump this is: iptables-save (`ipv4`, the default when
   * absent) or ip6tables-save (`ipv6`). Addresses in the rules are of this
   * family only.
   */
  readonly family?: 'ipv4' | 'ipv6';
}
