import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { computeMatrix } from '../policy/matrix.js';
import { sourcesFromYaml } from '../policy/testing/yaml.js';
import { buildPolicyWorld } from '../policy/world.js';
import {
  reachabilityDocument,
  writeReachability,
  writeReachabilityYaml,
  type ReachDocumentOptions,
} from './reach-document.js';
import { readReach } from './testing/reach.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures');
const read = (p: string) => readFileSync(join(fixtures, p), 'utf8');

/** Clusters with ANP tiers, ipBlocks, named ports and hostNetwork pods sharing nodes with pods. */
const CLUSTERS: Record<string, string> = {
  anp: `${read('anp/base.yaml')}\n---\n${read('anp/banp-gress-rules.yaml')}`,
  cidr: (JSON.parse(read('netpol/e2e_egress_cidr_except.json')) as { objects: string }).objects,
  named: (JSON.parse(read('netpol/e2e_ingress_one_named_port.json')) as { objects: string })
    .objects,
  hostNetwork: `
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: a}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: x, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n1, containers: [{name: c}]}
status: {podIP: 192.168.1.10}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]
`,
};

function build(yaml: string) {
  const world = buildPolicyWorld(sourcesFromYaml(yaml));
  return { world, m: computeMatrix(world) };
}

function streamed(yaml: string, o: ReachDocumentOptions): string {
  const { world, m } = build(yaml);
  const parts: string[] = [];
  writeReachability((t) => void parts.push(t), world, m, o);
  return parts.join('');
}

/** As `-o yaml` writes a document: its JSON, as YAML (cli/output.ts `toYaml`). */
const yamlOf = (v: unknown): string =>
  stringify(JSON.parse(JSON.stringify(v)) as unknown, {
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });

describe('the Reachability document as YAML, streamed', () => {
  const forms: ReachDocumentOptions[] = [
    { grouping: 'pods', externals: true },
    { grouping: 'groups', externals: true },
    { grouping: 'groups', externals: false, port: { protocol: 'TCP', port: 80 } },
    { grouping: 'pods', externals: false, namespace: 'x' },
    { grouping: 'groups', externals: false, namespace: 'no-such-namespace' },
  ];
  const clusters = {
    ...CLUSTERS,
    empty: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n',
    quoted: `
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: "on", namespace: x, labels: {"a: b": "#c", yes: "null"}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: "'q'", namespace: x}
spec:
  podSelector: {matchLabels: {yes: "null"}}
  ingress: [{from: [{podSelector: {matchLabels: {"a: b": "#c"}}}]}]
`,
  };
  it.each(Object.keys(clusters))(
    '%s: byte for byte what yaml writes for the whole document',
    (name) => {
      const { world, m } = build(clusters[name as keyof typeof clusters]!);
      for (const o of forms) {
        const parts: string[] = [];
        writeReachabilityYaml((t) => void parts.push(t), world, m, o, yamlOf);
        expect(parts.join(''), JSON.stringify(o)).toBe(yamlOf(reachabilityDocument(world, m, o)));
        expect(parts.length).toBeGreaterThan(4);
      }
    },
  );
});

describe('the Reachability document', () => {
  const forms: ReachDocumentOptions[] = [
    { grouping: 'pods', externals: true },
    { grouping: 'groups', externals: true },
    { grouping: 'groups', externals: false, port: { protocol: 'TCP', port: 80 } },
  ];
  it.each(Object.keys(CLUSTERS))(
    '%s: streamed and built alike, valid, and every pair as the matrix says in every form',
    (name) => {
      const { world, m } = build(CLUSTERS[name]!);
      for (const o of forms) {
        const text = streamed(CLUSTERS[name]!, o);
        expect(JSON.parse(text)).toEqual(
          JSON.parse(JSON.stringify(reachabilityDocument(world, m, o))),
        );
        const doc = readReach(text);
        const keys = [...doc.pods, ...doc.externals];
        expect(keys.length).toBeGreaterThan(1);
        for (const a of keys)
          for (const b of keys) {
            const ia = m.indexOf(a)!;
            const ib = m.indexOf(b)!;
            if (m.endpoints[ia]!.kind === 'external' && m.endpoints[ib]!.kind === 'external')
              continue;
            const want = m.allowed(ia, ib);
            const got = doc.cell(a, b);
            if (o.port)
              expect(doc.allows(a, b), `${a} -> ${b}`).toBe(want.has(o.port.protocol, o.port.port));
            else expect(got, `${a} -> ${b}`).toEqual(want.toRanges());
          }
      }
    },
  );

  it('groups pods the policies treat alike, and says what defines each group', () => {
    const { world, m } = build(CLUSTERS['hostNetwork']!);
    const d = reachabilityDocument(world, m, { grouping: 'groups', externals: true });
    const a = d.groups.find((g) => g.members.includes('x/a'))!;
    expect(a.members).toEqual(['x/a', 'x/b']);
    expect(a.selectedBy).toEqual(['NetworkPolicy x/only-a']);
    expect(a.matchedBy.length).toBe(1);
    expect(a.matchedBy[0]).toMatch(/app.*a/);
    const agent = d.groups.find((g) => g.members.includes('x/agent'))!;
    expect(agent.hostNetwork).toEqual(['x/agent']);
    expect(agent.selectedBy).toEqual([]);
    // The agent is its node's address: it reaches x/a on its own node, not x/b on the other.
    expect(d.exceptions).toEqual([{ from: 'x/agent', to: 'x/a', portSet: expect.any(Number) }]);
    expect(d.portSets[d.exceptions[0]!.portSet]).toEqual({
      TCP: [[1, 65535]],
      UDP: [[1, 65535]],
      SCTP: [[1, 65535]],
    });
    const doc = readReach(JSON.stringify(d));
    expect(doc.allows('x/agent', 'x/a')).toBe(true);
    expect(doc.allows('x/agent', 'x/b')).toBe(false);
    expect(doc.allows('x/a', 'x/b')).toBe(true);
  });

  it('lists each port set once, in the matrix`s order, restricted to --port', () => {
    const { world, m } = build(CLUSTERS['anp']!);
    const d = reachabilityDocument(world, m, {
      grouping: 'pods',
      externals: false,
      port: { protocol: 'UDP', port: 5353 },
    });
    expect(d.portSets.length).toBe(2);
    expect(d.portSets).toContainEqual({});
    expect(d.portSets).toContainEqual({ UDP: [[5353, 5353]] });
    const full = reachabilityDocument(world, m, { grouping: 'pods', externals: false });
    expect(new Set(full.portSets.map((s) => JSON.stringify(s))).size).toBe(full.portSets.length);
  });
});
