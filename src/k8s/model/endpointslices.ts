/**
 * Each Service's EndpointSlices, as kube-proxy will read them: the given
 * slices (checked: their Service, addresses, nodes), else slices derived
 * from the Service's selector like the EndpointSlice controller
 * (`endpointslice-controller.ts`), else slices mirrored from legacy
 * Endpoints like the endpointslicemirroring controller (a Service without a
 * selector), else, for `default/kubernetes`, the API server's own.
 */

import { MIRRORED_ANNOTATION } from '../load.js';
import { formatMap, matchesMap } from '../selector.js';
import type { EndpointSlice, Service } from '../types.js';
import { cmpNsName, findPort } from './accessors.js';
import type { Builder, Entry } from './builder.js';
import { apiserverSlice, deriveSlices, zonesOf } from './endpointslice-controller.js';
import type { PodsByKey } from './pod-index.js';
import type { PodsRead } from './pods-read.js';
import {
  LABEL_SERVICE_NAME,
  type ClusterConfig,
  type ModelEndpointSlice,
  type ModelNode,
  type ModelPod,
  type ModelService,
} from './types.js';

interface SliceInput {
  readonly e: Entry<EndpointSlice>;
  readonly mirroredFrom?: string;
}

/** The input's slices, sorted out: given ones by Service, mirrored ones by Service, all kept. */
interface SortedSlices {
  readonly given: Map<string, ModelEndpointSlice[]>;
  readonly mirrored: Map<string, SliceInput[]>;
  readonly all: ModelEndpointSlice[];
}

export function buildSlices(
  b: Builder,
  cluster: ClusterConfig,
  podsByIP: ReadonlyMap<string, ModelPod>,
  nodes: Map<string, ModelNode>,
  pods: PodsByKey,
  read: PodsRead,
  services: Map<string, ModelService>,
  /** The loaded entry each Service came from (for diagnostics at its file and line). */
  serviceEntries: ReadonlyMap<string, Entry<Service>>,
  raw: Entry<EndpointSlice>[],
): { endpointSlices: ModelEndpointSlice[]; slicesByService: Map<string, ModelEndpointSlice[]> } {
  const input = sortSlices(b, cluster, podsByIP, nodes, services, raw);
  const { all } = input;
  const selectPods = podSelectorIndex(pods, read, services);
  const zones = zonesOf(nodes);
  const slicesByService = new Map<string, ModelEndpointSlice[]>();
  for (const [key, svc] of services) {
    const slices = serviceSlices(b, key, svc, serviceEntries, input, selectPods, nodes, zones);
    if (slices !== undefined) slicesByService.set(key, slices);
  }
  for (const [key, l] of input.mirrored) {
    if (!services.has(key))
      for (const m of l)
        b.info(
          m.e,
          undefined,
          'k8s-endpoints-ignored',
          `${m.mirroredFrom} ignored: Service ${key} does not exist`,
          undefined,
          m.mirroredFrom,
        );
  }
  // Mostly in order already (derived slices come Service by Service): no keys made to check or sort.
  let inOrder = true;
  for (let i = 1; i < all.length && inOrder; i++) inOrder = cmpNsName(all[i - 1]!, all[i]!) <= 0;
  if (!inOrder) all.sort(cmpNsName);
  return { endpointSlices: all, slicesByService };
}

function sortSlices(
  b: Builder,
  cluster: ClusterConfig,
  podsByIP: ReadonlyMap<string, ModelPod>,
  nodes: Map<string, ModelNode>,
  services: Map<string, ModelService>,
  raw: Entry<EndpointSlice>[],
): SortedSlices {
  const given = new Map<string, ModelEndpointSlice[]>();
  const mirrored = new Map<string, SliceInput[]>();
  const all: ModelEndpointSlice[] = [];
  for (const e of raw) {
    const s = e.object as ModelEndpointSlice;
    const from = s.metadata.annotations?.[MIRRORED_ANNOTATION];
    const svcName = s.metadata.labels?.[LABEL_SERVICE_NAME];
    if (from !== undefined) {
      const key = `${s.metadata.namespace}/${svcName}`;
      const l = mirrored.get(key) ?? [];
      l.push({ e, mirroredFrom: from });
      mirrored.set(key, l);
      continue;
    }
    if (svcName === undefined) {
      b.warn(
        e,
        `metadata.labels["${LABEL_SERVICE_NAME}"]`,
        'k8s-slice-no-service',
        `EndpointSlice has no ${LABEL_SERVICE_NAME} label, so kube-proxy ignores it`,
        `add the label ${LABEL_SERVICE_NAME}: <service name>`,
      );
      all.push(s);
      continue;
    }
    if (s.addressType !== 'IPv4') {
      b.info(
        e,
        'addressType',
        'k8s-slice-not-ipv4',
        `${s.addressType} EndpointSlice ignored: packeteye models IPv4 (kube-proxy's IPv4 rules read IPv4 slices only)`,
      );
      all.push(s);
      continue;
    }
    const key = `${s.metadata.namespace}/${svcName}`;
    if (!services.has(key)) {
      b.warn(
        e,
        `metadata.labels["${LABEL_SERVICE_NAME}"]`,
        'k8s-slice-unknown-service',
        `EndpointSlice belongs to Service ${key}, which does not exist`,
        'add the Service or fix the label',
      );
    }
    checkEndpoints(b, nodes, e);
    const l = given.get(key) ?? [];
    l.push(s);
    given.set(key, l);
    all.push(s);
  }
  return { given, mirrored, all };
}

