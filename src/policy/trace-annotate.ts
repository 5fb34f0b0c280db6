/**
 * The policy decision in a connection trace (`annotatePolicyTrace`): the
 * trace's `policy` field (what NetworkPolicy and AdminNetworkPolicy say about
 * the connection, per direction, with the rules that allow it), and notes on
 * the steps where it shows — where the policy applies but nothing enforces it
 * (bridge, flannel, Felix beside a bridge), the step that dropped a denied
 * packet, the enforcer rule that accepted a packet the policies deny, the rule
 * that marked an allowed packet.
 */
import type { ClusterModel } from '../k8s/model.js';
import type { Step } from '../kernel/step.js';
import { ipv4Value } from '../wire/addr.js';
import { FELIX_MARK } from './calico.js';
import { planPolicyEnforcement, type PolicyEnforcementPlan } from './enforce-twin.js';
import type { Enforcer } from './enforcer.js';
import { evaluatePair, type DirectionResult, type PairResult } from './evaluate.js';
import { explainDirection, type PortQuery } from './explain.js';
import { KUBE_ROUTER_MARK } from './kube-router.js';
import { npSelects, type Direction, type PodEndpoint } from './model.js';
import type { L4Protocol } from './ports.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Where each enforcer's verdicts show in a trace: its chains, and the rule that marks a packet allowed. */
const ENFORCER_CHAINS: Record<
  'calico' | 'kube-router',
  {
    /** Every chain the enforcer installs. */
    readonly chains: RegExp;
    /** The policy chains whose accept-mark rule says which NetworkPolicy rule allowed `dir`. */
    readonly policyChains: (dir: Direction) => RegExp;
    readonly acceptMark: string;
  }
> = {
  calico: {
    chains: /^cali-/,
    policyChains: (dir) => (dir === 'egress' ? /^cali-po-/ : /^cali-pi-/),
    acceptMark: `MARK --set-xmark ${hex(FELIX_MARK.accept)}/${hex(FELIX_MARK.accept)}`,
  },
  'kube-router': {
    chains: /^KUBE-(POD-FW|NWPLCY)-/,
    policyChains: () => /^KUBE-NWPLCY-(?!DEFAULT$|COMMON$)/,
    acceptMark: `MARK --set-xmark ${hex(KUBE_ROUTER_MARK.allowed)}/${hex(KUBE_ROUTER_MARK.allowed)}`,
  },
};
/** The parts of a connection trace this module reads and annotates (trace/connection.ts). */
interface StepLike {
  readonly kind: Step['kind'];
  readonly summary: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}
interface HopLike {
  readonly host: string;
  readonly role: string;
  readonly steps: readonly StepLike[];
}
interface LegLike {
  readonly disposition: string;
  readonly at?: string;
  readonly received?: { readonly dst: string; readonly dport?: number; readonly src: string };
  readonly hops: readonly HopLike[];
}
interface TraceLike {
  readonly from: { readonly kind: string; readonly host?: string; readonly ip: string };
  readonly proto: string;
  readonly request: LegLike;
  readonly rewrites: readonly {
    readonly leg: string;
    readonly kind: string;
    readonly to: string;
  }[];
}

/** The policy verdict for a traced connection, as the trace's `policy` field. */
export interface TracePolicy {
  readonly enforcer: Enforcer;
  /** Whether the enforcer's rules act on these pods' packets. */
  readonly enforced: boolean;
  readonly from: string;
  readonly to: string;
  readonly port?: string;
  /** What the NetworkPolicies say (policy/engine.ts), whatever enforces them. */
  readonly allowedByPolicy: boolean;
  readonly egress: {
    readonly isolatedBy: readonly string[];
    readonly allowedBy: readonly string[];
  };
  readonly ingress: {
    readonly isolatedBy: readonly string[];
    readonly allowedBy: readonly string[];
  };
  readonly explanation: readonly string[];
}

function allowedBy(r: DirectionResult, q: PortQuery | undefined): string[] {
  return r.npHits
    .filter((h) => h.matched && (q === undefined || h.ports.has(q.protocol, q.port)))
    .map((h) => `${h.policy} ${h.field}`);
}

/** What the notes of one trace are written from. */
interface Annotation {
  readonly plan: PolicyEnforcementPlan;
  readonly q: PortQuery | undefined;
  readonly pair: PairResult;
  /** What the policies say about the whole connection. */
  readonly allowed: boolean;
  readonly explanation: readonly string[];
  readonly policy: TracePolicy;
  readonly src: PodEndpoint | undefined;
  readonly dst: PodEndpoint | undefined;
  readonly srcNode: string | undefined;
  readonly dstNode: string | undefined;
  readonly egressIso: readonly string[];
  readonly ingressIso: readonly string[];
  /** The request's hops, copied: the notes are inserted here. */
  readonly hops: { readonly host: string; readonly role: string; steps: StepLike[] }[];
}

