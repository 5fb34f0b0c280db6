/**
 * NAT44 as FD.io VPP v18.01 runs it (`src/plugins/nat/`: nat.c, in2out.c,
 * out2in.c) in the build Contiv-VPP shipped (vpp-dev/vpp `stable-1801-contiv`,
 * commit f232c2e1, the 18.01 branch with the NAT44 work of 18.04 picked onto
 * it: self-twice-NAT, identity mappings, `nat44-classify` by port), in the
 * shape Contiv-VPP configured it for Services:
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
 * - **Twice-NAT** (`snat_out2in_lb`, out2in.c): a mapping marked `twice-nat`
 *   also rewrites the source of a new session's first packet to an address
 *   and port taken from the twice-NAT pool (`nat44_add_address … twice-nat`,
 *   `snat_alloc_outside_address_and_port`: the pool's first address, port
 *   `1024 + random(1, 64511)`, a busy port drawn again); `self-twice-nat`
 *   (VPP-1221, "Add special Twice-NAT feature") does so only when the source
 *   is the local the mapping chose — a client that is its own endpoint,
 *   which Contiv uses for every Service so that the reply comes back through
 *   VPP instead of staying inside the pod. The `in2out_ed` key is then the
 *   local and the twice-NAT address, and `snat_in2out_lb` rewrites both ends
 *   of the reply back.
 * - **Identity mappings** (`nat44_add_del_identity_mapping`, VPP-1212): a
 *   static mapping whose local and external address are the same, address
 *   only or for one protocol and port: `nat44-classify` sends packets to it
 *   the in2out way, and translation leaves them as they are.
 * - Checksums are updated incrementally with `ip_csum_update` (csum.ts),
 *   every rewritten field summed before one `ip_csum_fold`, as the nodes do.
 *
 * - **Forwarding** (`forwarding_enabled`, Contiv's setting): what no mapping
 *   covers passes out2in untranslated and leaves a bypass session
 *   (`create_bypass_for_fwd`) that keeps its answer untranslated in2out.
 *
 * - **ICMP** (`icmp_in2out`, `icmp_out2in`): echoes by identifier, errors
 *   by the packet they quote (see `icmp`).
 *
 * Not modelled: dynamic SNAT from an address pool (`nat44-in2out-output`);
 * a packet that would need it is said so by the caller.
 */
import type { Ipv4 } from '../wire/addr.js';
import { internetChecksum } from '../wire/checksum.js';
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

/** `twice_nat_type_t` (nat.h): translate the external host's address too — always, or only for a client that is its own endpoint. */
export type TwiceNat = 'twice-nat' | 'self-twice-nat';

/**
 * `snat_static_mapping_t` with locals (the kind Contiv's Service renderer
 * installs), or an identity mapping (one local equal to the external address;
 * port 0 and proto 0 for an address-only one).
 */
export interface StaticMapping {
  readonly externalAddr: Ipv4;
  readonly externalPort: number;
  readonly proto: 0 | 1 | 6 | 17;
  readonly locals: readonly LbLocal[];
  readonly twiceNat?: TwiceNat;
  /** What Contiv made it for (`default/web:80`), for the trace's notes. */
  readonly tag?: string;
  /**
   * `out2in-only` (the flag Contiv's vpp-agent sets on a Service's mapping):
   * only a connection that comes in through the external address is
   * translated; a local's own new connection is not (`snat_static_mapping_match`
   * by local skips such a mapping), as Contiv's trace of a Service endpoint
   * answering a client on another node shows (`session -1` on its node).
   */
  readonly out2inOnly?: boolean;
}

