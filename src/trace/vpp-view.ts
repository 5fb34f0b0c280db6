/**
 * A Contiv-VPP connection (trace/vpp.ts) as the ordinary trace document
 * (trace/model.ts), so that `-o text|wide|json|yaml|mermaid|html` work on a
 * contiv-vpp cluster as on any other: the client pod, each vswitch walk as a
 * hop (`NODE/vpp`, one step per VPP graph node, its summary the node's name
 * and the first line `show trace` prints for it), and the pod or host stack
 * that answers.
 *
 * Step kinds: the input nodes (`virtio-input`, `dpdk-input`,
 * `ethernet-input`, `ip4-input`) are `receive`; the FIB nodes (`ip4-lookup`,
 * `ip4-load-balance`, `ip4-rewrite`, `ip4-local`, `ip4-udp-lookup`) `route`;
 * the ACL plugin's nodes `rule`; a NAT44 node that translated `nat` (with the
 * rewrite and the packet before and after it, also listed in `rewrites`),
 * one that did not `conntrack` (the session lookup); the L2 nodes `bridge`;
 * `vxlan4-encap`/`vxlan4-input` `encap`/`decap`; `<if>-output` `transmit`;
 * `error-drop` `drop`. Details carry only fields the model documents.
 */
import type { Ipv4 } from '../wire/addr.js';
import type { ModelDefault } from '../k8s/model/defaults.js';
import { formatRecord, type VppTraceRecord } from '../vpp/index.js';
import type {
  ConnectionTrace,
  Disposition,
  Hop,
  Leg,
  PacketView,
  RewriteView,
  StepView,
} from './model.js';
import type { VppConnectionTrace, VppHop } from './vpp.js';

const ipAt = (b: Uint8Array, at: number): Ipv4 => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const macAt = (b: Uint8Array, at: number): string =>
  Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

/** The packet view of an IPv4 header (and its TCP/UDP ports) at the start of `ip`. */
export function ipPacketView(ip: Uint8Array): PacketView {
  const src = ipAt(ip, 12);
  const dst = ipAt(ip, 16);
  const l4 = (ip[0]! & 0x0f) * 4;
  const proto = ip[9];
  const sport = (ip[l4]! << 8) | ip[l4 + 1]!;
  const dport = (ip[l4 + 2]! << 8) | ip[l4 + 3]!;
  if (proto === 6) {
    const f = ip[l4 + 13]!;
    const flags =
      (f & 0x02 ? 'S' : '') +
      (f & 0x01 ? 'F' : '') +
      (f & 0x04 ? 'R' : '') +
      (f & 0x08 ? 'P' : '') +
      (f & 0x10 ? '.' : '') +
      (f & 0x20 ? 'U' : '');
    return {
      src,
      dst,
      proto: 'tcp',
      sport,
      dport,
      flags,
      text: `${src}:${sport} > ${dst}:${dport} tcp [${flags}]`,
    };
  }
  if (proto === 17)
    return { src, dst, proto: 'udp', sport, dport, text: `${src}:${sport} > ${dst}:${dport} udp` };
  return { src, dst, proto: 'icmp', text: `${src} > ${dst} proto ${proto}` };
}

/** The IPv4 header a record carries, if any (ip4-input, ip4-lookup, ip4-rewrite, output nodes). */
function ipOf(r: VppTraceRecord): Uint8Array | undefined {
  switch (r.node) {
    case 'ip4-input':
    case 'ip4-lookup':
    case 'ip4-load-balance':
    case 'ip4-local':
      return r.data;
    case 'ip4-rewrite':
      return r.data.subarray(14);
    default:
      if ('ifName' in r && 'data' in r && r.data[12] === 0x08 && r.data[13] === 0)
        return r.data.subarray(14);
      return undefined;
  }
}

const KIND: Record<string, StepView['kind']> = {
  'virtio-input': 'receive',
  'dpdk-input': 'receive',
  'ethernet-input': 'receive',
  'ip4-input': 'receive',
  'arp-input': 'arp',
  'ip4-lookup': 'route',
  'ip4-load-balance': 'route',
  'ip4-rewrite': 'route',
  'ip4-local': 'route',
  'ip4-udp-lookup': 'route',
  'acl-plugin-in-ip4-fa': 'rule',
  'acl-plugin-out-ip4-fa': 'rule',
  'acl-plugin-in-ip4-l2': 'rule',
  'nat44-out2in': 'conntrack',
  'nat44-in2out': 'conntrack',
  'nat44-in2out-slowpath': 'conntrack',
  'l2-input': 'bridge',
  'l2-input-classify': 'bridge',
  'l2-fwd': 'bridge',
  'l2-output': 'bridge',
  'vxlan4-encap': 'encap',
  'vxlan4-input': 'decap',
  'error-drop': 'drop',
};

