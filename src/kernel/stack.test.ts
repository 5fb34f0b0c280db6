import { describe, expect, it } from 'vitest';
import { withIp, type Ipv4Packet } from '../wire/packet.js';
import type { Fate } from './fate.js';
import type { Frame } from './frame.js';
import type { HookCall, HookResult, NetfilterHooks } from './hooks.js';
import { Network } from './network.js';
import { StepList } from './step.js';
import { bridgeNode, echoRequest, tcpSyn, udp } from './testing/builders.js';

function outcome(r: { outcome: Fate | undefined }): string {
  const f = r.outcome;
  if (!f) return 'none';
  if (f.kind === 'dropped') return `dropped ${f.reason} at ${f.host}`;
  if (f.kind === 'delivered') return `delivered at ${f.host}`;
  return `left-model at ${f.host}/${f.dev}`;
}

function summaries(rec: StepList, kind?: string): string[] {
  return rec.steps
    .filter((s) => kind === undefined || s.kind === kind)
    .map((s) => `[${s.host}] ${s.summary}`);
}

/** Two nodes with a bridge each, their eth0 on one underlay segment, routes to each other's pod CIDR. */
function twoNodes(opts: { hairpin?: boolean } = {}) {
  const net = new Network();
  const n1 = bridgeNode(net, 'node1', '10.244.1.1/24', ['10.244.1.2', '10.244.1.3'], opts);
  const n2 = bridgeNode(net, 'node2', '10.244.2.1/24', ['10.244.2.2'], opts);
  net.addSegment('underlay');
  for (const [n, addr] of [
    [n1.node, '192.168.1.10/24'],
    [n2.node, '192.168.1.11/24'],
  ] as const) {
    n.link.addEther('eth0');
    net.attach(n.name, 'eth0', 'underlay');
    n.link.set('eth0', { up: true });
    n.addr.add(addr, 'eth0');
  }
  n1.node.route.add({ dst: '10.244.2.0/24', via: '192.168.1.11' });
  n2.node.route.add({ dst: '10.244.1.0/24', via: '192.168.1.10' });
  return { net, n1, n2 };
}

