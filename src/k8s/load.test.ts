import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { formatDiagnostic, type Diagnostic } from '../diag.js';
import { loadDocuments, locate, workloadPods } from './load.js';
import { objectRef } from './types.js';
import { nsName } from './model.js';

function load(text: string, path = 'c.yaml') {
  return loadDocuments([{ path, text }]);
}

/** Diagnostics as `formatDiagnostic` prints them, without hints. */
function lines(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => formatDiagnostic({ ...d, hint: undefined }));
}

const POD = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: n1
  containers:
  - name: c
${extra}`;

describe("loadDocuments: a loaded object's source", () => {
  const POD =
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n';

  it('is found by the object itself, invisible to its keys and comparisons; a copy has none', () => {
    const lo = load(POD).objects[0]!;
    const copy = { ...lo, object: { ...lo.object } };
    expect(Reflect.ownKeys(lo.object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(copy.object).toEqual(lo.object);
    expect(JSON.stringify(copy.object)).toBe(JSON.stringify(lo.object));
    // The field's own line for the loaded object; the object's line for a copy (as a WeakMap keyed by the object).
    expect(locate(lo, 'spec.containers[0].name').line).toBe(7);
    expect(locate(copy, 'spec.containers[0].name').line).toBe(1);
    expect(locate({ object: lo.object, origin: { ...lo.origin } }, 'spec').line).toBe(5);
  });
});

describe('loadDocuments: the items of a JSON List read item by item have their own lines', () => {
  const pod = (name: string, port = 'http') => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns' },
    spec: { containers: [{ name: `c-${name}`, ports: [{ containerPort: 80, name: port }] }] },
  });
  // As kubectl writes it: one field a line, so that each field has its own.
  const text = JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        pod('a'),
        pod('b', 'Bad_Port'),
        { apiVersion: 'v1', kind: 'List', items: [pod('d')] },
        pod('e'),
      ],
    },
    null,
    2,
  );
  const lineOfText = (s: string) => text.slice(0, text.indexOf(s)).split('\n').length;
  const r = load(text, 'l.json');
  it.each(['a', 'b', 'd', 'e'])(
    'pod %s: a field is found on its line, asked for during decoding or after',
    (name) => {
      const lo = r.objects.find((o) => o.object.metadata.name === name)!;
      expect(locate(lo, 'spec.containers[0].name').line).toBe(lineOfText(`"c-${name}"`));
      expect(locate(lo, 'metadata').line).toBe(lineOfText(`"name": "${name}"`) - 1);
    },
  );
  it("a decoder's diagnostic names its field's line", () => {
    expect(r.diagnostics.map((d) => [d.code, d.object, d.line])).toEqual([
      ['k8s-invalid-port', 'Pod ns/b', lineOfText('"Bad_Port"')],
    ]);
  });
});

describe('loadDocuments: empty inputs', () => {
  it.each([
    ['nothing', '', true],
    ['blank lines', '\n \n\t\r\n', true],
    ['comments and separators', '# a\n---\n  # b\n---   \n', true],
    ['no final newline', '# a\n---', true],
    ['content on the last line', '# a\n---\nkind: Namespace', false],
    ['content on the first line', 'kind: Namespace\n', false],
    ['a marker with content', '--- {kind: Namespace}\n', false],
    ['JSON', '{}', false],
  ])('%s', (_name, text, empty) => {
    const codes = load(text).diagnostics.map((d) => d.code);
    expect(codes.includes('k8s-empty-input')).toBe(empty);
  });
});

describe('loadDocuments: documents and lists', () => {
  it('reads every --- document, skipping empty ones, with 1-based document and line', () => {
    const r = load(`# header comment\n${POD('a')}---\n---\n${POD('b')}\n---\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects.map((o) => [objectRef(o.object), o.origin])).toEqual([
      ['Pod a', { file: 'c.yaml', document: 1, line: 2 }],
      ['Pod b', { file: 'c.yaml', document: 3, line: 12 }],
    ]);
  });

  it('expands kind: List, keeping each item its own line and index', () => {
    const r = load(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: shop}
- apiVersion: v1
  kind: Node
  metadata: {name: n1}
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects.map((o) => [objectRef(o.object), o.origin])).toEqual([
      ['Namespace shop', { file: 'c.yaml', document: 1, line: 4, item: 0 }],
      ['Node n1', { file: 'c.yaml', document: 1, line: 7, item: 1 }],
    ]);
  });

  it('gives *List items the list kind and apiVersion when they have none, as the API returns them', () => {
    const r = load(`apiVersion: v1
kind: PodList
items:
- metadata: {name: a, namespace: x}
  spec: {containers: [{name: c}], nodeName: n1}
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects[0]!.object).toMatchObject({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'a', namespace: 'x' },
    });
  });

  it('reads JSON, a single object or a List', () => {
    const r = load(
      JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'List',
          items: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }],
        },
        null,
        '\t',
      ),
      'c.json',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.objects.map((o) => objectRef(o.object))).toEqual(['Node n1']);
  });

  it('reads a kubectl get -A -o yaml dump, noise and all', () => {
    const text = readFileSync('test/fixtures/k8s/kubectl-get-all.yaml', 'utf8');
    const r = load(text, 'dump.yaml');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.objects.map((o) => objectRef(o.object))).toEqual([
      'Namespace default',
      'Namespace kube-system',
      'Namespace shop',
      'Node kind-control-plane',
      'Node kind-worker',
      'Pod kube-system/coredns-6f6b679f8f-7xkqz',
      'Pod kube-system/coredns-6f6b679f8f-r2b9d',
      'Pod kube-system/kube-proxy-4hx2m',
      'Pod shop/web-7d4b9c8f6d-bq5tw',
      'Pod shop/web-7d4b9c8f6d-zz8kp',
      'Pod shop/migrate-db-x7d2k',
      'Service default/kubernetes',
      'Service kube-system/kube-dns',
      'Service shop/web',
      'EndpointSlice kube-system/kube-dns-mirrored-0',
      'EndpointSlice kube-system/kube-dns-5m8qh',
      'EndpointSlice default/kubernetes',
    ]);
    // Noise is dropped, what networking needs is kept.
    const pod = r.objects[5]!.object;
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'coredns-6f6b679f8f-7xkqz',
        namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '6f6b679f8f' },
        uid: 'c0ffee00-1111-4222-8333-444455556666',
        resourceVersion: '612',
      },
      spec: {
        nodeName: 'kind-control-plane',
        dnsPolicy: 'Default',
        containers: [
          {
            name: 'coredns',
            image: 'registry.k8s.io/coredns/coredns:v1.11.1',
            ports: [
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
            ],
          },
        ],
      },
      status: {
        podIP: '10.244.0.2',
        podIPs: [{ ip: '10.244.0.2' }],
        hostIP: '172.18.0.3',
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
      },
    });
    // The workloads are kept for `reach`; their pods are in the dump, so none needs a stand-in.
    expect(r.workloads.map((w) => `${w.workload.kind} ${w.workload.metadata.name}`)).toEqual([
      'DaemonSet kube-proxy',
      'Deployment web',
    ]);
    expect(workloadPods(r).map((w) => w.pod.object.metadata.name)).toEqual([]);
    expect(lines(r.diagnostics)).toEqual([
      'dump.yaml:741: document 1: ConfigMap kube-system/coredns: info: ConfigMap ignored: it does not affect the data plane (and 1 more in this file) [k8s-ignored-kind]',
      'dump.yaml:780: document 1: ServiceAccount shop/default: info: ServiceAccount ignored: it does not affect the data plane [k8s-ignored-kind]',
    ]);
  });

  it('leaves out a workload it cannot read, with a warning (only reach needs workloads)', () => {
    const r = load('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n');
    expect(lines(r.diagnostics)).toEqual([
      'c.yaml:1: document 1: Deployment default/web: field spec: warning: spec is required; the Deployment is left out [k8s-required]',
    ]);
    expect(r.workloads).toEqual([]);
  });

  it.each([
    [
      'a Deployment',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web, tier: fe}}\n    spec:\n      containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 8080}]}]\n',
      { name: 'web[Deployment]', namespace: 'shop', labels: { app: 'web', tier: 'fe' } },
    ],
    [
      'a CronJob (its job template)',
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec:\n  schedule: "@daily"\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: backup}}\n        spec: {restartPolicy: Never, containers: [{name: b, image: busybox}]}\n',
      { name: 'backup[CronJob]', namespace: 'default', labels: { app: 'backup' } },
    ],
    [
      'a ReplicationController (map selector)',
      'apiVersion: v1\nkind: ReplicationController\nmetadata: {name: old}\nspec:\n  selector: {app: old}\n  template:\n    metadata: {labels: {app: old}}\n    spec: {containers: [{name: c, image: x}]}\n',
      { name: 'old[ReplicationController]', namespace: 'default', labels: { app: 'old' } },
    ],
  ])('a workload without pods stands as one pod from its template: %s', (_n, text, meta) => {
    const r = load(text);
    expect(r.diagnostics).toEqual([]);
    const [w] = workloadPods(r);
    const { annotations, ...rest } = w!.pod.object.metadata;
    expect(rest).toEqual(meta);
    expect(annotations).toEqual({
      'packeteye.dev/stand-in-for': `${w!.workload.workload.kind} ${meta.namespace}/${w!.workload.workload.metadata.name}`,
    });
  });

  it('a workload whose pods are in the input needs no stand-in; one in another namespace does', () => {
    const deploy = (ns: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ${ns}}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x}]}\n`;
    const pod =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: web-5d8f-abcde, namespace: a, labels: {app: web, pod-template-hash: 5d8f}}\nspec: {nodeName: n, containers: [{name: c, image: x}]}\n';
    const r = load([deploy('a'), deploy('b'), pod].join('---\n'));
    expect(workloadPods(r).map((w) => nsName(w.pod.object))).toEqual(['b/web[Deployment]']);
  });

  it("a ReplicaSet owned by a Deployment in the input is the Deployment's: one stand-in", () => {
    const tmpl =
      'spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x}]}\n';
    const r = load(
      [
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n${tmpl}`,
        `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-5d8f, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u}]}\n${tmpl}`,
      ].join('---\n'),
    );
    expect(workloadPods(r).map((w) => nsName(w.pod.object))).toEqual(['default/web[Deployment]']);
  });

  it('a bad field in a template points into the template', () => {
    const r = load(
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      containers: [{name: c, image: x, ports: [{containerPort: 99999}]}]\n',
    );
    expect(lines(r.diagnostics)).toEqual([
      'c.yaml:9: document 1: StatefulSet default/db: field spec.template.spec.containers[0].ports[0].containerPort: warning: port 99999 is outside 1–65535; the StatefulSet is left out [k8s-invalid-port]',
    ]);
  });

  it('reports unknown kinds once per file and kind, with a count', () => {
    const r = load(
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: b}\n',
    );
    expect(lines(r.diagnostics)).toEqual([
      'c.yaml:1: document 1: Widget a: warning: example.com/v1 Widget is not modelled by packeteye and is ignored (and 1 more in this file) [k8s-unknown-kind]',
    ]);
  });

  it('keeps AdminNetworkPolicy and BaselineAdminNetworkPolicy', () => {
    const r = load(`apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-shop}
