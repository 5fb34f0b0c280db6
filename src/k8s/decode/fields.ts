/**
 * Unknown fields, warned about as `kubectl --validate=strict` refuses them,
 * with the nearest known field as a suggestion. The answer never changes: an
 * unknown field is ignored by the decoder either way; the warning says so
 * (and `--strict` turns it into exit 2).
 *
 * Only levels whose full field list is held here are checked, so real dumps
 * do not warn: packeteye's own kinds everywhere, and for the built-in kinds
 * the levels packeteye reads, each list the real API's fields from the
 * Kubernetes API reference (v1.20–v1.34, with fields older dumps still carry:
 * ObjectMeta `clusterName` and `initializers`, ServiceSpec `ipFamily` and
 * `topologyKeys`, EndpointSlice v1beta1 `topology`). `true` marks a field
 * whose insides are not checked (status, managedFields, fields packeteye
 * does not read); a one-element array is a list of that shape.
 */

import { formatPath, type Path } from '../parse.js';
import { isRec, type Decoder } from './decoder.js';

type Shape = true | { readonly [field: string]: Shape } | readonly [Shape];

const leaves = (...names: string[]): Record<string, true> =>
  Object.fromEntries(names.map((n) => [n, true] as const));

const OBJECT_META: Shape = leaves(
  'annotations',
  'clusterName',
  'creationTimestamp',
  'deletionGracePeriodSeconds',
  'deletionTimestamp',
  'finalizers',
  'generateName',
  'generation',
  'initializers',
  'labels',
  'managedFields',
  'name',
  'namespace',
  'ownerReferences',
  'resourceVersion',
  'selfLink',
  'uid',
);

const LABEL_SELECTOR: Shape = leaves('matchExpressions', 'matchLabels');

const top = (fields: Record<string, Shape>): Shape => ({
  apiVersion: true,
  kind: true,
  metadata: OBJECT_META,
  ...fields,
});

const SERVICE: Shape = top({
  spec: {
    ...leaves(
      'allocateLoadBalancerNodePorts',
      'clusterIP',
      'clusterIPs',
      'externalIPs',
      'externalName',
      'externalTrafficPolicy',
      'healthCheckNodePort',
      'internalTrafficPolicy',
      'ipFamilies',
      'ipFamily',
      'ipFamilyPolicy',
      'loadBalancerClass',
      'loadBalancerIP',
      'loadBalancerSourceRanges',
      'publishNotReadyAddresses',
      'selector',
      'sessionAffinity',
      'sessionAffinityConfig',
      'topologyKeys',
      'trafficDistribution',
      'type',
    ),
    ports: [leaves('appProtocol', 'name', 'nodePort', 'port', 'protocol', 'targetPort')],
  },
  status: true,
});

const PEER: Shape = {
  ipBlock: leaves('cidr', 'except'),
  namespaceSelector: LABEL_SELECTOR,
  podSelector: LABEL_SELECTOR,
};
const NETPOL_PORT: Shape = leaves('endPort', 'port', 'protocol');

const NETWORK_POLICY: Shape = top({
  spec: {
    podSelector: LABEL_SELECTOR,
    policyTypes: true,
    ingress: [{ from: [PEER], ports: [NETPOL_PORT] }],
    egress: [{ to: [PEER], ports: [NETPOL_PORT] }],
  },
  status: true,
});

const CONTAINER: Shape = {
  ...leaves(
    'args',
    'command',
    'env',
    'envFrom',
    'image',
    'imagePullPolicy',
    'lifecycle',
    'livenessProbe',
    'name',
    'readinessProbe',
    'resizePolicy',
    'resources',
    'restartPolicy',
    'restartPolicyRules',
    'securityContext',
    'startupProbe',
    'stdin',
    'stdinOnce',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'tty',
    'volumeDevices',
    'volumeMounts',
    'workingDir',
  ),
  ports: [leaves('containerPort', 'hostIP', 'hostPort', 'name', 'protocol')],
};

