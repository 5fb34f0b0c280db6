/**
 * nftables expressions compiled to closures over the same per-packet
 * context the iptables engine uses (`EvalCtx`): selectors read the packet
 * (payload), its metadata (meta), conntrack (ct), the routing table (fib)
 * or chance (numgen); matches compare or look up; statements act. One
 * compiled expression answers `BREAK` (the rule stops: NFT_BREAK), `NEXT`
 * (go on to the next expression) or a verdict.
 *
 * Fidelity notes: `th sport/dport` of a packet without ports (ICMP) read as
 * absent, so the rule breaks (the kernel reads the ICMP header's bytes
 * there; kube-proxy's maps hold only TCP, UDP and SCTP keys, so no element
 * can match either way). `fib … oif`/`oifname` need the host's routes and
 * are reported as undecided. `numgen random mod N` takes each value with
 * probability 1/N from the Chooser (as N-1 chained chances, so `--all-paths`
 * enumerates N branches).
 */
import { intToIp } from '../../wire/addr.js';
import { IPS } from '../conntrack/entry.js';
import type { RuleRef } from './env.js';
import type { EvalCtx, TargetResult } from './eval.js';
import type {
  NftAtom,
  NftElement,
  NftExpr,
  NftScalar,
  NftSet,
  NftVerdict,
  Selector,
  SetRef,
} from './nft-types.js';
import { setCtMark } from './target-mark.js';
import { doNat, masqueradeTo, redirectTo } from './target-nat.js';

/** The ruleset-wide state nft expressions keep between packets: dynamic set contents, counters, limits. */
export class NftState {
  /** Elements added by `update @set`/`add @set`: key → expiry time (Infinity without a timeout). */
  readonly dynamic = new Map<NftSet, Map<string, number>>();
  readonly inc = new WeakMap<object, { n: number }>();
  readonly limit = new WeakMap<object, { credit: number; prev: number }>();
}

export type ExprResult =
  | { readonly kind: 'BREAK' }
  | { readonly kind: 'NEXT' }
  | { readonly kind: 'verdict'; readonly verdict: NftVerdict; readonly via?: string }
  | { readonly kind: 'result'; readonly result: TargetResult; readonly via: string };

export const BREAK: ExprResult = { kind: 'BREAK' };
export const NEXT: ExprResult = { kind: 'NEXT' };

/** What a compiled expression sees besides the packet: the rule, and where the walk is. */
export interface NftCtx {
  readonly c: EvalCtx;
  readonly ref: RuleRef;
  readonly state: NftState;
  /** The base chain's type: nat statements only work under a `type nat` chain. */
  readonly chainType: 'filter' | 'nat' | 'route';
}

export type CExpr = (x: NftCtx) => ExprResult;

/** A value a selector could not read (no such header): the rule breaks. */
const ABSENT = null;

/** nft's ct state bits (NF_CT_STATE_*_BIT). */
export const NFT_CT_STATE = {
  invalid: 1,
  established: 2,
  related: 4,
  new: 8,
  untracked: 64,
} as const;

function ctStateBits(c: EvalCtx): number {
  const ct = c.ct;
  if (ct.kind === 'none') return NFT_CT_STATE.invalid;
  if (ct.kind === 'untracked') return NFT_CT_STATE.untracked;
  switch (ct.ctinfo) {
    case 'NEW':
      return NFT_CT_STATE.new;
    case 'RELATED':
    case 'RELATED_REPLY':
      return NFT_CT_STATE.related;
    default:
      return NFT_CT_STATE.established;
  }
}

/** RTN_* route types, as `fib … type` answers them. */
export const FIB_TYPES: Readonly<Record<string, number>> = {
  UNSPEC: 0,
  UNICAST: 1,
  LOCAL: 2,
  BROADCAST: 3,
  ANYCAST: 4,
  MULTICAST: 5,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
  THROW: 9,
  NAT: 10,
  XRESOLVE: 11,
};

const TRANSPORT: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

type Reader = (c: EvalCtx, x: NftCtx) => NftScalar | null;

