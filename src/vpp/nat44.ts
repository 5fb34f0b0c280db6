/**
 * NAT44 as FD.io VPP v18.01 runs it (`src/plugins/nat/`: nat.c, in2out.c,
 * out2in.c), in the shape Contiv-VPP configured it for Services:
 *
 * - **Static mappings with load-balanced locals** (`nat44_add_del_lb_static_mapping`,
 *   nat.c): the external `addr:port` goes into every worker's `out2in` hash
 *   with the value ~0, each local `addr:port` into `in2out` with ~0, so the
 *   fast paths hand such packets to the load-balancing code.
 * - **`nat44-out2in`** (`snat_out2in_node_fn`, out2in.c): look the destination
 *   up in `out2in`; ~0 means `snat_out2in_lb`: an endpoint-dependent session
 *   (`out2in_ed`/`in2out_ed`, keyed by both ends) or, when there is none, a
 *   local chosen by `snat_static_mapping_match` (a random number over the
 *   locals' cumulative probabilities) and a new session. No session and no
 *   mapping: with `forwarding` enabled (Contiv's setting) the packet passes
 *   untranslated, `session index -1`.
 * - **`nat44-in2out`** (fast path) looks the source up in `in2out`; a miss or
 *   the ~0 marker sends the packet to **`nat44-in2out-slowpath`**, where
 *   `snat_in2out_lb` finds the endpoint-dependent session the request made
 *   and rewrites the source back to the Service's address; a packet no
 *   mapping or session covers is left alone (`snat_not_translate`), `session -1`.
 * - **Sessions** live in a per-thread pool: `nat_session_alloc_or_recycle`
 *   takes the lowest free index, and that index is what the trace prints.
 * - Checksums are updated incrementally with `ip_csum_update` (csum.ts).
 *
 * Twice-NAT, dynamic address pools and ICMP are not modelled; a packet that
 * would need them is said so by the caller.
 */
import type { Ipv4 } from '../wire/addr.js';
import { ipCsumFold, ipCsumUpdate, loadLe, storeLe16 } from './csum.js';

/** Seeded chance from the layer above (kernel/random.ts's Chooser fits). */
export interface NatChooser {
  integer(from: number, to: number, label: string): number;
}

export interface LbLocal {
  readonly addr: Ipv4;
  readonly port: number;
  /** Contiv's `Probability` (0 for a single local: "not really configured"). */
  readonly probability: number;
}

/** `snat_static_mapping_t` with locals (the only kind Contiv's Service renderer installs). */
export interface StaticMapping {
  readonly externalAddr: Ipv4;
  readonly externalPort: number;
  readonly proto: 6 | 17;
  readonly locals: readonly LbLocal[];
  /** What Contiv made it for (`default/web:80`), for the trace's notes. */
  readonly tag?: string;
}

export interface NatSession {
  readonly index: number;
  /** The inside (local) endpoint and the outside (external) one. */
  readonly in2out: { readonly addr: Ipv4; readonly port: number };
  readonly out2in: { readonly addr: Ipv4; readonly port: number };
  readonly extHost: { readonly addr: Ipv4; readonly port: number };
  readonly proto: number;
  totalPkts: number;
}

/** `snat_out2in_trace_t` / `snat_in2out_trace_t`. */
export interface NatTrace {
  readonly node: 'nat44-out2in' | 'nat44-in2out' | 'nat44-in2out-slowpath';
  readonly swIfIndex: number;
  readonly nextIndex: number;
  /** -1 when no session was used. */
  readonly sessionIndex: number;
}

/** out2in.c `snat_out2in_next_t` and in2out.c `snat_in2out_next_t`. */
export const OUT2IN_NEXT = { DROP: 0, LOOKUP: 1, ICMP_ERROR: 2, REASS: 3 } as const;
export const IN2OUT_NEXT = { LOOKUP: 0, DROP: 1, ICMP_ERROR: 2, SLOW_PATH: 3, REASS: 4 } as const;

const ipAt = (b: Uint8Array, at: number): Ipv4 => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const portAt = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const ep = (a: Ipv4, p: number): string => `${a}:${p}`;