describe('ARP: a real who-has / is-at exchange, then the cache', () => {
  it('first packet resolves, the second hits the cache', () => {
    const { net, n1 } = twoNodes();
    const rec = new StepList();
    const r = net.send('node1-pod1', echoRequest('10.244.1.3'), { recorder: rec });
    expect(outcome(r)).toBe('delivered at node1-pod2');
    expect(summaries(rec, 'arp')).toEqual([
      '[node1-pod1] neigh 10.244.1.3 dev eth0: no entry → INCOMPLETE, packet queued',
      '[node1-pod1] arp who-has 10.244.1.3 tell 10.244.1.2 (eth0, broadcast)',
      `[node1-pod2] neigh 10.244.1.2 dev eth0 lladdr ${n1.pods[0]!.getLink('eth0')!.mac} NONE → STALE (learned from who-has)`,
      `[node1-pod2] arp reply 10.244.1.3 is-at ${n1.pods[1]!.getLink('eth0')!.mac} (to 10.244.1.2 on eth0)`,
      `[node1-pod1] neigh 10.244.1.3 dev eth0 lladdr ${n1.pods[1]!.getLink('eth0')!.mac} INCOMPLETE → REACHABLE (is-at from 10.244.1.3)`,
    ]);
    const again = new StepList();
    net.send('node1-pod1', echoRequest('10.244.1.3', 2), { recorder: again });
    expect(summaries(again, 'arp')).toEqual([
      `[node1-pod1] neigh 10.244.1.3 dev eth0 lladdr ${n1.pods[1]!.getLink('eth0')!.mac} REACHABLE (cache hit)`,
    ]);
  });

  it('REACHABLE turns STALE after base_reachable_time, and DELAY on use', () => {
    const { net, n1 } = twoNodes();
    net.send('node1-pod1', echoRequest('10.244.1.3'));
    net.advance(31);
    expect(n1.pods[0]!.neigh.list().map((e) => e.state)).toEqual(['STALE']);
    net.send('node1-pod1', echoRequest('10.244.1.3', 2));
    expect(n1.pods[0]!.neigh.list().map((e) => e.state)).toEqual(['DELAY']);
  });

  it('nobody answers: FAILED, the packet dies (and a forwarded one earns ICMP host unreachable)', () => {
    const { net, n1 } = twoNodes();
    const local = net.send('node1', echoRequest('10.244.1.99'));
    expect(outcome(local)).toBe('dropped arp-failed at node1');
    expect(n1.node.neigh.list().find((e) => e.ip === '10.244.1.99')?.state).toBe('FAILED');
    const fwd = net.send('node2-pod1', echoRequest('10.244.1.99'));
    expect(outcome(fwd)).toBe('dropped arp-failed at node1');
    const f = fwd.outcome as Extract<Fate, { kind: 'dropped' }>;
    expect(f.response?.packet.ip).toMatchObject({ src: '192.168.1.10', dst: '10.244.2.2' });
    expect(f.response?.packet.l4).toMatchObject({ kind: 'icmp', type: 3, code: 1 });
  });

  it('proxy_arp answers for addresses routed through another device (routed CNIs)', () => {
    const net = new Network();
    const node = net.addHost('node', { loopbackUp: true });
    node.sysctl.set('net.ipv4.ip_forward', 1);
    node.link.addDummy('dummy0');
    node.link.set('dummy0', { up: true });
    node.addr.add('192.168.1.10/24', 'dummy0');
    node.route.add({ dst: 'default', via: '192.168.1.1', dev: 'dummy0', onlink: true });
    const pods = ['10.244.1.5', '10.244.1.6'].map((ipAddr, i) => {
      const pod = net.addHost(`pod${i}`, { loopbackUp: true });
      node.link.addVeth(`cali${i}`, { peer: 'eth0', peerHost: pod });
      node.link.set(`cali${i}`, { up: true });
      node.sysctl.set(`net.ipv4.conf.cali${i}.proxy_arp`, 1);
      node.route.add({ dst: `${ipAddr}/32`, dev: `cali${i}`, scope: 'link' });
      pod.addr.add(`${ipAddr}/32`, 'eth0');
      pod.link.set('eth0', { up: true });
      pod.route.add({ dst: '169.254.1.1', dev: 'eth0', scope: 'link' });
      pod.route.add({ dst: 'default', via: '169.254.1.1', dev: 'eth0' });
      return pod;
    });
    const rec = new StepList();
    const r = net.send('pod0', tcpSyn('10.244.1.6', 80), { recorder: rec });
    expect(outcome(r)).toBe('dropped no-listener at pod1');
    expect(summaries(rec, 'arp')).toContain(
      `[node] arp proxy reply 169.254.1.1 is-at ${node.getLink('cali0')!.mac} (proxy_arp on cali0; 169.254.1.1 routes via dummy0)`,
    );
    pods[1]!.listen('tcp', 80);
    expect(outcome(net.send('pod0', tcpSyn('10.244.1.6', 80, 40001)))).toBe('delivered at pod1');
  });
});

