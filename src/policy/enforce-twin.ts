/**
 * NetworkPolicy in the cluster twin: who enforces it on each node, the
 * iptables rules that enforcer installs there (merged into the node's
 * ruleset so the kernel model decides every packet), and what a connection
 * trace says about it.
 *
 * Enforcers (enforcer.ts `policyEnforcement`):
 * - `calico` with `spec.cni.plugin: calico` — Felix's filter chains for the
 *   node's local workloads (calico.ts `renderCalicoFilter`, IP sets expanded
 *   because the kernel model has no ipset), hooked in as Felix does
 *   (felix/rules/static.go, ChainInsertMode "insert"): `-I FORWARD 1 -j
 *   cali-FORWARD`, `-I INPUT 1 -j cali-INPUT` (workload → host goes through
 *   `cali-wl-to-host` → `cali-from-wl-dispatch`, then the manifests'
 *   DefaultEndpointToHostAction ACCEPT), and the appended `-A FORWARD -m mark
 *   --mark 0x10000/0x10000 -j ACCEPT` ("Policy explicitly accepted packet").
 *   Nothing in OUTPUT: traffic the node itself sends to its pods is not
 *   workload-policed there (and the API allows node → pod anyway).
 *   Egress is decided as the packet arrives from the pod's veth (FORWARD,
 *   `-i caliXXX` → `cali-fw-caliXXX`), ingress as it leaves towards the
 *   destination's veth (`-o caliXXX` → `cali-tw-caliXXX`); a Service's DNAT
 *   already happened in nat PREROUTING, so the chains see pod IPs; replies
 *   are accepted by the `--ctstate RELATED,ESTABLISHED` rule at the top of
 *   every workload chain.
 * - `calico` beside bridge or flannel (`spec.networkPolicy.enforcer:
 *   calico`). Real canal does NOT run Felix on a bridge: its CNI config is
 *   `"type": "calico"` with `host-local` IPAM (`usePodCidr`) — routed `cali`
 *   veths, flannel only carries traffic between nodes. Felix derives every
 *   workload's interface name from the pod (libcalico-go
 *   `VethNameForWorkload`: `cali` + sha1) and matches it with plain `-i`/`-o`
 *   (no `--physdev-*` anywhere in felix/rules). On a node whose pods hang off
 *   `cni0` as `veth…` ports those names exist nowhere, and with
 *   br_netfilter a bridged packet's FORWARD in/out device is the bridge
 *   itself (br_netfilter_hooks.c `br_nf_forward_ip` passes
 *   `brnf_get_logical_dev`), so even a veth name would not match. The twin
 *   installs the chains as Felix would write them and lets the kernel model
 *   show that they match nothing; a diagnostic and every affected trace say
 *   so.
 * - `none` (bridge, flannel) — nothing is installed; the twin says so.
 *
 * Simplification: with no NetworkPolicy at all, Felix's filter chains are
 * not installed (every workload chain would end in the `kns.<ns>` profile,
 * which allows everything); only its nat chains (cni/calico-nat.ts) are.
 * - `kube-router` (`spec.networkPolicy.enforcer: kube-router`, beside any CNI)
 *   — its network policy controller's chains and IP sets for the node's local
 *   pods (kube-router.ts): pods are matched by address, bridged traffic by
 *   `--physdev-is-bridged`, so it enforces on bridge and flannel pods too.
 *   A denied packet is REJECTed (icmp-port-unreachable) in the pod's
 *   KUBE-POD-FW- chain.
 */
import type { Diagnostic } from '../diag.js';
import type { ClusterModel } from '../k8s/model.js';
import type { Step } from '../kernel/step.js';
import { renderCalicoFilter, FELIX_MARK } from './calico.js';
import { KUBE_ROUTER_MARK, renderKubeRouterFilter } from './kube-router.js';
import { evaluatePair, type DirectionResult, type PairResult } from './evaluate.js';
import { policyEnforcement, type Enforcer } from './enforcer.js';
import { explainDirection, type PortQuery } from './explain.js';
import {
  npSelects,
  type Direction,
  type PodEndpoint,
  type PolicyWorld,
  type SourceObject,
} from './model.js';
import { buildPolicyWorld } from './world.js';
import type { L4Protocol } from './ports.js';

export const CODE_POLICY_ENFORCER_MISMATCH = 'policy-enforcer-no-workload-interfaces';

/** How one cluster's policies are (not) enforced, built once per model. */
export interface PolicyEnforcementPlan {
  readonly enforcer: Enforcer;
  /** Whether the enforcer's rules can act on the pods' packets at all. */
  readonly effective: boolean;
  /** The CNI plugin, for messages. */
  readonly cni: string;
  readonly world: PolicyWorld;
  /** Plan-level diagnostics (policy-not-enforced, mismatches, the world's own). */
  readonly diagnostics: readonly Diagnostic[];
  /** Felix's fragment for one node (its local pod-network pods' keys), or undefined when nothing is installed. */
  nodeFragment(node: string, localPods: readonly string[]): PolicyFragment | undefined;
}

