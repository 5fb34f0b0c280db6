import { describe, expect, it } from 'vitest';
import { emitPacket, ipipDecapsulate, packetLength, parsePacket } from '../wire/index.js';
import type { Fate } from './fate.js';
import { addIpipFallback, ecnDecap, ipipDetails, type IpipHeaders } from './ipip.js';
import { Network } from './network.js';
import { StepList } from './step.js';
import { bridgeNode, echoRequest, tcpSyn } from './testing/builders.js';

function outcome(r: { outcome: Fate | undefined }): string {
  const f = r.outcome;
  if (!f) return 'none';
  if (f.kind === 'dropped') return `dropped ${f.reason} at ${f.host}`;
  if (f.kind === 'delivered') return `delivered at ${f.host}`;
  return `left-model at ${f.host}/${f.dev}`;
}

/** Two nodes wired like Calico's IPIP mode, by hand (cni/calico.ts does it from the model). */
function calicoIpipPair(opts: { tunl0OnNode2?: boolean } = {}) {
  const net = new Network();
  const n1 = bridgeNode(net, 'node1', '10.244.1.1/24', ['10.244.1.2']);
  const n2 = bridgeNode(net, 'node2', '10.244.2.1/24', ['10.244.2.2']);
  net.addSegment('underlay');
  const nodes = [
    { h: n1.node, ip: '192.168.1.10', idx: 1, peer: { ip: '192.168.1.11', idx: 2 } },
    { h: n2.node, ip: '192.168.1.11', idx: 2, peer: { ip: '192.168.1.10', idx: 1 } },
  ];
  for (const n of nodes) {
    n.h.link.addEther('eth0');
    net.attach(n.h.name, 'eth0', 'underlay');
    n.h.link.set('eth0', { up: true });
    n.h.addr.add(`${n.ip}/24`, 'eth0');
    if (n.idx === 2 && opts.tunl0OnNode2 === false) continue;
    addIpipFallback(n.h, { lowerMtu: 1500 });
    n.h.addr.add(`10.244.${n.idx}.0/32`, 'tunl0');
    n.h.link.set('tunl0', { up: true });
    n.h.route.add({
      dst: `10.244.${n.peer.idx}.0/24`,
      via: n.peer.ip,
      dev: 'tunl0',
      onlink: true,
    });
  }
  return { net, n1, n2 };
}

