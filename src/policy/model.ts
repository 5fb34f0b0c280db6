/**
 * The policy model: the endpoints policies talk about (pods, external
 * ranges), the one matcher shape every NetworkPolicy and AdminNetworkPolicy
 * peer compiles to (`PeerMatcher`), the compiled policies, and the
 * predicates evaluation reads (`peerMatches`, `resolvePorts`, `npSelects`).
 *
 * Built by `world.ts` (`buildPolicyWorld`) from `networkpolicy.ts` and
 * `adminpolicy.ts`; read by `evaluate.ts` (one pair) and `matrix.ts` (every
 * pair).
 */
import type { Location } from '../diag.js';
import { matchesSelector } from '../k8s/selector.js';
import type { LabelSelector } from '../k8s/types.js';
import { ipToInt, maskOf, parseCidr } from '../wire/addr.js';
import { PortSet, type L4Protocol } from './ports.js';
import type { Diagnostic } from '../diag.js';

/** One loaded object and where it came from (`k8s/load` gives both). */
export interface SourceObject {
  readonly object: unknown;
  readonly origin?: Location;
}

export interface PodPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: L4Protocol;
}

export interface PodEndpoint {
  readonly kind: 'pod';
  /** `ns/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nsLabels: Readonly<Record<string, string>>;
  readonly ip?: string;
  readonly ipInt?: number;
  readonly ports: readonly PodPort[];
  /** The node the pod runs on (`spec.nodeName`), when known. */
  readonly node?: string;
  /**
   * A hostNetwork pod: its node's network namespace and address. No policy
   * selects it, and as a peer only what matches its node's address (an
   * ipBlock) matches it — see `peerMatches`.
   */
  readonly hostNetwork?: true;
}

/**
 * An address range outside the known pods that the policies' CIDRs carve out:
 * `cidr` minus the more specific policy CIDRs inside it (`except`). Every
 * address in it is treated alike by every policy, so one `probe` address
 * stands for all.
 */