/** A given slice's endpoints: on nodes that exist (addresses without a pod have stand-ins: `endpoint-pods.ts`). */
function checkEndpoints(b: Builder, nodes: Map<string, ModelNode>, e: Entry<EndpointSlice>): void {
  e.object.endpoints.forEach((ep, i) => {
    if (ep.nodeName !== undefined && !nodes.has(ep.nodeName)) {
      b.warn(
        e,
        `endpoints[${i}].nodeName`,
        'k8s-unknown-node',
        `endpoint is on node ${JSON.stringify(ep.nodeName)}, which is not defined`,
        'add the Node or fix nodeName',
      );
    }
  });
}

/**
 * Pods by namespace and label pair, to find a selector's pods without
 * scanning them all; only the pairs some Service selects on are indexed
 * (a Service selects what the index has a list for; every other pod is
 * passed over without a list of its own: at 150,000 pods and 10,000
 * Services, 50,000 lists of which 10,000 were ever read). Lists are in the
 * pods' (key) order: filled from what `buildPods` read of each pod, in the
 * input's order (`PodsRead`), by the pods' places in key order, and put in
 * key order when first asked for.
 */
function podSelectorIndex(
  pods: PodsByKey,
  read: PodsRead,
  services: Map<string, ModelService>,
): (ns: string, sel: Record<string, string>) => readonly ModelPod[] {
  // namespace → label key → value → places of pods; a list for every pair a Service selects on.
  const byLabel = new Map<string, Map<string, Map<string, number[]>>>();
  const selected = new Set<string>();
  for (const svc of services.values()) {
    const sel = svc.spec.selector;
    if (sel === undefined) continue;
    const ns = svc.metadata.namespace;
    let nsLabels = byLabel.get(ns);
    for (const k of Object.keys(sel)) {
      if (nsLabels === undefined) byLabel.set(ns, (nsLabels = new Map()));
      let values = nsLabels.get(k);
      if (values === undefined) nsLabels.set(k, (values = new Map()));
      if (!values.has(sel[k]!)) values.set(sel[k]!, []);
      selected.add(k);
    }
  }
  // Few keys selected on (the usual app, or app and tier): each looked up in a pod's
  // labels, their value maps at hand for the namespace; else the labels walked.
  const keys = [...selected];
  const few = keys.length <= 4;
  let lastNs: string | undefined;
  let nsLabels: Map<string, Map<string, number[]>> | undefined;
  let nsValues: (Map<string, number[]> | undefined)[] = [];
  const n = read.at.length;
  for (let j = 0; j < n; j++) {
    const ns = read.namespace[j]!;
    if (ns !== lastNs) {
      lastNs = ns;
      nsLabels = byLabel.get(ns);
      if (few && nsLabels !== undefined) nsValues = keys.map((k) => nsLabels!.get(k));
    }
    const labels = read.labels[j];
    if (labels === undefined || nsLabels === undefined) continue;
    const at = read.at[j]!;
    if (few) {
      for (let k = 0; k < keys.length; k++) {
        const values = nsValues[k];
        if (values === undefined) continue;
        const v: unknown = labels[keys[k]!];
        // An own label only (a key such as `constructor` names an Object property otherwise).
        if (typeof v === 'string' && Object.hasOwn(labels, keys[k]!)) values.get(v)?.push(at);
      }
    } else
      for (const k in labels) {
        const values = nsLabels.get(k);
        if (values !== undefined) values.get(labels[k]!)?.push(at);
      }
  }
  // A list's pods in key order, made once per list.
  const made = new Map<number[], ModelPod[]>();
  const podsOf = (l: number[]): ModelPod[] => {
    let out = made.get(l);
    if (out === undefined) {
      let sorted = true;
      for (let i = 1; i < l.length && sorted; i++) sorted = l[i - 1]! < l[i]!;
      if (!sorted) l.sort((x, y) => x - y);
      out = new Array<ModelPod>(l.length);
      for (let i = 0; i < l.length; i++) out[i] = pods.at(l[i]!);
      made.set(l, out);
    }
    return out;
  };
  return (ns, sel) => {
    let best: number[] | undefined;
    const nsLabels = byLabel.get(ns);
    for (const k in sel) {
      const l = nsLabels?.get(k)?.get(sel[k]!) ?? [];
      if (best === undefined || l.length < best.length) best = l;
    }
    // A selector without terms (not asked for: the caller has none) would select the namespace.
    const from =
      best === undefined
        ? [...pods.values()].filter((p) => p.metadata.namespace === ns)
        : best.length === 0
          ? []
          : podsOf(best);
    // One selector term (the usual app: x) picked its own list: every pod on it matches.
    if (best !== undefined && Object.keys(sel).length === 1) return from;
    return from.filter((p) => matchesMap(p.metadata.labels, sel));
  };
}

