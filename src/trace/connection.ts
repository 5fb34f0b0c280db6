/**
 * traceConnection: the life of one connection in the cluster twin, there and
 * back. The request (TCP SYN, UDP datagram, ICMP echo) leaves the source's
 * namespace with an ephemeral port from net.ipv4.ip_local_port_range
 * (32768–60999, seeded) and runs host by host through the kernel model
 * (kernel/stack.ts: routing, ARP, bridge FDB, every netfilter hook, conntrack,
 * NAT, the underlay, the other node) until its fate. Then the answer — the
 * SYN-ACK or RST the receiving kernel generates, the server's UDP answer, the
 * echo reply, the ICMP error — goes back from the receiver through the same
 * kernels, where conntrack un-NATs it. What the twin invented is listed in
 * `defaults`; every step is in `hops`.
 *
 * With `allPaths`, kube-proxy's `-m statistic --mode random` branches are
 * enumerated (enumerateBranches): each alternative with its probability, the
 * endpoint it reached and what the client saw.
 */
import { InputError } from '../diag.js';
import type { Fate } from '../kernel/fate.js';
import { enumerateBranches, SeededChooser, type Chooser } from '../kernel/random.js';
import { describeSocket } from '../kernel/socket.js';
import { StepList, type Step } from '../kernel/step.js';
import { describePacket, NO_FLAGS, type Ipv4Packet, type L4Proto } from '../wire/packet.js';
import type { Twin, TwinPlan } from '../twin/index.js';
import { openingPacketWith } from './opening.js';
import { resolveRef, type Resolved } from './refs.js';
import { nsName, type ClusterModel } from '../k8s/model.js';
import { clusterIndex } from './cluster-index.js';
import { annotatePolicyTrace } from '../policy/trace-annotate.js';
import type {
  Alternative,
  ConnectionTrace,
  Disposition,
  Hop,
  HostRole,
  Leg,
  PacketView,
  RewriteView,
  StepView,
} from './model.js';
import { rewriteOf } from './model.js';

export interface TraceOptions {
  readonly from: string;
  readonly to: string;
  readonly proto?: L4Proto;
  readonly sport?: number;
  readonly seed?: number;
  readonly allPaths?: boolean;
}

/** The opening packet: a TCP SYN, a UDP datagram, or an ICMP echo request whose id is the source port. */
export function openingPacket(
  proto: L4Proto,
  src: string,
  dst: string,
  sport: number,
  dport: number,
): Ipv4Packet {
  return openingPacketWith(proto, src, dst, sport, dport, { ...NO_FLAGS, syn: true }, 8);
}

// ------------------------------------------------------------------ views

function flagsOf(p: Ipv4Packet): string | undefined {
  const t = p.l4;
  if (t.kind === 'tcp') {
    const f = t.flags;
    return (
      (f.syn ? 'S' : '') +
      (f.fin ? 'F' : '') +
      (f.rst ? 'R' : '') +
      (f.psh ? 'P' : '') +
      (f.ack ? '.' : '') +
      (f.urg ? 'U' : '')
    );
  }
  if (t.kind === 'icmp') return `type ${t.type} code ${t.code}`;
  return undefined;
}

