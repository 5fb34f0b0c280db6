import { describe, expect, it } from 'vitest';
import { evaluatePair } from './evaluate.js';
import { computeMatrix } from './matrix.js';
import { type PolicyWorld } from './model.js';
import { buildPolicyWorld } from './world.js';
import { loadYaml, sourcesFromYaml, worldFromYaml } from './testing/yaml.js';

// Two namespaces with two pods each; policies are appended per case.
const BASE = `
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {team: red}}
---
apiVersion: v1
kind: Namespace
metadata: {name: y, labels: {team: blue}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: web}}
spec:
  containers:
  - name: c
    ports: [{containerPort: 8080, name: http}, {containerPort: 53, name: dns, protocol: UDP}]
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: db}}
spec:
  containers:
  - name: c
    ports: [{containerPort: 5432, name: http}]
status: {podIP: 10.0.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: y, labels: {app: web}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {app: db, tier: back}}
spec: {containers: [{name: c, ports: [{containerPort: 9000, name: http, protocol: SCTP}]}]}
status: {podIP: 10.0.2.2}
`;

function np(ns: string, body: string): string {
  return `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p${Math.abs(hash(body))}, namespace: ${ns}}\nspec:\n${body.replace(/^/gm, '  ')}\n`;
}
function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}

function world(extra: string): PolicyWorld {
  return buildPolicyWorld(sourcesFromYaml(BASE + extra));
}

/** `from → to` as a port-set string, checked to agree between matrix and pair evaluation. */
function reach(w: PolicyWorld, from: string, to: string): string {
  const m = computeMatrix(w);
  const a = m.indexOf(from)!;
  const b = m.indexOf(to)!;
  const grouped = m.allowed(a, b).toString();
  const direct = evaluatePair(w, m.endpoints[a]!, m.endpoints[b]!).allowed.toString();
  expect(grouped).toBe(direct);
  return grouped;
}

interface Case {
  readonly name: string;
  readonly policies: string;
  /** `from to => allowed-set` */
  readonly expect: readonly string[];
}

