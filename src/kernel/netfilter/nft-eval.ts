/**
 * nftables expressions compiled to closures over the same per-packet
 * context the iptables engine uses (`EvalCtx`): selectors read the packet
 * (payload), its metadata (meta), conntrack (ct), the routing table (fib)
 * or chance (numgen); matches compare or look up; statements act. One
 * compiled expression answers `BREAK` (the rule stops: NFT_BREAK), `NEXT`
 * (go on to the next expression) or a verdict.
 *
 * The selectors are nft-read.ts. A field the kernel reads but packeteye
 * cannot know (an ICMP message's checksum under `th dport`) is `Unread`: a
 * comparison or lookup that the other fields already decide is decided
 * (kube-proxy's `ip daddr . meta l4proto . th dport` maps hold no ICMP key,
 * so an ICMP packet misses them), anything else is UNSUPPORTED naming it.
 */
import { intToIp } from '../../wire/addr.js';
import { packetLength } from '../../wire/index.js';
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
import {
  BREAK,
  compileSelector,
  NEXT,
  Unread,
  type CExpr,
  type ExprResult,
  type NftCtx,
  type Reader,
} from './nft-read.js';
import { setCtMark } from './target-mark.js';
import { doNat, masqueradeTo, redirectTo } from './target-nat.js';

export {
  BREAK,
  compileSelector,
  FIB_TYPES,
  NEXT,
  NFT_CT_STATE,
  NftState,
  type CExpr,
  type ExprResult,
  type NftCtx,
} from './nft-read.js';

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

  /**
   * Whether an element could match `values` whatever the unread components
   * hold (dynamic elements are not scanned: any makes it possible).
   */
  mayFind(values: readonly (NftScalar | Unread)[], x: NftCtx): boolean {
    if ((x.state.dynamic.get(this.set)?.size ?? 0) > 0) return true;
    return this.set.elements.some(
      (e) =>
        e.key.length === values.length &&
        e.key.every((a, i) => values[i] instanceof Unread || atomHas(a, values[i]!)),
    );
  }
}

/** Resolves `@name` in the rule's table. */
export type SetResolver = (name: string) => SetIndex | undefined;

/** The selectors' values; null when one cannot be read (the rule breaks). */
function readAll(readers: readonly Reader[], c: EvalCtx, x: NftCtx): (NftScalar | Unread)[] | null {
  const out: (NftScalar | Unread)[] = [];
  for (const r of readers) {
    const v = r(c, x);
    if (v === null) return null;
    out.push(v);
  }
  return out;
}

function unreadOf(vs: readonly (NftScalar | Unread)[]): Unread | undefined {
  for (const v of vs) if (v instanceof Unread) return v;
  return undefined;
}

/** Known values only: the caller has checked there is no unread one. */
const known = (vs: readonly (NftScalar | Unread)[]) => vs as readonly NftScalar[];

