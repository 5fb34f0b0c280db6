/**
 * NetworkPolicy in traces (policy/enforce-twin.ts, policy/trace-annotate.ts): golden traces for
 * examples/policy-calico.yaml (Calico's Felix chains in the node rulesets,
 * the kernel model decides) and examples/policy-bridge-unenforced.yaml (the
 * same policies on the bridge plugin, which enforces nothing). Goldens in
 * test/golden/policy-*.{txt,json}; regenerate with
 *
 *   UPDATE_GOLDEN=1 npx vitest run src/trace/policy.test.ts
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin } from '../twin/index.js';
import { traceConnection, type TraceOptions } from './connection.js';
import type { ConnectionTrace } from './model.js';
import { expectTraceGolden, planExample as plan } from '../render/testing/golden.js';
import { detailOf } from './model.js';

const notes = (t: ConnectionTrace, leg: 'request' | 'reply' = 'request'): string[] =>
  (t[leg]?.hops ?? []).flatMap((h) =>
    h.steps
      .filter((s) => s.kind === 'note' && s.detail !== undefined && 'policy' in s.detail)
      .map((s) => s.summary),
  );
/** The filter chains a leg's packet went through (rule steps), in order. */
const chains = (t: ConnectionTrace, leg: 'request' | 'reply' = 'request'): string[] =>
  (t[leg]?.hops ?? []).flatMap((h) =>
    h.steps
      .map((s) => detailOf(s, 'rule'))
      .filter((d) => d?.table === 'filter')
      .map((d) => String(d?.chain)),
  );

interface Case {
  readonly name: string;
  readonly example: string;
  readonly opts: TraceOptions;
  readonly expect: (t: ConnectionTrace) => void;
}

const CALICO = 'policy-calico';
const BRIDGE = 'policy-bridge-unenforced';
const KUBE_ROUTER = 'policy-kube-router';

