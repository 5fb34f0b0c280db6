/**
 * policy/ — who may talk to whom: NetworkPolicy (networking.k8s.io/v1) and
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy
 * (policy.networking.k8s.io/v1alpha1, KEP-2091).
 *
 * - `model.ts` validates and normalises the objects (`buildPolicyWorld`):
 *   policyTypes defaulting, peers (podSelector / namespaceSelector / both /
 *   ipBlock with except; ANP namespaces / pods / nodes / networks), ports
 *   (protocol default TCP, named ports, endPort, ANP portNumber / namedPort /
 *   portRange).
 * - `engine.ts` decides one pair with reasons (`evaluatePair`): per
 *   direction ANP tiers by priority (Allow / Deny / Pass), then NetworkPolicy
 *   if the pod is isolated, else the baseline, else allowed; traffic needs
 *   egress at the source AND ingress at the destination.
 * - `matrix.ts` computes every pair at once over groups of pods no policy can
 *   tell apart (`computeMatrix`), including the external ranges the policy
 *   CIDRs carve out (`externals.ts`).
 * - `ports.ts` is the exact per-protocol port-interval algebra the answers are
 *   written in (`TCP 1-79,81-65535`).
 * - `explain.ts` renders the reasons for one pair.
 * - `enforcer.ts` says who implements the policies — bridge and flannel
 *   implement none, a trap the twin reports.
 * - `calico.ts` renders what Calico's Felix installs for a node's pods
 *   (cali-FORWARD, cali-fw-/cali-tw- per workload, cali-pi-/cali-po- per
 *   policy, mark-based accept) as iptables-save text and IP sets; a
 *   real-kernel test loads it and checks it enforces what `matrix.ts` says.
 *
 * Not modelled: IPv6; traffic to and from the node a pod runs on (always
 * allowed by the API's definition, but nodes are not in the pod matrix);
 * protocols other than TCP/UDP/SCTP (rules without ports allow them too);
 * kube-router's policy chains.
 *
 * - `enforce-twin.ts` puts the enforcer into the cluster twin: Felix's chains
 *   merged into each Calico node's ruleset (the kernel model decides), the
 *   bridge/flannel "enforces nothing" diagnostic, and the policy notes and
 *   explanation in connection traces (`annotatePolicyTrace`).
 */
export * from './ports.js';
export * from './model.js';
export * from './evaluate.js';
export * from './externals.js';
export * from './matrix.js';
export * from './explain.js';
export * from './calico.js';
export * from './enforcer.js';
export * from './enforce-twin.js';
