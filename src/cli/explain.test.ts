import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluatePair } from '../policy/evaluate.js';
import { sourcesFromYaml } from '../policy/testing/yaml.js';
import { buildPolicyWorld } from '../policy/world.js';
import { diffReach } from '../trace/check/diff.js';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { expectDocument } from '../render/testing/schema.js';

// Every edit `reach --explain` suggests, applied from its printed form (an RFC 6902 patch or a
// new object) by an applier written here, must make the connection allowed; and the edits the
// engine rejects are never shown.

const PODS = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: v1
kind: Pod
metadata: {name: fe-7d9c-abcde, namespace: shop, labels: {app: fe, pod-template-hash: 7d9c}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: mon, namespace: ops, labels: {app: mon}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.1}
`;
const doc = (yaml: string) => `---\n${yaml.trim()}\n`;
const DB_DENY = doc(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-deny, namespace: shop}
spec: {podSelector: {matchLabels: {app: db}}}
`);
const DB_FROM_FE_OTHER_PORT = doc(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-fe, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: fe}}}], ports: [{protocol: TCP, port: 9999}]}]
`);
const DB_FROM_TEAM = doc(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-team, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: db-readers}}, podSelector: {matchLabels: {app: mon}}}], ports: [{port: 5432}]}]
`);
const FE_NO_EGRESS = doc(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fe-egress, namespace: shop}
spec: {podSelector: {matchLabels: {app: fe}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.9.0.0/16}}]}]}
`);
const ANP_DENY = doc(`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: lock-shop}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: shop}}}
  ingress: [{name: deny-ops, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: ops}}}]}]
