import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePair } from '../../policy/evaluate.js';
import type { Endpoint, PolicyWorld } from '../../policy/model.js';
import { buildPolicyWorld } from '../../policy/world.js';
import { PortSet } from '../../policy/ports.js';
import { RegionIndex } from '../../policy/externals.js';
import { sourcesFromYaml } from '../../policy/testing/yaml.js';
import { diffReach, partlyChanged } from './diff.js';

// Random before/after policy sets over one set of pods: the diff, expanded to pairs, must be
// exactly what the per-pair evaluator says each pair gains and loses, and every change must be
// attributed to a policy that changed and takes part in that pair's decision.

const selector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('web', 'db', 'api').map((v) => ({ matchLabels: { app: v } })),
  fc
    .constantFrom('In', 'NotIn', 'Exists')
    .map((operator) =>
      operator === 'Exists'
        ? { matchExpressions: [{ key: 'tier', operator }] }
        : { matchExpressions: [{ key: 'tier', operator, values: ['front'] }] },
    ),
);
const nsSelector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('red', 'blue').map((t) => ({ matchLabels: { team: t } })),
);
const ipBlock = fc.constantFrom(
  { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] },
  { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] },
  { cidr: '192.168.0.0/16' },
  { cidr: '10.0.1.0/24' },
);
const peer = fc.oneof(
  selector.map((podSelector) => ({ podSelector })),
  nsSelector.map((namespaceSelector) => ({ namespaceSelector })),
  fc
    .tuple(selector, nsSelector)
    .map(([podSelector, namespaceSelector]) => ({ podSelector, namespaceSelector })),
  ipBlock.map((b) => ({ ipBlock: b })),
);
const port = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom(53, 80, 8080) }),
  fc.record({ port: fc.constant(80), endPort: fc.constant(8080) }),
  fc.record({ protocol: fc.constant('TCP'), port: fc.constant('http') }),
);
const rule = (peerKey: string) =>
  fc.record({
    [peerKey]: fc.option(fc.array(peer, { maxLength: 2 }), { nil: undefined }),
    ports: fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined }),
  });
const policy = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  ns: fc.constantFrom('n1', 'n2'),
  podSelector: selector,
  policyTypes: fc.option(fc.subarray(['Ingress', 'Egress'], { minLength: 1 }), { nil: undefined }),
  ingress: fc.option(fc.array(rule('from'), { maxLength: 2 }), { nil: undefined }),
  egress: fc.option(fc.array(rule('to'), { maxLength: 2 }), { nil: undefined }),
});
const anp = fc.record({
  priority: fc.integer({ min: 0, max: 2 }),
  subject: nsSelector.map((namespaces) => ({ namespaces })),
  ingress: fc.array(
    fc.record({
      action: fc.constantFrom('Allow', 'Deny', 'Pass'),
      from: fc.array(
        nsSelector.map((namespaces) => ({ namespaces })),
        { minLength: 1, maxLength: 1 },
      ),
      ports: fc.option(fc.constant([{ portNumber: { protocol: 'TCP', port: 80 } }]), {
        nil: undefined,
      }),
    }),
    { maxLength: 2 },
  ),
});
const pods = fc.array(
  fc.record({
    ns: fc.constantFrom('n1', 'n2'),
    app: fc.constantFrom('web', 'db', 'api'),
    tier: fc.option(fc.constantFrom('front', 'back'), { nil: undefined }),
    ip: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 4 })),
  }),
  { minLength: 2, maxLength: 6 },
);
const scenario = fc.record({
  pods,
  before: fc.array(policy, { maxLength: 4 }),
  after: fc.array(policy, { maxLength: 4 }),
  anpBefore: fc.option(anp, { nil: undefined }),
  anpAfter: fc.option(anp, { nil: undefined }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
type Pol = Scenario['before'][number];

function objects(s: Scenario, pols: Pol[], admin: Scenario['anpBefore']): unknown[] {
  const out: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n1', labels: { team: 'red' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n2', labels: { team: 'blue' } } },
  ];
  const used = new Set<string>();
  s.pods.forEach((p, i) => {
    const ip = `10.0.${p.ip[0]}.${p.ip[1]}`;
    const labels = { app: p.app, ...(p.tier ? { tier: p.tier } : {}) };
    out.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: p.ns, labels },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      ...(used.has(ip) ? {} : { status: { podIP: ip } }),
    });
    used.add(ip);
  });
  const seen = new Set<string>();
  for (const p of pols) {
    if (seen.has(`${p.ns}/${p.name}`)) continue;
    seen.add(`${p.ns}/${p.name}`);
    const spec: Record<string, unknown> = { podSelector: p.podSelector };
    if (p.policyTypes) spec.policyTypes = p.policyTypes;
    if (p.ingress) spec.ingress = p.ingress;
    if (p.egress) spec.egress = p.egress;
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: p.name, namespace: p.ns },
      spec,
    });
  }
  if (admin)
    out.push({
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: 'gate' },
      spec: admin,
    });
  return out;
}

