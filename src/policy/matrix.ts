/**
 * The reachability matrix: what every endpoint may send to every other.
 *
 * Pods that no policy can tell apart get the same answers, so the matrix is
 * computed per group (`groups.ts` finds the groups). Per direction, each group's row is filled by scattering its rules
 * over their target groups (a rule's targets are precomputed), with port sets
 * interned as integers (`PortSetTable`) so a cell is one number and set
 * operations are memoised. The ingress rows are stored transposed so that the
 * final cell `egress[a][b] ∩ ingress[b][a]` is computed in place.
 */
import { groupEndpoints, type Grouping } from './groups.js';
import {
  resolvePorts,
  type AdminRule,
  type Direction,
  type Endpoint,
  type ExternalEndpoint,
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
  /** How the groups were found: each group's representative, policies and predicates. */
  readonly grouping: Grouping;
  /** Group matrix of port-set ids, row = from, column = to. */
  readonly cells: Uint32Array;
  readonly table: PortSetTable;
  /** What endpoint `from` may send to endpoint `to` (indexes into `endpoints`). */
  allowed(from: number, to: number): PortSet;
  /** Same, as an interned id. */
  allowedId(from: number, to: number): number;
  /**
   * The pairs whose answer is not their groups' cell, apart from each pod to
   * itself (always every port): a hostNetwork pod towards the pods of its own
   * node. Calls `f(from, to, id)` for each.
   */
  forEachException(f: (from: number, to: number, id: number) => void): void;
  indexOf(key: string): number | undefined;
}

/** A rule as the rows read it: its target groups and its ports as a port-set id. */
interface CRule {
  readonly targets: Int32Array;
  readonly spec: PortSpec;
  readonly constId: number;
  /** Per destination group, lazily, when the rule names ports. */
  perDest?: Int32Array;
  readonly action?: AdminRule['action'];
}

interface CompiledRules {
  readonly np: readonly Readonly<Record<Direction, readonly CRule[]>>[];
  readonly admin: readonly Readonly<Record<Direction, readonly CRule[]>>[];
  /** The port-set id rule `r` allows towards destination group `dest`. */
  portsFor(r: CRule, dest: number): number;
}

/** Every rule of the world as target groups and port-set ids. */
function compileRules(world: PolicyWorld, g: Grouping, table: PortSetTable): CompiledRules {
  const N = g.groupReps.length;
  const { predicates, predGroups, groupReps } = g;
  const stamp = new Int32Array(N).fill(-1);
  let stampGen = 0;
  const allTargets = Int32Array.from({ length: N }, (_, i) => i);
  const targetsOf = (peerPreds: readonly number[] | null): Int32Array => {
    if (peerPreds === null) return allTargets;
    const gen = stampGen++;
    const out: number[] = [];
    for (const p of peerPreds) {
      for (const t of predGroups[p]!) {
        if (stamp[t] !== gen) {
          stamp[t] = gen;
          out.push(t);
        }
      }
    }
    return Int32Array.from(out);
  };
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
  const np = world.policies.map((p, i) => ({
    ingress: p.rules.ingress.map((r, k) =>
      compileRule(r.ports, predicates.npRulePeers[i]!.ingress[k]!),
    ),
    egress: p.rules.egress.map((r, k) =>
      compileRule(r.ports, predicates.npRulePeers[i]!.egress[k]!),
    ),
  }));
  const admin = predicates.admins.map((a, i) => ({
    ingress: a.rules.ingress.map((r, k) =>
      compileRule(r.ports, predicates.adminRulePeers[i]!.ingress[k]!, r.action),
    ),
    egress: a.rules.egress.map((r, k) =>
      compileRule(r.ports, predicates.adminRulePeers[i]!.egress[k]!, r.action),
    ),
  }));
  return { np, admin, portsFor };
}

/**
 * A row filler: `fill(dir, s)` writes into `row` what subject group `s`
 * allows in `dir` towards each peer group — ANP tiers by priority (Allow /
 * Deny / Pass), then NetworkPolicy if the group is isolated, else the
 * baseline, else everything.
 */
