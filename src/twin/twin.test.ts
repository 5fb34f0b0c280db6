import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { relevantNodes } from '../trace/connection.js';
import { resolveRef } from '../trace/refs.js';
import { ipRouteShow } from '../render/ip.js';
import { planTwin } from './index.js';

function planOf(example: string) {
  const path = `examples/${example}.yaml`;
  const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
  return planTwin(buildModel(loaded.objects).model);
}

describe('twin assembly', () => {
  it('gives every node eth0 on the underlay, the default route, the kubeadm sysctls and kube-proxy in netfilter', () => {
    const t = planOf('two-nodes').instantiate();
    expect(t.nodes).toEqual(['node-1', 'node-2']);
    for (const [name, ip] of [
      ['node-1', '10.128.0.2'],
      ['node-2', '10.128.0.3'],
    ] as const) {
      const h = t.host(name);
      expect(h.addressesOf('eth0').map((a) => `${a.local}/${a.prefix}`)).toEqual([`${ip}/20`]);
      expect(ipRouteShow(h)).toMatch(/^default via 10\.128\.0\.1 dev eth0 $/m);
      expect(h.sysctl.get('net.ipv4.ip_forward')).toBe(1);
      expect(h.sysctl.get('net.bridge.bridge-nf-call-iptables')).toBe(1);
      expect(h.getLink('eth0')?.mtu).toBe(1460);
      expect(t.nodeRules.get(name)?.text).toMatch(
        /-A KUBE-SERVICES .*default\/store-be:http cluster IP/,
      );
    }
    // The VPC routes each node's podCIDR to that node.
    expect(ipRouteShow(t.host('vpc'))).toMatch(
      /^10\.11\.0\.0\/21 via 10\.128\.0\.2 dev eth0 proto static $/m,
    );
    expect(ipRouteShow(t.host('vpc'))).toMatch(
      /^10\.11\.8\.0\/21 via 10\.128\.0\.3 dev eth0 proto static $/m,
    );
  });

  it('each instance is cold: no conntrack, neighbour or learned FDB state carries over', () => {
    const plan = planOf('same-node');
    const a = plan.instantiate();
    a.host('node-a').neigh.add('10.244.4.2', 'cni0', { lladdr: '02:00:00:00:00:01' });
    const b = plan.instantiate();
    expect(b.host('node-a').neighbours.pending()).toEqual([]);
    expect(b.host('node-a').neigh.list()).toEqual([]);
  });

  it('builds only the nodes asked for, with all their pods', () => {
    const t = planOf('two-nodes').instantiate({ nodes: ['node-2'] });
    expect(t.nodes).toEqual(['node-2']);
    expect(t.network.host('node-1')).toBeUndefined();
    expect(t.network.host('default/store-be-3')).toBeDefined();
    expect(t.network.host('default/frontend')).toBeUndefined();
  });
});

describe('relevantNodes', () => {
  const plan = planOf('two-nodes');
  const m = plan.model;
  it.each([
    ['default/frontend', 'default/store-be-1:80', ['node-1']],
    ['default/frontend', 'default/store-be-3:80', ['node-1', 'node-2']],
    ['default/frontend', 'svc/default/store-be:80', ['node-1', 'node-2']],
    ['host/client', 'default/store-be-3:80', ['node-2']],
    ['default/frontend', '1.2.3.4:80', undefined],
  ])('%s → %s', (from, to, want) => {
    expect(relevantNodes(m, resolveRef(m, from, '--from'), resolveRef(m, to, '--to'))).toEqual(
      want,
    );
  });
});