`);
const BANP_DENY = doc(`
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{name: deny-all, action: Deny, from: [{namespaces: {}}]}]
`);

interface PatchOp {
  op: string;
  path: string;
  value: unknown;
}
interface Edit {
  kind: string;
  target: { kind: string; namespace?: string; name: string };
  patch?: PatchOp[];
  create?: unknown;
}

/** RFC 6902 `add` (the only operation the suggestions use), on a copy. */
function applyOps(o: unknown, ops: PatchOp[]): unknown {
  const copy = JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
  for (const op of ops) {
    expect(op.op).toBe('add');
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let cur = copy as Record<string, unknown> | unknown[];
    for (const p of parts) {
      const next = (cur as Record<string, unknown>)[p];
      expect(next, `${op.path}: ${p} exists`).toBeDefined();
      cur = next as Record<string, unknown>;
    }
    if (Array.isArray(cur)) {
      if (last === '-') cur.push(op.value);
      else cur.splice(Number(last), 0, op.value);
    } else cur[last] = op.value;
  }
  return copy;
}

function applyEdit(objects: unknown[], e: Edit): unknown[] {
  if (e.create) return [...objects, e.create];
  let hit = 0;
  const out = objects.map((o) => {
    const m = o as { kind: string; metadata: { name: string; namespace?: string } };
    if (
      m.kind !== e.target.kind ||
      m.metadata.name !== e.target.name ||
      m.metadata.namespace !== e.target.namespace
    )
      return o;
    hit++;
    return applyOps(o, e.patch!);
  });
  expect(hit, `${e.target.kind} ${e.target.name} is in the input`).toBe(1);
  return out;
}

const CASES: {
  name: string;
  cluster: string;
  from: string;
  to: string;
  port: string;
  kinds: string[];
}[] = [
  {
    name: 'an isolating deny',
    cluster: PODS + DB_DENY,
    from: 'shop/fe-7d9c-abcde',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: ['new-policy'],
  },
  {
    name: 'a rule for the peer on another port',
    cluster: PODS + DB_FROM_FE_OTHER_PORT,
    from: 'shop/fe-7d9c-abcde',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: ['add-port', 'new-policy'],
  },
  {
    name: 'a rule for the port from other peers',
    cluster: PODS + DB_FROM_FE_OTHER_PORT,
    from: 'ops/mon',
    to: 'shop/db-0',
    port: 'TCP/9999',
    kinds: ['add-peer', 'new-policy'],
  },
  {
    name: 'a namespace without the label a rule asks for',
    cluster: PODS + DB_FROM_TEAM,
    from: 'ops/mon',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: ['label-namespace', 'add-peer', 'new-policy'],
  },
  {
    name: 'egress isolation at the source',
    cluster: PODS + FE_NO_EGRESS,
    from: 'shop/fe-7d9c-abcde',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: ['new-policy'],
  },
  {
    name: 'both directions denied',
    cluster: PODS + FE_NO_EGRESS + DB_DENY,
    from: 'shop/fe-7d9c-abcde',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: ['new-policy+new-policy'],
  },
  {
    name: 'an AdminNetworkPolicy Deny',
    cluster: PODS + ANP_DENY,
    from: 'ops/mon',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: ['admin-allow'],
  },
  {
    name: 'the baseline Deny',
    cluster: PODS + BANP_DENY,
    from: 'ops/mon',
    to: 'shop/db-0',
    port: 'TCP/5432',
    kinds: [],
  },
];

describe('reach --explain: suggested edits', () => {
  it.each(CASES)(
    '$name: every suggestion, applied, allows the connection',
    async ({ cluster, from, to, port, kinds }) => {
      const io = memoryIo({ 'c.yaml': cluster });
      const code = await main(
        ['reach', '-f', 'c.yaml', '--explain', from, to, '--port', port, '-o', 'yaml'],
        io,
      );
      expect(io.stderr).not.toMatch(/internal error/);
      expect(code).toBe(0);
      const out = parse(io.stdout) as {
        allowedOnPort: boolean;
        suggestions: { edits: Edit[]; alsoOpens: number; cuts: number }[];
      };
      expect(out.allowedOnPort).toBe(false);
      const got = out.suggestions.map((s) => s.edits.map((e) => e.kind).join('+'));
      for (const k of kinds) expect(got).toContain(k);
      // A BANP deny is lifted by any NetworkPolicy that isolates the pod and admits the peer.
      if (kinds.length === 0) expect(got).toContain('new-policy');
      const objects = sourcesFromYaml(cluster).map((s) => s.object);
      const before = buildPolicyWorld(objects.map((object) => ({ object })));
      const [proto, p] = port.split('/');
      // Narrowest first: no later suggestion opens or cuts fewer other pairs than the first.
      const cost = (s: { alsoOpens: number; cuts: number }): number => s.alsoOpens + s.cuts;
      for (const s of out.suggestions)
        expect(cost(s)).toBeGreaterThanOrEqual(cost(out.suggestions[0]!));
      for (const s of out.suggestions) {
        let edited = objects;
        for (const e of s.edits) edited = applyEdit(edited, e);
        const w = buildPolicyWorld(edited.map((object) => ({ object })));
        expect(w.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const a = w.pods.find((x) => x.key === from)!;
        const b = w.pods.find((x) => x.key === to)!;
        expect(evaluatePair(w, a, b).allowed.has(proto as 'TCP', Number(p)), got.join(', ')).toBe(
          true,
        );
        // What else the edit opens and cuts, recomputed by the engine over the whole matrix from
        // the edit as printed and applied here, is what the suggestion says.
        const d = diffReach(before, w);
        expect({ alsoOpens: Math.max(0, d.opened - 1), cuts: d.cut }).toEqual({
          alsoOpens: s.alsoOpens,
          cuts: s.cuts,
        });
      }
    },
  );

  it('selects the workload, not the one replica (no pod-template-hash)', async () => {
    const io = memoryIo({ 'c.yaml': PODS + DB_DENY });
    await main(
      [
        'reach',
        '-f',
        'c.yaml',
        '--explain',
        'shop/fe-7d9c-abcde',
        'shop/db-0',
        '--port',
        'TCP/5432',
      ],
      io,
    );
    expect(io.stdout).toMatch(
      /to allow TCP\/5432, each checked by the policy engine on the edited objects:/,
    );
    expect(io.stdout).toMatch(/matchLabels:\n\s+app: fe\n/);
    expect(io.stdout).not.toMatch(/pod-template-hash/);
  });

  it('says nothing is needed for an allowed pair, and asks for a port when none is known', async () => {
    const io = memoryIo({ 'c.yaml': PODS + DB_DENY });
    await main(
      ['reach', '-f', 'c.yaml', '--explain', 'shop/db-0', 'shop/fe-7d9c-abcde', '--port', 'TCP/80'],
      io,
    );
    expect(io.stdout).not.toMatch(/to allow/);
    const io2 = memoryIo({ 'c.yaml': PODS + DB_DENY });
    await main(['reach', '-f', 'c.yaml', '--explain', 'ops/mon', 'shop/db-0'], io2);
    // db-0 declares 5432: the edits are for that port.
    expect(io2.stdout).toMatch(/to allow TCP\/5432/);
  });
});

describe('trace: a connection the policies deny ends with the edits that would allow it', () => {
  const STORE = readFileSync(
    join(import.meta.dirname, '../../examples/policy-calico.yaml'),
    'utf8',
  );

  it('through a Service to a denied backend: the backend pod and the Service port', async () => {
    const io = memoryIo({ 'c.yaml': STORE });
    const code = await main(
      ['trace', '-f', 'c.yaml', '--from', 'store/fe-1', '--to', 'svc/store/db:6379'],
      io,
    );
    expect(code).toBe(0);
    expect(io.stdout).toMatch(
      /\n\nto allow TCP\/6379, each checked by the policy engine on the edited objects:\n {2}1\. NetworkPolicy store\/store-net-policy spec\.ingress\[0\] allows TCP\/6379: add store\/fe-1 to its peers/,
    );
    expect(io.stdout).toMatch(/path: \/spec\/ingress\/0\/from\/-/);
  });

  it('says nothing for an allowed connection', async () => {
    const io = memoryIo({ 'c.yaml': STORE });
    await main(['trace', '-f', 'c.yaml', '--from', 'store/be-1', '--to', 'svc/store/db:6379'], io);
    expect(io.stdout).not.toMatch(/to allow/);
  });

  it('-o json and -o yaml carry the same edits in policy.suggestions, each allowing the pair', async () => {
    const io = memoryIo({ 'c.yaml': STORE });
    const argv = ['trace', '-f', 'c.yaml', '--from', 'store/fe-1', '--to', 'svc/store/db:6379'];
    expect(await main([...argv, '-o', 'json'], io)).toBe(0);
    const t = expectDocument(io.stdout, 'Trace') as {
      policy: {
        allowedByPolicy: boolean;
        port: string;
        to: string;
        suggestions: { alsoOpens: number; cuts: number; edits: Edit[] }[];
      };
    };
    expect(t.policy.allowedByPolicy).toBe(false);
    expect(t.policy.port).toBe('TCP/6379');
    expect(t.policy.suggestions.length).toBeGreaterThan(0);
    expect(t.policy.suggestions[0]!.edits[0]!.kind).toBe('add-peer');
    const objects = parse(JSON.stringify(sourcesFromYaml(STORE).map((x) => x.object))) as unknown[];
    for (const sug of t.policy.suggestions) {
      const edited = sug.edits.reduce(applyEdit, objects);
      const w = buildPolicyWorld(edited.map((object) => ({ object })));
      const pod = (k: string) => w.pods.find((p) => p.key === k)!;
      const pair = evaluatePair(w, pod('store/fe-1'), pod(t.policy.to));
      expect(pair.allowed.has('TCP', 6379), JSON.stringify(sug.edits)).toBe(true);
    }
    const y = memoryIo({ 'c.yaml': STORE });
    expect(await main([...argv, '-o', 'yaml'], y)).toBe(0);
    expect((parse(y.stdout) as typeof t).policy.suggestions).toEqual(t.policy.suggestions);
  });

  it('an allowed trace has no suggestions field', async () => {
    const io = memoryIo({ 'c.yaml': STORE });
    await main(
      ['trace', '-f', 'c.yaml', '--from', 'store/be-1', '--to', 'svc/store/db:6379', '-o', 'json'],
      io,
    );
    const t = JSON.parse(io.stdout) as { policy?: Record<string, unknown> };
    expect(t.policy?.allowedByPolicy).toBe(true);
    expect(t.policy).not.toHaveProperty('suggestions');
  });
});
