/**
 * Reading `ipset save` (and `ipset restore` input): `create NAME TYPE
 * [OPTIONS]` then `add NAME ELEMENT [OPTIONS]` lines, as ipset 7 writes
 * them. Elements are written the way ipset prints them: `10.0.0.1`,
 * `10.0.0.0/24`, `10.0.0.1,tcp:80`, `10.0.0.0/24,udp:53`,
 * `10.0.0.1,icmp:8/0`, `10.0.0.1,tcp:80,10.0.0.2`, a bare port for
 * bitmap:port, a member set's name for list:set. Ranges (`a-b`, ports
 * `80-90`) are expanded as `ipset add` expands them. Counters, timeouts,
 * comments and skbinfo are accepted and ignored (they do not change a match).
 * Errors name FILE:LINE.
 */
import type { Diagnostic } from '../diag.js';
import {
  IPSET_TYPES,
  type IpSet,
  type IpSetEntry,
  type IpSetPart,
  type IpSetType,
} from '../kernel/netfilter/ipset.js';
import { ipv4Value } from '../wire/addr.js';
import { IPPROTO } from '../wire/packet.js';
import { tokenizeLine } from './tokenize.js';

const CODE = 'ipset-syntax';

/**
 * The options `create` takes for each type (ipset 7.17's type modules,
 * lib/ipset_*.c): true for one that takes a value, false for a flag.
 * Anything else is refused as `ipset restore` refuses it ("Unknown argument").
 */
const EXTENSIONS: Readonly<Record<string, boolean>> = {
  timeout: true,
  counters: false,
  comment: false,
  skbinfo: false,
};
const HASH: Readonly<Record<string, boolean>> = {
  family: true,
  hashsize: true,
  maxelem: true,
  bucketsize: true,
  initval: true,
  forceadd: false,
  ...EXTENSIONS,
};
const CREATE_OPTIONS: Readonly<Record<IpSetType, Readonly<Record<string, boolean>>>> = {
  'hash:ip': { ...HASH, netmask: true },
  'hash:net': HASH,
  'hash:ip,port': HASH,
  'hash:net,port': HASH,
  'hash:ip,port,ip': HASH,
  'hash:ip,port,net': HASH,
  'bitmap:ip': { range: true, netmask: true, ...EXTENSIONS },
  'bitmap:port': { range: true, ...EXTENSIONS },
  'list:set': { size: true, ...EXTENSIONS },
};
/** Numeric `create` options. */
const NUMERIC = new Set(['hashsize', 'maxelem', 'bucketsize', 'initval', 'timeout', 'size']);
/** `add` options: the `create` extension each needs, and whether it takes a value. */
const ADD_OPTIONS: Readonly<Record<string, { needs?: string; valued: boolean }>> = {
  timeout: { needs: 'timeout', valued: true },
  packets: { needs: 'counters', valued: true },
  bytes: { needs: 'counters', valued: true },
  comment: { needs: 'comment', valued: true },
  skbmark: { needs: 'skbinfo', valued: true },
  skbprio: { needs: 'skbinfo', valued: true },
  skbqueue: { needs: 'skbinfo', valued: true },
  nomatch: { valued: false },
  before: { valued: true },
  after: { valued: true },
};

const PROTOS: Readonly<Record<string, number>> = {
  tcp: IPPROTO.TCP,
  udp: IPPROTO.UDP,
  sctp: IPPROTO.SCTP,
  udplite: 136,
  icmp: IPPROTO.ICMP,
};

/** ICMP type names ipset accepts (`ipset help`), as type/code. */
const ICMP_NAMES: Readonly<Record<string, number>> = {
  'echo-reply': 0x0000,
  'echo-request': 0x0800,
  'destination-unreachable': 0x0300,
  'network-unreachable': 0x0300,
  'host-unreachable': 0x0301,
  'port-unreachable': 0x0303,
  'fragmentation-needed': 0x0304,
  'time-exceeded': 0x0b00,
};

type P<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(value: T): P<T> => ({ ok: true, value });
const bad = <T>(error: string): P<T> => ({ ok: false, error });

