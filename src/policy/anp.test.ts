/**
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy against the expectations of
 * the kubernetes-sigs/network-policy-api conformance suite. Each case names
 * the upstream test file (and commit) whose PokeServer assertions it restates;
 * mutations replay what the test does to the live objects between steps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluatePair } from './evaluate.js';
import { computeMatrix } from './matrix.js';
import { type PolicyWorld, type SourceObject } from './model.js';
import { buildPolicyWorld } from './world.js';
import type { L4Protocol } from './ports.js';
import { sourcesFromYaml, worldFromYaml } from './testing/yaml.js';

const dir = join(import.meta.dirname, '../../test/fixtures/anp');
const read = (f: string) => sourcesFromYaml(readFileSync(join(dir, f), 'utf8'), f);

const PODS: Record<string, string> = {
  hp0: 'network-policy-conformance-gryffindor/harry-potter-0',
  hp1: 'network-policy-conformance-gryffindor/harry-potter-1',
  dm0: 'network-policy-conformance-slytherin/draco-malfoy-0',
  dm1: 'network-policy-conformance-slytherin/draco-malfoy-1',
  cd0: 'network-policy-conformance-hufflepuff/cedric-diggory-0',
  cd1: 'network-policy-conformance-hufflepuff/cedric-diggory-1',
  ll0: 'network-policy-conformance-ravenclaw/luna-lovegood-0',
  ll1: 'network-policy-conformance-ravenclaw/luna-lovegood-1',
  pd0: 'network-policy-conformance-hogwarts-staff/professor-dumbledore-0',
  pq0: 'network-policy-conformance-hogwarts-staff/professor-quirrell-0',
};

type Obj = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
type Mutation = (objs: Obj[]) => Obj[];

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not in fixture`);
  return o;
};
const swap =
  (name: string, i: number, j: number): Mutation =>
  (objs) => {
    const anp = find(objs, 'AdminNetworkPolicy', name);
    for (const dir of ['egress', 'ingress']) {
      const rules = anp.spec[dir] as unknown[];
      [rules[i], rules[j]] = [rules[j], rules[i]];
    }
    return objs;
  };
const setAction =
  (name: string, dir: 'ingress' | 'egress', action: string): Mutation =>
  (objs) => {
    (find(objs, 'AdminNetworkPolicy', name).spec[dir] as { action: string }[])[0]!.action = action;
    return objs;
  };
const setPriority =
  (name: string, priority: number): Mutation =>
  (objs) => {
    find(objs, 'AdminNetworkPolicy', name).spec.priority = priority;
    return objs;
  };
const remove =
  (kind: string, name: string): Mutation =>
  (objs) =>
    objs.filter((o) => !(o.kind === kind && o.metadata.name === name));

interface Case {
  readonly name: string;
  /** Upstream test (network-policy-api conformance/tests/…) and commit. */
  readonly source: string;
  readonly policies: string;
  /** Applied in order, as the upstream subtests mutate the live objects. */
  readonly mutations: readonly Mutation[];
  /** `from to PROTO/port allow|deny` */
  readonly checks: readonly string[];
}

const GRESS = 'admin-network-policy-core-gress-rules.go @ 107f154e1aef56bb061665d1bc5b4f1cb427bd1c';
const INTEGRATION =
  'admin-network-policy-core-integration.go @ 135bf4bf87068173336ca236f413c1eaf0a4f6b9';
const PRIORITY = 'admin-network-policy-core-priority.go @ 42095fba9e07c682a8370091f7e780fe75189964';

