/**
 * A connection through Contiv-VPP (cni/contiv-vpp.ts): the client's opening
 * segment leaves its pod through the pod's TAP (a hostNetwork pod's, the
 * host stack's, through the host interconnect `tap0`) into the node's vswitch
 * (vpp/), the vswitch walks it through its graph, and what it transmits is
 * answered by whoever owns the destination — the host stack behind `tap0`
 * (a hostNetwork pod listening on the port), or a pod behind its TAP — whose
 * reply walks the graph back. Both walks are VPP traces (`show trace`).
 *
 * The packets are Linux's: the SYN carries MSS 1460, SACK permitted, a
 * timestamp and window scale 7 (40-byte header) with DF set and TTL 64; the
 * answer is a SYN-ACK (ack = seq + 1, IP id 0 as Linux sends it for a SYN-ACK
 * with DF) when something listens, a RST otherwise. Values the objects cannot
 * say (IP id, ISNs, windows, timestamps) come from `packet` or the defaults
 * below, and are listed as defaults.
 */
import {
  CONTIV_DEFAULTS,
  planContiv,
  type ContivNode,
  type ContivPlan,
} from '../cni/contiv-vpp.js';
import { cidrContains, parseCidr } from '../wire/addr.js';
import type { CniDefault } from '../cni/types.js';
import type { ClusterModel, ModelPod } from '../k8s/model.js';
import { SeededChooser } from '../kernel/random.js';
import type { VppPass } from '../vpp/index.js';
import { emitEthernet } from '../wire/ethernet.js';
import { emitIpv4Datagram } from '../wire/ipv4.js';
import { IPPROTO, tcpFlags } from '../wire/packet.js';
import { emitTcp } from '../wire/tcp.js';
import { emitUdp } from '../wire/udp.js';
import { internetChecksum } from '../wire/checksum.js';

/** The header values of the two segments that the cluster objects do not determine. */
export interface VppPacketValues {
  readonly id: number;
  readonly seq: number;
  readonly window: number;
  readonly tsval: number;
  readonly replySeq: number;
  readonly replyWindow: number;
  readonly replyTsval: number;
}

export const VPP_PACKET_DEFAULTS: VppPacketValues = {
  id: 0,
  seq: 1000,
  window: 29200,
  tsval: 1,
  replySeq: 2000,
  replyWindow: 28960,
  replyTsval: 1,
};

/** Who received the request, and what they sent back. */
export interface VppAnswer {
  /** A pod (`ns/name`), or a node name for its host stack. */
  readonly host: string;
  readonly role: 'pod' | 'node';
  /** The TAP the request left the vswitch through to reach it. */
  readonly tap: string;
  /** The listening pod (`ns/name`), when something listens. */
  readonly listener?: string;
  readonly flags: 'SA' | 'RA';
}

/** One walk through one node's vswitch. */
export interface VppHop {
  readonly node: string;
  readonly packet: 'request' | 'reply';
  /** How the frame came in: from a TAP (`virtio-input`) or from the wire (`dpdk-input`). */
  readonly via: string;
  readonly pass: VppPass;
}

export interface VppConnectionTrace {
  readonly from: string;
  readonly to: string;
  /** The client's node. */
  readonly node: string;
  /** The client: a pod-network pod, or the host stack (a node, a hostNetwork pod). */
  readonly fromKind: 'pod' | 'node';
  /** Every walk in order: the request through each vswitch it crossed, then the answer. */
  readonly hops: readonly VppHop[];
  /** The request's first walk (through the client's vswitch). */
  readonly request: VppPass;
  /** The answer's last walk (through the vswitch that delivers it to the client). */
  readonly reply?: VppPass;
  /** Who got the request and answered it: the host (a pod `ns/name`, or a node's host stack) and how. */
  readonly answer?: VppAnswer;
  /** Where the request went when it left the vswitch, and who answered. */
  readonly notes: readonly string[];
  readonly defaults: readonly CniDefault[];
}

const h32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Linux's SYN options: MSS 1460, SACK permitted, TS val/ecr, NOP, window scale 7. */
const synOptions = (tsval: number, tsecr: number): string =>
  `020405b40402080a${h32(tsval)}${h32(tsecr)}01030307`;