export interface NatSession {
  readonly index: number;
  /** The inside (local) endpoint and the outside (external) one. */
  readonly in2out: { readonly addr: Ipv4; readonly port: number };
  readonly out2in: { readonly addr: Ipv4; readonly port: number };
  readonly extHost: { readonly addr: Ipv4; readonly port: number };
  /** `SNAT_SESSION_FLAG_FWD_BYPASS`: a forwarded connection's session, which keeps its reply untranslated. */
  readonly bypass?: boolean;
  /** A twice-NAT session's translated external host (`ext_host_nat_addr`/`_port`). */
  readonly extHostNat?: { readonly addr: Ipv4; readonly port: number };
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

/** One endpoint to rewrite: the source or destination address and its port. */
interface Change {
  readonly which: 'src' | 'dst';
  readonly addr: Ipv4;
  readonly port: number;
}

/**
 * Rewrite endpoints of the IPv4 packet at `l3`, VPP's way: every changed
 * field folded into one `ip_csum_update` chain per checksum, then one
 * `ip_csum_fold` (out2in.c / in2out.c, `snat_out2in_lb`, `snat_in2out_lb`).
 */
function rewrite(b: Uint8Array, l3: number, changes: readonly Change[]): void {
  const l4 = l3 + (b[l3]! & 0x0f) * 4;
  const proto = b[l3 + 9]!;
  let ipSum = loadLe(b, l3 + 10, 2);
  let l4Sum = proto === 6 ? loadLe(b, l4 + 16, 2) : 0n;
  for (const c of changes) {
    const aAt = l3 + (c.which === 'src' ? 12 : 16);
    const pAt = l4 + (c.which === 'src' ? 0 : 2);
    const oldAddr = loadLe(b, aAt, 4);
    c.addr.split('.').forEach((o, i) => (b[aAt + i] = Number(o)));
    const newAddr = loadLe(b, aAt, 4);
    const oldPort = loadLe(b, pAt, 2);
    b[pAt] = c.port >> 8;
    b[pAt + 1] = c.port & 0xff;
    const newPort = loadLe(b, pAt, 2);
    ipSum = ipCsumUpdate(ipSum, oldAddr, newAddr);
    l4Sum = ipCsumUpdate(ipCsumUpdate(l4Sum, oldAddr, newAddr), oldPort, newPort);
  }
  storeLe16(b, l3 + 10, ipCsumFold(ipSum));
  if (proto === 6) storeLe16(b, l4 + 16, ipCsumFold(l4Sum));
  else {
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
  /** The per-thread `in2out`/`out2in` hashes of sessions that are not endpoint-dependent (ICMP with a plain static mapping). */
  private readonly in2outPlain = new Map<string, number>();
  private readonly out2inPlain = new Map<string, number>();
  /** `sm->twice_nat_addresses` with their busy ports (`busy_<proto>_port_bitmap`). */
  private readonly twiceNatPool: { addr: Ipv4; busy: Set<string> }[] = [];
  /** `sm->addresses`. */
  private readonly addresses: Ipv4[] = [];

  constructor(private readonly chooser: NatChooser) {}

  addStaticMapping(m: StaticMapping): void {
    this.mappings.push(m);
  }

  /**
   * `nat44_add_del_identity_mapping` (nat.c, VPP-1212): a static mapping from
   * the address to itself, for one protocol and port or (port 0, proto 0)
   * for the whole address.
   */
  addIdentityMapping(addr: Ipv4, proto: 0 | 6 | 17 = 0, port = 0, tag?: string): void {
    this.mappings.push({
      externalAddr: addr,
      externalPort: port,
      proto,
      locals: [{ addr, port, probability: 0 }],
      ...(tag ? { tag } : {}),
    });
  }

  /**
   * `nat44_add_address` (no twice-nat): an address of the pool dynamic
   * translation takes from. Only `nat44-classify` reads it here: the
   * translation that allocates from it (`nat44-in2out-output`) is not
   * modelled.
   */
  addAddress(addr: Ipv4): void {
    this.addresses.push(addr);
  }

  /** `nat44_add_address … twice-nat`: an address of the twice-NAT pool. */
  addTwiceNatAddress(addr: Ipv4): void {
    this.twiceNatPool.push({ addr, busy: new Set() });
  }

  /** The pool addresses (`show nat44 addresses`). */
  poolAddresses(): readonly Ipv4[] {
    return this.addresses;
  }

  twiceNatAddresses(): readonly Ipv4[] {
    return this.twiceNatPool.map((a) => a.addr);
  }

  /**
   * `nat_alloc_addr_and_port_default` (nat.c) on the twice-NAT pool, one
   * worker: the first address, port `snat_random_port (1, port_per_thread)
   * + 1024` (port_per_thread = 0xffff − 1024), a busy one drawn again. All
   * 64,511 ports busy (`SNAT_OUT2IN_ERROR_OUT_OF_PORTS`) is not modelled.
   */
  private allocTwiceNat(proto: number): { addr: Ipv4; port: number } | undefined {
    const a = this.twiceNatPool[0];
    if (!a) return undefined;
    let port = 0;
    // VPP draws until it hits a free port; a seeded chooser that keeps
    // answering busy ones gets the next free port upward after 64 draws.
    for (let draw = 0; draw < 64 && (port === 0 || a.busy.has(`${proto}/${port}`)); draw++)
      port = this.chooser.integer(1025, 65535, `nat44 twice-nat ${a.addr} port`);
    while (a.busy.has(`${proto}/${port}`)) port = port === 65535 ? 1025 : port + 1;
    a.busy.add(`${proto}/${port}`);
    return { addr: a.addr, port };
  }

  staticMappings(): readonly StaticMapping[] {
    return this.mappings;
  }

  sessions(): readonly NatSession[] {
    return this.pool.filter((s): s is NatSession => s !== undefined);
  }

  /**
   * `snat_static_mapping_match` by external: the (address, port, protocol)
   * key, then the address-only one (port 0, protocol 0).
   */
  private byExternal(addr: Ipv4, port: number, proto: number): StaticMapping | undefined {
    const at = (p: number, pr: number): StaticMapping | undefined =>
      this.mappings.find((m) => m.externalAddr === addr && m.externalPort === p && m.proto === pr);
    return at(port, proto) ?? at(0, 0);
  }

  /** `snat_static_mapping_match` by local, the same two keys. */
  private byLocal(addr: Ipv4, port: number, proto: number): StaticMapping | undefined {
    const at = (p: number, pr: number): StaticMapping | undefined =>
      this.mappings.find(
        (m) => m.proto === pr && m.locals.some((l) => l.addr === addr && l.port === p),
      );
    return at(port, proto) ?? at(0, 0);
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
    if (proto === 1) {
      const r = this.icmp(b, l3, 'out2in');
      return trace(r.next === 'drop' ? OUT2IN_NEXT.DROP : OUT2IN_NEXT.LOOKUP, r.session);
    }
    if (proto !== 6 && proto !== 17) return trace(OUT2IN_NEXT.LOOKUP);
    const dst = ipAt(b, l3 + 16);
    const dport = portAt(b, l4 + 2);
    const src = ipAt(b, l3 + 12);
    const sport = portAt(b, l4);
    const m = this.byExternal(dst, dport, proto);
    if (!m) {
      if (!this.forwarding) return trace(OUT2IN_NEXT.DROP);
      this.bypassForFwd(dst, dport, src, sport, proto);
      return trace(OUT2IN_NEXT.LOOKUP);
    }
    // snat_out2in_lb: the endpoint-dependent key is (local=dst, remote=src, proto).
    const edKey = `${ep(dst, dport)} ${ep(src, sport)} ${proto}`;
    let s = this.pool[this.out2inEd.get(edKey) ?? -1];
    if (!s) {
      const chosen = this.chooseLocal(m);
      // An address-only mapping keeps the packet's port.
      const local = m.externalPort === 0 ? { ...chosen, port: dport } : chosen;
      const twice =
        m.twiceNat === 'twice-nat' || (m.twiceNat === 'self-twice-nat' && src === local.addr);
      const extHostNat = twice ? this.allocTwiceNat(proto) : undefined;
      // SNAT_OUT2IN_ERROR_OUT_OF_PORTS: no twice-NAT address to take.
      if (twice && !extHostNat) return trace(OUT2IN_NEXT.DROP);
      s = this.allocSession({
        in2out: { addr: local.addr, port: local.port },
        out2in: { addr: dst, port: dport },
        extHost: { addr: src, port: sport },
        ...(extHostNat ? { extHostNat } : {}),
        proto,
        totalPkts: 0,
      });
      this.out2inEd.set(edKey, s.index);
      const remote = extHostNat ?? { addr: src, port: sport };
      this.in2outEd.set(
        `${ep(local.addr, local.port)} ${ep(remote.addr, remote.port)} ${proto}`,
        s.index,
      );
    }
    rewrite(b, l3, [
      { which: 'dst', addr: s.in2out.addr, port: s.in2out.port },
      ...(s.extHostNat ? [{ which: 'src' as const, ...s.extHostNat }] : []),
    ]);
    s.totalPkts++;
    return trace(OUT2IN_NEXT.LOOKUP, s);
  }

  /**
   * ICMP through NAT44 (`icmp_in2out` / `icmp_out2in` with
   * `icmp_match_in2out_slow` / `icmp_match_out2in_slow`, in2out.c / out2in.c):
   *
   * - The key is the echo identifier for an echo, the inner (quoted)
   *   packet's for an error (`icmp_get_key`): its destination end in2out, its
   *   source end out2in — the end the NAT rewrote on the way the quoted
   *   packet went.
   * - A Service's mapping (the `~0` key): the endpoint-dependent session
   *   (`icmp_get_ed_key`); none is a drop — so an error about a connection
   *   NAT44 knows is translated, any other dropped. An address-only or
   *   ICMP static mapping: echoes make a session (`slow_path`,
   *   `create_session_for_static_mapping`); an error without a session is a
   *   drop (`SNAT_IN2OUT_ERROR_BAD_ICMP_TYPE`). No mapping: forwarding passes
   *   it untranslated (out2in with a bypass session).
   * - The ICMP checksum must be right (else a drop). Then the outer address
   *   (source in2out, destination out2in) and, for an echo, the identifier
   *   are rewritten; for an error the quoted packet's address and port
   *   instead, the ICMP checksum updated for each — and the quoted IP
   *   header's own checksum left as it was: the 18.01 code does not update it.
   */
  private icmp(
    b: Uint8Array,
    l3: number,
    dir: 'in2out' | 'out2in',
  ): { next: 'lookup' | 'drop'; session?: NatSession } {
    const l4 = l3 + (b[l3]! & 0x0f) * 4;
    const type = b[l4]!;
    // icmp_is_error_message: destination unreachable, source quench, redirect, time exceeded, parameter problem
    const error = [3, 4, 5, 11, 12].includes(type);
    const echo = type === 0 || type === 8;
    const src = ipAt(b, l3 + 12);
    const dst = ipAt(b, l3 + 16);
    const inner = l4 + 8;
    const innerL4 = inner + (b[inner]! & 0x0f) * 4;
    const innerProto = error ? b[inner + 9]! : 1;
    if (error && innerProto !== 1 && innerProto !== 6 && innerProto !== 17) return { next: 'drop' };
    const idAt = (at: number): number => portAt(b, at + 4);
    // The quoted packet's ends: [source addr, source port], [destination addr, destination port].
    const innerEnds = (): [Ipv4, number, Ipv4, number] =>
      innerProto === 1
        ? [ipAt(b, inner + 12), idAt(innerL4), ipAt(b, inner + 16), idAt(innerL4)]
        : [ipAt(b, inner + 12), portAt(b, innerL4), ipAt(b, inner + 16), portAt(b, innerL4 + 2)];
    const id = idAt(l4);
    let key: [Ipv4, number];
    if (!error) key = dir === 'in2out' ? [src, id] : [dst, id];
    else {
      const [is, isp, idd, idp] = innerEnds();
      key = dir === 'in2out' ? [idd, idp] : [is, isp];
    }
    const keyProto = error ? innerProto : 1;
    const m =
      dir === 'in2out'
        ? this.byLocal(key[0], key[1], keyProto)
        : this.byExternal(key[0], key[1], keyProto);
    let value: { addr: Ipv4; port: number } | undefined;
    let session: NatSession | undefined;
    if (!m) {
      if (dir === 'out2in') {
        if (!this.forwarding) return { next: 'drop' };
        const [l, r] = error ? [innerEnds()[0], innerEnds()[2]] : [dst, src];
        const [lp, rp] = error ? [innerEnds()[1], innerEnds()[3]] : [id, id];
        this.bypassForFwd(l, lp, r, rp, keyProto);
      }
      return { next: 'lookup' };
    }
    if (m.proto !== 1 && m.externalPort !== 0) {
      // A Service's mapping: the endpoint-dependent session or a drop.
      if (!echo && !error) return { next: 'drop' };
      let edKey: string;
      if (!error)
        edKey =
          dir === 'in2out' ? `${ep(src, id)} ${ep(dst, id)} 1` : `${ep(dst, id)} ${ep(src, id)} 1`;
      else {
        const [is, isp, idd, idp] = innerEnds();
        edKey =
          dir === 'in2out'
            ? `${ep(idd, idp)} ${ep(is, isp)} ${innerProto}`
            : `${ep(is, isp)} ${ep(idd, idp)} ${innerProto}`;
      }
      session = this.pool[(dir === 'in2out' ? this.in2outEd : this.out2inEd).get(edKey) ?? -1];
      if (!session) return { next: 'drop' };
      value = dir === 'in2out' ? session.out2in : session.in2out;
    } else {
      if (error) return { next: 'drop' };
      const plainKey = `${key[0]}:${key[1]} 1`;
      const plain = dir === 'in2out' ? this.in2outPlain : this.out2inPlain;
      session = this.pool[plain.get(plainKey) ?? -1];
      if (!session) {
        if (dir === 'out2in' && type !== 0 && !(type === 8 && m.externalPort === 0))
          return { next: 'drop' }; // SNAT_OUT2IN_ERROR_BAD_ICMP_TYPE
        const local = m.locals[0]!;
        const inside = { addr: local.addr, port: m.externalPort === 0 ? key[1] : local.port };
        const outside = {
          addr: m.externalAddr,
          port: m.externalPort === 0 ? key[1] : m.externalPort,
        };
        session = this.allocSession({
          in2out: inside,
          out2in: outside,
          extHost: { addr: dir === 'in2out' ? dst : src, port: id },
          proto: 1,
          totalPkts: 0,
        });
        this.in2outPlain.set(`${inside.addr}:${inside.port} 1`, session.index);
        this.out2inPlain.set(`${outside.addr}:${outside.port} 1`, session.index);
      }
      value = dir === 'in2out' ? session.out2in : session.in2out;
    }
    const icmpLen = ((b[l3 + 2]! << 8) | b[l3 + 3]!) - (l4 - l3);
    if (internetChecksum(b.subarray(l4, l4 + icmpLen)) !== 0) return { next: 'drop' };
    // the outer address
    const aAt = l3 + (dir === 'in2out' ? 12 : 16);
    const oldA = loadLe(b, aAt, 4);
    value.addr.split('.').forEach((o, i) => (b[aAt + i] = Number(o)));
    storeLe16(b, l3 + 10, ipCsumFold(ipCsumUpdate(loadLe(b, l3 + 10, 2), oldA, loadLe(b, aAt, 4))));
    if (b[l4 + 2] === 0 && b[l4 + 3] === 0) b[l4 + 2] = b[l4 + 3] = 0xff;
    const field = (at: number, bytes: number[]): void => {
      const old = loadLe(b, at, bytes.length as 2 | 4);
      bytes.forEach((x, i) => (b[at + i] = x));
      storeLe16(
        b,
        l4 + 2,
        ipCsumFold(ipCsumUpdate(loadLe(b, l4 + 2, 2), old, loadLe(b, at, bytes.length as 2 | 4))),
      );
    };
    const port = [value.port >> 8, value.port & 0xff];
    if (!error) {
      if (value.port !== id) field(l4 + 4, port);
    } else {
      field(inner + (dir === 'in2out' ? 16 : 12), value.addr.split('.').map(Number));
      const pAt = innerProto === 1 ? innerL4 + 4 : innerL4 + (dir === 'in2out' ? 2 : 0);
      field(pAt, port);
    }
    session.totalPkts++;
    return { next: 'lookup', session };
  }

  /**
   * `create_bypass_for_fwd` (out2in.c): a packet forwarded untranslated
   * leaves a session keyed in `in2out_ed` by its destination (the local end)
   * and source, flagged FWD_BYPASS, so that the answer — which may come from
   * a Service's local, whose address and port `nat44-in2out` would otherwise
   * translate — passes untranslated too. It takes a pool slot; the trace
   * prints `session index -1`.
   */
  private bypassForFwd(dst: Ipv4, dport: number, src: Ipv4, sport: number, proto: number): void {
    const key = `${ep(dst, dport)} ${ep(src, sport)} ${proto}`;
    if (this.pool[this.in2outEd.get(key) ?? -1]) return;
    const s = this.allocSession({
      in2out: { addr: dst, port: dport },
      out2in: { addr: dst, port: dport },
      extHost: { addr: src, port: sport },
      bypass: true,
      proto,
      totalPkts: 0,
    });
    this.in2outEd.set(key, s.index);
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
    if (proto === 1) {
      const r = this.icmp(b, l3, 'in2out');
      return [
        fast,
        {
          ...fast,
          node: 'nat44-in2out-slowpath',
          nextIndex: r.next === 'drop' ? IN2OUT_NEXT.DROP : IN2OUT_NEXT.LOOKUP,
          sessionIndex: r.session ? r.session.index : -1,
        },
      ];
    }
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
    // is_fwd_bypass_session: the answer to a forwarded packet stays as it is.
    if (s?.bypass) return [fast, slow()];
    if (!s && m.out2inOnly) return [fast, slow()];
    if (!s) {
      // No session: translated to the mapping's external address with a new
      // one — also the answer to a request that reached this local directly
      // through nat44-in2out (its sender's TAP is NAT inside too), which left
      // no bypass session. A connection the local opened itself: a new session towards the external address.
      s = this.allocSession({
        in2out: { addr: src, port: sport },
        // An address-only mapping keeps the packet's port.
        out2in: { addr: m.externalAddr, port: m.externalPort === 0 ? sport : m.externalPort },
        extHost: { addr: dst, port: dport },
        proto,
        totalPkts: 0,
      });
      this.in2outEd.set(`${ep(src, sport)} ${ep(dst, dport)} ${proto}`, s.index);
      this.out2inEd.set(`${ep(s.out2in.addr, s.out2in.port)} ${ep(dst, dport)} ${proto}`, s.index);
    }
    rewrite(b, l3, [
      { which: 'src', addr: s.out2in.addr, port: s.out2in.port },
      ...(s.extHostNat ? [{ which: 'dst' as const, ...s.extHost }] : []),
    ]);
    s.totalPkts++;
    return [fast, slow(s)];
  }

  /**
   * `nat44-classify` (nat.c `nat44_classify_node_fn_inline`, Contiv's build),
   * on an interface that is both inside and outside: out2in when the
   * destination is an address of the (non-twice-NAT) pool, or the external
   * address of a static mapping — address-only (port 0, protocol 0) first,
   * then by destination port and protocol — unless that mapping is an
   * identity mapping (local = external); in2out otherwise. So a packet to a
   * Service's VIP and port is translated out2in from any interface. The
   * node adds no trace record.
   */
  classify(b: Uint8Array, l3: number): 'nat44-in2out' | 'nat44-out2in' {
    const dst = ipAt(b, l3 + 16);
    const l4 = l3 + (b[l3]! & 0x0f) * 4;
    const proto = b[l3 + 9]!;
    if (this.addresses.includes(dst)) return 'nat44-out2in';
    const identity = (m: StaticMapping): boolean => m.locals[0]?.addr === m.externalAddr;
    const addrOnly = this.mappings.find(
      (m) => m.externalAddr === dst && m.externalPort === 0 && m.proto === 0,
    );
    if (addrOnly) return identity(addrOnly) ? 'nat44-in2out' : 'nat44-out2in';
    // ip_proto_to_snat_proto: TCP, UDP and ICMP have keys; the port word is read whatever the protocol.
    const withPort = this.mappings.find(
      (m) => m.externalAddr === dst && m.externalPort === portAt(b, l4 + 2) && m.proto === proto,
    );
    return withPort && !identity(withPort) ? 'nat44-out2in' : 'nat44-in2out';
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
