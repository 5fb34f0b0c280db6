/**
 * `packeteye iptables trace`: one packet through one host's netfilter, as
 * given by that host's `iptables-save` dump.
 *
 * Semantics (the host is only its dump and its addresses):
 * - `localIps` are the host's addresses; 127.0.0.0/8 is always local. They
 *   answer `-m addrtype` (LOCAL; BROADCAST for a given prefix's broadcast
 *   address; MULTICAST/BROADCAST for the special ranges) and MASQUERADE.
 * - A packet whose source is local starts at OUTPUT (raw, conntrack, mangle,
 *   nat, filter, security OUTPUT); any other starts at PREROUTING (raw,
 *   conntrack, mangle, nat). After nat, an IPv4 packet takes the kernel
 *   model's input route (src/trace/iptables-route.ts: martians, broadcast,
 *   multicast, ip_forward, rp_filter, route_localnet, as `--sysctl` sets
 *   them): local or broadcast goes to INPUT, forward to FORWARD, a routing
 *   error is a DROP decided by the kernel before either (an IPv6 packet: a
 *   local destination goes to INPUT, any other to FORWARD); FORWARD and
 *   OUTPUT continue to POSTROUTING. A local
 *   packet to a local address loops back: OUTPUT → POSTROUTING → PREROUTING →
 *   INPUT on `lo`, keeping its conntrack entry and mark, as the kernel does.
 * - The packet is the first of a new connection: a TCP SYN (seq 1000, window
 *   64240), a UDP or SCTP datagram, or an ICMP echo request whose id is the
 *   source port. Without `sport` the source port is DEFAULT_SPORT (40000, a
 *   fixed port in Linux's default ephemeral range 32768–60999).
 * - MASQUERADE takes the first local address configured on the out-iface
 *   (inet_select_addr: one whose prefix holds the next hop first) when
 *   `localIps` name their devices; otherwise the first local address. The
 *   alternative says which.
 * - Simulated time is 0; conntrack sysctls have their defaults unless given.
 * - Not modelled here (the Host does it in full traces): output routing and
 *   the re-route after mangle; the out-iface is `--out-iface` as given, not
 *   the input route's device.
 *
 * Each alternative is one combination of chance decisions (statistic
 * random): all of them with their probabilities (`allPaths`), or the one a
 * seeded chooser picks.
 *
 * IPv6: an ip6tables-save dump (`Ruleset.family` ipv6) takes an IPv6 packet;
 * mixing families (an IPv4 packet against an ip6tables dump, or an IPv4
 * source with an IPv6 destination) is a RangeError (the CLI's exit 2). ::1
 * is always local; `localIps` of the other family are kept but never match.
 * IPv6 has no broadcast; `-m addrtype` answers UNSPEC for ::, MULTICAST for
 * ff00::/8, LOCAL for ::1 and the host's addresses, else UNICAST
 * (xt_addrtype match_type6, reduced to one type per address). The ICMP
 * packet is an ICMPv6 echo request (type 128). DNAT/SNAT destinations print
 * as `[2001:db8::1]:80`, as kube-proxy's tests write IPv6 endpoints. Only
 * this single-host trace evaluates IPv6: the wire emit (bytes) and the
 * cluster twin are IPv4-only.
 */
