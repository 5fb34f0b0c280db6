import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePair } from './evaluate.js';
import { computeMatrix } from './matrix.js';
import { type SourceObject } from './model.js';
import { buildPolicyWorld } from './world.js';
import { sourcesFromYaml } from './testing/yaml.js';

// Random clusters: the grouped matrix must agree with the per-pair reference
// evaluator on every ordered pair (pods and external ranges).

const label = (k: string, vs: string[]) =>
  fc
    .option(fc.constantFrom(...vs), { nil: undefined })
    .map((v) => (v === undefined ? {} : { [k]: v }));
// `hash` is read by no selector: it must not split a group (groups.ts labelsSig).
const podLabels = fc
  .tuple(
    label('app', ['web', 'db', 'api']),
    label('tier', ['front', 'back']),
    label('hash', ['h1', 'h2', 'h3']),
  )
  .map(([a, b, c]) => ({ ...a, ...b, ...c }));
const selector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('web', 'db', 'api').map((v) => ({ matchLabels: { app: v } })),
  fc
    .record({
      key: fc.constantFrom('tier', 'app', 'team'),
      operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
      values: fc.subarray(['front', 'back', 'web', 'red'], { minLength: 1 }),
    })
    .map((r) => ({
      matchExpressions: [
        r.operator === 'Exists' || r.operator === 'DoesNotExist'
          ? { key: r.key, operator: r.operator }
          : r,
      ],
    })),
);
const nsSelector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('red', 'blue').map((t) => ({ matchLabels: { team: t } })),
);
const CIDRS: [string, string[]][] = [
  ['10.0.0.0/16', ['10.0.1.0/24', '10.0.2.0/25']],
  ['10.0.1.0/24', ['10.0.1.4/30']],
  ['0.0.0.0/0', ['10.0.0.0/8']],
  ['192.168.0.0/16', []],
  ['10.0.2.0/25', ['10.0.2.1/32']],
];
const ipBlock = fc
  .constantFrom(...CIDRS)
  .chain(([cidr, ex]) => fc.subarray(ex).map((except) => ({ cidr, except })));
const npPeer = fc.oneof(
  selector.map((podSelector) => ({ podSelector })),
  nsSelector.map((namespaceSelector) => ({ namespaceSelector })),
  fc
    .tuple(selector, nsSelector)
    .map(([podSelector, namespaceSelector]) => ({ podSelector, namespaceSelector })),
  ipBlock.map((b) => ({ ipBlock: b })),
);
const npPort = fc.oneof(
  fc.record({
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'),
    port: fc.constantFrom(53, 80, 8080, 9000),
  }),
  fc.record({ port: fc.constantFrom(80, 8000), endPort: fc.constantFrom(8080, 9000) }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom('http', 'dns') }),
  fc.record({ protocol: fc.constantFrom('UDP', 'SCTP') }),
);
const npRule = (peerKey: string) =>
  fc.record({
    [peerKey]: fc.option(fc.array(npPeer, { maxLength: 2 }), { nil: undefined }),
    ports: fc.option(fc.array(npPort, { maxLength: 2 }), { nil: undefined }),
  });
const networkPolicy = fc.record({
  ns: fc.constantFrom('n1', 'n2', 'n3'),
  podSelector: selector,
  policyTypes: fc.option(fc.subarray(['Ingress', 'Egress'], { minLength: 1 }), { nil: undefined }),
  ingress: fc.option(fc.array(npRule('from'), { maxLength: 2 }), { nil: undefined }),
  egress: fc.option(fc.array(npRule('to'), { maxLength: 2 }), { nil: undefined }),
});
const anpPeer = (egress: boolean) =>
  fc.oneof(
    nsSelector.map((namespaces) => ({ namespaces })),
    fc
      .tuple(nsSelector, selector)
      .map(([namespaceSelector, podSelector]) => ({ pods: { namespaceSelector, podSelector } })),
    ...(egress
      ? [
          fc
            .constantFrom('10.0.1.0/24', '0.0.0.0/0', '192.168.0.0/16')
            .map((c) => ({ networks: [c] })),
        ]
      : []),
  );
const anpPort = fc.oneof(
  fc.record({
    portNumber: fc.record({
      protocol: fc.constantFrom('TCP', 'UDP'),
      port: fc.constantFrom(53, 80, 8080),
    }),
  }),
  fc.record({ namedPort: fc.constantFrom('http', 'dns') }),
  fc.record({
    portRange: fc.record({
      protocol: fc.constant('TCP'),
      start: fc.constant(1),
      end: fc.constantFrom(80, 1024),
    }),
  }),
);
const anpRule = (egress: boolean, actions: string[]) =>
  fc.record({
    action: fc.constantFrom(...actions),
    [egress ? 'to' : 'from']: fc.array(anpPeer(egress), { minLength: 1, maxLength: 2 }),
    ports: fc.option(fc.array(anpPort, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  });
const subject = fc.oneof(
  nsSelector.map((namespaces) => ({ namespaces })),
  fc
    .tuple(nsSelector, selector)
    .map(([namespaceSelector, podSelector]) => ({ pods: { namespaceSelector, podSelector } })),
);
const admin = (actions: string[]) =>
  fc.record({
    priority: fc.integer({ min: 0, max: 3 }),
    subject,
    ingress: fc.array(anpRule(false, actions), { maxLength: 3 }),
    egress: fc.array(anpRule(true, actions), { maxLength: 3 }),
  });

const cluster = fc.record({
  teams: fc.array(fc.constantFrom('red', 'blue'), { minLength: 3, maxLength: 3 }),
  pods: fc.array(
    fc.record({
      ns: fc.constantFrom('n1', 'n2', 'n3'),
      labels: podLabels,
      ip: fc.option(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 })), {
        nil: undefined,
      }),
      ports: fc.subarray([
        { name: 'http', containerPort: 8080 },
        { name: 'http', containerPort: 80, protocol: 'UDP' },
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { containerPort: 9000 },
      ]),
    }),
    { minLength: 1, maxLength: 9 },
  ),
  policies: fc.array(networkPolicy, { maxLength: 5 }),
  anps: fc.array(admin(['Allow', 'Deny', 'Pass']), { maxLength: 2 }),
  banp: fc.option(admin(['Allow', 'Deny']), { nil: undefined }),
});