export interface PolicyFragment {
  /** `iptables-restore --noflush` text: `:chain`, `-I`/`-A` in Felix's order. */
  readonly text: string;
  /** The component name for merge diagnostics (`calico-felix@node`). */
  readonly name: string;
  /** `ipset restore` text: the IP sets the rules match on (Felix programs them first). */
  readonly ipsetSave: string;
  readonly diagnostics: readonly Diagnostic[];
}

function sourcesOf(model: ClusterModel): SourceObject[] {
  const out: SourceObject[] = [];
  for (const ns of model.namespaces.values()) out.push({ object: { ...ns, kind: 'Namespace' } });
  for (const p of model.pods.values()) out.push({ object: { ...p, kind: 'Pod' } });
  for (const p of model.networkPolicies) out.push({ object: { ...p, kind: 'NetworkPolicy' } });
  for (const p of model.adminNetworkPolicies)
    out.push({ object: { ...p, kind: 'AdminNetworkPolicy' } });
  if (model.baselineAdminNetworkPolicy)
    out.push({
      object: { ...model.baselineAdminNetworkPolicy, kind: 'BaselineAdminNetworkPolicy' },
    });
  return out;
}

const plans = new WeakMap<ClusterModel, PolicyEnforcementPlan>();

/** The cluster's policy enforcement (cached per model: traces call it again). */
export function planPolicyEnforcement(model: ClusterModel): PolicyEnforcementPlan {
  const cached = plans.get(model);
  if (cached) return cached;
  const world = buildPolicyWorld(sourcesOf(model));
  const c = model.cluster;
  const cni = c.cni.plugin;
  const policyCount = world.policies.length + world.admin.length + (world.baseline ? 1 : 0);
  const clusterObject = {
    metadata: { name: c.name },
    spec: {
      cni: { plugin: cni },
      // The model defaults the field to 'none' ("the CNI alone"), so only a named agent is passed on:
      // Calico as the CNI always runs Felix, which enforces policy.
      ...(c.networkPolicy.enforcer !== 'none' ? { networkPolicy: c.networkPolicy } : {}),
    },
  } as unknown as Parameters<typeof policyEnforcement>[0];
  const e = policyEnforcement(clusterObject, policyCount);
  // The world's diagnostics are about objects the model already validated; keep only warnings and errors it adds.
  const diagnostics: Diagnostic[] = world.diagnostics.filter((d) => d.severity !== 'info');
  if (e.diagnostic) diagnostics.push(e.diagnostic);
  let effective = false;
  if (e.enforcer === 'calico') {
    effective = cni === 'calico';
    if (!effective && policyCount > 0)
      diagnostics.push({
        code: CODE_POLICY_ENFORCER_MISMATCH,
        severity: 'warning',
        object: `Cluster ${c.name}`,
        field: 'spec.networkPolicy.enforcer',
        message: `Calico's Felix polices workload interfaces named cali<sha1(ns.pod)> with -i/-o (no --physdev); the ${cni} plugin puts pods on cni0 as veth ports, so Felix's chains match no packet and NetworkPolicy is not enforced`,
        hint: 'canal runs the calico CNI plugin (host-local IPAM, usePodCidr) for the pods and flannel only between nodes: set spec.cni.plugin: calico',
      });
  } else if (e.enforcer === 'kube-router') {
    // kube-router matches pods by address (-d/-s POD_IP, --physdev-is-bridged): any CNI's pods.
    effective = true;
  }
  if (world.admin.length > 0 || world.baseline) {
    if (e.enforcer === 'calico' || e.enforcer === 'kube-router')
      diagnostics.push({
        code: `${e.enforcer}-anp-not-rendered`,
        severity: 'warning',
        message: `AdminNetworkPolicy / BaselineAdminNetworkPolicy are not rendered into ${e.enforcer === 'calico' ? 'Calico' : "kube-router's"} chains; only NetworkPolicy is enforced in traces`,
      });
  }
  const podsByKey = new Map(world.pods.map((p) => [p.key, p] as const));
  const nodeFragment = (node: string, localPods: readonly string[]): PolicyFragment | undefined => {
    // Without any policy every workload chain ends in the kns.<ns> profile (Calico) or the
    // default chain (kube-router), which allow everything: the twin leaves the filter chains
    // out then (no verdict changes, and traces of policy-free clusters stay short).
    if (world.policies.length === 0) return undefined;
    const local = localPods.map((k) => podsByKey.get(k)).filter((p): p is PodEndpoint => !!p);
    if (e.enforcer === 'kube-router') {
      const r = renderKubeRouterFilter(
        { ...world, admin: [], baseline: undefined, baselineParts: [] } as PolicyWorld,
        local,
        { clusterIPRanges: [c.serviceCIDR] },
      );
      return {
        text: r.text,
        name: `kube-router@${node}`,
        ipsetSave: r.ipsetSave,
        diagnostics: [],
      };
    }
    if (e.enforcer !== 'calico') return undefined;
    const r = renderCalicoFilter(
      // ANP diagnostics are given once at plan level.
      { ...world, admin: [], baseline: undefined, baselineParts: [] } as PolicyWorld,
      local,
      { ipsets: 'ipset' },
    );
    return {
      text: felixFragment(r.iptablesSave),
      name: `calico-felix@${node}`,
      ipsetSave: r.ipsetSave,
      diagnostics: r.diagnostics,
    };
  };
  const plan: PolicyEnforcementPlan = {
    enforcer: e.enforcer,
    effective,
    cni,
    world,
    diagnostics,
    nodeFragment,
  };
  plans.set(model, plan);
  return plan;
}

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