import {
  broadcastOf,
  formatHostPort,
  ipCidrContains,
  ipFamilyOf,
  ipv6ToBigInt,
  formatIpv6,
  parseCidr,
  parseIpCidr,
  type IpFamily,
  type Ipv4,
} from '../wire/addr.js';
import type { IpSets } from '../kernel/netfilter/ipset.js';
import {
  DEFAULT_RULES,
  reversePath,
  RouteTable,
  type PolicyRule,
  type Route,
} from '../kernel/fib.js';
import type { Ipv4Packet, L4Proto } from '../wire/packet.js';
import { NO_FLAGS, tcpFlags } from '../wire/packet.js';
import { openingPacketWith } from './opening.js';
import type { Host } from '../kernel/host.js';
import {
  decideInput,
  DEFAULT_IN_IFACE,
  routingHost,
  type RoutingSysctl,
} from './iptables-route.js';
import type {
  IptablesAlternative,
  IptablesTraceResult,
  PacketSummary,
  Rewrite,
  WalkSummary,
} from './model.js';
import { DEFAULT_CONNTRACK_SYSCTLS, type ConntrackSysctls } from '../kernel/conntrack/core.js';
import { enumerateBranches, SeededChooser, type Chooser } from '../kernel/random.js';
import { StepList, type Step } from '../kernel/step.js';
import {
  compileRuleset,
  hexMark,
  Netfilter,
  newSkb,
  type AddrType,
  type CompiledRuleset,
  type Decider,
  type HookContext,
  type HookName,
  type HookOutcome,
  type NetfilterEnv,
  type Ruleset,
  type Skb,
  type Verdict,
} from '../kernel/netfilter/index.js';

/** The fixed default source port (documented in the CLI help). */
export const DEFAULT_SPORT = 40000;

/** kube-proxy's masquerade mark (masqueradeBit 14). */
export const KUBE_MASQ_MARK = 0x4000;

export interface LocalIp {
  readonly ip: Ipv4;
  /** Prefix length of the address's subnet, when known. */
  readonly prefix?: number;
  /** Device the address is on, when known. */
  readonly iface?: string;
}

export interface IptablesTraceInput {
  readonly ruleset: Ruleset | CompiledRuleset;
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly proto: L4Proto;
  readonly dport: number;
  readonly sport?: number;
  readonly localIps: readonly LocalIp[];
  readonly inIface?: string;
  readonly outIface?: string;
  readonly allPaths: boolean;
  readonly seed: number;
  /** TCP flags of the packet (`S`, `A`, `SA`, `F`…, see wire tcpFlags); default a SYN. */
  readonly tcpFlags?: string;
  /** Conntrack sysctls differing from the kernel defaults. */
  readonly sysctls?: Partial<ConntrackSysctls>;
  /** Also trace the receiver's answer back through the host. */
  readonly reply?: boolean;
  /** The host's IP sets (`ipset save`), for `-m set` rules. */
  readonly ipsets?: IpSets;
  /** The host's routes (`ip route show table all`), for `-m rpfilter` rules. */
  readonly routes?: readonly Route[];
  /** The host's policy rules (`ip rule show`); absent: the kernel's three defaults. */
  readonly ipRules?: readonly PolicyRule[];
  /** Routing sysctls (ip_forward, rp_filter, route_localnet, …) for the input-route decision. */
  readonly routing?: readonly RoutingSysctl[];
}

function isLoopback(ip: Ipv4): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

function familyOfText(ip: Ipv4): IpFamily {
  return ip.indexOf(':') >= 0 ? 'ipv6' : 'ipv4';
}

/** IPv6 text in the canonical form every rule and local address uses (IPv4 unchanged). */
function canonical(ip: Ipv4): Ipv4 {
  if (ip.indexOf(':') < 0) return ip;
  const v = ipv6ToBigInt(ip);
  return v === null ? ip : formatIpv6(v);
}

/**
 * The single host's environment: its local table is `localIps` plus 127/8
 * (on `lo`). An address given without `@IFACE` counts as on every device for
 * `--limit-iface-in/out` (the dump does not say where it lives).
 */
export class SingleHostEnv implements NetfilterEnv {
  readonly host = 'host';
  readonly sysctls: ConntrackSysctls;
  lastMasqueradeSource: 'out-iface address' | 'first --local-ip' | null = null;
  private readonly local: Map<Ipv4, LocalIp>;
  private readonly broadcasts: Map<Ipv4, LocalIp>;

  /** The host's routes (`--routes`), for `-m rpfilter`; absent: that match cannot be decided. */
  readonly reverseRoute?: NetfilterEnv['reverseRoute'];

