/**
 * The forwarding information base: routing tables with longest-prefix match
 * and the policy rules that choose between them (net/ipv4/fib_trie.c
 * `fib_table_lookup`, net/ipv4/fib_rules.c, net/core/fib_rules.c).
 *
 * A table indexes routes by prefix length and network, so a lookup is at most
 * 33 map probes, from /32 down to /0. Within one prefix, routes are ordered as
 * the trie orders a leaf's aliases: by TOS (descending), then priority
 * (metric, ascending), then insertion order. The lookup takes the first alias
 * that passes the kernel's checks (TOS, scope, nexthop device when an output
 * interface is forced); a blackhole/unreachable/prohibit route ends the lookup
 * with its error; when every alias at a prefix is skipped the search falls
 * back to shorter prefixes, as the trie backtracks.
 */
import { intToIp, maskOf, type Cidr, type Ipv4 } from '../wire/addr.js';

/**
 * Dotted quad → u32 for the hot paths (every lookup). Addresses reaching the
 * kernel model were validated at its API (wire/addr `ipToInt` there); this
 * only parses. (Parsing costs about what a Map lookup of the string costs
 * with a few thousand addresses, and a fifth of it with a cluster's hundreds
 * of thousands, which a cache would also keep in memory.)
 */
export function u32(ip: Ipv4): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return (n * 256 + octet) >>> 0;
}
import type { DropReason } from './drop.js';
import { kernelError } from './errors.js';

export type RouteType =
  'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';

export const RT_TABLE = { unspec: 0, default: 253, main: 254, local: 255 } as const;

export function tableName(id: number): string {
  switch (id) {
    case 255:
      return 'local';
    case 254:
      return 'main';
    case 253:
      return 'default';
    default:
      return String(id);
  }
}

export function parseTable(t: string | number): number {
  if (typeof t === 'number') return t;
  if (t === 'local') return 255;
  if (t === 'main') return 254;
  if (t === 'default') return 253;
  if (/^\d+$/.test(t)) return Number(t);
  throw new RangeError(`unknown routing table ${JSON.stringify(t)}`);
}

/** /etc/iproute2/rt_protos names. */
const PROTO_NAMES: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  42: 'babel',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};

/** Normalises `proto 4` / `proto static` to the name `ip route` prints. */
export function protoName(p: string | number): string {
  if (typeof p === 'number' || /^\d+$/.test(p)) return PROTO_NAMES[Number(p)] ?? String(p);
  return p;
}

export interface Route {
  readonly table: number;
  readonly type: RouteType;
  readonly dst: Cidr;
  readonly tos: number;
  /** RTA_PRIORITY (`metric`). */
  readonly metric: number;
  readonly proto: string;
  /** Route scope (RT_SCOPE_*). */
  readonly scope: number;
  readonly via?: Ipv4;
  readonly dev?: string;
  /** Preferred source (`src`, RTA_PREFSRC). */
  readonly src?: Ipv4;
  readonly onlink: boolean;
  /** Insertion order, for stable ordering of equal keys. */
  readonly seq: number;
}

/** `fib_props[type].error`: the lookup error a route type returns. */
export function routeTypeError(
  type: RouteType,
): 'EINVAL' | 'EHOSTUNREACH' | 'EACCES' | 'EAGAIN' | null {
  switch (type) {
    case 'blackhole':
      return 'EINVAL';
    case 'unreachable':
      return 'EHOSTUNREACH';
    case 'prohibit':
      return 'EACCES';
    case 'throw':
      return 'EAGAIN';
    default:
      return null;
  }
}

function compareAlias(a: Route, b: Route): number {
  return b.tos - a.tos || a.metric - b.metric || a.seq - b.seq;
}

export interface TableLookup {
  /** Destination as an unsigned 32-bit number. */
  readonly dst: number;
  /** flowi4_scope: aliases with a smaller (wider) scope are skipped. */
  readonly scope: number;
  readonly tos: number;
  /** flowi4_oif: only nexthops on this device qualify. */
  readonly oif?: string;
}

export type TableResult =
  | { readonly kind: 'route'; readonly route: Route }
  | {
      readonly kind: 'error';
      readonly route: Route;
      readonly errno: 'EINVAL' | 'EHOSTUNREACH' | 'EACCES';
    }
  | { readonly kind: 'throw'; readonly route: Route }
  | { readonly kind: 'none' };