const CASES: Case[] = [
  {
    name: 'policy-calico-fe-to-be-service-allowed',
    example: CALICO,
    opts: { from: 'store/fe-1', to: 'svc/store/be:8080' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.at).toBe('store/be-1');
      expect(t.policy).toMatchObject({ enforcer: 'calico', enforced: true, allowedByPolicy: true });
      // Ingress checked on be-1's node, as the packet goes out of the host towards its veth.
      expect(chains(t)).toContain('cali-to-wl-dispatch');
      expect(notes(t)).toEqual([
        expect.stringMatching(
          /^ingress allowed by NetworkPolicy store\/be-from-fe spec\.ingress\[0\] \(filter cali-pi-/,
        ),
      ]);
      // The reply is let through by conntrack (RELATED,ESTABLISHED at the top of cali-fw-/cali-tw-).
      expect(t.reply?.disposition).toBe('delivered');
      expect(t.reply?.received?.src).toBe('10.96.0.80');
    },
  },
  {
    name: 'policy-calico-fe-to-db-denied',
    example: CALICO,
    opts: { from: 'store/fe-1', to: 'store/db-1:6379' },
    expect: (t) => {
      expect(t.request.disposition).toBe('dropped');
      expect(t.request.at).toBe('node-a');
      expect(t.request.detail).toMatch(/cali-tw-cali\w+ .*Drop if no policies passed packet/);
      expect(t.policy?.allowedByPolicy).toBe(false);
      expect(notes(t)).toEqual([
        'ingress denied: NetworkPolicies store/default-deny, store/store-net-policy isolate store/db-1 and no rule allows TCP/6379 from store/fe-1',
      ]);
      const drop = t.request.hops.flatMap((h) => h.steps).find((s) => s.kind === 'drop');
      const pol = detailOf(drop!, 'drop')!.policy!;
      expect(pol.rule!.chain).toMatch(/^cali-tw-/);
      expect(pol.explanation).toContain(
        '    NetworkPolicy store/store-net-policy spec.ingress[0]: store/fe-1 is not among its peers (pods {role=be} in namespace store)',
      );
      expect(t.reply).toBeNull();
    },
  },
  {
    // The Service's DNAT (nat PREROUTING) comes before filter FORWARD: the policy sees db-1's IP.
    name: 'policy-calico-fe-to-db-service-denied',
    example: CALICO,
    opts: { from: 'store/fe-1', to: 'svc/store/db:6379' },
    expect: (t) => {
      expect(t.rewrites.map((r) => `${r.kind} ${r.to}`)).toEqual(['DNAT 10.244.1.31:6379']);
      expect(t.request.disposition).toBe('dropped');
      expect(t.policy).toMatchObject({ to: 'store/db-1', allowedByPolicy: false });
    },
  },
  {
    name: 'policy-calico-be-to-db-service-allowed',
    example: CALICO,
    opts: { from: 'store/be-1', to: 'svc/store/db:6379' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.at).toBe('store/db-1');
      expect(notes(t)[0]).toMatch(/^ingress allowed by NetworkPolicy store\/store-net-policy/);
      // db-1 may start nothing (db-no-egress), yet its SYN-ACK leaves: conntrack ESTABLISHED.
      expect(t.reply?.disposition).toBe('delivered');
      expect(chains(t, 'reply')).toContain(
        chains(t, 'reply').find((c) => c.startsWith('cali-fw-')),
      );
    },
  },
  {
    name: 'policy-calico-db-egress-denied',
    example: CALICO,
    opts: { from: 'store/db-1', to: 'store/be-1:8080' },
    expect: (t) => {
      expect(t.request.disposition).toBe('dropped');
      expect(t.request.at).toBe('node-a');
      expect(t.request.detail).toMatch(/cali-fw-/);
      expect(notes(t)).toEqual([
        'egress denied: NetworkPolicy store/db-no-egress isolates store/db-1 and no rule allows TCP/8080 to store/be-1',
      ]);
    },
  },
  {
    name: 'policy-calico-same-node-allowed',
    example: CALICO,
    opts: { from: 'store/fe-2', to: 'store/be-1:8080' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.reply?.disposition).toBe('delivered');
    },
  },
  {
    name: 'policy-bridge-fe-to-db-unenforced',
    example: BRIDGE,
    opts: { from: 'store/fe-1', to: 'store/db-1:6379' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.reply?.disposition).toBe('delivered');
      expect(t.policy).toMatchObject({ enforcer: 'none', enforced: false, allowedByPolicy: false });
      expect(notes(t)).toEqual([
        'NetworkPolicies store/default-deny, store/store-net-policy select store/db-1 (ingress) but cni bridge enforces nothing: the packet passes (for ingress, the policies would deny it)',
      ]);
      expect(t.diagnostics.map((d) => d.code)).toContain('policy-not-enforced');
      expect(chains(t).some((c) => c.startsWith('cali-'))).toBe(false);
    },
  },
  {
    name: 'policy-bridge-db-egress-unenforced',
    example: BRIDGE,
    opts: { from: 'store/db-1', to: 'svc/store/be:8080' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(notes(t)).toEqual([
        'NetworkPolicy store/db-no-egress selects store/db-1 (egress) but cni bridge enforces nothing: the packet passes (for egress, the policies would deny it)',
        expect.stringMatching(
          /select store\/be-1 \(ingress\) but cni bridge enforces nothing: the packet passes \(for ingress, the policies would deny it\)$/,
        ),
      ]);
    },
  },
  {
    name: 'policy-kube-router-fe-to-db-rejected',
    example: KUBE_ROUTER,
    opts: { from: 'store/fe-1', to: 'store/db-1:6379' },
    expect: (t) => {
      expect(t.request.disposition).toBe('rejected');
      expect(t.request.detail).toMatch(
        /KUBE-POD-FW-\w{16} .*rule to REJECT traffic destined for POD name:db-1 namespace: store/,
      );
      expect(t.policy).toMatchObject({ enforcer: 'kube-router', enforced: true });
      // The REJECT's ICMP error carries the SYN's (unconfirmed) conntrack entry: RELATED, not INVALID.
      expect(t.reply?.disposition).toBe('delivered');
      expect(t.reply?.socket).toContain('ECONNREFUSED');
    },
  },
  {
    name: 'policy-kube-router-be-to-db-service-allowed',
    example: KUBE_ROUTER,
    opts: { from: 'store/be-1', to: 'svc/store/db:6379' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(notes(t)).toEqual([
        expect.stringMatching(
          /^ingress allowed by NetworkPolicy store\/store-net-policy spec\.ingress\[0\] \(filter KUBE-NWPLCY-\w{16} #1: .*-m set --match-set KUBE-SRC-\w{16} src -m set --match-set KUBE-DST-\w{16} dst/,
        ),
      ]);
    },
  },
  {
    name: 'policy-kube-router-ping-accepted-by-common-chain',
    example: KUBE_ROUTER,
    opts: { from: 'store/fe-1', to: 'store/db-1', proto: 'icmp' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.policy?.allowedByPolicy).toBe(false);
      expect(notes(t)).toEqual([
        expect.stringMatching(
          /^the policies deny this, but kube-router accepts it: filter KUBE-NWPLCY-COMMON/,
        ),
      ]);
    },
  },
];