/** `a.b.c.d`, `a.b.c.d/p` or `a.b.c.d-e.f.g.h`, as one [lo, hi] part. */
function parseAddr(s: string, allowPrefix: boolean, defaultPrefix = 32): P<IpSetPart> {
  const dash = s.indexOf('-');
  if (dash > 0) {
    const lo = ipv4Value(s.slice(0, dash));
    const hi = ipv4Value(s.slice(dash + 1));
    if (lo < 0 || hi < 0 || hi < lo) return bad(`"${s}" is not an address range`);
    return ok({ kind: 'net', lo, hi, prefix: 32 });
  }
  const slash = s.indexOf('/');
  const a = ipv4Value(slash < 0 ? s : s.slice(0, slash));
  if (a < 0) return bad(`"${s}" is not an IPv4 address`);
  let prefix = defaultPrefix;
  if (slash >= 0) {
    const t = s.slice(slash + 1);
    if (!allowPrefix || !/^\d{1,2}$/.test(t) || Number(t) > 32)
      return bad(`"${s}": ${allowPrefix ? 'the prefix must be 0–32' : 'no prefix here'}`);
    prefix = Number(t);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const lo = (a & mask) >>> 0;
  return ok({ kind: 'net', lo, hi: (lo | (~mask >>> 0)) >>> 0, prefix });
}

/** `[proto:]port[-port]` (TCP when no protocol) or `icmp:type/code`; several parts for a range. */
function parsePorts(s: string): P<IpSetPart[]> {
  const colon = s.indexOf(':');
  const protoName = colon < 0 ? 'tcp' : s.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? s : s.slice(colon + 1);
  const proto = PROTOS[protoName] ?? (/^\d+$/.test(protoName) ? Number(protoName) : undefined);
  if (proto === undefined || proto > 255) return bad(`"${s}": unknown protocol "${protoName}"`);
  if (proto === IPPROTO.ICMP) {
    const named = ICMP_NAMES[rest];
    if (named !== undefined) return ok([{ kind: 'port', proto, port: named }]);
    const m = /^(\d{1,3})\/(\d{1,3})$/.exec(rest);
    if (!m || Number(m[1]) > 255 || Number(m[2]) > 255)
      return bad(`"${s}": ICMP is written icmp:TYPE/CODE`);
    return ok([{ kind: 'port', proto, port: (Number(m[1]) << 8) | Number(m[2]) }]);
  }
  const r = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(rest);
  if (!r) return bad(`"${s}": expected a port or a range PORT-PORT`);
  const from = Number(r[1]);
  const to = r[2] !== undefined ? Number(r[2]) : from;
  if (from > 65535 || to > 65535 || to < from) return bad(`"${s}": ports are 0–65535`);
  if (![IPPROTO.TCP, IPPROTO.UDP, IPPROTO.SCTP, 136].includes(proto) && (from !== 0 || to !== 0))
    return bad(`"${s}": protocol ${protoName} has no ports (write ${protoName}:0)`);
  const out: IpSetPart[] = [];
  for (let p = from; p <= to; p++) out.push({ kind: 'port', proto, port: p });
  return ok(out);
}

/** The element text of an `add` line for a set of `type`: one entry per expanded combination. */
function parseElement(type: IpSetType, text: string): P<IpSetPart[][]> {
  if (type === 'list:set') return ok([[{ kind: 'set', name: text }]]);
  if (type === 'bitmap:port') {
    const r = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
    if (!r) return bad(`"${text}": bitmap:port elements are ports`);
    const from = Number(r[1]);
    const to = r[2] !== undefined ? Number(r[2]) : from;
    if (from > 65535 || to > 65535 || to < from) return bad(`"${text}": ports are 0–65535`);
    const out: IpSetPart[][] = [];
    for (let p = from; p <= to; p++) out.push([{ kind: 'anyport', port: p }]);
    return ok(out);
  }
  const dims = type.slice(type.indexOf(':') + 1).split(',');
  const fields = text.split(',');
  if (fields.length !== dims.length)
    return bad(`"${text}": a ${type} element has ${dims.length} part(s), separated by commas`);
  let combos: IpSetPart[][] = [[]];
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const f = fields[i]!;
    let parts: IpSetPart[];
    if (d === 'ip' || d === 'net') {
      // hash:ip takes a CIDR as the block of addresses it stands for; net keeps its prefix.
      const r = parseAddr(f, true);
      if (!r.ok) return r;
      parts = [r.value];
    } else if (d === 'port') {
      const r = parsePorts(f);
      if (!r.ok) return r;
      parts = r.value;
    } else return bad(`set type ${type} is not modelled`);
    combos = combos.flatMap((c) => parts.map((p) => [...c, p]));
    if (combos.length > 65536) return bad(`"${text}" expands to more than 65536 elements`);
  }
  return ok(combos);
}

