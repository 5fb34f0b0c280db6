/**
 * Sets of (protocol, port) as exact per-protocol interval lists.
 *
 * What a policy allows between two pods is a set of L4 destinations: for each
 * of TCP, UDP and SCTP (the protocols `NetworkPolicyPort.protocol` can name,
 * k8s.io/api/networking/v1 types.go), a set of ports in 1–65535. Rules add
 * ports (`ports: [{port: 80}]`), ranges (`endPort`, ANP `portRange`) or whole
 * protocols (`protocol` without `port`, or no `ports` at all); ANP's ordered
 * rules take ports away from what is left. So the value is a small algebra —
 * union, intersection, difference — on sorted, disjoint, non-adjacent
 * intervals, which prints as `TCP 1-79,81-65535`.
 *
 * A rule with no `ports` matches every protocol, including ones without ports
 * (ICMP…); the twin's universe is the three port-bearing protocols, which is
 * what every matrix cell reports.
 *
 * Values are interned in a `PortSetTable`: equal sets get the same small
 * integer id, so the reachability matrix can store one number per cell and
 * memoise set operations by id pair (a 5,000-pod matrix has millions of cells
 * but only a handful of distinct sets).
 */

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type L4Protocol = (typeof PROTOCOLS)[number];

export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** Inclusive interval [lo, hi]. */
export type Interval = readonly [number, number];

/** Sorted, disjoint, non-adjacent intervals inside [MIN_PORT, MAX_PORT]. */
export type Intervals = readonly Interval[];

/** A port set as the documents write it: per protocol, its inclusive ranges. */
export type PortRanges = { readonly [P in L4Protocol]?: Intervals };

/** An immutable set of (protocol, port). */
export class PortSet {
  private constructor(
    private readonly byProto: Readonly<Record<L4Protocol, Intervals>>,
    /** Canonical text, also the interning key. */
    readonly key: string,
  ) {}

  static readonly EMPTY: PortSet = PortSet.of({ TCP: [], UDP: [], SCTP: [] });
  static readonly ALL: PortSet = PortSet.of({
    TCP: [[MIN_PORT, MAX_PORT]],
    UDP: [[MIN_PORT, MAX_PORT]],
    SCTP: [[MIN_PORT, MAX_PORT]],
  });

  private static of(byProto: Record<L4Protocol, Intervals>): PortSet {
    const parts: string[] = [];
    for (const p of PROTOCOLS) {
      const iv = byProto[p];
      if (iv.length > 0) parts.push(`${p} ${formatIntervals(iv)}`);
    }
    return new PortSet(byProto, parts.join('; '));
  }

  /** One protocol, every port. */
  static protocol(proto: L4Protocol): PortSet {
    return PortSet.range(proto, MIN_PORT, MAX_PORT);
  }

  /** One protocol, ports lo..hi inclusive (clamped to 1–65535; empty when lo > hi). */
  static range(proto: L4Protocol, lo: number, hi: number): PortSet {
    const a = Math.max(MIN_PORT, lo);
    const b = Math.min(MAX_PORT, hi);
    const byProto: Record<L4Protocol, Intervals> = { TCP: [], UDP: [], SCTP: [] };
    if (a <= b) byProto[proto] = [[a, b]];
    return PortSet.of(byProto);
  }

  static port(proto: L4Protocol, port: number): PortSet {
    return PortSet.range(proto, port, port);
  }

  intervals(proto: L4Protocol): Intervals {
    return this.byProto[proto];
  }

  isEmpty(): boolean {
    return this.key === '';
  }

  isAll(): boolean {
    return this.key === PortSet.ALL.key;
  }

  equals(o: PortSet): boolean {
    return this.key === o.key;
  }

