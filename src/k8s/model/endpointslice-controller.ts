/**
 * EndpointSlice derivation: the slices the EndpointSlice controller
 * (`staging/src/k8s.io/endpointslice`: reconciler.go, utils.go podToEndpoint
 * and getEndpointPorts) writes for a Service with a selector, and the one
 * the API server's endpoint reconciler writes for `default/kubernetes`.
 */

import type { Endpoint, EndpointPort } from '../types.js';
import { cmpNsName, findPort, isPodReady, nodeInternalIP } from './accessors.js';
import type { Builder } from './builder.js';
import {
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_ZONE,
  MAX_ENDPOINTS_PER_SLICE,
  type ModelEndpointSlice,
  type ModelNode,
  type ModelPod,
  type ModelService,
  type ModelServicePort,
} from './types.js';

/**
 * The EndpointSlice controller's slices for one Service (reconciler.go,
 * utils.go podToEndpoint / getEndpointPorts): pods grouped by their resolved
 * port set, at most 100 endpoints per slice, a placeholder when there are none.
 */
export function deriveSlices(
  svc: ModelService,
  selected: readonly ModelPod[],
  nodes: ReadonlyMap<string, ModelNode>,
  /** Each node's zone label by node name (`zonesOf`), when the caller derives many Services' slices. */
  zones: ReadonlyMap<string, string | undefined> = zonesOf(nodes),
  /** `selected` is in `ns/name` order already (as the model's selector index gives it). */
  inOrder = false,
): ModelEndpointSlice[] {
  const ns = svc.metadata.namespace;
  const name = svc.metadata.name;
  const svcPorts = svc.spec.ports;
  // Pods with the same resolved ports share slices; groups in the order their first pod comes.
  const groups: { ports: EndpointPort[]; endpoints: Endpoint[] }[] = [];
  // A pod's resolved port per Service port (-1: none), before it is known to start a group.
  const resolved = new Array<number>(svcPorts.length);
  for (const pod of inOrder ? selected : inKeyOrder(selected)) {
    const phase = pod.status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    for (let k = 0; k < svcPorts.length; k++) resolved[k] = findPort(pod, svcPorts[k]!) ?? -1;
    let g = groups.find((x) => samePorts(x.ports, svcPorts, resolved));
    if (g === undefined)
      groups.push((g = { ports: endpointPorts(svcPorts, resolved), endpoints: [] }));
    const serving = isPodReady(pod);
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ready = svc.spec.publishNotReadyAddresses === true || (serving && !terminating);
    const zone = zones.get(pod.spec.nodeName);
    // Fields set in the order the controller's Endpoint has them (and JSON output shows).
    const ep: Endpoint = {
      addresses: [pod.status.podIP],
      conditions: CONDITIONS[(ready ? 4 : 0) + (serving ? 2 : 0) + (terminating ? 1 : 0)]!,
    };
    if (pod.spec.hostname && pod.spec.subdomain === name) ep.hostname = pod.spec.hostname;
    ep.nodeName = pod.spec.nodeName;
    if (zone) ep.zone = zone;
    const targetRef: NonNullable<Endpoint['targetRef']> = {
      kind: 'Pod',
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
    };
    if (pod.metadata.uid) targetRef.uid = pod.metadata.uid;
    ep.targetRef = targetRef;
    g.endpoints.push(ep);
  }
  // Copied onto a new object, not spread: fields added to a spread copy take V8's slow path.
  const labels: Record<string, string> = Object.assign({}, svc.metadata.labels);
  labels[LABEL_SERVICE_NAME] = name;
  labels[LABEL_MANAGED_BY] = 'endpointslice-controller.k8s.io';
  if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  const slices: ModelEndpointSlice[] = [];
  // Two literals rather than a spread of `ports`: a spread in a literal takes V8's slow path.
  const mk = (ports: EndpointPort[] | undefined, endpoints: Endpoint[]): ModelEndpointSlice => {
    const metadata = {
      name: `${name}-derived-${slices.length}`,
      namespace: ns,
      labels: Object.assign({}, labels),
    };
    return ports !== undefined
      ? {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata,
          addressType: 'IPv4',
          endpoints,
          ports,
        }
      : {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata,
          addressType: 'IPv4',
          endpoints,
        };
  };
  for (const g of groups) {
    if (g.endpoints.length <= MAX_ENDPOINTS_PER_SLICE) slices.push(mk(g.ports, g.endpoints));
    else
      for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE)
        slices.push(mk(g.ports, g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE)));
  }
  if (slices.length === 0) slices.push(mk(undefined, []));
  return slices;
}