const cases: Case[] = [
  {
    name: 'allow-gress: rule 0 (Allow) wins over 1 (Deny) for ravenclaw; ports for hufflepuff',
    source: GRESS,
    policies: 'gress-rules.yaml',
    mutations: [],
    checks: [
      'hp0 ll0 TCP/80 allow',
      'hp1 ll0 UDP/53 allow',
      'hp0 ll0 SCTP/9003 allow',
      'll0 hp0 TCP/80 allow',
      'll1 hp0 UDP/53 allow',
      'll1 hp0 SCTP/9003 allow',
      'hp0 cd1 TCP/8080 allow',
      'hp1 cd1 TCP/80 deny',
      'hp0 cd1 UDP/5353 allow',
      'hp1 cd1 UDP/53 deny',
      'hp0 cd1 SCTP/9003 allow',
      'hp1 cd1 SCTP/9005 deny',
      'cd0 hp1 TCP/80 allow',
      'cd1 hp1 TCP/8080 deny',
      'cd0 hp1 UDP/5353 allow',
      'cd1 hp1 UDP/53 deny',
      'cd0 hp1 SCTP/9003 allow',
      'cd1 hp1 SCTP/9005 deny',
      // deny-gress at the specified ports (rule 3), the rest matches no rule
      'hp0 dm0 TCP/80 deny',
      'hp1 dm0 TCP/8080 allow',
      'hp0 dm0 UDP/53 deny',
      'hp1 dm0 UDP/5353 allow',
      'hp0 dm0 SCTP/9003 deny',
      'hp1 dm0 SCTP/9005 allow',
      'dm0 hp0 TCP/80 deny',
      'dm1 hp0 TCP/8080 allow',
      'dm0 hp0 UDP/53 deny',
      'dm1 hp0 UDP/5353 allow',
      'dm0 hp0 SCTP/9003 deny',
      'dm1 hp0 SCTP/9005 allow',
      // AdminNetworkPolicyPodSelectorGress: pods peers
      'pd0 hp0 TCP/8080 allow',
      'pd0 hp0 UDP/5353 allow',
      'pd0 hp0 SCTP/9003 allow',
      'pq0 hp0 TCP/8080 deny',
      'pq0 hp0 UDP/5353 deny',
      'pq0 hp0 SCTP/9003 deny',
    ],
  },
  {
    name: 'deny-gress: rules 0 and 1 swapped, Deny first',
    source: GRESS,
    policies: 'gress-rules.yaml',
    mutations: [swap('gress-rules', 0, 1)],
    checks: [
      'hp0 ll1 TCP/80 deny',
      'hp1 ll1 UDP/53 deny',
      'hp0 ll1 SCTP/9003 deny',
      'll0 hp1 TCP/80 deny',
      'll1 hp1 UDP/53 deny',
      'll1 hp1 SCTP/9003 deny',
    ],
  },
  {
    name: 'pass-gress: Pass moved first, no NetworkPolicy or BANP, so allowed',
    source: GRESS,
    policies: 'gress-rules.yaml',
    mutations: [swap('gress-rules', 0, 1), swap('gress-rules', 0, 2)],
    checks: [
      'hp0 ll0 TCP/80 allow',
      'hp0 ll0 UDP/5353 allow',
      'hp0 ll0 SCTP/9003 allow',
      'll0 hp0 TCP/80 allow',
      'll1 hp0 UDP/53 allow',
      'll1 hp0 SCTP/9003 allow',
    ],
  },
  {
    name: 'pass-gress at ports: rules 3 and 4 swapped',
    source: GRESS,
    policies: 'gress-rules.yaml',
    mutations: [swap('gress-rules', 3, 4)],
    checks: [
      'hp0 dm0 TCP/80 allow',
      'hp1 dm0 TCP/8080 allow',
      'hp0 dm0 UDP/53 allow',
      'hp1 dm0 UDP/5353 allow',
      'hp0 dm0 SCTP/9003 allow',
      'hp1 dm0 SCTP/9005 allow',
      'dm0 hp0 TCP/80 allow',
      'dm1 hp0 TCP/8080 allow',
    ],
  },
  {
    name: 'integration: ANP Deny beats the NetworkPolicy Allow',
    source: INTEGRATION,
    policies: 'anp-np-banp.yaml',
    mutations: [],
    checks: [
      'dm0 hp0 TCP/80 deny',
      'dm1 hp0 TCP/8080 deny',
      'hp0 dm0 TCP/80 deny',
      'hp1 dm0 TCP/8080 deny',
    ],
  },
  {
    name: 'integration: ANP Pass hands ingress to the NetworkPolicy, which allows',
    source: INTEGRATION,
    policies: 'anp-np-banp.yaml',
    mutations: [setAction('pass-example', 'ingress', 'Pass')],
    checks: ['dm0 hp0 TCP/80 allow', 'dm1 hp0 TCP/8080 allow'],
  },
  {
    name: 'integration: ANP Pass hands egress to the NetworkPolicy, which allows',
    source: INTEGRATION,
    policies: 'anp-np-banp.yaml',
    mutations: [
      setAction('pass-example', 'ingress', 'Pass'),
      setAction('pass-example', 'egress', 'Pass'),
    ],
    checks: ['hp0 dm0 TCP/80 allow', 'hp1 dm0 TCP/8080 allow'],
  },
  {
    name: 'integration: NetworkPolicy deleted, Pass reaches the BANP Deny',
    source: INTEGRATION,
    policies: 'anp-np-banp.yaml',
    mutations: [
      setAction('pass-example', 'ingress', 'Pass'),
      setAction('pass-example', 'egress', 'Pass'),
      remove('NetworkPolicy', 'allow-gress-from-to-slytherin-to-gryffindor'),
    ],
    checks: [
      'dm0 hp0 TCP/80 deny',
      'dm1 hp0 TCP/8080 deny',
      'hp0 dm0 TCP/80 deny',
      'hp1 dm0 TCP/8080 deny',
    ],
  },
  {
    name: 'priority: Deny at 50 is evaluated before Pass at 60',
    source: PRIORITY,
    policies: 'priority-field.yaml',
    mutations: [],
    checks: [
      'dm0 hp0 TCP/80 deny',
      'dm1 hp0 TCP/8080 deny',
      'hp0 dm0 TCP/80 deny',
      'hp1 dm0 TCP/8080 deny',
    ],
  },
  {
    name: 'priority: Pass moved to 40 goes first, the BANP Allow decides',
    source: PRIORITY,
    policies: 'priority-field.yaml',
    mutations: [setPriority('old-priority-60-new-priority-40-example', 40)],
    checks: [
      'dm0 hp0 TCP/80 allow',
      'dm1 hp0 TCP/8080 allow',
      'hp0 dm0 TCP/80 allow',
      'hp1 dm0 TCP/8080 allow',
    ],
  },
  {
    // Derived from the BANP rules by KEP-2091 semantics (first matching rule
    // decides, no match = allowed), mirroring the ANP gress expectations.
    name: 'baseline gress rules (current peer shape)',
    source:
      'derived from baseline_admin_network_policy/core-gress-rules-combined.yaml @ 4d5b6932bf8ccda677b9aa171070fe426ab52c40',
    policies: 'banp-gress-rules.yaml',
    mutations: [],
    checks: [
      'hp0 ll0 TCP/80 allow',
      'll0 hp0 UDP/53 allow',
      'hp0 cd1 TCP/8080 allow',
      'hp0 cd1 TCP/80 deny',
      'hp0 cd1 SCTP/9003 allow',
      'hp0 cd1 SCTP/9005 deny',
      'cd0 hp1 TCP/80 allow',
      'cd0 hp1 TCP/8080 deny',
      'hp0 dm0 TCP/80 deny',
      'hp0 dm0 TCP/8080 allow',
      'dm0 hp0 UDP/53 deny',
      'dm0 hp0 UDP/5353 allow',
      'hp0 pd0 TCP/8080 allow',
      'hp0 pq0 TCP/8080 deny',
      'hp0 pq0 TCP/80 allow',
      // Pods outside the subject are not affected.
      'dm0 cd0 TCP/80 allow',
      'll0 dm0 SCTP/9003 allow',
    ],
  },
];

