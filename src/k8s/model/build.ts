/**
 * `buildModel`: loaded objects to the defaulted, indexed `ClusterModel`, one
 * step per kind in dependency order (cluster configuration, nodes, external
 * hosts, pods, services, endpoint slices, policies, namespaces).
 */

import type { Diagnostic } from '../../diag.js';
import type { LoadedObject } from '../load.js';
import { objectRef, type KubeObject } from '../types.js';
import { Builder, entries, ObjectsByKind, type Entry } from './builder.js';
import { buildCluster } from './cluster-config.js';
import type { EvidenceItem } from '../detect/index.js';
import { endpointPods } from './endpoint-pods.js';
import { buildSlices } from './endpointslices.js';
import { buildExternalHosts } from './external-hosts.js';
import { buildNamespaces } from './namespaces.js';
import { buildNodes, impliedNodes } from './nodes.js';
import { ObjectOrigins } from './origins.js';
import { buildPods } from './pods.js';
import { legacyNamespacePolicies, legacyServiceAnnotations } from './legacy.js';
import { buildIngresses, buildPolicies } from './policies.js';
import { buildServices } from './services.js';
import type { ClusterModel } from './types.js';

/**
 * Builds the defaulted, indexed cluster. Never throws; objects with errors
 * are left out (or kept with their given values) and reported.
 */
export function buildModel(
  objects: readonly LoadedObject[],
  evidence: readonly EvidenceItem[] = [],
): {
  model: ClusterModel;
  diagnostics: Diagnostic[];
} {
  const b = new Builder();
  const kinds = new ObjectsByKind(objects);
  // Namespaced objects without a namespace land in `default`, as kubectl applies them
  // (in metadata of the model's own: a Pod's is shared with the loaded one).
  const defaultNamespace = <T extends KubeObject>(e: Entry<T>): Entry<T> => {
    if (e.object.metadata.namespace === undefined) {
      e.object.metadata = { ...e.object.metadata, namespace: 'default' };
      b.note(
        objectRef(e.object),
        'metadata.namespace',
        'default',
        'no namespace given; kubectl puts the object in the default namespace',
      );
    }
    return e;
  };

  const cluster = buildCluster(b, entries(kinds, 'Cluster'), objects, evidence);
  let nodeEntries = entries(kinds, 'Node');
  if (nodeEntries.length === 0) nodeEntries = impliedNodes(b, cluster, objects);
  const nodes = buildNodes(b, cluster, nodeEntries);
  const externalHosts = buildExternalHosts(b, cluster, nodes, entries(kinds, 'ExternalHost'));
  const podEntries = entries(kinds, 'Pod');
  // A pod without a namespace is the one `entries` copies (the others are taken as loaded).
  for (let i = 0; i < podEntries.length; i++) {
    const e = podEntries[i]!;
    if (e.object !== e.loaded!.object) defaultNamespace(e);
  }
  for (const e of endpointPods(b, cluster, nodes, kinds)) podEntries.push(e);
  const { pods, read, podsByIP, podsByNode, podsSharingIP } = buildPods(
    b,
    cluster,
    nodes,
    new Set(nodeEntries.map((e) => e.object.metadata.name)),
    podEntries,
  );
  const serviceEntries = entries(kinds, 'Service').map(defaultNamespace);
  legacyServiceAnnotations(b, cluster, serviceEntries);
  const { services, entryOf } = buildServices(b, cluster, serviceEntries, podsByIP);
  const { endpointSlices, slicesByService } = buildSlices(
    b,
    cluster,
    podsByIP,
    nodes,
    pods,
    read,
    services,
    entryOf,
    entries(kinds, 'EndpointSlice').map(defaultNamespace),
  );
  const legacyPolicies = legacyNamespacePolicies(b, cluster, entries(kinds, 'Namespace'));
  const policies = buildPolicies(
    b,
    legacyPolicies.length > 0 ? new ObjectsByKind([...objects, ...legacyPolicies]) : kinds,
    defaultNamespace,
  );
  const ingresses = buildIngresses(b, kinds, defaultNamespace, services);
  const namespaces = buildNamespaces(
    b,
    kinds,
    [services.values(), endpointSlices, policies.networkPolicies, ingresses],
    read.namespace,
  );

  const model: ClusterModel = {
    cluster,
    namespaces,
    nodes,
    pods,
    podsByIP,
    podsByNode,
    podsSharingIP,
    services,
    servicesByClusterIP: new Map(
      [...services.values()]
        .filter((s) => s.spec.clusterIP !== undefined && s.spec.clusterIP !== 'None')
        .map((s) => [s.spec.clusterIP!, s] as const),
    ),
    endpointSlices,
    slicesByService,
    ...policies,
    ingresses,
    externalHosts,
    externalHostsByIP: new Map(
      [...externalHosts.values()].map((h) => [h.spec.address, h] as const),
    ),
    defaults: b.defaults,
    origins: new ObjectOrigins(kinds),
  };
  return { model, diagnostics: b.diagnostics };
}
