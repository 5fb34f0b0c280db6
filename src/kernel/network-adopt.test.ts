/**
 * Network.adopt: namespaces built in one network, taken over by another as
 * they are. Two nodes built in networks of their own, adopted by a third and
 * plugged into its underlay in the same order, answer a connection across
 * them exactly as the same two nodes built there; the network that adopted
 * them knows what its runs touched; and a name taken is refused.
 */
import { describe, expect, it } from 'vitest';
import type { Fate } from './fate.js';
import type { Host } from './host.js';
import { Network } from './network.js';
import { StepList } from './step.js';
import { bridgeNode, tcpSyn } from './testing/builders.js';

function outcome(f: Fate | undefined): string {
  if (!f) return 'none';
  if (f.kind === 'dropped') return `dropped ${f.reason} at ${f.host}`;
  if (f.kind === 'delivered') return `delivered at ${f.host}`;
  return `left-model at ${f.host}/${f.dev}`;
}

/** Node `n` (1 or 2) of the pair: a bridge with one pod listening on 80, eth0 with its route to the other. */
function node(net: Network, n: 1 | 2): Host[] {
  const other = 3 - n;
  const { node: h, pods } = bridgeNode(net, `node${n}`, `10.244.${n}.1/24`, [`10.244.${n}.2`]);
  pods[0]!.listen('tcp', 80);
  h.link.addEther('eth0');
  h.link.set('eth0', { up: true });
  h.addr.add(`192.168.1.1${n}/24`, 'eth0');
  h.route.add({ dst: `10.244.${other}.0/24`, via: `192.168.1.1${other}` });
  return [h, ...pods];
}

/** pod 1 → pod 2: the outcome and every step, as text. */
function connect(net: Network): string[] {
  const rec = new StepList();
  const r = net.send('node1-pod1', tcpSyn('10.244.2.2', 80), { recorder: rec });
  return [outcome(r.outcome), ...rec.steps.map((s) => `[${s.host}] ${s.summary}`)];
}

describe('Network.adopt', () => {
  it('answers with adopted namespaces as with namespaces built in place', () => {
    const built = new Network();
    built.addSegment('underlay');
    for (const n of [1, 2] as const) {
      node(built, n);
      built.attach(`node${n}`, 'eth0', 'underlay');
    }
    const want = connect(built);
    expect(want[0]).toBe('delivered at node2-pod1');

    // Each node built in a network of its own, then both taken over by a third.
    const parts = ([1, 2] as const).map((n) => node(new Network(), n));
    const net = new Network();
    net.addSegment('underlay');
    for (const [i, hosts] of parts.entries()) {
      net.adopt(hosts);
      net.attach(`node${i + 1}`, 'eth0', 'underlay');
    }
    expect(net.hosts().map((h) => h.name)).toEqual(['node1', 'node1-pod1', 'node2', 'node2-pod1']);
    expect(net.attachments()).toEqual([
      { host: 'node1', dev: 'eth0', segment: 'underlay' },
      { host: 'node2', dev: 'eth0', segment: 'underlay' },
    ]);
    expect(net.wasTouched('node2-pod1')).toBe(false);
    expect(connect(net)).toEqual(want);
    expect(net.wasTouched('node2-pod1')).toBe(true);
    // The adopted namespaces live in the new network: their clock and peers are its.
    net.advance(5);
    expect(parts[0]![0]!.now()).toBe(5);
    expect(parts[0]![0]!.network.host('node1-pod1')).toBe(parts[0]![1]);
  });

  it('refuses a namespace whose name the network has, taking none of them', () => {
    const net = new Network();
    net.addHost('node1');
    const other = new Network();
    const hosts = [other.addHost('a'), other.addHost('node1')];
    expect(() => net.adopt(hosts)).toThrow(/File exists/);
    expect(net.host('a')).toBeUndefined();
  });
});
