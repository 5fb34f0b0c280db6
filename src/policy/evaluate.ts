/**
 * Policy evaluation for one pair of endpoints, with the reasons.
 *
 * Traffic from A to B is allowed on a port when A's egress allows it towards
 * B AND B's ingress allows it from A; each direction is decided on its own,
 * at the pod it belongs to, in the order of KEP-2091 (AdminNetworkPolicy):
 *
 *   1. AdminNetworkPolicies selecting the pod, by ascending priority, rules in
 *      order: the first rule whose peers and ports match a port decides it —
 *      Allow, Deny, or Pass (skip the remaining ANPs, go to step 2);
 *   2. NetworkPolicy: if any policy selecting the pod has that direction in
 *      its policyTypes the pod is isolated, and only the union of those
 *      policies' matching rules is allowed (networking.k8s.io/v1 semantics);
 *   3. otherwise the BaselineAdminNetworkPolicy `default`, rules in order,
 *      Allow or Deny;
 *   4. otherwise allowed.
 *
 * This evaluator is the reference: it walks every policy for the pair. The
 * grouped matrix (`matrix.ts`) computes the same thing for every pair at
 * once, and the tests hold the two to each other.
 */
import {
  baselineParts,
  fromOwnNode,
  npSelects,
  peerMatches,
  resolvePorts,
  type AdminRule,
  type CompiledAdminPolicy,
  type Direction,
  type Endpoint,
  type PolicyWorld,
} from './model.js';
import { PortSet } from './ports.js';

export interface AdminDecision {
  readonly policy: string;
  readonly priority?: number;
  readonly rule: string;
  readonly field: string;
  readonly action: AdminRule['action'];
  /** The ports this rule decided (those not already decided by an earlier rule). */
  readonly ports: PortSet;
}

export interface NpHit {
  readonly policy: string;
  readonly field: string;
  /** The rule's peers, as text (`every peer` when it has none). */
  readonly peers: string;
  /** Whether a peer of the rule matches the other endpoint. */
  readonly matched: boolean;
  /** The ports the rule allows towards the destination (named ports resolved). */
  readonly ports: PortSet;
}

export interface DirectionResult {
  readonly direction: Direction;
  /** The pod whose policies decide: the source for egress, the destination for ingress. */
  readonly subject: Endpoint;
  readonly peer: Endpoint;
  readonly allowed: PortSet;
  /** ANP rules that decided some ports, in evaluation order. */
  readonly admin: readonly AdminDecision[];
  /** AdminNetworkPolicies whose subject selects the pod. */
  readonly adminSelecting: readonly string[];
  /** What the ANPs left to NetworkPolicy (undecided plus passed). */
  readonly toNetworkPolicy: PortSet;
  /** NetworkPolicies that isolate the subject in this direction. */
  readonly isolatedBy: readonly string[];
  /** Their rules, matching the peer or not, with the ports each allows. */
  readonly npHits: readonly NpHit[];
  /** BANP rules that decided some ports (only when not isolated). */
  readonly baseline: readonly AdminDecision[];
}

export interface PairResult {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly allowed: PortSet;
  /** A pod to itself: always allowed (`allowed` is every port), whatever the policies say. */
  readonly self?: boolean;
  /** From a hostNetwork pod on the destination's node: the node's traffic, which ingress policy does not restrict. */
  readonly fromNode?: boolean;
  /** For a pod to itself or from its own node, what the policies alone would allow. */
  readonly policiesAllow?: PortSet;
  readonly egress: DirectionResult;
  readonly ingress: DirectionResult;
}

function adminStep(
  p: CompiledAdminPolicy,
  dir: Direction,
  peer: Endpoint,
  dest: Endpoint,
  remaining: PortSet,
  out: AdminDecision[],
): { remaining: PortSet; allow: PortSet; pass: PortSet } {
  let allow = PortSet.EMPTY;
  let pass = PortSet.EMPTY;
  for (const rule of p.rules[dir]) {
    if (remaining.isEmpty()) break;
    if (!rule.peers.some((m) => peerMatches(m, peer))) continue;
    const ports = resolvePorts(rule.ports, dest).intersect(remaining);
    if (ports.isEmpty()) continue;
    remaining = remaining.subtract(ports);
    out.push({
      policy: p.ref,
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
      rule: rule.name,
      field: rule.field,
      action: rule.action,
      ports,
    });
    if (rule.action === 'Allow') allow = allow.union(ports);
    else if (rule.action === 'Pass') pass = pass.union(ports);
  }
  return { remaining, allow, pass };
}