  constructor(
    readonly localIps: readonly LocalIp[],
    sysctls: Partial<ConntrackSysctls> = {},
    routes?: readonly Route[],
    ipRules: readonly PolicyRule[] = DEFAULT_RULES,
  ) {
    if (routes !== undefined) {
      const tables = new Map<number, RouteTable>();
      for (const r of routes) {
        let t = tables.get(r.table);
        if (!t) tables.set(r.table, (t = new RouteTable(r.table)));
        t.insert(r);
      }
      this.reverseRoute = (src, dst, mark) => reversePath(ipRules, tables, src, dst, mark);
    }
    this.sysctls = { ...DEFAULT_CONNTRACK_SYSCTLS, ...sysctls };
    this.local = new Map(localIps.map((l) => [canonical(l.ip), l]));
    this.broadcasts = new Map();
    for (const l of localIps) {
      // IPv6 has no broadcast addresses.
      if (l.prefix !== undefined && l.prefix < 31 && familyOfText(l.ip) === 'ipv4')
        this.broadcasts.set(broadcastOf(parseCidr(`${l.ip}/${l.prefix}`)), l);
    }
  }

  isLocal(ip: Ipv4): boolean {
    return isLoopback(ip) || this.local.has(ip);
  }

  addrType(ip: Ipv4, dev?: string): AddrType {
    if (ip.indexOf(':') >= 0) return this.addrType6(ip, dev);
    // __inet_dev_addr_type (net/ipv4/fib_frontend.c)
    if (ip.startsWith('0.') || ip === '255.255.255.255') return 'BROADCAST';
    const first = Number(ip.slice(0, ip.indexOf('.')));
    if (first >= 224 && first <= 239) return 'MULTICAST';
    const onDev = (iface: string | undefined) =>
      dev === undefined || iface === undefined || iface === dev;
    if (isLoopback(ip)) return onDev('lo') ? 'LOCAL' : 'UNICAST';
    const l = this.local.get(ip);
    if (l) return onDev(l.iface) ? 'LOCAL' : 'UNICAST';
    const b = this.broadcasts.get(ip);
    if (b) return onDev(b.iface) ? 'BROADCAST' : 'UNICAST';
    return 'UNICAST';
  }

  /** xt_addrtype match_type6 with one answer per address (see the module doc). */
  private addrType6(ip: Ipv4, dev?: string): AddrType {
    const c = canonical(ip);
    if (c === '::') return 'UNSPEC';
    if (c.startsWith('ff')) return 'MULTICAST';
    const onDev = (iface: string | undefined) =>
      dev === undefined || iface === undefined || iface === dev;
    if (c === '::1') return onDev('lo') ? 'LOCAL' : 'UNICAST';
    const l = this.local.get(c);
    if (l) return onDev(l.iface) ? 'LOCAL' : 'UNICAST';
    return 'UNICAST';
  }

  masqueradeSource(outIface: string, nexthop: Ipv4): Ipv4 | null {
    // inet_select_addr (IPv6: ipv6_dev_get_saddr, reduced to the same rule): addresses of the
    // next hop's family on the out device, the one whose subnet holds the next hop first.
    const fam = familyOfText(nexthop);
    const usable = (l: LocalIp) => !isLoopback(l.ip) && familyOfText(l.ip) === fam;
    const onDev = this.localIps.filter(
      (l) => l.iface !== undefined && l.iface === outIface && usable(l),
    );
    const inSubnet = onDev.find(
      (l) => l.prefix !== undefined && ipCidrContains(parseIpCidr(`${l.ip}/${l.prefix}`), nexthop),
    );
    const pick = inSubnet ?? onDev[0];
    if (pick) {
      this.lastMasqueradeSource = 'out-iface address';
      return canonical(pick.ip);
    }
    const any = this.localIps.find(usable);
    this.lastMasqueradeSource = any ? 'first --local-ip' : null;
    return any ? canonical(any.ip) : null;
  }

  primaryAddress(iface: string, family: IpFamily = 'ipv4'): Ipv4 | null {
    if (iface === 'lo') return family === 'ipv6' ? '::1' : '127.0.0.1';
    const fam = (x: LocalIp) => familyOfText(x.ip) === family;
    const l =
      this.localIps.find((x) => x.iface === iface && fam(x)) ??
      this.localIps.find((x) => !isLoopback(x.ip) && fam(x));
    return l ? canonical(l.ip) : null;
  }