/** One routing table (`ip route show table N`). */
export class RouteTable {
  /** byLen[p]: network (u32) → aliases of that prefix, in lookup order. */
  private readonly byLen: (Map<number, Route[]> | undefined)[] = new Array(33).fill(undefined);
  /** The prefix lengths byLen has a map for, longest first: what a lookup visits. */
  private lens: number[] = [];
  private count = 0;

  constructor(readonly id: number) {}

  get size(): number {
    return this.count;
  }

  /** Aliases for exactly this prefix, in lookup order. */
  aliases(dst: Cidr): readonly Route[] {
    return this.byLen[dst.prefix]?.get(u32(dst.network)) ?? [];
  }

  insert(route: Route): void {
    let m = this.byLen[route.dst.prefix];
    if (!m) {
      this.byLen[route.dst.prefix] = m = new Map();
      this.lens = [...this.lens, route.dst.prefix].sort((a, b) => b - a);
    }
    const key = u32(route.dst.network);
    const list = m.get(key);
    if (!list) {
      m.set(key, [route]);
    } else {
      let i = list.length;
      while (i > 0 && compareAlias(list[i - 1]!, route) > 0) i--;
      list.splice(i, 0, route);
    }
    this.count++;
  }

  /** Removes every route matching `pred`; returns how many. */
  removeWhere(pred: (r: Route) => boolean): number {
    let removed = 0;
    for (const m of this.byLen) {
      if (!m) continue;
      for (const [key, list] of m) {
        const kept = list.filter((r) => !pred(r));
        if (kept.length !== list.length) {
          removed += list.length - kept.length;
          if (kept.length === 0) m.delete(key);
          else m.set(key, kept);
        }
      }
    }
    this.count -= removed;
    return removed;
  }

  /** In `ip route show` order: by network, longer prefixes first, then alias order. */
  list(): Route[] {
    const out: Route[] = [];
    for (const m of this.byLen) if (m) for (const l of m.values()) out.push(...l);
    out.sort(
      (a, b) =>
        u32(a.dst.network) - u32(b.dst.network) ||
        b.dst.prefix - a.dst.prefix ||
        compareAlias(a, b),
    );
    return out;
  }

  /** fib_table_lookup. */
  lookup(q: TableLookup): TableResult {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const p = lens[i]!;
      const list = this.byLen[p]!.get((q.dst & maskOf(p)) >>> 0);
      if (!list) continue;
      for (const r of list) {
        if (r.tos !== 0 && r.tos !== q.tos) continue;
        if (r.scope < q.scope) continue;
        const err = routeTypeError(r.type);
        if (err === 'EAGAIN') return { kind: 'throw', route: r };
        if (err) return { kind: 'error', route: r, errno: err };
        if (q.oif !== undefined && r.dev !== q.oif) continue;
        return { kind: 'route', route: r };
      }
    }
    return { kind: 'none' };
  }
}

export type RuleAction =
  | { readonly kind: 'lookup'; readonly table: number }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'unreachable' }
  | { readonly kind: 'prohibit' };

/** One policy rule (`ip rule`). */
export interface PolicyRule {
  readonly priority: number;
  readonly from?: Cidr;
  readonly to?: Cidr;
  readonly iif?: string;
  readonly oif?: string;
  readonly fwmark?: { readonly value: number; readonly mask: number };
  readonly invert: boolean;
  readonly action: RuleAction;
}

export const DEFAULT_RULES: readonly PolicyRule[] = [
  { priority: 0, invert: false, action: { kind: 'lookup', table: 255 } },
  { priority: 32766, invert: false, action: { kind: 'lookup', table: 254 } },
  { priority: 32767, invert: false, action: { kind: 'lookup', table: 253 } },
];

/** The flow a lookup is for (`struct flowi4`). */
export interface Flow {
  readonly dst: Ipv4;
  readonly src?: Ipv4;
  /** flowi4_iif: the receiving device; `lo` for locally generated packets. */
  readonly iif: string;
  readonly oif?: string;
  readonly mark: number;
  readonly tos: number;
  readonly scope: number;
}

export type FibErrno = 'ENETUNREACH' | 'EHOSTUNREACH' | 'EACCES' | 'EINVAL';

