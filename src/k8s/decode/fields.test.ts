import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadDocuments } from '../load.js';
import { formatPath, lineOf, parsePath, parseYamlSlow } from '../parse.js';
import { nearestField } from './fields.js';

function unknownFields(text: string) {
  return loadDocuments([{ path: 'c.yaml', text }]).diagnostics.filter(
    (d) => d.code === 'k8s-unknown-field',
  );
}

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 8080}
`;

const CLUSTER = `apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  clusterCIDR: 10.244.0.0/16
  kubeProxy: {mode: iptables, detectLocal: {bridgeInterface: cbr0}}
  underlay: {cidr: 192.168.1.0/24}
`;

describe('unknown fields', () => {
  it.each([
    // what, text, [field, message] expected
    [
      'a Service selector typo',
      SERVICE.replace('selector:', 'selecter:'),
      [['spec.selecter', 'unknown field spec.selecter (did you mean selector?)']],
    ],
    [
      'a Service port typo',
      SERVICE.replace('targetPort', 'targetport'),
      [
        [
          'spec.ports[0].targetport',
          'unknown field spec.ports[0].targetport (did you mean targetPort?)',
        ],
      ],
    ],
    [
      'a Cluster CIDR typo',
      CLUSTER.replace('clusterCIDR:', 'clusterCIDRR:'),
      [['spec.clusterCIDRR', 'unknown field spec.clusterCIDRR (did you mean clusterCIDR?)']],
    ],
    [
      'a nested Cluster typo',
      CLUSTER.replace('bridgeInterface', 'bridgeInterfce'),
      [
        [
          'spec.kubeProxy.detectLocal.bridgeInterfce',
          'unknown field spec.kubeProxy.detectLocal.bridgeInterfce (did you mean bridgeInterface?)',
        ],
      ],
    ],
    [
      'a field with no near name',
      CLUSTER.replace('underlay:', 'frobnicate: 1\n  underlay:'),
      [['spec.frobnicate', 'unknown field spec.frobnicate']],
    ],
    [
      'an ExternalHost typo',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ExternalHost\nmetadata: {name: db}\nspec: {adress: 10.0.0.9, address: 10.0.0.9}\n',
      [['spec.adress', 'unknown field spec.adress (did you mean address?)']],
    ],
    [
      'a NetworkPolicy peer typo',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{podSelectr: {}}, {podSelector: {}}]\n',
      [
        [
          'spec.ingress[0].from[0].podSelectr',
          'unknown field spec.ingress[0].from[0].podSelectr (did you mean podSelector?)',
        ],
      ],
    ],
    [
      'a Pod networking typo',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  hostNetwrok: true\n  containers: [{name: c, ports: [{containerport: 80}]}]\n',
      [
        ['spec.hostNetwrok', 'unknown field spec.hostNetwrok (did you mean hostNetwork?)'],
        [
          'spec.containers[0].ports[0].containerport',
          'unknown field spec.containers[0].ports[0].containerport (did you mean containerPort?)',
        ],
      ],
    ],
    [
      'a Node spec typo',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {podCIRD: 10.244.1.0/24}\n',
      [['spec.podCIRD', 'unknown field spec.podCIRD (did you mean podCIDR?)']],
    ],
    [
      'an EndpointSlice endpoint typo',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: a, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nendpoints: [{addresses: [10.244.1.5], nodename: n}]\n',
      [['endpoints[0].nodename', 'unknown field endpoints[0].nodename (did you mean nodeName?)']],
    ],
    [
      'fields named as Object.prototype properties',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  constructor: 1\n  toString: 2\n  containers: [{name: c, __proto__: {}}]\n',
      [
        ['spec.constructor', 'unknown field spec.constructor'],
        ['spec.toString', 'unknown field spec.toString'],
        ['spec.containers[0].__proto__', 'unknown field spec.containers[0].__proto__'],
      ],
    ],
    [
      'a metadata typo',
      SERVICE.replace('metadata: {name: web,', 'metadata: {name: web, lables: {a: b},'),
      [['metadata.lables', 'unknown field metadata.lables (did you mean labels?)']],
    ],
  ])('%s', (_what, text, expected) => {
    const found = unknownFields(text);
    expect(found.map((d) => [d.field, d.message])).toEqual(expected);
    expect(found.every((d) => d.severity === 'warning')).toBe(true);
  });

  // A workload's pod template is read as a Pod (the stand-in pod `reach` uses),
  // so its unknown fields warn as a Pod's do, at their full path.
  const template = (kind: string, apiVersion: string, wrap: (t: string) => string): string =>
    `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: w, namespace: a}\nspec:\n${wrap(
      `template:\n  metadata: {lables: {app: w}, creationTimestamp: null}\n  spec:\n    hostNetwrok: false\n    containers: [{name: c, image: i, ports: [{containerport: 80}]}]`,
    )}`;
  const indent = (t: string, n: number): string =>
    t
      .split('\n')
      .map((l) => ' '.repeat(n) + l)
      .join('\n');
  const inSpec = (t: string): string => `  selector: {matchLabels: {app: w}}\n${indent(t, 2)}\n`;
  it.each([
    ['Deployment', 'apps/v1', inSpec, 'spec.template'],
    ['StatefulSet', 'apps/v1', inSpec, 'spec.template'],
    ['DaemonSet', 'apps/v1', inSpec, 'spec.template'],
    ['ReplicaSet', 'apps/v1', inSpec, 'spec.template'],
    ['ReplicationController', 'v1', inSpec, 'spec.template'],
    ['Job', 'batch/v1', (t: string) => `${indent(t, 2)}\n`, 'spec.template'],
    [
      'CronJob',
      'batch/v1',
      (t: string) => `  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n${indent(t, 6)}\n`,
      'spec.jobTemplate.spec.template',
    ],
  ])('a %s pod template: unknown fields warn at their path', (kind, apiVersion, wrap, at) => {
    const found = unknownFields(template(kind, apiVersion, wrap));
    expect(found.map((d) => [d.object, d.field, d.message])).toEqual([
      [
        `${kind} a/w`,
        `${at}.metadata.lables`,
        `unknown field ${at}.metadata.lables (did you mean labels?)`,
      ],
      [
        `${kind} a/w`,
        `${at}.spec.hostNetwrok`,
        `unknown field ${at}.spec.hostNetwrok (did you mean hostNetwork?)`,
      ],
      [
        `${kind} a/w`,
        `${at}.spec.containers[0].ports[0].containerport`,
        `unknown field ${at}.spec.containers[0].ports[0].containerport (did you mean containerPort?)`,
      ],
    ]);
    expect(found.every((d) => d.severity === 'warning')).toBe(true);
  });

  it.each([
    [
      'status, managedFields and fields packeteye does not read',
      `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: a
  managedFields: [{manager: kubectl, operation: Update, fieldsV1: {f:spec: {}}}]
  ownerReferences: [{kind: ReplicaSet, name: rs}]