  now(): number {
    return 0;
  }
}

export function firstPacket(
  proto: L4Proto,
  src: Ipv4,
  dst: Ipv4,
  sport: number,
  dport: number,
  flags = 'S',
): Ipv4Packet {
  // ICMPv6 echo request is type 128 (RFC 4443).
  const echoType = src.indexOf(':') >= 0 ? 128 : 8;
  return openingPacketWith(proto, src, dst, sport, dport, tcpFlags(flags), echoType);
}

export function summarize(p: Ipv4Packet): PacketSummary {
  const l4 = p.l4;
  if (l4.kind === 'icmp')
    return { src: p.ip.src, dst: p.ip.dst, sport: l4.id ?? null, dport: null, proto: 'icmp' };
  if (l4.kind === 'ipip')
    return { src: p.ip.src, dst: p.ip.dst, sport: null, dport: null, proto: 'ipip' };
  return { src: p.ip.src, dst: p.ip.dst, sport: l4.sport, dport: l4.dport, proto: l4.kind };
}

interface Walk {
  /** The packet as it entered the first hook. */
  readonly first: Skb;
  /** ip_route_input refused the packet after PREROUTING (martian, ip_forward=0, …). */
  readonly routeDrop?: { readonly reason: string; readonly explain: string };
  readonly path: HookName[];
  readonly outcomes: HookOutcome[];
  readonly steps: Step[];
  readonly final: Skb;
}

/**
 * One packet's way through the single host: OUTPUT or PREROUTING, then
 * INPUT or FORWARD, then POSTROUTING (and the loopback detour for a local
 * packet to a local address).
 */
function walkHost(
  nf: Netfilter,
  env: SingleHostEnv,
  first: Skb,
  devices: { readonly inIface?: string; readonly outIface?: string },
  chooser: Chooser,
  router?: Host,
): Walk {
  const rec = new StepList();
  const path: HookName[] = [];
  const outcomes: HookOutcome[] = [];
  let skb = first;
  const run = (hook: HookName, ctx: HookContext): boolean => {
    path.push(hook);
    const o = nf.run(hook, skb, ctx, chooser, rec);
    outcomes.push(o);
    skb = o.skb;
    return o.verdict === 'ACCEPT';
  };
  const done = (): Walk => ({ first, path, outcomes, steps: rec.steps, final: skb });
  const out = devices.outIface !== undefined ? { outIface: devices.outIface } : {};
  const inCtx = devices.inIface !== undefined ? { inIface: devices.inIface } : {};
  const outFor = (dst: Ipv4) => (env.isLocal(dst) ? { outIface: 'lo' } : out);

  if (env.isLocal(first.packet.ip.src)) {
    if (!run('OUTPUT', outFor(first.packet.ip.dst))) return done();
    // nat OUTPUT may have DNATed: the re-route picks the new device (source kept).
    const dst = skb.packet.ip.dst;
    if (!run('POSTROUTING', { ...outFor(dst), nexthop: dst })) return done();
    if (!env.isLocal(dst)) return done();
    // Loopback: the skb keeps its ct and mark; PREROUTING's conntrack and nat see it already bound.
    if (!run('PREROUTING', { inIface: 'lo' })) return done();
    run('INPUT', { inIface: 'lo' });
    return done();
  }
  if (!run('PREROUTING', inCtx)) return done();
  const dst = skb.packet.ip.dst;
  let local = env.isLocal(dst);
  if (router && dst.indexOf(':') < 0) {
    // ip_rcv_finish: the input route of the packet as PREROUTING left it.
    const iif = devices.inIface ?? DEFAULT_IN_IFACE;
    const ri = decideInput(router, { src: skb.packet.ip.src, dst, iif, mark: skb.mark });
    if (ri.kind === 'error') {
      rec.record({
        kind: 'drop',
        host: env.host,
        summary: `drop (${ri.reason}): ${ri.explain}`,
        packet: skb.packet,
        detail: { reason: ri.reason, where: 'routing' },
      });
      return { ...done(), routeDrop: { reason: ri.reason, explain: ri.explain } };
    }
    local = ri.kind !== 'forward';
  }
  if (local) {
    run('INPUT', inCtx);
    return done();
  }
  if (!run('FORWARD', { ...inCtx, ...out })) return done();
  run('POSTROUTING', { ...out, nexthop: dst });
  return done();
}