/** Evaluates one direction at `subject` for traffic with `peer`. */
export function evaluateDirection(
  world: PolicyWorld,
  dir: Direction,
  subject: Endpoint,
  peer: Endpoint,
): DirectionResult {
  const dest = dir === 'egress' ? peer : subject;
  const base = { direction: dir, subject, peer };
  if (subject.kind !== 'pod') {
    // Outside the cluster nothing enforces Kubernetes policy.
    return {
      ...base,
      allowed: PortSet.ALL,
      admin: [],
      adminSelecting: [],
      toNetworkPolicy: PortSet.ALL,
      isolatedBy: [],
      npHits: [],
      baseline: [],
    };
  }
  const admin: AdminDecision[] = [];
  let remaining = PortSet.ALL;
  let allowed = PortSet.EMPTY;
  let passed = PortSet.EMPTY;
  const adminSelecting: string[] = [];
  for (const p of world.admin) {
    if (!peerMatches(p.subject, subject)) continue;
    adminSelecting.push(p.ref);
    const r = adminStep(p, dir, peer, dest, remaining, admin);
    remaining = r.remaining;
    allowed = allowed.union(r.allow);
    passed = passed.union(r.pass);
  }
  const undecided = remaining.union(passed);
  const selecting = world.policies.filter((p) => p.isolates[dir] && npSelects(p, subject));
  const npHits: NpHit[] = [];
  const baseline: AdminDecision[] = [];
  const banp = baselineParts(world).find((b) => peerMatches(b.subject, subject));
  if (selecting.length > 0) {
    let np = PortSet.EMPTY;
    for (const p of selecting) {
      for (const rule of p.rules[dir]) {
        const matched = rule.peers === null || rule.peers.some((m) => peerMatches(m, peer));
        const ports = resolvePorts(rule.ports, dest);
        const peers =
          rule.peers === null
            ? 'every peer'
            : rule.peers.map((m) => m.text).join(' | ') || 'no valid peer';
        npHits.push({ policy: p.ref, field: rule.field, peers, matched, ports });
        if (matched) np = np.union(ports);
      }
    }
    allowed = allowed.union(np.intersect(undecided));
  } else if (banp !== undefined) {
    const r = adminStep(banp, dir, peer, dest, undecided, baseline);
    allowed = allowed.union(r.allow).union(r.remaining);
  } else {
    allowed = allowed.union(undecided);
  }
  return {
    ...base,
    allowed,
    admin,
    adminSelecting,
    toNetworkPolicy: undecided,
    isolatedBy: selecting.map((p) => p.ref),
    npHits,
    baseline,
  };
}

/**
 * What `from` may send to `to`. A pod always reaches itself, whatever the
 * policies say: its own address is in its network namespace's local table
 * (`local 10.244.1.5 dev eth0 table local`), so the packet goes out and back
 * in through `lo` without leaving the namespace, and every enforcer sits
 * outside it (Calico's and kube-router's chains are on the host side of the
 * veth, in FORWARD/INPUT/OUTPUT of the node's namespace). The directions are
 * still evaluated, so an explanation can say what the policies alone would
 * decide (`policiesAllow`). Likewise a hostNetwork pod to a pod on its own
 * node: that is the node's traffic, which the destination's ingress policy
 * does not restrict (`fromOwnNode`).
 */
export function evaluatePair(world: PolicyWorld, from: Endpoint, to: Endpoint): PairResult {
  const egress = evaluateDirection(world, 'egress', from, to);
  const ingress = evaluateDirection(world, 'ingress', to, from);
  const policiesAllow = egress.allowed.intersect(ingress.allowed);
  const self = from.kind === 'pod' && to.kind === 'pod' && from.key === to.key;
  if (self) return { from, to, allowed: PortSet.ALL, self, policiesAllow, egress, ingress };
  // From the destination's own node (a hostNetwork pod there): ingress does not apply.
  if (fromOwnNode(from, to))
    return { from, to, allowed: egress.allowed, fromNode: true, policiesAllow, egress, ingress };
  return { from, to, allowed: policiesAllow, egress, ingress };
}
