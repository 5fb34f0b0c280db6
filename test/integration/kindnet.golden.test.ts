/**
 * kindnet (examples/kind-kindnet.yaml, a kind dump with no Cluster object):
 * the data plane is detected from the objects, then traced. Golden traces
 * and kernel-state dumps as in overlay.golden.test.ts (test/golden/NAME.*;
 * regenerate with `UPDATE_GOLDEN=1 npx vitest run test/integration/kindnet.golden.test.ts`),
 * each case checking what it is about on the trace itself.
 */
import { describe, expect, it } from 'vitest';
import { renderRules } from '../../src/cli/rules.js';
import { traceConnection, type TraceOptions } from '../../src/trace/connection.js';
import type { ConnectionTrace } from '../../src/trace/model.js';
import type { TwinPlan } from '../../src/twin/index.js';
import { expectGolden, expectTraceGolden, planExample } from '../../src/render/testing/golden.js';

/** The example as the CLI reads it: objects and the evidence detection reads. */
const plan = (): TwinPlan => planExample('kind-kindnet');

const CASES: { name: string; opts: TraceOptions; expect: (t: ConnectionTrace) => void }[] = [
  {
    // ptp: out through the pod's own veth, the node route to the other podCIDR, no NAT.
    name: 'kindnet-pod-to-pod',
    opts: { from: 'default/client', to: 'default/web-1:80' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.received?.src).toBe('10.244.1.2');
      expect(t.rewrites).toEqual([]);
      // The hosts that routed or received the request (ARP exchanges left out).
      const hosts = t.request.hops
        .filter((h) => h.steps.some((x) => x.kind === 'route' || x.kind === 'socket'))
        .map((h) => h.host);
      // kindnetd's route goes node to node: the segment's gateway is not on the path.
      expect(hosts).not.toContain('gateway');
      expect(hosts).toEqual(expect.arrayContaining(['kind-worker', 'kind-control-plane']));
    },
  },
  {
    name: 'kindnet-pod-to-service',
    opts: { from: 'default/client', to: 'svc/default/web:80' },
    expect: (t) => {
      expect(t.request.received).toMatchObject({ src: '10.244.1.2', dst: '10.244.0.5' });
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request DNAT@kind-worker',
        'reply un-DNAT@kind-worker',
      ]);
      expect(t.reply?.received?.src).toBe('10.96.12.34');
    },
  },
  {
    // KIND-MASQ-AGENT: what leaves the pod network for a non-local address is masqueraded.
    name: 'kindnet-pod-to-internet',
    opts: { from: 'default/client', to: 'host/internet:443' },
    expect: (t) => {
      expect(t.request.received?.src).toBe('172.18.0.3');
      expect(t.rewrites[0]?.rule?.chain).toBe('KIND-MASQ-AGENT');
      expect(t.reply?.received).toMatchObject({ src: '8.8.8.8', dst: '10.244.1.2' });
    },
  },
];

describe('kindnet, detected from a kind dump', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const t = traceConnection(plan(), c.opts);
      c.expect(t);
      expectTraceGolden(c.name, t);
    });
  }

  it('packeteye rules --node kind-worker: ptp routes and addresses, kindnetd routes, KIND-MASQ-AGENT', () => {
    const twin = plan().instantiate();
    const text = (['routes', 'addrs', 'iptables', 'defaults'] as const)
      .map((s) => renderRules(twin, 'kind-worker', s, 'kind-worker'))
      .join('\n');
    expect(text).toContain('10.244.0.0/24 via 172.18.0.2 dev eth0');
    expect(text).toMatch(/10\.244\.1\.2 dev veth\S+ scope host/);
    expect(text).toMatch(/inet 10\.244\.1\.1\/32 scope global veth/);
    expect(text).toContain(
      '-A KIND-MASQ-AGENT -d 10.244.0.0/16 -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
    );
    expect(text).toContain('spec.cni = kindnet: detected from DaemonSet kube-system/kindnet');
    expectGolden('kindnet-rules-kind-worker', { txt: text });
  });
});