spec:
  priority: 10
  subject:
    namespaces: {matchLabels: {team: shop}}
  ingress:
  - name: deny-all
    action: Deny
    from:
    - namespaces: {}
    ports:
    - portNumber: {protocol: TCP, port: 80}
  egress:
  - action: Allow
    to:
    - networks: [10.0.0.0/8]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject:
    pods:
      namespaceSelector: {}
      podSelector: {matchLabels: {app: db}}
  ingress:
  - action: Deny
    from:
    - pods: {namespaceSelector: {}, podSelector: {}}
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects.map((o) => o.object)).toEqual([
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'AdminNetworkPolicy',
        metadata: { name: 'deny-shop' },
        spec: {
          priority: 10,
          subject: { namespaces: { matchLabels: { team: 'shop' } } },
          ingress: [
            {
              name: 'deny-all',
              action: 'Deny',
              from: [{ namespaces: {} }],
              ports: [{ portNumber: { protocol: 'TCP', port: 80 } }],
            },
          ],
          egress: [{ action: 'Allow', to: [{ networks: ['10.0.0.0/8'] }] }],
        },
      },
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'BaselineAdminNetworkPolicy',
        metadata: { name: 'default' },
        spec: {
          subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } } },
          ingress: [
            { action: 'Deny', from: [{ pods: { namespaceSelector: {}, podSelector: {} } }] },
          ],
        },
      },
    ]);
  });

  it('mirrors legacy Endpoints into an EndpointSlice marked as mirrored', () => {
    const r = load(`apiVersion: v1
kind: Endpoints
metadata: {name: ext, namespace: default}
subsets:
- addresses: [{ip: 192.0.2.10}]
  notReadyAddresses: [{ip: 192.0.2.11}]
  ports: [{name: pg, port: 5432}]
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects[0]!.object).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'ext-mirrored-0',
        namespace: 'default',
        labels: {
          'kubernetes.io/service-name': 'ext',
          'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
        },
        annotations: { 'packeteye.dev/mirrored-from-endpoints': 'Endpoints default/ext' },
      },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['192.0.2.10'], conditions: { ready: true } },
        { addresses: ['192.0.2.11'], conditions: { ready: false } },
      ],
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    });
  });

  it('honours YAML merge keys, as kubectl does', () => {
    const r = load(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec: &spec
    nodeName: n1
    containers: [{name: c}]
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec:
    <<: *spec
    nodeName: n2
`);
    expect(r.diagnostics).toEqual([]);
    expect(
      r.objects.map((o) => (o.object as { spec: { nodeName?: string } }).spec.nodeName),
    ).toEqual(['n1', 'n2']);
  });

  it('locate() names the line of a field', () => {
    const r = load(POD('a', '    ports:\n    - containerPort: 80\n'));
    expect(locate(r.objects[0]!, 'spec.containers[0].ports[0].containerPort')).toEqual({
      file: 'c.yaml',
      line: 10,
      document: 1,
      object: 'Pod a',
      field: 'spec.containers[0].ports[0].containerPort',
    });
  });
});