  has(proto: L4Protocol, port: number): boolean {
    // Binary search: sets from port ranges can hold many intervals.
    const iv = this.byProto[proto];
    let lo = 0;
    let hi = iv.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = iv[mid]!;
      if (port < a) hi = mid - 1;
      else if (port > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  union(o: PortSet): PortSet {
    if (o.isEmpty() || this.isAll()) return this;
    if (this.isEmpty() || o.isAll()) return o;
    return this.combine(o, unionIntervals);
  }

  intersect(o: PortSet): PortSet {
    if (o.isEmpty() || this.isAll()) return o;
    if (this.isEmpty() || o.isAll()) return this;
    return this.combine(o, intersectIntervals);
  }

  subtract(o: PortSet): PortSet {
    if (o.isEmpty() || this.isEmpty()) return this;
    if (o.isAll()) return PortSet.EMPTY;
    return this.combine(o, subtractIntervals);
  }

  complement(): PortSet {
    return PortSet.ALL.subtract(this);
  }

  private combine(o: PortSet, f: (a: Intervals, b: Intervals) => Intervals): PortSet {
    return PortSet.of({
      TCP: f(this.byProto.TCP, o.byProto.TCP),
      UDP: f(this.byProto.UDP, o.byProto.UDP),
      SCTP: f(this.byProto.SCTP, o.byProto.SCTP),
    });
  }

  /** `{ "TCP": "1-79,81-65535", "UDP": "53" }`: the JSON contract's cell; `{}` when empty. */
  toJSON(): Partial<Record<L4Protocol, string>> {
    const out: Partial<Record<L4Protocol, string>> = {};
    for (const p of PROTOCOLS) {
      const iv = this.byProto[p];
      if (iv.length > 0) out[p] = formatIntervals(iv);
    }
    return out;
  }

  /**
   * `{ "TCP": [[1, 79], [81, 65535]], "UDP": [[53, 53]] }`: the documents' port
   * set (schema/*.schema.json `portSet`), inclusive ranges per protocol; `{}`
   * when empty.
   */
  toRanges(): PortRanges {
    const out: { -readonly [P in L4Protocol]?: Intervals } = {};
    for (const p of PROTOCOLS) {
      const iv = this.byProto[p];
      if (iv.length > 0) out[p] = iv;
    }
    return out;
  }

  /** `TCP 1-79,81-65535; UDP 53`, `all` or `none`. */
  toString(): string {
    if (this.isAll()) return 'all';
    if (this.isEmpty()) return 'none';
    return this.key;
  }

  /** Parses what `toString`/`key` prints (and `all`/`none`); for tests and fixtures. */
  static parse(text: string): PortSet {
    const t = text.trim();
    if (t === 'all') return PortSet.ALL;
    if (t === 'none' || t === '') return PortSet.EMPTY;
    let out = PortSet.EMPTY;
    for (const part of t.split(';')) {
      const m = /^\s*(TCP|UDP|SCTP)\s+([\d,\s-]+)$/.exec(part);
      if (!m) throw new RangeError(`not a port set: ${JSON.stringify(text)}`);
      for (const r of m[2]!.split(',')) {
        const [a, b] = r.trim().split('-');
        out = out.union(PortSet.range(m[1] as L4Protocol, Number(a), Number(b ?? a)));
      }
    }
    return out;
  }
}

export function formatIntervals(iv: Intervals): string {
  return iv.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

function unionIntervals(a: Intervals, b: Intervals): Intervals {
  const all = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of all) {
    const last = out[out.length - 1];
    // Adjacent intervals merge too: [1,79] ∪ [80,80] = [1,80].
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function intersectIntervals(a: Intervals, b: Intervals): Intervals {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i]!;
    const [blo, bhi] = b[j]!;
    const lo = Math.max(alo, blo);
    const hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi]);
    if (ahi < bhi) i++;
    else j++;
  }
  return out;
}

function subtractIntervals(a: Intervals, b: Intervals): Intervals {
  const out: Interval[] = [];
  let j = 0;
  for (const [alo, ahi] of a) {
    let lo = alo;
    while (j < b.length && b[j]![1] < lo) j++;
    let k = j;
    while (k < b.length && b[k]![0] <= ahi) {
      const [blo, bhi] = b[k]!;
      if (blo > lo) out.push([lo, blo - 1]);
      lo = Math.max(lo, bhi + 1);
      if (lo > ahi) break;
      k++;
    }
    if (lo <= ahi) out.push([lo, ahi]);
  }
  return out;
}

/**
 * Interned port sets: id 0 is the empty set and id 1 the full set, so the
 * common cells never touch the tables. Operations are memoised by id pair.
 */
export class PortSetTable {
  static readonly EMPTY = 0;
  static readonly ALL = 1;

  private readonly sets: PortSet[] = [PortSet.EMPTY, PortSet.ALL];
  private readonly ids = new Map<string, number>([
    [PortSet.EMPTY.key, 0],
    [PortSet.ALL.key, 1],
  ]);
  private readonly unions = new Map<number, number>();
  private readonly intersections = new Map<number, number>();
  private readonly differences = new Map<number, number>();

  id(s: PortSet): number {
    let id = this.ids.get(s.key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(s);
      this.ids.set(s.key, id);
    }
    return id;
  }

  get(id: number): PortSet {
    const s = this.sets[id];
    if (s === undefined) throw new RangeError(`unknown port set id ${id}`);
    return s;
  }

  get size(): number {
    return this.sets.length;
  }

  union(a: number, b: number): number {
    if (a === b || b === 0 || a === 1) return a;
    if (a === 0 || b === 1) return b;
    const key = a < b ? a * 0x100000 + b : b * 0x100000 + a;
    let r = this.unions.get(key);
    if (r === undefined) {
      r = this.id(this.get(a).union(this.get(b)));
      this.unions.set(key, r);
    }
    return r;
  }

  intersect(a: number, b: number): number {
    if (a === b || b === 1 || a === 0) return a;
    if (a === 1 || b === 0) return b;
    const key = a < b ? a * 0x100000 + b : b * 0x100000 + a;
    let r = this.intersections.get(key);
    if (r === undefined) {
      r = this.id(this.get(a).intersect(this.get(b)));
      this.intersections.set(key, r);
    }
    return r;
  }

  subtract(a: number, b: number): number {
    if (a === 0 || b === 0) return a;
    if (a === b || b === 1) return 0;
    const key = a * 0x100000 + b;
    let r = this.differences.get(key);
    if (r === undefined) {
      r = this.id(this.get(a).subtract(this.get(b)));
      this.differences.set(key, r);
    }
    return r;
  }
}
