/**
 * policy/ — who may talk to whom: NetworkPolicy (networking.k8s.io/v1) and
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy
 * (policy.networking.k8s.io/v1alpha1, KEP-2091).
 *
 * Reading the objects:
 * - `model.ts` — the policy model: endpoints (pods, external ranges), the one
 *   peer matcher shape (`PeerMatcher`), compiled policies, and the predicates
 *   evaluation reads (`peerMatches`, `resolvePorts`, `npSelects`).
 * - `world.ts` — `buildPolicyWorld`: pods, namespaces and compiled policies.
 * - `networkpolicy.ts` — NetworkPolicy compiled: policyTypes defaulting, peers
 *   (podSelector / namespaceSelector / both / ipBlock with except), ports
 *   (protocol default TCP, named ports, endPort).
 * - `adminpolicy.ts` — ANP/BANP compiled: subject, peers (namespaces / pods /
 *   nodes / networks, relative NamespaceSets), ports (portNumber / namedPort /
 *   portRange), actions, priority.
 * - `compile.ts` — what the two share (diagnostics, ports, CIDR peers).
 *
 * Answering:
 * - `evaluate.ts` — NetworkPolicy evaluation for one pair with reasons
 *   (`evaluatePair`): per direction ANP tiers by priority (Allow / Deny /
 *   Pass), then NetworkPolicy if the pod is isolated, else the baseline, else
 *   allowed; traffic needs egress at the source AND ingress at the
 *   destination.
 * - `groups.ts` — reach grouping: pods no policy can tell apart, found once.
 * - `matrix.ts` — every pair at once, per group (`computeMatrix`), including
 *   the external ranges the policy CIDRs carve out (`externals.ts`).
 * - `ports.ts` — the exact per-protocol port-interval algebra the answers are
 *   written in (`TCP 1-79,81-65535`).
 * - `explain.ts` — the reasons for one pair, as text and JSON.
 *
 * Enforcing:
 * - `enforcer.ts` — who implements the policies (bridge and flannel implement
 *   none, a trap the twin reports).
 * - `calico.ts` — what Calico's Felix installs for a node's pods (cali-FORWARD,
 *   cali-fw-/cali-tw- per workload, cali-pi-/cali-po- per policy, mark-based
 *   accept) as iptables-save text and IP sets.
 * - `kube-router.ts` — kube-router's network policy controller chains and IP
 *   sets (KUBE-ROUTER-*, KUBE-POD-FW-, KUBE-NWPLCY-).
 * - `enforce-twin.ts` — the enforcer in the cluster twin: its rules merged
 *   into each node's ruleset (the kernel model decides), or the "enforces
 *   nothing" diagnostic.
 * - `trace-annotate.ts` — the policy decision and notes in connection traces
 *   (`annotatePolicyTrace`).
 * Real-kernel tests load the Calico and kube-router rules and check they
 * enforce what `matrix.ts` says.
 *
 * Not modelled: IPv6; protocols other than TCP/UDP/SCTP (rules without ports
 * allow them too); AdminNetworkPolicy in the enforcers' chains.
 */
export * from './ports.js';
export * from './model.js';
export * from './world.js';
export * from './evaluate.js';
export * from './externals.js';
export * from './groups.js';
export * from './matrix.js';
export * from './explain.js';
export * from './calico.js';
export * from './kube-router.js';
export * from './enforcer.js';
export * from './enforce-twin.js';
export * from './trace-annotate.js';