const cases: Case[] = [
  {
    name: 'no policy: everything allowed',
    policies: '',
    expect: ['x/a x/b => all', 'y/b x/a => all'],
  },
  {
    name: 'default deny ingress (policyTypes defaults to Ingress only)',
    policies: np('x', 'podSelector: {}'),
    expect: ['x/a x/b => none', 'y/a x/a => none', 'x/a y/a => all', 'y/a y/b => all'],
  },
  {
    name: 'egress rules present: policyTypes defaults to Ingress and Egress',
    policies: np(
      'x',
      'podSelector: {matchLabels: {app: web}}\negress: [{ports: [{port: 53, protocol: UDP}]}]',
    ),
    expect: ['x/a y/a => UDP 53', 'x/b x/a => none', 'x/b y/a => all'],
  },
  {
    name: 'egress: [] without policyTypes does not isolate egress (len(egress) == 0)',
    policies: np('x', 'podSelector: {}\negress: []'),
    expect: ['x/a y/a => all', 'y/a x/a => none'],
  },
  {
    name: 'policyTypes [Egress] ignores ingress rules',
    policies: np('x', 'podSelector: {}\npolicyTypes: [Egress]\ningress: [{}]'),
    expect: ['y/a x/a => all', 'x/a y/a => none'],
  },
  {
    name: 'ingress [{}] allows all',
    policies: np('x', 'podSelector: {}\ningress: [{}]'),
    expect: ['y/b x/a => all'],
  },
  {
    name: 'empty from = every source',
    policies: np('x', 'podSelector: {}\ningress: [{from: [], ports: [{port: 80}]}]'),
    expect: ['y/b x/a => TCP 80'],
  },
  {
    name: 'podSelector alone: same namespace only',
    policies: np(
      'x',
      'podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]',
    ),
    expect: ['x/a x/b => all', 'y/a x/b => none'],
  },
  {
    name: 'namespaceSelector alone: every pod of matching namespaces',
    policies: np(
      'x',
      'podSelector: {}\ningress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}]}]',
    ),
    expect: ['y/a x/b => all', 'y/b x/a => all', 'x/a x/b => none'],
  },
  {
    name: 'namespaceSelector and podSelector in one peer: AND',
    policies: np(
      'x',
      'podSelector: {}\ningress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {app: db}}}]}]',
    ),
    expect: ['y/b x/a => all', 'y/a x/a => none', 'x/b x/a => none'],
  },
  {
    name: 'separate peers: OR',
    policies: np(
      'x',
      'podSelector: {}\ningress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}, {podSelector: {matchLabels: {app: db}}}]}]',
    ),
    expect: ['y/b x/a => all', 'y/a x/a => all', 'x/b x/a => all', 'x/a x/b => none'],
  },
  {
    name: 'matchExpressions: NotIn matches a missing label, DoesNotExist',
    policies: np(
      'y',
      'podSelector: {}\ningress: [{from: [{podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}}]}]',
    ),
    expect: ['y/a y/b => all', 'y/b y/a => none'],
  },
  {
    name: 'ipBlock with except matches pod IPs',
    policies: np(
      'x',
      'podSelector: {matchLabels: {app: db}}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}}]}]',
    ),
    expect: ['x/a x/b => all', 'y/a x/b => none'],
  },
  {
    name: 'named port resolves on the destination pod, with its protocol',
    policies: np('x', 'podSelector: {}\npolicyTypes: [Egress]\negress: [{ports: [{port: http}]}]'),
    // x/a's "http" is TCP 8080; x/b's is TCP 5432; y/b's "http" is SCTP (protocol mismatch); y/a has none
    expect: ['x/b x/a => TCP 8080', 'x/a x/b => TCP 5432', 'x/a y/b => none', 'x/a y/a => none'],
  },
  {
    name: 'named port with protocol UDP',
    policies: np(
      'x',
      'podSelector: {matchLabels: {app: web}}\ningress: [{ports: [{port: dns, protocol: UDP}, {port: http, protocol: UDP}]}]',
    ),
    expect: ['y/a x/a => UDP 53'],
  },
  {
    name: 'endPort range, protocol without port, SCTP apart',
    policies: np(
      'x',
      'podSelector: {}\ningress: [{ports: [{port: 8000, endPort: 8080}, {protocol: UDP}, {protocol: SCTP, port: 9000}]}]',
    ),
    expect: ['y/a x/a => TCP 8000-8080; UDP 1-65535; SCTP 9000'],
  },
  {
    name: 'policies add up',
    policies:
      np('x', 'podSelector: {}\ningress: [{ports: [{port: 80}]}]') +
      np('x', 'podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: 81}]}]'),
    expect: ['y/a x/a => TCP 80', 'y/a x/b => TCP 80-81'],
  },
  {
    name: 'egress at the source AND ingress at the destination',
    policies:
      np(
        'x',
        'podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\negress: [{ports: [{port: 80}, {port: 443}]}]',
      ) +
      np(
        'x',
        'podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: 443}, {port: 8443}]}]',
      ),
    expect: ['x/a x/b => TCP 443', 'x/a y/a => TCP 80,443', 'y/a x/b => TCP 443,8443'],
  },
  {
    name: 'ANP Deny over NetworkPolicy allow-all; Allow over default deny; Pass to NetworkPolicy',
    policies:
      np('x', 'podSelector: {}\ningress: []') +
      `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: red}}}
  ingress:
  - {name: pass-db, action: Pass, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}], ports: [{portNumber: {port: 80, protocol: TCP}}]}
  - {name: allow-blue, action: Allow, from: [{namespaces: {matchLabels: {team: blue}}}], ports: [{portRange: {protocol: TCP, start: 1, end: 1000}}]}
`,
    expect: ['y/a x/a => TCP 1-1000', 'y/b x/a => TCP 1-79,81-1000', 'x/b x/a => none'],
  },
  {
    name: 'BANP applies only where no NetworkPolicy isolates',
    policies:
      np('y', 'podSelector: {matchLabels: {app: db}}\ningress: [{ports: [{port: 5432}]}]') +
      `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: allow-dns, action: Allow, from: [{namespaces: {}}], ports: [{namedPort: dns}]}
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
`,
    expect: ['y/a x/a => UDP 53', 'x/a y/b => TCP 5432', 'x/a y/a => none'],
  },
];