export type FibResult =
  | { readonly ok: true; readonly route: Route; readonly rule: PolicyRule }
  | {
      readonly ok: false;
      readonly errno: FibErrno;
      readonly route?: Route;
      readonly rule?: PolicyRule;
    };

function cidrHas(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === u32(c.network);
}

/** fib_rule_match + fib4_rule_match. */
export function ruleMatches(rule: PolicyRule, flow: Flow): boolean {
  let m = true;
  if (rule.iif !== undefined && rule.iif !== flow.iif) m = false;
  if (m && rule.oif !== undefined && rule.oif !== flow.oif) m = false;
  if (m && rule.fwmark && ((flow.mark ^ rule.fwmark.value) & rule.fwmark.mask) !== 0) m = false;
  if (m && rule.from && !cidrHas(rule.from, flow.src !== undefined ? u32(flow.src) : 0)) m = false;
  if (m && rule.to && !cidrHas(rule.to, u32(flow.dst))) m = false;
  return rule.invert ? !m : m;
}

/** fib_lookup → fib_rules_lookup → fib4_rule_action → fib_table_lookup. */
export function fibLookup(
  rules: readonly PolicyRule[],
  tables: ReadonlyMap<number, RouteTable>,
  flow: Flow,
): FibResult {
  const dst = u32(flow.dst);
  for (const rule of rules) {
    if (!ruleMatches(rule, flow)) continue;
    switch (rule.action.kind) {
      case 'blackhole':
        return { ok: false, errno: 'EINVAL', rule };
      case 'unreachable':
        return { ok: false, errno: 'EHOSTUNREACH', rule };
      case 'prohibit':
        return { ok: false, errno: 'EACCES', rule };
      case 'lookup': {
        const t = tables.get(rule.action.table);
        if (!t) continue;
        const r = t.lookup({ dst, scope: flow.scope, tos: flow.tos, oif: flow.oif });
        if (r.kind === 'route') return { ok: true, route: r.route, rule };
        if (r.kind === 'error') return { ok: false, errno: r.errno, route: r.route, rule };
        continue; // none or throw: -EAGAIN, next rule
      }
    }
  }
  return { ok: false, errno: 'ENETUNREACH' };
}

/**
 * xt_rpfilter's lookup (rpfilter_mt): the route back to `src` as seen from
 * `dst` — daddr = src, saddr = dst (0 for a multicast, broadcast or zero
 * destination), iif lo, `mark`, scope universe. The route's type and nexthop
 * device(s); null when the lookup fails.
 */
export function reversePath(
  rules: readonly PolicyRule[],
  tables: ReadonlyMap<number, RouteTable>,
  src: Ipv4,
  dst: Ipv4,
  mark: number,
): { type: RouteType; devs: string[] } | null {
  const d = u32(dst);
  const odd = d >>> 28 === 0xe || d === 0xffffffff || d >>> 24 === 0;
  const r = fibLookup(rules, tables, {
    dst: src,
    ...(odd ? {} : { src: dst }),
    iif: 'lo',
    mark,
    tos: 0,
    scope: 0,
  });
  return r.ok ? { type: r.route.type, devs: r.route.dev !== undefined ? [r.route.dev] : [] } : null;
}

/** `10.244.2.0/24`, `10.1.1.1` (a /32 is printed bare), `default`. */
export function formatDst(dst: Cidr): string {
  if (dst.prefix === 0) return 'default';
  return dst.prefix === 32 ? dst.network : `${dst.network}/${dst.prefix}`;
}

/**
 * One route as `ip route show` prints it (iproute2 print_route), without the
 * trailing space iproute2 leaves: `10.244.2.0/24 via 192.168.1.20 dev eth0 onlink`.
 */
export function formatRoute(r: Route, opts?: { showTable?: boolean; linkdown?: boolean }): string {
  if (opts !== undefined) return writeRoute(r, opts);
  // A route is an immutable value that every packet's lookup step names.
  let text = routeTexts.get(r);
  if (text === undefined) routeTexts.set(r, (text = writeRoute(r, {})));
  return text;
}

const routeTexts = new WeakMap<Route, string>();