/**
 * renderCalicoFilter's iptables-save text as the `--noflush` fragment Felix's
 * table writes amount to: its chains, `-I FORWARD 1` / `-I INPUT 1` jumps on
 * top, the accept-mark ACCEPT appended to FORWARD.
 */
export function felixFragment(save: string): string {
  const chains: string[] = [':cali-INPUT - [0:0]', ':cali-wl-to-host - [0:0]'];
  const rules: string[] = [];
  let forwardAccept: string | undefined;
  for (const line of save.split('\n')) {
    if (line.startsWith(':cali')) chains.push(line);
    else if (line === '-A FORWARD -j cali-FORWARD') continue;
    else if (line.startsWith('-A FORWARD ')) forwardAccept = line;
    else if (line.startsWith('-A ')) rules.push(line);
  }
  const accept = `-m mark --mark ${hex(FELIX_MARK.accept)}/${hex(FELIX_MARK.accept)}`;
  return [
    '*filter',
    ...chains,
    '-I FORWARD 1 -j cali-FORWARD',
    '-I INPUT 1 -j cali-INPUT',
    forwardAccept ??
      `-A FORWARD -m comment --comment "Policy explicitly accepted packet." ${accept} -j ACCEPT`,
    // felix/rules/static.go filterInputChain / filterWorkloadToHostChain (DefaultEndpointToHostAction ACCEPT, as the manifests set it).
    '-A cali-INPUT -i cali+ -g cali-wl-to-host',
    `-A cali-INPUT ${accept} -m comment --comment "Accept packets from flows that pre-date policy" -j ACCEPT`,
    '-A cali-wl-to-host -j cali-from-wl-dispatch',
    '-A cali-wl-to-host -m comment --comment "Configured DefaultEndpointToHostAction" -j ACCEPT',
    ...rules,
    'COMMIT',
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ traces

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
  const plan = planPolicyEnforcement(model);
  const world = plan.world;
  if (world.policies.length === 0 && world.admin.length === 0 && !world.baseline) return trace;
  const byIp = new Map<string, PodEndpoint>();
  for (const p of world.pods) if (p.ip) byIp.set(p.ip, p);
  const src = trace.from.kind === 'pod' ? byIp.get(trace.from.ip) : undefined;
  // The pod the request was for: after DNAT (policies see pod IPs, not ClusterIPs).
  const dnat = trace.rewrites.find((r) => r.leg === 'request' && r.kind === 'DNAT');
  const dstIp = trace.request.received?.dst ?? (dnat ? dnat.to.replace(/:\d+$/, '') : undefined);
  const dport =
    trace.request.received?.dport ??
    (dnat && /:\d+$/.test(dnat.to) ? Number(dnat.to.replace(/^.*:/, '')) : undefined);
  const dst = dstIp !== undefined ? byIp.get(dstIp) : undefined;
  if (!src && !dst) return trace;
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
  if (egressIso.length === 0 && ingressIso.length === 0 && world.admin.length === 0) return trace;
  // Endpoints outside the pod set: evaluate with what is known (a pod alone decides its own direction).
  const other = (ip: string) => ({
    kind: 'external' as const,
    key: `${ip}/32`,
    cidr: `${ip}/32`,
    except: [],
    probe: ipToIntSafe(ip),
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
  const srcNode = src ? model.pods.get(src.key)?.spec.nodeName : undefined;
  const dstNode = dst ? model.pods.get(dst.key)?.spec.nodeName : undefined;
  const hops = trace.request.hops.map((h) => ({ ...h, steps: [...h.steps] }));
  const chainOf = (s: StepLike): string =>
    s.detail && typeof s.detail['chain'] === 'string' ? s.detail['chain'] : '';
  const isForwardFilter = (s: StepLike) =>
    s.kind === 'hook' && s.detail?.['hook'] === 'FORWARD' && s.detail['table'] === 'filter';
  /** The hop on `node` where filter FORWARD ran (the first or last visit), else any visit with steps. */
  const forwardHop = (node: string | undefined, which: 'first' | 'last') => {
    if (node === undefined) return undefined;
    const on = hops.filter((h) => h.host === node);
    const ordered = which === 'first' ? on : [...on].reverse();
    return (
      ordered.find((h) => h.steps.some(isForwardFilter)) ?? ordered.find((h) => h.steps.length > 0)
    );
  };
  const note = (summary: string, detail: Record<string, unknown>): StepLike => ({
    kind: 'note',
    summary,
    detail,
  });
  const insertAfter = (
    h: { steps: StepLike[] },
    pred: (s: StepLike) => boolean,
    step: StepLike,
  ) => {
    const i = h.steps.findIndex(pred);
    h.steps.splice(i < 0 ? h.steps.length : i + 1, 0, step);
  };
  const verdictWord = allowed ? 'would allow it' : 'would deny it';
  // The hops hold the same step shapes the trace had, plus `note` steps (StepView-compatible).
  const done = (): T & { policy: TracePolicy } =>
    ({ ...trace, request: { ...trace.request, hops }, policy }) as unknown as T & {
      policy: TracePolicy;
    };

  if (!enforced) {
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
      const hop = forwardHop(node, which);
      if (!hop || iso.length === 0 || !pod) return;
      const noun = iso.length === 1 ? 'NetworkPolicy' : 'NetworkPolicies';
      const names = iso.map((r) => r.replace(/^NetworkPolicy /, ''));
      insertAfter(
        hop,
        isForwardFilter,
        note(
          `${noun} ${names.join(', ')} ${iso.length === 1 ? 'selects' : 'select'} ${pod.key} (${dir}) but ${who}: the packet passes (the policies ${verdictWord})`,
          { policy: { direction: dir, isolatedBy: iso, enforced: false, enforcer: plan.enforcer } },
        ),
      );
    };
    put(srcNode, 'first', 'egress', egressIso, src);
    put(dstNode, 'last', 'ingress', ingressIso, dst);
    return done();
  }

  // Enforced: find what the kernel model did in the enforcer's chains.
  const enforcer = ENFORCER_CHAINS[plan.enforcer === 'kube-router' ? 'kube-router' : 'calico'];
  if (trace.request.disposition === 'dropped' || trace.request.disposition === 'rejected') {
    for (const h of hops) {
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
      const iso = dir === 'egress' ? egressIso : ingressIso;
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
        explanation,
      };
      h.steps[i] = { ...drop, detail: { ...(drop.detail ?? {}), policy: detail } };
      h.steps.splice(i + 1, 0, note(summary, { policy: detail }));
      break;
    }
    return done();
  }
  // Delivered although the policies deny it: name the enforcer's rule that let it through
  // (kube-router's KUBE-NWPLCY-COMMON accepts ICMP echo, unreachable and time exceeded for every pod).
  if (!allowed) {
    const isEnforcerAccept = (s: StepLike) =>
      s.kind === 'rule' && s.detail?.['target'] === 'ACCEPT' && enforcer.chains.test(chainOf(s));
    const hop = hops.find((h) => h.steps.some(isEnforcerAccept));
    const at = hop?.steps.find(isEnforcerAccept);
    if (hop && at) {
      insertAfter(
        hop,
        (s) => s === at,
        note(
          `the policies deny this, but ${plan.enforcer} accepts it: filter ${chainOf(at)} #${String(at.detail!['index'])}: -A ${chainOf(at)} ${String(at.detail!['text'])} (what the enforcer does, not what the NetworkPolicy API says)`,
          { policy: { verdict: 'enforcer-accepts', enforced: true, rule: at.detail } },
        ),
      );
      return done();
    }
  }
  // Allowed: name the rule that set the enforcer's accept mark in a policy chain
  // (Felix: cali-po- / cali-pi-; kube-router: KUBE-NWPLCY-<hash>).
  for (const [dir, iso, by] of [
    ['egress', egressIso, policy.egress.allowedBy],
    ['ingress', ingressIso, policy.ingress.allowedBy],
  ] as const) {
    if (iso.length === 0) continue;
    const isAccept = (s: StepLike) =>
      s.kind === 'rule' &&
      enforcer.policyChains(dir).test(chainOf(s)) &&
      s.detail?.['target'] === enforcer.acceptMark;
    const hop =
      hops.find((h) => h.steps.some(isAccept)) ??
      forwardHop(dir === 'egress' ? srcNode : dstNode, dir === 'egress' ? 'first' : 'last');
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
  return done();
}

function ipToIntSafe(ip: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return 0;
  return ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
}