describe('loadDocuments: malformed input', () => {
  const cases: [string, string, string, string[]][] = [
    [
      'bad YAML indentation',
      'c.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n labels: {}\n',
      [
        'c.yaml:5:1: document 1: error: malformed YAML: All mapping items must start at the same column [k8s-parse]',
      ],
    ],
    [
      'unclosed flow sequence',
      'c.yaml',
      'kind: Node\napiVersion: v1\nmetadata: {name: [a\n',
      [
        'c.yaml:4:1: document 1: error: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ] [k8s-parse]',
        'c.yaml:4:1: document 1: error: malformed YAML: Flow map in block collection must be sufficiently indented and end with a } [k8s-parse]',
      ],
    ],
    [
      'duplicate key',
      'c.yaml',
      'kind: Node\nkind: Pod\n',
      ['c.yaml:2:1: document 1: error: malformed YAML: Map keys must be unique [k8s-parse]'],
    ],
    [
      'bad JSON',
      'c.json',
      '{"kind": "Pod",\n "apiVersion": "v1" "x": 1}',
      ["c.json:2:21: error: malformed JSON: Expected ',' or '}' after property value [k8s-parse]"],
    ],
    [
      'a scalar document',
      'c.yaml',
      'just text\n',
      [
        'c.yaml:1: document 1: error: expected a Kubernetes object (a mapping with apiVersion and kind), found a string [k8s-not-an-object]',
      ],
    ],
    [
      'no kind',
      'c.yaml',
      'apiVersion: v1\nmetadata: {name: a}\n',
      ['c.yaml:1: document 1: ? a: field kind: error: document has no kind [k8s-missing-kind]'],
    ],
  ];
  it.each(cases)('%s', (_name, path, text, want) => {
    const r = load(text, path);
    expect(lines(r.diagnostics)).toEqual(want);
    expect(r.objects).toEqual([]);
  });

  it('keeps the good documents of a file with a bad one', () => {
    const r = load(`${POD('a')}---\nfoo: [\n---\n${POD('b')}`);
    expect(r.objects.map((o) => objectRef(o.object))).toEqual(['Pod a', 'Pod b']);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['k8s-parse']);
  });
});

