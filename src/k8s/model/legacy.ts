/**
 * Legacy forms real old clusters still carry, read as their era's
 * components read them when the cluster's kube-proxy release is old enough,
 * otherwise warned about with the modern equivalent and left without effect
 * (as today's components leave them):
 *
 * - `service.beta.kubernetes.io/external-traffic: OnlyLocal | Global` on a
 *   Service: the beta form of `spec.externalTrafficPolicy` (Local | Cluster),
 *   honoured by kube-proxy and the API server in 1.5–1.7, removed in 1.8
 *   (kubernetes/kubernetes#50224, release note "Beta annotations
 *   service.beta.kubernetes.io/external-traffic and
 *   service.beta.kubernetes.io/healthcheck-nodeport have been removed").
 * - `net.beta.kubernetes.io/network-policy: {"ingress":{"isolation":"DefaultDeny"}}`
 *   on a Namespace: every pod of the namespace isolated for ingress under the
 *   extensions/v1beta1 NetworkPolicy semantics, removed in 1.7 when
 *   NetworkPolicy moved to networking.k8s.io/v1 (kubernetes/kubernetes#39164,
 *   whose release note gives the equivalent: a NetworkPolicy selecting every
 *   pod and allowing nothing). When honoured, it is read as exactly that
 *   policy. Before 1.7, namespaces without the annotation ignored their
 *   NetworkPolicies altogether; that half of the old semantics is not
 *   modelled (said once).
 * - `extensions/v1beta1` NetworkPolicy: read as networking.k8s.io/v1 by the
 *   decoder (same schema).
 */

import type { LoadedObject } from '../load.js';
import type { Namespace, NetworkPolicy, Service } from '../types.js';
import type { Builder, Entry } from './builder.js';
import type { ClusterConfig } from './types.js';

export const EXTERNAL_TRAFFIC_ANNOTATION = 'service.beta.kubernetes.io/external-traffic';
export const NETWORK_POLICY_ANNOTATION = 'net.beta.kubernetes.io/network-policy';
/** The last minor release that honoured each form. */
const LAST_EXTERNAL_TRAFFIC = 7;
const LAST_DEFAULT_DENY = 6;

/** The minor of a `1.<minor>` version, or undefined when it does not read. */
function minorOf(version: string): number | undefined {
  const m = /^v?1\.(\d+)/.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}

function honoured(cluster: ClusterConfig, last: number): boolean {
  const minor = minorOf(cluster.kubeProxy.version);
  return minor !== undefined && minor <= last;
}

/** The beta external-traffic annotation on Services, applied to their spec in place. */
export function legacyServiceAnnotations(
  b: Builder,
  cluster: ClusterConfig,
  services: readonly Entry<Service>[],
): void {
  const field = `metadata.annotations.${EXTERNAL_TRAFFIC_ANNOTATION}`;
  for (const e of services) {
    const value = e.object.metadata.annotations?.[EXTERNAL_TRAFFIC_ANNOTATION];
    if (value === undefined) continue;
    const policy = value === 'OnlyLocal' ? 'Local' : value === 'Global' ? 'Cluster' : undefined;
    if (policy === undefined) {
      b.warn(
        e,
        field,
        'k8s-legacy-external-traffic',
        `${EXTERNAL_TRAFFIC_ANNOTATION}: ${JSON.stringify(value)} is neither OnlyLocal nor Global; ignored`,
        'use spec.externalTrafficPolicy: Local or Cluster',
      );
      continue;
    }
    const spec = e.object.spec;
    const version = cluster.kubeProxy.version;
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
      b.warn(
        e,
        field,
        'k8s-legacy-external-traffic',
        `${EXTERNAL_TRAFFIC_ANNOTATION} only applies to NodePort and LoadBalancer Services; ignored`,
      );
      continue;
    }
    if (!honoured(cluster, LAST_EXTERNAL_TRAFFIC)) {
      b.warn(
        e,
        field,
        'k8s-legacy-external-traffic',
        `${EXTERNAL_TRAFFIC_ANNOTATION}: ${value} is not honoured by kube-proxy ${version} (removed in 1.8); read without it, externalTrafficPolicy ${spec.externalTrafficPolicy ?? 'Cluster'}`,
        `the modern equivalent is spec.externalTrafficPolicy: ${policy}`,
      );
      continue;
    }
    if (spec.externalTrafficPolicy !== undefined) {
      if (spec.externalTrafficPolicy !== policy)
        b.warn(
          e,
          field,
          'k8s-legacy-external-traffic',
          `${EXTERNAL_TRAFFIC_ANNOTATION}: ${value} contradicts spec.externalTrafficPolicy ${spec.externalTrafficPolicy}; the field is read`,
        );
      continue;
    }
    // The entry's spec is the loaded one (`builder.ts` copyService): the model's is a copy.
    e.object.spec = Object.assign({}, spec);
    e.object.spec.externalTrafficPolicy = policy;
    b.warn(
      e,
      field,
      'k8s-legacy-external-traffic',
      `${EXTERNAL_TRAFFIC_ANNOTATION}: ${value} read as externalTrafficPolicy ${policy}, as kube-proxy ${version} honoured it`,
      `the modern equivalent is spec.externalTrafficPolicy: ${policy}`,
    );
  }
}