/** One vswitch walk as a hop; NAT44 rewrites go to `rewrites`. */
function hopOf(h: VppHop, rewrites: RewriteView[], tags: ReadonlyMap<string, string>): Hop {
  const steps: StepView[] = [];
  const trace = h.pass.trace;
  let lastIp: Uint8Array | undefined;
  trace.forEach((e, i) => {
    const r = e.record;
    const first = formatRecord(r).split('\n')[0]!.trim();
    const summary = `${r.node}: ${first}`;
    const ip = ipOf(r);
    const kind = KIND[r.node] ?? (r.node.endsWith('-output') ? 'transmit' : 'note');
    const packet = ip ? { packet: ipPacketView(ip) } : {};
    if (ip) lastIp = ip;
    if (kind === 'conntrack' && 'sessionIndex' in r && r.sessionIndex >= 0 && lastIp) {
      // The translation shows in the next header the graph records (ip4-lookup).
      const next = trace.slice(i + 1).find((x) => ipOf(x.record));
      const after = next ? ipOf(next.record) : undefined;
      if (after) {
        const before = ipPacketView(lastIp);
        const now = ipPacketView(after);
        const dst = r.node === 'nat44-out2in';
        const field = dst ? 'dst' : 'src';
        const from = dst ? `${before.dst}:${before.dport}` : `${before.src}:${before.sport}`;
        const to = dst ? `${now.dst}:${now.dport}` : `${now.src}:${now.sport}`;
        const tag = tags.get(dst ? from : to);
        const by = `VPP NAT44${tag ? ` static mapping ${tag}` : ''}, session ${r.sessionIndex}`;
        const rewrite = dst ? 'DNAT' : 'un-DNAT';
        steps.push({
          kind: 'nat',
          summary: `${summary}: ${field} ${from} → ${to}`,
          before,
          packet: now,
          detail: { rewrite, hook: r.node, field, from, to, by },
        });
        rewrites.push({
          leg: h.packet,
          kind: rewrite,
          host: `${h.node}/vpp`,
          hook: r.node,
          field,
          from,
          to,
          by,
          before,
          after: now,
        });
        return;
      }
    }
    const frame =
      r.node === 'dpdk-input'
        ? r.frame
        : r.node === 'virtio-input'
          ? trace.find((x) => x.record.node === 'ethernet-input')?.record
          : undefined;
    const eth =
      frame instanceof Uint8Array ? frame : frame && 'data' in frame ? frame.data : undefined;
    // The frame's packet, as the next ip4-input records it.
    const ip4 = trace.slice(i + 1).find((x) => x.record.node === 'ip4-input')?.record;
    const arrived = ip4 ? ipOf(ip4) : undefined;
    if (eth && (r.node === 'virtio-input' || r.node === 'dpdk-input'))
      steps.push({
        kind: 'receive',
        summary,
        ...(arrived ? { packet: ipPacketView(arrived) } : {}),
        detail: { dev: h.via, src: macAt(eth, 6), dst: macAt(eth, 0) },
      });
    else if (kind === 'transmit' && 'ifName' in r && 'data' in r)
      steps.push({
        kind,
        summary,
        ...packet,
        detail: { dev: r.ifName, src: macAt(r.data, 6), dst: macAt(r.data, 0) },
      });
    else if (kind === 'drop')
      steps.push({
        kind,
        summary,
        ...packet,
        detail: { reason: 'reason' in r && r.reason ? r.reason : 'error-drop', where: r.node },
      });
    else steps.push({ kind, summary, ...packet });
  });
  return { host: `${h.node}/vpp`, role: 'node', steps };
}