/** Each node's `topology.kubernetes.io/zone` label (undefined: none), by node name. */
export function zonesOf(
  nodes: ReadonlyMap<string, ModelNode>,
): ReadonlyMap<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const [name, n] of nodes) out.set(name, n.metadata.labels?.[LABEL_ZONE]);
  return out;
}

/**
 * An endpoint's conditions, by ready·4 + serving·2 + terminating: one
 * object for each of the eight, shared by every derived endpoint that has
 * them (frozen: nothing may write one endpoint's through another's).
 */
const CONDITIONS: readonly NonNullable<Endpoint['conditions']>[] = Array.from(
  { length: 8 },
  (_, k) =>
    Object.freeze({ ready: (k & 4) !== 0, serving: (k & 2) !== 0, terminating: (k & 1) !== 0 }),
);

/** The EndpointPorts of the Service ports a pod resolved (getEndpointPorts). */
function endpointPorts(
  svcPorts: readonly ModelServicePort[],
  resolved: readonly number[],
): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (let k = 0; k < svcPorts.length; k++) {
    if (resolved[k]! < 0) continue;
    const p = svcPorts[k]!;
    const ep: EndpointPort = { name: p.name ?? '', port: resolved[k]!, protocol: p.protocol };
    if (p.appProtocol) ep.appProtocol = p.appProtocol;
    ports.push(ep);
  }
  return ports;
}

/** The pods sorted by `ns/name` (themselves when they are already, as a selector index gives them). */
function inKeyOrder(pods: readonly ModelPod[]): readonly ModelPod[] {
  for (let i = 1; i < pods.length; i++)
    if (cmpNsName(pods[i - 1]!, pods[i]!) > 0) return [...pods].sort(cmpNsName);
  return pods;
}

/** Whether a group's ports are the ones `resolved` makes (`endpointPorts`), field by field, in order. */
function samePorts(
  a: readonly EndpointPort[],
  svcPorts: readonly ModelServicePort[],
  resolved: readonly number[],
): boolean {
  let j = 0;
  for (let k = 0; k < svcPorts.length; k++) {
    if (resolved[k]! < 0) continue;
    const x = a[j++];
    const p = svcPorts[k]!;
    if (
      x === undefined ||
      x.name !== (p.name ?? '') ||
      x.port !== resolved[k] ||
      x.protocol !== p.protocol ||
      x.appProtocol !== (p.appProtocol ? p.appProtocol : undefined)
    )
      return false;
  }
  return j === a.length;
}

/** The API server's endpoint reconciler: `default/kubernetes` at the control plane's address. */
export function apiserverSlice(
  b: Builder,
  svc: ModelService,
  nodes: Map<string, ModelNode>,
): ModelEndpointSlice | undefined {
  const all = [...nodes.values()];
  const cp =
    all.find((n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined) ??
    all.find((n) => n.metadata.labels?.['node-role.kubernetes.io/master'] !== undefined) ??
    all[0];
  if (cp === undefined) return undefined;
  const ip = nodeInternalIP(cp)!;
  const https = svc.spec.ports.find((p) => p.name === 'https') ?? svc.spec.ports[0];
  const target = typeof https?.targetPort === 'number' ? https.targetPort : 6443;
  const slice: ModelEndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { [LABEL_SERVICE_NAME]: 'kubernetes' },
    },
    addressType: 'IPv4',
    endpoints: [
      { addresses: [ip], conditions: { ready: true, serving: true, terminating: false } },
    ],
    ports: [{ name: https?.name ?? 'https', port: target, protocol: 'TCP' }],
  };
  b.note(
    'EndpointSlice default/kubernetes',
    'endpoints',
    `${ip}:${target}`,
    `the API server's endpoint reconciler publishes the API server's address; packeteye takes ${cp.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? 'the control-plane node' : 'the first node'} ${cp.metadata.name}`,
  );
  return slice;
}