function segment(
  src: string,
  dst: string,
  smac: string,
  dmac: string,
  id: number,
  t: {
    sport: number;
    dport: number;
    seq: number;
    ack: number;
    flags: string;
    window: number;
    options?: string;
  },
): Uint8Array {
  const tcp = emitTcp(
    {
      kind: 'tcp',
      sport: t.sport,
      dport: t.dport,
      seq: t.seq >>> 0,
      ack: t.ack >>> 0,
      flags: tcpFlags(t.flags),
      window: t.window,
      ...(t.options ? { options: t.options } : {}),
    },
    src,
    dst,
    new Uint8Array(0),
  );
  const ip = emitIpv4Datagram({ src, dst, ttl: 64, id, df: true, tos: 0 }, IPPROTO.TCP, tcp);
  return emitEthernet({ dst: dmac, src: smac, ethertype: 0x0800 }, ip);
}

/** A UDP datagram with no payload, as a client's first packet. */
function datagram(
  src: string,
  dst: string,
  smac: string,
  dmac: string,
  id: number,
  sport: number,
  dport: number,
): Uint8Array {
  const udp = emitUdp({ kind: 'udp', sport, dport }, src, dst, new Uint8Array(0));
  const ip = emitIpv4Datagram({ src, dst, ttl: 64, id, df: true, tos: 0 }, IPPROTO.UDP, udp);
  return emitEthernet({ dst: dmac, src: smac, ethertype: 0x0800 }, ip);
}

/**
 * An ICMP message: an echo (`type` 8 or 0, identifier and sequence 1, no
 * data) or an error quoting `quoted` (the offending packet's IP header and
 * first 8 bytes), which Linux sends with TOS 0xc0, without DF
 * (`icmp_send`: IPTOS_PREC_INTERNETCONTROL, the ICMP socket's PMTU discovery off).
 */
function icmpPacket(
  src: string,
  dst: string,
  smac: string,
  dmac: string,
  type: number,
  code: number,
  idOrQuoted: number | Uint8Array,
): Uint8Array {
  const data = typeof idOrQuoted === 'number' ? new Uint8Array(0) : idOrQuoted;
  const msg = new Uint8Array(8 + data.length);
  msg.set([type, code]);
  if (typeof idOrQuoted === 'number') msg.set([idOrQuoted >> 8, idOrQuoted & 0xff, 0, 1], 4);
  msg.set(data, 8);
  const sum = internetChecksum(msg);
  msg[2] = sum >> 8;
  msg[3] = sum & 0xff;
  const error = typeof idOrQuoted !== 'number';
  const ip = emitIpv4Datagram(
    { src, dst, ttl: 64, id: 0, df: !error, tos: error ? 0xc0 : 0 },
    IPPROTO.ICMP,
    msg,
  );
  return emitEthernet({ dst: dmac, src: smac, ethertype: 0x0800 }, ip);
}

/**
 * `svc/NS/NAME:PORT`, `IP:PORT` or (for ICMP) `IP` → the destination address
 * and port, and the Service port's protocol when it names one.
 */
function destination(
  model: ClusterModel,
  to: string,
): { ip: string; port: number; proto?: 'tcp' | 'udp' } {
  const svc = /^svc\/([^/]+)\/([^:]+):(\d+)$/.exec(to);
  if (svc) {
    const s = model.services.get(`${svc[1]}/${svc[2]}`);
    if (!s || !s.spec.clusterIP || s.spec.clusterIP === 'None')
      throw new Error(`no Service ${svc[1]}/${svc[2]} with a ClusterIP`);
    const port = Number(svc[3]);
    const sp = s.spec.ports.find((p) => p.port === port);
    return {
      ip: s.spec.clusterIP,
      port,
      ...(sp?.protocol === 'UDP' ? { proto: 'udp' as const } : {}),
    };
  }
  const ipp = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(to);
  if (ipp) return { ip: ipp[1]!, port: Number(ipp[2] ?? 0) };
  const pod = /^([^/]+)\/([^:/]+):(\d+)$/.exec(to);
  const p = pod ? model.pods.get(`${pod[1]}/${pod[2]}`) : undefined;
  if (pod && p?.status.podIP) return { ip: p.status.podIP, port: Number(pod[3]) };
  throw new Error(
    `--to ${to}: a contiv-vpp trace takes svc/NS/NAME:PORT, NS/POD:PORT, IP:PORT or (ICMP) IP`,
  );
}