const chainOf = (s: StepLike): string =>
  s.detail && typeof s.detail['chain'] === 'string' ? s.detail['chain'] : '';
const isForwardFilter = (s: StepLike) =>
  s.kind === 'hook' && s.detail?.['hook'] === 'FORWARD' && s.detail['table'] === 'filter';
const note = (summary: string, detail: Record<string, unknown>): StepLike => ({
  kind: 'note',
  summary,
  detail,
});
function insertAfter(h: { steps: StepLike[] }, pred: (s: StepLike) => boolean, step: StepLike) {
  const i = h.steps.findIndex(pred);
  h.steps.splice(i < 0 ? h.steps.length : i + 1, 0, step);
}
/** The hop on `node` where filter FORWARD ran (the first or last visit), else any visit with steps. */
function forwardHop(a: Annotation, node: string | undefined, which: 'first' | 'last') {
  if (node === undefined) return undefined;
  const on = a.hops.filter((h) => h.host === node);
  const ordered = which === 'first' ? on : [...on].reverse();
  return (
    ordered.find((h) => h.steps.some(isForwardFilter)) ?? ordered.find((h) => h.steps.length > 0)
  );
}

/**
 * The policy verdict for the connection, or undefined when no pod of it is
 * selected by any policy (the trace stays as it is).
 */
function decide(model: ClusterModel, trace: TraceLike): Annotation | undefined {
  const plan = planPolicyEnforcement(model);
  const world = plan.world;
  if (world.policies.length === 0 && world.admin.length === 0 && !world.baseline) return undefined;
  const byIp = new Map<string, PodEndpoint>();
  for (const p of world.pods) if (p.ip && !p.hostNetwork) byIp.set(p.ip, p);
  // A hostNetwork pod sends from its node's address, shared by every hostNetwork pod there; any
  // of them answers alike (no policy selects one; only an ipBlock of the node's address matches).
  const hostPod = (ip: string) => world.pods.find((p) => p.hostNetwork && p.ip === ip);
  const src =
    trace.from.kind === 'pod' ? (byIp.get(trace.from.ip) ?? hostPod(trace.from.ip)) : undefined;
  // The pod the request was for: after DNAT (policies see pod IPs, not ClusterIPs).
  const dnat = trace.rewrites.find((r) => r.leg === 'request' && r.kind === 'DNAT');
  const dstIp = trace.request.received?.dst ?? (dnat ? dnat.to.replace(/:\d+$/, '') : undefined);
  const dport =
    trace.request.received?.dport ??
    (dnat && /:\d+$/.test(dnat.to) ? Number(dnat.to.replace(/^.*:/, '')) : undefined);
  const dst = dstIp !== undefined ? byIp.get(dstIp) : undefined;
  if (!src && !dst) return undefined;
  const proto = trace.proto.toUpperCase();
  const q: PortQuery | undefined =
    (proto === 'TCP' || proto === 'UDP' || proto === 'SCTP') && dport !== undefined
      ? { protocol: proto as L4Protocol, port: dport }
      : undefined;
  const selected = (p: PodEndpoint | undefined, dir: 'ingress' | 'egress') =>
    p
      ? world.policies.filter((np) => np.isolates[dir] && npSelects(np, p)).map((np) => np.ref)
      : [];
  const egressIso = selected(src, 'egress');
  const ingressIso = selected(dst, 'ingress');
  if (egressIso.length === 0 && ingressIso.length === 0 && world.admin.length === 0)
    return undefined;
  // Endpoints outside the pod set: evaluate with what is known (a pod alone decides its own direction).
  const other = (ip: string) => ({
    kind: 'external' as const,
    key: `${ip}/32`,
    cidr: `${ip}/32`,
    except: [],
    probe: Math.max(0, ipv4Value(ip)),
  });
  const pair: PairResult = evaluatePair(
    world,
    src ?? other(trace.from.ip),
    dst ?? other(dstIp ?? '0.0.0.0'),
  );
  // ICMP and other protocols: only a rule without ports allows them; the port algebra cannot tell
  // "no ports" from "every port of TCP, UDP and SCTP", so the latter counts too (as calico.ts renders it).
  const allowed = q ? pair.allowed.has(q.protocol, q.port) : pair.allowed.isAll();
  const explanation = [...explainDirection(pair.egress, q), ...explainDirection(pair.ingress, q)];
  const enforced =
    (plan.enforcer === 'calico' || plan.enforcer === 'kube-router') && plan.effective;
  const policy: TracePolicy = {
    enforcer: plan.enforcer,
    enforced,
    from: pair.from.key,
    to: pair.to.key,
    ...(q ? { port: `${q.protocol}/${q.port}` } : {}),
    allowedByPolicy: allowed,
    egress: { isolatedBy: egressIso, allowedBy: allowedBy(pair.egress, q) },
    ingress: { isolatedBy: ingressIso, allowedBy: allowedBy(pair.ingress, q) },
    explanation,
  };
  return {
    plan,
    q,
    pair,
    allowed,
    explanation,
    policy,
    src,
    dst,
    srcNode: src ? model.pods.get(src.key)?.spec.nodeName : undefined,
    dstNode: dst ? model.pods.get(dst.key)?.spec.nodeName : undefined,
    egressIso,
    ingressIso,
    hops: trace.request.hops.map((h) => ({ ...h, steps: [...h.steps] })),
  };
}

