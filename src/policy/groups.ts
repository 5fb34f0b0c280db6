/**
 * Reach grouping: pods that no policy can tell apart, found once so the
 * matrix (`matrix.ts`) is computed per group instead of per pod.
 *
 * Every policy decision depends only on a fixed list of predicates —
 * "NetworkPolicy P selects the pod", "peer k of rule r matches it", the
 * ANP/BANP subjects and peers — and on the pod's named ports (rules naming a
 * port resolve it on the destination). Pods are first bucketed by namespace +
 * the labels some selector reads + named ports + the policy-CIDR region of their IP (what the
 * predicates read), each predicate is evaluated once per bucket (using the
 * namespace to skip buckets it cannot match), and buckets with the same set
 * of true predicates and the same named ports become one group. External
 * ranges are groups of their own. A hostNetwork pod is bucketed apart (no
 * selector matches it); in a group it answers as its members do, except
 * towards pods of its own node (`matrix.ts`, `fromOwnNode`).
 */
import { matchesSelector } from '../k8s/selector.js';
import type { LabelSelector } from '../k8s/types.js';
import { RegionIndex } from './externals.js';
import {
  baselineParts,
  type CompiledAdminPolicy,
  type Endpoint,
  type ExternalEndpoint,
  type PeerMatcher,
  type PodEndpoint,
  type PolicyWorld,
} from './model.js';

/** The predicates of a world: each subject and each rule's peers, as predicate ids. */
export interface Predicates {
  readonly matchers: readonly PeerMatcher[];
  /** Per NetworkPolicy, the predicate of its subject. */
  readonly npSubject: readonly number[];
  /** Per NetworkPolicy and direction, each rule's peer predicates (null: every peer). */
  readonly npRulePeers: readonly {
    readonly ingress: readonly (readonly number[] | null)[];
    readonly egress: readonly (readonly number[] | null)[];
  }[];
  /** ANPs in evaluation order, then the baseline's parts. */
  readonly admins: readonly CompiledAdminPolicy[];
  readonly adminSubject: readonly number[];
  readonly adminRulePeers: readonly {
    readonly ingress: readonly (readonly number[])[];
    readonly egress: readonly (readonly number[])[];
  }[];
}

/** Endpoints in groups of equal answers. */
export interface Grouping {
  /** Pods (sorted by key) then external ranges (in address order). */
  readonly endpoints: readonly Endpoint[];
  readonly externals: readonly ExternalEndpoint[];
  readonly predicates: Predicates;
  /** Endpoint index → group index. */
  readonly groupOf: Int32Array;
  /** One member per group, whose answers are the group's. */
  readonly groupReps: readonly Endpoint[];
  /** Per predicate, the groups it matches. */
  readonly predGroups: readonly (readonly number[])[];
  /** Per group, the NetworkPolicies selecting it (indexes into world.policies). */
  readonly npOfGroup: readonly (readonly number[])[];
  /** Per group, the admin policies selecting it (indexes into predicates.admins, in order). */
  readonly adminOfGroup: readonly (readonly number[])[];
}

interface Bucket {
  readonly rep: Endpoint;
  readonly members: number[];
  readonly namedPortsSig: string;
  readonly preds: number[];
}

interface Buckets {
  readonly list: Bucket[];
  readonly bucketOf: Int32Array;
  readonly byNs: Map<string, number[]>;
  readonly byRegion: Map<string, number[]>;
}

function namedPortsSig(ep: Endpoint): string {
  if (ep.kind !== 'pod') return '';
  let one: string | undefined;
  let more: string[] | undefined;
  for (const p of ep.ports) {
    if (p.name === undefined) continue;
    const s = `${p.name}/${p.protocol}/${p.port}`;
    if (one === undefined) one = s;
    else (more ??= [one]).push(s);
  }
  return more ? more.sort().join(',') : (one ?? '');
}

/**
 * The labels some pod selector reads, as a key: a label no selector names
 * (a per-pod `statefulset.kubernetes.io/pod-name`, a hash) cannot tell two
 * pods apart, so it does not split their bucket.
 */
function labelsSig(labels: Readonly<Record<string, string>>, read: ReadonlySet<string>): string {
  const keys: string[] = [];
  for (const k in labels) if (read.has(k)) keys.push(k);
  if (keys.length > 1) keys.sort();
  let out = '';
  for (let i = 0; i < keys.length; i++)
    out += `${i ? '\u0001' : ''}${keys[i]!}=${labels[keys[i]!]!}`;
  return out;
}

