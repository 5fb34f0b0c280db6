/**
 * The scale suite's cluster: `kubectl get -A -o json`-shaped, deterministic,
 * at any size up to Kubernetes' published limits (5,000 nodes, 10,000
 * Services, 150,000 pods).
 *
 * One JSON `List` holds a packeteye `Cluster` (bridge CNI, kube-proxy
 * iptables 1.31, clusterCIDR 10.0.0.0/8 with a /24 per node, Services in
 * 172.16.0.0/16, an underlay in 192.168.0.0/16), 100 Namespaces, the Nodes
 * (podCIDR, InternalIP, Ready), the Pods (three replicas per app placed
 * round-robin over the nodes, `app`/`tier`/`pod-template-hash` labels, two
 * named container ports, podIP/hostIP, Ready) and the Services (each
 * selecting one app, so three endpoints on three nodes; every 20th a
 * NodePort, and every 100th — svc-20, svc-120, svc-220, … — a NodePort with
 * `externalTrafficPolicy: Local`, as a real cluster has some). EndpointSlices
 * are derived by the model from the selectors, as they would be for a
 * manifest dump.
 *
 * A Local Service's rules read which of its endpoints are on the node
 * (proxy/node-key.ts): the nodes that host one (`scaleLocalNode`) each get
 * kube-proxy rules of their own, every other node the same rules. The first
 * of them is not among the first nodes (node-0 to node-4 host none at the
 * bench's sizes), so the bench's first and next nodes share one key.
 *
 * The sizes keep the ratios of the limits: 30 pods a node, one Service per
 * 15 pods.
 */

export interface ScaleSize {
  readonly nodes: number;
  readonly services: number;
  readonly pods: number;
}

/** The shape for `pods` pods at the limits' ratios (150,000 → 5,000 nodes, 10,000 Services). */
export function scaleSize(pods: number): ScaleSize {
  return {
    pods,
    nodes: Math.max(3, Math.round(pods / 30)),
    services: Math.max(1, Math.round(pods / 15)),
  };
}

const NAMESPACES = 100;
const TS = '2026-11-02T08:14:31Z';

function dotted(x: number): string {
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

/** Node n's pod range base (10.0.0.0/8, a /24 each). */
const podBase = (n: number) => (0x0a000000 + n * 256) >>> 0;
/** Node n's InternalIP (192.168.0.0/16, from .10). */
const nodeIp = (n: number) => dotted((0xc0a80000 + 10 + n) >>> 0);
const svcIp = (s: number) => dotted((0xac100000 + 10 + s) >>> 0);

export const scaleNodeName = (n: number): string => `node-${n}`;
export const scaleNamespace = (app: number): string =>
  `ns-${String(app % NAMESPACES).padStart(3, '0')}`;
export const scaleServiceName = (s: number): string => `svc-${s}`;
/** The pod of app `app`, replica `r`. */
export const scalePodName = (app: number, r: number): string => `app-${app}-${r}`;

function node(n: number): object {
  const cidr = `${dotted(podBase(n))}/24`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: scaleNodeName(n),
      labels: {
        'kubernetes.io/hostname': scaleNodeName(n),
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': `zone-${n % 3}`,
      },
      creationTimestamp: TS,
    },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
    status: {
      addresses: [
        { type: 'InternalIP', address: nodeIp(n) },
        { type: 'Hostname', address: scaleNodeName(n) },
      ],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    },
  };
}

/** The i-th pod: app i/3, replica i%3, on node i mod nodes (so one app's replicas differ). */
function pod(i: number, size: ScaleSize): object {
  const app = Math.floor(i / 3);
  const n = i % size.nodes;
  const slot = Math.floor(i / size.nodes);
  const ip = dotted(podBase(n) + 2 + slot);
  const hash = (app * 2654435761) >>> 0;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: scalePodName(app, i % 3),
      namespace: scaleNamespace(app),
      labels: {
        app: `app-${app}`,
        tier: ['web', 'api', 'db'][app % 3],
        'pod-template-hash': hash.toString(36),
      },
      creationTimestamp: TS,
    },
    spec: {
      nodeName: scaleNodeName(n),
      containers: [
        {
          name: 'app',
          image: `registry.example.com/app-${app}:1.${app % 7}`,
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: nodeIp(n),
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

/** The first Local Service: Service s is a NodePort with `externalTrafficPolicy: Local` when s % 100 is this. */
const LOCAL_FIRST = 20;
const isLocal = (s: number): boolean => s % 100 === LOCAL_FIRST;

function service(s: number, apps: number): object {
  const app = s % apps;
  const nodePort = s % 20 === 0;
  const local = isLocal(s);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: scaleServiceName(s), namespace: scaleNamespace(app) },
    spec: {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      ...(local ? { externalTrafficPolicy: 'Local' } : {}),
      clusterIP: svcIp(s),
      clusterIPs: [svcIp(s)],
      selector: { app: `app-${app}` },
      ports: [
        {
          name: 'http',
          port: 80,
          protocol: 'TCP',
          targetPort: 'http',
          ...(nodePort ? { nodePort: 30000 + (s % 2768) } : {}),
        },
      ],
    },
  };
}

/**
 * A Service that selects `app` in its namespace: Services are spread over the
 * apps so that every app with a Service is in the namespace of that Service.
 */
export function scaleServiceOf(size: ScaleSize, s: number): { namespace: string; name: string } {
  const apps = Math.ceil(size.pods / 3);
  return { namespace: scaleNamespace(s % apps), name: scaleServiceName(s) };
}

/**
 * A node that hosts an endpoint of a Local Service (the first replica of the
 * first one's app), so its kube-proxy rules differ from node-0's; undefined
 * when the size has no Local Service (fewer than 21 Services).
 */
export function scaleLocalNode(size: ScaleSize): string | undefined {
  if (size.services <= LOCAL_FIRST) return undefined;
  const app = LOCAL_FIRST % Math.ceil(size.pods / 3);
  return scaleNodeName((app * 3) % size.nodes);
}

/** The cluster as `kubectl get -A -o json` text (a `List`), written piece by piece. */
export function scaleClusterJson(size: ScaleSize): string {
  const apps = Math.ceil(size.pods / 3);
  if (size.services > 65_000) throw new Error('at most 65,000 Services fit 172.16.0.0/16');
  if (Math.ceil(size.pods / size.nodes) > 250) throw new Error('at most 250 pods a node (/24)');
  const parts: string[] = [];
  const add = (o: object) => parts.push(JSON.stringify(o));
  add({
    apiVersion: 'packeteye.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: `scale-${size.pods}` },
    spec: {
      clusterCIDR: '10.0.0.0/8',
      serviceCIDR: '172.16.0.0/16',
      nodeCIDRMaskSize: 24,
      cni: { plugin: 'bridge' },
      kubeProxy: { mode: 'iptables', version: '1.31' },
      underlay: { cidr: '192.168.0.0/16', gateway: '192.168.0.1' },
    },
  });
  for (let k = 0; k < NAMESPACES; k++)
    add({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `ns-${String(k).padStart(3, '0')}` },
    });
  for (let n = 0; n < size.nodes; n++) add(node(n));
  for (let i = 0; i < size.pods; i++) add(pod(i, size));
  for (let s = 0; s < size.services; s++) add(service(s, apps));
  return `{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\n${parts.join(',\n')}\n]}\n`;
}