function world(objs: unknown[]): PolicyWorld {
  return buildPolicyWorld(objs.map((object) => ({ object })));
}

function expandDiff(d: ReturnType<typeof diffReach>, field: 'opened' | 'cut'): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of d.groups)
    for (const c of g[field])
      for (const f of c.from)
        for (const t of c.to) {
          if (f === t) continue;
          const k = `${f} > ${t}`;
          expect(out.has(k), `${k} in two ${field} blocks`).toBe(false);
          out.set(k, c.ports.toString());
        }
  return out;
}

describe('reach --diff against per-pair evaluation', () => {
  it('opens and cuts exactly what the per-pair evaluator says, each change with a changed policy', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const before = world(objects(s, s.before, s.anpBefore));
        const after = world(objects(s, s.after, s.anpAfter));
        const d = diffReach(before, after);
        // The endpoints: the pods and the external regions of both worlds' CIDRs together.
        const union = new Map([...before.cidrs, ...after.cidrs].map((c) => [c.text, c]));
        const sorted = [...union.values()].sort((a, b) => a.lo - b.lo || b.hi - a.hi);
        const regions = new RegionIndex(sorted).externals(before.pods);
        const eps: Endpoint[] = [...before.pods, ...regions];
        const wantOpened = new Map<string, string>();
        const wantCut = new Map<string, string>();
        for (const x of eps)
          for (const y of eps) {
            if (x.key === y.key) continue;
            const b = evaluatePair(before, x, y).allowed;
            const a = evaluatePair(after, x, y).allowed;
            const o = a.subtract(b);
            const c = b.subtract(a);
            if (!o.isEmpty()) wantOpened.set(`${x.key} > ${y.key}`, o.toString());
            if (!c.isEmpty()) wantCut.set(`${x.key} > ${y.key}`, c.toString());
          }
        expect(expandDiff(d, 'opened')).toEqual(wantOpened);
        expect(expandDiff(d, 'cut')).toEqual(wantCut);
        expect(d.opened).toBe(wantOpened.size);
        expect(d.cut).toBe(wantCut.size);
        // The pods are the same on both sides: every change has a changed policy as its cause.
        const byKey = new Map([...after.pods, ...regions].map((e) => [e.key, e]));
        for (const g of d.groups) {
          expect(g.causes.length).toBeGreaterThan(0);
          for (const c of g.causes) expect(d.policies.get(c.policy)).toBe(c.change);
          // The causes alone give each pair its after answer, and no smaller set of the
          // involved policies does.
          const involved = [...g.causes, ...(g.alsoInvolved ?? [])].map((c) => c.policy);
          const subsets = involved.reduce<string[][]>(
            (acc, x) => [...acc, ...acc.map((a) => [...a, x])],
            [[]],
          );
          for (const b of [...g.opened, ...g.cut]) {
            const x = byKey.get(b.from[0]!)!;
            const y = byKey.get(b.to.find((t) => t !== x.key)!)!;
            const want = evaluatePair(after, x, y).allowed;
            const got = (take: string[]) =>
              evaluatePair(partlyChanged(before, after, new Set(take)), x, y).allowed;
            if (involved.length > 1)
              expect(got(g.causes.map((c) => c.policy)).equals(want)).toBe(true);
            for (const sub of subsets)
              if (sub.length < g.causes.length)
                expect(got(sub).equals(want), `${sub.join(',')} is smaller`).toBe(false);
          }
        }
      }),
      { seed: 20261207, numRuns: 150 },
    );
  });
});

