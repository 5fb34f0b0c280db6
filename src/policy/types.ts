/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy, policy.networking.k8s.io/v1alpha1
 * (kubernetes-sigs/network-policy-api `apis/v1alpha1/{adminnetworkpolicy,
 * baselineadminnetworkpolicy,shared}_types.go`, the v0.1.x API that the
 * conformance suite under `conformance/base/` uses).
 *
 * Only the fields reachability depends on. Field names and shapes follow the
 * released CRDs: `subject.namespaces` or `subject.pods`, peers `namespaces`,
 * `pods`, and for egress also `nodes` and `networks`; ports `portNumber`,
 * `namedPort` or `portRange`.
 */
import type { LabelSelector, ObjectMeta, Protocol } from '../k8s/types.js';

export type AnpAction = 'Allow' | 'Deny' | 'Pass';
export type BanpAction = 'Allow' | 'Deny';

export interface NamespacedPod {
  namespaceSelector: LabelSelector;
  podSelector: LabelSelector;
}

/** Exactly one field is set (`+kubebuilder:validation:MaxProperties=1`, MinProperties=1). */
export interface AdminNetworkPolicySubject {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
}

export interface AdminNetworkPolicyPort {
  portNumber?: { protocol?: Protocol; port: number };
  namedPort?: string;
  portRange?: { protocol?: Protocol; start: number; end: number };
}

export interface AdminNetworkPolicyIngressPeer {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
}

export interface AdminNetworkPolicyEgressPeer extends AdminNetworkPolicyIngressPeer {
  nodes?: LabelSelector;
  /** CIDRs (the API allows IPv6 too; the twin is IPv4). */
  networks?: string[];
}

export interface AdminNetworkPolicyIngressRule<A extends string = AnpAction> {
  name?: string;
  action: A;
  from: AdminNetworkPolicyIngressPeer[];
  ports?: AdminNetworkPolicyPort[];
}

export interface AdminNetworkPolicyEgressRule<A extends string = AnpAction> {
  name?: string;
  action: A;
  to: AdminNetworkPolicyEgressPeer[];
  ports?: AdminNetworkPolicyPort[];
}

export interface AdminNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha1';
  kind: 'AdminNetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    /** 0–1000; lower is evaluated first. */
    priority: number;
    subject: AdminNetworkPolicySubject;
    ingress?: AdminNetworkPolicyIngressRule[];
    egress?: AdminNetworkPolicyEgressRule[];
  };
}

/** A singleton: only the object named `default` is honoured (CRD CEL rule). */
export interface BaselineAdminNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha1';
  kind: 'BaselineAdminNetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    subject: AdminNetworkPolicySubject;
    ingress?: AdminNetworkPolicyIngressRule<BanpAction>[];
    egress?: AdminNetworkPolicyEgressRule<BanpAction>[];
  };
}