describe('the bridge: learning, flooding, hairpin', () => {
  it('learns source MACs and floods broadcasts to every other port and up to itself', () => {
    const { net, n1 } = twoNodes();
    const rec = new StepList();
    net.send('node1-pod1', echoRequest('10.244.1.3'), { recorder: rec });
    const b = summaries(rec, 'bridge');
    const m1 = n1.pods[0]!.getLink('eth0')!.mac;
    const m2 = n1.pods[1]!.getLink('eth0')!.mac;
    expect(b).toEqual([
      `[node1] cni0: learned ${m1} on veth1`,
      '[node1] cni0: broadcast from veth1 → flood veth2 + cni0',
      `[node1] cni0: learned ${m2} on veth2`,
      `[node1] cni0: fdb ${m1} → veth1`,
      `[node1] cni0: fdb ${m2} → veth2`,
    ]);
    expect(n1.node.getLink('cni0')!.bridge!.fdb.get(m1)?.port).toBe('veth1');
  });

  it('floods unknown unicast; the pods it was not for drop it at layer 2', () => {
    const { net, n1 } = twoNodes();
    const frame = {
      src: '02:00:00:00:00:aa',
      dst: '02:00:00:00:00:bb',
      payload: {
        kind: 'ipv4' as const,
        packet: withIp(echoRequest('10.244.1.9'), { src: '10.244.1.2' }),
      },
    };
    const rec = new StepList();
    const r = net.inject('node1', 'veth1', frame, { recorder: rec });
    expect(summaries(rec, 'bridge')).toContain(
      '[node1] cni0: 02:00:00:00:00:bb not in fdb → flood veth2',
    );
    expect(r.fates.map((f) => (f.kind === 'dropped' ? `${f.host} ${f.reason}` : f.kind))).toEqual([
      'node1-pod2 not-for-us',
    ]);
    expect(n1.node.getLink('cni0')!.bridge!.fdb.get('02:00:00:00:00:aa')?.port).toBe('veth1');
  });

  it('learned entries age out after ageing_time', () => {
    const { net, n1 } = twoNodes();
    net.send('node1-pod1', echoRequest('10.244.1.3'));
    net.advance(301);
    const rec = new StepList();
    net.send('node1-pod1', echoRequest('10.244.1.3', 2), { recorder: rec });
    expect(summaries(rec, 'bridge')[0]).toMatch(/not in fdb → flood/);
    expect(n1.node.getLink('cni0')!.bridge!.fdb.size).toBeGreaterThan(0);
  });
});

/** A scripted netfilter: records every hook call and lets a test rewrite or refuse. */
function scripted(
  f: (call: HookCall, p: Ipv4Packet) => Partial<HookResult> | undefined = () => undefined,
) {
  const calls: string[] = [];
  const hooks: NetfilterHooks = {
    hook(call, packet, meta) {
      const b = call.bridge
        ? ` phys ${call.bridge.physIn ?? '-'}>${call.bridge.physOut ?? '-'}`
        : '';
      calls.push(
        `${call.hook} in=${call.inIface ?? '-'} out=${call.outIface ?? '-'}${b}${call.nexthop ? ` nh=${call.nexthop}` : ''}`,
      );
      const r = f(call, packet);
      return { verdict: 'ACCEPT', packet, meta, ...r };
    },
  };
  return { calls, hooks };
}

const VIP = '10.96.0.10';
const dnatTo = (ep: string) => (call: HookCall, p: Ipv4Packet) =>
  (call.hook === 'PREROUTING' || call.hook === 'OUTPUT') && p.ip.dst === VIP
    ? { packet: withIp(p, { dst: ep }) }
    : undefined;

