/**
 * One nft rule's expressions, read from its tokens: matches (`ip daddr
 * 10.0.0.1`, `ct state new`, `ip daddr . meta l4proto . th dport vmap
 * @service-ips`) and statements (`mark set mark or 0x4000`, `dnat to
 * 10.0.0.1:80`, `masquerade fully-random`, `reject`, verdicts). Literals are
 * typed by the selector they meet (values.ts). Anything not understood
 * becomes one `unsupported` expression holding the rest of the rule, so a
 * packet that reaches it is UNSUPPORTED and one that breaks earlier is not.
 */
import type {
  NftAtom,
  NftElement,
  NftExpr,
  NftSet,
  NftType,
  NftVerdict,
  Selector,
  SetRef,
} from '../../kernel/netfilter/nft-types.js';
import type { Tok } from './tokenize.js';
import { byteUnit, FLAG_TYPES, parseAtom, parseDuration, TIME_UNITS, typeOf } from './values.js';

export class RuleError extends Error {
  constructor(
    message: string,
    readonly tok?: Tok,
  ) {
    super(message);
  }
}

/** A cursor over a slice of tokens (line ends already removed). */
export class Cursor {
  i = 0;
  constructor(readonly toks: readonly Tok[]) {}
  peek(k = 0): Tok | undefined {
    return this.toks[this.i + k];
  }
  word(k = 0): string | undefined {
    const t = this.peek(k);
    return t && (t.kind === 'word' || t.kind === 'string') ? t.text : undefined;
  }
  is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind !== 'string' && t.text === text;
  }
  next(): Tok {
    const t = this.toks[this.i++];
    if (!t) throw new RuleError('unexpected end of rule', this.toks[this.toks.length - 1]);
    return t;
  }
  expect(text: string): Tok {
    const t = this.next();
    if (t.text !== text || t.kind === 'string')
      throw new RuleError(`expected "${text}", found "${t.text}"`, t);
    return t;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
}

const PAYLOAD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  ip: ['saddr', 'daddr', 'protocol', 'ttl'],
  ip6: ['saddr', 'daddr', 'nexthdr'],
  tcp: ['sport', 'dport', 'flags'],
  udp: ['sport', 'dport'],
  sctp: ['sport', 'dport'],
  th: ['sport', 'dport'],
  icmp: ['type', 'code'],
  icmpv6: ['type', 'code'],
};

const META_KEYS = new Set([
  'l4proto',
  'mark',
  'iifname',
  'oifname',
  'iif',
  'oif',
  'nfproto',
  'protocol',
  'pkttype',
  'skuid',
  'skgid',
  'length',
  'priority',
  'iiftype',
  'oiftype',
  'cpu',
  'cgroup',
  'nftrace',
  'random',
]);
/** Meta keys nft accepts without `meta`. */
const BARE_META = new Set([
  'mark',
  'iifname',
  'oifname',
  'iif',
  'oif',
  'l4proto',
  'nfproto',
  'skuid',
  'skgid',
  'pkttype',
  'priority',
  'iiftype',
  'oiftype',
  'cpu',
  'cgroup',
]);
const CT_KEYS = new Set([
  'state',
  'status',
  'mark',
  'direction',
  'saddr',
  'daddr',
  'proto-src',
  'proto-dst',
  'expiration',
  'helper',
  'l3proto',
  'protocol',
  'zone',
  'label',
  'count',
  'id',
]);