const undecided = (u: Unread): ExprResult => ({
  kind: 'result',
  result: { kind: 'UNSUPPORTED', what: u.what },
  via: u.what,
});

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
    case 'cmp':
      return compileCmp(e);
    case 'lookup': {
      const left = compileLeft(e.left);
      if (typeof left === 'string') return unsupported(left);
      const ix = resolveSet(e.set, sets);
      if (typeof ix === 'string') return unsupported(ix);
      const inv = e.invert;
      return (x) => {
        const vs = readAll(left, x.c, x);
        if (vs === null) return BREAK;
        const u = unreadOf(vs);
        if (u) return ix.mayFind(vs, x) ? undecided(u) : inv ? NEXT : BREAK;
        return (ix.find(known(vs), x) !== undefined) !== inv ? NEXT : BREAK;
      };
    }
    case 'vmap': {
      const left = compileLeft(e.left);
      if (typeof left === 'string') return unsupported(left);
      const ix = resolveSet(e.map, sets);
      if (typeof ix === 'string') return unsupported(ix);
      const name = e.map.kind === 'named' ? `@${e.map.name}` : 'anonymous map';
      return (x) => {
        const read = readAll(left, x.c, x);
        if (read === null) return BREAK;
        const u = unreadOf(read);
        if (u) return ix.mayFind(read, x) ? undecided(u) : BREAK;
        const vs = known(read);
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
    case 'quota':
      return (x) => {
        // nft_quota (Linux 6.18): the packet's bytes are counted, then over = consumed > quota.
        let st = x.state.quota.get(e);
        if (!st) {
          x.state.written = true;
          x.state.quota.set(e, (st = { consumed: e.used }));
        }
        st.consumed += skbLength(x.c);
        return st.consumed > e.bytes !== e.over ? BREAK : NEXT;
      };
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
        const u = unreadOf(vs);
        if (u) return undecided(u);
        let m = x.state.dynamic.get(ix.set);
        if (!m) {
          x.state.written = true;
          x.state.dynamic.set(ix.set, (m = new Map()));
        }
        const k = keyOf(known(vs));
        const exp = ttl === undefined ? Infinity : x.c.now + ttl;
        if (e.op === 'update' || !m.has(k) || m.get(k)! <= x.c.now) m.set(k, exp);
        return NEXT;
      };
    }
    case 'unsupported':
      return unsupported(`expression not modelled: ${e.text}`);
  }
}

/** `SELECTOR [op] VALUE`. */
function compileCmp(e: Extract<NftExpr, { kind: 'cmp' }>): CExpr {
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
    for (const a of right) if (a.kind === 'value' && typeof a.value === 'number') mask |= a.value;
    return (x) => {
      const v = left[0]!(x.c, x);
      if (v === null) return BREAK;
      if (v instanceof Unread) return undecided(v);
      const any = ((v as number) & mask) !== 0;
      return any === (op === '==') ? NEXT : BREAK;
    };
  }
  return (x) => {
    const vs = readAll(left, x.c, x);
    if (vs === null) return BREAK;
    const u = unreadOf(vs);
    if (op === '==' || op === '!=') {
      const differs =
        vs.length !== right.length ||
        right.some((a, i) => !(vs[i] instanceof Unread) && !atomHas(a, vs[i] as NftScalar));
      // A field that already differs decides it, whatever the unread one holds.
      if (u && !differs) return undecided(u);
      return !differs === (op === '==') ? NEXT : BREAK;
    }
    if (u) return undecided(u);
    const r = right[0];
    return r?.kind === 'value' && compare(op, vs[0] as NftScalar, r.value) ? NEXT : BREAK;
  };
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

/** skb->len at an IP hook: the IP packet's total length. */
function skbLength(c: EvalCtx): number {
  return packetLength(c.packet) + (c.v6 ? 20 : 0);
}

/**
 * nft_limit's token bucket, in seconds of credit: a packet costs per/rate
 * (per × length / rate for a byte limit); the bucket holds per/rate × burst
 * (per × (rate + burst) / rate for bytes) and starts full.
 */
function compileLimit(e: Extract<NftExpr, { kind: 'limit' }>): CExpr {
  const max = e.bytes ? (e.per * (e.rate + e.burst)) / e.rate : (e.per / e.rate) * (e.burst || 5);
  return (x) => {
    const now = x.c.now;
    let st = x.state.limit.get(e);
    if (!st) {
      x.state.written = true;
      x.state.limit.set(e, (st = { credit: max, prev: now }));
    }
    const credit = Math.min(max, st.credit + (now - st.prev));
    const cost = e.bytes ? (e.per * skbLength(x.c)) / e.rate : e.per / e.rate;
    st.prev = now;
    const within = credit >= cost;
    st.credit = within ? credit - cost : credit;
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
    if (v instanceof Unread) return undecided(v);
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
        const u = unreadOf(vs);
        if (u) return mix.mayFind(vs, x) ? undecided(u) : BREAK;
        const el = mix.find(known(vs), x);
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