describe('reach --diff: causes', () => {
  const base = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: fe, namespace: shop, labels: {app: fe}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.2}
`;
  const deny = `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-deny, namespace: shop}
spec: {podSelector: {matchLabels: {app: db}}}
`;
  const allow = `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-fe, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: fe}}}], ports: [{port: 5432}]}]
`;
  const w = (t: string) => buildPolicyWorld(sourcesFromYaml(t));

  it('names the added deny as the cause of every cut into db, and nothing opens', () => {
    const d = diffReach(w(base), w(base + deny));
    expect(d.opened).toBe(0);
    expect(d.groups.map((g) => g.causes)).toEqual([
      [{ policy: 'NetworkPolicy shop/db-deny', change: 'added' }],
    ]);
    const cuts = d.groups[0]!.cut.map(
      (c) => `${c.from.join(',')} > ${c.to.join(',')}: ${c.ports.toString()}`,
    );
    expect(cuts).toContain(`shop/fe > shop/db: ${PortSet.ALL.toString()}`);
    expect(cuts.every((c) => / > shop\/db: /.test(c))).toBe(true);
  });

  it('names the added allow as the cause of what opens', () => {
    const d = diffReach(w(base + deny), w(base + deny + allow));
    expect(d.cut).toBe(0);
    expect(d.opened).toBe(1);
    expect(d.groups).toHaveLength(1);
    expect(d.groups[0]!.causes).toEqual([
      { policy: 'NetworkPolicy shop/db-from-fe', change: 'added' },
    ]);
    expect(d.groups[0]!.opened.map((c) => [c.from, c.to, c.ports.toString()])).toEqual([
      [['shop/fe'], ['shop/db'], 'TCP 5432'],
    ]);
  });

  it('names the smallest set of changes that alone makes the change, the rest as also involved', () => {
    // A deny and an allow land together. fe → db: the allow alone isolates db and admits fe on
    // 5432, which is the new answer; the deny takes part but is not needed. Everything else → db:
    // either alone cuts it; the first by name is named.
    const d = diffReach(w(base), w(base + deny + allow));
    const fe = d.groups.find((g) => g.cut.some((c) => c.from.includes('shop/fe')));
    expect(fe?.causes).toEqual([{ policy: 'NetworkPolicy shop/db-from-fe', change: 'added' }]);
    expect(fe?.alsoInvolved).toEqual([{ policy: 'NetworkPolicy shop/db-deny', change: 'added' }]);
    expect(fe?.cut.map((c) => [c.from, c.to])).toEqual([[['shop/fe'], ['shop/db']]]);
    const rest = d.groups.filter((g) => g !== fe);
    expect(rest.map((g) => g.causes)).toEqual([
      [{ policy: 'NetworkPolicy shop/db-deny', change: 'added' }],
    ]);
    expect(rest[0]!.alsoInvolved).toEqual([
      { policy: 'NetworkPolicy shop/db-from-fe', change: 'added' },
    ]);
  });

  it('puts a relabelled pod down to its labels, and lists added and removed pods', () => {
    const relabelled = base.replace(
      '{name: fe, namespace: shop, labels: {app: fe}}',
      '{name: fe, namespace: shop, labels: {app: other}}',
    );
    const extra = `${base}---\napiVersion: v1\nkind: Pod\nmetadata: {name: new, namespace: shop}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.0.3}\n`;
    const d = diffReach(w(extra + deny + allow), w(relabelled + deny + allow));
    expect(d.podsRemoved).toEqual(['shop/new']);
    expect(d.podsAdded).toEqual([]);
    expect(d.groups).toHaveLength(1);
    expect(d.groups[0]!.causes).toEqual([]);
    expect(d.groups[0]!.labels).toMatch(/shop\/fe \{app=fe\} in .* → \{app=other\}/);
    expect(d.groups[0]!.cut.map((c) => [c.from, c.to, c.ports.toString()])).toEqual([
      [['shop/fe'], ['shop/db'], 'TCP 5432'],
    ]);
  });
});
