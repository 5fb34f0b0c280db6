import { describe, expect, it } from 'vitest';
import { emitPacket } from '../wire/index.js';
import { vxlanDecapsulate, vxlanEncapsulate } from '../wire/vxlan.js';
import type { Fate } from './fate.js';
import { Network } from './network.js';
import { StepList, type Step } from './step.js';
import { bridgeNode, echoRequest, tcpSyn } from './testing/builders.js';
import {
  addVxlan,
  udpFlowSrcPort,
  vxlanFdbAppend,
  vxlanFdbLines,
  type VxlanHeaders,
} from './vxlan.js';

function outcome(r: { outcome: Fate | undefined }): string {
  const f = r.outcome;
  if (!f) return 'none';
  if (f.kind === 'dropped') return `dropped ${f.reason} at ${f.host}`;
  if (f.kind === 'delivered') return `delivered at ${f.host}`;
  return `left-model at ${f.host}/${f.dev}`;
}

const VTEP = { node1: '0a:00:00:00:01:01', node2: '0a:00:00:00:02:02' } as const;

/** Two nodes wired like flannel's vxlan backend, by hand (cni/flannel.ts does it from the model). */
function flannelPair(opts: { fdb?: boolean } = {}) {
  const net = new Network();
  const n1 = bridgeNode(net, 'node1', '10.244.1.1/24', ['10.244.1.2']);
  const n2 = bridgeNode(net, 'node2', '10.244.2.1/24', ['10.244.2.2']);
  net.addSegment('underlay');
  const nodes = [
    {
      h: n1.node,
      ip: '192.168.1.10',
      idx: 1,
      peer: { ip: '192.168.1.11', idx: 2, mac: VTEP.node2 },
      mac: VTEP.node1,
    },
    {
      h: n2.node,
      ip: '192.168.1.11',
      idx: 2,
      peer: { ip: '192.168.1.10', idx: 1, mac: VTEP.node1 },
      mac: VTEP.node2,
    },
  ];
  for (const n of nodes) {
    n.h.link.addEther('eth0');
    net.attach(n.h.name, 'eth0', 'underlay');
    n.h.link.set('eth0', { up: true });
    n.h.addr.add(`${n.ip}/24`, 'eth0');
    addVxlan(n.h, 'flannel.1', {
      vni: 1,
      dstport: 8472,
      local: n.ip,
      dev: 'eth0',
      learning: false,
      mac: n.mac,
    });
    n.h.addr.add(`10.244.${n.idx}.0/32`, 'flannel.1');
    n.h.link.set('flannel.1', { up: true });
    n.h.route.add({
      dst: `10.244.${n.peer.idx}.0/24`,
      via: `10.244.${n.peer.idx}.0`,
      dev: 'flannel.1',
      onlink: true,
    });
    n.h.neigh.add(`10.244.${n.peer.idx}.0`, 'flannel.1', { lladdr: n.peer.mac });
    if (opts.fdb !== false) vxlanFdbAppend(n.h, 'flannel.1', n.peer.mac, n.peer.ip);
  }
  return { net, n1, n2 };
}

