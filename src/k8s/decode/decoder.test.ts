import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../diag.js';
import { loadDocuments } from '../load.js';
import { pathOf, step, Step, type FieldPath } from './decoder.js';

describe('field paths: a step below a path is the array with the key appended', () => {
  const deep = step(step(['spec', 'containers'], 1), 'ports', 0, 'name');
  it.each<[string, FieldPath, readonly (string | number)[]]>([
    ['an array as it is', ['spec', 'nodeName'], ['spec', 'nodeName']],
    ['the empty path', [], []],
    ['one step below the empty path', step([], 'metadata'), ['metadata']],
    ['one step', step(['spec'], 'containers'), ['spec', 'containers']],
    ['two keys', step(['spec'], 'dnsConfig', 'options'), ['spec', 'dnsConfig', 'options']],
    ['three keys', step(['status'], 'podIPs', 0, 'ip'), ['status', 'podIPs', 0, 'ip']],
    ['steps on steps', deep, ['spec', 'containers', 1, 'ports', 0, 'name']],
    ['an index key', new Step(new Step(['items'], 3), 'kind'), ['items', 3, 'kind']],
  ])('%s', (_name, at, want) => {
    expect(pathOf(at)).toEqual(want);
  });

  it('leaves the path it steps from as it was', () => {
    const base = ['spec', 'containers'] as const;
    const a = step(base, 0, 'name');
    const b = step(base, 1, 'image');
    expect([pathOf(a), pathOf(b), base]).toEqual([
      ['spec', 'containers', 0, 'name'],
      ['spec', 'containers', 1, 'image'],
      ['spec', 'containers'],
    ]);
  });
});

/** A pod whose `extra` spec and status lines carry the problems. */
const POD = (spec: string, status = '') => `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: ns
spec:
  nodeName: n1
${spec}${status}`;

const DEPLOYMENT = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  namespace: ns
spec:
  selector:
    matchLabels:
      app: d
  template:
    metadata:
      labels:
        app: d
    spec:
${spec}`;

describe('decoding names the field and line of each problem, however deep', () => {
  it.each<[string, string, string[]]>([
    [
      'a port name in the second container',
      POD(`  containers:
  - name: a
  - name: b
    ports:
    - containerPort: 80
    - containerPort: 81
      name: Not_A_Name
`),
      [
        'c.yaml:14: document 1: Pod ns/p: field spec.containers[1].ports[1].name: error: port name "Not_A_Name" is not a valid port name (IANA_SVC_NAME: at most 15 lower-case letters, digits or \'-\', with at least one letter) [k8s-invalid-port]',
      ],
    ],
    [
      'a container without a name, and one named twice',
      POD(`  containers:
  - image: x
  - name: a
  - name: a
  initContainers:
  - restartPolicy: Always
`),
      [
        'c.yaml:9: document 1: Pod ns/p: field spec.containers[0].name: warning: container has no name; read as "container-0" [k8s-container-no-name]',
        'c.yaml:11: document 1: Pod ns/p: field spec.containers[2].name: error: container name "a" is used twice [k8s-duplicate]',
        'c.yaml:13: document 1: Pod ns/p: field spec.initContainers[0].name: warning: container has no name; read as "container-0" [k8s-container-no-name]',
      ],
    ],
    [
      'status fields at each level',
      POD(
        `  containers:
  - name: a
`,
        `status:
  podIP: 10.0.0.1
  podIPs:
  - ip: 10.0.0.2
  - ip: 10.0.0.300
  hostIP: 10.1.0.1
  phase: 7
  conditions:
  - type: Ready
    status: yes
`,
      ),
      [
        'c.yaml:14: document 1: Pod ns/p: field status.podIPs[1].ip: error: "10.0.0.300" is not an IPv4 address [k8s-invalid-ip]',
        'c.yaml:13: document 1: Pod ns/p: field status.podIPs[0].ip: error: podIPs[0] (10.0.0.2) differs from podIP (10.0.0.1) [k8s-invalid-ip]',
        'c.yaml:16: document 1: Pod ns/p: field status.phase: error: expected a string, found number 7 [k8s-field-type]',
        'c.yaml:19: document 1: Pod ns/p: field status.conditions[0].status: error: "yes" is not one of True, False, Unknown [k8s-invalid-value]',
      ],
    ],
    [
      'DNS settings two and three levels down',
      POD(`  containers:
  - name: a
  dnsConfig:
    options:
    - name: 5
      value: "2"
  hostAliases:
  - ip: 10.0.0.9
    hostnames:
    - a
    - 7
`),
      [
        'c.yaml:12: document 1: Pod ns/p: field spec.dnsConfig.options[0].name: error: expected a string, found number 5 [k8s-field-type]',
        'c.yaml:18: document 1: Pod ns/p: field spec.hostAliases[0].hostnames[1]: error: expected a string, found number 7 [k8s-field-type]',
      ],
    ],
    [
      "a workload's template: the path below the template's",
      DEPLOYMENT(`      containers:
      - name: a
        ports:
        - containerPort: 99999
`),
      [
        'c.yaml:18: document 1: Deployment ns/d: field spec.template.spec.containers[0].ports[0].containerPort: warning: port 99999 is outside 1–65535; the Deployment is left out [k8s-invalid-port]',
      ],
    ],
  ])('%s', (_name, text, want) => {
    const got = loadDocuments([{ path: 'c.yaml', text }]).diagnostics.map((d) =>
      formatDiagnostic({ ...d, hint: undefined }),
    );
    expect(got).toEqual(want);
  });
});
