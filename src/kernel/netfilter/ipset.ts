/**
 * IP sets (net/netfilter/ipset) as the `-m set --match-set NAME FLAGS` match
 * reads them. A set is a typed collection of elements; each element has one
 * to three dimensions (an address or network, a protocol:port, another
 * address or network), and the match's FLAGS (`src`, `dst`, one per
 * dimension, in order) say which packet field fills each dimension.
 *
 * Semantics, from the kernel's set types:
 *   hash:ip          the address, masked to `netmask` (default /32)
 *   hash:net         the longest matching prefix decides; an element added
 *                    with `nomatch` is an exception: its match is a miss
 *                    (xt_set `--return-nomatch` turns that into a match)
 *   hash:ip,port     address and proto:port; a TCP/UDP/SCTP/UDPLITE port,
 *   hash:net,port    or for ICMP the type/code (`icmp:8/0`); other
 *   hash:ip,port,ip  protocols have port 0 (`ip_set_get_ip4_port`)
 *   hash:ip,port,net
 *   bitmap:ip        an address in the set's range (with netmask)
 *   bitmap:port      a TCP/UDP/SCTP/UDPLITE port in the set's range
 *   list:set         the member sets in order; the first that matches
 * A match naming fewer directions than the set has dimensions never matches
 * (`ip_set_test`: `opt->dim < set->type->dimension`); extra ones are ignored.
 * IPv4 (`family inet`) sets only.
 */
import { IPPROTO } from '../../wire/packet.js';

export type IpSetType =
  | 'hash:ip'
  | 'hash:net'
  | 'hash:ip,port'
  | 'hash:net,port'
  | 'hash:ip,port,ip'
  | 'hash:ip,port,net'
  | 'bitmap:ip'
  | 'bitmap:port'
  | 'list:set';

export const IPSET_TYPES: readonly IpSetType[] = [
  'hash:ip',
  'hash:net',
  'hash:ip,port',
  'hash:net,port',
  'hash:ip,port,ip',
  'hash:ip,port,net',
  'bitmap:ip',
  'bitmap:port',
  'list:set',
];

/** One dimension of an element. */
export type IpSetPart =
  /** An address or network: [lo, hi] as unsigned 32-bit integers, and its prefix. */
  | { readonly kind: 'net'; readonly lo: number; readonly hi: number; readonly prefix: number }
  /** A protocol and port (for ICMP: type << 8 | code). */
  | { readonly kind: 'port'; readonly proto: number; readonly port: number }
  /** bitmap:port: a port of any of TCP/UDP/SCTP/UDPLITE. */
  | { readonly kind: 'anyport'; readonly port: number }
  /** list:set: a member set. */
  | { readonly kind: 'set'; readonly name: string };

export interface IpSetEntry {
  readonly parts: readonly IpSetPart[];
  /** Added with `nomatch` (hash:net types): an exception inside a wider element. */
  readonly nomatch: boolean;
  /** Where it was defined, for traces. */
  readonly line?: number;
}

export interface IpSet {
  readonly name: string;
  readonly type: IpSetType;
  /** hash:ip and bitmap:ip: addresses are masked to this prefix before lookup. */
  readonly netmask: number;
  readonly entries: readonly IpSetEntry[];
  readonly file?: string;
  readonly line?: number;
}

export type IpSets = ReadonlyMap<string, IpSet>;

/** Dimensions of a set type (list:set: 1, its members bring their own). */
export function dimensions(type: IpSetType): number {
  if (type === 'list:set') return 1;
  return type.slice(type.indexOf(':') + 1).split(',').length;
}

/** What a packet offers the set match: its addresses, protocol and ports. */
export interface SetProbe {
  readonly src: number;
  readonly dst: number;
  readonly proto: number;
  /** -1 when the protocol has no ports. */
  readonly sport: number;
  readonly dport: number;
  readonly icmpType: number;
  readonly icmpCode: number;
}

