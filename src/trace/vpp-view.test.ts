/**
 * The ordinary trace views on a contiv-vpp cluster (trace/vpp-view.ts): the
 * VPP walks become hops whose steps are the graph nodes, the NAT44
 * translations rewrites, and the document holds the model's invariants and
 * the Trace schema.
 */
import { describe, expect, it } from 'vitest';
import { traceDocument } from '../render/document.js';
import { expectGolden, planExample } from '../render/testing/golden.js';
import { expectDocument } from '../render/testing/schema.js';
import { renderTraceText } from '../render/trace.js';
import { validateTrace } from './validate.js';
import { traceVppConnection } from './vpp.js';
import { vppConnectionView } from './vpp-view.js';

function view(example: string, from: string, to: string, sport: number) {
  const model = planExample(example).model;
  const t = traceVppConnection(model, { from, to, sport, seed: 1 });
  const tags = new Map<string, string>();
  for (const [key, s] of model.services)
    for (const p of s.spec.ports) tags.set(`${s.spec.clusterIP}:${p.port}`, `${key}:${p.port}`);
  const port = Number(/:(\d+)$/.exec(to)![1]);
  return vppConnectionView(
    t,
    { sport, seed: 1, to: { kind: to.startsWith('svc/') ? 'service' : 'pod', port } },
    tags,
  );
}

describe('contiv-vpp in the ordinary trace views', () => {
  const cases = [
    ['contiv-vpp-two-nodes', 'default/client', 'svc/default/web:80', 49710, 'delivered'],
    ['contiv-vpp-two-nodes', 'default/client2', 'default/server2:8080', 60996, 'delivered'],
    ['contiv-vpp-two-nodes', 'default/intruder', 'default/server2:8080', 40000, 'dropped'],
    ['contiv-vpp-two-nodes', 'node/k8s-worker1', 'default/client2:8080', 32966, 'rejected'],
    ['contiv-vpp-two-nodes', 'k8s-master', 'default/server2:8080', 32966, 'dropped'],
    ['contiv-vpp-host-endpoint', 'default/client', 'svc/default/web:80', 46310, 'delivered'],
    ['contiv-vpp-host-endpoint', 'default/busybox', 'svc/default/web:80', 46310, 'dropped'],
  ] as const;

  it.each(cases)(
    '%s: %s → %s holds the trace invariants and the schema',
    (ex, from, to, sport, fate) => {
      const v = view(ex, from, to, sport);
      expect(validateTrace(v)).toEqual([]);
      expect(v.request.disposition).toBe(fate);
      expectDocument(JSON.stringify(traceDocument(v)), 'Trace');
    },
  );

  it('shows the Service across nodes: DNAT on the client node, VXLAN between, un-DNAT back (golden)', () => {
    const v = view('contiv-vpp-two-nodes', 'default/client', 'svc/default/web:80', 49710);
    expect(v.request.hops.map((h) => h.host)).toEqual([
      'default/client',
      'k8s-master/vpp',
      'k8s-worker1/vpp',
      'default/server',
    ]);
    expect(v.rewrites.map((r) => `${r.leg} ${r.kind} ${r.from} → ${r.to} ${r.hook}`)).toEqual([
      'request DNAT 10.97.193.160:80 → 10.1.2.4:8080 nat44-out2in',
      'reply un-DNAT 10.1.2.4:8080 → 10.97.193.160:80 nat44-in2out-slowpath',
    ]);
    const steps = v.request.hops[1]!.steps.map((s) => `${s.kind} ${s.summary.split(':')[0]}`);
    expect(steps).toContain('encap vxlan4-encap');
    expect(v.request.hops[2]!.steps.map((s) => s.kind)).toContain('decap');
    expectGolden('contiv-vpp-two-nodes-service', {
      txt: renderTraceText(v),
      json: `${JSON.stringify(traceDocument(v), null, 2)}\n`,
    });
  });

  it('says where the intruder was dropped: the server pod TAP’s output ACL on the other node', () => {
    const v = view('contiv-vpp-two-nodes', 'default/intruder', 'default/server2:8080', 40000);
    expect(v.request.at).toBe('k8s-worker1/vpp');
    expect(v.request.reason).toBe('vpp-error-drop');
    expect(v.request.detail).toMatch(/acl-plugin-out-ip4-fa/);
    expect(v.reply).toBeNull();
  });
});
