/**
 * NetworkPolicy (networking.k8s.io/v1) compiled for evaluation: policyTypes
 * defaulting, peers (podSelector / namespaceSelector / both / ipBlock with
 * except) as `PeerMatcher`s, ports (protocol default TCP, named ports,
 * endPort). The object arrives decoded and validated (`k8s/decode`, as the
 * API server's ValidateNetworkPolicy would); what is added here are lints
 * (rules a policyType leaves without effect).
 */
import type { Location } from '../diag.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../k8s/types.js';
import { fmt, ipMatcher, Notes, type Ctx } from './compile.js';
import {
  ALL_PORTS,
  type CompiledNetworkPolicy,
  type NpRule,
  type PeerMatcher,
  type PortSpec,
} from './model.js';
import { PortSet, type L4Protocol } from './ports.js';

function npPorts(ports: readonly NetworkPolicyPort[] | undefined): PortSpec {
  if (ports === undefined || ports.length === 0) return ALL_PORTS;
  let numeric = PortSet.EMPTY;
  const named: { name: string; protocol: L4Protocol }[] = [];
  const texts: string[] = [];
  for (const np of ports) {
    const proto: L4Protocol = np.protocol ?? 'TCP';
    if (np.port === undefined) {
      numeric = numeric.union(PortSet.protocol(proto));
      texts.push(`${proto} (all ports)`);
    } else if (typeof np.port === 'string') {
      named.push({ name: np.port, protocol: proto });
      texts.push(`${proto} ${np.port}`);
    } else if (np.endPort !== undefined) {
      numeric = numeric.union(PortSet.range(proto, np.port, np.endPort));
      texts.push(`${proto} ${np.port}-${np.endPort}`);
    } else {
      numeric = numeric.union(PortSet.port(proto, np.port));
      texts.push(`${proto} ${np.port}`);
    }
  }
  return { numeric, named, text: texts.join(', ') || 'no valid ports' };
}

function npPeer(n: Notes, ctx: Ctx, p: NetworkPolicyPeer, field: string, ns: string): PeerMatcher {
  if (p.ipBlock !== undefined)
    return ipMatcher(n, ctx, [p.ipBlock.cidr], p.ipBlock.except ?? [], `${field}.ipBlock.cidr`);
  const { podSelector, namespaceSelector } = p;
  // networking/v1 NetworkPolicyPeer: podSelector alone = pods in the policy's
  // namespace; namespaceSelector alone = all pods in matching namespaces; both
  // = matching pods in matching namespaces.
  if (namespaceSelector === undefined) {
    return {
      kind: 'pods',
      namespace: ns,
      podSelector: podSelector ?? {},
      text: `pods ${fmt(podSelector)} in namespace ${ns}`,
    };
  }
  return {
    kind: 'pods',
    namespaceSelector,
    ...(podSelector ? { podSelector } : {}),
    text: `pods ${fmt(podSelector ?? {})} in namespaces ${fmt(namespaceSelector)}`,
  };
}

export function compileNetworkPolicy(
  ctx: Ctx,
  np: NetworkPolicy,
  origin: Location | undefined,
): CompiledNetworkPolicy {
  const ns = np.metadata.namespace || 'default';
  const name = np.metadata.name;
  const ref = `NetworkPolicy ${ns}/${name}`;
  const n = new Notes(ctx, origin, ref);
  const spec = np.spec;
  // policyTypes default (pkg/apis/networking/v1/defaults.go
  // SetDefaults_NetworkPolicy): when empty, Ingress, plus Egress when
  // len(spec.egress) != 0 — so `egress: []` alone does not isolate egress.
  const types = new Set<string>(
    spec.policyTypes === undefined || spec.policyTypes.length === 0
      ? ['Ingress', ...((spec.egress?.length ?? 0) > 0 ? ['Egress'] : [])]
      : spec.policyTypes,
  );
  const rules = { ingress: [] as NpRule[], egress: [] as NpRule[] };
  for (const dir of ['ingress', 'egress'] as const) {
    const peerKey = dir === 'ingress' ? 'from' : 'to';
    (spec[dir] ?? []).forEach((rule, i) => {
      const field = `spec.${dir}[${i}]`;
      const rawPeers = (rule as { from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[] })[peerKey];
      const peers =
        rawPeers === undefined || rawPeers.length === 0
          ? null
          : rawPeers.map((p, j) => npPeer(n, ctx, p, `${field}.${peerKey}[${j}]`, ns));
      rules[dir].push({ index: i, field, peers, ports: npPorts(rule.ports) });
    });
  }
  if (!types.has('Egress') && rules.egress.length > 0) {
    n.warn(
      'policy-egress-ignored',
      'spec.policyTypes',
      'spec.egress is given but policyTypes does not include Egress, so the egress rules have no effect',
    );
  }
  if (!types.has('Ingress') && rules.ingress.length > 0) {
    n.warn(
      'policy-ingress-ignored',
      'spec.policyTypes',
      'spec.ingress is given but policyTypes does not include Ingress, so the ingress rules have no effect',
    );
  }
  return {
    ref,
    namespace: ns,
    name,
    podSelector: spec.podSelector ?? {},
    isolates: { ingress: types.has('Ingress'), egress: types.has('Egress') },
    rules: {
      ingress: types.has('Ingress') ? rules.ingress : [],
      egress: types.has('Egress') ? rules.egress : [],
    },
  };
}
