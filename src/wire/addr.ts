/**
 * IPv4 (and, below, IPv6) addresses and prefixes.
 *
 * Addresses travel through packeteye as dotted-quad strings (readable in every
 * trace and JSON document); arithmetic happens on unsigned 32-bit numbers.
 */

export type Ipv4 = string;

export interface Cidr {
  /** Network address (host bits zeroed), dotted quad. */
  readonly network: Ipv4;
  readonly prefix: number;
}

/**
 * A dotted quad to its unsigned 32-bit value, or -1 when it is not one: four
 * decimal octets 0–255 without leading zeros (as Go's net.ParseIP, and so
 * the API server, and glibc's inet_pton read them). One pass over the
 * characters: the iptables reader calls it for every address of a dump. The
 * one IPv4 address parser; `isIpv4` and `ipToInt` are it too.
 */
export function ipv4Value(s: string): number {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + octet;
}

export function isIpv4(s: string): boolean {
  return ipv4Value(s) >= 0;
}

/** Parses a dotted quad to an unsigned 32-bit number; throws on anything else. */
export function ipToInt(s: Ipv4): number {
  const n = ipv4Value(s);
  if (n < 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return n;
}

export function intToIp(n: number): Ipv4 {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  return m !== null && isIpv4(m[1]!) && Number(m[2]) <= 32;
}

/**
 * Parses `a.b.c.d/n` (or a bare address, taken as /32). Host bits are cleared,
 * as the kernel does for a route's destination.
 */
export function parseCidr(s: string): Cidr {
  const c = parseCidrBits(s);
  return { network: intToIp(c.net), prefix: c.prefix };
}

/** A prefix as numbers, to test many addresses against: its network's value and its mask. */
export interface CidrBits {
  readonly prefix: number;
  /** The network's value (host bits cleared). */
  readonly net: number;
  readonly mask: number;
}

/**
 * `parseCidr` as numbers, without the network's dotted quad made (and read
 * back to test addresses against it); throws on what `parseCidr` throws on.
 * The one IPv4 prefix parser.
 */
export function parseCidrBits(s: string): CidrBits {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const prefixText = slash < 0 ? '32' : s.slice(slash + 1);
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    throw new RangeError(`not an IPv4 prefix: ${JSON.stringify(s)}`);
  }
  const prefix = Number(prefixText);
  const mask = maskOf(prefix);
  return { prefix, net: (ipToInt(addr) & mask) >>> 0, mask };
}

/** `cidrContains` for a prefix read as numbers; throws when `ip` is not a dotted quad. */
export function bitsContain(c: CidrBits, ip: Ipv4): boolean {
  return (ipToInt(ip) & c.mask) >>> 0 === c.net;
}

export function formatCidr(c: Cidr): string {
  return `${c.network}/${c.prefix}`;
}

export function cidrContains(c: Cidr, ip: Ipv4): boolean {
  const mask = maskOf(c.prefix);
  return (ipToInt(ip) & mask) >>> 0 === ipToInt(c.network);
}