interface Building {
  name: string;
  type: IpSetType;
  netmask: number;
  entries: IpSetEntry[];
  line: number;
  /** The create options given (for the add options they allow). */
  options: Set<string>;
  /** A bitmap's `range`, as [lo, hi] addresses or ports. */
  range?: readonly [number, number];
}

/** A bitmap's `range`: FROM-TO or a CIDR for bitmap:ip, PORT-PORT for bitmap:port. */
function parseRange(type: IpSetType, v: string): P<readonly [number, number]> {
  if (type === 'bitmap:port') {
    const r = /^(\d+)-(\d+)$/.exec(v);
    if (!r) return bad(`range "${v}": expected PORT-PORT`);
    for (const x of [r[1]!, r[2]!])
      if (Number(x) > 65535) return bad(`range "${v}": '${x}' is out of range 0-65535`);
    if (Number(r[2]) < Number(r[1])) return bad(`range "${v}": the end is before the start`);
    return ok([Number(r[1]), Number(r[2])]);
  }
  const a = parseAddr(v, true);
  if (!a.ok) return bad(`range ${a.error}`);
  return ok([a.value.kind === 'net' ? a.value.lo : 0, a.value.kind === 'net' ? a.value.hi : 0]);
}

/** Does every part of an element lie inside a bitmap's range? */
function inRange(parts: readonly IpSetPart[], range: readonly [number, number]): boolean {
  const p = parts[0];
  if (!p) return true;
  if (p.kind === 'anyport') return p.port >= range[0] && p.port <= range[1];
  if (p.kind === 'net') return p.lo >= range[0] && p.hi <= range[1];
  return true;
}

/** A `create` line's options, checked against its type as ipset restore checks them. */
function readCreate(
  name: string,
  type: IpSetType,
  words: readonly string[],
  line: number,
  error: (line: number, message: string, hint?: string) => void,
): Building | undefined {
  const b: Building = { name, type, netmask: 32, entries: [], line, options: new Set() };
  const allowed = CREATE_OPTIONS[type];
  for (let k = 3; k < words.length; k++) {
    const opt = words[k]!;
    const valued = allowed[opt];
    if (valued === undefined) {
      error(
        line,
        `set ${name}: unknown argument "${opt}" for ${type} (ipset restore refuses it)`,
        `${type} takes ${Object.keys(allowed).join(', ')}`,
      );
      return undefined;
    }
    b.options.add(opt);
    if (!valued) continue;
    const v = words[++k];
    if (v === undefined) {
      error(line, `${opt} needs a value`);
      return undefined;
    }
    if (NUMERIC.has(opt) && !/^(?:\d+|0x[0-9a-fA-F]+)$/.test(v)) {
      error(line, `set ${name}: ${opt} "${v}" is not a number`);
      return undefined;
    }
    if (opt === 'family' && v !== 'inet') {
      error(line, `set ${name}: family ${v} is not modelled (IPv4 sets only)`);
      return undefined;
    }
    if (opt === 'netmask') {
      if (!/^\d{1,2}$/.test(v) || Number(v) < 1 || Number(v) > 32) {
        error(line, `set ${name}: netmask must be 1–32`);
        return undefined;
      }
      b.netmask = Number(v);
    }
    if (opt === 'range') {
      const r = parseRange(type, v);
      if (!r.ok) {
        error(line, `set ${name}: ${r.error}`);
        return undefined;
      }
      b.range = r.value;
    }
  }
  if (type.startsWith('bitmap:') && !b.range) {
    error(
      line,
      `set ${name}: a ${type} set needs a range (ipset: "Mandatory option \`range' is missing")`,
      type === 'bitmap:port' ? 'e.g. range 0-1023' : 'e.g. range 10.0.0.0/16',
    );
    return undefined;
  }
  return b;
}