function writeRoute(r: Route, opts: { showTable?: boolean; linkdown?: boolean }): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(formatDst(r.dst));
  if (r.tos !== 0) parts.push('tos', `0x${r.tos.toString(16)}`);
  if (r.via !== undefined) parts.push('via', r.via);
  if (r.dev !== undefined) parts.push('dev', r.dev);
  if (opts.showTable && r.table !== 254) parts.push('table', tableName(r.table));
  if (r.proto !== 'boot') parts.push('proto', r.proto);
  if (r.scope !== 0) parts.push('scope', scopeName(r.scope));
  if (r.src !== undefined) parts.push('src', r.src);
  if (r.metric !== 0) parts.push('metric', String(r.metric));
  if (r.onlink) parts.push('onlink');
  if (opts.linkdown) parts.push('linkdown');
  return parts.join(' ');
}

/** `10.244.2.7 & 255.255.255.0 = 10.244.2.0`: why a prefix matched. */
export function explainMatch(dst: Ipv4, r: Route): string {
  const mask = maskOf(r.dst.prefix);
  return `${dst} & ${intToIp(mask)} = ${intToIp((u32(dst) & mask) >>> 0)}`;
}

/** `ip rule show` line (without the tab after the colon): `32766:\tfrom all lookup main`. */
export function formatRule(rule: PolicyRule): string {
  const parts: string[] = [];
  if (rule.invert) parts.push('not');
  parts.push(
    'from',
    rule.from ? (formatDst(rule.from) === 'default' ? 'all' : formatCidrBare(rule.from)) : 'all',
  );
  if (rule.to) parts.push('to', formatCidrBare(rule.to));
  if (rule.fwmark) {
    parts.push(
      'fwmark',
      rule.fwmark.mask === 0xffffffff
        ? `0x${rule.fwmark.value.toString(16)}`
        : `0x${rule.fwmark.value.toString(16)}/0x${rule.fwmark.mask.toString(16)}`,
    );
  }
  if (rule.iif !== undefined) parts.push('iif', rule.iif);
  if (rule.oif !== undefined) parts.push('oif', rule.oif);
  switch (rule.action.kind) {
    case 'lookup':
      parts.push('lookup', tableName(rule.action.table));
      break;
    default:
      parts.push(rule.action.kind);
  }
  return `${rule.priority}:\t${parts.join(' ')}`;
}

function formatCidrBare(c: Cidr): string {
  return c.prefix === 32 ? c.network : `${c.network}/${c.prefix}`;
}

/** Route scopes (RT_SCOPE_*), of routes and of addresses. */
export const RT_SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;

export function scopeName(scope: number): string {
  switch (scope) {
    case 0:
      return 'global';
    case 200:
      return 'site';
    case 253:
      return 'link';
    case 254:
      return 'host';
    case 255:
      return 'nowhere';
    default:
      return String(scope);
  }
}

export function parseScope(s: string | number): number {
  if (typeof s === 'number') return s;
  switch (s) {
    case 'global':
    case 'universe':
      return 0;
    case 'site':
      return 200;
    case 'link':
      return 253;
    case 'host':
      return 254;
    case 'nowhere':
      return 255;
    default:
      if (/^\d+$/.test(s) && Number(s) <= 255) return Number(s);
      throw kernelError('EINVAL', `Error: argument "${s}" is wrong: invalid scope value.`);
  }
}

/** The routing decision for a packet leaving through a device (`struct rtable`). */
export interface OutRoute {
  readonly type: 'unicast' | 'local' | 'broadcast';
  readonly dev: string;
  readonly gateway?: Ipv4;
  readonly src?: Ipv4;
  readonly route?: Route;
  readonly table?: number;
}

/** What ip_route_output is asked (`struct flowi4`). */
export interface OutputFlow {
  readonly dst: Ipv4;
  readonly src?: Ipv4;
  readonly oif?: string;
  readonly mark?: number;
  readonly tos?: number;
  /** IP_TRANSPARENT / raw socket: the source need not be local. */
  readonly anySource?: boolean;
}

/** ip_route_output's answer: the route, or why there is none. */
export type OutputRouteResult =
  | {
      readonly ok: true;
      readonly rt: OutRoute;
      readonly explain: string;
      readonly rule?: PolicyRule;
    }
  | {
      readonly ok: false;
      readonly reason: DropReason;
      readonly errno: string;
      readonly explain: string;
    };
