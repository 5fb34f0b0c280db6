import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { planTwin } from '../twin/index.js';
import { scaleClusterJson, scaleLocalNode, scaleNodeName, scaleSize } from './scale-cluster.js';
import { measureScale, PHASES } from './scale.js';

interface Svc {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: { type: string; externalTrafficPolicy?: string; selector: { app: string } };
}
interface Pod {
  kind: string;
  metadata: { name: string; namespace: string; labels: { app: string } };
  spec: { nodeName: string };
}

describe('the scale cluster', () => {
  it.each([1_000, 10_000])(
    'at %d pods makes every 100th Service, from svc-20, a NodePort with externalTrafficPolicy Local',
    (pods) => {
      const size = scaleSize(pods);
      const items = (JSON.parse(scaleClusterJson(size)) as { items: (Svc | Pod)[] }).items;
      const services = items.filter((o): o is Svc => o.kind === 'Service');
      expect(services).toHaveLength(size.services);
      const local = services.filter((s) => s.spec.externalTrafficPolicy === 'Local');
      expect(local.map((s) => s.metadata.name)).toEqual(
        services.map((s) => s.metadata.name).filter((n) => Number(n.slice(4)) % 100 === 20),
      );
      expect(local.every((s) => s.spec.type === 'NodePort')).toBe(true);
      // The node the bench builds as another key hosts an endpoint of one of them.
      const endpoints = items.filter(
        (p): p is Pod =>
          p.kind === 'Pod' &&
          local.some(
            (s) =>
              s.metadata.namespace === p.metadata.namespace &&
              s.spec.selector.app === (p as Pod).metadata.labels.app,
          ),
      );
      const nodes = new Set(endpoints.map((p) => p.spec.nodeName));
      expect(nodes.has(scaleLocalNode(size)!)).toBe(true);
      // The first and next nodes of the bench host none: they share one key.
      for (let n = 0; n <= 4; n++) expect(nodes.has(scaleNodeName(n))).toBe(false);
    },
  );

  it.each([
    [1_000, 'node-27'],
    [10_000, 'node-60'],
    [150_000, 'node-60'],
    [315, 'node-5'],
    [300, undefined],
  ])(
    'at %d pods names %s as a node hosting a Local endpoint (app-20-0, of svc-20)',
    (pods, node) => {
      expect(scaleLocalNode(scaleSize(pods))).toBe(node);
    },
  );

  it('gives the first and next nodes one set of kube-proxy rules, the Local node its own', () => {
    const size = scaleSize(1_000);
    const text = scaleClusterJson(size);
    const loaded = loadDocuments([{ path: 'scale.json', text }]);
    const plan = planTwin(buildModel(loaded.objects, loaded.evidence).model);
    const rules = (node: string) =>
      serializeRuleset(plan.instantiate({ nodes: [node] }).nodeRules.get(node)!.ruleset);
    const first = rules(scaleNodeName(0));
    for (const n of [1, 2, 3, 4]) expect(rules(scaleNodeName(n))).toBe(first);
    const other = rules(scaleLocalNode(size)!);
    expect(other).not.toBe(first);
    // The difference is the Local Service's local endpoints (KUBE-SVL chains).
    expect(other).toMatch(/^-A KUBE-SVL-\S+ .*-j KUBE-SEP-/m);
    expect(first).not.toMatch(/^-A KUBE-SVL-\S+ .*-j KUBE-SEP-/m);
  });
});

describe('measureScale', () => {
  it('times every phase, the node with another key among them, and delivers the trace', () => {
    const size = scaleSize(1_000);
    const dir = mkdtempSync(join(tmpdir(), 'pe-scale-'));
    try {
      const file = join(dir, 'scale.json');
      writeFileSync(file, scaleClusterJson(size));
      const { measure, rulesText } = measureScale(size, file);
      expect(PHASES).toContain('node with another key');
      for (const p of PHASES) {
        expect(Number.isFinite(measure.ms[p]), p).toBe(true);
        expect(measure.rssMb[p], p).toBeGreaterThan(0);
      }
      expect(measure.delivered).toBe(true);
      expect(measure.rules).toBe(rulesText.split('\n').filter((l) => l.startsWith('-A ')).length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