/**
 * The answer to `p` as its receiver sends it: addresses and ports swapped;
 * a SYN is answered by a SYN/ACK, other TCP segments by an ACK, an echo
 * request by an echo reply.
 */
export function replyTo(p: Ipv4Packet): Ipv4Packet {
  const ip = { ...p.ip, src: p.ip.dst, dst: p.ip.src, id: 0 };
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp': {
      const syn = l4.flags.syn && !l4.flags.ack;
      const ack =
        (l4.seq + p.payloadLength + (l4.flags.syn ? 1 : 0) + (l4.flags.fin ? 1 : 0)) >>> 0;
      return {
        ip,
        l4: {
          kind: 'tcp',
          sport: l4.dport,
          dport: l4.sport,
          seq: 5000,
          ack,
          flags: { ...NO_FLAGS, syn, ack: true },
          window: 65160,
        },
        payloadLength: 0,
      };
    }
    case 'udp':
      return {
        ip,
        l4: { kind: 'udp', sport: l4.dport, dport: l4.sport },
        payloadLength: p.payloadLength,
      };
    case 'sctp':
      return {
        ip,
        l4: { ...l4, sport: l4.dport, dport: l4.sport },
        payloadLength: p.payloadLength,
      };
    case 'icmp':
      return {
        ip,
        l4: { ...l4, type: l4.type === 8 ? 0 : l4.type === 128 ? 129 : l4.type },
        payloadLength: p.payloadLength,
      };
    case 'ipip':
      // The far tunnel end answers with the inner reply, encapsulated back.
      return { ip, l4: { kind: 'ipip', inner: replyTo(l4.inner) }, payloadLength: p.payloadLength };
  }
}

interface RunResult extends Walk {
  readonly masqSource: 'out-iface address' | 'first --local-ip' | null;
  readonly reply: Walk | null;
}

/** The request (and, with `reply`, its answer) through one fresh host. */
function runOnce(
  compiled: CompiledRuleset,
  input: IptablesTraceInput,
  sport: number,
  chooser: Chooser,
): RunResult {
  const env = new SingleHostEnv(input.localIps, input.sysctls, input.routes, input.ipRules);
  const nf = new Netfilter(compiled, env, input.ipsets);
  const router = routingHost(input);
  const first = newSkb(
    firstPacket(input.proto, input.src, input.dst, sport, input.dport, input.tcpFlags),
  );
  const devices = {
    ...(input.inIface !== undefined ? { inIface: input.inIface } : {}),
    ...(input.outIface !== undefined ? { outIface: input.outIface } : {}),
  };
  const req = walkHost(nf, env, first, devices, chooser, router);
  const masqSource = env.lastMasqueradeSource;
  const last = req.outcomes[req.outcomes.length - 1];
  let reply: Walk | null = null;
  if (input.reply && last?.verdict === 'ACCEPT') {
    // The receiver answers what it got; the answer comes back the way the request went.
    const back = {
      ...(input.outIface !== undefined ? { inIface: input.outIface } : {}),
      ...(input.inIface !== undefined ? { outIface: input.inIface } : {}),
    };
    reply = walkHost(nf, env, newSkb(replyTo(req.final.packet)), back, chooser, router);
  }
  return { ...req, masqSource, reply };
}

