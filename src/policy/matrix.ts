/**
 * The reachability matrix: what every endpoint may send to every other.
 *
 * Pods that no policy can tell apart get the same answers, so the matrix is
 * computed per group. Every policy decision depends only on a fixed list of
 * predicates — "NetworkPolicy P selects the pod", "peer k of rule r matches
 * it", the ANP/BANP subjects and peers — and on the pod's named ports (rules
 * naming a port resolve it on the destination). Pods are first bucketed by
 * namespace + labels + named ports + the policy-CIDR region of their IP (what
 * the predicates read), each predicate is evaluated once per bucket (using the
 * namespace to skip buckets it cannot match), and buckets with the same set
 * of true predicates and the same named ports become one group. External
 * ranges are groups of their own.
 *
 * Then, per direction, each group's row is filled by scattering its rules
 * over their target groups (a rule's targets are precomputed), with port sets
 * interned as integers (`PortSetTable`) so a cell is one number and set
 * operations are memoised. The ingress rows are stored transposed so that the
 * final cell `egress[a][b] ∩ ingress[b][a]` is computed in place.
 */
import { matchesSelector } from '../k8s/selector.js';
import type { LabelSelector } from '../k8s/types.js';
import { RegionIndex } from './externals.js';
import {
  baselineParts,
  resolvePorts,
  type AdminRule,
  type CompiledAdminPolicy,
  type Direction,
  type Endpoint,
  type ExternalEndpoint,
  type NpRule,
  type PeerMatcher,
  type PodEndpoint,
  type PolicyWorld,
  type PortSpec,
} from './model.js';
import { PortSet, PortSetTable, type L4Protocol } from './ports.js';

export interface ReachMatrix {
  /** Pods (sorted by key) then external ranges (in address order). */
  readonly endpoints: readonly Endpoint[];
  readonly pods: readonly PodEndpoint[];
  readonly externals: readonly ExternalEndpoint[];
  /** Endpoint index → group index. */
  readonly groupOf: Int32Array;
  readonly groupCount: number;
  /** Group matrix of port-set ids, row = from, column = to. */
  readonly cells: Uint32Array;
  readonly table: PortSetTable;
  /** What endpoint `from` may send to endpoint `to` (indexes into `endpoints`). */
  allowed(from: number, to: number): PortSet;
  /** Same, as an interned id. */
  allowedId(from: number, to: number): number;
  indexOf(key: string): number | undefined;
}

interface Predicate {
  readonly matcher: PeerMatcher;
}

interface Bucket {
  readonly rep: Endpoint;
  readonly members: number[];
  readonly namedPortsSig: string;
  readonly preds: number[];
}

function namedPortsSig(ep: Endpoint): string {
  if (ep.kind !== 'pod') return '';
  const named = ep.ports
    .filter((p) => p.name !== undefined)
    .map((p) => `${p.name}/${p.protocol}/${p.port}`);
  return named.sort().join(',');
}