describe('NetworkPolicy in traces', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const t = traceConnection(plan(c.example), c.opts);
      c.expect(t);
      expectTraceGolden(c.name, t);
    });
  }

  /** Every ordered pair of the three-tier example's pods, to each destination's own port. */
  const eachPair = (fn: (from: string, to: string, port: number) => void) => {
    const ports: Record<string, number> = {
      'store/fe-1': 80,
      'store/fe-2': 80,
      'store/be-1': 8080,
      'store/be-2': 8080,
      'store/db-1': 6379,
    };
    for (const a of Object.keys(ports))
      for (const b of Object.keys(ports)) if (a !== b) fn(a, b, ports[b]!);
  };

  it('every allowed/denied verdict of the Calico twin matches the policy engine', () => {
    const p = plan(CALICO);
    eachPair((a, b, port) => {
      const t = traceConnection(p, { from: a, to: `${b}:${port}` });
      expect(`${a}->${b} ${t.request.disposition}`).toBe(
        `${a}->${b} ${t.policy!.allowedByPolicy ? 'delivered' : 'dropped'}`,
      );
      const ping = traceConnection(p, { from: a, to: b, proto: 'icmp' });
      expect(`${a}->${b} icmp ${ping.request.disposition}`).toBe(
        `${a}->${b} icmp ${ping.policy!.allowedByPolicy ? 'delivered' : 'dropped'}`,
      );
    });
  });

  it('every TCP verdict of the kube-router twin matches the policy engine (denied: REJECTed)', () => {
    const p = plan(KUBE_ROUTER);
    eachPair((a, b, port) => {
      const t = traceConnection(p, { from: a, to: `${b}:${port}` });
      expect(`${a}->${b} ${t.request.disposition}`).toBe(
        `${a}->${b} ${t.policy!.allowedByPolicy ? 'delivered' : 'rejected'}`,
      );
    });
  });

  it('words each unenforced note by its own direction: egress allows what ingress denies', () => {
    // The database may now open connections to the backends; the backends still admit only fe.
    const text = `${readFileSync(`examples/${BRIDGE}.yaml`, 'utf8')}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-to-be, namespace: store}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {role: be}}}]}]
`;
    const built = buildModel(loadDocuments([{ path: 'db-to-be.yaml', text }]).objects);
    const t = traceConnection(planTwin(built.model), { from: 'store/db-1', to: 'store/be-1:8080' });
    expect(t.policy).toMatchObject({ enforced: false, allowedByPolicy: false });
    expect(notes(t)).toEqual([
      expect.stringMatching(
        /\(egress\) but cni bridge enforces nothing: the packet passes \(for egress, the policies would allow it\)$/,
      ),
      expect.stringMatching(
        /\(ingress\) but cni bridge enforces nothing: the packet passes \(for ingress, the policies would deny it\)$/,
      ),
    ]);
  });

  it('says in the plan that bridge enforces nothing, and Calico beside bridge matches no interface', () => {
    const bridge = plan(BRIDGE).instantiate();
    expect(bridge.diagnostics.map((d) => d.code)).toContain('policy-not-enforced');
    const text = readFileSync(`examples/${BRIDGE}.yaml`, 'utf8').replace(
      '  cni:\n    plugin: bridge\n',
      '  cni:\n    plugin: bridge\n  networkPolicy:\n    enforcer: calico\n',
    );
    const loaded = loadDocuments([{ path: 'canal-on-bridge.yaml', text }]);
    const built = buildModel(loaded.objects);
    const pl = planTwin(built.model);
    expect(pl.diagnostics.map((d) => d.code)).toContain('policy-enforcer-no-workload-interfaces');
    // Felix's chains are installed, and the kernel model shows they match nothing.
    const twin = pl.instantiate();
    expect(twin.nodeRules.get('node-a')!.text).toContain('-A FORWARD -j cali-FORWARD');
    const t = traceConnection(pl, { from: 'store/fe-1', to: 'store/db-1:6379' });
    expect(t.request.disposition).toBe('delivered');
    expect(chains(t)).toContain('cali-FORWARD');
    expect(chains(t).some((c) => c.startsWith('cali-tw-'))).toBe(false);
    expect(notes(t)[0]).toMatch(
      /Calico's Felix beside cni bridge matches only cali\* workload interfaces/,
    );
  });
});
