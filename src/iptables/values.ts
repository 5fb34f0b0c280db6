/**
 * Option values as iptables reads and prints them: numbers in C's `strtoul(…,
 * 0)` spelling, ports and port ranges, IPv4 addresses with prefix or dotted
 * masks, protocol names, interface names and `xtables_save_string` quoting.
 *
 * Every parser returns a value or a string saying what is wrong (never
 * throws), so the rule parser can turn it into a diagnostic with FILE:LINE.
 */

import type { PortRange } from '../kernel/netfilter/types.js';
import { formatIpv6, intToIp, ipv4Value, ipv6ToBigInt } from '../wire/addr.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

function isDigits(s: string, from = 0, to = s.length): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isHexDigits(s: string, from: number): boolean {
  if (s.length <= from) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * An unsigned integer as `strtoul(s, NULL, 0)` reads it when the whole string
 * must be consumed (xtables_strtoul): `0x…` hex, `0…` octal, else decimal.
 */
export function parseUint(s: string, max: number): Parsed<number> {
  let n: number;
  if (s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X')) {
    if (!isHexDigits(s, 2) || s.length > 18) return bad(`"${s}" is not a number`);
    n = parseInt(s.slice(2), 16);
  } else if (s.length > 1 && s[0] === '0') {
    if (!isDigits(s) || /[89]/.test(s)) return bad(`"${s}" is not a number`);
    n = parseInt(s.slice(1), 8);
  } else {
    if (!isDigits(s) || s.length > 16) return bad(`"${s}" is not a number`);
    n = Number(s);
  }
  if (n > max) return bad(`${s} is out of range (at most ${max})`);
  return ok(n);
}

/** Decimal only, as the `%u` options (`--every`, `--seconds`) take it. */
export function parseDecimal(s: string, min: number, max: number): Parsed<number> {
  const r = parseUint(s, Number.MAX_SAFE_INTEGER);
  if (!r.ok) return r;
  if (r.value < min || r.value > max) return bad(`${s} is out of range (${min}–${max})`);
  return r;
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** `value[/mask]` as xtables_parse_mark_mask reads it; the mask defaults to 0xffffffff. */
export function parseMarkMask(s: string): Parsed<{ value: number; mask: number }> {
  const slash = s.indexOf('/');
  const v = parseUint(slash < 0 ? s : s.slice(0, slash), 0xffffffff);
  if (!v.ok) return bad(`bad mark "${s}": ${v.error}`);
  if (slash < 0) return ok({ value: v.value, mask: 0xffffffff });
  const m = parseUint(s.slice(slash + 1), 0xffffffff);
  if (!m.ok) return bad(`bad mask in "${s}": ${m.error}`);
  return ok({ value: v.value, mask: m.value });
}

/** A few service names as getservbyname(3) knows them (/etc/services); numbers are better. */
const SERVICES: ReadonlyMap<string, number> = new Map([
  ['ftp-data', 20],
  ['ftp', 21],
  ['ssh', 22],
  ['telnet', 23],
  ['smtp', 25],
  ['domain', 53],
  ['bootps', 67],
  ['bootpc', 68],
  ['tftp', 69],
  ['http', 80],
  ['www', 80],
  ['pop3', 110],
  ['ntp', 123],
  ['imap', 143],
  ['imap2', 143],
  ['snmp', 161],
  ['bgp', 179],
  ['ldap', 389],
  ['https', 443],
  ['submission', 587],
  ['ldaps', 636],
  ['imaps', 993],
  ['pop3s', 995],
  ['mysql', 3306],
  ['postgresql', 5432],
]);

/** One port: a number 0–65535 or a service name (xtables_parse_port). */
export function parsePort(s: string): Parsed<number> {
  if (isDigits(s)) {
    const n = Number(s);
    return n <= 65535 ? ok(n) : bad(`port ${s} is out of range (0–65535)`);
  }
  const named = SERVICES.get(s);
  if (named !== undefined) return ok(named);
  return bad(`"${s}" is not a port number or a known service name`);
}

/**
 * `p`, `p:q`, `p:` (to 65535) or `:q` (from 0), as libxt_tcp's
 * parse_tcp_ports reads `--sport`/`--dport`; min > max is an error.
 */
export function parsePortRange(s: string, sep = ':'): Parsed<PortRange> {
  const i = s.indexOf(sep);
  if (i < 0) {
    const p = parsePort(s);
    return p.ok ? ok({ from: p.value, to: p.value }) : p;
  }
  const a = i === 0 ? ok(0) : parsePort(s.slice(0, i));
  if (!a.ok) return a;
  const rest = s.slice(i + 1);
  const b = rest === '' ? ok(65535) : parsePort(rest);
  if (!b.ok) return b;
  if (a.value > b.value) return bad(`invalid port range "${s}" (min > max)`);
  return ok({ from: a.value, to: b.value });
}

export function formatPortRange(r: PortRange, sep = ':'): string {
  return r.from === r.to ? `${r.from}` : `${r.from}${sep}${r.to}`;
}

/** A dotted quad with every octet 0–255 (iptables takes no shorter forms in save output). */
export function parseIpv4(s: string): Parsed<number> {
  const n = ipv4Value(s);
  return n < 0 ? bad(`"${s}" is not an IPv4 address`) : ok(n);
}

function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The prefix length of a contiguous mask, or -1 (xtables_ipmask_to_cidr). */
export function maskToPrefix(mask: number): number {
  for (let p = 0; p <= 32; p++) if (prefixMask(p) === mask >>> 0) return p;
  return -1;
}

export interface AddrMask {
  /** Network address with host bits cleared, as the kernel stores it. */
  readonly addr: number;
  readonly mask: number;
}

/**
 * `-s`/`-d` values: `a.b.c.d`, `a.b.c.d/n` or `a.b.c.d/m.m.m.m`; `0/0` is
 * the old spelling of "anywhere". Host bits are cleared
 * (xtables_ipparse_any ANDs address and mask).
 */
export function parseAddrMask(s: string, clearHostBits = true): Parsed<AddrMask> {
  if (s === '0/0') return ok({ addr: 0, mask: 0 });
  const slash = s.indexOf('/');
  const a = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (!a.ok) {
    if (s.includes(','))
      return bad(`address lists ("${s}") are not supported: write one rule per address`);
    if (ipv6ToBigInt(slash < 0 ? s : s.slice(0, slash)) !== null)
      return bad(`"${s}" is an IPv6 address in an iptables (IPv4) dump`);
    return bad(`"${s}" is not an IPv4 address or prefix (host names are not resolved)`);
  }
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = s.slice(slash + 1);
    if (isDigits(m) && m.length <= 2) {
      const p = Number(m);
      if (p > 32) return bad(`prefix length ${m} in "${s}" is out of range (0–32)`);
      mask = prefixMask(p);
    } else {
      const dm = parseIpv4(m);
      if (!dm.ok) return bad(`"${s}" has a bad mask "${m}"`);
      mask = dm.value;
    }
  }
  return ok({ addr: clearHostBits ? (a.value & mask) >>> 0 : a.value, mask });
}

/** `a.b.c.d/n` always with the prefix, as save_ipv4_addr prints `-s`/`-d`. */
export function formatCidrText(am: AddrMask): string {
  const p = maskToPrefix(am.mask);
  return p < 0 ? `${intToIp(am.addr)}/${intToIp(am.mask)}` : `${intToIp(am.addr)}/${p}`;
}

/** IP protocol numbers and the names iptables prints for them (xtables_chain_protos, /etc/protocols). */
const PROTO_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['all', 0],
  ['icmp', 1],
  ['igmp', 2],
  ['ipencap', 4],
  ['tcp', 6],
  ['egp', 8],
  ['udp', 17],
  ['dccp', 33],
  ['ipv6', 41],
  ['rsvp', 46],
  ['gre', 47],
  ['esp', 50],
  ['ah', 51],
  ['icmpv6', 58],
  ['ipv6-icmp', 58],
  ['ospf', 89],
  ['ipip', 94],
  ['pim', 103],
  ['vrrp', 112],
  ['l2tp', 115],
  ['sctp', 132],
  ['mh', 135],
  ['udplite', 136],
]);
const NAME_BY_PROTO: ReadonlyMap<number, string> = new Map(
  [...PROTO_BY_NAME].filter(([n]) => n !== 'ipv6-icmp' && n !== 'all').map(([n, v]) => [v, n]),
);

