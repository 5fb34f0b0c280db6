/**
 * What a service port's rules are before any is written: which chains it
 * uses and what stands in for endpoints it lacks (`planServicePort`, the head
 * of `syncProxyRules`' per-service loop), and the nat chains of its own it
 * declares, each with its rule count and what the commit checks read of it
 * (`portChains`) — so a shared port's chains can be placed in every node's
 * table, and their lines numbered, before (or without) being written.
 * `port-plan.test.ts` holds the counts and facts equal to the written chains.
 */

import type { BlockFacts, Place } from '../iptables/validate.js';
import { targetPlace } from '../iptables/validate.js';
import {
  externallyAccessible,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type CategorizedEndpoints,
  type EndpointInfo,
  type ServicePortInfo,
} from './endpoints.js';
import { KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_SERVICES, type ProxierSettings } from './proxier.js';

/** Which chains a service port uses, and what stands in for endpoints it lacks. */
export interface PortPlan {
  readonly hasEndpoints: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  readonly clusterPolicyChain: string;
  readonly localPolicyChain: string;
  readonly usesClusterPolicyChain: boolean;
  readonly usesLocalPolicyChain: boolean;
  readonly internalTrafficChain: string;
  readonly externalPolicyChain: string;
  readonly externalTrafficChain: string;
  readonly usesExternalTrafficChain: boolean;
  readonly loadBalancerTrafficChain: string;
  readonly usesFWChain: boolean;
  readonly internalTrafficFilterTarget: string;
  readonly internalTrafficFilterComment: string;
  readonly externalTrafficFilterTarget: string;
  readonly externalTrafficFilterComment: string;
}

/** The head of syncProxyRules' per-service loop: policy chains and filter targets. */
export function planServicePort(svcInfo: ServicePortInfo, eps: CategorizedEndpoints): PortPlan {
  const svcPortNameString = svcInfo.nameString;
  const { clusterEndpoints, localEndpoints, hasAnyEndpoints: hasEndpoints } = eps;
  const clusterPolicyChain = svcInfo.clusterPolicyChainName;
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(svcInfo);
  const localPolicyChain = svcInfo.localPolicyChainName;
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(svcInfo);

  let internalPolicyChain = clusterPolicyChain;
  let hasInternalEndpoints = hasEndpoints;
  if (svcInfo.internalPolicyLocal) {
    internalPolicyChain = localPolicyChain;
    if (localEndpoints.length === 0) hasInternalEndpoints = false;
  }

  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasEndpoints;
  if (svcInfo.externalPolicyLocal) {
    externalPolicyChain = localPolicyChain;
    if (localEndpoints.length === 0) hasExternalEndpoints = false;
  }
  const externalTrafficChain = svcInfo.externalChainName;
  // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules for
  // local traffic are needed even with no externally usable endpoints.
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(svcInfo);

  const usesFWChain =
    hasEndpoints &&
    svcInfo.loadBalancerVIPs.length > 0 &&
    svcInfo.loadBalancerSourceRanges.length > 0;
  const loadBalancerTrafficChain = usesFWChain ? svcInfo.firewallChainName : externalTrafficChain;

  let internalTrafficFilterTarget = '';
  let internalTrafficFilterComment = '';
  let externalTrafficFilterTarget = '';
  let externalTrafficFilterComment = '';
  if (!hasEndpoints) {
    internalTrafficFilterTarget = 'REJECT';
    internalTrafficFilterComment = `"${svcPortNameString} has no endpoints"`;
    externalTrafficFilterTarget = 'REJECT';
    externalTrafficFilterComment = internalTrafficFilterComment;
  } else {
    if (!hasInternalEndpoints) {
      internalTrafficFilterTarget = 'DROP';
      internalTrafficFilterComment = `"${svcPortNameString} has no local endpoints"`;
    }
    if (!hasExternalEndpoints) {
      externalTrafficFilterTarget = 'DROP';
      externalTrafficFilterComment = `"${svcPortNameString} has no local endpoints"`;
    }
  }
  return {
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    clusterPolicyChain,
    localPolicyChain,
    usesClusterPolicyChain,
    usesLocalPolicyChain,
    internalTrafficChain: internalPolicyChain,
    externalPolicyChain,
    externalTrafficChain,
    usesExternalTrafficChain,
    loadBalancerTrafficChain,
    usesFWChain,
    internalTrafficFilterTarget,
    internalTrafficFilterComment,
    externalTrafficFilterTarget,
    externalTrafficFilterComment,
  };
}

/** One nat chain a port declares: its name, how many rules the sync writes in it, where they jump. */
export interface PortChain {
  readonly name: string;
  readonly count: number;
  /** The chains its rules jump to (each at least once). */
  readonly to: readonly string[];
}