/** Whether a hostNetwork pod on the node, or the pod itself, listens on `port` (a containerPort of the protocol). */
function listens(
  pods: readonly ModelPod[],
  port: number,
  proto: 'TCP' | 'UDP' = 'TCP',
): ModelPod | undefined {
  return pods.find((p) =>
    (p.spec.containers ?? []).some((c) =>
      (c.ports ?? []).some((cp) => cp.containerPort === port && (cp.protocol ?? 'TCP') === proto),
    ),
  );
}

/** Trace `from` (a pod `ns/name`) → `to` through the client's node vswitch and back. */
export function traceVppConnection(
  model: ClusterModel,
  opts: {
    /** Sessions already open in the client node's pools (NAT44, ACL plugin): their slots come first. */
    openSessions?: { readonly nat?: number; readonly acl?: number };
    from: string;
    to: string;
    sport: number;
    seed: number;
    packet?: Partial<VppPacketValues>;
    /** TCP (a SYN and its answer), UDP (a datagram; nothing listening answers ICMP port unreachable) or an ICMP echo (its identifier is `sport`). */
    proto?: 'tcp' | 'udp' | 'icmp';
  },
): VppConnectionTrace {
  const v = { ...VPP_PACKET_DEFAULTS, ...opts.packet };
  const plan = planContiv(model, new SeededChooser(opts.seed));
  const client = model.pods.get(opts.from);
  const bare = opts.from.replace(/^node\//, '');
  const nodeName = client
    ? client.spec.nodeName
    : plan.nodes.has(bare)
      ? bare
      : bare.split('/').pop()!;
  if (!plan.nodes.has(nodeName))
    throw new Error(
      `--from ${opts.from}: a contiv-vpp trace starts at a pod (NS/NAME) or a node (NODE, node/NODE)`,
    );
  const node = plan.nodes.get(nodeName)!;
  const dst = destination(model, opts.to);
  const proto = opts.proto ?? dst.proto ?? 'tcp';
  if (proto !== 'icmp' && dst.port === 0)
    throw new Error(`--to ${opts.to}: a ${proto.toUpperCase()} trace needs a port (IP:PORT)`);
  if (client && !client.spec.hostNetwork && dst.ip === client.status.podIP)
    throw new Error(
      `--to ${opts.to}: ${dst.ip} is ${opts.from}'s own address; the pod's kernel answers it over lo and nothing reaches the vswitch`,
    );
  const cp =
    !client || client.spec.hostNetwork
      ? fromHost(model, node, dst.ip)
      : { ...node.pods.get(opts.from)!, mac: CONTIV_DEFAULTS.PodMAC };
  const open = opts.openSessions ?? {};
  node.vswitch.nat.reserveSessions(open.nat ?? 0);
  node.vswitch.acl.reserveSessions(open.acl ?? 0);
  const defaults: CniDefault[] = [...plan.defaults];
  for (const [pool, n] of [
    ['NAT44', open.nat],
    ['ACL plugin', open.acl],
  ] as const)
    defaults.push({
      object: `vswitch ${node.name}`,
      field: `${pool} sessions open before`,
      value: String(n ?? 0),
      reason:
        n === undefined ? 'a fresh vswitch; set with --vpp-sessions' : 'given with --vpp-sessions',
    });
  for (const [k, val] of Object.entries(v)) {
    const given = opts.packet && k in opts.packet;
    defaults.push({
      object: 'packet',
      field: k,
      value: `0x${h32(val)}`,
      reason: given
        ? 'given with --packet'
        : "not in the cluster objects; the trace's default (set with --packet)",
    });
  }
  const first =
    proto === 'udp'
      ? datagram(cp.ip, dst.ip, cp.mac, cp.vppMac, v.id, opts.sport, dst.port)
      : proto === 'icmp'
        ? icmpPacket(cp.ip, dst.ip, cp.mac, cp.vppMac, 8, 0, opts.sport)
        : segment(cp.ip, dst.ip, cp.mac, cp.vppMac, v.id, {
            sport: opts.sport,
            dport: dst.port,
            seq: v.seq,
            ack: 0,
            flags: 'S',
            window: v.window,
            options: synOptions(v.tsval, 0),
          });
  const hops: VppHop[] = [
    { node: node.name, packet: 'request', via: cp.tap, pass: node.vswitch.receive(cp.tap, first) },
  ];
  const notes: string[] = [
    ...node.notes,
    'not modelled in the VPP twin: the external SNAT (nat44-in2out-output), STN, TAP v1',
  ];
  const fromKind: VppConnectionTrace['fromKind'] = client ? 'pod' : 'node';
  const base = { from: opts.from, to: opts.to, node: node.name, fromKind, hops, notes, defaults };
  const there = acrossNodes(plan, node, hops, 'request', notes);
  const request = hops[0]!.pass;
  notes.push(...natNotes(node, request));
  if (there.pass.fate.kind !== 'transmit') {
    notes.push(dropNote(there.node, there.pass));
    return { ...base, request };
  }
  const back = answer(model, there.node, there.pass, v, notes);
  if (!back) return { ...base, request };
  hops.push({ node: there.node.name, packet: 'reply', via: back.via, pass: back.pass });
  const home = acrossNodes(plan, there.node, hops, 'reply', notes);
  if (home.pass.fate.kind !== 'transmit')
    notes.push(`the answer: ${dropNote(home.node, home.pass)}`);
  return { ...base, request, reply: home.pass, answer: back.answer };
}

/**
 * A hostNetwork pod's side of the vswitch: the host stack sends what its
 * routes give `vpp1` — the pod subnet and the Service network, via VPP's
 * end of the interconnect (host.go `routePODsFromHost`,
 * `routeServicesFromHost`, no source given) — so the source is the address
 * Linux picks for `vpp1`, its own on the interconnect, and the frame enters
 * the vswitch on `tap0`.
 */
function fromHost(
  model: ClusterModel,
  node: ContivNode,
  dst: string,
): { ip: string; tap: string; mac: string; vppMac: string } {
  const viaVpp = [CONTIV_DEFAULTS.PodSubnetCIDR, model.cluster.serviceCIDR].some(
    (c) => c !== undefined && cidrContains(parseCidr(c), dst),
  );
  if (!viaVpp)
    throw new Error(
      `--to ${dst}: node ${node.name}'s host stack routes only the pod subnet ${CONTIV_DEFAULTS.PodSubnetCIDR} and the Service network through VPP; a contiv-vpp trace from a hostNetwork pod goes to one of those`,
    );
  return {
    ip: node.host.ip,
    tap: 'tap0',
    mac: node.host.mac,
    vppMac: CONTIV_DEFAULTS.HostInterconnectMAC,
  };
}

/** What NAT44 did to the request: the mapping Contiv made, the local it chose, a self-twice-NAT. */
function natNotes(node: ContivNode, pass: VppPass): string[] {
  const t = pass.trace.find((e) => e.record.node === 'nat44-out2in')?.record;
  if (!t || !('sessionIndex' in t) || t.sessionIndex < 0) return [];
  const s = node.vswitch.nat.sessions().find((x) => x.index === t.sessionIndex);
  if (!s) return [];
  const m = node.vswitch.nat
    .staticMappings()
    .find((x) => x.externalAddr === s.out2in.addr && x.externalPort === s.out2in.port);
  const out = [
    `nat44-out2in: static mapping ${s.out2in.addr}:${s.out2in.port}${m?.tag ? ` (${m.tag})` : ''}${m?.twiceNat ? ` ${m.twiceNat}` : ''} chose local ${s.in2out.addr}:${s.in2out.port} of ${m?.locals.length ?? 1}, session ${s.index}`,
  ];
  if (s.extHostNat)
    out.push(
      `self-twice-NAT: the client ${s.extHost.addr} is the local VPP chose, so its source became the NAT loopback ${s.extHostNat.addr}:${s.extHostNat.port} (twice-NAT pool) and the answer comes back through the vswitch — where a Linux node answers a pod reaching itself through a Service with kube-proxy's hairpin masquerade`,
    );
  return out;
}

/**
 * The client expects its answer from where it sent the SYN. When NAT44 gave
 * the answer another source — the reply of a Service's local to a client
 * whose request reached it untranslated through nat44-in2out, which left no
 * forwarding-bypass session — the client's kernel has no connection for it
 * and answers with a RST.
 */
function answerSourceNote(request: VppPass, reply: VppPass): string[] {
  const at = (p: VppPass, node: string): Uint8Array | undefined => {
    const r = p.trace.find((e) => e.record.node === node)?.record;
    return r && 'data' in r ? r.data : undefined;
  };
  const sent = at(request, 'ip4-input');
  // ip4-lookup's record shows the answer as NAT44 left it.
  const answered = at(reply, 'ip4-lookup');
  if (!sent || !answered) return [];
  const client = [...sent.subarray(12, 16)].join('.');
  const to = [...answered.subarray(16, 20)].join('.');
  if (answered[9] === 1 && sent[9] !== 1 && to !== client)
    return [
      `the ICMP error is addressed to ${to}, not the client ${client}: icmp_in2out translates an error's source and quoted destination but leaves a twice-NAT session's destination as it is, so the error does not reach the client`,
    ];
  if (sent[9] === 1 || answered[9] !== sent[9]) return [];
  const end = (b: Uint8Array, a: number, p: number): string =>
    `${[...b.subarray(a, a + 4)].join('.')}:${(b[p]! << 8) | b[p + 1]!}`;
  const want = end(sent, 16, 22);
  const got = end(answered, 12, 20);
  if (want === got) return [];
  return [
    `the answer leaves as ${got}, not ${want}: nat44-in2out translated it with a session of its own (the request had passed nat44-in2out untranslated and left no forwarding-bypass session), so the client has no connection for it and would reset it`,
  ];
}

/**
 * What a vswitch sends out of its NIC to another node's VXLAN endpoint
 * arrives at that node's NIC (the node interconnect is one L2 segment, as
 * Contiv's `NodeInterconnectCIDR` is): walk it there, and on while it goes on.
 */
function acrossNodes(
  plan: ContivPlan,
  from: ContivNode,
  hops: VppHop[],
  packet: VppHop['packet'],
  notes: string[],
): { node: ContivNode; pass: VppPass } {
  let node = from;
  let pass = hops[hops.length - 1]!.pass;
  for (let guard = 0; guard < plan.nodes.size; guard++) {
    const fate = pass.fate;
    if (fate.kind !== 'transmit' || fate.ifName !== node.nic.name) break;
    const dst = ipAt(fate.frame, 14 + 16);
    const next = [...plan.nodes.values()].find((n) => n.nic.ip === dst);
    if (!next) {
      notes.push(
        `the ${packet} left ${node.name} through ${fate.ifName} to ${dst}, outside the cluster's node interconnect: not modelled`,
      );
      break;
    }
    notes.push(
      `the ${packet} left ${node.name} VXLAN-encapsulated (${node.nic.ip} → ${next.nic.ip}, UDP 4789) through ${fate.ifName}, into ${next.name}'s vswitch (dpdk-input)`,
    );
    pass = next.vswitch.receiveNic(next.nic.name, fate.frame);
    hops.push({ node: next.name, packet, via: next.nic.name, pass });
    node = next;
  }
  return { node, pass };
}

const ipAt = (b: Uint8Array, at: number): string =>
  `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

/** Where and why the vswitch dropped the packet: for the ACL nodes, the ACL and rule, as Contiv named them. */
function dropNote(node: ContivNode, pass: VppPass): string {
  const fate = pass.fate;
  if (fate.kind === 'local') return 'delivered to VPP itself (ip4-local)';
  if (fate.kind !== 'drop') return '';
  const last = [...pass.trace].reverse().find((e) => e.record.node === fate.node)?.record;
  if (last && 'matchAcl' in last && last.matchAcl >= 0) {
    const tag = node.vswitch.acl.get(last.matchAcl)?.tag ?? '?';
    return `dropped in ${fate.node}: acl ${last.matchAcl} (${tag}) rule ${last.matchRule} denies it — NetworkPolicy as Contiv renders it, enforced by VPP's ACL plugin after NAT44`;
  }
  return `dropped in ${fate.node}: ${fate.reason}`;
}