describe('VXLAN device (vxlan_xmit / vxlan_rcv)', () => {
  it('takes its MTU from the lower device minus 50 and lists its FDB like bridge fdb', () => {
    const { n1 } = flannelPair();
    expect(n1.node.getLink('flannel.1')!.mtu).toBe(1450);
    expect(vxlanFdbLines(n1.node.getLink('flannel.1')!)).toEqual([
      `${VTEP.node2} dev flannel.1 dst 192.168.1.11 self permanent`,
    ]);
  });

  it('encapsulates pod1 → pod4 as node1 → node2 on the underlay and decapsulates on the far side', () => {
    const { net, n2 } = flannelPair();
    n2.pods[0]!.listen('tcp', 80);
    const rec = new StepList();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80), { recorder: rec });
    expect(outcome(r)).toBe('delivered at node2-pod1');
    const encap = rec.steps.find((s) => s.kind === 'encap')!;
    const d = encap.detail as unknown as VxlanHeaders;
    expect(d.outer.ip).toMatchObject({
      src: '192.168.1.10',
      dst: '192.168.1.11',
      ttl: 64,
      df: false,
      tos: 0,
    });
    expect(d.outer.udp).toMatchObject({ dport: 8472, checksum: true });
    expect(d.outer.udp.sport).toBeGreaterThanOrEqual(32768);
    expect(d.outer.udp.sport).toBeLessThan(61000);
    expect(d.outer.vxlan.vni).toBe(1);
    expect(d.inner).toMatchObject({
      src: VTEP.node1,
      dst: VTEP.node2,
      ip: { src: '10.244.1.2', dst: '10.244.2.2', ttl: 63 },
    });
    expect(d.outer.ip.totalLength).toBe(d.inner.ip.totalLength + 50);
    // The underlay sees only the outer packet.
    const underlay = rec.steps.filter(
      (s: Step) =>
        s.kind === 'transmit' &&
        s.host.startsWith('node') &&
        !s.host.includes('-') &&
        s.summary.startsWith('eth0'),
    );
    expect(underlay.map((s) => s.packet?.ip.src + '>' + s.packet?.ip.dst)).toContain(
      '192.168.1.10>192.168.1.11',
    );
    expect(underlay.every((s) => s.packet?.l4.kind === 'udp' || s.packet === undefined)).toBe(true);
    const decap = rec.steps.find((s) => s.kind === 'decap' && s.summary.startsWith('flannel.1'))!;
    expect(decap.host).toBe('node2');
    expect(decap.packet?.ip).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.2' });
  });

  it('emits true VXLAN bytes: the outer packet parses back with wire.vxlanDecapsulate', () => {
    const { net } = flannelPair();
    const rec = new StepList();
    net.send('node1-pod1', echoRequest('10.244.2.2'), { recorder: rec });
    const outer = rec.steps.find((s) => s.kind === 'encap')!.packet!;
    const ipBytes = emitPacket(outer);
    const frame = new Uint8Array(14 + ipBytes.length);
    frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    frame.set(ipBytes, 14);
    const d = vxlanDecapsulate(frame);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.tunnel).toMatchObject({
      dport: 8472,
      vni: 1,
      ip: { src: '192.168.1.10', dst: '192.168.1.11' },
    });
    // And the round trip through the wire encoder gives the same bytes.
    expect(vxlanEncapsulate(d.value.tunnel, d.value.inner)).toEqual(frame);
  });

  it('drops with vxlan-no-fdb when the FDB has no entry for the VTEP MAC', () => {
    const { net } = flannelPair({ fdb: false });
    const r = net.send('node1-pod1', echoRequest('10.244.2.2'));
    expect(outcome(r)).toBe('dropped vxlan-no-fdb at node1');
  });

  it('answers a DF packet larger than flannel.1 allows with ICMP fragmentation needed, mtu 1450', () => {
    const { net } = flannelPair();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80, 40000, { size: 1460, df: true }));
    const f = r.fates.find((x) => x.kind === 'dropped');
    expect(f).toMatchObject({ reason: 'frag-needed', host: 'node1' });
    const resp = f?.kind === 'dropped' ? f.response : undefined;
    expect(resp?.packet.l4).toMatchObject({ kind: 'icmp', type: 3, code: 4, mtu: 1450 });
  });

  it('derives the outer source port from the inner flow, in the local port range', () => {
    const a = udpFlowSrcPort(tcpSyn('10.244.2.2', 80, 40000, { src: '10.244.1.2' }));
    const b = udpFlowSrcPort(tcpSyn('10.244.2.2', 80, 40001, { src: '10.244.1.2' }));
    expect(a).not.toBe(b);
    for (const p of [a, b]) expect(p >= 32768 && p < 61000).toBe(true);
  });
});
