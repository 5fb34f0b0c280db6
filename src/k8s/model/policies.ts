/**
 * Policy and routing objects the model indexes but does not allocate for:
 * NetworkPolicies by namespace, AdminNetworkPolicies in priority order (ties
 * warned), the BaselineAdminNetworkPolicy, and Ingresses with their backend
 * Services checked.
 */

import type { Ingress, NetworkPolicy } from '../types.js';
import { nsName } from './accessors.js';
import { cmp, entries, type Builder, type Entry, type ObjectsByKind } from './builder.js';
import type { ClusterModel, ModelService, Namespaced } from './types.js';

type Defaulter = <T extends NetworkPolicy | Ingress>(e: Entry<T>) => Entry<T>;

export function buildPolicies(
  b: Builder,
  objects: ObjectsByKind,
  defaultNamespace: Defaulter,
): Pick<
  ClusterModel,
  | 'networkPolicies'
  | 'networkPoliciesByNamespace'
  | 'adminNetworkPolicies'
  | 'baselineAdminNetworkPolicy'
> {
  const networkPolicies = entries(objects, 'NetworkPolicy')
    .map(defaultNamespace)
    .map((e) => e.object as NetworkPolicy & { metadata: Namespaced })
    .sort((x, y) => cmp(nsName(x), nsName(y)));
  const networkPoliciesByNamespace = new Map<
    string,
    (NetworkPolicy & { metadata: Namespaced })[]
  >();
  for (const np of networkPolicies) {
    const l = networkPoliciesByNamespace.get(np.metadata.namespace) ?? [];
    l.push(np);
    networkPoliciesByNamespace.set(np.metadata.namespace, l);
  }

  const anpEntries = entries(objects, 'AdminNetworkPolicy').sort(
    (x, y) =>
      x.object.spec.priority - y.object.spec.priority ||
      cmp(x.object.metadata.name, y.object.metadata.name),
  );
  for (let i = 1; i < anpEntries.length; i++) {
    const prev = anpEntries[i - 1]!.object;
    const cur = anpEntries[i]!;
    if (cur.object.spec.priority === prev.spec.priority) {
      b.warn(
        cur,
        'spec.priority',
        'k8s-anp-priority-tie',
        `priority ${cur.object.spec.priority} is also used by AdminNetworkPolicy ${prev.metadata.name}; their order is undefined`,
        'give each AdminNetworkPolicy a distinct priority (packeteye orders ties by name)',
      );
    }
  }
  const banps = entries(objects, 'BaselineAdminNetworkPolicy');
  return {
    networkPolicies,
    networkPoliciesByNamespace,
    adminNetworkPolicies: anpEntries.map((e) => e.object),
    baselineAdminNetworkPolicy: banps[0]?.object,
  };
}

export function buildIngresses(
  b: Builder,
  objects: ObjectsByKind,
  defaultNamespace: Defaulter,
  services: ReadonlyMap<string, ModelService>,
): (Ingress & { metadata: Namespaced })[] {
  const ingresses = entries(objects, 'Ingress').map(defaultNamespace);
  for (const e of ingresses) {
    const ns = e.object.metadata.namespace!;
    const check = (svcName: string | undefined, field: string) => {
      if (svcName !== undefined && !services.has(`${ns}/${svcName}`)) {
        b.warn(
          e,
          field,
          'k8s-ingress-unknown-service',
          `backend Service ${ns}/${svcName} does not exist`,
          'create the Service or fix the name',
        );
      }
    };
    check(e.object.spec.defaultBackend?.service?.name, 'spec.defaultBackend.service.name');
    e.object.spec.rules?.forEach((r, i) =>
      r.http?.paths.forEach((p, j) =>
        check(p.backend.service?.name, `spec.rules[${i}].http.paths[${j}].backend.service.name`),
      ),
    );
  }
  return ingresses.map((e) => e.object as Ingress & { metadata: Namespaced });
}