spec:
  containers:
  - name: c
    livenessProbe: {httpGet: {path: /, port: 80}, whatever: 1}
  affinity: {nodeAffinity: {anything: {}}}
  tolerations: [{key: k, effect: NoSchedule}]
status:
  anything: here
  qosClass: BestEffort
`,
    ],
    [
      'a Service with every spec field',
      `apiVersion: v1
kind: Service
metadata: {name: s, namespace: a}
spec:
  type: LoadBalancer
  selector: {app: a}
  ports: [{name: h, port: 80, nodePort: 30080, protocol: TCP, appProtocol: http}]
  externalTrafficPolicy: Local
  internalTrafficPolicy: Cluster
  healthCheckNodePort: 31000
  sessionAffinity: None
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  allocateLoadBalancerNodePorts: true
  trafficDistribution: PreferClose
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}, conditions: []}
`,
    ],
  ])('stays silent on %s', (_what, text) => {
    expect(unknownFields(text)).toEqual([]);
  });

  it('finds none in the examples', () => {
    const dir = join(__dirname, '../../../examples');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(unknownFields(text).map((d) => `${f}: ${d.message}`)).toEqual([]);
    }
  });

  it.each([
    ['selecter', ['selector', 'sessionAffinity'], 'selector'],
    ['CLUSTERCIDR', ['clusterCIDR', 'serviceCIDR'], 'clusterCIDR'],
    ['ab', ['ac', 'xy'], undefined],
    ['frobnicate', ['selector'], undefined],
  ])('nearestField(%s)', (name, known, want) => {
    expect(nearestField(name, known)).toBe(want);
  });
});

describe('unknown fields at random places in a pod, in YAML and JSON', () => {
  // Where a field can be added, and the levels the check knows (every unknown one is found).
  const places = [
    [],
    ['metadata'],
    ['spec'],
    ['spec', 'containers', 0],
    ['spec', 'containers', 1],
    ['spec', 'containers', 0, 'ports', 0],
    ['spec', 'containers', 1, 'ports', 1],
    ['spec', 'initContainers', 0],
  ] as const;
  const pod = () => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'a', labels: { app: 'x' } },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'a', image: 'i', ports: [{ containerPort: 80, name: 'http' }] },
        { name: 'b', ports: [{ containerPort: 81 }, { containerPort: 82, protocol: 'UDP' }] },
      ],
      initContainers: [{ name: 'init' }],
    },
    status: { podIP: '10.0.0.5', extra: { anything: 1 } },
  });
  it('each is warned about, at its own path and line', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(places.length - 1), fc.stringMatching(/^[a-z][a-zA-Z]{0,8}X$/)), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.boolean(),
        (adds, json) => {
          const obj = pod() as Record<string, unknown>;
          const want = new Set<string>();
          for (const [k, name] of adds) {
            let at = obj as Record<string | number, unknown>;
            for (const seg of places[k]!) at = at[seg] as Record<string | number, unknown>;
            at[name] = { nested: [1, 2] };
            want.add(formatPath([...places[k]!, name]));
          }
          const text = json ? JSON.stringify(obj, null, 2) : stringify(obj);
          const got = unknownFields(text);
          expect(got.map((d) => d.field).sort()).toEqual([...want].sort());
          const tree = parseYamlSlow('c.yaml', text).documents[0]!.source;
          for (const d of got) expect(d.line).toBe(lineOf(tree, parsePath(d.field!)));
        },
      ),
      { numRuns: 150, seed: 41 },
    );
  });
});

describe('unknown fields: objects of one kind listing their fields in any order', () => {
  const KNOWN_SPEC = ['containers', 'nodeName', 'hostname', 'subdomain', 'schedulerName'];
  const UNKNOWN_SPEC = ['nodename', 'bogus', 'constructor', 'toString'];
  const KNOWN_PORT = ['containerPort', 'name', 'protocol'];
  const UNKNOWN_PORT = ['port', 'hostport', 'valueOf'];
  const value = (k: string): unknown =>
    k === 'containerPort' ? 80 : k === 'protocol' ? 'TCP' : k === 'name' ? 'http' : 'x';

  it('each object is warned of exactly its own unknown fields, whatever the objects before it listed', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            spec: fc.shuffledSubarray([...KNOWN_SPEC, ...UNKNOWN_SPEC]),
            port: fc.shuffledSubarray([...KNOWN_PORT, ...UNKNOWN_PORT]),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (pods) => {
          const expected: string[] = [];
          const items = pods.map((p, i) => {
            const port = Object.fromEntries(p.port.map((k) => [k, value(k)]));
            const spec = Object.fromEntries(
              p.spec.map((k) => [k, k === 'containers' ? [{ name: 'c', ports: [port] }] : 'x']),
            );
            for (const k of p.spec) {
              if (UNKNOWN_SPEC.includes(k)) expected.push(`Pod p${i} spec.${k}`);
              if (k === 'containers')
                for (const q of p.port)
                  if (UNKNOWN_PORT.includes(q))
                    expected.push(`Pod p${i} spec.containers[0].ports[0].${q}`);
            }
            return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}` }, spec };
          });
          const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
          expect(unknownFields(text).map((d) => `${d.object} ${d.field}`)).toEqual(expected);
        },
      ),
      { numRuns: 200, seed: 17 },
    );
  });
});
