/**
 * kubenet (examples/aks-kubenet.yaml, an AKS dump with no Cluster object):
 * the data plane is detected from the objects, then traced. Golden traces
 * and kernel-state dumps as in overlay.golden.test.ts (test/golden/NAME.*;
 * regenerate with `UPDATE_GOLDEN=1 npx vitest run test/integration/kubenet.golden.test.ts`),
 * each case checking what it is about on the trace itself.
 */
import { describe, expect, it } from 'vitest';
import { renderRules } from '../../src/cli/rules.js';
import { traceConnection, type TraceOptions } from '../../src/trace/connection.js';
import type { ConnectionTrace } from '../../src/trace/model.js';
import type { TwinPlan } from '../../src/twin/index.js';
import { expectGolden, expectTraceGolden, planExample } from '../../src/render/testing/golden.js';

/** The example as the CLI reads it: objects and the evidence detection reads. */
const plan = (): TwinPlan => planExample('aks-kubenet');

const CASES: { name: string; opts: TraceOptions; expect: (t: ConnectionTrace) => void }[] = [
  {
    // A pod reaching itself through its Service: kube-proxy's hairpin SNAT, back out the same port.
    name: 'kubenet-hairpin',
    opts: { from: 'default/web-1', to: 'svc/default/web:80' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.received?.src).toBe('10.244.0.1');
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}`)).toEqual([
        'request DNAT',
        'request MASQUERADE',
        'reply un-SNAT',
        'reply un-DNAT',
      ]);
    },
  },
  {
    // Between nodes through the cloud's route for the podCIDR: no NAT.
    name: 'kubenet-pod-to-pod',
    opts: { from: 'default/client', to: 'default/web-1:80' },
    expect: (t) => {
      expect(t.request.received?.src).toBe('10.244.1.7');
      expect(t.rewrites).toEqual([]);
      expect(t.request.hops.map((h) => h.host)).toContain('gateway');
    },
  },
  {
    // The kubelet's "kubenet: SNAT for outbound traffic from cluster" rule.
    name: 'kubenet-pod-to-internet',
    opts: { from: 'default/client', to: 'host/internet:443' },
    expect: (t) => {
      expect(t.request.received?.src).toBe('10.224.0.5');
      expect(t.rewrites[0]?.rule?.chain).toBe('POSTROUTING');
      expect(t.reply?.received).toMatchObject({ src: '8.8.8.8', dst: '10.244.1.7' });
    },
  },
];

describe('kubenet, detected from an AKS dump', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const t = traceConnection(plan(), c.opts);
      c.expect(t);
      expectTraceGolden(c.name, t);
    });
  }

  it('packeteye rules --node aks-nodepool1-0: cbr0 (promiscuous), the kubelet masquerade rule, the detected defaults', () => {
    const twin = plan().instantiate();
    const text = (['links', 'addrs', 'iptables', 'defaults'] as const)
      .map((s) => renderRules(twin, 'aks-nodepool1-0', s, 'aks-nodepool1-0'))
      .join('\n');
    expect(text).toMatch(/cbr0: <[^>]*PROMISC/);
    expect(text).toContain('inet 10.244.0.1/24');
    expect(text).toContain(
      '-A POSTROUTING ! -d 10.0.0.0/8 -m comment --comment "kubenet: SNAT for outbound traffic from cluster" -m addrtype ! --dst-type LOCAL -j MASQUERADE',
    );
    expect(text).toContain(
      'spec.cni = kubenet: detected from Node aks-nodepool1-0 label kubernetes.azure.com/network-plugin=kubenet',
    );
    expectGolden('kubenet-rules-aks-nodepool1-0', { txt: text });
  });
});