/** A selector compiled to a reader; a string when packeteye cannot read it (unsupported). */
export function compileSelector(s: Selector): Reader | string {
  switch (s.kind) {
    case 'payload':
      return payloadReader(s.proto, s.field);
    case 'meta':
      return metaReader(s.key);
    case 'ct':
      return ctReader(s);
    case 'fib': {
      if (s.result !== 'type') return `fib ${s.flags.join(' . ')} ${s.result}`;
      const useDaddr = s.flags.includes('daddr');
      const dev = s.flags.includes('iif') ? 'in' : s.flags.includes('oif') ? 'out' : null;
      return (c) => {
        const ip = useDaddr ? c.packet.ip.dst : c.packet.ip.src;
        const t =
          dev === null
            ? c.env.addrType(ip)
            : c.env.addrType(ip, dev === 'in' ? c.inIface : c.outIface);
        return FIB_TYPES[t] ?? 0;
      };
    }
    case 'numgen': {
      const { mod, offset } = s;
      if (s.mode === 'inc') {
        return (_c, x) => {
          let st = x.state.inc.get(s);
          if (!st) x.state.inc.set(s, (st = { n: 0 }));
          const v = st.n % mod;
          st.n++;
          return v + offset;
        };
      }
      return (c) => {
        // Uniform over 0..mod-1 as a chain of chances: value k with 1/(mod-k) given not below k.
        for (let k = 0; k < mod - 1; k++) {
          if (
            c.chooser.chance(1 / (mod - k), `${c.label}: numgen random mod ${mod} = ${k + offset}`)
          )
            return k + offset;
        }
        return mod - 1 + offset;
      };
    }
    case 'bitwise': {
      const inner = compileSelector(s.inner);
      if (typeof inner === 'string') return inner;
      const v = s.value;
      return (c, x) => {
        const r = inner(c, x);
        if (typeof r !== 'number') return r;
        return (s.op === 'and' ? r & v : s.op === 'or' ? r | v : r ^ v) >>> 0;
      };
    }
  }
}

function payloadReader(proto: string, field: string): Reader | string {
  if (proto === 'ip') {
    switch (field) {
      case 'saddr':
        return (c) => (c.v6 ? ABSENT : c.src >>> 0);
      case 'daddr':
        return (c) => (c.v6 ? ABSENT : c.dst >>> 0);
      case 'protocol':
        return (c) => (c.v6 ? ABSENT : c.proto);
      case 'ttl':
        return (c) => (c.v6 ? ABSENT : c.packet.ip.ttl);
    }
  } else if (proto === 'ip6') {
    switch (field) {
      case 'saddr':
        return (c) => (c.v6 ? c.src6 : ABSENT);
      case 'daddr':
        return (c) => (c.v6 ? c.dst6 : ABSENT);
      case 'nexthdr':
        return (c) => (c.v6 ? c.proto : ABSENT);
    }
  } else if (proto === 'icmp' || proto === 'icmpv6') {
    const want = proto === 'icmp' ? 1 : 58;
    if (field === 'type') return (c) => (c.proto === want ? c.icmpType : ABSENT);
    if (field === 'code') return (c) => (c.proto === want ? c.icmpCode : ABSENT);
  } else {
    const want = proto === 'th' ? -1 : TRANSPORT[proto];
    if (want === undefined) return `${proto} ${field}`;
    const ok = (c: EvalCtx) => (want === -1 ? c.sport >= 0 : c.proto === want);
    switch (field) {
      case 'sport':
        return (c) => (ok(c) ? c.sport : ABSENT);
      case 'dport':
        return (c) => (ok(c) ? c.dport : ABSENT);
      case 'flags':
        if (proto === 'tcp') return (c) => (c.proto === 6 ? c.tcpFlags : ABSENT);
    }
  }
  return `${proto} ${field}`;
}

function metaReader(key: string): Reader | string {
  switch (key) {
    case 'l4proto':
      return (c) => c.proto;
    case 'mark':
      return (c) => c.mark >>> 0;
    case 'iifname':
    case 'iif':
      return (c) => c.inIface;
    case 'oifname':
    case 'oif':
      return (c) => c.outIface;
    case 'nfproto':
      return (c) => (c.v6 ? 10 : 2);
    case 'protocol':
      return (c) => (c.v6 ? 0x86dd : 0x0800);
  }
  return `meta ${key}`;
}