function rowFiller(
  world: PolicyWorld,
  g: Grouping,
  table: PortSetTable,
  rules: CompiledRules,
): { readonly row: Uint32Array; fill(dir: Direction, s: number): void } {
  const N = g.groupReps.length;
  const { portsFor } = rules;
  const row = new Uint32Array(N);
  // What the admin tiers leave per peer, kept at their neutral values (ALL, EMPTY, EMPTY)
  // between rows: a row resets only the peers its admin rules touched.
  const remaining = new Uint32Array(N).fill(PortSetTable.ALL);
  const allow = new Uint32Array(N);
  const passed = new Uint32Array(N);
  const touched: number[] = [];
  const isTouched = new Uint8Array(N);
  // Baseline parts come last; a group is the subject of at most one (their subjects are disjoint).
  const isBanp = (i: number): boolean => i >= world.admin.length;

  /** Applies admin rules in order: each decides the ports still undecided towards its targets. */
  const applyAdmin = (list: readonly CRule[], destOf: (peer: number) => number): void => {
    for (const r of list) {
      for (const t of r.targets) {
        const p = table.intersect(remaining[t]!, portsFor(r, destOf(t)));
        if (p === PortSetTable.EMPTY) continue;
        if (!isTouched[t]) {
          isTouched[t] = 1;
          touched.push(t);
        }
        remaining[t] = table.subtract(remaining[t]!, p);
        if (r.action === 'Allow') allow[t] = table.union(allow[t]!, p);
        else if (r.action === 'Pass') passed[t] = table.union(passed[t]!, p);
      }
    }
  };
  const reset = (): void => {
    for (const t of touched) {
      remaining[t] = PortSetTable.ALL;
      allow[t] = PortSetTable.EMPTY;
      passed[t] = PortSetTable.EMPTY;
      isTouched[t] = 0;
    }
    touched.length = 0;
  };

  const fill = (dir: Direction, s: number): void => {
    const rep = g.groupReps[s]!;
    if (rep.kind !== 'pod') {
      row.fill(PortSetTable.ALL);
      return;
    }
    const destOf = (peer: number): number => (dir === 'egress' ? peer : s);
    const isolating = g.npOfGroup[s]!.filter((i) => world.policies[i]!.isolates[dir]);
    const anpRules: CRule[] = [];
    let banpRules: readonly CRule[] | null = null;
    for (const i of g.adminOfGroup[s]!) {
      if (isBanp(i)) banpRules = rules.admin[i]![dir];
      else anpRules.push(...rules.admin[i]![dir]);
    }

    const fillNp = (into: Uint32Array): void => {
      into.fill(PortSetTable.EMPTY);
      for (const i of isolating) {
        for (const r of rules.np[i]![dir]) {
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
    // General case: ANP tiers, then NetworkPolicy or the baseline, per peer. A peer no admin
    // rule decided anything for has all ports remaining and none allowed: its cell is the
    // NetworkPolicy's (or, without, every port).
    applyAdmin(anpRules, destOf);
    for (const t of touched) remaining[t] = table.union(remaining[t]!, passed[t]!); // undecided
    if (isolating.length > 0) {
      fillNp(row);
      for (const t of touched)
        row[t] = table.union(allow[t]!, table.intersect(row[t]!, remaining[t]!));
      reset();
      return;
    }
    // The baseline has no Pass: nothing it decides lands in `passed` again.
    if (banpRules) applyAdmin(banpRules, destOf);
    row.fill(PortSetTable.ALL);
    for (const t of touched) row[t] = table.union(allow[t]!, remaining[t]!);
    reset();
  };
  return { row, fill };
}

/** Computes the full matrix for the world. */
export function computeMatrix(world: PolicyWorld): ReachMatrix {
  const g = groupEndpoints(world);
  const { endpoints, externals, groupOf } = g;
  const N = g.groupReps.length;
  const table = new PortSetTable();
  const rules = compileRules(world, g, table);
  const { row, fill: computeRow } = rowFiller(world, g, table, rules);
  const cells = new Uint32Array(N * N);

  // Ingress rows (subject × peer), then transposed in blocks that stay in cache:
  // cells[peer * N + subject].
  const ingress = new Uint32Array(N * N);
  for (let s = 0; s < N; s++) {
    computeRow('ingress', s);
    ingress.set(row, s * N);
  }
  const B = 64;
  for (let s0 = 0; s0 < N; s0 += B)
    for (let t0 = 0; t0 < N; t0 += B)
      for (let s = s0, sEnd = Math.min(s0 + B, N); s < sEnd; s++)
        for (let t = t0, tEnd = Math.min(t0 + B, N); t < tEnd; t++)
          cells[t * N + s] = ingress[s * N + t]!;
  // Egress, combined in place.
  for (let s = 0; s < N; s++) {
    computeRow('egress', s);
    const base = s * N;
    for (let t = 0; t < N; t++) cells[base + t] = table.intersect(row[t]!, cells[base + t]!);
  }

  // Pairs the groups cannot hold: a hostNetwork pod's node id (else -1) and every pod's node id.
  const nodeIds = new Map<string, number>();
  const nodeId = (n: string | undefined) =>
    n === undefined ? -1 : (nodeIds.get(n) ?? (nodeIds.set(n, nodeIds.size), nodeIds.size - 1));
  const podNode = new Int32Array(endpoints.length).fill(-1);
  const hostNode = new Int32Array(endpoints.length).fill(-1);
  let hostPods = 0;
  world.pods.forEach((p, i) => {
    podNode[i] = nodeId(p.node);
    if (p.hostNetwork) {
      hostNode[i] = podNode[i]!;
      hostPods++;
    }
  });
  // Made on first use: pods by node (for the exceptions) and endpoints by key (to look one up).
  let byNode: Map<number, number[]> | undefined;
  let index: Map<string, number> | undefined;
  return {
    endpoints,
    pods: world.pods,
    externals,
    groupOf,
    groupCount: N,
    grouping: g,
    cells,
    table,
    // A pod always reaches itself (evaluate.ts `evaluatePair`): its own address is local to its
    // network namespace, so the packet never leaves it for an enforcer to see.
    // Nor does anything restrict a hostNetwork pod's traffic to the pods of its own node
    // (model.ts `fromOwnNode`; its own egress is never restricted either: no policy selects it).
    allowedId: (from, to) =>
      (from === to && from < world.pods.length) ||
      (hostNode[from]! >= 0 && hostNode[from] === podNode[to])
        ? PortSetTable.ALL
        : cells[groupOf[from]! * N + groupOf[to]!]!,
    allowed(from, to) {
      return table.get(this.allowedId(from, to));
    },
    forEachException(f) {
      if (hostPods === 0) return;
      if (byNode === undefined) {
        const m = (byNode = new Map<number, number[]>());
        podNode.forEach((n, i) => {
          if (n < 0) return;
          let l = m.get(n);
          if (!l) m.set(n, (l = []));
          l.push(i);
        });
      }
      const nodePods = byNode;
      hostNode.forEach((n, from) => {
        if (n < 0) return;
        for (const to of nodePods.get(n) ?? []) {
          if (to !== from && cells[groupOf[from]! * N + groupOf[to]!] !== PortSetTable.ALL)
            f(from, to, PortSetTable.ALL);
        }
      });
    },
    indexOf(key) {
      if (index === undefined) {
        const m = (index = new Map<string, number>());
        endpoints.forEach((e, i) => m.set(e.key, i));
      }
      return index.get(key);
    },
  };
}

/** Per port-set id, whether it holds (proto, port): for boolean matrices. */
export function portMask(m: ReachMatrix, proto: L4Protocol, port: number): Uint8Array {
  const out = new Uint8Array(m.table.size);
  for (let i = 0; i < m.table.size; i++) out[i] = m.table.get(i).has(proto, port) ? 1 : 0;
  return out;
}