const POD_SPEC: Shape = {
  ...leaves(
    'activeDeadlineSeconds',
    'affinity',
    'automountServiceAccountToken',
    'dnsConfig',
    'dnsPolicy',
    'enableServiceLinks',
    'ephemeralContainers',
    'hostAliases',
    'hostIPC',
    'hostNetwork',
    'hostPID',
    'hostUsers',
    'hostname',
    'hostnameOverride',
    'imagePullSecrets',
    'nodeName',
    'nodeSelector',
    'os',
    'overhead',
    'preemptionPolicy',
    'priority',
    'priorityClassName',
    'readinessGates',
    'resourceClaims',
    'resources',
    'restartPolicy',
    'runtimeClassName',
    'schedulerName',
    'schedulingGates',
    'securityContext',
    'serviceAccount',
    'serviceAccountName',
    'setHostnameAsFQDN',
    'shareProcessNamespace',
    'subdomain',
    'terminationGracePeriodSeconds',
    'tolerations',
    'topologySpreadConstraints',
    'volumes',
  ),
  containers: [CONTAINER],
  initContainers: [CONTAINER],
};

const POD: Shape = top({ spec: POD_SPEC, status: true });

/** A workload's `spec.template` (PodTemplateSpec): the pod's metadata and spec. */
const POD_TEMPLATE: Shape = { metadata: OBJECT_META, spec: POD_SPEC };

const NODE: Shape = top({
  spec: leaves(
    'configSource',
    'externalID',
    'podCIDR',
    'podCIDRs',
    'providerID',
    'taints',
    'unschedulable',
  ),
  status: true,
});

const ENDPOINT_SLICE: Shape = top({
  addressType: true,
  endpoints: [
    {
      ...leaves(
        'addresses',
        'deprecatedTopology',
        'hints',
        'hostname',
        'nodeName',
        'targetRef',
        'topology',
        'zone',
      ),
      conditions: leaves('ready', 'serving', 'terminating'),
    },
  ],
  ports: [leaves('appProtocol', 'name', 'port', 'protocol')],
});

/** packeteye's own kinds: every field the decoder knows. */
const CLUSTER: Shape = top({
  spec: {
    ...leaves('clusterCIDR', 'serviceCIDR', 'clusterDomain', 'nodeCIDRMaskSize'),
    serviceNodePortRange: true,
    cni: leaves(
      'plugin',
      'backend',
      'bridge',
      'encapsulation',
      'gateway',
      'hairpinMode',
      'ipMasq',
      'natOutgoing',
      'nonMasqueradeCIDR',
    ),
    kubeProxy: {
      ...leaves(
        'mode',
        'version',
        'masqueradeAll',
        'localhostNodePorts',
        'clusterCIDR',
        'detectLocalMode',
        'nodePortAddresses',
        'masqueradeBit',
        'randomFully',
      ),
      detectLocal: leaves('bridgeInterface', 'interfaceNamePrefix'),
      whatIf: leaves('noExternalMasquerade'),
    },
    masquerade: leaves('enabled', 'nonMasqueradeCIDRs'),
    networkPolicy: leaves('enforcer'),
    cloud: leaves('provider'),
    underlay: leaves('cidr', 'gateway', 'mtu'),
    dns: {
      ...leaves('clusterDNS', 'libc'),
      nodeResolvConf: leaves('nameservers', 'searches'),
    },
  },
});

const EXTERNAL_HOST: Shape = top({
  spec: { address: true, listen: [leaves('port', 'protocol')], dnsNames: true },
});

/** Kinds without a deeper list held here: their top level and metadata only. */
const TOP_ONLY: Shape = top({ spec: true, status: true });

const SHAPES: Readonly<Record<string, Shape>> = {
  Service: SERVICE,
  NetworkPolicy: NETWORK_POLICY,
  Pod: POD,
  Node: NODE,
  EndpointSlice: ENDPOINT_SLICE,
  Namespace: TOP_ONLY,
  Ingress: TOP_ONLY,
  AdminNetworkPolicy: TOP_ONLY,
  BaselineAdminNetworkPolicy: TOP_ONLY,
  Endpoints: top({ subsets: true }),
  Cluster: CLUSTER,
  ExternalHost: EXTERNAL_HOST,
};

/** Levenshtein distance, for the nearest known field. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known field a typo most likely meant: same letters in another case, or at most 2 edits (and under half the name). */
export function nearestField(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { field: string; d: number } | undefined;
  for (const k of [...known].sort()) {
    const d = k.toLowerCase() === lower ? 0 : distance(lower, k.toLowerCase());
    if (d <= 2 && d * 2 < Math.max(name.length, k.length) && (best === undefined || d < best.d))
      best = { field: k, d };
  }
  return best?.field;
}