function ctReader(s: Extract<Selector, { kind: 'ct' }>): Reader | string {
  switch (s.key) {
    case 'state':
      return (c) => ctStateBits(c);
    case 'status':
      return (c) => (c.ct.kind === 'tracked' ? c.ct.entry.status & ~IPS.UNTRACKED : ABSENT);
    case 'mark':
      return (c) => (c.ct.kind === 'tracked' ? c.ct.entry.mark >>> 0 : ABSENT);
    case 'direction':
      return (c) => (c.ct.kind === 'tracked' ? (c.ct.ctinfo.endsWith('REPLY') ? 1 : 0) : ABSENT);
    case 'saddr':
    case 'daddr':
    case 'proto-src':
    case 'proto-dst': {
      const dir = s.dir ?? 'original';
      return (c) => {
        if (c.ct.kind !== 'tracked') return ABSENT;
        const t = dir === 'original' ? c.ct.entry.original : c.ct.entry.reply;
        if (s.key === 'saddr' || s.key === 'daddr') {
          const ip = s.key === 'saddr' ? t.src : t.dst;
          return ip.indexOf(':') >= 0 ? ABSENT : ipv4Number(ip);
        }
        const p = s.key === 'proto-src' ? t.sport : t.dport;
        return p ?? ABSENT;
      };
    }
  }
  return `ct ${s.dir ? `${s.dir} ` : ''}${s.key}`;
}