/** Parses `ipset save` text into sets by name, with diagnostics naming FILE:LINE. */
export function parseIpsetSave(
  text: string,
  file?: string,
): { sets: Map<string, IpSet>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const building = new Map<string, Building>();
  const fileRef = file !== undefined ? { file } : {};
  const error = (line: number, message: string, hint?: string): void => {
    diagnostics.push({
      code: CODE,
      severity: 'error',
      message,
      ...fileRef,
      line,
      ...(hint ? { hint } : {}),
    });
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = tokenizeLine(raw.replace(/\r$/, ''));
    if (!t.ok) {
      error(line, t.error);
      return;
    }
    const words = t.tokens.map((x) => x.text);
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    const [cmd, name, arg] = words;
    if (cmd === 'create' || cmd === '-N' || cmd === 'n') {
      if (!name || !arg) {
        error(line, 'create needs a set name and a type', 'e.g. create web hash:ip family inet');
        return;
      }
      if (building.has(name)) {
        error(line, `set ${name} is created twice`);
        return;
      }
      if (!(IPSET_TYPES as readonly string[]).includes(arg)) {
        error(line, `set type ${arg} is not modelled`, `packeteye reads ${IPSET_TYPES.join(', ')}`);
        return;
      }
      const b = readCreate(name, arg as IpSetType, words, line, error);
      if (!b) return;
      building.set(name, b);
      return;
    }
    if (cmd === 'add' || cmd === '-A' || cmd === 'a') {
      if (!name || arg === undefined) {
        error(line, 'add needs a set name and an element');
        return;
      }
      const b = building.get(name);
      if (!b) {
        error(
          line,
          `set ${name} is not created before this add`,
          'create it first (ipset save lists create before add)',
        );
        return;
      }
      let nomatch = false;
      for (let k = 3; k < words.length; k++) {
        const opt = words[k]!;
        const spec = ADD_OPTIONS[opt];
        if (spec === undefined) {
          error(line, `add ${name}: unknown argument "${opt}" (ipset restore refuses it)`);
          return;
        }
        if (spec.needs !== undefined && !b.options.has(spec.needs)) {
          error(
            line,
            `add ${name}: ${opt} cannot be used: set ${name} was created without ${spec.needs} support`,
          );
          return;
        }
        if ((opt === 'before' || opt === 'after') && b.type !== 'list:set') {
          error(line, `add ${name}: ${opt} is only for list:set sets`);
          return;
        }
        if (opt === 'nomatch') nomatch = true;
        else if (spec.valued && words[++k] === undefined) {
          error(line, `add ${name}: ${opt} needs a value`);
          return;
        }
      }
      if (nomatch && !b.type.startsWith('hash:net') && b.type !== 'hash:ip,port,net') {
        error(line, `nomatch is only for sets with a net part, not ${b.type}`);
        return;
      }
      const el = parseElement(b.type, arg);
      if (!el.ok) {
        error(line, `set ${name}: ${el.error}`);
        return;
      }
      const range = b.range;
      if (range && el.value.some((parts) => !inRange(parts, range))) {
        error(line, `set ${name}: ${arg} is out of the range of the set`);
        return;
      }
      for (const parts of el.value) b.entries.push({ parts, nomatch, line });
      return;
    }
    error(
      line,
      `unknown command ${JSON.stringify(cmd)}`,
      'an ipset save file holds create and add lines',
    );
  });
  const sets = new Map<string, IpSet>();
  for (const b of building.values()) {
    for (const e of b.entries) {
      const p = e.parts[0];
      if (b.type === 'list:set' && p?.kind === 'set' && !building.has(p.name))
        error(e.line ?? b.line, `list:set ${b.name}: member set ${p.name} is not defined`);
      if (b.type === 'list:set' && p?.kind === 'set' && building.get(p.name)?.type === 'list:set')
        error(e.line ?? b.line, `list:set ${b.name}: a list:set cannot hold another (${p.name})`);
    }
    sets.set(b.name, {
      name: b.name,
      type: b.type,
      netmask: b.netmask,
      entries: b.entries,
      ...fileRef,
      line: b.line,
    });
  }
  return { sets, diagnostics };
}

/** One set for formatIpsetRestore. */
export interface IpSetSpec {
  readonly name: string;
  readonly type: IpSetType;
  /** What `create` says after the type. Default `family inet hashsize 1024 maxelem 65536`. */
  readonly options?: string;
  /** Elements as `ipset add` takes them; a trailing ` nomatch` marks an exception. */
  readonly members: readonly string[];
  /** Options every `add` carries before `nomatch` (kube-router's `timeout 0`). */
  readonly addOptions?: string;
}

/** `ipset restore` text (what `ipset save` prints) for `sets`, in the order given; '' for none. */
export function formatIpsetRestore(sets: readonly IpSetSpec[]): string {
  const lines = sets.flatMap((s) => [
    `create ${s.name} ${s.type} ${s.options ?? 'family inet hashsize 1024 maxelem 65536'}`,
    ...s.members.map((m) => {
      const nomatch = m.endsWith(' nomatch');
      const entry = nomatch ? m.slice(0, -' nomatch'.length) : m;
      return [`add ${s.name} ${entry}`, s.addOptions, nomatch ? 'nomatch' : undefined]
        .filter((x) => x !== undefined)
        .join(' ');
    }),
  ]);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