/** Whether an annotation value asks for ingress DefaultDeny; undefined when it does not read. */
function defaultDeny(value: string): boolean | undefined {
  try {
    const v: unknown = JSON.parse(value);
    if (typeof v !== 'object' || v === null) return undefined;
    const ingress = (v as { ingress?: unknown }).ingress;
    if (ingress === undefined) return false;
    if (typeof ingress !== 'object' || ingress === null) return undefined;
    return (ingress as { isolation?: unknown }).isolation === 'DefaultDeny';
  } catch {
    return undefined;
  }
}

/**
 * The DefaultDeny namespace annotation: when honoured, one NetworkPolicy per
 * namespace selecting every pod and allowing no ingress (to be read with the
 * others); otherwise a warning naming it.
 */
export function legacyNamespacePolicies(
  b: Builder,
  cluster: ClusterConfig,
  namespaces: readonly Entry<Namespace>[],
): LoadedObject[] {
  const field = `metadata.annotations.${NETWORK_POLICY_ANNOTATION}`;
  const out: LoadedObject[] = [];
  for (const e of namespaces) {
    const value = e.object.metadata.annotations?.[NETWORK_POLICY_ANNOTATION];
    if (value === undefined) continue;
    const deny = defaultDeny(value);
    const ns = e.object.metadata.name;
    if (deny === undefined) {
      b.warn(
        e,
        field,
        'k8s-legacy-network-policy',
        `${NETWORK_POLICY_ANNOTATION} is not the JSON {"ingress":{"isolation":"DefaultDeny"}}; ignored`,
      );
      continue;
    }
    if (!deny) continue;
    const equivalent = `a NetworkPolicy in ${ns} with podSelector: {} and policyTypes: [Ingress]`;
    const version = cluster.kubeProxy.version;
    if (!honoured(cluster, LAST_DEFAULT_DENY)) {
      b.warn(
        e,
        field,
        'k8s-legacy-network-policy',
        `namespace DefaultDeny annotation is not honoured in Kubernetes ${version} (removed in 1.7); read without it, pods of ${ns} not selected by a NetworkPolicy accept all ingress`,
        `the modern equivalent is ${equivalent}`,
      );
      continue;
    }
    const name = 'legacy-default-deny-ingress';
    const policy: NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: ns },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    out.push({ object: policy, origin: e.loaded?.origin ?? { file: '', document: 0, line: 0 } });
    b.note(
      `NetworkPolicy ${ns}/${name}`,
      'spec',
      'podSelector {} policyTypes [Ingress]',
      `the namespace's DefaultDeny annotation, as Kubernetes ${version} honoured it`,
    );
    b.warn(
      e,
      field,
      'k8s-legacy-network-policy',
      `namespace DefaultDeny annotation read as NetworkPolicy ${ns}/${name} (every pod isolated for ingress), as Kubernetes ${version} honoured it; namespaces without it ignoring their NetworkPolicies (the pre-1.7 semantics) is not modelled`,
      `the modern equivalent is ${equivalent}`,
    );
  }
  return out;
}