function ipv4Number(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

/** The hash key of exact values (one per key component). */
export function keyOf(values: readonly NftScalar[]): string {
  return values.length === 1 ? String(values[0]) : values.map(String).join('\u0000');
}

function atomHas(a: NftAtom, v: NftScalar): boolean {
  switch (a.kind) {
    case 'value':
      return a.value === v;
    case 'range':
      return typeof v !== 'string' && (a.from as number) <= v && v <= (a.to as number);
    case 'wildcard':
      return typeof v === 'string' && v.startsWith(a.prefix);
  }
}

/** A set's elements indexed: exact keys hashed, intervals and wildcards scanned in order. */
export class SetIndex {
  private readonly exact = new Map<string, NftElement>();
  private readonly others: NftElement[] = [];

  constructor(readonly set: NftSet) {
    for (const e of set.elements) {
      if (e.key.every((a) => a.kind === 'value')) {
        const k = keyOf(e.key.map((a) => (a as { value: NftScalar }).value));
        if (!this.exact.has(k)) this.exact.set(k, e);
      } else this.others.push(e);
    }
  }

  find(values: readonly NftScalar[], x: NftCtx): NftElement | undefined {
    const k = keyOf(values);
    const hit = this.exact.get(k);
    if (hit) return hit;
    for (const e of this.others) {
      if (e.key.length === values.length && e.key.every((a, i) => atomHas(a, values[i]!))) return e;
    }
    const dyn = x.state.dynamic.get(this.set);
    if (dyn) {
      const exp = dyn.get(k);
      if (exp !== undefined && exp > x.c.now)
        return { key: values.map((v) => ({ kind: 'value', value: v })) };
    }
    return undefined;
  }
}

/** Resolves `@name` in the rule's table. */
export type SetResolver = (name: string) => SetIndex | undefined;

function readAll(readers: readonly Reader[], c: EvalCtx, x: NftCtx): NftScalar[] | null {
  const out: NftScalar[] = [];
  for (const r of readers) {
    const v = r(c, x);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

function compileLeft(left: readonly Selector[]): Reader[] | string {
  const out: Reader[] = [];
  for (const s of left) {
    const r = compileSelector(s);
    if (typeof r === 'string') return r;
    out.push(r);
  }
  return out;
}

function resolveSet(ref: SetRef, sets: SetResolver): SetIndex | string {
  if (ref.kind === 'anonymous') return new SetIndex(ref.set);
  return sets(ref.name) ?? `@${ref.name}: no such set in this table`;
}

const unsupported =
  (what: string): CExpr =>
  () => ({ kind: 'result', result: { kind: 'UNSUPPORTED', what }, via: what });

function compare(op: string, a: NftScalar, b: NftScalar): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
  }
  return false;
}

/** One expression of a rule, compiled. */
export function compileExpr(e: NftExpr, sets: SetResolver): CExpr {
  switch (e.kind) {
    case 'cmp': {
      const chance = randomChance(e);
      if (chance !== null) {
        // iptables-nft's `-m statistic --mode random`: `meta random & 2147483647 < T`.
        return (x) =>
          x.c.chooser.chance(chance, `${x.c.label}: meta random (p=${chance})`) ? NEXT : BREAK;
      }
      const left = compileLeft(e.left);
      if (typeof left === 'string') return unsupported(left);
      const right = e.right;
      const { op, flags } = e;
      if (flags) {
        let mask = 0;
        for (const a of right)
          if (a.kind === 'value' && typeof a.value === 'number') mask |= a.value;
        return (x) => {
          const v = left[0]!(x.c, x);
          if (v === null) return BREAK;
          const any = ((v as number) & mask) !== 0;
          return any === (op === '==') ? NEXT : BREAK;
        };
      }
      return (x) => {
        const vs = readAll(left, x.c, x);
        if (vs === null) return BREAK;
        let eq: boolean;
        if (op === '==' || op === '!=') {
          eq = vs.length === right.length && right.every((a, i) => atomHas(a, vs[i]!));
          return eq === (op === '==') ? NEXT : BREAK;
        }
        const r = right[0];
        return r?.kind === 'value' && compare(op, vs[0]!, r.value) ? NEXT : BREAK;
      };
    }
    case 'lookup': {
      const left = compileLeft(e.left);
      if (typeof left === 'string') return unsupported(left);
      const ix = resolveSet(e.set, sets);
      if (typeof ix === 'string') return unsupported(ix);
      const inv = e.invert;
      return (x) => {
        const vs = readAll(left, x.c, x);
        if (vs === null) return BREAK;
        return (ix.find(vs, x) !== undefined) !== inv ? NEXT : BREAK;
      };
    }
    case 'vmap': {
      const left = compileLeft(e.left);
      if (typeof left === 'string') return unsupported(left);
      const ix = resolveSet(e.map, sets);
      if (typeof ix === 'string') return unsupported(ix);
      const name = e.map.kind === 'named' ? `@${e.map.name}` : 'anonymous map';
      return (x) => {
        const vs = readAll(left, x.c, x);
        if (vs === null) return BREAK;
        const el = ix.find(vs, x);
        if (!el?.verdict) return BREAK;
        return {
          kind: 'verdict',
          verdict: el.verdict,
          via: `vmap ${name}: ${vs.map((v, i) => formatScalar(v, e.left[i]!)).join(' . ')} : ${verdictText(el.verdict)}`,
        };
      };
    }
    case 'verdict':
      return () => ({ kind: 'verdict', verdict: e.verdict });
    case 'counter':
      return () => NEXT;
    case 'log':
      return (x) => {
        x.c.notes.push({
          ref: x.ref,
          text: `log${e.prefix !== undefined ? ` prefix "${e.prefix}"` : ''}`,
        });
        return NEXT;
      };
    case 'notrack':
      return (x) => {
        // nft_notrack_eval: only before conntrack has attached an entry.
        if (x.c.ct.kind === 'none') x.c.ct = { kind: 'untracked' };
        return NEXT;
      };
    case 'limit':
      return compileLimit(e);
    case 'reject':
      return (x) => {
        const w = rejectWith(e.with, x.c);
        return {
          kind: 'result',
          result: { kind: 'REJECT', with: w },
          via: `reject${e.with ? ` with ${e.with.type === 'tcp-reset' ? 'tcp reset' : `${e.with.type} ${e.with.code}`}` : ''}`,
        };
      };
    case 'set-mark':
      return compileSetMark(e);
    case 'nat':
      return compileNatExpr(e, sets);
    case 'set-update': {
      const left = compileLeft(e.key);
      if (typeof left === 'string') return unsupported(left);
      const ix = sets(e.set);
      if (!ix) return unsupported(`@${e.set}: no such set in this table`);
      const ttl = e.timeout ?? ix.set.timeout;
      return (x) => {
        const vs = readAll(left, x.c, x);
        if (vs === null) return BREAK;
        let m = x.state.dynamic.get(ix.set);
        if (!m) x.state.dynamic.set(ix.set, (m = new Map()));
        const k = keyOf(vs);
        const exp = ttl === undefined ? Infinity : x.c.now + ttl;
        if (e.op === 'update' || !m.has(k) || m.get(k)! <= x.c.now) m.set(k, exp);
        return NEXT;
      };
    }
    case 'unsupported':
      return unsupported(`expression not modelled: ${e.text}`);
  }
}

/** `meta random & M < V` (and `<=`): true with probability V/(M+1) (or (V+1)/(M+1)); null for any other cmp. */
function randomChance(e: Extract<NftExpr, { kind: 'cmp' }>): number | null {
  const l = e.left[0];
  const r = e.right[0];
  if (e.left.length !== 1 || l?.kind !== 'bitwise' || l.op !== 'and') return null;
  if (l.inner.kind !== 'meta' || l.inner.key !== 'random') return null;
  if (r?.kind !== 'value' || typeof r.value !== 'number') return null;
  const span = l.value + 1;
  if (e.op === '<') return Math.min(1, r.value / span);
  if (e.op === '<=') return Math.min(1, (r.value + 1) / span);
  return null;
}

function compileLimit(e: Extract<NftExpr, { kind: 'limit' }>): CExpr {
  const perSecond = e.rate / e.per;
  const burst = Math.max(1, e.burst);
  return (x) => {
    const now = x.c.now;
    let st = x.state.limit.get(e);
    if (!st) x.state.limit.set(e, (st = { credit: burst, prev: now }));
    st.credit = Math.min(burst, st.credit + (now - st.prev) * perSecond);
    st.prev = now;
    const within = st.credit >= 1;
    if (within) st.credit -= 1;
    return within !== e.over ? NEXT : BREAK;
  };
}

function compileSetMark(e: Extract<NftExpr, { kind: 'set-mark' }>): CExpr {
  let from: Reader | null = null;
  if (e.value.kind === 'expr') {
    const r = compileSelector(e.value.from);
    if (typeof r === 'string') return unsupported(r);
    from = r;
  }
  const constant = e.value.kind === 'const' ? e.value.value : 0;
  return (x) => {
    const v = from ? from(x.c, x) : constant;
    if (v === null) return BREAK;
    const n = Number(v) >>> 0;
    if (e.target === 'meta') x.c.mark = n;
    else setCtMark(x.c, n);
    return NEXT;
  };
}

/** nft_reject: the ICMP or TCP answer, in the names the engine's REJECT uses. */
function rejectWith(w: Extract<NftExpr, { kind: 'reject' }>['with'], c: EvalCtx): string {
  if (!w) return c.v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
  if (w.type === 'tcp-reset') return 'tcp-reset';
  const code = w.code;
  if (c.v6) {
    const six: Record<string, string> = {
      'no-route': 'icmp6-no-route',
      'admin-prohibited': 'icmp6-adm-prohibited',
      'addr-unreachable': 'icmp6-addr-unreachable',
      'host-unreachable': 'icmp6-addr-unreachable',
      'port-unreachable': 'icmp6-port-unreachable',
    };
    return six[code] ?? 'icmp6-port-unreachable';
  }
  const four: Record<string, string> = {
    'net-unreachable': 'icmp-net-unreachable',
    'no-route': 'icmp-net-unreachable',
    'host-unreachable': 'icmp-host-unreachable',
    'prot-unreachable': 'icmp-proto-unreachable',
    'port-unreachable': 'icmp-port-unreachable',
    'net-prohibited': 'icmp-net-prohibited',
    'host-prohibited': 'icmp-host-prohibited',
    'admin-prohibited': 'icmp-admin-prohibited',
  };
  return four[code] ?? 'icmp-port-unreachable';
}

const NAT_HOOKS: Readonly<Record<string, readonly string[]>> = {
  dnat: ['PREROUTING', 'OUTPUT'],
  redirect: ['PREROUTING', 'OUTPUT'],
  snat: ['POSTROUTING', 'INPUT'],
  masquerade: ['POSTROUTING'],
};

function compileNatExpr(e: Extract<NftExpr, { kind: 'nat' }>, sets: SetResolver): CExpr {
  const text = natText(e);
  const mapped = e.map ? compileLeft(e.map.left) : null;
  if (typeof mapped === 'string') return unsupported(mapped);
  const mix = e.map ? resolveSet(e.map.set, sets) : null;
  if (typeof mix === 'string') return unsupported(mix);
  const random = e.flags.includes('random');
  const fully = e.flags.includes('fully-random');
  const persistent = e.flags.includes('persistent');
  const kind =
    e.type === 'dnat'
      ? 'DNAT'
      : e.type === 'snat'
        ? 'SNAT'
        : e.type === 'masquerade'
          ? 'MASQUERADE'
          : 'REDIRECT';
  return (x) => {
    const c = x.c;
    if (x.chainType !== 'nat' || !NAT_HOOKS[e.type]!.includes(c.hook)) {
      return {
        kind: 'result',
        result: {
          kind: 'UNSUPPORTED',
          what: `${e.type} outside a nat chain of its hooks (nft would refuse the rule)`,
        },
        via: text,
      };
    }
    const ports = e.port ? { minPort: e.port.from, maxPort: e.port.to } : {};
    let res: TargetResult;
    if (e.type === 'masquerade')
      res = masqueradeTo(c, x.ref, { ...ports, random, randomFully: fully });
    else if (e.type === 'redirect') res = redirectTo(c, x.ref, { ...ports, random });
    else {
      let addr = e.addr;
      let port = ports;
      if (mapped && mix) {
        const vs = readAll(mapped, c, x);
        if (vs === null) return BREAK;
        const el = mix.find(vs, x);
        // nft_lookup with a map: no element, no data: the rule breaks.
        if (!el?.data) return BREAK;
        const a = el.data[0];
        if (a?.kind === 'value' && typeof a.value === 'number')
          addr = { from: intToIp(a.value), to: intToIp(a.value) };
        const p = el.data[1];
        if (p?.kind === 'value' && typeof p.value === 'number')
          port = { minPort: p.value, maxPort: p.value };
      }
      const range = {
        ...(addr ? { minAddr: addr.from, maxAddr: addr.to } : {}),
        ...port,
        random,
        ...(e.type === 'snat' ? { randomFully: fully } : {}),
        persistent,
      };
      res = doNat(c, x.ref, range, e.type === 'dnat' ? 'DST' : 'SRC', kind);
    }
    return { kind: 'result', result: res, via: text };
  };
}

function natText(e: Extract<NftExpr, { kind: 'nat' }>): string {
  const addr = e.addr
    ? e.addr.from === e.addr.to
      ? e.addr.from
      : `${e.addr.from}-${e.addr.to}`
    : '';
  const port = e.port
    ? `:${e.port.from === e.port.to ? e.port.from : `${e.port.from}-${e.port.to}`}`
    : '';
  const to = addr || port ? ` to ${addr}${port}` : e.map ? ' to map' : '';
  return `${e.type}${to}${e.flags.length ? ` ${e.flags.join(',')}` : ''}`;
}

export function verdictText(v: NftVerdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.chain}` : v.kind;
}

/** A looked-up value as nft prints it (addresses dotted, the rest as numbers). */
function formatScalar(v: NftScalar, s: Selector): string {
  if (
    typeof v === 'number' &&
    s.kind === 'payload' &&
    (s.field === 'saddr' || s.field === 'daddr') &&
    s.proto === 'ip'
  )
    return intToIp(v);
  if (typeof v === 'number' && s.kind === 'meta' && s.key === 'l4proto')
    return (
      ({ 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp' } as Record<number, string>)[v] ?? String(v)
    );
  return String(v);
}
