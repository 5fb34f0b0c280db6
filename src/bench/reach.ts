/**
 * Benchmark: the full reachability matrix of a large cluster.
 *
 * A seeded generator builds 5,000 pods in 100 namespaces and 1,000
 * NetworkPolicies of the kinds real clusters carry (default deny, allow from
 * the same app, from labelled namespaces, DNS egress to kube-system,
 * internet egress via ipBlock with except, database CIDRs, named ports,
 * port ranges, matchExpressions), plus a few AdminNetworkPolicies and the
 * baseline. Every pod carries a unique pod-name label (as StatefulSet pods
 * do), so grouping has to come from what the policies can tell apart, not
 * from identical labels. The timing covers building the policy world,
 * computing the grouped matrix, and reading every one of the 25 million
 * pod-to-pod cells back out.
 */
import { computeMatrix, portMask } from '../policy/matrix.js';
import { type SourceObject } from '../policy/model.js';
import { buildPolicyWorld } from '../policy/world.js';
import { prng } from './prng.js';

export interface ReachBenchResult {
  readonly pods: number;
  readonly namespaces: number;
  readonly policies: number;
  readonly adminPolicies: number;
  readonly groups: number;
  readonly externals: number;
  /** Pod pairs allowed on TCP/8080 (a checksum of the whole matrix). */
  readonly allowedOn8080: number;
  readonly ms: number;
}

const TEAMS = [
  'payments',
  'search',
  'identity',
  'data',
  'infra',
  'web',
  'mobile',
  'ml',
  'ads',
  'ops',
];
const TIERS = ['web', 'api', 'db'];

/** The spec of the benchmark's NetworkPolicy of shape `kind` (0: default deny; 1-7: the mixes below). */
function policySpec(
  kind: number,
  app: string,
  rnd: () => number,
  nNs: number,
  stride: number,
): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let spec: Record<string, unknown>;
  switch (kind) {
    case 0: // default deny ingress in every namespace
      spec = { podSelector: {}, policyTypes: ['Ingress'] };
      break;
    case 1: // allow from the same app
      spec = {
        podSelector: { matchLabels: { app } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app } } }] }],
      };
      break;
    case 2: // allow web from namespaces of a team, on the named http port
      spec = {
        podSelector: { matchLabels: { tier: 'web' } },
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { team: pick(TEAMS) } } }],
            ports: [{ port: 'http' }],
          },
        ],
      };
      break;
    case 3: // egress: DNS to kube-system, the internet, and the app's own namespace
      spec = {
        podSelector: { matchLabels: { app } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
                },
              },
            ],
            ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }],
          },
          {
            to: [
              {
                ipBlock: {
                  cidr: '0.0.0.0/0',
                  except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
                },
              },
            ],
            ports: [{ port: 443 }],
          },
          { to: [{ podSelector: {} }] },
        ],
      };
      break;
    case 4: // api and db tiers from prod namespaces' api pods, port range
      spec = {
        podSelector: {
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'db'] }],
        },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { env: 'prod' } },
                podSelector: { matchLabels: { tier: 'api' } },
              },
            ],
            ports: [{ port: 8000, endPort: 8100 }, { port: 5432 }],
          },
        ],
      };
      break;
    case 5: // metrics scraping from the monitoring namespace's pods
      spec = {
        podSelector: {},
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: 'ops' } },
                podSelector: { matchLabels: { app: 'app-0' } },
              },
            ],
            ports: [{ port: 'metrics' }],
          },
        ],
      };
      break;
    default: {
      // databases reachable from a peer namespace's pod range
      const peer = Math.floor(rnd() * nNs);
      spec = {
        podSelector: { matchLabels: { tier: 'db' } },
        ingress: [
          {
            from: [{ ipBlock: { cidr: `${dotted(POD_BASE + peer * stride)}/24` } }],
            ports: [{ port: 5432 }],
          },
        ],
      };
    }
  }
  return spec;
}

