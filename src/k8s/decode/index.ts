/**
 * Raw documents to typed Kubernetes objects, validating each field the way
 * the API server's decoder and `pkg/apis/core/validation` would reject it:
 * wrong types, missing required fields, bad names, IP and CIDR syntax, port
 * ranges, protocol values, selector operators. Only the fields networking
 * depends on are kept; everything else (managedFields, resourceVersion,
 * ownerReferences, status conditions a data plane does not read) is dropped
 * without comment, so a `kubectl get -A -o yaml` dump reads cleanly.
 *
 * One file per group of kinds:
 *
 * | file                    | kinds                                                   |
 * |-------------------------|---------------------------------------------------------|
 * | `decoder.ts`            | the field reader they all use (types, names, IPs, …)    |
 * | `core.ts`               | Node, Namespace, Pod                                    |
 * | `workload.ts`           | Deployment, DaemonSet, StatefulSet, … as their template |
 * | `service.ts`            | Service                                                 |
 * | `endpoints.ts`          | EndpointSlice, legacy Endpoints                         |
 * | `ingress.ts`            | Ingress                                                 |
 * | `networkpolicy.ts`      | NetworkPolicy                                           |
 * | `adminnetworkpolicy.ts` | AdminNetworkPolicy, BaselineAdminNetworkPolicy          |
 * | `packeteye.ts`          | packeteye's own Cluster and ExternalHost                |
 *
 * Cross-object checks (ranges, overlaps, duplicates of addresses) are the
 * model's (`k8s/model/`); this folder only looks at one object at a time.
 */

import type { KubeObject } from '../types.js';
import {
  decodeAdminNetworkPolicy,
  decodeBaselineAdminNetworkPolicy,
} from './adminnetworkpolicy.js';
import { decodeNamespace, decodeNode, decodePod } from './core.js';
import { Decoder, isRec, type DecodeContext, type Rec } from './decoder.js';
import { checkUnknownFields } from './fields.js';
import { decodeEndpointSlice, decodeLegacyEndpoints, type LegacyEndpoints } from './endpoints.js';
import { decodeIngress } from './ingress.js';
import { decodeNetworkPolicy } from './networkpolicy.js';
import { decodeCluster, decodeExternalHost } from './packeteye.js';
import { decodeService } from './service.js';

export { Decoder, isValidPortName, type DecodeContext } from './decoder.js';
export type { LegacyEndpoints } from './endpoints.js';
export { WORKLOADS, decodeWorkload, type Workload } from './workload.js';

// ------------------------------------------------------------ dispatch

/** What a known (apiVersion, kind) decodes to. */
type KindDecoder = (
  d: Decoder,
  raw: Rec,
  apiVersion: string,
) => KubeObject | LegacyEndpoints | undefined;

const DECODERS: Record<
  string,
  { versions: readonly string[]; decode: KindDecoder; deprecated?: readonly string[] }
> = {
  Node: { versions: ['v1'], decode: decodeNode },
  Namespace: { versions: ['v1'], decode: decodeNamespace },
  Pod: { versions: ['v1'], decode: decodePod },
  Service: { versions: ['v1'], decode: decodeService },
  Endpoints: { versions: ['v1'], decode: decodeLegacyEndpoints },
  EndpointSlice: {
    versions: ['discovery.k8s.io/v1', 'discovery.k8s.io/v1beta1'],
    deprecated: ['discovery.k8s.io/v1beta1'],
    decode: decodeEndpointSlice,
  },
  NetworkPolicy: {
    versions: ['networking.k8s.io/v1', 'extensions/v1beta1'],
    deprecated: ['extensions/v1beta1'],
    decode: decodeNetworkPolicy,
  },
  Ingress: { versions: ['networking.k8s.io/v1'], decode: decodeIngress },
  AdminNetworkPolicy: {
    versions: ['policy.networking.k8s.io/v1alpha1'],
    decode: decodeAdminNetworkPolicy,
  },
  BaselineAdminNetworkPolicy: {
    versions: ['policy.networking.k8s.io/v1alpha1'],
    decode: decodeBaselineAdminNetworkPolicy,
  },
  Cluster: { versions: ['packeteye.dev/v1alpha1'], decode: decodeCluster },
  ExternalHost: { versions: ['packeteye.dev/v1alpha1'], decode: decodeExternalHost },
};

/** The version each kind packeteye decodes is read as when its apiVersion is missing. */
export const PREFERRED_VERSIONS: ReadonlyMap<string, string> = new Map(
  Object.entries(DECODERS).map(([kind, e]) => [kind, e.versions[0]!] as const),
);

/** Kinds a cluster dump is full of that have no bearing on the data plane: ignored with one info per file. */
export const IRRELEVANT_KINDS: ReadonlySet<string> = new Set([
  'ConfigMap',
  'Secret',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'Event',
  'ControllerRevision',
  'Lease',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'StorageClass',
  'CustomResourceDefinition',
  'PodDisruptionBudget',
  'HorizontalPodAutoscaler',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'LimitRange',
  'ResourceQuota',
  'IngressClass',
  'RuntimeClass',
  'ComponentStatus',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'CertificateSigningRequest',
]);

/** `Kind ns/name` from an undecoded object, for messages about it. */
export function rawObjectRef(raw: Rec, kind: string): string | undefined {
  const m = isRec(raw.metadata) ? raw.metadata : undefined;
  const name = m && typeof m.name === 'string' ? m.name : undefined;
  if (name === undefined) return undefined;
  const ns = m && typeof m.namespace === 'string' ? m.namespace : undefined;
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}

export type Decoded =
  | { readonly status: 'object'; readonly object: KubeObject | LegacyEndpoints }
  | { readonly status: 'skipped' }
  | { readonly status: 'unknown'; readonly apiVersion: string; readonly kind: string };

/**
 * Decodes one raw object whose apiVersion and kind are known strings. Returns
 * `unknown` for kinds packeteye does not model (the caller reports them, once
 * per kind), `skipped` when the object was unusable (already reported).
 */
export function decodeObject(
  ctx: DecodeContext,
  raw: Rec,
  apiVersion: string,
  kind: string,
): Decoded {
  // Own entries only: a kind named `toString` or `constructor` is not one because Object.prototype has it.
  const entry = Object.hasOwn(DECODERS, kind) ? DECODERS[kind] : undefined;
  if (entry === undefined || !entry.versions.includes(apiVersion)) {
    if (entry !== undefined) {
      const d = new Decoder(ctx, rawObjectRef(raw, kind));
      d.warn(
        ['apiVersion'],
        'k8s-unsupported-api-version',
        `${kind} in ${apiVersion} is not read; packeteye reads ${kind} as ${entry.versions.join(' or ')}`,
        `convert it to ${entry.versions[0]} (kubectl get returns the current version)`,
      );
      return { status: 'skipped' };
    }
    return { status: 'unknown', apiVersion, kind };
  }
  const d = new Decoder(ctx, undefined);
  if (entry.deprecated?.includes(apiVersion)) {
    d.report(
      'info',
      ['apiVersion'],
      'k8s-deprecated-api-version',
      `${apiVersion} ${kind} is read as ${entry.versions[0]}`,
    );
  }
  const obj = entry.decode(d, raw, apiVersion);
  checkUnknownFields(d, raw, kind);
  return obj === undefined ? { status: 'skipped' } : { status: 'object', object: obj };
}