function world(c: Case) {
  const base = read('base.yaml');
  const pol = read(c.policies);
  let objs = structuredClone(pol.map((s) => s.object)) as Obj[];
  for (const m of c.mutations) objs = m(objs);
  const sources: SourceObject[] = [...base, ...objs.map((object) => ({ object }))];
  return buildPolicyWorld(sources);
}

describe('AdminNetworkPolicy conformance expectations (test/fixtures/anp)', () => {
  for (const c of cases) {
    it(`${c.name} [${c.source.split(' ')[0]}]`, () => {
      const w = world(c);
      expect(w.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      const m = computeMatrix(w);
      const wrong: string[] = [];
      for (const check of c.checks) {
        const [from, to, pp, verdict] = check.split(' ') as [string, string, string, string];
        const [proto, port] = pp.split('/') as [L4Protocol, string];
        const a = m.indexOf(PODS[from]!);
        const b = m.indexOf(PODS[to]!);
        expect(a !== undefined && b !== undefined, check).toBe(true);
        const grouped = m.allowed(a!, b!).has(proto, Number(port));
        const direct = evaluatePair(w, m.endpoints[a!]!, m.endpoints[b!]!).allowed.has(
          proto,
          Number(port),
        );
        const want = verdict === 'allow';
        if (grouped !== want || direct !== want)
          wrong.push(`${check}: matrix ${grouped}, pair ${direct}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('the NetworkPolicy in the integration case isolates gryffindor egress to other houses', () => {
    const w = world(cases[6]!);
    const m = computeMatrix(w);
    const s = m.allowed(m.indexOf(PODS.hp0!)!, m.indexOf(PODS.ll0!)!);
    expect(s.toString()).toBe('none');
  });
});

describe('ANP namespaces relative to the subject (earlier v1alpha1 NamespaceSet forms)', () => {
  // Two tenants of two namespaces each, and a namespace without the label.
  const NS = `
apiVersion: v1
kind: Namespace
metadata: {name: a1, labels: {tenant: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: a2, labels: {tenant: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b1, labels: {tenant: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b2, labels: {tenant: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shared}
${['a1', 'a2', 'b1', 'b2', 'shared']
  .map(
    (ns) => `---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ${ns}, labels: {app: p}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
`,
  )
  .join('')}`;
  const anp = (peer: string, action = 'Deny') => `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: tenancy}
spec:
  priority: 10
  subject: {namespaces: {matchExpressions: [{key: tenant, operator: Exists}]}}
  ingress: [{action: ${action}, from: [${peer}]}]
`;
  const all = ['a1', 'a2', 'b1', 'b2', 'shared'];
  /** Every pair into a tenant namespace (the subjects) from another namespace. */
  const intoTenants = all
    .flatMap((t) => (t === 'shared' ? [] : all.filter((f) => f !== t).map((f) => `${f}→${t}`)))
    .sort();
  /** `from→to` for every pair whose TCP/80 is denied. */
  function denied(yaml: string): string[] {
    const w = buildPolicyWorld(sourcesFromYaml(NS + yaml, 'c.yaml'));
    expect(w.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const m = computeMatrix(w);
    const out: string[] = [];
    for (const f of all) {
      for (const t of all) {
        if (f === t) continue;
        const i = m.indexOf(`${f}/p`)!;
        const j = m.indexOf(`${t}/p`)!;
        const byMatrix = m.allowed(i, j).has('TCP', 80);
        const byPair = evaluatePair(w, w.pods[i]!, w.pods[j]!).allowed.has('TCP', 80);
        expect(byMatrix, `${f}→${t}`).toBe(byPair);
        if (!byMatrix) out.push(`${f}→${t}`);
      }
    }
    return out;
  }

  it.each([
    [
      'notSameLabels: other tenants',
      '{namespaces: {notSameLabels: [tenant]}}',
      ['a1→b1', 'a1→b2', 'a2→b1', 'a2→b2', 'b1→a1', 'b1→a2', 'b2→a1', 'b2→a2'],
    ],
    [
      'sameLabels: own tenant (not the subject namespace itself: pairs only)',
      '{namespaces: {sameLabels: [tenant]}}',
      ['a1→a2', 'a2→a1', 'b1→b2', 'b2→b1'],
    ],
    ['notSelf: every other namespace', '{namespaces: {notSelf: true}}', intoTenants],
    [
      'related: NotSelf, with a pod selector',
      '{pods: {namespaces: {related: NotSelf}, podSelector: {matchLabels: {app: p}}}}',
      intoTenants,
    ],
    ['sameLabels with an empty key list selects nothing', '{namespaces: {sameLabels: []}}', []],
  ])('%s', (_name, peer, want) => {
    expect(denied(anp(peer)).sort()).toEqual([...want].sort());
  });

  it('a relative BANP peer is resolved per subject namespace too', () => {
    const banp = `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {notSameLabels: [tenant]}}]}]
`;
    expect(denied(banp).sort()).toEqual(
      ['a1→b1', 'a1→b2', 'a2→b1', 'a2→b2', 'b1→a1', 'b1→a2', 'b2→a1', 'b2→a2'].sort(),
    );
  });

  it('a relation in the subject is an error', () => {
    const w = worldFromYaml(
      NS +
        `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad}
spec: {priority: 1, subject: {namespaces: {sameLabels: [tenant]}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}
`,
      'c.yaml',
    );
    expect(w.diagnostics.some((d) => d.severity === 'error' && d.object?.includes('bad'))).toBe(
      true,
    );
    expect(w.diagnostics.filter((d) => d.severity === 'error').length).toBe(1);
  });
});

describe('what an API server holds, read with one diagnostic per cause', () => {
  const NS = ['a1', 'b1']
    .map(
      (ns, i) => `---
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}, labels: {tenant: ${ns[0]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ${ns}, labels: {app: p}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.${i}.1}
`,
    )
    .join('');
  const anp = (peer: string, subject = '{namespaces: {}}') => `${NS}---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: p}
spec: {priority: 1, subject: ${subject}, ingress: [{action: Deny, from: [${peer}]}]}
`;
  it.each([
    [
      'pods peer without podSelector: all pods of the namespaces',
      anp('{pods: {namespaceSelector: {matchLabels: {tenant: a}}}}'),
      ['spec.ingress[0].from[0].pods.podSelector'],
    ],
    [
      'pods peer without namespaceSelector: those pods in every namespace',
      anp('{pods: {podSelector: {}}}'),
      ['spec.ingress[0].from[0].pods.namespaceSelector'],
    ],
    [
      'subject pods without podSelector',
      anp('{namespaces: {matchLabels: {tenant: a}}}', '{pods: {namespaceSelector: {}}}'),
      ['spec.subject.pods.podSelector'],
    ],
  ])('%s', (_name, yaml, fields) => {
    const w = worldFromYaml(yaml, 'c.yaml');
    const notes = w.diagnostics.filter((d) => d.severity !== 'info');
    expect(notes.map((d) => `${d.severity} ${d.code} ${d.field}`)).toEqual(
      fields.map((f) => `warning k8s-defaulted-selector ${f}`),
    );
    expect(notes[0]!.message).toMatch(/read as \{\}/);
    expect(w.admin).toHaveLength(1);
  });

  it('reads a missing pods.podSelector as every pod, exactly as {} would', () => {
    const missing = worldFromYaml(anp('{pods: {namespaceSelector: {matchLabels: {tenant: a}}}}'));
    const empty = worldFromYaml(
      anp('{pods: {namespaceSelector: {matchLabels: {tenant: a}}, podSelector: {}}}'),
    );
    const cells = (w: PolicyWorld) => {
      const m = computeMatrix(w);
      return m.pods.map((a, i) => m.pods.map((_, j) => m.allowed(i, j).key).join(' ')).join('\n');
    };
    expect(cells(missing)).toBe(cells(empty));
    expect(cells(missing)).toContain('-');
  });

  it('an IPv6 network is kept and matches nothing, said once', () => {
    const w = worldFromYaml(`${NS}---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: p}
spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: ["fd00::/8"]}]}]}
`);
    expect(w.diagnostics.map((d) => `${d.severity} ${d.code}`)).toContain(
      'info policy-ipv6-ignored',
    );
    expect(w.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(w.admin[0]!.rules.egress[0]!.peers[0]!.text).toBe('no IPv4 addresses');
  });

  it('a bad part of a peer is one error, not three', () => {
    const w = worldFromYaml(anp('{namespaces: {sameLabels: [tenant], self: true}}'));
    expect(w.diagnostics.filter((d) => d.severity === 'error')).toHaveLength(1);
  });
});
