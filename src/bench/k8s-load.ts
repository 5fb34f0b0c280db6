/**
 * Benchmark: load a `kubectl get -A -o yaml`-sized cluster dump.
 *
 * `kubectlScaleDump` writes, deterministically, one `kind: List` document as
 * kubectl prints it (sigs.k8s.io/yaml: keys sorted, sequences not indented
 * under their key) holding 50 Nodes, 5,000 Pods and 500 Services, each with
 * the noise a real API server returns (managedFields with `f:`/`k:{…}` keys,
 * ownerReferences, status conditions, container statuses): about 20 MB.
 * `benchLoad` times `loadDocuments` + `buildModel` on it; the target is
 * well under three seconds.
 */
import { performance } from 'node:perf_hooks';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';

const NODES = 50;
const PODS = 5000;
const SERVICES = 500;

function hex(n: number, width: number): string {
  // A deterministic pseudo-random hex string (xorshift on the seed).
  let x = (n * 2654435761) >>> 0 || 1;
  let out = '';
  while (out.length < width) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, width);
}

/** kube's SafeEncodeString alphabet (no vowels, no 0/1/3): names like `7d9f8c6b5`. */
function safe(n: number, width: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return hex(n, width)
    .split('')
    .map((c) => alphabet[parseInt(c, 16)] ?? 'b')
    .join('');
}

