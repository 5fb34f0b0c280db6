import { describe, expect, it } from 'vitest';
import { planExample } from '../../render/testing/golden.js';
import { traceConnection } from '../connection.js';
import { answered, branchesOf } from './dataplane.js';
import { dataplaneScope, diffDataplane, probesFor, scopeIsEmpty } from './dataplane-diff.js';

// metallb-l2: web-1 on node-3 behind LoadBalancer Services web (Cluster) and web-local (Local),
// an ExternalHost `user`; a client pod on node-1 is added so pods have a client.
const CLIENT = `
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec: {nodeName: node-1, containers: [{name: c, image: curl}]}
status: {podIP: 10.244.1.9}
`;
const base = (s: string) => s + CLIENT;
const BEFORE = () => planExample('metallb-l2', base);

const CASES: {
  name: string;
  edit: (s: string) => string;
  scope: Partial<Record<'cluster' | 'services' | 'pods' | 'nodes', string[]>>;
  /** A connection that must be among the changes, and what its trace says after. */
  changed: { from: string; to: string; after: RegExp; where: RegExp }[];
}[] = [
  {
    name: 'externalTrafficPolicy Cluster → Local',
    edit: (s) => base(s).replace('externalTrafficPolicy: Cluster', 'externalTrafficPolicy: Local'),
    scope: { services: ['default/web'] },
    changed: [
      // node-1 has no local endpoint: kube-proxy drops the node port there
      {
        from: 'host/user',
        to: 'node/node-1:30090',
        after: /answered on 0 of 1/,
        where: /rule|hook/,
      },
      // on node-3 the backend now sees the client itself, not node-3's address
      {
        from: 'host/user',
        to: 'node/node-3:30090',
        after: /the receiver sees 192\.168\.60\.100|sees (?!192\.168\.60\.13)/,
        where: /./,
      },
    ],
  },
  {
    name: "a Service's targetPort moved to a port nothing listens on",
    edit: (s) =>
      base(s).replace(
        'ports: [{name: http, port: 80, targetPort: 80, nodePort: 30090',
        'ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30090',
      ),
    scope: { services: ['default/web'] },
    changed: [
      {
        from: 'default/client',
        to: 'svc/default/web:80',
        after: /answered on 0 of 1/,
        where: /8080/,
      },
    ],
  },
  {
    name: "a Service's selector that no longer matches",
    edit: (s) =>
      base(s).replace(
        'type: LoadBalancer\n      selector: {app: web}\n      clusterIP: 10.96.10.10',
        'type: LoadBalancer\n      selector: {app: nope}\n      clusterIP: 10.96.10.10',
      ),
    scope: { services: ['default/web'] },
    changed: [
      { from: 'default/client', to: 'svc/default/web:80', after: /answered on 0 of 1/, where: /./ },
    ],
  },
  {
    name: "kube-proxy's masqueradeAll",
    edit: (s) =>
      base(s).replace('    mode: iptables', '    mode: iptables\n    masqueradeAll: true'),
    scope: { cluster: ['kubeProxy.masqueradeAll'] },
    changed: [
      {
        from: 'default/client',
        to: 'svc/default/web:80',
        after: /sees 192\.168\.60\.11/,
        where: /MASQUERADE|KUBE-MARK-MASQ|mark/i,
      },
    ],
  },
];

describe('diffDataplane: what a data-plane change does to connections, by tracing both twins', () => {
  it('an unchanged cluster has an empty scope and no probes', () => {
    const b = BEFORE();
    const s = dataplaneScope(b.model, b.model);
    expect(scopeIsEmpty(s)).toBe(true);
    expect(probesFor(b.model, b.model, s)).toEqual([]);
    expect(diffDataplane(b, b).changes).toEqual([]);
  });

  it.each(CASES)('$name', ({ edit, scope, changed }) => {
    const b = BEFORE();
    const a = planExample('metallb-l2', edit);
    const d = diffDataplane(b, a);
    for (const [k, v] of Object.entries(scope))
      expect(d.scope[k as keyof typeof scope]).toEqual(expect.arrayContaining(v));
    expect(d.leftOut).toBe(0);
    for (const c of changed) {
      const got = d.changes.find((x) => x.from === c.from && x.to === c.to);
      expect(
        got,
        `${c.from} → ${c.to} among ${d.changes.map((x) => `${x.from} → ${x.to}`).join(', ')}`,
      ).toBeDefined();
      expect(got!.after.summary).toMatch(c.after);
      expect(got!.before.summary).not.toBe(got!.after.summary);
      const where = `${got!.divergence.before ?? ''} | ${got!.divergence.after ?? ''}`;
      expect(where).toMatch(c.where);
    }
    // Every traced connection not reported has the same answer in both twins.
    const reported = new Set(d.changes.map((c) => `${c.from} ${c.to}`));
    for (const p of d.traced) {
      if (reported.has(`${p.from} ${p.to}`) || p.to.startsWith('lb/')) continue;
      const ok = (plan: typeof b) => {
        const t = traceConnection(plan, { from: p.from, to: p.to, allPaths: true });
        return branchesOf(t).map((x) => answered(t, x));
      };
      expect(ok(a), `${p.from} → ${p.to}`).toEqual(ok(b));
    }
  });

  it('is bounded: at most maxTraces connections, the rest counted', () => {
    const a = planExample('metallb-l2', (s) =>
      base(s).replace('    mode: iptables', '    mode: iptables\n    masqueradeAll: true'),
    );
    const d = diffDataplane(BEFORE(), a, { maxTraces: 2 });
    expect(d.traced).toHaveLength(2);
    expect(d.candidates).toBeGreaterThan(2);
    expect(d.leftOut).toBe(d.candidates - 2);
  });
});