function own<T>(o: Readonly<Record<string, T>>, k: string | undefined): T | undefined {
  return k !== undefined && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/** Whether the cursor stands at the start of a selector. */
export function atSelector(c: Cursor): boolean {
  const w = c.word();
  if (w === undefined || c.peek()?.kind === 'string') return false;
  const fields = own(PAYLOAD_FIELDS, w);
  if (fields) return c.word(1) !== undefined && fields.includes(c.word(1)!);
  return w === 'meta' || w === 'ct' || w === 'fib' || w === 'numgen' || BARE_META.has(w);
}

/**
 * Payload and meta selectors hold no state, so one object serves every rule
 * that reads the same field (numgen keeps its counter per expression and is
 * not shared). Built from the constant names, so no entry keeps a source
 * text alive.
 */
const PAYLOAD_SELECTORS = new Map<string, Map<string, Selector>>(
  Object.entries(PAYLOAD_FIELDS).map(([proto, fields]) => [
    proto,
    new Map(fields.map((field) => [field, { kind: 'payload', proto, field } as Selector])),
  ]),
);
const META_SELECTORS = new Map<string, Selector>(
  [...META_KEYS].map((key) => [key, { kind: 'meta', key }]),
);

function parseOne(c: Cursor): Selector {
  const t = c.next();
  const w = t.text;
  if (own(PAYLOAD_FIELDS, w)) {
    const f = c.next().text;
    return (
      PAYLOAD_SELECTORS.get(w)!.get(f) ?? {
        kind: 'payload',
        proto: w as Extract<Selector, { kind: 'payload' }>['proto'],
        field: f,
      }
    );
  }
  if (w === 'meta') {
    const k = c.next().text;
    if (!META_KEYS.has(k)) throw new RuleError(`meta ${k}: not a meta key packeteye reads`, t);
    return META_SELECTORS.get(k)!;
  }
  if (BARE_META.has(w)) return META_SELECTORS.get(w)!;
  if (w === 'ct') {
    let dir: 'original' | 'reply' | undefined;
    let family: 'ip' | 'ip6' | undefined;
    if (c.is('original') || c.is('reply')) dir = c.next().text as 'original' | 'reply';
    if (c.is('ip') || c.is('ip6')) family = c.next().text as 'ip' | 'ip6';
    const k = c.next().text;
    if (!CT_KEYS.has(k)) throw new RuleError(`ct ${k}: not a conntrack key`, t);
    return { kind: 'ct', key: k, ...(dir ? { dir } : {}), ...(family ? { family } : {}) };
  }
  if (w === 'fib') {
    const flags: ('saddr' | 'daddr' | 'iif' | 'oif' | 'mark')[] = [];
    for (;;) {
      const f = c.next().text;
      if (!['saddr', 'daddr', 'iif', 'oif', 'mark'].includes(f))
        throw new RuleError(`fib ${f}: expected saddr, daddr, iif, oif or mark`, t);
      flags.push(f as 'saddr');
      if (!c.is('.')) break;
      c.next();
    }
    const r = c.next().text;
    if (r !== 'type' && r !== 'oif' && r !== 'oifname')
      throw new RuleError(`fib … ${r}: expected type, oif or oifname`, t);
    return { kind: 'fib', flags, result: r };
  }
  if (w === 'numgen') {
    const mode = c.next().text;
    if (mode !== 'random' && mode !== 'inc')
      throw new RuleError(`numgen ${mode}: expected random or inc`, t);
    c.expect('mod');
    const mod = Number(c.next().text);
    let offset = 0;
    if (c.is('offset')) {
      c.next();
      offset = Number(c.next().text);
    }
    if (!Number.isInteger(mod) || mod < 1)
      throw new RuleError('numgen: mod must be a positive integer', t);
    return { kind: 'numgen', mode, mod, offset };
  }
  throw new RuleError(`"${w}" is not a selector`, t);
}

const BINOPS: Readonly<Record<string, 'and' | 'or' | 'xor'>> = {
  and: 'and',
  '&': 'and',
  or: 'or',
  '|': 'or',
  xor: 'xor',
  '^': 'xor',
};

/** `SEL [& N]` joined by `.` into a concatenation. */
export function parseSelectors(c: Cursor): Selector[] {
  const out: Selector[] = [];
  for (;;) {
    let s = parseOne(c);
    const op = c.peek()?.kind === 'word' ? own(BINOPS, c.word()) : undefined;
    if (op) {
      c.next();
      const v = parseAtom(c.next().text, 'integer');
      if (v?.kind !== 'value')
        throw new RuleError('expected a number after a bitwise operator', c.peek(-1));
      s = { kind: 'bitwise', inner: s, op, value: Number(v.value) };
    }
    out.push(s);
    if (!c.is('.')) return out;
    c.next();
  }
}

function atom(t: Tok, type: NftType): NftAtom {
  const a = parseAtom(t.text, type);
  if (!a) throw new RuleError(`"${t.text}" is not a value of type ${type}`, t);
  return a;
}

/** `accept`, `drop`, `jump CHAIN`, … at the cursor, or undefined. */
export function parseVerdict(c: Cursor): NftVerdict | undefined {
  const w = c.word();
  if (w === 'accept' || w === 'drop' || w === 'continue' || w === 'return') {
    c.next();
    return { kind: w };
  }
  if (w === 'jump' || w === 'goto') {
    c.next();
    return { kind: w, chain: c.next().text };
  }
  return undefined;
}

/** Elements inside `{ … }` for a key of `types` (and, for a map, data of `data`). */
export function parseElements(
  c: Cursor,
  types: readonly NftType[],
  data: readonly NftType[] | undefined,
  file: string | undefined,
): NftElement[] {
  c.expect('{');
  const out: NftElement[] = [];
  while (!c.is('}')) {
    if (c.is(',')) {
      c.next();
      continue;
    }
    const first = c.peek()!;
    const key: NftAtom[] = [];
    for (let k = 0; ; k++) {
      const ty = types[Math.min(k, types.length - 1)]!;
      const t = c.next();
      if (FLAG_TYPES.has(ty) && types.length === 1) {
        // `{ established, related }` lists flags one element each.
        key.push(atom(t, ty));
      } else key.push(atom(t, ty));
      if (!c.is('.')) break;
      c.next();
    }
    let comment: string | undefined;
    let timeout: number | undefined;
    while (c.is('comment') || c.is('timeout') || c.is('expires') || c.is('counter')) {
      const o = c.next().text;
      if (o === 'comment') comment = c.next().text;
      else if (o === 'counter') {
        if (c.is('packets')) c.i += 4;
      } else {
        const d = parseDuration(c.next().text);
        if (o === 'timeout' && d !== null) timeout = d;
      }
    }
    let verdict: NftVerdict | undefined;
    let dataAtoms: NftAtom[] | undefined;
    if (c.is(':')) {
      c.next();
      if (data && data[0] === 'verdict') {
        verdict = parseVerdict(c);
        if (!verdict) throw new RuleError(`expected a verdict after ":"`, c.peek());
      } else {
        dataAtoms = [];
        for (let k = 0; ; k++) {
          const ty = data?.[Math.min(k, data.length - 1)] ?? 'integer';
          dataAtoms.push(atom(c.next(), ty));
          if (!c.is('.')) break;
          c.next();
        }
      }
    }
    out.push({
      key,
      ...(verdict ? { verdict } : {}),
      ...(dataAtoms ? { data: dataAtoms } : {}),
      ...(comment !== undefined ? { comment } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
      source: file !== undefined ? { file, line: first.line } : { line: first.line },
    });
  }
  c.expect('}');
  return out;
}

function anonymous(
  c: Cursor,
  types: readonly NftType[],
  data: readonly NftType[] | undefined,
  file: string | undefined,
): SetRef {
  const line = c.peek()?.line;
  const elements = parseElements(c, types, data, file);
  const set: NftSet = {
    name: '',
    keyType: types,
    ...(data ? { dataType: data } : {}),
    flags: ['constant', 'anonymous'],
    elements,
    source: { ...(file !== undefined ? { file } : {}), ...(line !== undefined ? { line } : {}) },
  };
  return { kind: 'anonymous', set };
}

function setRef(
  c: Cursor,
  types: readonly NftType[],
  data: readonly NftType[] | undefined,
  file: string | undefined,
): SetRef {
  const t = c.peek();
  if (t?.text.startsWith('@')) {
    c.next();
    return { kind: 'named', name: t.text.slice(1) };
  }
  if (c.is('{')) return anonymous(c, types, data, file);
  throw new RuleError('expected @set or { … }', t);
}

const OPS: Readonly<Record<string, '==' | '!=' | '<' | '>' | '<=' | '>='>> = {
  '==': '==',
  eq: '==',
  '!=': '!=',
  ne: '!=',
  '<': '<',
  lt: '<',
  '>': '>',
  gt: '>',
  '<=': '<=',
  le: '<=',
  '>=': '>=',
  ge: '>=',
};

/** A match or `… set …` statement starting with selectors. */
function parseMatch(c: Cursor, file: string | undefined): NftExpr {
  const left = parseSelectors(c);
  const types = left.map(typeOf);
  if (c.is('set')) {
    c.next();
    const s = left[0]!;
    if (
      left.length !== 1 ||
      !((s.kind === 'meta' && s.key === 'mark') || (s.kind === 'ct' && s.key === 'mark'))
    ) {
      if (s.kind === 'meta' && s.key === 'nftrace') {
        c.next();
        return { kind: 'counter' };
      }
      throw new RuleError('only meta mark and ct mark can be set here', c.peek(-1));
    }
    const target = s.kind === 'meta' ? 'meta' : 'ct';
    if (atSelector(c)) {
      const [from] = parseSelectors(c);
      return { kind: 'set-mark', target, value: { kind: 'expr', from: from! } };
    }
    const v = atom(c.next(), 'mark');
    if (v.kind !== 'value') throw new RuleError('a mark is one number', c.peek(-1));
    return { kind: 'set-mark', target, value: { kind: 'const', value: Number(v.value) } };
  }
  if (c.is('vmap')) {
    c.next();
    return { kind: 'vmap', left, map: setRef(c, types, ['verdict'], file) };
  }
  let op: (typeof OPS)[string] | undefined;
  if (c.peek()?.kind === 'word' && own(OPS, c.word())) op = own(OPS, c.next().text);
  const exists = c.peek()?.kind === 'word' ? c.word() : undefined;
  if (
    left.length === 1 &&
    left[0]!.kind === 'fib' &&
    (exists === 'missing' || exists === 'exists')
  ) {
    // `fib … oif missing`: no device found (the register holds 0; here the empty name).
    c.next();
    const none = (exists === 'missing') === (op !== '!=');
    return { kind: 'cmp', left, op: none ? '==' : '!=', right: [NO_DEVICE], flags: false };
  }
  const next = c.peek();
  if (next && (next.text.startsWith('@') || next.text === '{') && next.kind !== 'string') {
    if (op !== undefined && op !== '==' && op !== '!=')
      throw new RuleError(`${op} with a set`, next);
    const set = setRef(c, types, undefined, file);
    const only =
      set.kind === 'anonymous' && set.set.elements.length === 1 ? set.set.elements[0]! : null;
    // nft itself turns a one-element anonymous set into a comparison (`ip daddr { 10.0.0.0/8 }`).
    if (only && !FLAG_TYPES.has(types[0]!))
      return { kind: 'cmp', left, op: op === '!=' ? '!=' : '==', right: only.key, flags: false };
    return { kind: 'lookup', left, set, invert: op === '!=' };
  }
  const right: NftAtom[] = [];
  const flags = types.length === 1 && FLAG_TYPES.has(types[0]!);
  if (flags) {
    // `ct state established,related`: any of the flags.
    for (;;) {
      right.push(atom(c.next(), types[0]!));
      if (!c.is(',')) break;
      c.next();
    }
    return { kind: 'cmp', left, op: op ?? '==', right, flags: true };
  }
  for (let k = 0; k < types.length; k++) {
    if (k > 0) c.expect('.');
    right.push(atom(c.next(), types[k]!));
  }
  return { kind: 'cmp', left, op: op ?? '==', right, flags: false };
}

/** What `fib … oif`/`oifname` reads when the lookup finds no device. */
const NO_DEVICE: NftAtom = { kind: 'value', value: '' };

const NAT_FLAGS = new Set(['random', 'fully-random', 'persistent']);

function parseNat(
  c: Cursor,
  type: 'dnat' | 'snat' | 'masquerade' | 'redirect',
  file: string | undefined,
): NftExpr {
  if ((c.is('ip') || c.is('ip6')) && c.is('to', 1)) c.next();
  let addr: { from: string; to: string } | undefined;
  let port: { from: number; to: number } | undefined;
  let map: { left: Selector[]; set: SetRef } | undefined;
  if (c.is('to')) {
    c.next();
    if (atSelector(c)) {
      const left = parseSelectors(c);
      c.expect('map');
      const data: NftType[] = ['ipv4_addr', 'inet_service'];
      map = { left, set: setRef(c, left.map(typeOf), data, file) };
    } else {
      const t = c.next();
      const m = /^(?:\[([0-9a-f:.]+)\]|([0-9.]*)(?:-([0-9.]+))?)(?::(\d+)(?:-(\d+))?)?$/i.exec(
        t.text,
      );
      if (!m) throw new RuleError(`${type} to ${t.text}: expected ADDR[:PORT]`, t);
      const a = m[1] ?? m[2];
      if (a) addr = { from: a, to: m[3] ?? a };
      if (m[4] !== undefined) port = { from: Number(m[4]), to: Number(m[5] ?? m[4]) };
      if (type === 'redirect' && !addr && !port && /^\d+$/.test(t.text))
        port = { from: Number(t.text), to: Number(t.text) };
    }
  }
  const flags: string[] = [];
  while (c.word() !== undefined && NAT_FLAGS.has(c.word()!)) {
    flags.push(c.next().text);
    if (c.is(',')) c.next();
  }
  return {
    kind: 'nat',
    type,
    ...(addr ? { addr } : {}),
    ...(port ? { port } : {}),
    ...(map ? { map } : {}),
    flags,
  };
}

function parseStatement(c: Cursor, file: string | undefined): NftExpr | null {
  const w = c.word();
  const t = c.peek()!;
  if (t.kind === 'string') throw new RuleError(`unexpected string "${t.text}"`, t);
  const v = parseVerdict(c);
  if (v) return { kind: 'verdict', verdict: v };
  switch (w) {
    case 'counter':
      c.next();
      if (c.is('packets')) c.i += 4;
      return { kind: 'counter' };
    case 'comment':
      c.next();
      c.next();
      return null;
    case 'notrack':
      c.next();
      return { kind: 'notrack' };
    case 'log': {
      c.next();
      let prefix: string | undefined;
      while (
        c.word() !== undefined &&
        ['prefix', 'level', 'group', 'snaplen', 'queue-threshold', 'flags'].includes(c.word()!)
      ) {
        const k = c.next().text;
        const val = c.next().text;
        if (k === 'prefix') prefix = val;
      }
      return { kind: 'log', ...(prefix !== undefined ? { prefix } : {}) };
    }
    case 'limit':
      c.next();
      return parseLimit(c);
    case 'quota': {
      c.next();
      const over = skip(c, 'over');
      const bytes = byteCount(c);
      const used = skip(c, 'used') ? byteCount(c) : 0;
      return { kind: 'quota', bytes, used, over };
    }
    case 'reject': {
      c.next();
      if (!c.is('with')) return { kind: 'reject' };
      c.next();
      const ty = c.next().text;
      if (ty === 'tcp') {
        c.expect('reset');
        return { kind: 'reject', with: { type: 'tcp-reset', code: 'reset' } };
      }
      if (ty !== 'icmp' && ty !== 'icmpv6' && ty !== 'icmpx')
        throw new RuleError(`reject with ${ty}`, c.peek(-1));
      if (c.is('type')) c.next();
      return { kind: 'reject', with: { type: ty, code: c.next().text } };
    }
    case 'dnat':
    case 'snat':
    case 'masquerade':
    case 'redirect':
      c.next();
      return parseNat(c, w, file);
    case 'update':
    case 'add': {
      c.next();
      const name = c.next().text;
      if (!name.startsWith('@')) throw new RuleError(`${w} expects @set`, c.peek(-1));
      c.expect('{');
      const key = parseSelectors(c);
      let timeout: number | undefined;
      if (c.is('timeout')) {
        c.next();
        timeout = parseDuration(c.next().text) ?? undefined;
      }
      c.expect('}');
      return {
        kind: 'set-update',
        op: w,
        set: name.slice(1),
        key,
        ...(timeout !== undefined ? { timeout } : {}),
      };
    }
  }
  if (atSelector(c)) return parseMatch(c, file);
  throw new RuleError(`"${w}" is not an expression packeteye models`, t);
}

/** Steps over the keyword `word` when it is next. */
function skip(c: Cursor, word: string): boolean {
  if (!c.is(word)) return false;
  c.next();
  return true;
}

/** `N bytes|kbytes|mbytes` → bytes. */
function byteCount(c: Cursor): number {
  const n = c.next();
  const unit = byteUnit(c.word());
  if (!/^\d+$/.test(n.text) || unit === undefined)
    throw new RuleError(`expected N bytes, kbytes or mbytes, found "${n.text}"`, n);
  c.next();
  return Number(n.text) * unit;
}

/**
 * `limit rate [over] N/UNIT [burst N packets]` or `limit rate [over] N
 * bytes|kbytes|mbytes/UNIT [burst N bytes|kbytes|mbytes]` (nft's limit
 * statement; a byte burst defaults to 0, a packet burst to 5).
 */
function parseLimit(c: Cursor): NftExpr {
  c.expect('rate');
  const over = skip(c, 'over');
  const t = c.next();
  const pkts = /^(\d+)\/([a-z]+)$/.exec(t.text);
  const perUnit = (u: string | undefined) => {
    const per = u !== undefined ? own(TIME_UNITS, u) : undefined;
    if (per === undefined) throw new RuleError(`limit rate: "${t.text}" is not N/UNIT`, t);
    return per;
  };
  if (pkts) {
    const per = perUnit(pkts[2]);
    let burst = 5;
    if (c.is('burst')) {
      c.next();
      burst = Number(c.next().text);
      if (c.is('packets')) c.next();
    }
    return { kind: 'limit', rate: Number(pkts[1]), per, burst, over };
  }
  const bytes = /^([a-z]+)\/([a-z]+)$/.exec(c.word() ?? '');
  const unit = byteUnit(bytes?.[1]);
  if (!/^\d+$/.test(t.text) || !bytes || unit === undefined)
    throw new RuleError(`limit rate: "${t.text}" is not N/UNIT or N BYTES/UNIT`, t);
  c.next();
  const per = perUnit(bytes[2]);
  const burst = skip(c, 'burst') ? byteCount(c) : 0;
  return { kind: 'limit', rate: Number(t.text) * unit, per, burst, over, bytes: true };
}

/**
 * A rule's expressions. A construct not understood ends the reading: the
 * rest of the rule becomes one `unsupported` expression, and `problem`
 * says what and where.
 */
export function parseRuleExprs(
  toks: readonly Tok[],
  src: string,
  file: string | undefined,
): { exprs: NftExpr[]; problem?: { message: string; line: number } } {
  const c = new Cursor(
    toks.some((t) => t.kind === 'nl') ? toks.filter((t) => t.kind !== 'nl') : toks,
  );
  const exprs: NftExpr[] = [];
  while (!c.done()) {
    const at = c.i;
    try {
      const e = parseStatement(c, file);
      if (e) exprs.push(e);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      const first = c.toks[at]!;
      const last = c.toks[c.toks.length - 1]!;
      const text = src.slice(first.start, last.end).replace(/\s+/g, ' ');
      exprs.push({ kind: 'unsupported', text });
      return {
        exprs,
        problem: { message: `${err.message} (in "${text}")`, line: (err.tok ?? first).line },
      };
    }
  }
  return { exprs };
}