describe('NetworkPolicy and AdminNetworkPolicy semantics', () => {
  for (const c of cases) {
    it(c.name, () => {
      const w = world(c.policies);
      expect(w.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      for (const e of c.expect) {
        const [pair, want] = e.split(' => ') as [string, string];
        const [from, to] = pair.split(' ') as [string, string];
        expect(`${pair} => ${reach(w, from, to)}`).toBe(`${pair} => ${want}`);
      }
    });
  }
});

describe('diagnostics', () => {
  const cases: [string, string, string, string][] = [
    [
      'lower-case protocol',
      np('x', 'podSelector: {}\ningress: [{ports: [{port: 80, protocol: tcp}]}]'),
      'k8s-invalid-protocol',
      'spec.ingress[0].ports[0].protocol',
    ],
    [
      'except outside cidr',
      np(
        'x',
        'podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]',
      ),
      'k8s-invalid-cidr',
      'spec.ingress[0].from[0].ipBlock.except[0]',
    ],
    [
      'ipBlock with a selector',
      np(
        'x',
        'podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]',
      ),
      'k8s-invalid-value',
      'spec.ingress[0].from[0].ipBlock',
    ],
    [
      'endPort on a named port',
      np('x', 'podSelector: {}\ningress: [{ports: [{port: http, endPort: 90}]}]'),
      'k8s-invalid-value',
      'spec.ingress[0].ports[0].endPort',
    ],
    [
      'endPort below port',
      np('x', 'podSelector: {}\ningress: [{ports: [{port: 90, endPort: 80}]}]'),
      'k8s-invalid-port',
      'spec.ingress[0].ports[0].endPort',
    ],
    [
      'quoted number port',
      np('x', 'podSelector: {}\ningress: [{ports: [{port: "80"}]}]'),
      'k8s-invalid-port',
      'spec.ingress[0].ports[0].port',
    ],
    [
      'bad policyType',
      np('x', 'podSelector: {}\npolicyTypes: [ingress]'),
      'k8s-invalid-value',
      'spec.policyTypes[0]',
    ],
    [
      'bad selector operator',
      np('x', 'podSelector: {matchExpressions: [{key: a, operator: Has}]}'),
      'k8s-invalid-selector',
      'spec.podSelector.matchExpressions[0].operator',
    ],
    [
      'bad cidr',
      np('x', 'podSelector: {}\negress: [{to: [{ipBlock: {cidr: 10.0.0.300/8}}]}]'),
      'k8s-invalid-cidr',
      'spec.egress[0].to[0].ipBlock.cidr',
    ],
    [
      'ANP priority out of range',
      '---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1001, subject: {namespaces: {}}}\n',
      'k8s-invalid-value',
      'spec.priority',
    ],
    [
      'BANP not named default',
      '---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec: {subject: {namespaces: {}}}\n',
      'k8s-invalid-name',
      'metadata.name',
    ],
    [
      'ANP namespace set with two forms',
      '---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {sameLabels: [team], self: true}}]}]}\n',
      'k8s-invalid-value',
      'spec.ingress[0].from[0].namespaces',
    ],
    [
      'ANP networks in an ingress rule',
      '---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]}\n',
      'k8s-invalid-value',
      'spec.ingress[0].from[0].networks',
    ],
    [
      'ANP network that is neither IPv4 nor IPv6',
      '---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Allow, to: [{networks: [zc00::/8]}]}]}\n',
      'k8s-invalid-cidr',
      'spec.egress[0].to[0].networks[0]',
    ],
  ];
  it.each(cases)('%s', (_name, yaml, code, field) => {
    // One validation: the decoder's, as the objects are read (the world adds none of its own).
    const { sources, diagnostics } = loadYaml(BASE + yaml, 'c.yaml');
    const errors = diagnostics.filter((x) => x.severity === 'error');
    expect(errors.map((x) => `${x.code} ${x.field}`)).toEqual([`${code} ${field}`]);
    expect(errors[0]!.file).toBe('c.yaml');
    expect(errors[0]!.document).toBeGreaterThan(4);
    expect(buildPolicyWorld(sources).diagnostics.filter((x) => x.severity !== 'info')).toEqual([]);
  });

  it('hints at upper-case protocols', () => {
    const w = worldFromYaml(
      BASE + np('x', 'podSelector: {}\ningress: [{ports: [{port: 80, protocol: tcp}]}]'),
    );
    expect(w.diagnostics.find((d) => d.severity === 'error')!.hint).toBe(
      'write it in capitals: TCP',
    );
  });

  it('warns about ANP priority ties and orders them by name', () => {
    const anp = (name: string, action: string) =>
      `---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: ${name}}\nspec: {priority: 3, subject: {namespaces: {}}, ingress: [{action: ${action}, from: [{namespaces: {}}]}]}\n`;
    const w = world(anp('zeta', 'Allow') + anp('alpha', 'Deny'));
    expect(w.admin.map((a) => a.name)).toEqual(['alpha', 'zeta']);
    expect(w.diagnostics.map((d) => d.code)).toContain('anp-priority-tie');
    expect(reach(w, 'x/a', 'y/a')).toBe('none');
  });

  it('assumes a missing Namespace with its name label, and keeps host-network pods, marked', () => {
    const w = buildPolicyWorld(
      sourcesFromYaml(
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: lone}\nspec: {containers: [{name: c}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: h, namespace: lone}\nspec: {hostNetwork: true, containers: [{name: c}]}\n',
      ),
    );
    expect(w.pods.map((p) => `${p.key}${p.hostNetwork ? ' host' : ''}`)).toEqual([
      'lone/h host',
      'lone/p',
    ]);
    expect(w.namespaces.get('lone')).toEqual({ 'kubernetes.io/metadata.name': 'lone' });
    expect(w.diagnostics.map((d) => d.code)).toEqual(['policy-implicit-namespace']);
  });
});

describe('hostNetwork pods: the node address, never selected, matched only by ipBlock', () => {
  // Nodes n1 (192.168.1.10) and n2 (192.168.1.11); web and db on n1, agent-1 (hostNetwork) on n1,
  // agent-2 (hostNetwork) on n2. web admits pods of its namespace and 192.168.1.11/32 on TCP/80;
  // a deny-all policy in the agents' namespace would isolate them, were they selectable.
  const pod = (name: string, ns: string, node: string, ip: string, host = false) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {app: ${name}}}
spec: {nodeName: ${node}, ${host ? 'hostNetwork: true, ' : ''}containers: [{name: c}]}
status: {podIP: ${ip}}
`;
  const W = `apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: sys}
${pod('web', 'app', 'n1', '10.244.1.5')}${pod('db', 'app', 'n1', '10.244.1.6')}${pod('agent-1', 'sys', 'n1', '192.168.1.10', true)}${pod('agent-2', 'sys', 'n2', '192.168.1.11', true)}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {}}, {namespaceSelector: {}}]
    ports: [{port: 443}]
  - from: [{ipBlock: {cidr: 192.168.1.11/32}}]
    ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: sys}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`;
  const w = worldFromYaml(W);
  const m = computeMatrix(w);
  const cell = (a: string, b: string) => m.allowed(m.indexOf(a)!, m.indexOf(b)!).key;
  const ALL = 'TCP 1-65535; UDP 1-65535; SCTP 1-65535';
  it.each([
    // Same node: the node's own traffic, which web's ingress policy does not restrict.
    ['sys/agent-1', 'app/web', ALL],
    // Another node's hostNetwork pod: only the ipBlock of its node's address admits it.
    ['sys/agent-2', 'app/web', 'TCP 80'],
    // A pod-network pod of any namespace: the selectors (TCP/443).
    ['app/db', 'app/web', 'TCP 443'],
    // deny-all in sys selects no hostNetwork pod: neither their ingress nor their egress is isolated.
    ['app/web', 'sys/agent-2', ALL],
    ['sys/agent-2', 'sys/agent-1', ALL],
  ])('%s -> %s: %s', (from, to, want) => {
    expect(cell(from, to)).toBe(want);
    const pair = evaluatePair(w, m.endpoints[m.indexOf(from)!]!, m.endpoints[m.indexOf(to)!]!);
    expect(pair.allowed.key).toBe(want);
  });

  it('the grouped matrix agrees with the pair evaluator on every pair', () => {
    for (const a of m.endpoints)
      for (const b of m.endpoints)
        expect(`${a.key} -> ${b.key}: ${cell(a.key, b.key)}`).toBe(
          `${a.key} -> ${b.key}: ${evaluatePair(w, a, b).allowed.key}`,
        );
  });
});