export function packetView(p: Ipv4Packet): PacketView {
  return viewOf(p, undefined);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The view written field by field (an object spread with added keys takes
 * V8's slow path, microseconds a step); `texts` keeps each packet value's
 * words for the steps of one trace that show the same packet.
 */
function viewOf(p: Ipv4Packet, texts: Map<Ipv4Packet, string> | undefined): PacketView {
  const t = p.l4;
  const v: Mutable<PacketView> = { src: p.ip.src, dst: p.ip.dst, proto: t.kind } as PacketView;
  if (t.kind === 'icmp') {
    if (t.id !== undefined) v.sport = t.id;
  } else if (t.kind !== 'ipip') {
    v.sport = t.sport;
    v.dport = t.dport;
  }
  const flags = flagsOf(p);
  if (flags !== undefined) v.flags = flags;
  let text = texts?.get(p);
  if (text === undefined) {
    text = describePacket(p);
    texts?.set(p, text);
  }
  v.text = text;
  if (t.kind === 'ipip') v.inner = viewOf(t.inner, texts);
  return v;
}

/**
 * A kernel step as the trace shows it. The kernel records each kind's detail
 * with the keys StepDetails documents; validateTrace checks every built trace
 * against them.
 */
function stepView(s: Step, texts: Map<Ipv4Packet, string>): StepView {
  const v: Mutable<Partial<StepView>> & Pick<StepView, 'kind' | 'summary'> = {
    kind: s.kind,
    summary: s.summary,
  };
  if (s.packet) v.packet = viewOf(s.packet, texts);
  if (s.before) v.before = viewOf(s.before, texts);
  if (s.detail) (v as { detail?: unknown }).detail = s.detail;
  return v as StepView;
}

function whatOf(p: Ipv4Packet): string {
  const t = p.l4;
  switch (t.kind) {
    case 'tcp':
      return t.flags.rst
        ? 'TCP RST'
        : t.flags.syn && t.flags.ack
          ? 'TCP SYN-ACK'
          : t.flags.syn
            ? 'TCP SYN'
            : 'TCP';
    case 'udp':
      return 'UDP datagram';
    case 'sctp':
      return 'SCTP';
    case 'icmp':
      return t.type === 8
        ? 'ICMP echo request'
        : t.type === 0
          ? 'ICMP echo reply'
          : `ICMP type ${t.type} code ${t.code}`;
    case 'ipip':
      return `IP-in-IP (${whatOf(t.inner)})`;
  }
}

function roleOf(twin: Twin, host: string): HostRole {
  if (twin.model.nodes.has(host)) return 'node';
  if (host === twin.router) return 'router';
  if (host.startsWith('host/')) return 'external';
  return 'pod';
}

function hopsOf(twin: Twin, steps: readonly Step[]): Hop[] {
  const hops: { host: string; role: HostRole; steps: StepView[] }[] = [];
  const texts = new Map<Ipv4Packet, string>();
  for (const s of steps) {
    const last = hops[hops.length - 1];
    if (last && last.host === s.host) last.steps.push(stepView(s, texts));
    else hops.push({ host: s.host, role: roleOf(twin, s.host), steps: [stepView(s, texts)] });
  }
  return hops;
}

function dispositionOf(f: Fate | undefined): {
  disposition: Disposition;
  reason?: string;
  detail?: string;
  at?: string;
  socket?: string;
  received?: PacketView;
} {
  if (!f)
    return {
      disposition: 'dropped',
      reason: 'unsupported',
      detail: 'the packet met no fate (nothing was sent)',
    };
  switch (f.kind) {
    case 'delivered':
      return {
        disposition: 'delivered',
        at: f.host,
        socket: describeSocket(f.socket),
        received: packetView(f.packet),
        ...(f.socket.error ? { detail: f.socket.error } : {}),
      };
    case 'left-model':
      return {
        disposition: 'left-model',
        reason: 'left-model',
        detail: `left through ${f.dev} towards ${f.endpoint}`,
        at: f.host,
        ...(f.frame.payload.kind === 'ipv4'
          ? { received: packetView(f.frame.payload.packet) }
          : {}),
      };
    case 'dropped': {
      const d: Disposition =
        f.reason === 'unsupported' || f.reason === 'netfilter-unsupported'
          ? 'unsupported'
          : f.reason === 'netfilter-reject' || (f.reason === 'no-listener' && f.response)
            ? 'rejected'
            : 'dropped';
      return {
        disposition: d,
        reason: f.reason,
        detail: f.detail,
        at: f.host,
        ...(f.packet ? { received: packetView(f.packet) } : {}),
      };
    }
  }
}

function rewritesOf(steps: readonly Step[], leg: 'request' | 'reply'): RewriteView[] {
  const out: RewriteView[] = [];
  for (const s of steps) {
    const d = rewriteOf(s);
    if (!d || !s.before || !s.packet) continue;
    out.push({
      leg,
      kind: d.rewrite,
      host: s.host,
      hook: d.hook,
      field: d.field,
      from: d.from,
      to: d.to,
      ...(d.rule ? { rule: d.rule } : {}),
      by: d.by,
      before: packetView(s.before),
      after: packetView(s.packet),
    });
  }
  return out;
}

// ------------------------------------------------------------------ running

interface RunOutput {
  request: Leg;
  reply: Leg | null;
  rewrites: RewriteView[];
  twin: Twin;
  /** The kernel's steps of the request leg, then of the reply leg. */
  steps: readonly Step[];
}

/**
 * The nodes a connection can touch: the source's, the destination's, and —
 * for a Service address or a node port — every node holding one of the
 * Service's endpoints (kube-proxy can DNAT only to those). Anything it cannot
 * bound (an unknown address) means every node.
 */
export function relevantNodes(
  model: ClusterModel,
  src: Resolved,
  dst: Resolved,
): string[] | undefined {
  const nodes = new Set<string>();
  const nodeOfHost = (r: Resolved): string | undefined => {
    if (r.kind === 'node') return r.host;
    if (r.kind === 'pod')
      return (
        model.podsByIP.get(r.ip)?.spec.nodeName ??
        (r.host !== undefined ? (model.pods.get(r.host)?.spec.nodeName ?? r.host) : undefined)
      );
    return undefined;
  };
  const index = clusterIndex(model);
  const nodeIPs = index.nodeByInternalIP;
  const endpointsOf = (svcKey: string): boolean => {
    for (const slice of model.slicesByService.get(svcKey) ?? []) {
      for (const ep of slice.endpoints ?? []) {
        const byName =
          ep.nodeName !== undefined && model.nodes.has(ep.nodeName) ? ep.nodeName : undefined;
        const byIp = ep.addresses
          .map((a) => model.podsByIP.get(a)?.spec.nodeName ?? nodeIPs.get(a))
          .find((x) => x !== undefined);
        const n = byName ?? byIp;
        if (n === undefined) return false;
        nodes.add(n);
      }
    }
    return true;
  };
  const s = nodeOfHost(src);
  if (s !== undefined) nodes.add(s);
  switch (dst.kind) {
    case 'pod':
    case 'node': {
      const d = nodeOfHost(dst);
      if (d === undefined) return undefined;
      nodes.add(d);
      if (dst.kind === 'node') {
        // A node port sends on to the Service's endpoints, wherever they are.
        // (a LoadBalancer's address may be the node's own, as with servicelb: its port too).
        if (dst.port !== undefined)
          for (const key of index.nodePortServices(dst.port))
            if (!endpointsOf(key)) return undefined;
      }
      break;
    }
    case 'service':
      if (!dst.service || !endpointsOf(nsName(dst.service))) return undefined;
      break;
    case 'external':
      break;
    case 'ip':
      return undefined;
  }
  // A source that is not a node (an ExternalHost) with nothing bounded: every node.
  return nodes.size > 0 ? [...nodes].sort() : undefined;
}

/** Whether `ip` belongs to a node other than `kept` (ClusterIndex.outside), each address asked once. */
function addressesOutside(model: ClusterModel, kept: readonly string[]): (ip: string) => boolean {
  const keep = new Set(kept);
  const index = clusterIndex(model);
  const asked = new Map<string, boolean>();
  return (ip) => {
    let r = asked.get(ip);
    if (r === undefined) asked.set(ip, (r = index.outside(keep, ip)));
    return r;
  };
}

/** Whether any packet of the run (request or reply, before or after a rewrite) is addressed to or from `outside`. */
function reaches(r: RunOutput, outside: (ip: string) => boolean): boolean {
  const hit = (p: PacketView | undefined): boolean =>
    p !== undefined && (outside(p.src) || outside(p.dst) || hit(p.inner));
  return [r.request, r.reply].some(
    (leg) =>
      leg !== null && leg.hops.some((h) => h.steps.some((st) => hit(st.packet) || hit(st.before))),
  );
}

/** Runs the connection once on `twin` (fresh and cold) with `chooser` deciding every chance. */
function runOnce(
  twin: Twin,
  src: Resolved,
  dst: Resolved,
  proto: L4Proto,
  sport: number,
  dport: number,
  chooser: Chooser,
): RunOutput {
  const net = twin.network;
  const srcHost = src.host!;
  const srcIp =
    src.kind === 'node' || src.kind === 'pod' || src.kind === 'external' ? src.ip : '0.0.0.0';
  // A node's process lets routing choose the source (the socket is unbound); pods have one address anyway.
  const first = openingPacket(proto, src.kind === 'node' ? '0.0.0.0' : srcIp, dst.ip, sport, dport);
  const reqRec = new StepList();
  const req = net.send(srcHost, first, { recorder: reqRec, chooser, label: 'client' });
  const sentReq = reqRec.steps.find((s) => s.packet)?.packet ?? first;
  const rd = dispositionOf(req.outcome);
  const request: Leg = {
    what: whatOf(first),
    sent: packetView(sentReq),
    from: srcHost,
    ...rd,
    hops: hopsOf(twin, reqRec.steps),
  };
  const rewrites = rewritesOf(reqRec.steps, 'request');

  // The answer: what the receiving kernel generated (SYN-ACK, RST, echo reply, ICMP error), or the UDP server's reply.
  const f = req.outcome;
  let reply: Leg | null = null;
  const repRec = new StepList();
  let answer:
    { host: string; packet: Ipv4Packet; run: () => ReturnType<typeof net.send> } | undefined;
  if (f && f.kind !== 'left-model' && f.response) {
    const r = f.response;
    answer = {
      host: r.host,
      packet: r.packet,
      run: () => net.respond(r, { recorder: repRec, chooser }),
    };
  } else if (
    f &&
    f.kind === 'delivered' &&
    (f.packet.l4.kind === 'udp' || f.packet.l4.kind === 'sctp')
  ) {
    const p = f.packet;
    const t = p.l4 as { sport: number; dport: number };
    const back: Ipv4Packet = {
      ...p,
      ip: { ...p.ip, src: p.ip.dst, dst: p.ip.src, ttl: 64 },
      l4: { ...p.l4, sport: t.dport, dport: t.sport } as Ipv4Packet['l4'],
    };
    answer = {
      host: f.host,
      packet: back,
      run: () => net.send(f.host, back, { recorder: repRec, chooser, socket: false }),
    };
  }
  if (answer) {
    const res = answer.run();
    const sent = repRec.steps.find((s) => s.packet)?.packet ?? answer.packet;
    reply = {
      what: whatOf(answer.packet),
      sent: packetView(sent),
      from: answer.host,
      ...dispositionOf(res.outcome),
      hops: hopsOf(twin, repRec.steps),
    };
    rewrites.push(...rewritesOf(repRec.steps, 'reply'));
  }
  return { request, reply, rewrites, twin, steps: [...reqRec.steps, ...repRec.steps] };
}

/** Traces one connection `from` → `to` through the twin, there and back. */
export function traceConnection(twinOrPlan: Twin | TwinPlan, opts: TraceOptions): ConnectionTrace {
  return traceConnectionWithTwin(twinOrPlan, opts).trace;
}

/**
 * traceConnection, also handing back the twin the main run used (its conntrack, neighbour and
 * FDB state after the connection) and the kernel's steps of its request and reply legs, in order.
 */
export function traceConnectionWithTwin(
  twinOrPlan: Twin | TwinPlan,
  opts: TraceOptions,
): { trace: ConnectionTrace; twin: Twin; steps: readonly Step[] } {
  const plan = 'instantiate' in twinOrPlan ? twinOrPlan : twinOrPlan.plan;
  const model = plan.model;
  const dst0 = resolveRef(model, opts.to, '--to', opts.proto);
  const proto: L4Proto = opts.proto ?? dst0.proto ?? 'tcp';
  const dst = opts.proto === undefined ? dst0 : resolveRef(model, opts.to, '--to', proto);
  const src = resolveRef(model, opts.from, '--from', proto);
  if (src.kind === 'service')
    throw InputError.of(
      'bad-ref',
      `--from ${opts.from}: a Service does not send packets; trace from a pod, node or host`,
    );
  if (src.host === undefined)
    throw InputError.of(
      'bad-ref',
      `--from ${opts.from}: ${src.ip} is not an address of any pod, node or ExternalHost`,
    );
  if (proto !== 'icmp' && dst.port === undefined) {
    throw InputError.of(
      'bad-ref',
      `--to ${opts.to}: no port given and none known for ${proto}`,
      {},
      `add :PORT, e.g. ${opts.to}:80`,
    );
  }
  if (
    opts.sport !== undefined &&
    (!Number.isInteger(opts.sport) || opts.sport < 1 || opts.sport > 65535)
  ) {
    throw InputError.of('bad-sport', `--sport ${opts.sport}: not a port number in 1–65535`);
  }
  const seed = opts.seed ?? 1;
  /** The connection, and with `allPaths` each of its branches, on twins of `nodes` (undefined: all). */
  const runAll = (nodes: string[] | undefined) => {
    const fresh = (): Twin => plan.instantiate(nodes ? { nodes } : {});
    // One run: a kept instance (if the plan keeps them) serves, put back to cold. With branches,
    // every run gets its own (the main run's twin is handed back after them).
    const first = opts.allPaths
      ? fresh()
      : plan.instantiate({ ...(nodes ? { nodes } : {}), reuse: true });
    // The ephemeral port: inet_hash_connect picks from ip_local_port_range (seeded here).
    const sport = opts.sport ?? first.host(src.host!).ephemeralPort(new SeededChooser(seed));
    const dport = dst.port ?? 0;
    const main = runOnce(first, src, dst, proto, sport, dport, new SeededChooser(seed));
    const branches = opts.allPaths
      ? enumerateBranches(
          (ch) => runOnce(fresh(), src, dst, proto, sport, dport, ch),
          new SeededChooser(seed),
        )
      : [];
    return { sport, main, branches };
  };
  // Build only the nodes the connection can reach; if it reaches further anyway (a pod that
  // DNATs on, like a svclb pod), build them all and run again.
  const nodes = relevantNodes(model, src, dst);
  let run = runAll(nodes);
  if (nodes !== undefined) {
    const outside = addressesOutside(model, nodes);
    if ([run.main, ...run.branches.map((b) => b.result)].some((r) => reaches(r, outside)))
      run = runAll(undefined);
  }
  const { sport, main } = run;
  let alternatives: Alternative[] | undefined;
  if (opts.allPaths) {
    alternatives = run.branches.map((b) => {
      const dn = b.result.rewrites.find((r) => r.leg === 'request' && r.kind === 'DNAT');
      const r = b.result;
      const legSum = (l: Leg) => ({
        disposition: l.disposition,
        ...(l.reason ? { reason: l.reason } : {}),
        ...(l.at ? { at: l.at } : {}),
        ...(l.received ? { received: l.received } : {}),
      });
      return {
        probability: b.probability,
        decisions: b.decisions,
        ...(dn ? { dnat: dn.to } : {}),
        request: legSum(r.request),
        ...(r.reply ? { reply: legSum(r.reply) } : {}),
        rewrites: r.rewrites,
      };
    });
  }
  const trace: ConnectionTrace = annotatePolicyTrace(model, {
    from: {
      ref: opts.from,
      kind: src.kind,
      host: src.host,
      ip: src.kind === 'node' ? (main.request.sent.src ?? src.ip) : src.ip,
    },
    to: {
      ref: opts.to,
      kind: dst.kind,
      ip: dst.ip,
      ...(dst.port !== undefined ? { port: dst.port } : {}),
    },
    proto,
    sport,
    seed,
    request: main.request,
    reply: main.reply,
    rewrites: main.rewrites,
    defaults: main.twin.defaults,
    ...(alternatives ? { alternatives } : {}),
    diagnostics: main.twin.diagnostics,
  });
  return { trace, twin: main.twin, steps: main.steps };
}
