/**
 * DNS messages as the twin's resolver and CoreDNS exchange them: a question,
 * and an answer with its rcode, sections and flags (RFC 1035 §4.1). Names are
 * fully qualified, lower case, with the trailing dot, as dig prints them.
 */

export type RRType = 'A' | 'AAAA' | 'SRV' | 'PTR' | 'CNAME' | 'SOA' | 'NS' | 'TXT';
export const RR_TYPES: readonly RRType[] = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'SOA', 'NS', 'TXT'];

/** RFC 1035 §4.1.1 RCODE names, as dig prints them. */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface Question {
  /** Fully qualified, with the trailing dot. */
  readonly name: string;
  readonly type: RRType;
}

/** A resource record; `data` is the RDATA as dig prints it. */
export interface RR {
  readonly name: string;
  readonly type: RRType;
  readonly ttl: number;
  readonly data: string;
}

export interface Answer {
  readonly rcode: Rcode;
  /** Authoritative answer (CoreDNS's kubernetes plugin sets it for its zones). */
  readonly aa: boolean;
  /** Recursion available (RA): set by a recursive server (forward's upstream); CoreDNS's own answers leave it clear. */
  readonly ra?: boolean;
  /** Truncated: the answer did not fit the UDP payload (RFC 1035 §4.1.1 TC). */
  readonly tc: boolean;
  readonly answer: readonly RR[];
  readonly authority: readonly RR[];
  /** Additional records (an SRV answer's targets). */
  readonly additional?: readonly RR[];
  /** Which server block and plugin gave it, in words (`kubernetes cluster.local`). */
  readonly by: string;
  /** What the server did on the way (a rewrite, a forward, a fallthrough). */
  readonly notes: readonly string[];
  /** Set when the answer came from beyond the cluster (forward): the upstream asked. */
  readonly upstream?: string;
}

/** Lower case, one trailing dot. */
export function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** Whether `name` is `zone` or below it (both fully qualified). */
export function inZone(name: string, zone: string): boolean {
  if (zone === '.') return true;
  return name === zone || name.endsWith(`.${zone}`);
}

/** The labels of `name` left of `zone` (`a.b.zone.` → [a, b]). */
export function labelsIn(name: string, zone: string): string[] {
  if (name === zone) return [];
  const base = zone === '.' ? name.slice(0, -1) : name.slice(0, name.length - zone.length - 1);
  return base === '' ? [] : base.split('.');
}

function nameLen(name: string): number {
  // Wire form: a length byte per label plus the root's zero byte.
  return name === '.' ? 1 : name.length + 1;
}

function rdataLen(rr: RR): number {
  switch (rr.type) {
    case 'A':
      return 4;
    case 'AAAA':
      return 16;
    case 'SRV': {
      const target = rr.data.split(' ')[3] ?? '.';
      return 6 + nameLen(target);
    }
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return nameLen(rr.data);
    case 'SOA': {
      const [m = '.', r = '.'] = rr.data.split(' ');
      return nameLen(m) + nameLen(r) + 20;
    }
    case 'TXT':
      return rr.data.length + 1;
  }
}

/**
 * The answer's size on the wire (header, question, records). Owner names
 * equal to the question's are a 2-byte compression pointer, as every server
 * packs them; other names are counted in full (an upper bound).
 */
export function wireSize(q: Question, a: Pick<Answer, 'answer' | 'authority'>): number {
  let n = 12 + nameLen(q.name) + 4;
  for (const rr of [...a.answer, ...a.authority])
    n += (rr.name === q.name ? 2 : nameLen(rr.name)) + 10 + rdataLen(rr);
  return n;
}

/** RFC 1035 §4.2.1: a UDP message without EDNS0 is at most 512 bytes. */
export const UDP_PAYLOAD = 512;

/** `10.0.0.1` → `1.0.0.10.in-addr.arpa.` */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa.`;
}

/** `1.0.0.10.in-addr.arpa.` → `10.0.0.1`, or undefined when it is not a full IPv4 reverse name. */
export function ipOfReverse(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.$/.exec(name);
  if (!m) return undefined;
  const parts = [m[4], m[3], m[2], m[1]].map(Number);
  return parts.every((x) => x <= 255) ? parts.join('.') : undefined;
}