function uid(n: number): string {
  const h = hex(n + 7, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const TS = '2026-11-02T08:14:31Z';

function managedFields(indent: string, kind: 'pod' | 'svc' | 'node'): string {
  const i = indent;
  const common = `${i}- apiVersion: v1
${i}  fieldsType: FieldsV1
${i}  fieldsV1:
${i}    f:metadata:
${i}      f:annotations:
${i}        .: {}
${i}        f:kubectl.kubernetes.io/restartedAt: {}
${i}      f:labels:
${i}        .: {}
${i}        f:app: {}
${i}        f:pod-template-hash: {}
${i}      f:ownerReferences:
${i}        .: {}
${i}        k:{"uid":"${uid(1)}"}: {}
`;
  const spec =
    kind === 'pod'
      ? `${i}    f:spec:
${i}      f:containers:
${i}        k:{"name":"app"}:
${i}          .: {}
${i}          f:image: {}
${i}          f:imagePullPolicy: {}
${i}          f:name: {}
${i}          f:ports:
${i}            .: {}
${i}            k:{"containerPort":8080,"protocol":"TCP"}:
${i}              .: {}
${i}              f:containerPort: {}
${i}              f:name: {}
${i}              f:protocol: {}
${i}          f:resources:
${i}            .: {}
${i}            f:limits:
${i}              .: {}
${i}              f:memory: {}
${i}            f:requests:
${i}              .: {}
${i}              f:cpu: {}
${i}              f:memory: {}
${i}          f:terminationMessagePath: {}
${i}          f:terminationMessagePolicy: {}
${i}      f:dnsPolicy: {}
${i}      f:enableServiceLinks: {}
${i}      f:restartPolicy: {}
${i}      f:schedulerName: {}
${i}      f:securityContext: {}
${i}      f:terminationGracePeriodSeconds: {}
`
      : kind === 'svc'
        ? `${i}    f:spec:
${i}      f:internalTrafficPolicy: {}
${i}      f:ports:
${i}        .: {}
${i}        k:{"port":80,"protocol":"TCP"}:
${i}          .: {}
${i}          f:port: {}
${i}          f:protocol: {}
${i}          f:targetPort: {}
${i}      f:selector: {}
${i}      f:sessionAffinity: {}
${i}      f:type: {}
`
        : `${i}    f:spec:
${i}      f:podCIDR: {}
${i}      f:podCIDRs:
${i}        .: {}
${i}        v:"10.244.0.0/24": {}
`;
  return `${common}${spec}${i}  manager: kube-controller-manager
${i}  operation: Update
${i}  time: "${TS}"
${i}- apiVersion: v1
${i}  fieldsType: FieldsV1
${i}  fieldsV1:
${i}    f:status:
${i}      f:conditions:
${i}        k:{"type":"Ready"}:
${i}          .: {}
${i}          f:lastProbeTime: {}
${i}          f:lastTransitionTime: {}
${i}          f:status: {}
${i}          f:type: {}
${i}  manager: kubelet
${i}  operation: Update
${i}  subresource: status
${i}  time: "${TS}"
`;
}

function node(n: number): string {
  return `- apiVersion: v1
  kind: Node
  metadata:
    annotations:
      kubeadm.alpha.kubernetes.io/cri-socket: unix:///run/containerd/containerd.sock
      node.alpha.kubernetes.io/ttl: "0"
      volumes.kubernetes.io/controller-managed-attach-detach: "true"
    creationTimestamp: "${TS}"
    labels:
      beta.kubernetes.io/arch: amd64
      beta.kubernetes.io/os: linux
      kubernetes.io/arch: amd64
      kubernetes.io/hostname: node-${n}
      kubernetes.io/os: linux
    managedFields:
${managedFields('    ', 'node')}    name: node-${n}
    resourceVersion: "${1000 + n}"
    uid: ${uid(100000 + n)}
  spec:
    podCIDR: 10.244.${n}.0/24
    podCIDRs:
    - 10.244.${n}.0/24
  status:
    addresses:
    - address: 10.0.${n >> 8}.${(n & 255) + 10}
      type: InternalIP
    - address: node-${n}
      type: Hostname
    allocatable:
      cpu: "8"
      memory: 32780604Ki
      pods: "110"
    conditions:
    - lastHeartbeatTime: "${TS}"
      lastTransitionTime: "${TS}"
      message: kubelet is posting ready status
      reason: KubeletReady
      status: "True"
      type: Ready
    nodeInfo:
      architecture: amd64
      containerRuntimeVersion: containerd://1.7.22
      kernelVersion: 6.8.0-45-generic
      kubeProxyVersion: v1.31.2
      kubeletVersion: v1.31.2
      operatingSystem: linux
      osImage: Ubuntu 24.04.1 LTS
`;
}

function pod(n: number): string {
  const nodeN = n % NODES;
  const app = `app-${n % SERVICES}`;
  const ns = `ns-${n % 100}`;
  const hash = safe(n % SERVICES, 10);
  const ip = `10.244.${nodeN}.${2 + Math.floor(n / NODES)}`;
  return `- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubectl.kubernetes.io/restartedAt: "${TS}"
    creationTimestamp: "${TS}"
    generateName: ${app}-${hash}-
    labels:
      app: ${app}
      pod-template-hash: ${hash}
    managedFields:
${managedFields('    ', 'pod')}    name: ${app}-${hash}-${safe(n, 5)}
    namespace: ${ns}
    ownerReferences:
    - apiVersion: apps/v1
      blockOwnerDeletion: true
      controller: true
      kind: ReplicaSet
      name: ${app}-${hash}
      uid: ${uid(200000 + (n % SERVICES))}
    resourceVersion: "${500000 + n}"
    uid: ${uid(n)}
  spec:
    containers:
    - image: registry.example.com/team/${app}:1.${n % 7}.${n % 13}
      imagePullPolicy: IfNotPresent
      name: app
      ports:
      - containerPort: 8080
        name: http
        protocol: TCP
      resources:
        limits:
          memory: 256Mi
        requests:
          cpu: 100m
          memory: 128Mi
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
      volumeMounts:
      - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
        name: kube-api-access-${safe(n + 3, 5)}
        readOnly: true
    dnsPolicy: ClusterFirst
    enableServiceLinks: true
    nodeName: node-${nodeN}
    preemptionPolicy: PreemptLowerPriority
    priority: 0
    restartPolicy: Always
    schedulerName: default-scheduler
    securityContext: {}
    serviceAccount: default
    serviceAccountName: default
    terminationGracePeriodSeconds: 30
    tolerations:
    - effect: NoExecute
      key: node.kubernetes.io/not-ready
      operator: Exists
      tolerationSeconds: 300
    - effect: NoExecute
      key: node.kubernetes.io/unreachable
      operator: Exists
      tolerationSeconds: 300
  status:
    conditions:
    - lastProbeTime: null
      lastTransitionTime: "${TS}"
      status: "True"
      type: Initialized
    - lastProbeTime: null
      lastTransitionTime: "${TS}"
      status: "True"
      type: Ready
    containerStatuses:
    - containerID: containerd://${hex(n + 11, 64)}
      image: registry.example.com/team/${app}:1.${n % 7}.${n % 13}
      imageID: registry.example.com/team/${app}@sha256:${hex(n + 13, 64)}
      lastState: {}
      name: app
      ready: true
      restartCount: 0
      started: true
      state:
        running:
          startedAt: "${TS}"
    hostIP: 10.0.${nodeN >> 8}.${(nodeN & 255) + 10}
    phase: Running
    podIP: ${ip}
    podIPs:
    - ip: ${ip}
    qosClass: Burstable
    startTime: "${TS}"
`;
}

function service(n: number): string {
  return `- apiVersion: v1
  kind: Service
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"app-${n}","namespace":"ns-${n % 100}"},"spec":{"ports":[{"port":80,"targetPort":"http"}],"selector":{"app":"app-${n}"}}}
    creationTimestamp: "${TS}"
    managedFields:
${managedFields('    ', 'svc')}    name: app-${n}
    namespace: ns-${n % 100}
    resourceVersion: "${900000 + n}"
    uid: ${uid(300000 + n)}
  spec:
    clusterIP: 10.96.${1 + (n >> 7)}.${(n & 127) + 1}
    clusterIPs:
    - 10.96.${1 + (n >> 7)}.${(n & 127) + 1}
    internalTrafficPolicy: Cluster
    ipFamilies:
    - IPv4
    ipFamilyPolicy: SingleStack
    ports:
    - port: 80
      protocol: TCP
      targetPort: http
    selector:
      app: app-${n}
    sessionAffinity: None
    type: ClusterIP
  status:
    loadBalancer: {}
`;
}

/** The dump as `kubectl get nodes,pods,services -A -o yaml` prints it. */
export function kubectlScaleDump(): string {
  const parts: string[] = ['apiVersion: v1\nitems:\n'];
  for (let n = 0; n < NODES; n++) parts.push(node(n));
  for (let n = 0; n < PODS; n++) parts.push(pod(n));
  for (let n = 0; n < SERVICES; n++) parts.push(service(n));
  parts.push('kind: List\nmetadata:\n  resourceVersion: ""\n');
  return parts.join('');
}

export interface LoadBench {
  readonly bytes: number;
  readonly objects: number;
  readonly ms: number;
}

/** Times `loadDocuments` + `buildModel` on the dump (one run; the caller takes the best). */
export function benchLoad(): LoadBench {
  const text = kubectlScaleDump();
  const t0 = performance.now();
  const loaded = loadDocuments([{ path: 'cluster.yaml', text }]);
  const built = buildModel(loaded.objects);
  const ms = performance.now() - t0;
  if (loaded.objects.length !== NODES + PODS + SERVICES) {
    const first = [...loaded.diagnostics, ...built.diagnostics][0];
    throw new Error(
      `k8s load bench: loaded ${loaded.objects.length} objects, expected ${NODES + PODS + SERVICES}${first ? ` (${first.message})` : ''}`,
    );
  }
  return { bytes: Buffer.byteLength(text), objects: loaded.objects.length, ms };
}