/** True when the two prefixes share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = maskOf(p);
  return (ipToInt(a.network) & mask) >>> 0 === (ipToInt(b.network) & mask) >>> 0;
}

/** The n-th address of a prefix (0 = the network address). */
export function nthAddress(c: Cidr, n: number): Ipv4 {
  return intToIp((ipToInt(c.network) + n) >>> 0);
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function broadcastOf(c: Cidr): Ipv4 {
  return intToIp((ipToInt(c.network) | (~maskOf(c.prefix) >>> 0)) >>> 0);
}

// ---------------------------------------------------------------------------
// IPv6 and family-tagged addresses.
//
// IPv6 addresses travel as text too, always in the canonical form
// ip6tables-save and `ip -6` print (RFC 5952 via glibc inet_ntop: lower-case
// hex, no leading zeros, the longest run of two or more zero groups — the
// first of equal runs — as `::`, and `::ffff:a.b.c.d` / `::a.b.c.d` for
// IPv4-mapped and IPv4-compatible addresses). Arithmetic is on 128-bit
// BigInts; the IPv4 functions above keep their u32 fast path.

export type IpFamily = 'ipv4' | 'ipv6';

/** An address of either family: its canonical text and its value (32 or 128 bits). */
export interface IpAddress {
  readonly family: IpFamily;
  readonly text: string;
  readonly value: bigint;
}

/** A prefix of either family, host bits cleared; `network` is canonical text. */
export interface IpCidr {
  readonly family: IpFamily;
  readonly network: string;
  readonly prefix: number;
  /** The network as a number (32 or 128 bits). */
  readonly value: bigint;
}

const V6_ALL = (1n << 128n) - 1n;

/**
 * IPv6 text to its 128-bit value, or null (inet_pton AF_INET6): 1–4 hex
 * digits per group, at most one `::`, an optional dotted IPv4 tail. Zone
 * indices (`fe80::1%eth0`) are not addresses and are refused.
 */
export function ipv6ToBigInt(s: string): bigint | null {
  if (s.length < 2 || s.length > 45) return null;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const head = dbl < 0 ? s : s.slice(0, dbl);
  const tail = dbl < 0 ? '' : s.slice(dbl + 2);
  const groups = (part: string, allowV4: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (allowV4 && i === items.length - 1 && it.includes('.')) {
        if (!isIpv4(it)) return null;
        const n = ipToInt(it);
        out.push(n >>> 16, n & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const h = groups(head, dbl < 0);
  const t = groups(tail, true);
  if (!h || !t) return null;
  let words: number[];
  if (dbl < 0) {
    if (h.length !== 8) return null;
    words = h;
  } else {
    const zeros = 8 - h.length - t.length;
    if (zeros < 1) return null;
    words = [...h, ...new Array<number>(zeros).fill(0), ...t];
  }
  let v = 0n;
  for (const w of words) v = (v << 16n) | BigInt(w);
  return v;
}

export function isIpv6(s: string): boolean {
  return ipv6ToBigInt(s) !== null;
}

/** A 128-bit value as glibc's inet_ntop prints it (RFC 5952 canonical form). */
export function formatIpv6(v: bigint): string {
  const w: number[] = [];
  for (let i = 7; i >= 0; i--) w.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // The longest run of zero words (at least two), the first one on a tie.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  // inet_ntop6: ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped).
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
    const v4 = intToIp(Number(v & 0xffffffffn));
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += w[i]!.toString(16);
  }
  return out;
}

/** IPv6 text in canonical form; throws RangeError on anything else. */
export function canonicalIpv6(s: string): string {
  const v = ipv6ToBigInt(s);
  if (v === null) throw new RangeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  return formatIpv6(v);
}

/** Which family an address's text is, or null when it is neither. */
export function ipFamilyOf(s: string): IpFamily | null {
  if (s.indexOf(':') >= 0) return ipv6ToBigInt(s) === null ? null : 'ipv6';
  return isIpv4(s) ? 'ipv4' : null;
}

export function familyBits(f: IpFamily): number {
  return f === 'ipv4' ? 32 : 128;
}

/** Parses an address of either family; throws RangeError on anything else. */
export function parseIp(s: string): IpAddress {
  if (s.indexOf(':') >= 0) {
    const v = ipv6ToBigInt(s);
    if (v === null) throw new RangeError(`not an IP address: ${JSON.stringify(s)}`);
    return { family: 'ipv6', text: formatIpv6(v), value: v };
  }
  return { family: 'ipv4', text: s, value: BigInt(ipToInt(s)) };
}

export function formatIp(family: IpFamily, value: bigint): string {
  return family === 'ipv4' ? intToIp(Number(value)) : formatIpv6(value);
}

/** The prefix mask of a family as a BigInt. */
export function ipMask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = family === 'ipv4' ? 0xffffffffn : V6_ALL;
  return prefix === 0 ? 0n : (all << (bits - BigInt(prefix))) & all;
}

/**
 * `addr/n` or a bare address (a host prefix: /32 or /128) of either family,
 * host bits cleared. Throws RangeError on anything else.
 */
export function parseIpCidr(s: string): IpCidr {
  const slash = s.indexOf('/');
  const a = parseIp(slash < 0 ? s : s.slice(0, slash));
  const max = familyBits(a.family);
  const prefixText = slash < 0 ? String(max) : s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    throw new RangeError(`not an IP prefix: ${JSON.stringify(s)}`);
  }
  const prefix = Number(prefixText);
  const value = a.value & ipMask(a.family, prefix);
  return { family: a.family, network: formatIp(a.family, value), prefix, value };
}

export function formatIpCidr(c: IpCidr): string {
  return `${c.network}/${c.prefix}`;
}

/** True when `ip` (either family's text) lies in `c`; an address of the other family never does. */
export function ipCidrContains(c: IpCidr, ip: string): boolean {
  const f = ipFamilyOf(ip);
  if (f !== c.family) return false;
  if (f === 'ipv4') return cidrContains({ network: c.network, prefix: c.prefix }, ip);
  return (parseIp(ip).value & ipMask(c.family, c.prefix)) === c.value;
}

/** True when the two prefixes share an address (never across families). */
export function ipCidrsOverlap(a: IpCidr, b: IpCidr): boolean {
  if (a.family !== b.family) return false;
  const m = ipMask(a.family, Math.min(a.prefix, b.prefix));
  return (a.value & m) === (b.value & m);
}

/** `ip:port`, with IPv6 in brackets (`[2001:db8::1]:80`, RFC 5952 §6), as kube-proxy writes endpoints. */
export function formatHostPort(ip: string, port: number | string): string {
  return ip.indexOf(':') >= 0 ? `[${ip}]:${port}` : `${ip}:${port}`;
}