function summarizeWalk(w: Walk): WalkSummary {
  const last = w.outcomes[w.outcomes.length - 1];
  const verdict: Verdict = w.routeDrop ? 'DROP' : last ? last.verdict : 'ACCEPT';
  let decidedBy: Decider | null = null;
  if (w.routeDrop)
    decidedBy = {
      kind: 'kernel',
      hook: 'PREROUTING',
      reason: `${w.routeDrop.reason} (routing, before INPUT/FORWARD): ${w.routeDrop.explain}`,
    };
  else if (last && verdict !== 'ACCEPT') decidedBy = last.decidedBy;
  else {
    // An accepted packet: the filter table's last word on its path, else the last table's.
    const all = w.outcomes.flatMap((o) => o.tables);
    const filter = all.filter((t) => t.table === 'filter');
    const pick = filter[filter.length - 1] ?? all[all.length - 1];
    decidedBy = pick ? pick.decidedBy : null;
  }
  const rewrites: Rewrite[] = [];
  for (const s of w.steps) {
    if (s.kind === 'nat' && s.before && s.packet) {
      rewrites.push({
        hook: s.detail?.hook as HookName,
        kind: String(s.detail && 'kind' in s.detail ? s.detail.kind : undefined),
        before: summarize(s.before),
        after: summarize(s.packet),
      });
    }
  }
  const ct = w.final.ct;
  return {
    path: w.path,
    verdict,
    decidedBy,
    ...(last?.reject
      ? {
          reject: {
            with: last.reject.with,
            response: last.reject.response ? describeResponse(last.reject.response) : null,
          },
        }
      : {}),
    ...(last?.unsupported
      ? {
          unsupported: {
            what: last.unsupported.what,
            ...(last.unsupported.rule?.line !== undefined
              ? { line: last.unsupported.rule.line }
              : {}),
            ...(last.unsupported.rule?.file !== undefined
              ? { file: last.unsupported.rule.file }
              : {}),
            ...(last.unsupported.rule ? { rule: last.unsupported.rule.text } : {}),
          },
        }
      : {}),
    hits: w.outcomes.flatMap((o) => o.hits),
    rewrites,
    ctstate: ct.kind === 'tracked' ? ct.ctinfo : ct.kind === 'untracked' ? 'UNTRACKED' : 'INVALID',
    mark: hexMark(w.final.mark),
    packetIn: summarize(w.first.packet),
    packet: summarize(w.final.packet),
    steps: w.steps,
  };
}

function alternativeOf(
  r: RunResult,
  probability: number,
  decisions: IptablesAlternative['decisions'],
): IptablesAlternative {
  const base = summarizeWalk(r);
  let dnat: string | null = null;
  let snat: IptablesAlternative['snat'] = null;
  let masqMark = r.outcomes.some((o) => (o.skb.mark & KUBE_MASQ_MARK) !== 0);
  for (const s of r.steps) {
    if (
      s.kind === 'rule' &&
      typeof s.detail?.mark === 'string' &&
      Number(s.detail.mark) & KUBE_MASQ_MARK
    ) {
      masqMark = true;
    }
    const d = s.kind === 'nat' ? s.detail : undefined;
    if (d && 'binding' in d && typeof d.binding === 'string') {
      // A NAT target ran: its binding is the DNAT destination / new source,
      // even when the mapping turned out to be the identity.
      const kind = d.binding;
      const to = String(d.to);
      if (kind === 'DNAT' || kind === 'REDIRECT') dnat = to;
      if (kind === 'SNAT' || kind === 'MASQUERADE') {
        snat = {
          kind,
          to,
          ...(kind === 'MASQUERADE' && r.masqSource ? { source: r.masqSource } : {}),
        };
      }
    } else if (
      s.kind === 'nat' &&
      s.before &&
      s.packet &&
      d &&
      'kind' in d &&
      d.kind === 'SNAT' &&
      snat === null
    ) {
      // An implicit source-port change by a null binding (port clash) is a rewrite too.
      const after = summarize(s.packet);
      snat = { kind: 'SNAT', to: formatHostPort(after.src, after.sport ?? '') };
    }
  }
  return {
    probability,
    decisions,
    ...base,
    dnat,
    snat,
    masqueradeMark: masqMark,
    reply: r.reply ? summarizeWalk(r.reply) : null,
  };
}