function leg(
  t: VppConnectionTrace,
  which: 'request' | 'reply',
  from: string,
  rewrites: RewriteView[],
  tags: ReadonlyMap<string, string>,
): Leg {
  const mine = t.hops.filter((h) => h.packet === which);
  // A node or a hostNetwork pod sends from the host stack, into tap0.
  const clientRole = t.hops[0]!.via === 'tap0' ? 'node' : 'pod';
  const senderRole = which === 'request' ? clientRole : (t.answer?.role ?? 'pod');
  const first = mine[0]!.pass.trace.find((e) => e.record.node === 'ip4-input')!.record;
  const sent = ipPacketView(ipOf(first)!);
  const e0 = mine[0]!.pass.trace.find((e) => e.record.node === 'ethernet-input')?.record;
  const eth0 = e0 && 'data' in e0 ? e0.data : undefined;
  const senderHop: Hop = {
    host: from,
    role: senderRole,
    steps: [
      {
        kind: 'transmit',
        summary: `sends through its TAP's host end to the vswitch's ${mine[0]!.via}`,
        packet: sent,
        ...(eth0
          ? {
              detail: {
                dev: senderRole === 'pod' ? 'eth0' : 'vpp1',
                src: macAt(eth0, 6),
                dst: macAt(eth0, 0),
              },
            }
          : {}),
      },
    ],
  };
  const hops: Hop[] = [senderHop, ...mine.map((h) => hopOf(h, rewrites, tags))];
  const fate = mine[mine.length - 1]!.pass.fate;
  const what =
    which === 'request' ? 'TCP SYN' : t.answer?.flags === 'SA' ? 'TCP SYN-ACK' : 'TCP RST';
  if (fate.kind !== 'transmit') {
    const where = fate.kind === 'drop' ? `${fate.node}: ${fate.reason}` : 'ip4-local';
    return {
      what,
      sent,
      from,
      disposition: 'dropped',
      reason: 'vpp-error-drop',
      detail: `dropped in ${mine[mine.length - 1]!.node}'s vswitch, ${where}`,
      at: `${mine[mine.length - 1]!.node}/vpp`,
      hops,
    };
  }
  const received = ipPacketView(fate.frame.subarray(14));
  const to = which === 'request' ? t.answer?.host : t.from;
  if (!to)
    return {
      what,
      sent,
      from,
      disposition: 'left-model',
      reason: 'left-model',
      detail: `left the vswitch through ${fate.ifName}`,
      at: `${mine[mine.length - 1]!.node}/vpp`,
      hops,
    };
  const listening = which === 'request' && t.answer?.listener !== undefined;
  const receiver: Hop = {
    host: to,
    role: which === 'request' ? (t.answer?.role ?? 'pod') : clientRole,
    steps: [
      {
        kind: 'receive',
        summary: `receives from ${fate.ifName}`,
        packet: received,
        detail: { dev: fate.ifName, src: macAt(fate.frame, 6), dst: macAt(fate.frame, 0) },
      },
    ],
  };
  const disposition: Disposition = which === 'reply' || listening ? 'delivered' : 'rejected';
  return {
    what,
    sent,
    from,
    disposition,
    ...(disposition === 'rejected'
      ? { reason: 'no-listener', detail: `nothing listens on ${received.dst}:${received.dport}` }
      : {}),
    at: to,
    ...(disposition === 'delivered'
      ? {
          socket:
            which === 'request'
              ? `tcp ${received.dst}:${received.dport} LISTEN (${t.answer!.listener})`
              : `tcp ${received.dst}:${received.dport} SYN-SENT (${t.from})`,
        }
      : {}),
    received,
    hops: [...hops, receiver],
  };
}

/** The ordinary trace document of a contiv-vpp connection. */
export function vppConnectionView(
  t: VppConnectionTrace,
  opts: {
    readonly sport: number;
    readonly seed: number;
    readonly to: { kind: string; port: number };
  },
  tagsByExternal: ReadonlyMap<string, string>,
): ConnectionTrace {
  const rewrites: RewriteView[] = [];
  const request = leg(t, 'request', t.from, rewrites, tagsByExternal);
  const reply =
    t.answer && t.hops.some((h) => h.packet === 'reply')
      ? leg(t, 'reply', t.answer.host, rewrites, tagsByExternal)
      : null;
  const defaults: ModelDefault[] = t.defaults.map((d) => ({ ...d }));
  return {
    from: {
      ref: t.from,
      kind: t.fromKind,
      host: t.from,
      ip: request.sent.src,
    },
    to: { ref: t.to, kind: opts.to.kind, ip: request.sent.dst, port: opts.to.port },
    proto: 'tcp',
    sport: opts.sport,
    seed: opts.seed,
    request,
    reply,
    rewrites,
    defaults,
    diagnostics: [],
  };
}
