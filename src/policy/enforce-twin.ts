/**
 * NetworkPolicy in the cluster twin: who enforces it on each node
 * (`planPolicyEnforcement`), and the iptables rules and IP sets that enforcer
 * installs there (`nodeFragment`), merged into the node's ruleset so the
 * kernel model decides every packet. What a connection trace says about it is
 * `trace-annotate.ts`.
 *
 * Enforcers (enforcer.ts `policyEnforcement`):
 * - `calico` with `spec.cni.plugin: calico` — Felix's filter chains for the
 *   node's local workloads (calico.ts `renderCalicoFilter`, with Felix's IP
 *   sets, loaded as `ipset restore` text), hooked in as Felix does
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
 * - `kube-router` (`spec.networkPolicy.enforcer: kube-router`, beside any CNI)
 *   — its network policy controller's chains and IP sets for the node's local
 *   pods (kube-router.ts): pods are matched by address, bridged traffic by
 *   `--physdev-is-bridged`, so it enforces on bridge and flannel pods too.
 *   A denied packet is REJECTed (icmp-port-unreachable) in the pod's
 *   KUBE-POD-FW- chain.
 * - `none` (bridge, flannel) — nothing is installed; the twin says so.
 *
 * Simplification: with no NetworkPolicy at all, neither enforcer's filter
 * chains are installed (every workload chain would end in the `kns.<ns>`
 * profile or kube-router's default chain, which allow everything); Calico's
 * nat chains (cni/calico-nat.ts) still are. AdminNetworkPolicy is not
 * rendered into either enforcer's chains (a diagnostic says so).
 */
import type { Diagnostic } from '../diag.js';
import type { ClusterModel } from '../k8s/model.js';
import { renderCalicoFilter, FELIX_MARK } from './calico.js';
import { renderKubeRouterFilter } from './kube-router.js';
import { policyEnforcement, type Enforcer } from './enforcer.js';
import type { PodEndpoint, PolicyWorld, SourceObject } from './model.js';
import { buildPolicyWorld } from './world.js';

const hex = (n: number) => `0x${n.toString(16)}`;

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

/**
 * The objects the policy world is built from. Without any policy no pod can be
 * selected, isolated or told apart: the pods are left out then (nothing reads
 * them — `nodeFragment` installs nothing and traces carry no verdict), which
 * spares a 150,000-pod cluster a world it would never consult.
 */
function sourcesOf(model: ClusterModel): SourceObject[] {
  const out: SourceObject[] = [];
  const anyPolicy =
    model.networkPolicies.length > 0 ||
    model.adminNetworkPolicies.length > 0 ||
    model.baselineAdminNetworkPolicy !== undefined;
  for (const ns of model.namespaces.values()) out.push({ object: { ...ns, kind: 'Namespace' } });
  if (anyPolicy) for (const p of model.pods.values()) out.push({ object: { ...p, kind: 'Pod' } });
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
  // The enforcers' sets hold workload addresses only: a hostNetwork pod is the node's address.
  const enforced: PolicyWorld = { ...world, pods: world.pods.filter((p) => !p.hostNetwork) };
  const nodeFragment = (node: string, localPods: readonly string[]): PolicyFragment | undefined => {
    // Without any policy every workload chain ends in the kns.<ns> profile (Calico) or the
    // default chain (kube-router), which allow everything: the twin leaves the filter chains
    // out then (no verdict changes, and traces of policy-free clusters stay short).
    if (world.policies.length === 0) return undefined;
    // hostNetwork pods are the node itself: no workload interface, no pod chain.
    const local = localPods
      .map((k) => podsByKey.get(k))
      .filter((p): p is PodEndpoint => !!p && !p.hostNetwork);
    if (e.enforcer === 'kube-router') {
      const r = renderKubeRouterFilter(
        { ...enforced, admin: [], baseline: undefined, baselineParts: [] } as PolicyWorld,
        local,
        {
          clusterIPRanges: [c.serviceCIDR],
          // kube-router reads the API server's --service-node-port-range as the cluster's.
          nodePortRange: `${c.serviceNodePortRange.base}:${c.serviceNodePortRange.base + c.serviceNodePortRange.size - 1}`,
        },
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
      { ...enforced, admin: [], baseline: undefined, baselineParts: [] } as PolicyWorld,
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