/** Every label key a pod selector of the world reads (matchLabels and matchExpressions). */
function podSelectorKeys(preds: Predicates): Set<string> {
  const keys = new Set<string>();
  for (const m of preds.matchers) {
    if (m.kind !== 'pods' || m.podSelector === undefined) continue;
    for (const k of Object.keys(m.podSelector.matchLabels ?? {})) keys.add(k);
    for (const e of m.podSelector.matchExpressions ?? []) keys.add(e.key);
  }
  return keys;
}

/** Every matcher of the world as a predicate; equal matchers share one. */
export function collectPredicates(world: PolicyWorld): Predicates {
  const matchers: PeerMatcher[] = [];
  const predId = new Map<string, number>();
  // Equal matchers share one predicate: a thousand policies allowing "web
  // pods of any namespace" are evaluated (and split groups) once.
  const add = (m: PeerMatcher): number => {
    const key = predicateKey(m);
    let id = predId.get(key);
    if (id === undefined) {
      id = matchers.length;
      matchers.push(m);
      predId.set(key, id);
    }
    return id;
  };
  const npSubject = world.policies.map((p) =>
    add({ kind: 'pods', namespace: p.namespace, podSelector: p.podSelector, text: p.ref }),
  );
  const npRulePeers = world.policies.map((p) => ({
    ingress: p.rules.ingress.map((r) => r.peers?.map(add) ?? null),
    egress: p.rules.egress.map((r) => r.peers?.map(add) ?? null),
  }));
  const admins: CompiledAdminPolicy[] = [...world.admin, ...baselineParts(world)];
  const adminSubject = admins.map((a) => add(a.subject));
  const adminRulePeers = admins.map((a) => ({
    ingress: a.rules.ingress.map((r) => r.peers.map(add)),
    egress: a.rules.egress.map((r) => r.peers.map(add)),
  }));
  return { matchers, npSubject, npRulePeers, admins, adminSubject, adminRulePeers };
}

/** Buckets of endpoints every predicate reads alike (namespace, labels, named ports, CIDR region). */
function bucketEndpoints(
  endpoints: readonly Endpoint[],
  regions: RegionIndex,
  labelKeys: ReadonlySet<string>,
): Buckets {
  const list: Bucket[] = [];
  const bucketOf = new Int32Array(endpoints.length);
  const bucketKey = new Map<string, number>();
  const byNs = new Map<string, number[]>();
  const byRegion = new Map<string, number[]>();
  endpoints.forEach((ep, i) => {
    let key: string;
    let region: string | undefined;
    let ports = '';
    if (ep.kind === 'pod') {
      region = ep.ipInt !== undefined ? regions.regionOf(ep.ipInt) : undefined;
      ports = namedPortsSig(ep);
      key = `${ep.namespace}\u0000${labelsSig(ep.labels, labelKeys)}\u0000${ports}\u0000${region ?? '-'}${ep.hostNetwork ? '\u0000host' : ''}`;
    } else {
      region = ep.key;
      key = `\u0002external\u0000${ep.key}`;
    }
    let b = bucketKey.get(key);
    if (b === undefined) {
      b = list.length;
      list.push({ rep: ep, members: [], namedPortsSig: ports, preds: [] });
      bucketKey.set(key, b);
      if (ep.kind === 'pod') {
        let l = byNs.get(ep.namespace);
        if (!l) byNs.set(ep.namespace, (l = []));
        l.push(b);
      }
      if (region !== undefined) {
        let l = byRegion.get(region);
        if (!l) byRegion.set(region, (l = []));
        l.push(b);
      }
    }
    list[b]!.members.push(i);
    bucketOf[i] = b;
  });
  return { list, bucketOf, byNs, byRegion };
}