/** Rewrite one address (and its port) in the IPv4 header at `l3`, VPP's way. */
function rewrite(b: Uint8Array, l3: number, which: 'src' | 'dst', addr: Ipv4, port: number): void {
  const aAt = l3 + (which === 'src' ? 12 : 16);
  const l4 = l3 + (b[l3]! & 0x0f) * 4;
  const pAt = l4 + (which === 'src' ? 0 : 2);
  const proto = b[l3 + 9]!;
  const oldAddr = loadLe(b, aAt, 4);
  addr.split('.').forEach((o, i) => (b[aAt + i] = Number(o)));
  const newAddr = loadLe(b, aAt, 4);
  storeLe16(b, l3 + 10, ipCsumFold(ipCsumUpdate(loadLe(b, l3 + 10, 2), oldAddr, newAddr)));
  const oldPort = loadLe(b, pAt, 2);
  b[pAt] = port >> 8;
  b[pAt + 1] = port & 0xff;
  const newPort = loadLe(b, pAt, 2);
  if (proto === 6) {
    let sum = loadLe(b, l4 + 16, 2);
    sum = ipCsumUpdate(sum, oldAddr, newAddr);
    sum = ipCsumUpdate(sum, oldPort, newPort);
    storeLe16(b, l4 + 16, ipCsumFold(sum));
  } else {
    // "udp0->checksum = 0" (out2in.c / in2out.c)
    b[l4 + 6] = 0;
    b[l4 + 7] = 0;
  }
}

/** The NAT44 plugin's state on one vswitch (one worker thread, fib 0). */
export class Nat44 {
  /** `forwarding_enabled`: pass what no mapping covers (Contiv sets it). */
  forwarding = true;
  private readonly mappings: StaticMapping[] = [];
  private readonly pool: (NatSession | undefined)[] = [];
  private readonly out2inEd = new Map<string, number>();
  private readonly in2outEd = new Map<string, number>();

  constructor(private readonly chooser: NatChooser) {}

  addStaticMapping(m: StaticMapping): void {
    this.mappings.push(m);
  }

  staticMappings(): readonly StaticMapping[] {
    return this.mappings;
  }

  sessions(): readonly NatSession[] {
    return this.pool.filter((s): s is NatSession => s !== undefined);
  }

  private byExternal(addr: Ipv4, port: number, proto: number): StaticMapping | undefined {
    return this.mappings.find(
      (m) => m.externalAddr === addr && m.externalPort === port && m.proto === proto,
    );
  }

  private byLocal(addr: Ipv4, port: number, proto: number): StaticMapping | undefined {
    return this.mappings.find(
      (m) => m.proto === proto && m.locals.some((l) => l.addr === addr && l.port === port),
    );
  }

  /**
   * `snat_static_mapping_match` by external: `rand = 1 + random % prefix[hi]`,
   * then the first local whose cumulative probability reaches it.
   */
  private chooseLocal(m: StaticMapping): LbLocal {
    const prefix: number[] = [];
    let acc = 0;
    for (const l of m.locals) prefix.push((acc += l.probability));
    const total = prefix[prefix.length - 1]!;
    if (m.locals.length === 1 || total === 0) return m.locals[0]!;
    const rand = this.chooser.integer(
      1,
      total,
      `nat44 ${ep(m.externalAddr, m.externalPort)} local`,
    );
    return m.locals[prefix.findIndex((p) => p >= rand)]!;
  }

  /** `nat_session_alloc_or_recycle`: the lowest free pool index. */
  private allocSession(s: Omit<NatSession, 'index'>): NatSession {
    let i = this.pool.indexOf(undefined);
    if (i < 0) i = this.pool.length;
    const session: NatSession = { ...s, index: i };
    this.pool[i] = session;
    return session;
  }

  /** `nat44-out2in` for the IPv4 packet at `l3` received on `swIfIndex` (TCP/UDP). */
  out2in(b: Uint8Array, l3: number, swIfIndex: number): NatTrace {
    const proto = b[l3 + 9]!;
    const l4 = l3 + (b[l3]! & 0x0f) * 4;
    const trace = (nextIndex: number, s?: NatSession): NatTrace => ({
      node: 'nat44-out2in',
      swIfIndex,
      nextIndex,
      sessionIndex: s ? s.index : -1,
    });
    if (proto !== 6 && proto !== 17) return trace(OUT2IN_NEXT.LOOKUP);
    const dst = ipAt(b, l3 + 16);
    const dport = portAt(b, l4 + 2);
    const src = ipAt(b, l3 + 12);
    const sport = portAt(b, l4);
    const m = this.byExternal(dst, dport, proto);
    if (!m) return trace(this.forwarding ? OUT2IN_NEXT.LOOKUP : OUT2IN_NEXT.DROP);
    // snat_out2in_lb: the endpoint-dependent key is (local=dst, remote=src, proto).
    const edKey = `${ep(dst, dport)} ${ep(src, sport)} ${proto}`;
    let s = this.pool[this.out2inEd.get(edKey) ?? -1];
    if (!s) {
      const local = this.chooseLocal(m);
      s = this.allocSession({
        in2out: { addr: local.addr, port: local.port },
        out2in: { addr: dst, port: dport },
        extHost: { addr: src, port: sport },
        proto,
        totalPkts: 0,
      });
      this.out2inEd.set(edKey, s.index);
      this.in2outEd.set(`${ep(local.addr, local.port)} ${ep(src, sport)} ${proto}`, s.index);
    }
    rewrite(b, l3, 'dst', s.in2out.addr, s.in2out.port);
    s.totalPkts++;
    return trace(OUT2IN_NEXT.LOOKUP, s);
  }