describe('br_netfilter: bridged IPv4 through the IPv4 hooks (reference §2)', () => {
  it('pod to pod on one bridge: PREROUTING, FORWARD and POSTROUTING on cni0 with physdev', () => {
    const { net, n1 } = twoNodes();
    n1.node.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
    const s = scripted();
    n1.node.netfilter = s.hooks;
    expect(outcome(net.send('node1-pod1', udp('10.244.1.3', 53)))).toBe(
      'dropped no-listener at node1-pod2',
    );
    // ARP is not IPv4: only the datagram runs the hooks.
    expect(s.calls).toEqual([
      'PREROUTING in=cni0 out=- phys veth1>-',
      'FORWARD in=cni0 out=cni0 phys veth1>veth2',
      'POSTROUTING in=- out=cni0 phys veth1>veth2 nh=10.244.1.3',
    ]);
  });

  it('without bridge-nf-call-iptables the same traffic never meets netfilter', () => {
    const { net, n1 } = twoNodes();
    const s = scripted();
    n1.node.netfilter = s.hooks;
    net.send('node1-pod1', udp('10.244.1.3', 53));
    expect(s.calls).toEqual([]);
  });

  it('DNAT to a pod on the same bridge stays on L2 (bridged DNAT), the reply source is the pod', () => {
    const { net, n1 } = twoNodes();
    n1.node.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
    const s = scripted(dnatTo('10.244.1.3'));
    n1.node.netfilter = s.hooks;
    n1.pods[1]!.listen('tcp', 8080);
    const rec = new StepList();
    const r = net.send('node1-pod1', tcpSyn(VIP, 8080), { recorder: rec });
    expect(outcome(r)).toBe('delivered at node1-pod2');
    expect(summaries(rec, 'bridge').some((x) => x.includes('bridged DNAT'))).toBe(true);
    expect(s.calls).toEqual([
      'PREROUTING in=cni0 out=- phys veth1>-',
      'FORWARD in=cni0 out=cni0 phys veth1>veth2',
      'POSTROUTING in=- out=cni0 phys veth1>veth2 nh=10.244.1.3',
    ]);
    // The node resolved the new destination itself, from its cni0 address.
    expect(summaries(rec, 'arp')).toContain(
      '[node1] arp who-has 10.244.1.3 tell 10.244.1.1 (cni0, broadcast)',
    );
  });

  it('DNAT to a pod on another node leaves the bridge and is routed (ip_forward)', () => {
    const { net, n1 } = twoNodes();
    n1.node.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
    const s = scripted(dnatTo('10.244.2.2'));
    n1.node.netfilter = s.hooks;
    net.host('node2-pod1')!.listen('tcp', 8080);
    const r = net.send('node1-pod1', tcpSyn(VIP, 8080), { recorder: new StepList() });
    expect(outcome(r)).toBe('delivered at node2-pod1');
    expect(s.calls).toEqual([
      'PREROUTING in=cni0 out=- phys veth1>-',
      'FORWARD in=cni0 out=eth0',
      'POSTROUTING in=- out=eth0 nh=192.168.1.11',
    ]);
  });

  it('hairpin: DNAT back to the sender needs hairpin mode on its port', () => {
    for (const hairpin of [false, true]) {
      const { net, n1 } = twoNodes({ hairpin });
      n1.node.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
      // kube-proxy's answer to hairpin: masquerade (to cni0's address) when source = endpoint.
      n1.node.netfilter = scripted((call, p) => {
        const d = dnatTo('10.244.1.2')(call, p);
        if (d) return d;
        if (call.hook === 'POSTROUTING' && p.ip.src === '10.244.1.2' && p.ip.dst === '10.244.1.2')
          return { packet: withIp(p, { src: '10.244.1.1' }) };
        return undefined;
      }).hooks;
      n1.pods[0]!.listen('tcp', 8080);
      const r = net.send('node1-pod1', tcpSyn(VIP, 8080));
      expect(outcome(r)).toBe(hairpin ? 'delivered at node1-pod1' : 'dropped hairpin-off at node1');
    }
  });

  it('without the masquerade, a hairpinned packet from itself is a martian source', () => {
    const { net, n1 } = twoNodes({ hairpin: true });
    n1.node.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
    n1.node.netfilter = scripted(dnatTo('10.244.1.2')).hooks;
    n1.pods[0]!.listen('tcp', 8080);
    expect(outcome(net.send('node1-pod1', tcpSyn(VIP, 8080)))).toBe(
      'dropped martian-source at node1-pod1',
    );
  });
});