/**
 * `-p` value to the name iptables-save prints: names are case-insensitive,
 * numbers print as their name when one is known. `all`/`0` yields `'all'`.
 */
export function parseProtocol(s: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Parsed<string> {
  const lower = s.toLowerCase();
  const byName = PROTO_BY_NAME.get(lower);
  // ip6tables-save prints protocol 58 as /etc/protocols names it: ipv6-icmp.
  if (family === 'ipv6' && (byName === 58 || (isDigits(s) && Number(s) === 58)))
    return ok('ipv6-icmp');
  if (byName !== undefined) return ok(byName === 0 ? 'all' : (NAME_BY_PROTO.get(byName) ?? lower));
  if (isDigits(s)) {
    const n = Number(s);
    if (n > 255) return bad(`protocol ${s} is out of range (0–255)`);
    if (n === 0) return ok('all');
    return ok(NAME_BY_PROTO.get(n) ?? `${n}`);
  }
  return bad(`unknown protocol "${s}"`);
}

/** Interface names: at most IFNAMSIZ-1 = 15 characters; a trailing `+` is a prefix wildcard. */
export function parseIfaceName(s: string): Parsed<{ name: string; wildcard: boolean }> {
  if (s.length === 0 || s.length > 15) return bad(`interface name "${s}" must be 1–15 characters`);
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ' ' || c === '/' || c === '\t') return bad(`interface name "${s}" contains "${c}"`);
  }
  const wildcard = s.endsWith('+');
  return ok({ name: wildcard ? s.slice(0, -1) : s, wildcard });
}