function describeResponse(p: Ipv4Packet): string {
  const l4 = p.l4;
  if (l4.kind === 'tcp')
    return `${formatHostPort(p.ip.src, l4.sport)} > ${formatHostPort(p.ip.dst, l4.dport)} tcp [R${l4.flags.ack ? '.' : ''}]`;
  if (l4.kind === 'icmp') {
    const icmp = p.ip.src.indexOf(':') >= 0 ? 'icmp6' : 'icmp';
    return `${p.ip.src} > ${p.ip.dst} ${icmp} type ${l4.type} code ${l4.code}`;
  }
  return `${p.ip.src} > ${p.ip.dst}`;
}

/** Traces the packet; never throws for a ruleset the parser accepted. */
export function traceIptables(given: IptablesTraceInput): IptablesTraceResult {
  const sf = ipFamilyOf(given.src);
  const df = ipFamilyOf(given.dst);
  if (sf === null || df === null) throw new RangeError('src and dst must be IP addresses');
  if (sf !== df)
    throw new RangeError(
      `src ${given.src} and dst ${given.dst} are of different address families (${sf}, ${df})`,
    );
  const compiled = 'source' in given.ruleset ? given.ruleset : compileRuleset(given.ruleset);
  const rsFamily = compiled.source.family ?? 'ipv4';
  if (sf !== rsFamily) {
    throw new RangeError(
      rsFamily === 'ipv6'
        ? `an IPv4 packet (${given.src} > ${given.dst}) cannot be traced through an ip6tables (IPv6) dump`
        : `an IPv6 packet (${given.src} > ${given.dst}) cannot be traced through an iptables (IPv4) dump; give the ip6tables-save dump`,
    );
  }
  const input: IptablesTraceInput = {
    ...given,
    src: canonical(given.src),
    dst: canonical(given.dst),
  };
  const sport = input.sport ?? DEFAULT_SPORT;
  const fallback: Chooser = new SeededChooser(input.seed);
  let alternatives: IptablesAlternative[];
  if (input.allPaths) {
    // In traversal order: a branch that matched a statistic rule before one that fell through it.
    const branches = enumerateBranches((ch) => runOnce(compiled, input, sport, ch), fallback).sort(
      (x, y) => {
        const n = Math.min(x.decisions.length, y.decisions.length);
        for (let k = 0; k < n; k++) {
          const a = x.decisions[k]!.value;
          const b = y.decisions[k]!.value;
          if (a !== b) return a ? -1 : 1;
        }
        return x.decisions.length - y.decisions.length;
      },
    );
    alternatives = branches.map((b) =>
      alternativeOf(
        b.result,
        b.probability,
        b.decisions.map((d) => ({ label: d.label, p: d.p, taken: d.value })),
      ),
    );
  } else {
    const taken: { label: string; p: number; taken: boolean }[] = [];
    const recording: Chooser = {
      chance(p, label) {
        const v = fallback.chance(p, label);
        taken.push({ label, p, taken: v });
        return v;
      },
      integer: (a, b, label) => fallback.integer(a, b, label),
    };
    const r = runOnce(compiled, input, sport, recording);
    const probability = taken.reduce((acc, d) => acc * (d.taken ? d.p : 1 - d.p), 1);
    alternatives = [alternativeOf(r, probability, taken)];
  }
  const env = new SingleHostEnv(input.localIps);
  return {
    input: {
      src: input.src,
      dst: input.dst,
      sport,
      dport: input.dport,
      proto: input.proto,
      localIps: input.localIps.map((l) => l.ip),
      inIface: input.inIface ?? null,
      outIface: input.outIface ?? null,
      start: env.isLocal(input.src) ? 'OUTPUT' : 'PREROUTING',
      allPaths: input.allPaths,
      seed: input.seed,
      tcpFlags: input.proto === 'tcp' ? (input.tcpFlags ?? 'S') : null,
      sysctls: new SingleHostEnv([], input.sysctls).sysctls,
      reply: input.reply === true,
    },
    alternatives,
  };
}