export interface ExternalEndpoint {
  readonly kind: 'external';
  /** The CIDR, e.g. `0.0.0.0/4`; the key used in matrices. */
  readonly key: string;
  readonly cidr: string;
  readonly except: readonly string[];
  readonly probe: number;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

/** [lo, hi] address range of a CIDR, as unsigned 32-bit integers. */
export interface AddrRange {
  readonly lo: number;
  readonly hi: number;
  readonly text: string;
}

export type PeerMatcher =
  | {
      /** Pods: in `namespace` if set, in namespaces matching `namespaceSelector` if set, matching `podSelector` if set. */
      readonly kind: 'pods';
      readonly namespace?: string;
      readonly namespaceSelector?: LabelSelector;
      readonly podSelector?: LabelSelector;
      /**
       * An ANP peer's namespaces relative to the subject's: only while
       * compiling; buildPolicyWorld resolves it per subject namespace
       * (expandRelations), so the world never holds one.
       */
      readonly relation?: Relation;
      readonly text: string;
    }
  | {
      /** Addresses in any of `include` and none of `exclude` (ipBlock, ANP networks). */
      readonly kind: 'ip';
      readonly include: readonly AddrRange[];
      readonly exclude: readonly AddrRange[];
      readonly text: string;
    }
  | {
      /** ANP `nodes`: host-network endpoints, none of which are in the pod matrix. */
      readonly kind: 'nodes';
      readonly text: string;
    };

/** Namespaces relative to an ANP subject's own (the earlier v1alpha1 NamespaceSet forms). */
export type Relation =
  | { readonly kind: 'self' | 'notSelf' }
  | { readonly kind: 'sameLabels' | 'notSameLabels'; readonly keys: readonly string[] };

/**
 * Whether namespace `ns` (labels `nsLabels`) is related to the subject's
 * namespace `subjectNs` (labels `subjectLabels`) as `r` says. sameLabels: every
 * key present on both with equal values; notSameLabels: every key present on
 * both and some value different; an empty key list selects nothing (the API's
 * NamespaceSet doc; network-policy-api policy-assistant's matchers).
 */
export function related(
  r: Relation,
  ns: string,
  nsLabels: Readonly<Record<string, string>>,
  subjectNs: string,
  subjectLabels: Readonly<Record<string, string>>,
): boolean {
  switch (r.kind) {
    case 'self':
      return ns === subjectNs;
    case 'notSelf':
      return ns !== subjectNs;
    case 'sameLabels':
    case 'notSameLabels': {
      if (r.keys.length === 0) return false;
      let differs = false;
      for (const k of r.keys) {
        const a = nsLabels[k];
        const b = subjectLabels[k];
        if (a === undefined || b === undefined) return false;
        if (a !== b) differs = true;
      }
      return r.kind === 'sameLabels' ? !differs : differs;
    }
  }
}

/** Ports of a rule: numeric ports are fixed, named ports resolve on the destination pod. */
export interface PortSpec {
  readonly numeric: PortSet;
  readonly named: readonly { readonly name: string; readonly protocol: L4Protocol }[];
  readonly text: string;
}

export type Direction = 'ingress' | 'egress';

export interface NpRule {
  readonly index: number;
  /** `spec.ingress[0]`. */
  readonly field: string;
  /** null: no `from`/`to` (or empty), every peer. */
  readonly peers: readonly PeerMatcher[] | null;
  readonly ports: PortSpec;
}

export interface CompiledNetworkPolicy {
  readonly ref: string;
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  readonly isolates: Readonly<Record<Direction, boolean>>;
  readonly rules: Readonly<Record<Direction, readonly NpRule[]>>;
}

export interface AdminRule {
  readonly index: number;
  readonly field: string;
  readonly name: string;
  readonly action: 'Allow' | 'Deny' | 'Pass';
  readonly peers: readonly PeerMatcher[];
  readonly ports: PortSpec;
}

export interface CompiledAdminPolicy {
  readonly kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  readonly ref: string;
  readonly name: string;
  /** ANP priority; the BANP has none. */
  readonly priority?: number;
  readonly subject: PeerMatcher & { kind: 'pods' };
  readonly rules: Readonly<Record<Direction, readonly AdminRule[]>>;
}

export interface PolicyWorld {
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Sorted by key. */
  readonly pods: readonly PodEndpoint[];
  readonly policies: readonly CompiledNetworkPolicy[];
  /** Sorted by priority, then name (evaluation order). */
  readonly admin: readonly CompiledAdminPolicy[];
  readonly baseline?: CompiledAdminPolicy;
  /**
   * The baseline as evaluated: `[baseline]`, or one copy per subject namespace
   * when its peers are relative (expandRelations). Read it with baselineParts.
   */
  readonly baselineParts?: readonly CompiledAdminPolicy[];
  /** Every CIDR in an ipBlock, an except or an ANP network: the external ranges. */
  readonly cidrs: readonly AddrRange[];
  readonly diagnostics: readonly Diagnostic[];
}

export const ALL_PORTS: PortSpec = { numeric: PortSet.ALL, named: [], text: 'all ports' };

export const NS_NAME_LABEL = 'kubernetes.io/metadata.name';

// ---------------------------------------------------------------------------

/**
 * Does the peer match the endpoint? Pod selectors never match external ranges,
 * nor hostNetwork pods: a hostNetwork pod's packets carry its node's address,
 * and enforcers tell pods apart by address (Calico's IP sets and kube-router's
 * hold pod-network IPs only; the NetworkPolicy docs' "most common
 * implementation": hostNetwork pods are ignored when matching podSelector and
 * namespaceSelector, their traffic is the node's). An ipBlock covering the
 * node's address matches them.
 */
export function peerMatches(m: PeerMatcher, ep: Endpoint): boolean {
  switch (m.kind) {
    case 'pods':
      if (ep.kind !== 'pod' || ep.hostNetwork || m.relation !== undefined) return false;
      if (m.namespace !== undefined && ep.namespace !== m.namespace) return false;
      if (m.namespaceSelector !== undefined && !matchesSelector(ep.nsLabels, m.namespaceSelector))
        return false;
      return m.podSelector === undefined || matchesSelector(ep.labels, m.podSelector);
    case 'ip': {
      const a = ep.kind === 'pod' ? ep.ipInt : ep.probe;
      if (a === undefined) return false;
      return (
        m.include.some((r) => a >= r.lo && a <= r.hi) &&
        !m.exclude.some((r) => a >= r.lo && a <= r.hi)
      );
    }
    case 'nodes':
      return false;
  }
}

/** The ports a rule allows towards `dest` (named ports look at dest's containers). */
export function resolvePorts(spec: PortSpec, dest: Endpoint): PortSet {
  if (spec.named.length === 0 || dest.kind !== 'pod') return spec.numeric;
  let out = spec.numeric;
  for (const n of spec.named) {
    for (const p of dest.ports) {
      if (p.name === n.name && p.protocol === n.protocol)
        out = out.union(PortSet.port(p.protocol, p.port));
    }
  }
  return out;
}

/** Whether NetworkPolicy `p` selects `pod`; its podSelector never applies to hostNetwork pods. */
export function npSelects(p: CompiledNetworkPolicy, pod: PodEndpoint): boolean {
  return (
    !pod.hostNetwork && pod.namespace === p.namespace && matchesSelector(pod.labels, p.podSelector)
  );
}

/**
 * Whether traffic from `from` to pod `to` comes from `to`'s own node: a
 * hostNetwork pod on the same node. Always allowed into the pod — the
 * NetworkPolicy API's "connections from the pod's node" — and no enforcer
 * polices it: the node's own packets to a local pod leave through OUTPUT,
 * where Felix installs no workload chain, and kube-router's KUBE-POD-FW-
 * chain accepts `--src-type LOCAL` first.
 */
export function fromOwnNode(from: Endpoint, to: Endpoint): boolean {
  return (
    from.kind === 'pod' &&
    from.hostNetwork === true &&
    to.kind === 'pod' &&
    from.node !== undefined &&
    from.node === to.node
  );
}

export function cidrRange(text: string): AddrRange {
  const c = parseCidr(text);
  const lo = ipToInt(c.network);
  return { lo, hi: (lo | (~maskOf(c.prefix) >>> 0)) >>> 0, text };
}

/** The BaselineAdminNetworkPolicy as evaluated: its parts have disjoint subjects. */
export function baselineParts(world: PolicyWorld): readonly CompiledAdminPolicy[] {
  return world.baselineParts ?? (world.baseline ? [world.baseline] : []);
}