export type SetDir = 'src' | 'dst';

/** The verdict of a set lookup: a plain match, a `nomatch` exception, or nothing. */
export type SetLookup = 'match' | 'nomatch' | 'miss';

const IPPROTO_UDPLITE = 136;
/** The protocols with ports (ip_set_get_ip4_port); bitmap:port takes only these. */
const PORT_PROTOS: readonly number[] = [IPPROTO.TCP, IPPROTO.UDP, IPPROTO.SCTP, IPPROTO_UDPLITE];

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** `ip_set_get_ip4_port`: the port for protocols that have one, ICMP type/code, else 0. */
function portOf(p: SetProbe, dir: SetDir): { proto: number; port: number } {
  switch (p.proto) {
    case IPPROTO.TCP:
    case IPPROTO.UDP:
    case IPPROTO.SCTP:
    case IPPROTO_UDPLITE:
      return { proto: p.proto, port: dir === 'src' ? p.sport : p.dport };
    case IPPROTO.ICMP:
      return { proto: p.proto, port: ((p.icmpType & 0xff) << 8) | (p.icmpCode & 0xff) };
    default:
      return { proto: p.proto, port: 0 };
  }
}

function partMatches(part: IpSetPart, p: SetProbe, dir: SetDir, netmask: number): boolean {
  switch (part.kind) {
    case 'net': {
      const a = dir === 'src' ? p.src : p.dst;
      // With a netmask (hash:ip, bitmap:ip), elements and packets stand for their whole block.
      const mask = maskOf(Math.min(netmask, 32));
      const m = (a & mask) >>> 0;
      return m >= (part.lo & mask) >>> 0 && m <= part.hi;
    }
    case 'port': {
      const q = portOf(p, dir);
      return q.proto === part.proto && q.port === part.port;
    }
    case 'anyport': {
      const q = portOf(p, dir);
      return PORT_PROTOS.includes(q.proto) && q.port === part.port;
    }
    case 'set':
      return false; // list:set members are looked up by lookupSet
  }
}

/**
 * Looks the packet up in `set` with `flags` (`src`/`dst` per dimension).
 * `depth` bounds list:set recursion (the kernel refuses a list:set member).
 */
export function lookupSet(
  sets: IpSets,
  set: IpSet,
  flags: readonly SetDir[],
  p: SetProbe,
  depth = 0,
): SetLookup {
  if (set.type === 'list:set') {
    if (depth > 0) return 'miss';
    for (const e of set.entries) {
      const part = e.parts[0];
      const member = part?.kind === 'set' ? sets.get(part.name) : undefined;
      if (!member) continue;
      const r = lookupSet(sets, member, flags, p, depth + 1);
      if (r === 'match') return r;
    }
    return 'miss';
  }
  const dim = dimensions(set.type);
  if (flags.length < dim) return 'miss';
  // The most specific matching element decides (hash:net* walk their prefixes longest first).
  let best: IpSetEntry | undefined;
  let bestPrefix = -1;
  for (const e of set.entries) {
    if (!e.parts.every((part, i) => partMatches(part, p, flags[i]!, set.netmask))) continue;
    const prefix = e.parts.reduce((n, part) => n + (part.kind === 'net' ? part.prefix : 0), 0);
    if (prefix > bestPrefix) {
      best = e;
      bestPrefix = prefix;
    }
  }
  if (!best) return 'miss';
  return best.nomatch ? 'nomatch' : 'match';
}

/** `-m set [!] --match-set NAME FLAGS [--return-nomatch]` (set_match_v4). */
export function setMatches(
  sets: IpSets,
  name: string,
  flags: readonly SetDir[],
  returnNomatch: boolean,
  p: SetProbe,
): boolean {
  const set = sets.get(name);
  if (!set) return false;
  const r = lookupSet(sets, set, flags, p);
  return r === 'match' || (r === 'nomatch' && returnNomatch);
}