function labelsSig(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}=${labels[k]}`).join('\u0001');
}

/** Computes the full matrix for the world. */
export function computeMatrix(world: PolicyWorld): ReachMatrix {
  const regions = new RegionIndex(world.cidrs);
  const externals = world.cidrs.length > 0 ? regions.externals(world.pods) : [];
  const endpoints: Endpoint[] = [...world.pods, ...externals];

  // --- predicates -----------------------------------------------------------
  const preds: Predicate[] = [];
  const predId = new Map<string, number>();
  // Equal matchers share one predicate: a thousand policies allowing "web
  // pods of any namespace" are evaluated (and split groups) once.
  const add = (m: PeerMatcher): number => {
    const key = predicateKey(m);
    let id = predId.get(key);
    if (id === undefined) {
      id = preds.length;
      preds.push({ matcher: m });
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

  // --- buckets --------------------------------------------------------------
  const buckets: Bucket[] = [];
  const bucketOf = new Int32Array(endpoints.length);
  const bucketKey = new Map<string, number>();
  const bucketsByNs = new Map<string, number[]>();
  const bucketsByRegion = new Map<string, number[]>();
  endpoints.forEach((ep, i) => {
    let key: string;
    let region: string | undefined;
    if (ep.kind === 'pod') {
      region = ep.ipInt !== undefined ? regions.regionOf(ep.ipInt) : undefined;
      key = `${ep.namespace}\u0000${labelsSig(ep.labels)}\u0000${namedPortsSig(ep)}\u0000${region ?? '-'}`;
    } else {
      region = ep.key;
      key = `\u0002external\u0000${ep.key}`;
    }
    let b = bucketKey.get(key);
    if (b === undefined) {
      b = buckets.length;
      buckets.push({ rep: ep, members: [], namedPortsSig: namedPortsSig(ep), preds: [] });
      bucketKey.set(key, b);
      if (ep.kind === 'pod') {
        let l = bucketsByNs.get(ep.namespace);
        if (!l) bucketsByNs.set(ep.namespace, (l = []));
        l.push(b);
      }
      if (region !== undefined) {
        let l = bucketsByRegion.get(region);
        if (!l) bucketsByRegion.set(region, (l = []));
        l.push(b);
      }
    }
    buckets[b]!.members.push(i);
    bucketOf[i] = b;
  });

  // --- evaluate predicates per bucket (namespace- and region-indexed) -----------
  const nsNames = [...bucketsByNs.keys()];
  const regionProbe = new Map<string, number>();
  for (const [region, bs] of bucketsByRegion) {
    const rep = buckets[bs[0]!]!.rep;
    regionProbe.set(region, rep.kind === 'pod' ? rep.ipInt! : rep.probe);
  }
  preds.forEach((p, id) => {
    const m = p.matcher;
    switch (m.kind) {
      case 'pods': {
        // Both may be set: an ANP subject resolved per namespace keeps its selector.
        const nss = (
          m.namespace !== undefined ? (bucketsByNs.has(m.namespace) ? [m.namespace] : []) : nsNames
        ).filter(
          (ns) =>
            m.namespaceSelector === undefined ||
            matchesSelector(world.namespaces.get(ns), m.namespaceSelector),
        );
        for (const ns of nss) {
          for (const b of bucketsByNs.get(ns) ?? []) {
            const rep = buckets[b]!.rep as PodEndpoint;
            if (m.podSelector === undefined || matchesSelector(rep.labels, m.podSelector))
              buckets[b]!.preds.push(id);
          }
        }
        break;
      }
      case 'ip':
        for (const [region, a] of regionProbe) {
          const hit =
            m.include.some((r) => a >= r.lo && a <= r.hi) &&
            !m.exclude.some((r) => a >= r.lo && a <= r.hi);
          if (hit) for (const b of bucketsByRegion.get(region)!) buckets[b]!.preds.push(id);
        }
        break;
      case 'nodes':
        break;
    }
  });

  // --- groups ----------------------------------------------------------------
  const groupOfBucket = new Int32Array(buckets.length);
  const groupKey = new Map<string, number>();
  const groupReps: Endpoint[] = [];
  buckets.forEach((b, i) => {
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
  const N = groupReps.length;
  const groupOf = new Int32Array(endpoints.length);
  for (let i = 0; i < endpoints.length; i++) groupOf[i] = groupOfBucket[bucketOf[i]!]!;

  // Groups matching each predicate (deduplicated).
  const predGroups: number[][] = preds.map(() => []);
  const seenBucketGroup = new Set<number>();
  buckets.forEach((b, i) => {
    const g = groupOfBucket[i]!;
    if (seenBucketGroup.has(g)) return;
    seenBucketGroup.add(g);
    for (const p of b.preds) {
      predGroups[p]!.push(g);
    }
  });

  // Per group, the NetworkPolicies and admin policies (in evaluation order) selecting it.
  const npOfGroup: number[][] = groupReps.map(() => []);
  npSubject.forEach((pred, i) => {
    for (const g of predGroups[pred]!) npOfGroup[g]!.push(i);
  });
  const adminOfGroup: number[][] = groupReps.map(() => []);
  adminSubject.forEach((pred, i) => {
    for (const g of predGroups[pred]!) adminOfGroup[g]!.push(i);
  });

  // --- rules as target lists and port-set ids -------------------------------------
  const table = new PortSetTable();
  const stamp = new Int32Array(N).fill(-1);
  let stampGen = 0;
  const allTargets = Int32Array.from({ length: N }, (_, i) => i);
  const targetsOf = (peerPreds: readonly number[] | null): Int32Array => {
    if (peerPreds === null) return allTargets;
    const gen = stampGen++;
    const out: number[] = [];
    for (const p of peerPreds) {
      for (const g of predGroups[p]!) {
        if (stamp[g] !== gen) {
          stamp[g] = gen;
          out.push(g);
        }
      }
    }
    return Int32Array.from(out);
  };
  interface CRule {
    readonly targets: Int32Array;
    readonly spec: PortSpec;
    readonly constId: number;
    /** Per destination group, lazily, when the rule names ports. */
    perDest?: Int32Array;
    readonly action?: AdminRule['action'];
  }
  const compileRule = (
    spec: PortSpec,
    peerPreds: readonly number[] | null,
    action?: AdminRule['action'],
  ): CRule => ({
    targets: targetsOf(peerPreds),
    spec,
    constId: table.id(spec.numeric),
    ...(action ? { action } : {}),
  });
  const portsFor = (r: CRule, dest: number): number => {
    if (r.spec.named.length === 0) return r.constId;
    if (!r.perDest) r.perDest = new Int32Array(N).fill(-1);
    let id = r.perDest[dest]!;
    if (id < 0) {
      id = table.id(resolvePorts(r.spec, groupReps[dest]!));
      r.perDest[dest] = id;
    }
    return id;
  };
  const npRules = world.policies.map((p, i) => ({
    ingress: p.rules.ingress.map((r: NpRule, k) =>
      compileRule(r.ports, npRulePeers[i]!.ingress[k]!),
    ),
    egress: p.rules.egress.map((r: NpRule, k) => compileRule(r.ports, npRulePeers[i]!.egress[k]!)),
  }));
  const adminRules = admins.map((a, i) => ({
    ingress: a.rules.ingress.map((r, k) =>
      compileRule(r.ports, adminRulePeers[i]!.ingress[k]!, r.action),
    ),
    egress: a.rules.egress.map((r, k) =>
      compileRule(r.ports, adminRulePeers[i]!.egress[k]!, r.action),
    ),
  }));
  // Baseline parts come last; a group is the subject of at most one (their subjects are disjoint).
  const isBanp = (i: number): boolean => i >= world.admin.length;

  // --- rows -------------------------------------------------------------------------
  const cells = new Uint32Array(N * N);
  const row = new Uint32Array(N);
  const npRow = new Uint32Array(N);
  const remaining = new Uint32Array(N);
  const allow = new Uint32Array(N);
  const passed = new Uint32Array(N);

  /** Fills `row` with what subject group `s` allows in `dir` towards each peer group. */
  const computeRow = (dir: Direction, s: number): void => {
    const rep = groupReps[s]!;
    if (rep.kind !== 'pod') {
      row.fill(PortSetTable.ALL);
      return;
    }
    const destOf = (peer: number): number => (dir === 'egress' ? peer : s);
    const isolating = npOfGroup[s]!.filter((i) => world.policies[i]!.isolates[dir]);
    const anpRules: CRule[] = [];
    let banpRules: readonly CRule[] | null = null;
    for (const i of adminOfGroup[s]!) {
      if (isBanp(i)) banpRules = adminRules[i]![dir];
      else anpRules.push(...adminRules[i]![dir]);
    }

    const fillNp = (into: Uint32Array): void => {
      into.fill(PortSetTable.EMPTY);
      for (const i of isolating) {
        for (const r of npRules[i]![dir]) {
          for (const t of r.targets) into[t] = table.union(into[t]!, portsFor(r, destOf(t)));
        }
      }
    };

    if (
      anpRules.length === 0 &&
      (isolating.length > 0 || banpRules === null || banpRules.length === 0)
    ) {
      if (isolating.length > 0) fillNp(row);
      else row.fill(PortSetTable.ALL);
      return;
    }
    // General case: ANP tiers, then NetworkPolicy or the baseline, per peer.
    remaining.fill(PortSetTable.ALL);
    allow.fill(PortSetTable.EMPTY);
    passed.fill(PortSetTable.EMPTY);
    for (const r of anpRules) {
      for (const t of r.targets) {
        const p = table.intersect(remaining[t]!, portsFor(r, destOf(t)));
        if (p === PortSetTable.EMPTY) continue;
        remaining[t] = table.subtract(remaining[t]!, p);
        if (r.action === 'Allow') allow[t] = table.union(allow[t]!, p);
        else if (r.action === 'Pass') passed[t] = table.union(passed[t]!, p);
      }
    }
    for (let t = 0; t < N; t++) remaining[t] = table.union(remaining[t]!, passed[t]!); // undecided
    if (isolating.length > 0) {
      fillNp(npRow);
      for (let t = 0; t < N; t++)
        row[t] = table.union(allow[t]!, table.intersect(npRow[t]!, remaining[t]!));
      return;
    }
    if (banpRules) {
      for (const r of banpRules) {
        for (const t of r.targets) {
          const p = table.intersect(remaining[t]!, portsFor(r, destOf(t)));
          if (p === PortSetTable.EMPTY) continue;
          remaining[t] = table.subtract(remaining[t]!, p);
          if (r.action === 'Allow') allow[t] = table.union(allow[t]!, p);
        }
      }
    }
    for (let t = 0; t < N; t++) row[t] = table.union(allow[t]!, remaining[t]!);
  };

  // Ingress, stored transposed: cells[peer * N + subject].
  for (let s = 0; s < N; s++) {
    computeRow('ingress', s);
    for (let t = 0; t < N; t++) cells[t * N + s] = row[t]!;
  }
  // Egress, combined in place.
  for (let s = 0; s < N; s++) {
    computeRow('egress', s);
    const base = s * N;
    for (let t = 0; t < N; t++) cells[base + t] = table.intersect(row[t]!, cells[base + t]!);
  }

  const index = new Map<string, number>();
  endpoints.forEach((e, i) => index.set(e.key, i));
  return {
    endpoints,
    pods: world.pods,
    externals,
    groupOf,
    groupCount: N,
    cells,
    table,
    allowedId: (from, to) => cells[groupOf[from]! * N + groupOf[to]!]!,
    allowed(from, to) {
      return table.get(this.allowedId(from, to));
    },
    indexOf: (key) => index.get(key),
  };
}

/** Per port-set id, whether it holds (proto, port): for boolean matrices. */
export function portMask(m: ReachMatrix, proto: L4Protocol, port: number): Uint8Array {
  const out = new Uint8Array(m.table.size);
  for (let i = 0; i < m.table.size; i++) out[i] = m.table.get(i).has(proto, port) ? 1 : 0;
  return out;
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