describe('loadDocuments: field validation', () => {
  // Each case: a document, and exactly the diagnostics it gives.
  const cases: [string, string, string[]][] = [
    [
      'container port out of range',
      POD('a', '    ports:\n    - containerPort: 70000\n'),
      [
        'c.yaml:10: document 1: Pod a: field spec.containers[0].ports[0].containerPort: error: port 70000 is outside 1–65535 [k8s-invalid-port]',
      ],
    ],
    [
      'protocol in lower case',
      POD('a', '    ports:\n    - containerPort: 80\n      protocol: tcp\n'),
      [
        'c.yaml:11: document 1: Pod a: field spec.containers[0].ports[0].protocol: error: protocol "tcp" is not TCP, UDP or SCTP [k8s-invalid-protocol]',
      ],
    ],
    [
      'bad pod IP',
      POD('a', 'status:\n  podIP: 10.244.1.300\n'),
      [
        'c.yaml:10: document 1: Pod a: field status.podIP: error: "10.244.1.300" is not an IPv4 address [k8s-invalid-ip]',
      ],
    ],
    [
      'IPv6 pod IP is ignored',
      POD('a', 'status:\n  podIP: fd00::5\n'),
      [
        'c.yaml:10: document 1: Pod a: field status.podIP: warning: IPv6 address fd00::5 ignored: packeteye models IPv4 only [k8s-ipv6-ignored]',
      ],
    ],
    [
      'no containers',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {nodeName: n1}\n',
      [
        'c.yaml:4: document 1: Pod a: field spec.containers: warning: pod has no containers; read as a pod with no container ports [k8s-pod-no-containers]',
      ],
    ],
    [
      'no name',
      'apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\nspec: {containers: [{name: c}]}\n',
      ['c.yaml:3: document 1: field metadata.name: error: Pod has no metadata.name [k8s-required]'],
    ],
    [
      'upper-case name',
      'apiVersion: v1\nkind: Node\nmetadata: {name: Node1}\n',
      [
        'c.yaml:3: document 1: Node Node1: field metadata.name: warning: name "Node1" is not a DNS-1123 subdomain (lower-case letters, digits, "-" and "."); read as written [k8s-invalid-name]',
      ],
    ],
    [
      'node podCIDR with host bits',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec:\n  podCIDR: 10.244.1.5/24\n',
      [
        'c.yaml:5: document 1: Node n1: field spec.podCIDR: error: 10.244.1.5/24 has host bits set; the network is 10.244.1.0/24 [k8s-invalid-cidr]',
      ],
    ],
    [
      'node podCIDR not a CIDR',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec:\n  podCIDR: 10.244.1.0\n',
      [
        'c.yaml:5: document 1: Node n1: field spec.podCIDR: error: "10.244.1.0" is not an IPv4 CIDR [k8s-invalid-cidr]',
      ],
    ],
    [
      'service targetPort as quoted number',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 80\n    targetPort: "8080"\n',
      [
        'c.yaml:7: document 1: Service s: field spec.ports[0].targetPort: error: port "8080" is a quoted number; a string here names a container port [k8s-invalid-port]',
      ],
    ],
    [
      'service port 0',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 0\n',
      [
        'c.yaml:6: document 1: Service s: field spec.ports[0].port: error: port 0 is outside 1–65535 [k8s-invalid-port]',
        'c.yaml:5: document 1: Service s: field spec.ports: error: a Service needs at least one port (unless it is headless, clusterIP: None) [k8s-required]',
      ],
    ],
    [
      'unnamed ports in a multi-port service',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 80\n  - port: 443\n',
      [
        'c.yaml:6: document 1: Service s: field spec.ports[0].name: error: a Service with more than one port must name every port [k8s-required]',
        'c.yaml:7: document 1: Service s: field spec.ports[1].name: error: a Service with more than one port must name every port [k8s-required]',
      ],
    ],
    [
      'duplicate service port',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80, protocol: TCP}\n',
      [
        'c.yaml:7: document 1: Service s: field spec.ports[1].port: error: port 80/TCP is also declared by spec.ports[0] [k8s-duplicate]',
      ],
    ],
    [
      'service name must be a DNS-1035 label',
      'apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n',
      [
        'c.yaml:3: document 1: Service 1web: field metadata.name: warning: name "1web" is not a DNS-1035 label (at most 63 lower-case letters, digits or "-", starting with a letter); read as written [k8s-invalid-name]',
      ],
    ],
    [
      'bad service type',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: Nodeport, ports: [{port: 80}]}\n',
      [
        'c.yaml:4: document 1: Service s: field spec.type: error: "Nodeport" is not one of ClusterIP, NodePort, LoadBalancer, ExternalName [k8s-invalid-value]',
      ],
    ],
    [
      'nodePort on a ClusterIP service',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, nodePort: 30080}]}\n',
      [
        'c.yaml:4: document 1: Service s: field spec.ports[0].nodePort: error: nodePort may only be set on NodePort and LoadBalancer Services [k8s-invalid-value]',
      ],
    ],
    [
      'bad clusterIP',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0, ports: [{port: 80}]}\n',
      [
        'c.yaml:4: document 1: Service s: field spec.clusterIP: error: "10.96.0" is not an IPv4 address [k8s-invalid-ip]',
      ],
    ],
    [
      'label value must be a string',
      'apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    ssd: true\n',
      [
        'c.yaml:6: document 1: Node n1: field metadata.labels.ssd: error: expected a string, found boolean true [k8s-field-type]',
      ],
    ],
    [
      'selector operator',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: Equals, values: [a]}\n',
      [
        'c.yaml:7: document 1: NetworkPolicy x/p: field spec.podSelector.matchExpressions[0].operator: error: operator "Equals" is not one of In, NotIn, Exists, DoesNotExist [k8s-invalid-selector]',
      ],
    ],
    [
      // The Go API's podSelector is a struct: absent or null is the empty selector.
      'network policy without podSelector is accepted (selects every pod)',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: null}\n',
      [],
    ],
    [
      'ipBlock except outside the block',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}\n',
      [
        'c.yaml:8: document 1: NetworkPolicy p: field spec.ingress[0].from[0].ipBlock.except[0]: error: except 192.168.0.0/16 is not strictly inside 10.0.0.0/8 [k8s-invalid-cidr]',
      ],
    ],
    [
      'endPort below port',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  egress:\n  - ports:\n    - {port: 9000, endPort: 8000}\n',
      [
        'c.yaml:8: document 1: NetworkPolicy p: field spec.egress[0].ports[0].endPort: error: endPort 8000 is below port 9000 [k8s-invalid-port]',
      ],
    ],
    [
      'external host address',
      'apiVersion: packeteye.dev/v1alpha1\nkind: ExternalHost\nmetadata: {name: u}\nspec: {address: example.com}\n',
      [
        'c.yaml:4: document 1: ExternalHost u: field spec.address: error: "example.com" is not an IPv4 address [k8s-invalid-ip]',
      ],
    ],
    [
      'cluster CIDR',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  clusterCIDR: 10.244.0.0/33\n',
      [
        'c.yaml:5: document 1: Cluster c: field spec.clusterCIDR: error: "10.244.0.0/33" is not an IPv4 CIDR [k8s-invalid-cidr]',
      ],
    ],
    [
      'cluster cni plugin',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  cni: {plugin: cilium}\n',
      [
        'c.yaml:5: document 1: Cluster c: field spec.cni.plugin: error: "cilium" is not one of bridge, flannel, calico, kindnet, kubenet, contiv-vpp [k8s-invalid-value]',
      ],
    ],
    [
      'kube-proxy version as a number keeps its text',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  kubeProxy: {version: 1.30}\n',
      [
        'c.yaml:5: document 1: Cluster c: field spec.kubeProxy.version: warning: kubeProxy.version is a number; read as "1.30" [k8s-version-number]',
      ],
    ],
    [
      'old Ingress version is not read',
      'apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\nspec: {}\n',
      [
        'c.yaml:1: document 1: Ingress i: field apiVersion: warning: Ingress in extensions/v1beta1 is not read; packeteye reads Ingress as networking.k8s.io/v1 [k8s-unsupported-api-version]',
      ],
    ],
    [
      'baseline admin policy name',
      'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: base}\nspec: {subject: {namespaces: {}}}\n',
      [
        'c.yaml:3: document 1: BaselineAdminNetworkPolicy base: field metadata.name: error: a BaselineAdminNetworkPolicy must be named "default", not "base" [k8s-invalid-name]',
      ],
    ],
    [
      'admin policy action',
      'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - action: Reject\n    from: [{namespaces: {}}]\n',
      [
        'c.yaml:8: document 1: AdminNetworkPolicy a: field spec.ingress[0].action: error: "Reject" is not one of Allow, Deny, Pass [k8s-invalid-value]',
      ],
    ],
    [
      'endpoint slice address',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s-1, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints:\n- addresses: [10.1.2]\n',
      [
        'c.yaml:6: document 1: EndpointSlice s-1: field endpoints[0].addresses[0]: error: "10.1.2" is not an IPv4 address [k8s-invalid-ip]',
        'c.yaml:6: document 1: EndpointSlice s-1: field endpoints[0].addresses: error: an endpoint needs at least one address [k8s-required]',
      ],
    ],
    [
      'YAML 1.1 booleans are read as kubectl reads them',
      POD('a').replace('spec:\n', 'spec:\n  hostNetwork: yes\n'),
      [
        'c.yaml:6: document 1: Pod a: field spec.hostNetwork: warning: "yes" read as true, as kubectl\'s YAML 1.1 reads it [k8s-yaml11-boolean]',
      ],
    ],
    [
      'cluster-scoped object with a namespace',
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1, namespace: default}\n',
      [
        'c.yaml:3: document 1: Node n1: field metadata.namespace: warning: Node is cluster-scoped; metadata.namespace ignored [k8s-namespace-ignored]',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(lines(load(text).diagnostics)).toEqual(want);
  });

  it('drops the second of two objects with the same kind, namespace and name', () => {
    const r = loadDocuments([
      { path: 'a.yaml', text: POD('a') },
      {
        path: 'b.yaml',
        text: `apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: default}\nspec: {containers: [{name: c}]}\n`,
      },
    ]);
    expect(r.objects.map((o) => o.origin.file)).toEqual(['a.yaml']);
    expect(lines(r.diagnostics)).toEqual([
      'b.yaml:1: document 1: Pod default/a: warning: Pod default/a is defined twice; the first, at a.yaml:1 (document 1), is used and this one ignored [k8s-duplicate-object]',
    ]);
  });

  it('finds a repeated kind, namespace and name however the objects are interleaved, in one file and across files', () => {
    const obj = (kind: string, name: string, ns?: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind,
        metadata: ns === undefined ? { name } : { name, namespace: ns },
        ...(kind === 'Pod' ? { spec: { containers: [{ name: 'c' }] } } : {}),
      });
    const list = (...items: string[]) =>
      `{"apiVersion":"v1","kind":"List","items":[\n${items.join(',\n')}\n]}\n`;
    const r = loadDocuments([
      {
        path: 'a.json',
        text: list(
          obj('Pod', 'x', 'a'),
          obj('Pod', 'x', 'b'),
          obj('Namespace', 'x'),
          obj('Pod', 'y', 'a'),
          obj('Pod', 'x', 'a'), // twice: after another namespace and kind
          obj('Pod', 'x'), // default
          obj('Pod', 'x', 'default'), // twice: default named
          obj('Node', 'x'),
          obj('Node', 'x', 'a'), // twice: a cluster-scoped object's namespace is ignored
          obj('Pod', 'y', 'b'),
        ),
      },
      {
        path: 'b.json',
        text: list(obj('Pod', 'y', 'b'), obj('Namespace', 'x'), obj('Pod', 'z', 'b')),
      },
    ]);
    expect(
      r.objects.map((o) => `${o.origin.file}:${o.origin.line} ${objectRef(o.object)}`),
    ).toEqual([
      'a.json:2 Pod a/x',
      'a.json:3 Pod b/x',
      'a.json:4 Namespace x',
      'a.json:5 Pod a/y',
      'a.json:7 Pod x',
      'a.json:9 Node x',
      'a.json:11 Pod b/y',
      'b.json:4 Pod b/z',
    ]);
    expect(
      r.diagnostics.filter((d) => d.code === 'k8s-duplicate-object').map((d) => d.message),
    ).toEqual([
      'Pod a/x is defined twice; the first, at a.json:2 (document 1), is used and this one ignored (and 2 more objects of a.json defined before in a.json)',
      'Pod b/y is defined twice; the first, at a.json:11 (document 1), is used and this one ignored (and 1 more object of b.json defined before in a.json)',
    ]);
  });

  it('every error names file, document and (when it has one) the object and field', () => {
    const text = readFileSync('test/fixtures/k8s/kubectl-get-all.yaml', 'utf8').replace(
      'podIP: 10.244.1.5',
      'podIP: 10.244.1',
    );
    const r = load(text, 'dump.yaml');
    expect(lines(r.diagnostics.filter((d) => d.severity === 'error'))).toEqual([
      'dump.yaml:442: document 1: Pod shop/web-7d4b9c8f6d-bq5tw: field status.podIP: error: "10.244.1" is not an IPv4 address [k8s-invalid-ip]',
    ]);
  });
});