/** A port's own nat chains, counted (`portChains`). */
export interface PortChains {
  /** In the order the sync declares them: KUBE-EXT-, KUBE-FW-, KUBE-SVC-, KUBE-SVL-, KUBE-SEP-. */
  readonly chains: readonly PortChain[];
  /**
   * Whether the internal-traffic masquerade rule goes to a chain the port
   * does not declare (it is then one of its lines for others' chains).
   */
  readonly masqueradeOutside: boolean;
  /** What the commit checks read of the chains (as validate.ts `blockFacts` of them gives). */
  readonly facts: BlockFacts;
}

/** An endpoint chain jumps to KUBE-MARK-MASQ (hairpin) and DNATs. */
const SEP_TO: readonly string[] = [KUBE_MARK_MASQ];
const DNAT: Place = targetPlace('DNAT')!;

/**
 * The nat chains `writeServicePort` declares for this port and how many rules
 * it writes in each, without writing them (what `groupFragment` would make of
 * its lines); undefined where that would not group them (a chain declared
 * twice, or one of the chains every port writes to).
 */
export function portChains(
  s: ProxierSettings,
  svcInfo: ServicePortInfo,
  eps: CategorizedEndpoints,
  plan: PortPlan,
): PortChains | undefined {
  const chains: { name: string; count: number; to: readonly string[] }[] = [];
  const at = new Map<string, number>();
  const declare = (name: string, count: number, to: readonly string[]): void => {
    at.set(name, chains.length);
    chains.push({ name, count, to });
  };
  // writeExternalRules: KUBE-EXT-. A port with a Local external policy or a KUBE-FW- chain
  // (source ranges) reads the node, so it is never shared (share.ts `readsNode`): not counted.
  if (plan.usesFWChain) return undefined;
  if (plan.usesExternalTrafficChain) {
    if (svcInfo.externalPolicyLocal) return undefined;
    const to: string[] = [];
    if (!s.noExternalMasquerade.has(`${svcInfo.namespace}/${svcInfo.name}`))
      to.push(KUBE_MARK_MASQ);
    if (plan.hasExternalEndpoints) to.push(plan.externalPolicyChain);
    declare(plan.externalTrafficChain, to.length, to);
  }
  // writeServiceToEndpointRules: affinity rules, then the ladder, each to an endpoint chain.
  const policy = (name: string, endpoints: readonly EndpointInfo[]): void => {
    const n = endpoints.length;
    declare(name, svcInfo.sessionAffinityClientIP ? 2 * n : n, endpoints.map(epChain));
  };
  if (plan.usesClusterPolicyChain) policy(plan.clusterPolicyChain, eps.clusterEndpoints);
  if (plan.usesLocalPolicyChain) policy(plan.localPolicyChain, eps.localEndpoints);
  // writeEndpointChains: hairpin masquerade, DNAT.
  for (const ep of eps.allReachableEndpoints) {
    if (at.has(ep.chainName)) return undefined;
    declare(ep.chainName, 2, SEP_TO);
  }
  if (at.size !== chains.length || at.has(KUBE_SERVICES) || at.has(KUBE_NODEPORTS))
    return undefined;
  // The internal-traffic masquerade rule, in the chain internal traffic takes (written first).
  let masqueradeOutside = false;
  if (plan.hasInternalEndpoints && (s.masqueradeAll || s.detector)) {
    const k = at.get(plan.internalTrafficChain);
    if (k === undefined) masqueradeOutside = true;
    else {
      const c = chains[k]!;
      chains[k] = { name: c.name, count: c.count + 1, to: [KUBE_MARK_MASQ, ...c.to] };
    }
  }
  const facts = factsOf(chains, at, eps.allReachableEndpoints.length > 0 ? [DNAT] : []);
  return facts && { chains, masqueradeOutside, facts };
}

const epChain = (ep: EndpointInfo): string => ep.chainName;

/** `blockFacts` of a port's chains from their jumps; undefined on a loop (none is written). */
function factsOf(
  chains: readonly PortChain[],
  at: ReadonlyMap<string, number>,
  places: readonly Place[],
): BlockFacts | undefined {
  const external = new Set<string>();
  for (const c of chains) for (const to of c.to) if (!at.has(to)) external.add(to);
  const height = new Int32Array(chains.length).fill(-1);
  const onPath = new Uint8Array(chains.length);
  const heightOf = (k: number): number => {
    if (height[k]! >= 0) return height[k]!;
    if (onPath[k]) return -1;
    onPath[k] = 1;
    let h = 0;
    for (const to of chains[k]!.to) {
      const j = at.get(to);
      if (j === undefined) continue;
      const below = heightOf(j);
      if (below < 0) return -1;
      if (below + 1 > h) h = below + 1;
    }
    onPath[k] = 0;
    return (height[k] = h);
  };
  let most = 0;
  for (let k = 0; k < chains.length; k++) {
    const h = heightOf(k);
    if (h < 0) return undefined;
    if (h > most) most = h;
  }
  return { external: [...external], height: most, places };
}