describe('netfilter verdicts and OUTPUT re-routing', () => {
  it('DNAT in OUTPUT re-routes and keeps the source chosen first (ip_route_me_harder)', () => {
    const { net, n1 } = twoNodes();
    n1.node.route.add({ dst: 'default', via: '192.168.1.1' });
    n1.node.netfilter = scripted(dnatTo('10.244.1.3')).hooks;
    n1.pods[1]!.listen('tcp', 80);
    const rec = new StepList();
    const r = net.send('node1', tcpSyn(VIP, 80), { recorder: rec });
    expect(outcome(r)).toBe('delivered at node1-pod2');
    expect((r.outcome as Extract<Fate, { kind: 'delivered' }>).packet.ip.src).toBe('192.168.1.10');
    expect(summaries(rec, 'route')[1]).toMatch(
      /^\[node1\] reroute 10\.244\.1\.3 after OUTPUT \(ip_route_me_harder, source 192\.168\.1\.10 kept\)/,
    );
  });

  it('DROP and REJECT are fates with names; REJECT carries the response', () => {
    const { net, n1 } = twoNodes();
    const rst = withIp(tcpSyn('10.244.1.2', 1), { src: '10.244.2.2' });
    n1.node.netfilter = scripted((call) =>
      call.hook === 'FORWARD'
        ? { verdict: 'REJECT', rejectResponse: rst, why: 'filter KUBE-SERVICES #1' }
        : undefined,
    ).hooks;
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80));
    expect(outcome(r)).toBe('dropped netfilter-reject at node1');
    expect((r.outcome as Extract<Fate, { kind: 'dropped' }>).response?.packet).toBe(rst);
    n1.node.netfilter = scripted((call) =>
      call.hook === 'PREROUTING' ? { verdict: 'DROP' } : undefined,
    ).hooks;
    expect(outcome(net.send('node1-pod1', tcpSyn('10.244.2.2', 80, 40001)))).toBe(
      'dropped netfilter-drop at node1',
    );
  });
});

describe('sockets answer for the application', () => {
  const cases: [string, Ipv4Packet, string, string | undefined][] = [
    [
      'SYN to a listener',
      tcpSyn('10.244.1.3', 80),
      'delivered at node1-pod2',
      '10.244.1.3:80 > 10.244.1.2:40000 tcp [S.]',
    ],
    [
      'SYN to a closed port',
      tcpSyn('10.244.1.3', 81),
      'dropped no-listener at node1-pod2',
      '10.244.1.3:81 > 10.244.1.2:40000 tcp [R.]',
    ],
    ['UDP to a bound port', udp('10.244.1.3', 53), 'delivered at node1-pod2', undefined],
    [
      'UDP to a closed port',
      udp('10.244.1.3', 54),
      'dropped no-listener at node1-pod2',
      '10.244.1.3 > 10.244.1.2 icmp type 3 code 3',
    ],
    [
      'echo request',
      echoRequest('10.244.1.3', 9),
      'delivered at node1-pod2',
      '10.244.1.3 > 10.244.1.2 icmp type 0 code 0 id 9',
    ],
  ];
  it.each(cases)('%s', async (_n, packet, want, response) => {
    const { describePacket } = await import('../wire/packet.js');
    const { net, n1 } = twoNodes();
    n1.pods[1]!.listen('tcp', 80, { label: 'nginx' });
    n1.pods[1]!.listen('udp', 53);
    const r = net.send('node1-pod1', packet);
    expect(outcome(r)).toBe(want);
    const f = r.outcome!;
    const resp = f.kind === 'left-model' ? undefined : f.response;
    expect(resp && describePacket(resp.packet)).toBe(response);
    if (resp) {
      // The answer finds its way back to the sending socket.
      const back = net.respond(resp);
      expect(outcome(back)).toBe('delivered at node1-pod1');
    }
  });

  it('the RST for a SYN acknowledges it; the SYN-ACK answers it', () => {
    const { net, n1 } = twoNodes();
    n1.pods[1]!.listen('tcp', 80);
    const ok = net.send('node1-pod1', tcpSyn('10.244.1.3', 80)).outcome as Extract<
      Fate,
      { kind: 'delivered' }
    >;
    expect(ok.response?.packet.l4).toMatchObject({
      kind: 'tcp',
      ack: 1001,
      flags: { syn: true, ack: true },
    });
    const no = net.send('node1-pod1', tcpSyn('10.244.1.3', 81)).outcome as Extract<
      Fate,
      { kind: 'dropped' }
    >;
    expect(no.response?.packet.l4).toMatchObject({
      kind: 'tcp',
      seq: 0,
      ack: 1001,
      flags: { rst: true, ack: true },
    });
  });

  it('loopback: a pod reaches itself and 127.0.0.1 through lo', () => {
    const { net, n1 } = twoNodes();
    n1.pods[0]!.listen('tcp', 8080, { addr: '127.0.0.1' });
    n1.pods[0]!.listen('tcp', 80);
    const rec = new StepList();
    expect(outcome(net.send('node1-pod1', tcpSyn('127.0.0.1', 8080), { recorder: rec }))).toBe(
      'delivered at node1-pod1',
    );
    expect(summaries(rec, 'transmit')).toEqual([
      '[node1-pod1] lo: tx 127.0.0.1:40000 > 127.0.0.1:8080 tcp [S] (loopback)',
    ]);
    expect(outcome(net.send('node1-pod1', tcpSyn('10.244.1.2', 80)))).toBe(
      'delivered at node1-pod1',
    );
    expect(outcome(net.send('node1-pod1', tcpSyn('10.244.1.2', 8080, 40002)))).toBe(
      'dropped no-listener at node1-pod1',
    );
  });
});