describe('loadDocuments never throws', () => {
  it('on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const r = load(text);
        expect(Array.isArray(r.diagnostics)).toBe(true);
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  const valid = readFileSync('test/fixtures/k8s/kubectl-get-all.yaml', 'utf8')
    .split('\n')
    .slice(0, 160)
    .join('\n');
  it('on mutated valid YAML (lines deleted, duplicated, characters replaced)', () => {
    const mutation = fc.oneof(
      fc.record({
        op: fc.constant('del' as const),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({
        op: fc.constant('ins' as const),
        at: fc.nat(),
        text: fc.constantFrom(
          '- ',
          ': ',
          '{',
          ']',
          '\t',
          '---\n',
          '&a ',
          '*a',
          '"',
          "'",
          '\n  ',
          'null',
          '~',
          '[]',
          '{}',
          '1e9',
          '-1',
        ),
      }),
      fc.record({ op: fc.constant('dupline' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        let text = valid;
        for (const m of muts) {
          const at = m.at % (text.length + 1);
          if (m.op === 'del') text = text.slice(0, at) + text.slice(at + m.len);
          else if (m.op === 'ins') text = text.slice(0, at) + m.text + text.slice(at);
          else {
            const ls = text.split('\n');
            const i = m.at % ls.length;
            ls.splice(i, 0, ls[i]!);
            text = ls.join('\n');
          }
        }
        const r = load(text);
        for (const d of r.diagnostics) expect(typeof d.message).toBe('string');
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('on well-formed YAML of the wrong shape', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 8 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom(
            'metadata',
            'name',
            'spec',
            'status',
            'ports',
            'containers',
            'selector',
            'items',
            'podIP',
            'port',
            'subject',
            'ingress',
            'from',
          ),
          tie('value'),
          { maxKeys: 4 },
        ),
      ),
    })).value;
    const kinds = [
      'Pod',
      'Service',
      'Node',
      'Namespace',
      'EndpointSlice',
      'Endpoints',
      'NetworkPolicy',
      'Ingress',
      'AdminNetworkPolicy',
      'BaselineAdminNetworkPolicy',
      'Cluster',
      'ExternalHost',
      'List',
      'PodList',
    ];
    const versions = [
      'v1',
      'discovery.k8s.io/v1',
      'networking.k8s.io/v1',
      'policy.networking.k8s.io/v1alpha1',
      'packeteye.dev/v1alpha1',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.constantFrom(...versions),
        json,
        json,
        (kind, apiVersion, metadata, spec) => {
          const doc = {
            apiVersion,
            kind,
            metadata,
            spec,
            items: [spec],
            subsets: spec,
            endpoints: spec,
          };
          const r = load(JSON.stringify(doc));
          expect(r.diagnostics.every((d) => typeof d.code === 'string')).toBe(true);
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });
});

describe('JSON input', () => {
  it('names the line of a List item and of a bad field without a YAML parse of good files', () => {
    const text = JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
          { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'x' } },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 's' },
            spec: { ports: [{ port: 99999 }] },
          },
        ],
      },
      null,
      2,
    );
    const r = load(text, 'c.json');
    expect(r.objects.map((o) => o.origin)).toEqual([
      { file: 'c.json', document: 1, line: 5, item: 0 },
      { file: 'c.json', document: 1, line: 20, item: 2 },
    ]);
    expect(lines(r.diagnostics)).toEqual([
      'c.json:12: document 1: Deployment x/d: field spec: warning: spec is required; the Deployment is left out [k8s-required]',
      'c.json:29: document 1: Service s: field spec.ports[0].port: error: port 99999 is outside 1–65535 [k8s-invalid-port]',
      'c.json:27: document 1: Service s: field spec.ports: error: a Service needs at least one port (unless it is headless, clusterIP: None) [k8s-required]',
    ]);
  });

  it('reads a top-level JSON array as documents', () => {
    const r = load(
      '[\n{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}},\n{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "b"}}\n]',
      'c.json',
    );
    expect(r.objects.map((o) => [objectRef(o.object), o.origin.document, o.origin.line])).toEqual([
      ['Node a', 1, 2],
      ['Node b', 2, 3],
    ]);
  });
});