const NO_QUOTE = /^[_\-0-9a-zA-Z]+$/;

/**
 * A string value as iptables-save prints it (libxtables xtables_save_string):
 * bare when made only of `[_-0-9a-zA-Z]`, else double-quoted with `"`, `\`
 * and `'` backslash-escaped.
 */
export function saveString(s: string): string {
  if (NO_QUOTE.test(s)) return s;
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(ESCAPE_ALL, '\\$&')}"`;
}
const NEEDS_ESCAPE = /["'\\]/;
const ESCAPE_ALL = /["'\\]/g;

/**
 * A probability as libxt_statistic prints it: the kernel keeps
 * `lround(p * 2^31)` and iptables-save prints that back with `%.11f`
 * (0.3333333333 → 0.33333333349). Ties round to even, as glibc's printf does.
 */
export function formatProbability(p: number): string {
  let s = PROBABILITIES.get(p);
  if (s === undefined) {
    s = probabilityText(p);
    // kube-proxy's ladders repeat the same few values (1/n) over thousands of rules.
    if (PROBABILITIES.size < 4096) PROBABILITIES.set(p, s);
  }
  return s;
}
const PROBABILITIES = new Map<number, string>();

function probabilityText(p: number): string {
  const k = BigInt(Math.round(p * 0x80000000));
  const scaled = k * 100_000_000_000n;
  const den = 0x80000000n;
  let q = scaled / den;
  const r = scaled % den;
  if (r * 2n > den || (r * 2n === den && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(12, '0');
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}

// ---- IPv6 (ip6tables) ----

export interface AddrMask6 {
  /** Network address with host bits cleared. */
  readonly addr: bigint;
  readonly mask: bigint;
  /** The prefix length when the mask is contiguous and was given as one (saves recomputing it). */
  readonly prefix?: number;
}

const V6_ALL = (1n << 128n) - 1n;

function prefixMask6(prefix: number): bigint {
  return prefix === 0 ? 0n : (V6_ALL << BigInt(128 - prefix)) & V6_ALL;
}

/** The prefix length of a contiguous IPv6 mask, or -1 (xtables_ip6mask_to_cidr). */
export function mask6ToPrefix(mask: bigint): number {
  if (mask === 0n) return 0;
  // Contiguous: the complement is 2^k - 1, so complement + 1 is a power of two.
  const inv = V6_ALL ^ mask;
  const k = (inv + 1n).toString(2).length - 1;
  return prefixMask6(128 - k) === mask ? 128 - k : -1;
}

/**
 * ip6tables `-s`/`-d` values: `addr`, `addr/n` or `addr/mask` (xtables_ip6parse_any);
 * host bits are cleared. A bare address is a /128.
 */
export function parseAddrMask6(s: string, clearHostBits = true): Parsed<AddrMask6> {
  const slash = s.indexOf('/');
  const a = ipv6ToBigInt(slash < 0 ? s : s.slice(0, slash));
  if (a === null) {
    if (s.includes(','))
      return bad(`address lists ("${s}") are not supported: write one rule per address`);
    if (ipv4Value(slash < 0 ? s : s.slice(0, slash)) >= 0)
      return bad(`"${s}" is an IPv4 address in an ip6tables (IPv6) dump`);
    return bad(`"${s}" is not an IPv6 address or prefix (host names are not resolved)`);
  }
  let mask = V6_ALL;
  let prefix = 128;
  if (slash >= 0) {
    const m = s.slice(slash + 1);
    if (isDigits(m) && m.length <= 3) {
      const p = Number(m);
      if (p > 128) return bad(`prefix length ${m} in "${s}" is out of range (0–128)`);
      mask = prefixMask6(p);
      prefix = p;
    } else {
      prefix = -1;
      const dm = ipv6ToBigInt(m);
      if (dm === null) return bad(`"${s}" has a bad mask "${m}"`);
      mask = dm;
    }
  }
  return ok({ addr: clearHostBits ? a & mask : a, mask, ...(prefix >= 0 ? { prefix } : {}) });
}

/** `addr/n` always with the prefix (a non-contiguous mask as `addr/mask`), as ip6tables-save prints. */
export function formatCidrText6(am: AddrMask6): string {
  const p = am.prefix ?? mask6ToPrefix(am.mask);
  return p < 0 ? `${formatIpv6(am.addr)}/${formatIpv6(am.mask)}` : `${formatIpv6(am.addr)}/${p}`;
}

/** One IPv6 address in canonical form, or an error naming the family mix-up. */
export function parseIpv6Text(s: string): Parsed<string> {
  const v = ipv6ToBigInt(s);
  if (v !== null) return ok(formatIpv6(v));
  if (ipv4Value(s) >= 0) return bad(`"${s}" is an IPv4 address in an ip6tables (IPv6) dump`);
  return bad(`"${s}" is not an IPv6 address`);
}