  /**
   * `nat44-in2out` (fast path) then, when it hands over, `nat44-in2out-slowpath`:
   * one trace per node the packet visits.
   */
  in2out(b: Uint8Array, l3: number, swIfIndex: number): NatTrace[] {
    const proto = b[l3 + 9]!;
    const l4 = l3 + (b[l3]! & 0x0f) * 4;
    const fast: NatTrace = {
      node: 'nat44-in2out',
      swIfIndex,
      nextIndex: IN2OUT_NEXT.SLOW_PATH,
      sessionIndex: -1,
    };
    // The fast path hands ICMP and unknown protocols to the slow path too;
    // with no dynamic pool configured (Contiv has none) the slow path leaves
    // them alone.
    if (proto !== 6 && proto !== 17) {
      return [fast, { ...fast, node: 'nat44-in2out-slowpath', nextIndex: IN2OUT_NEXT.LOOKUP }];
    }
    const src = ipAt(b, l3 + 12);
    const sport = portAt(b, l4);
    const dst = ipAt(b, l3 + 16);
    const dport = portAt(b, l4 + 2);
    const slow = (s?: NatSession): NatTrace => ({
      node: 'nat44-in2out-slowpath',
      swIfIndex,
      nextIndex: IN2OUT_NEXT.LOOKUP,
      sessionIndex: s ? s.index : -1,
    });
    // The per-thread in2out hash holds only the LB locals (value ~0): a hit or
    // a miss both go to the slow path.
    const m = this.byLocal(src, sport, proto);
    if (!m) return [fast, slow()]; // snat_not_translate: nothing to do
    // snat_in2out_lb: the endpoint-dependent session (local=src, remote=dst).
    let s = this.pool[this.in2outEd.get(`${ep(src, sport)} ${ep(dst, dport)} ${proto}`) ?? -1];
    if (!s) {
      // A connection the local opened itself: a new session towards the external address.
      s = this.allocSession({
        in2out: { addr: src, port: sport },
        out2in: { addr: m.externalAddr, port: m.externalPort },
        extHost: { addr: dst, port: dport },
        proto,
        totalPkts: 0,
      });
      this.in2outEd.set(`${ep(src, sport)} ${ep(dst, dport)} ${proto}`, s.index);
      this.out2inEd.set(
        `${ep(m.externalAddr, m.externalPort)} ${ep(dst, dport)} ${proto}`,
        s.index,
      );
    }
    rewrite(b, l3, 'src', s.out2in.addr, s.out2in.port);
    s.totalPkts++;
    return [fast, slow(s)];
  }

  /**
   * `nat44-classify` (nat.c `nat44_classify_node_fn`), on an interface that is
   * both inside and outside: out2in when the destination is a pool address
   * or an address-only static mapping's external address (the lookup uses
   * port 0, protocol 0), in2out otherwise — so a port mapping's external
   * address (a Service VIP) goes to in2out. The node adds no trace record.
   */
  classify(b: Uint8Array, l3: number): 'nat44-in2out' | 'nat44-out2in' {
    const dst = ipAt(b, l3 + 16);
    // No address pool is modelled (Contiv configures none for Services); an
    // address-only mapping is one with external port 0.
    return this.mappings.some((m) => m.externalPort === 0 && m.externalAddr === dst)
      ? 'nat44-out2in'
      : 'nat44-in2out';
  }

  /**
   * Sessions other connections hold already (`show nat44 sessions` on a
   * running vswitch): they occupy the pool's lowest slots, so the next
   * session's index is the count of them. They match no packet here.
   */
  reserveSessions(n: number): void {
    for (let i = 0; i < n; i++)
      this.allocSession({
        in2out: { addr: '0.0.0.0', port: 0 },
        out2in: { addr: '0.0.0.0', port: 0 },
        extHost: { addr: '0.0.0.0', port: 0 },
        proto: 0,
        totalPkts: 0,
      });
  }

  /** Session expiry (`nat44_free_session_data` + `pool_put`): frees the index. */
  deleteSession(index: number): void {
    const s = this.pool[index];
    if (!s) return;
    for (const m of [this.out2inEd, this.in2outEd])
      for (const [k, v] of m) if (v === index) m.delete(k);
    this.pool[index] = undefined;
  }
}