describe('forwarding', () => {
  it('pod to pod across nodes: two routers, TTL 64 → 62', () => {
    const { net } = twoNodes();
    net.host('node2-pod1')!.listen('tcp', 80);
    const rec = new StepList();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80), { recorder: rec });
    expect(outcome(r)).toBe('delivered at node2-pod1');
    expect((r.outcome as Extract<Fate, { kind: 'delivered' }>).packet.ip.ttl).toBe(62);
    expect(summaries(rec, 'route')).toEqual([
      '[node1-pod1] route output 10.244.2.2: 10.244.2.2 & 0.0.0.0 = 0.0.0.0 → matches default via 10.244.1.1 dev eth0 → dev eth0 src 10.244.1.2 via 10.244.1.1',
      '[node1] route input 10.244.2.2 from 10.244.1.2 iif cni0: 10.244.2.2 & 255.255.255.0 = 10.244.2.0 → matches 10.244.2.0/24 via 192.168.1.11 dev eth0',
      '[node2] route input 10.244.2.2 from 10.244.1.2 iif eth0: 10.244.2.2 & 255.255.255.0 = 10.244.2.0 → matches 10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1',
      '[node2-pod1] route input 10.244.2.2 from 10.244.1.2 iif eth0: 10.244.2.2 & 255.255.255.255 = 10.244.2.2 → matches local 10.244.2.2 dev eth0 proto kernel scope host src 10.244.2.2 [table local]',
    ]);
  });

  it('TTL 1 dies at the first router, which answers from the address facing the sender', () => {
    const { net } = twoNodes();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80, 40000, { ttl: 1 }));
    expect(outcome(r)).toBe('dropped ttl-exceeded at node1');
    const resp = (r.outcome as Extract<Fate, { kind: 'dropped' }>).response!;
    expect(resp.packet.ip).toMatchObject({ src: '10.244.1.1', dst: '10.244.1.2' });
    expect(resp.packet.l4).toMatchObject({ kind: 'icmp', type: 11, code: 0 });
    expect(outcome(net.respond(resp))).toBe('delivered at node1-pod1');
  });

  const routerCases: [string, (x: ReturnType<typeof twoNodes>) => void, Ipv4Packet, string][] = [
    [
      'ip_forward=0',
      (x) => x.n1.node.sysctl.set('net.ipv4.ip_forward', 0),
      tcpSyn('10.244.2.2', 80),
      'dropped ip-forward-disabled at node1',
    ],
    [
      'no route',
      (x) => x.n1.node.route.del({ dst: '10.244.2.0/24' }),
      tcpSyn('10.244.2.2', 80),
      'dropped no-route at node1',
    ],
    [
      'blackhole route',
      (x) => x.n1.node.route.add({ dst: '10.244.2.0/25', type: 'blackhole' }),
      tcpSyn('10.244.2.2', 80),
      'dropped route-blackhole at node1',
    ],
    [
      'prohibit route',
      (x) => x.n1.node.route.add({ dst: '10.244.2.2/32', type: 'prohibit' }),
      tcpSyn('10.244.2.2', 80),
      'dropped route-prohibit at node1',
    ],
    [
      'DF and a smaller MTU on the way',
      (x) => x.n1.node.link.set('eth0', { mtu: 1400 }),
      tcpSyn('10.244.2.2', 80, 40000, { size: 1400 }),
      'dropped frag-needed at node1',
    ],
    [
      'no DF: fragmented, not refused',
      (x) => x.n1.node.link.set('eth0', { mtu: 1400 }),
      udp('10.244.2.2', 53, 40000, { size: 1400 }),
      'dropped no-listener at node2-pod1',
    ],
    [
      'peer of the veth is down',
      (x) => x.n2.pods[0]!.link.set('eth0', { up: false }),
      tcpSyn('10.244.2.2', 80),
      'dropped arp-failed at node2',
    ],
  ];
  it.each(routerCases)('%s', (_n, setup, packet, want) => {
    const x = twoNodes();
    setup(x);
    expect(outcome(x.net.send('node1-pod1', packet))).toBe(want);
  });

  it('rp_filter: strict drops a source that routes back elsewhere, loose lets it through', () => {
    for (const [rp, want] of [
      [0, 'delivered at node1-pod1'],
      [1, 'dropped rp-filter at node1'],
      [2, 'delivered at node1-pod1'],
    ] as const) {
      const { net, n1 } = twoNodes();
      n1.node.route.add({ dst: '172.16.0.0/16', dev: 'cni0' });
      n1.node.sysctl.set('net.ipv4.conf.all.rp_filter', rp);
      n1.pods[0]!.route.add({ dst: '172.16.0.0/16', via: '10.244.1.1' });
      n1.pods[0]!.listen('udp', 53);
      // Spoofed from a source the node routes via cni0, arriving on eth0.
      const spoof = withIp(udp('10.244.1.2', 53), { src: '172.16.0.9' });
      expect(outcome(net.send('node2', spoof, { anySource: true }))).toBe(want);
    }
  });

  it('martians: 127/8 source off lo unless route_localnet (127.0.0.1 itself is always ours)', () => {
    for (const [localnet, src, want] of [
      [0, '127.0.0.5', 'dropped martian-source at node1'],
      [1, '127.0.0.5', 'dropped no-listener at node1'],
      [1, '127.0.0.1', 'dropped martian-source at node1'],
    ] as const) {
      const { net, n1 } = twoNodes();
      n1.node.sysctl.set('net.ipv4.conf.eth0.route_localnet', localnet);
      n1.node.neigh.add('192.168.1.10', 'eth0', {
        lladdr: n1.node.getLink('eth0')!.mac,
        nud: 'noarp',
      });
      const mac = n1.node.getLink('eth0')!.mac;
      const r = net.inject('node1', 'eth0', {
        src: '02:00:00:00:00:01',
        dst: mac,
        payload: { kind: 'ipv4', packet: withIp(udp('192.168.1.10', 9), { src }) },
      });
      expect(outcome(r)).toBe(want);
    }
  });

  it('a packet to the world leaves it; the world answers ARP', () => {
    const net = new Network();
    const { node } = bridgeNode(net, 'node1', '10.244.1.1/24', ['10.244.1.2']);
    node.link.addEther('eth0');
    net.attachWorld('node1', 'eth0', 'internet');
    node.link.set('eth0', { up: true });
    node.addr.add('192.168.1.10/24', 'eth0');
    node.route.add({ dst: 'default', via: '192.168.1.1' });
    const r = net.send('node1-pod1', tcpSyn('8.8.8.8', 443));
    expect(outcome(r)).toBe('left-model at node1/eth0');
    const f = r.outcome as Extract<Fate, { kind: 'left-model' }>;
    expect(f.frame.payload).toMatchObject({
      kind: 'ipv4',
      packet: { ip: { src: '10.244.1.2', dst: '8.8.8.8', ttl: 63 } },
    });
  });

  it('a dummy device swallows what is sent through it', () => {
    const net = new Network();
    const h = net.addHost('h', { loopbackUp: true });
    h.link.addDummy('dummy0');
    h.link.set('dummy0', { up: true });
    h.addr.add('10.0.0.1/24', 'dummy0');
    expect(outcome(net.send('h', udp('10.0.0.2', 53)))).toBe('dropped device-discard at h');
  });
});