type Cluster = typeof cluster extends fc.Arbitrary<infer T> ? T : never;

function objects(c: Cluster): SourceObject[] {
  const out: unknown[] = [];
  c.teams.forEach((team, i) =>
    out.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `n${i + 1}`, labels: { team } },
    }),
  );
  const usedIps = new Set<string>();
  c.pods.forEach((p, i) => {
    let ip = p.ip ? `10.0.${p.ip[0]}.${p.ip[1]}` : undefined;
    if (ip && usedIps.has(ip)) ip = undefined;
    if (ip) usedIps.add(ip);
    out.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: p.ns, labels: p.labels },
      spec: { containers: [{ name: 'c', ports: p.ports }] },
      ...(ip ? { status: { podIP: ip } } : {}),
    });
  });
  c.policies.forEach((p, i) => {
    const spec: Record<string, unknown> = { podSelector: p.podSelector };
    if (p.policyTypes) spec.policyTypes = p.policyTypes;
    if (p.ingress) spec.ingress = p.ingress;
    if (p.egress) spec.egress = p.egress;
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `np${i}`, namespace: p.ns },
      spec,
    });
  });
  c.anps.forEach((a, i) =>
    out.push({
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: `anp${i}` },
      spec: a,
    }),
  );
  if (c.banp) {
    const { priority: _p, ...spec } = c.banp;
    out.push({
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name: 'default' },
      spec,
    });
  }
  return out.map((object) => ({ object }));
}

describe('grouped matrix = per-pair evaluation', () => {
  it('on random clusters with NetworkPolicy, ANP and BANP', () => {
    fc.assert(
      fc.property(cluster, (c) => {
        const world = buildPolicyWorld(objects(c));
        expect(world.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const m = computeMatrix(world);
        for (let i = 0; i < m.endpoints.length; i++) {
          for (let j = 0; j < m.endpoints.length; j++) {
            const a = m.endpoints[i]!;
            const b = m.endpoints[j]!;
            if (a.kind === 'external' && b.kind === 'external') continue;
            const want = evaluatePair(world, a, b).allowed.key;
            if (m.allowed(i, j).key !== want) {
              expect(`${a.key} -> ${b.key}: ${m.allowed(i, j).key}`).toBe(
                `${a.key} -> ${b.key}: ${want}`,
              );
            }
          }
        }
      }),
      { numRuns: 400, seed: 20261123 },
    );
  });
});

describe('grouping and external ranges', () => {
  const yaml = `
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
${[1, 2, 3, 4]
  .map(
    (i) =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, namespace: x, labels: {app: ${i <= 2 ? 'web' : 'db'}}}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.0.${i}}\n`,
  )
  .join('---\n')}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.0.0.4/32]}}, {ipBlock: {cidr: 203.0.113.0/24}}]
`;
  it('groups indistinguishable pods and names external ranges by CIDR', () => {
    const w = buildPolicyWorld(sourcesFromYaml(yaml));
    const m = computeMatrix(w);
    // p1,p2 (web) alike; p3 (db, in cidr) and p4 (db, in the except) differ by IP.
    expect(m.groupOf[m.indexOf('x/p1')!]).toBe(m.groupOf[m.indexOf('x/p2')!]);
    expect(m.groupOf[m.indexOf('x/p3')!]).not.toBe(m.groupOf[m.indexOf('x/p4')!]);
    // 10.0.0.4/32 holds only a pod, so it is no external range.
    expect(
      m.externals.map((e) => `${e.key}${e.except.length ? ` except ${e.except.join(',')}` : ''}`),
    ).toEqual([
      '0.0.0.0/0 except 10.0.0.0/24,203.0.113.0/24',
      '10.0.0.0/24 except 10.0.0.4/32',
      '203.0.113.0/24',
    ]);
    const s = (from: string, to: string) => m.allowed(m.indexOf(from)!, m.indexOf(to)!).toString();
    expect(s('x/p1', 'x/p3')).toBe('all');
    expect(s('x/p1', 'x/p4')).toBe('none');
    expect(s('x/p1', '203.0.113.0/24')).toBe('all');
    expect(s('x/p1', '0.0.0.0/0')).toBe('none');
    expect(s('x/p3', '0.0.0.0/0')).toBe('all');
    expect(s('0.0.0.0/0', 'x/p1')).toBe('all');
    expect(m.groupCount).toBe(3 + 3);
  });
});