describe('dual-stack dumps', () => {
  it('take the IPv4 family of podIPs, clusterIPs and podCIDRs without a warning per object', () => {
    const r = load(`apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]}
---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.1.5, podIPs: [{ip: 10.244.1.5}, {ip: "fd00:10:244:1::5"}]}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20, "fd00:10:96::20"], ipFamilies: [IPv4, IPv6], ports: [{port: 80}]}
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects.map((o) => o.object)).toMatchObject([
      { spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } },
      { status: { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] } },
      {
        spec: { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ipFamilies: ['IPv4', 'IPv6'] },
      },
    ]);
  });
});

describe('AdminNetworkPolicy selector shapes across v1alpha1 releases', () => {
  const anp = (subject: string, peer: string) =>
    `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 10\n  subject: ${subject}\n  ingress:\n  - name: r\n    action: Deny\n    from:\n    - ${peer}\n`;
  it.each([
    [
      'current shapes',
      '{namespaces: {matchLabels: {k: v}}}',
      'pods: {namespaceSelector: {matchLabels: {k: w}}, podSelector: {}}',
    ],
    [
      'early shapes',
      '{namespaces: {matchLabels: {k: v}}}',
      'pods: {namespaces: {namespaceSelector: {matchLabels: {k: w}}}, podSelector: {}}',
    ],
  ])('%s read to the same selectors', (_n, subject, peer) => {
    const r = loadDocuments([{ path: 'a.yaml', text: anp(subject, peer) }]);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const o = r.objects[0]!.object as unknown as {
      spec: { ingress: { from: { pods: unknown }[] }[] };
    };
    expect(o.spec.ingress[0]!.from[0]!.pods).toEqual({
      namespaceSelector: { matchLabels: { k: 'w' } },
      podSelector: {},
    });
  });
  it('an early namespaces peer keeps its selector instead of widening to all namespaces', () => {
    const r = loadDocuments([
      {
        path: 'a.yaml',
        text: anp('{namespaces: {}}', 'namespaces: {namespaceSelector: {matchLabels: {k: w}}}'),
      },
    ]);
    const o = r.objects[0]!.object as unknown as {
      spec: { ingress: { from: { namespaces: unknown }[] }[] };
    };
    expect(o.spec.ingress[0]!.from[0]!.namespaces).toEqual({ matchLabels: { k: 'w' } });
  });
});

describe('loadDocuments: a JSON List whose item is not JSON is read whole, as if never read item by item', () => {
  const ns = (n: string) => `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"${n}"}}`;
  const list = (...items: string[]) =>
    `{"apiVersion":"v1","kind":"List","items":[\n${items.join(',\n')}\n]}`;
  const widget = (n: string) => `{"apiVersion":"v1","kind":"Widget","metadata":{"name":"${n}"}}`;
  it.each([
    [
      // YAML reads the single quotes: every object, as before.
      'single quotes',
      [list(ns('a'), `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":'b'}}`, ns('c'))],
      ['Namespace a l.json:2 #0', 'Namespace b l.json:3 #1', 'Namespace c l.json:4 #2'],
      [],
    ],
    [
      'a tab in a string',
      [list(ns('a'), ns('b\tc'), ns('d'))],
      ['Namespace a l.json:2 #0', 'Namespace b\tc l.json:3 #1', 'Namespace d l.json:4 #2'],
      ['k8s-invalid-name l.json:3'],
    ],
    ['a bracket too many', [list(ns('a'), `${ns('b')}}`, ns('c'))], [], ['k8s-parse l.json:3']],
    [
      // The second file's first reading (a duplicate, an unknown kind) leaves nothing behind.
      'after another file',
      [
        list(ns('a'), widget('w')),
        list(
          ns('a'),
          widget('v'),
          `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":'b'}}`,
          ns('bad_name'),
        ),
      ],
      ['Namespace a l.json:2 #0', 'Namespace b m.json:4 #2', 'Namespace bad_name m.json:5 #3'],
      [
        'k8s-invalid-name m.json:5',
        'k8s-duplicate-object m.json:2',
        'k8s-unknown-kind l.json:3',
        'k8s-unknown-kind m.json:3',
      ],
    ],
  ])('%s', (_name, texts, objects, diagnostics) => {
    const r = loadDocuments(
      texts.map((text, i) => ({ path: i === 0 ? 'l.json' : 'm.json', text })),
    );
    expect(
      r.objects.map(
        (o) => `${objectRef(o.object)} ${o.origin.file}:${o.origin.line} #${o.origin.item}`,
      ),
    ).toEqual(objects);
    expect(r.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}`)).toEqual(diagnostics);
  });
});

describe('loadDocuments: a List document says its List problems before its objects problems', () => {
  it.each([
    [
      'JSON',
      `{"apiVersion":"v1","kind":"List","items":[\n{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"A_"}},\n"str",\n{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","bogus":1}]}},\n{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"q"},"spec":{}}, 5]}\n]}`,
      [
        'k8s-not-an-object 3',
        'k8s-missing-apiversion 4 apiVersion',
        'k8s-not-an-object 5',
        'k8s-invalid-name 2 metadata.name',
        'k8s-unknown-field 4 spec.containers[0].bogus',
        'k8s-pod-no-containers 5 spec.containers',
      ],
    ],
    [
      'YAML',
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: A_}\n- str\n- kind: Pod\n  metadata: {name: p}\n  spec: {containers: [{name: c, bogus: 1}]}\n`,
      [
        'k8s-not-an-object 7',
        'k8s-missing-apiversion 8 apiVersion',
        'k8s-invalid-name 6 metadata.name',
        'k8s-unknown-field 10 spec.containers[0].bogus',
      ],
    ],
  ])('%s', (_name, text, want) => {
    const r = load(text, 'l');
    expect(r.diagnostics.map((d) => [d.code, d.line, d.field ?? ''].join(' ').trim())).toEqual(
      want,
    );
  });
});

describe('loadDocuments: a JSON List laid out by lines reads as a reading of the whole text', () => {
  const ns = (n: string, extra = '') =>
    `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"${n}"}${extra}}`;
  const list = (...items: string[]) =>
    `{"apiVersion":"v1","kind":"List","items":[\n${items.join(',\n')}\n]}`;
  const deep = (d: number) => '['.repeat(d) + ']'.repeat(d);
  // `d` levels of objects, and of arrays and objects in turn.
  const deepObjects = (d: number) => '{"a":'.repeat(d - 1) + '{}' + '}'.repeat(d - 1);
  const deepMixed = (d: number) =>
    Array.from({ length: d - 1 }, (_, i) => (i % 2 === 0 ? '[' : '{"a":')).join('') +
    (d % 2 === 0 ? '{}' : '[]') +
    Array.from({ length: d - 1 }, (_, i) => (i % 2 === 0 ? ']' : '}'))
      .reverse()
      .join('');
  // Levels as written (`o` an object holding the next under an empty key, `a` an array), then `{}`.
  const chain = (levels: string) =>
    [...levels].map((l) => (l === 'o' ? '{"":' : '[')).join('') +
    '{}' +
    [...levels]
      .reverse()
      .map((l) => (l === 'o' ? '}' : ']'))
      .join('');
  it('any mix of levels around the limit: too deep exactly past 256 levels', () => {
    const levels = fc.array(fc.constantFrom('o', 'a'), { minLength: 246, maxLength: 256 });
    const pad = fc.constantFrom('', ' ', ',"y":[]', ',"z":"[[[["');
    fc.assert(
      fc.property(levels, pad, (ls, extra) => {
        // The List, its item, the spec and the chain's own levels, `{}` included.
        const depth = 4 + ls.length + 1;
        const r = load(
          list(ns('a'), ns('b', `,"spec":{"x":${chain(ls.join(''))}${extra}}`)),
          'l.json',
        );
        expect(r.diagnostics.map((d) => `${d.code} ${d.line}`)).toEqual(
          depth > 256 ? ['k8s-too-deep 3'] : [],
        );
      }),
      { numRuns: 60 },
    );
  });
  it.each([
    // A line in an item that opens with `{` is taken for an item's start: that item does not parse.
    [
      'an item over two lines',
      list(ns('a', ',"spec":{"finalizers":[1,\n{"y":1}]}'), ns('b')),
      ['a:2', 'b:4'],
      [],
    ],
    [
      'many brackets, not deep',
      list(
        ns('a'),
        ns('b', `,"spec":{"x":[${Array.from({ length: 300 }, () => '{"k":[]}').join(',')}]}`),
        ns('c'),
      ),
      ['a:2', 'b:3', 'c:4'],
      [],
    ],
    // The List, its item and the spec are 4 levels.
    [
      '256 levels',
      list(ns('a'), ns('b', `,"spec":{"x":${deep(252)}}`), ns('c')),
      ['a:2', 'b:3', 'c:4'],
      [],
    ],
    [
      '257 levels',
      list(ns('a'), ns('b', `,"spec":{"x":${deep(253)}}`), ns('c')),
      [],
      ['k8s-too-deep 3'],
    ],
    [
      '256 levels of objects',
      list(ns('a'), ns('b', `,"spec":{"x":${deepObjects(252)}}`), ns('c')),
      ['a:2', 'b:3', 'c:4'],
      [],
    ],
    [
      '257 levels of objects',
      list(ns('a'), ns('b', `,"spec":{"x":${deepObjects(253)}}`), ns('c')),
      [],
      ['k8s-too-deep 3'],
    ],
    [
      '256 levels of arrays and objects',
      list(ns('a'), ns('b', `,"spec":{"x":${deepMixed(252)}}`), ns('c')),
      ['a:2', 'b:3', 'c:4'],
      [],
    ],
    [
      '257 levels of arrays and objects',
      list(ns('a'), ns('b', `,"spec":{"x":${deepMixed(253)}}`), ns('c')),
      [],
      ['k8s-too-deep 3'],
    ],
    // Empty keys: the fewest characters a level of objects takes.
    [
      '256 levels of objects with empty keys',
      list(ns('a'), ns('b', `,"spec":{"x":${chain('o'.repeat(251))}}`), ns('c')),
      ['a:2', 'b:3', 'c:4'],
      [],
    ],
    [
      '257 levels of objects with empty keys',
      list(ns('a'), ns('b', `,"spec":{"x":${chain('o'.repeat(252))}}`), ns('c')),
      [],
      ['k8s-too-deep 3'],
    ],
    [
      '257 levels of objects with empty keys, arrays and objects in turn',
      list(ns('a'), ns('b', `,"spec":{"x":${chain('oa'.repeat(126))}}`), ns('c')),
      [],
      ['k8s-too-deep 3'],
    ],
    [
      'brackets in strings, not deep',
      list(ns('a'), ns('b', `,"spec":{"x":"${'[{'.repeat(300)}"}`), ns('c')),
      ['a:2', 'b:3', 'c:4'],
      [],
    ],
  ])('%s', (_name, text, objects, diagnostics) => {
    const r = load(text, 'l.json');
    expect(r.objects.map((o) => `${o.object.metadata.name}:${o.origin.line}`)).toEqual(objects);
    expect(r.diagnostics.map((d) => `${d.code} ${d.line}`)).toEqual(diagnostics);
  });
});

describe('loadDocuments: a kind named as an Object.prototype property is a kind packeteye does not model', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('%s', (kind) => {
    const r = load(JSON.stringify({ apiVersion: 'v1', kind, metadata: { name: 'x' } }), 'x.json');
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.message])).toEqual([
      ['k8s-unknown-kind', 'warning', `v1 ${kind} is not modelled by packeteye and is ignored`],
    ]);
  });
});
