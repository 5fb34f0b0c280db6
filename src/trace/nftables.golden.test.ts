/**
 * Golden traces with kube-proxy in nftables mode: examples whose Cluster says
 * `kubeProxy.mode: nftables` (a documented one-line variant of the example),
 * so each node runs the `kube-proxy` nftables table the twin generates
 * (src/proxy/nftables) instead of kube-proxy's iptables rules. Regenerate
 * with `UPDATE_GOLDEN=1 npx vitest run src/trace` and review the diff.
 */
import { describe, expect, it } from 'vitest';
import { traceConnection, type TraceOptions } from './connection.js';
import { expectTraceGolden, planExample } from '../render/testing/golden.js';
import type { StepView } from './model.js';

/** The example's Cluster with kube-proxy in nftables mode, 1.34. */
const nftables = (s: string): string =>
  s.replace(/mode: iptables\n/, 'mode: nftables\n    version: "1.34"\n');

/** The nftables rule steps of a walk, as `TABLE CHAIN`. */
function nftChains(steps: readonly StepView[]): string[] {
  return steps
    .filter((s) => s.kind === 'rule' && typeof s.detail === 'object' && s.detail !== null)
    .map((s) => s.detail as { table?: string; chain?: string })
    .filter((d) => d.table === 'ip kube-proxy')
    .map((d) => `${d.table} ${d.chain}`);
}

interface Case {
  readonly name: string;
  readonly example: string;
  readonly opts: TraceOptions;
  readonly expect: (t: ReturnType<typeof traceConnection>) => void;
}

const CASES: Case[] = [
  {
    name: 'nftables-two-nodes-store-be-all-paths',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/default/store-be:80', allPaths: true },
    expect: (t) => {
      const alts = t.alternatives ?? [];
      expect(alts.map((a) => a.dnat).sort()).toEqual([
        '10.11.0.9:80',
        '10.11.5.3:80',
        '10.11.8.67:80',
      ]);
      for (const a of alts) {
        expect(a.probability).toBeCloseTo(1 / 3, 8);
        expect(a.request.disposition).toBe('delivered');
        expect(a.reply?.received?.src).toBe('10.9.3.76');
      }
      expect(t.rewrites[0]?.kind).toBe('DNAT');
    },
  },
  {
    name: 'nftables-same-node-node-to-clusterip',
    example: 'same-node',
    opts: { from: 'node/node-a', to: 'svc/default/web:80' },
    expect: (t) => {
      // The node's own traffic to a ClusterIP is masqueraded (its source is not in the cluster CIDR).
      expect(t.request.disposition).toBe('delivered');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['DNAT', 'MASQUERADE', 'un-SNAT', 'un-DNAT']);
      expect(t.reply?.received?.src).toBe('10.96.0.11');
    },
  },
];

describe('golden traces, kube-proxy in nftables mode', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const plan = planExample(c.example, nftables);
      expect(plan.diagnostics.filter((d) => d.code === 'proxy-mode-not-modelled')).toEqual([]);
      const t = traceConnection(plan, c.opts);
      c.expect(t);
      const steps = t.request.hops.flatMap((h) => h.steps);
      expect(nftChains(steps).length).toBeGreaterThan(0);
      expectTraceGolden(c.name, t);
    });
  }
});
