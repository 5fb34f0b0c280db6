/**
 * The stack and the real netfilter engine together, through the hook seam:
 * DNAT on the way in, conntrack's un-DNAT on the way back. A test-local
 * adapter (the twin has its own) keeps the kernel layer free of upper layers.
 */
import { describe, expect, it } from 'vitest';
import type { Fate } from './fate.js';
import type { HookResult, NetfilterHooks } from './hooks.js';
import {
  Netfilter,
  type NetfilterEnv,
  NO_CT,
  DEFAULT_CONNTRACK_SYSCTLS,
  type Chain,
  type Rule,
  type Ruleset,
  type SkbCt,
  type Table,
} from './netfilter/index.js';
import { Network } from './network.js';
import { StepList } from './step.js';
import { bridgeNode, tcpSyn } from './testing/builders.js';

function iptables(host: NetfilterEnv, ruleset: Ruleset): NetfilterHooks {
  const nf = new Netfilter(ruleset, {
    host: host.host,
    addrType: (ip, dev) => host.addrType(ip, dev),
    masqueradeSource: (o, nh) => host.masqueradeSource(o, nh),
    primaryAddress: (i) => host.primaryAddress(i),
    now: () => host.now(),
    sysctls: DEFAULT_CONNTRACK_SYSCTLS,
  });
  return {
    hook(call, packet, meta, _h, rec, chooser): HookResult {
      const o = nf.run(
        call.hook,
        { packet, mark: meta.mark, ct: (meta.ct as SkbCt | undefined) ?? NO_CT },
        call,
        chooser,
        rec,
      );
      return {
        verdict: o.verdict,
        packet: o.skb.packet,
        meta: { mark: o.skb.mark, ct: o.skb.ct },
        ...(o.reject ? { rejectResponse: o.reject.response } : {}),
        rerouteNeeded: o.rerouteNeeded,
      };
    },
  };
}

const chain = (name: string, rules: Rule[] = []): Chain => ({
  name,
  policy: 'ACCEPT',
  rules,
  source: {},
});

/** nat: -A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.2.2:8080 (also in OUTPUT). */
function dnatRuleset(): Ruleset {
  const dnat: Rule = {
    matches: [
      { kind: 'destination', cidr: '10.96.0.10/32', invert: false },
      { kind: 'protocol', protocol: 'tcp', invert: false },
      { kind: 'l4', protocol: 'tcp', dport: { from: 80, to: 80, invert: false } },
    ],
    target: {
      kind: 'DNAT',
      toAddr: { from: '10.244.2.2', to: '10.244.2.2' },
      toPorts: { from: 8080, to: 8080 },
      random: false,
      persistent: false,
    },
    text: '-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.2.2:8080',
    source: {},
  };
  const nat: Table = {
    name: 'nat',
    chains: new Map([
      ['PREROUTING', chain('PREROUTING', [dnat])],
      ['INPUT', chain('INPUT')],
      ['OUTPUT', chain('OUTPUT', [dnat])],
      ['POSTROUTING', chain('POSTROUTING')],
    ]),
  };
  return { tables: new Map([['nat', nat]]) };
}

describe('stack + iptables engine through the hook seam', () => {
  for (const brnf of [false, true]) {
    it(`a ClusterIP connection is DNATed and its reply un-DNATed (bridge-nf-call-iptables=${brnf ? 1 : 0})`, () => {
      const net = new Network();
      const n1 = bridgeNode(net, 'node1', '10.244.1.1/24', ['10.244.1.2']);
      const n2 = bridgeNode(net, 'node2', '10.244.2.1/24', ['10.244.2.2']);
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
      n1.node.route.add({ dst: 'default', via: '192.168.1.1' });
      if (brnf) n1.node.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
      n1.node.netfilter = iptables(n1.node, dnatRuleset());
      n2.pods[0]!.listen('tcp', 8080, { label: 'store-be' });

      const rec = new StepList();
      const req = net.send('node1-pod1', tcpSyn('10.96.0.10', 80, 43210), { recorder: rec });
      expect(req.outcome?.kind).toBe('delivered');
      const got = req.outcome as Extract<Fate, { kind: 'delivered' }>;
      expect(got.host).toBe('node2-pod1');
      expect(got.packet.ip).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.2' });
      expect(got.packet.l4).toMatchObject({ sport: 43210, dport: 8080 });

      const reply = net.respond(got.response!, { recorder: rec });
      const back = reply.outcome as Extract<Fate, { kind: 'delivered' }>;
      expect(back.host).toBe('node1-pod1');
      // un-DNAT: the client sees the Service address it connected to.
      expect(back.packet.ip).toMatchObject({ src: '10.96.0.10', dst: '10.244.1.2' });
      expect(back.packet.l4).toMatchObject({
        sport: 80,
        dport: 43210,
        flags: { syn: true, ack: true },
      });
      expect(back.socket.state).toBe('ESTABLISHED');
    });
  }

  it('the node itself reaches the ClusterIP: OUTPUT DNAT, reroute, reply un-DNATed on the way in', () => {
    const net = new Network();
    const n1 = bridgeNode(net, 'node1', '10.244.1.1/24', []);
    const n2 = bridgeNode(net, 'node2', '10.244.2.1/24', ['10.244.2.2']);
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
    n1.node.route.add({ dst: 'default', via: '192.168.1.1' });
    n2.node.route.add({ dst: '10.244.1.0/24', via: '192.168.1.10' });
    n2.node.route.add({ dst: '192.168.0.0/16', via: '192.168.1.10' });
    n1.node.netfilter = iptables(n1.node, dnatRuleset());
    n2.pods[0]!.listen('tcp', 8080);
    const req = net.send('node1', tcpSyn('10.96.0.10', 80, 43210));
    const got = req.outcome as Extract<Fate, { kind: 'delivered' }>;
    expect(got.packet.ip).toMatchObject({ src: '192.168.1.10', dst: '10.244.2.2' });
    const back = net.respond(got.response!).outcome as Extract<Fate, { kind: 'delivered' }>;
    expect(back.host).toBe('node1');
    expect(back.packet.ip).toMatchObject({ src: '10.96.0.10', dst: '192.168.1.10' });
    expect(back.socket.state).toBe('ESTABLISHED');
  });
});