/** Nothing enforces the policies: say so where each direction would apply. */
function noteUnenforced(a: Annotation): void {
  const { plan, q, pair } = a;
  // Each note speaks for its own direction: the egress side can allow what the ingress side denies.
  const verdictWord = (dir: 'egress' | 'ingress') => {
    const r = dir === 'egress' ? pair.egress : pair.ingress;
    const allows = q ? r.allowed.has(q.protocol, q.port) : r.allowed.isAll();
    return `for ${dir}, the policies would ${allows ? 'allow' : 'deny'} it`;
  };
  const who =
    plan.enforcer === 'calico'
      ? `Calico's Felix beside cni ${plan.cni} matches only cali* workload interfaces, which this node does not have, so it enforces nothing`
      : `cni ${plan.cni} enforces nothing`;
  const put = (
    node: string | undefined,
    which: 'first' | 'last',
    dir: 'egress' | 'ingress',
    iso: readonly string[],
    pod: PodEndpoint | undefined,
  ) => {
    const hop = forwardHop(a, node, which);
    if (!hop || iso.length === 0 || !pod) return;
    const noun = iso.length === 1 ? 'NetworkPolicy' : 'NetworkPolicies';
    const names = iso.map((r) => r.replace(/^NetworkPolicy /, ''));
    insertAfter(
      hop,
      isForwardFilter,
      note(
        `${noun} ${names.join(', ')} ${iso.length === 1 ? 'selects' : 'select'} ${pod.key} (${dir}) but ${who}: the packet passes (${verdictWord(dir)})`,
        { policy: { direction: dir, isolatedBy: iso, enforced: false, enforcer: plan.enforcer } },
      ),
    );
  };
  put(a.srcNode, 'first', 'egress', a.egressIso, a.src);
  put(a.dstNode, 'last', 'ingress', a.ingressIso, a.dst);
}

type EnforcerChains = (typeof ENFORCER_CHAINS)[keyof typeof ENFORCER_CHAINS];

/** A dropped or rejected request: explain the drop if the enforcer's chains made it. */
function noteDrop(a: Annotation, enforcer: EnforcerChains): void {
  const { q, pair, allowed } = a;
  for (const h of a.hops) {
    const i = h.steps.findIndex((s) => s.kind === 'drop');
    if (i < 0) continue;
    const drop = h.steps[i]!;
    const rule = h.steps
      .slice(0, i)
      .reverse()
      .find((s) => s.kind === 'rule');
    if (!(rule && enforcer.chains.test(chainOf(rule)))) break;
    const egressDenied = q
      ? !pair.egress.allowed.has(q.protocol, q.port)
      : pair.egress.allowed.isEmpty();
    const dir = egressDenied ? 'egress' : 'ingress';
    const iso = dir === 'egress' ? a.egressIso : a.ingressIso;
    const subject = dir === 'egress' ? pair.from.key : pair.to.key;
    const peer = dir === 'egress' ? pair.to.key : pair.from.key;
    const what = q ? `${q.protocol}/${q.port} ` : '';
    const summary = allowed
      ? `dropped by ${chainOf(rule)}, yet the policies allow this connection: the rules and the policy engine disagree (please report)`
      : `${dir} denied: ${iso.length === 1 ? 'NetworkPolicy' : 'NetworkPolicies'} ${iso.map((r) => r.replace(/^NetworkPolicy /, '')).join(', ')} isolate${iso.length === 1 ? 's' : ''} ${subject} and no rule allows ${what}${dir === 'egress' ? 'to' : 'from'} ${peer}`;
    const detail = {
      verdict: allowed ? 'disagreement' : 'denied',
      direction: dir,
      isolatedBy: iso,
      rule: rule.detail,
      explanation: a.explanation,
    };
    h.steps[i] = { ...drop, detail: { ...(drop.detail ?? {}), policy: detail } };
    h.steps.splice(i + 1, 0, note(summary, { policy: detail }));
    break;
  }
}