/** The admin policies every benchmark cluster carries, one of each action and the baseline. */
function adminPolicies(): unknown[] {
  const anp = (name: string, priority: number, spec: Record<string, unknown>) => ({
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata: { name },
    spec: { priority, ...spec },
  });
  return [
    anp('allow-kube-system', 1, {
      subject: { namespaces: {} },
      egress: [
        {
          name: 'dns',
          action: 'Allow',
          to: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
          ports: [{ namedPort: 'dns' }],
        },
      ],
    }),
    anp('isolate-dev-from-prod', 10, {
      subject: { namespaces: { matchLabels: { env: 'prod' } } },
      ingress: [
        { name: 'no-dev', action: 'Deny', from: [{ namespaces: { matchLabels: { env: 'dev' } } }] },
      ],
    }),
    anp('pass-team-internal', 20, {
      subject: {
        namespaces: {
          matchExpressions: [{ key: 'team', operator: 'In', values: ['payments', 'identity'] }],
        },
      },
      ingress: [
        {
          name: 'team',
          action: 'Pass',
          from: [{ namespaces: { matchLabels: { team: 'payments' } } }],
          ports: [{ portRange: { protocol: 'TCP', start: 1, end: 1024 } }],
        },
      ],
    }),
    {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name: 'default' },
      spec: {
        subject: { namespaces: {} },
        ingress: [
          {
            name: 'deny-other-envs',
            action: 'Deny',
            from: [{ namespaces: { matchLabels: { env: 'staging' } } }],
          },
        ],
      },
    },
  ];
}

/** The first pod address: namespace i's pods are POD_BASE + i × stride + 1, 2, … */
const POD_BASE = 0x0a400000; // 10.64.0.0

function dotted(x: number): string {
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

/** Each namespace's address block: 1,024 addresses, or the next power of two that holds its pods. */
function addressStride(perNs: number): number {
  let stride = 1024;
  while (stride <= perNs) stride *= 2;
  return stride;
}

/**
 * The bench cluster: `namespaces` namespaces (100) of `podsPerNamespace` pods
 * (50; 1,500 gives 150,000 pods), `policies` NetworkPolicies (1,000) and the
 * admin policies. Every pod address is unique at any size.
 */
export function generateCluster(
  opts: { namespaces?: number; podsPerNamespace?: number; policies?: number; seed?: number } = {},
): SourceObject[] {
  const nNs = opts.namespaces ?? 100;
  const perNs = opts.podsPerNamespace ?? 50;
  const nPol = opts.policies ?? 1000;
  const rnd = prng(opts.seed ?? 6);
  const out: unknown[] = [];
  const stride = addressStride(perNs);
  const nsName = (i: number) => (i === 0 ? 'kube-system' : `ns-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < nNs; i++) {
    out.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: nsName(i),
        labels: {
          team: TEAMS[i % TEAMS.length]!,
          env: i % 3 === 0 ? 'prod' : i % 3 === 1 ? 'staging' : 'dev',
        },
      },
    });
    for (let j = 0; j < perNs; j++) {
      const app = `app-${j % 10}`;
      const tier = TIERS[j % 3]!;
      const name = `${app}-${tier}-${j}`;
      const ports = [
        { name: 'http', containerPort: tier === 'db' ? 5432 : 8080 },
        { name: 'metrics', containerPort: 9090 },
        ...(i === 0 && j < 5 ? [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] : []),
      ];
      out.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: nsName(i),
          labels: { app, tier, 'statefulset.kubernetes.io/pod-name': name },
        },
        spec: { containers: [{ name: 'main', ports }] },
        status: { podIP: dotted(POD_BASE + i * stride + j + 1) },
      });
    }
  }
  for (let k = 0; k < nPol; k++) {
    const i = k % nNs;
    const ns = nsName(i);
    const app = `app-${Math.floor(rnd() * 10)}`;
    const kind = k < nNs ? 0 : 1 + Math.floor(rnd() * 7);
    const spec = policySpec(kind, app, rnd, nNs, stride);
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `np-${k}`, namespace: ns },
      spec,
    });
  }
  out.push(...adminPolicies());
  return out.map((object) => ({ object }));
}

export function benchReach(): ReachBenchResult {
  const sources = generateCluster();
  const t0 = process.hrtime.bigint();
  const world = buildPolicyWorld(sources);
  const m = computeMatrix(world);
  // Read every pod-to-pod cell back out, as a renderer would.
  const mask = portMask(m, 'TCP', 8080);
  const n = world.pods.length;
  let allowed = 0;
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) allowed += mask[m.allowedId(a, b)]!;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    pods: n,
    namespaces: world.namespaces.size,
    policies: world.policies.length,
    adminPolicies: world.admin.length + (world.baseline ? 1 : 0),
    groups: m.groupCount,
    externals: m.externals.length,
    allowedOn8080: allowed,
    ms: Math.round(ms),
  };
}