/** The owner of the transmitted packet answers it, and the answer walks the vswitch back. */
function answer(
  model: ClusterModel,
  node: ContivNode,
  request: VppPass,
  v: VppPacketValues,
  notes: string[],
): { via: string; pass: VppPass; answer: VppAnswer } | undefined {
  if (request.fate.kind !== 'transmit') return undefined;
  const f = request.fate.frame;
  const ip = f.subarray(14);
  const proto = ip[9]!;
  const what = proto === 6 ? 'SYN' : proto === 17 ? 'datagram' : 'echo request';
  const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
  const sport = (ip[20]! << 8) | ip[21]!;
  const dport = (ip[22]! << 8) | ip[23]!;
  const l4p = proto === 17 ? 'UDP' : 'TCP';
  const out = request.fate.ifName;
  let smac: string;
  let dmac: string;
  let listener: ModelPod | undefined;
  let who: Pick<VppAnswer, 'host' | 'role'>;
  if (out === 'tap0') {
    who = { host: node.name, role: 'node' };
    smac = node.host.mac;
    dmac = CONTIV_DEFAULTS.HostInterconnectMAC;
    const hostPods = (model.podsByNode.get(node.name) ?? []).filter((p) => p.spec.hostNetwork);
    listener = node.hostIPs.includes(dst) ? listens(hostPods, dport, l4p) : undefined;
    notes.push(
      `the ${what} left through tap0 into ${node.name}'s host stack (vpp1 ${node.host.ip})`,
    );
  } else {
    const pod = [...node.pods.values()].find((p) => p.tap === out);
    if (!pod) {
      notes.push(`the ${what} left ${node.name} through ${out}; what lies beyond is not modelled`);
      return undefined;
    }
    who = { host: pod.key, role: 'pod' };
    smac = CONTIV_DEFAULTS.PodMAC;
    dmac = pod.vppMac;
    const owner = model.pods.get(pod.key);
    listener = owner && owner.status.podIP === dst ? listens([owner], dport, l4p) : undefined;
    notes.push(`the ${what} left through ${out} into pod ${pod.key}`);
  }
  let back: Uint8Array;
  if (proto === 1) {
    notes.push(`${dst} answers the echo request (the kernel's echo reply)`);
    back = icmpPacket(dst, src, smac, dmac, 0, 0, (ip[24]! << 8) | ip[25]!);
  } else if (proto === 17) {
    if (listener) {
      notes.push(
        `${listener.metadata.namespace}/${listener.metadata.name} listens on UDP ${dport}: the datagram is delivered; what the application answers is not modelled`,
      );
      return undefined;
    }
    notes.push(
      `nothing listens on UDP ${dst}:${dport}: ICMP port unreachable, quoting the datagram`,
    );
    back = icmpPacket(dst, src, smac, dmac, 3, 3, ip.slice(0, 28));
  } else {
    const seq = ((ip[24]! << 24) | (ip[25]! << 16) | (ip[26]! << 8) | ip[27]!) >>> 0;
    const tsval = ((ip[48]! << 24) | (ip[49]! << 16) | (ip[50]! << 8) | ip[51]!) >>> 0;
    notes.push(
      listener
        ? `${listener.metadata.namespace}/${listener.metadata.name} listens on ${dport}: SYN-ACK`
        : `nothing listens on ${dst}:${dport}: RST`,
    );
    back = listener
      ? segment(dst, src, smac, dmac, 0, {
          sport: dport,
          dport: sport,
          seq: v.replySeq,
          ack: seq + 1,
          flags: 'SA',
          window: v.replyWindow,
          options: synOptions(v.replyTsval, tsval),
        })
      : segment(dst, src, smac, dmac, 0, {
          sport: dport,
          dport: sport,
          seq: 0,
          ack: seq + 1,
          flags: 'RA',
          window: 0,
        });
  }
  const reply = node.vswitch.receive(out, back);
  notes.push(...answerSourceNote(request, reply));
  const answer: VppAnswer = {
    ...who,
    tap: out,
    ...(listener ? { listener: `${listener.metadata.namespace}/${listener.metadata.name}` } : {}),
    flags: listener ? 'SA' : 'RA',
  };
  return { via: out, pass: reply, answer };
}
