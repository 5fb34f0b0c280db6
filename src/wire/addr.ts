/**
 * IPv4 addresses and prefixes.
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

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

/** Parses a dotted quad to an unsigned 32-bit number; throws on anything else. */
export function ipToInt(s: Ipv4): number {
  if (!isIpv4(s)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  const [a, b, c, d] = s.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
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
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const prefixText = slash < 0 ? '32' : s.slice(slash + 1);
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    throw new RangeError(`not an IPv4 prefix: ${JSON.stringify(s)}`);
  }
  const prefix = Number(prefixText);
  return { network: intToIp((ipToInt(addr) & maskOf(prefix)) >>> 0), prefix };
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