/** Records in each bucket the predicates true for it (namespace- and region-indexed). */
function evaluatePredicates(world: PolicyWorld, preds: Predicates, buckets: Buckets): void {
  const { list, byNs, byRegion } = buckets;
  const nsNames = [...byNs.keys()];
  const regionProbe = new Map<string, number>();
  for (const [region, bs] of byRegion) {
    const rep = list[bs[0]!]!.rep;
    regionProbe.set(region, rep.kind === 'pod' ? rep.ipInt! : rep.probe);
  }
  preds.matchers.forEach((m, id) => {
    switch (m.kind) {
      case 'pods': {
        // Both may be set: an ANP subject resolved per namespace keeps its selector.
        const nss = (
          m.namespace !== undefined ? (byNs.has(m.namespace) ? [m.namespace] : []) : nsNames
        ).filter(
          (ns) =>
            m.namespaceSelector === undefined ||
            matchesSelector(world.namespaces.get(ns), m.namespaceSelector),
        );
        for (const ns of nss) {
          for (const b of byNs.get(ns) ?? []) {
            const rep = list[b]!.rep as PodEndpoint;
            // Selectors never match hostNetwork pods (model.ts peerMatches).
            if (rep.hostNetwork) continue;
            if (m.podSelector === undefined || matchesSelector(rep.labels, m.podSelector))
              list[b]!.preds.push(id);
          }
        }
        break;
      }
      case 'ip':
        for (const [region, a] of regionProbe) {
          const hit =
            m.include.some((r) => a >= r.lo && a <= r.hi) &&
            !m.exclude.some((r) => a >= r.lo && a <= r.hi);
          if (hit) for (const b of byRegion.get(region)!) list[b]!.preds.push(id);
        }
        break;
      case 'nodes':
        break;
    }
  });
}

/** Groups the world's endpoints: pods alike for every predicate, each external range alone. */
export function groupEndpoints(world: PolicyWorld): Grouping {
  const regions = new RegionIndex(world.cidrs);
  const externals = world.cidrs.length > 0 ? regions.externals(world.pods) : [];
  const endpoints: Endpoint[] = [...world.pods, ...externals];
  const predicates = collectPredicates(world);
  const buckets = bucketEndpoints(endpoints, regions, podSelectorKeys(predicates));
  evaluatePredicates(world, predicates, buckets);

  const groupOfBucket = new Int32Array(buckets.list.length);
  const groupKey = new Map<string, number>();
  const groupReps: Endpoint[] = [];
  buckets.list.forEach((b, i) => {
    b.preds.sort((x, y) => x - y);
    const key =
      b.rep.kind === 'pod' ? `${b.preds.join(',')}|${b.namedPortsSig}` : `\u0002${b.rep.key}`;
    let g = groupKey.get(key);
    if (g === undefined) {
      g = groupReps.length;
      groupReps.push(b.rep);
      groupKey.set(key, g);
    }
    groupOfBucket[i] = g;
  });
  const groupOf = new Int32Array(endpoints.length);
  for (let i = 0; i < endpoints.length; i++) groupOf[i] = groupOfBucket[buckets.bucketOf[i]!]!;

  // Groups matching each predicate (deduplicated).
  const predGroups: number[][] = predicates.matchers.map(() => []);
  const seenBucketGroup = new Set<number>();
  buckets.list.forEach((b, i) => {
    const g = groupOfBucket[i]!;
    if (seenBucketGroup.has(g)) return;
    seenBucketGroup.add(g);
    for (const p of b.preds) {
      predGroups[p]!.push(g);
    }
  });

  // Per group, the NetworkPolicies and admin policies (in evaluation order) selecting it.
  const npOfGroup: number[][] = groupReps.map(() => []);
  predicates.npSubject.forEach((pred, i) => {
    for (const g of predGroups[pred]!) npOfGroup[g]!.push(i);
  });
  const adminOfGroup: number[][] = groupReps.map(() => []);
  predicates.adminSubject.forEach((pred, i) => {
    for (const g of predGroups[pred]!) adminOfGroup[g]!.push(i);
  });
  return {
    endpoints,
    externals,
    predicates,
    groupOf,
    groupReps,
    predGroups,
    npOfGroup,
    adminOfGroup,
  };
}

function selectorKey(sel: LabelSelector | undefined): string {
  if (sel === undefined) return '-';
  const labels = Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const exprs = (sel.matchExpressions ?? [])
    .map((e) => JSON.stringify([e.key, e.operator, [...(e.values ?? [])].sort()]))
    .sort();
  return JSON.stringify([labels, exprs]);
}

/** Equal keys ⇒ the matchers select exactly the same endpoints. */
function predicateKey(m: PeerMatcher): string {
  switch (m.kind) {
    case 'pods':
      return `pods|${m.namespace ?? '*'}|${selectorKey(m.namespaceSelector)}|${selectorKey(m.podSelector)}`;
    case 'ip':
      return `ip|${m.include
        .map((r) => `${r.lo}-${r.hi}`)
        .sort()
        .join(',')}|${m.exclude
        .map((r) => `${r.lo}-${r.hi}`)
        .sort()
        .join(',')}`;
    case 'nodes':
      return 'nodes';
  }
}