/**
 * Delivered although the policies deny it: name the enforcer's rule that let
 * it through (kube-router's KUBE-NWPLCY-COMMON accepts ICMP echo, unreachable
 * and time exceeded for every pod). False when no such rule is in the trace.
 */
function noteEnforcerAccept(a: Annotation, enforcer: EnforcerChains): boolean {
  const isEnforcerAccept = (s: StepLike) =>
    s.kind === 'rule' && s.detail?.['target'] === 'ACCEPT' && enforcer.chains.test(chainOf(s));
  const hop = a.hops.find((h) => h.steps.some(isEnforcerAccept));
  const at = hop?.steps.find(isEnforcerAccept);
  if (!hop || !at) return false;
  insertAfter(
    hop,
    (s) => s === at,
    note(
      `the policies deny this, but ${a.plan.enforcer} accepts it: filter ${chainOf(at)} #${String(at.detail!['index'])}: -A ${chainOf(at)} ${String(at.detail!['text'])} (what the enforcer does, not what the NetworkPolicy API says)`,
      { policy: { verdict: 'enforcer-accepts', enforced: true, rule: at.detail } },
    ),
  );
  return true;
}

/**
 * Allowed: name the rule that set the enforcer's accept mark in a policy
 * chain (Felix: cali-po- / cali-pi-; kube-router: KUBE-NWPLCY-<hash>).
 */
function noteAllowed(a: Annotation, enforcer: EnforcerChains): void {
  for (const [dir, iso, by] of [
    ['egress', a.egressIso, a.policy.egress.allowedBy],
    ['ingress', a.ingressIso, a.policy.ingress.allowedBy],
  ] as const) {
    if (iso.length === 0) continue;
    const isAccept = (s: StepLike) =>
      s.kind === 'rule' &&
      enforcer.policyChains(dir).test(chainOf(s)) &&
      s.detail?.['target'] === enforcer.acceptMark;
    const hop =
      a.hops.find((h) => h.steps.some(isAccept)) ??
      forwardHop(a, dir === 'egress' ? a.srcNode : a.dstNode, dir === 'egress' ? 'first' : 'last');
    if (!hop) continue;
    const at = hop.steps.find(isAccept);
    const ref = at?.detail
      ? ` (filter ${chainOf(at)} #${String(at.detail['index'])}: -A ${chainOf(at)} ${String(at.detail['text'])})`
      : '';
    insertAfter(
      hop,
      at ? (s) => s === at : isForwardFilter,
      note(
        `${dir} allowed by ${by.join(', ') || 'no NetworkPolicy rule (AdminNetworkPolicy decided)'}${ref}`,
        {
          policy: { direction: dir, isolatedBy: iso, allowedBy: by, enforced: true },
          ...(at?.detail ? { rule: at.detail } : {}),
        },
      ),
    );
  }
}

/**
 * Annotates a connection trace with the policy decision: notes where the
 * policy applies (or would, had anything enforced it), the explanation on
 * the step that dropped a denied packet, the allowing rule on the step that
 * accepted it. Returns the trace unchanged when no pod of the connection is
 * selected by any policy.
 */
export function annotatePolicyTrace<T extends TraceLike>(
  model: ClusterModel,
  trace: T,
): T & { policy?: TracePolicy } {
  const a = decide(model, trace);
  if (!a) return trace;
  if (!a.policy.enforced) noteUnenforced(a);
  else {
    // Enforced: find what the kernel model did in the enforcer's chains.
    const enforcer = ENFORCER_CHAINS[a.plan.enforcer === 'kube-router' ? 'kube-router' : 'calico'];
    const d = trace.request.disposition;
    if (d === 'dropped' || d === 'rejected') noteDrop(a, enforcer);
    else if (a.allowed || !noteEnforcerAccept(a, enforcer)) noteAllowed(a, enforcer);
  }
  // The hops hold the same step shapes the trace had, plus `note` steps (StepView-compatible).
  return {
    ...trace,
    request: { ...trace.request, hops: a.hops },
    policy: a.policy,
  } as unknown as T & {
    policy: TracePolicy;
  };
}