describe('tunl0 (ipip_tunnel_xmit / ipip_rcv)', () => {
  it('is the fallback device: MTU lower − 20, ttl inherit, nopmtudisc', () => {
    const { n1 } = calicoIpipPair();
    const l = n1.node.getLink('tunl0')!;
    expect(l.mtu).toBe(1480);
    expect(ipipDetails(l)).toBe('ipip any remote any local any ttl inherit nopmtudisc');
  });

  it('encapsulates pod → pod as node1 → node2 (protocol 4) and decapsulates on tunl0 of node2', () => {
    const { net, n2 } = calicoIpipPair();
    n2.pods[0]!.listen('tcp', 80);
    const rec = new StepList();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80, 40000, { df: true }), {
      recorder: rec,
    });
    expect(outcome(r)).toBe('delivered at node2-pod1');
    const encap = rec.steps.find((s) => s.kind === 'encap')!;
    expect(encap.host).toBe('node1');
    const d = encap.detail as unknown as IpipHeaders;
    // ttl inherit: the inner TTL after node1 forwarded it; DF copied (nopmtudisc); TOS 0 + ECN.
    expect(d.outer.ip).toMatchObject({
      src: '192.168.1.10',
      dst: '192.168.1.11',
      ttl: 63,
      df: true,
      tos: 0,
      protocol: 4,
    });
    expect(d.inner.ip).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 63 });
    expect(d.outer.ip.totalLength).toBe(d.inner.ip.totalLength + 20);
    // The underlay carries only the outer packet.
    const underlay = rec.steps.filter(
      (s) =>
        s.kind === 'transmit' &&
        s.host === 'node1' &&
        s.summary.startsWith('eth0') &&
        s.packet !== undefined,
    );
    expect(underlay.length).toBeGreaterThan(0);
    expect(underlay.every((s) => s.packet?.l4.kind === 'ipip')).toBe(true);
    const decap = rec.steps.find((s) => s.kind === 'decap' && s.summary.startsWith('tunl0'))!;
    expect(decap.host).toBe('node2');
    expect(decap.packet?.ip).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 63 });
    // The reply goes back the same way.
    const back = net.send('node2-pod1', tcpSyn('10.244.1.2', 40000, 80), { recorder: rec });
    expect(back.fates.some((f) => f.kind === 'dropped' && f.reason === 'unsupported')).toBe(false);
  });

  it('the inner packet enters on tunl0: strict rp_filter needs the route back via tunl0', () => {
    const { net, n2 } = calicoIpipPair();
    n2.node.sysctl.set('net.ipv4.conf.all.rp_filter', 1);
    expect(outcome(net.send('node1-pod1', echoRequest('10.244.2.2')))).toBe(
      'delivered at node2-pod1',
    );
    // Without node2's route to 10.244.1.0/24 via tunl0 the reverse path is eth0's
    // (connected 192.168.1.0/24 does not cover it; no default): rp_filter drops it on tunl0.
    n2.node.route.del({ dst: '10.244.1.0/24' });
    expect(outcome(net.send('node1-pod1', echoRequest('10.244.2.2')))).toBe(
      'dropped rp-filter at node2',
    );
  });

  it('emits true IP-in-IP bytes: the outer packet parses with wire.ipipDecapsulate', () => {
    const { net } = calicoIpipPair();
    const rec = new StepList();
    net.send('node1-pod1', echoRequest('10.244.2.2'), { recorder: rec });
    const outer = rec.steps.find((s) => s.kind === 'encap')!.packet!;
    expect(outer.l4.kind).toBe('ipip');
    const bytes = emitPacket(outer);
    expect(bytes.length).toBe(packetLength(outer));
    const d = ipipDecapsulate(bytes);
    expect(d.ok).toBe(true);
    if (!d.ok || outer.l4.kind !== 'ipip') return;
    expect(d.value.tunnel).toMatchObject({ src: '192.168.1.10', dst: '192.168.1.11', ttl: 63 });
    const inner = parsePacket(d.value.inner);
    expect(inner.ok && inner.value).toEqual(outer.l4.inner);
  });

  it('tunl0 down on the receiver: no tunnel takes the packet', () => {
    const { net, n2 } = calicoIpipPair();
    n2.node.link.set('tunl0', { up: false });
    expect(outcome(net.send('node1-pod1', echoRequest('10.244.2.2')))).toBe(
      'dropped no-listener at node2',
    );
  });

  it('a receiver without the ipip module answers ICMP protocol unreachable', () => {
    const { net } = calicoIpipPair({ tunl0OnNode2: false });
    const r = net.send('node1-pod1', echoRequest('10.244.2.2'));
    expect(outcome(r)).toBe('dropped no-listener at node2');
    const f = r.fates.find((x) => x.kind === 'dropped');
    const resp = f?.kind === 'dropped' ? f.response : undefined;
    expect(resp?.packet.l4).toMatchObject({ kind: 'icmp', type: 3, code: 2 });
    expect(resp?.packet.ip).toMatchObject({ src: '192.168.1.11', dst: '192.168.1.10' });
  });

  it('a DF packet larger than tunl0 allows gets fragmentation needed, mtu 1480', () => {
    const { net } = calicoIpipPair();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80, 40000, { size: 1460, df: true }));
    const f = r.fates.find((x) => x.kind === 'dropped');
    expect(f).toMatchObject({ reason: 'frag-needed', host: 'node1' });
    const resp = f?.kind === 'dropped' ? f.response : undefined;
    expect(resp?.packet.l4).toMatchObject({ kind: 'icmp', type: 3, code: 4, mtu: 1480 });
  });

  it('a route to tunl0 without a gateway makes the inner destination the outer one: a routing loop', () => {
    const { net, n1 } = calicoIpipPair();
    n1.node.route.del({ dst: '10.244.2.0/24' });
    n1.node.route.add({ dst: '10.244.2.0/24', dev: 'tunl0' });
    expect(outcome(net.send('node1-pod1', echoRequest('10.244.2.2')))).toBe(
      'dropped unsupported at node1',
    );
  });

  it.each([
    // [outer tos, inner tos, inner tos after decap or undefined = dropped] (__INET_ECN_decapsulate)
    [0, 0, 0],
    [3, 0, undefined],
    [3, 2, 3],
    [3, 1, 3],
    [1, 2, 1],
    [2, 1, 1],
    [0, 2, 2],
    [0xb8 | 3, 0xb8 | 2, 0xb8 | 3],
  ] as const)('ECN decapsulation: outer %i inner %i → %s', (outer, inner, want) => {
    expect(ecnDecap(outer, inner)).toBe(want);
  });
});