/** One Service's slices (undefined: none); derived and mirrored ones are added to `input.all`. */
function serviceSlices(
  b: Builder,
  key: string,
  svc: ModelService,
  serviceEntries: ReadonlyMap<string, Entry<Service>>,
  input: SortedSlices,
  selectPods: (ns: string, sel: Record<string, string>) => readonly ModelPod[],
  nodes: Map<string, ModelNode>,
  zones: ReadonlyMap<string, string | undefined>,
): ModelEndpointSlice[] | undefined {
  const givenSlices = input.given.get(key);
  const mirroredSlices = input.mirrored.get(key) ?? [];
  const selector =
    svc.spec.selector && Object.keys(svc.spec.selector).length > 0 ? svc.spec.selector : undefined;
  const ignored = (why: string) => {
    for (const m of mirroredSlices)
      b.info(
        m.e,
        undefined,
        'k8s-endpoints-ignored',
        `${m.mirroredFrom} ignored: ${why}`,
        undefined,
        m.mirroredFrom,
      );
  };
  if (svc.spec.type === 'ExternalName') {
    ignored('an ExternalName Service has no endpoints');
    return undefined;
  }
  if (selector !== undefined) {
    const selected = selectPods(svc.metadata.namespace, selector);
    checkSelection(b, svc, () => serviceEntries.get(key), selector, selected, givenSlices);
    ignored(
      "kube-proxy reads EndpointSlices only, which packeteye derives from the Service's selector like the EndpointSlice controller",
    );
    if (givenSlices) return givenSlices;
    const derived = deriveSlices(svc, selected, nodes, zones, true);
    for (const s of derived) {
      b.note(
        `EndpointSlice ${s.metadata.namespace}/${s.metadata.name}`,
        'endpoints',
        s.endpoints.map((ep) => ep.addresses[0]).join(',') || '(none)',
        `no EndpointSlice for Service ${key}; derived from its selector like the EndpointSlice controller`,
      );
    }
    input.all.push(...derived);
    return derived;
  }
  if (givenSlices) {
    ignored("the Service's EndpointSlices are given");
    return givenSlices;
  }
  if (mirroredSlices.length > 0) {
    const slices = mirroredSlices.map((m) => m.e.object as ModelEndpointSlice);
    for (const m of mirroredSlices) {
      b.note(
        `EndpointSlice ${m.e.object.metadata.namespace}/${m.e.object.metadata.name}`,
        'endpoints',
        m.e.object.endpoints.map((ep) => ep.addresses[0]).join(',') || '(none)',
        `Service ${key} has no selector; mirrored from ${m.mirroredFrom} like the endpointslicemirroring controller`,
      );
    }
    input.all.push(...slices);
    return slices;
  }
  if (key === 'default/kubernetes') {
    const slice = apiserverSlice(b, svc, nodes);
    if (slice) {
      input.all.push(slice);
      return [slice];
    }
  }
  return undefined;
}

/** Selectors that select nothing, and named targetPorts no selected pod resolves. */
function checkSelection(
  b: Builder,
  svc: ModelService,
  entryOf: () => Entry<Service> | undefined,
  selector: Record<string, string>,
  selected: readonly ModelPod[],
  given: readonly ModelEndpointSlice[] | undefined,
): void {
  if (selected.length === 0) {
    // kube-proxy never reads selectors: with EndpointSlices given, they are the endpoints.
    const n = given?.reduce((k, s) => k + s.endpoints.length, 0);
    b.warn(
      entryOf(),
      'spec.selector',
      'k8s-service-selects-nothing',
      n !== undefined
        ? `selector ${formatMap(selector)} matches no pod in namespace ${svc.metadata.namespace} in the input; the Service's EndpointSlices (${n} endpoint${n === 1 ? '' : 's'}) are used, as kube-proxy reads them`
        : `selector ${formatMap(selector)} matches no pod in namespace ${svc.metadata.namespace}, so the Service has no endpoints and kube-proxy rejects its connections`,
      n !== undefined
        ? 'add the pods to the input to check the selector against them'
        : "fix the selector or the pods' labels; for a Service meant to have no endpoints, remove spec.selector",
    );
    return;
  }
  svc.spec.ports.forEach((p, i) => {
    if (typeof p.targetPort !== 'string') return;
    if (!selected.some((pod) => findPort(pod, p) !== undefined)) {
      b.warn(
        entryOf(),
        `spec.ports[${i}].targetPort`,
        'k8s-target-port-unresolved',
        `no pod selected by this Service has a ${p.protocol} container port named ${JSON.stringify(p.targetPort)}, so port ${p.port} has no endpoints`,
        `name the container port in the pods (ports: - name: ${p.targetPort}, containerPort: N) or use the port number`,
      );
    }
  });
}