describe('extension points for tunnel devices (the shape of vxlan / ipip)', () => {
  it('a driver encapsulates through the host routing; a UDP tunnel socket decapsulates onto a device', () => {
    const { net, n1, n2 } = twoNodes();
    // The wire format has no payload; the toy tunnel carries inner frames by datagram id.
    const inFlight = new Map<number, Frame>();
    let nextId = 1;
    const remote: Record<string, string> = { node1: '192.168.1.11', node2: '192.168.1.10' };
    for (const n of [n1.node, n2.node]) {
      n.link.addDevice('tun0', {
        kind: 'toytun',
        needsArp: false,
        xmit(ctx, frame) {
          const id = nextId++;
          inFlight.set(id, frame);
          ctx.step('encap', `tun0: encapsulate to ${remote[n.name]}:4789`);
          ctx.send(udp(remote[n.name]!, 4789, id));
        },
      });
      n.link.set('tun0', { up: true });
      n.sockets.addTunnel({
        port: 4789,
        label: 'toytun',
        rcv(ctx, packet) {
          const inner = packet.l4.kind === 'udp' ? inFlight.get(packet.l4.sport) : undefined;
          if (!inner) return ctx.drop('unsupported', 'unknown tunnel payload', packet);
          ctx.receive('tun0', inner);
        },
      });
    }
    n1.node.route.replace({ dst: '10.244.2.0/24', dev: 'tun0' });
    n2.node.route.replace({ dst: '10.244.1.0/24', dev: 'tun0' });
    n2.pods[0]!.listen('tcp', 80);
    const rec = new StepList();
    const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80), { recorder: rec });
    expect(outcome(r)).toBe('delivered at node2-pod1');
    expect(summaries(rec).filter((x) => /encap|tunnel socket|tun0: rx/.test(x))).toEqual([
      '[node1] tun0: encapsulate to 192.168.1.11:4789',
      '[node2] udp 192.168.1.11:4789 is a toytun tunnel socket',
      `[node2] tun0: rx 10.244.1.2:40000 > 10.244.2.2:80 tcp [S] (${n1.node.getLink('tun0')!.mac} > 00:00:00:00:00:00)`,
    ]);
  });
});

describe('the simulation', () => {
  it('is deterministic: the same input gives the same steps', () => {
    const run = () => {
      const { net, n2 } = twoNodes();
      n2.pods[0]!.listen('tcp', 80);
      const rec = new StepList();
      net.send('node1-pod1', tcpSyn('10.244.2.2', 80), { recorder: rec });
      return JSON.stringify(rec.steps);
    };
    expect(run()).toBe(run());
  });

  it('stops a broadcast storm between two bridges with loop-limit', () => {
    const net = new Network();
    const h = net.addHost('h', { loopbackUp: true });
    h.link.addBridge('br0');
    h.link.addBridge('br1');
    for (const i of [0, 1]) {
      h.link.addVeth(`a${i}`, { peer: `b${i}` });
      h.link.set(`a${i}`, { master: 'br0', up: true });
      h.link.set(`b${i}`, { master: 'br1', up: true });
    }
    h.link.set('br0', { up: true });
    h.link.set('br1', { up: true });
    h.addr.add('10.0.0.1/24', 'br0');
    const r = net.send('h', udp('10.0.0.255', 9), { maxFrames: 500 });
    expect(r.fates.some((f) => f.kind === 'dropped' && f.reason === 'loop-limit')).toBe(true);
  });
});