/**
 * A shape made ready for the walk: each level's fields in a Map (one lookup
 * per key, no prototype in the way: `constructor` or `toString` is not a
 * field because Object.prototype has it) and its names for the suggestion.
 */
type Compiled = true | Level | { readonly item: Compiled };

/**
 * A mapping's fields. `seen` and `seenShape` remember the known fields of the
 * last mapping read at this level, by place: objects of one kind list their
 * fields in one order, so a field is mostly found by one comparison (a memo
 * of `fields`, which it always agrees with).
 */
interface Level {
  readonly fields: ReadonlyMap<string, Compiled>;
  readonly names: readonly string[];
  readonly seen: string[];
  readonly seenShape: Compiled[];
}

const compiled = new Map<Shape, Compiled>();

function compile(shape: Shape): Compiled {
  if (shape === true) return true;
  let c = compiled.get(shape);
  if (c === undefined) {
    if (Array.isArray(shape)) c = { item: compile((shape as readonly [Shape])[0]) };
    else {
      const rec = shape as Readonly<Record<string, Shape>>;
      const names = Object.keys(rec);
      const fields = new Map(names.map((n) => [n, compile(rec[n]!)] as const));
      c = { fields, names, seen: [], seenShape: [] };
    }
    compiled.set(shape, c);
  }
  return c;
}

/**
 * Walks `value` against `shape`. `path` is the value's path, a stack the walk
 * pushes to and pops from: a path is copied only for a warning, not made for
 * every field passed over.
 */
function walk(d: Decoder, value: unknown, shape: Compiled, path: (string | number)[]): void {
  // Leaves (`true`) are most fields: they are passed over.
  if (shape === true) return;
  if ('item' in shape) {
    const item = shape.item;
    if (Array.isArray(value) && item !== true)
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        walk(d, value[i], item, path);
        path.pop();
      }
    return;
  }
  if (!isRec(value)) return; // a type error is the decoder's to report
  // for-in, not Object.keys: no array of the keys made for each level of 150,000 objects.
  const { seen, seenShape } = shape;
  let at = 0;
  for (const field in value) {
    if (!Object.hasOwn(value, field)) continue;
    let sub: Compiled | undefined;
    if (seen[at] === field) sub = seenShape[at];
    else {
      sub = shape.fields.get(field);
      if (sub !== undefined && at < shape.names.length) {
        seen[at] = field;
        seenShape[at] = sub;
      }
    }
    at++;
    if (sub === true) continue;
    if (sub !== undefined) {
      path.push(field);
      walk(d, value[field], sub, path);
      path.pop();
      continue;
    }
    const p = [...path, field];
    const near = nearestField(field, shape.names);
    d.warn(
      p,
      'k8s-unknown-field',
      `unknown field ${formatPath(p)}${near !== undefined ? ` (did you mean ${near}?)` : ''}`,
      `the field is ignored; kubectl --validate=strict refuses it${near !== undefined ? `: write ${formatPath([...path, near])}` : ''}`,
    );
  }
}

/**
 * Warns about each field of a workload's pod template (at `path`, e.g.
 * `spec.template` or a CronJob's `spec.jobTemplate.spec.template`) that the
 * API does not know, as for a Pod.
 */
export function checkPodTemplateFields(d: Decoder, template: unknown, path: Path): void {
  walk(d, template, compile(POD_TEMPLATE), [...path]);
}

/**
 * The path stack of the walks from an object's top, one for all: the walk
 * pops what it pushes, so it is empty between objects (a new array for each
 * object grew its backing store for each of 150,000).
 */
const TOP_STACK: (string | number)[] = [];

/** Warns about each field of `raw` (an object of `kind`) that the API does not know. */
export function checkUnknownFields(d: Decoder, raw: Record<string, unknown>, kind: string): void {
  const shape = Object.hasOwn(SHAPES, kind) ? SHAPES[kind] : undefined;
  if (shape === undefined) return;
  TOP_STACK.length = 0;
  walk(d, raw, compile(shape), TOP_STACK);
}
