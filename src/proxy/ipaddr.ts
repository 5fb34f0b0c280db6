/**
 * Just enough IPv4/IPv6 address handling for kube-proxy's rule text: parse,
 * print the way Go's `net.IP.String()` / `net.IPNet.String()` do (RFC 5952
 * for IPv6), CIDR containment, and `net.JoinHostPort`. `wire/addr.ts` is
 * IPv4-only; kube-proxy runs one proxier per family, so IPv6 is needed here.
 */

export type IpFamily = 'IPv4' | 'IPv6';

/**
 * A dotted quad as Go prints it and the iptables parser keeps it (no leading
 * zeros, each octet ≤ 255): its own canonical form.
 */
export function plainIpv4(s: string): boolean {
  let octets = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(start) === 48)) return false;
    octets++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return false;
    i++;
    if (i === n) return false;
  }
  return octets === 4;
}

/** 16 bytes for IPv6, 4 for IPv4; undefined if not an address. */
export function parseIpBytes(s: string): Uint8Array | undefined {
  if (s.includes(':')) return parseV6(s);
  return parseV4(s);
}

/** Four dot-separated runs of 1–3 digits, each ≤ 255 (leading zeros allowed, as Go's ParseIP did). */
function parseV4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let digits = 0;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = v;
      digits = 0;
      v = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      v = v * 10 + (c - 48);
      if (v > 255) return undefined;
    } else return undefined;
  }
  if (digits === 0 || part !== 3) return undefined;
  out[3] = v;
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.split('::');
  if (dbl.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.includes('.')) {
        if (i !== items.length - 1) return undefined;
        const v4 = parseV4(it);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(dbl[0]!);
  const tail = dbl.length === 2 ? groups(dbl[1]!) : [];
  if (!head || !tail) return undefined;
  let all: number[];
  if (dbl.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function familyOfIp(s: string): IpFamily | undefined {
  if (plainIpv4(s)) return 'IPv4';
  const b = parseIpBytes(s);
  if (!b) return undefined;
  return b.length === 4 ? 'IPv4' : 'IPv6';
}

export function formatIpBytes(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // Longest run (>= 2) of zero groups, first one on ties (RFC 5952 / Go).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Go's `net.ParseIP(s).String()`; returns `s` unchanged if it does not parse. */
export function canonicalIp(s: string): string {
  if (plainIpv4(s)) return s;
  const b = parseIpBytes(s);
  return b ? formatIpBytes(b) : s;
}

export interface AnyCidr {
  readonly family: IpFamily;
  readonly network: Uint8Array;
  readonly prefix: number;
  /** Go's `net.IPNet.String()`: the masked network and prefix. */
  readonly text: string;
}

/** Parse `a.b.c.d/n` or `v6/n` (Go `ParseCIDRSloppy`): host bits are masked off. */
export function parseCidrAny(s: string): AnyCidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIpBytes(s.slice(0, slash));
  const pstr = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(pstr)) return undefined;
  const prefix = Number(pstr);
  if (prefix > ip.length * 8) return undefined;
  const network = maskBytes(ip, prefix);
  return {
    family: ip.length === 4 ? 'IPv4' : 'IPv6',
    network,
    prefix,
    text: `${formatIpBytes(network)}/${prefix}`,
  };
}

function maskBytes(ip: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(ip.length);
  for (let i = 0; i < ip.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = ip[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

export function cidrContainsIp(c: AnyCidr, ip: string): boolean {
  const b = parseIpBytes(ip);
  if (!b || b.length !== c.network.length) return false;
  const m = maskBytes(b, c.prefix);
  return m.every((x, i) => x === c.network[i]);
}

/** `net.JoinHostPort`: brackets around IPv6. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function isLoopback(ip: string): boolean {
  const b = parseIpBytes(ip);
  if (!b) return false;
  if (b.length === 4) return b[0] === 127;
  return b.every((x, i) => (i === 15 ? x === 1 : x === 0));
}
