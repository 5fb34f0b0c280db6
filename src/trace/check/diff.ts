/**
 * What a change opens and what it cuts: the reachability of two policy worlds
 * (before and after), compared pair by pair, each change attributed to the
 * policies that cause it.
 *
 * Both matrices are computed over the union of both worlds' CIDRs, so their
 * external ranges are the same regions (a region of the union lies wholly in
 * one region of each world, which therefore treats all its addresses alike).
 * Pairs are compared over the endpoints both worlds have; pods only one side
 * has are listed as added or removed, not as openings. Cells are interned
 * port-set ids, so a pair of group ids (before, after) is diffed once however
 * many pods share it; changes are blocks of sources × destinations.
 *
 * The cause of a changed pair: the policies whose compiled form differs
 * between the worlds (added, removed or modified) and that take part in the
 * pair's decision in either world — they select one end (isolate it, or are
 * an AdminNetworkPolicy subject) or have a rule that matches the other. Of
 * those, the cause named is the smallest set whose changes alone give the
 * pair its new answer (the other policies as they were before); the rest are
 * `alsoInvolved`. A new deny and a new allow landing together on a pod the
 * allow already isolates: the allow alone explains what it now admits, the
 * deny is involved but changes nothing more. Sets are tried smallest first
 * up to MAX_MINIMIZED involved policies; beyond, all are named. When no
 * changed policy takes part, the change comes from the endpoints themselves:
 * their labels, or their namespace's.
 */
import { evaluatePair, type DirectionResult, type PairResult } from '../../policy/evaluate.js';
import { computeMatrix, type ReachMatrix } from '../../policy/matrix.js';
import type { AddrRange, Endpoint, PolicyWorld } from '../../policy/model.js';
import { PortSet } from '../../policy/ports.js';

export type PolicyChange = 'added' | 'removed' | 'modified';

/** Every endpoint of `from` to every other endpoint of `to` (a pod and itself are not a pair). */
export interface PairChange {
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly ports: PortSet;
}

export interface PolicyCause {
  readonly policy: string;
  readonly change: PolicyChange;
}

export interface ChangeGroup {
  /** The smallest set of changed policies that alone makes these changes; empty: the endpoints' labels. */
  readonly causes: readonly PolicyCause[];
  /** Other changed policies taking part in these pairs' decisions, not needed for the change. */
  readonly alsoInvolved?: readonly PolicyCause[];
  /** What the endpoints' own change was, when no policy change takes part. */
  readonly labels?: string;
  readonly opened: readonly PairChange[];
  readonly cut: readonly PairChange[];
}

export interface ReachDiff {
  readonly groups: readonly ChangeGroup[];
  readonly opened: number;
  readonly cut: number;
  readonly podsAdded: readonly string[];
  readonly podsRemoved: readonly string[];
  readonly policies: ReadonlyMap<string, PolicyChange>;
}

/** Involved policies beyond which the minimal cause is not searched (2^n evaluations). */
export const MAX_MINIMIZED = 8;

const WORLD_RANGE: AddrRange = { lo: 0, hi: 0xffffffff, text: '0.0.0.0/0' };

/** The world with every CIDR either side names (and the whole space, so externals always exist). */
function widened(w: PolicyWorld, cidrs: readonly AddrRange[]): PolicyWorld {
  return { ...w, cidrs };
}

function policyForms(w: PolicyWorld): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of w.policies) out.set(p.ref, JSON.stringify(p));
  for (const a of w.admin) out.set(a.ref, JSON.stringify(a));
  if (w.baseline) out.set(w.baseline.ref, JSON.stringify(w.baseline));
  return out;
}

/** Which policies were added, removed or modified between the worlds. */
export function policyChanges(before: PolicyWorld, after: PolicyWorld): Map<string, PolicyChange> {
  const b = policyForms(before);
  const a = policyForms(after);
  const out = new Map<string, PolicyChange>();
  for (const [ref, form] of b) {
    const now = a.get(ref);
    if (now === undefined) out.set(ref, 'removed');
    else if (now !== form) out.set(ref, 'modified');
  }
  for (const ref of a.keys()) if (!b.has(ref)) out.set(ref, 'added');
  return new Map([...out].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** Every policy taking part in one direction's decision for the pair. */
function takingPart(r: DirectionResult, into: Set<string>): void {
  for (const p of r.adminSelecting) into.add(p);
  for (const d of r.admin) into.add(d.policy);
  for (const p of r.isolatedBy) into.add(p);
  for (const h of r.npHits) if (h.matched) into.add(h.policy);
  for (const d of r.baseline) into.add(d.policy);
}

function participants(p: PairResult): Set<string> {
  const s = new Set<string>();
  takingPart(p.egress, s);
  takingPart(p.ingress, s);
  return s;
}

function labelsText(e: Endpoint): string {
  if (e.kind !== 'pod') return '';
  const l = Object.entries(e.labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
  const n = Object.entries(e.nsLabels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
  return `{${l}} in {${n}}`;
}

function endpointChange(b: Endpoint, a: Endpoint): string | undefined {
  const x = labelsText(b);
  const y = labelsText(a);
  return x === y ? undefined : `${b.key} ${x} → ${y}`;
}

interface Side {
  readonly world: PolicyWorld;
  readonly m: ReachMatrix;
}

/** Diffs what `before` and `after` allow between every pair of endpoints both have. */
export function diffReach(before: PolicyWorld, after: PolicyWorld): ReachDiff {
  // Sorted and deduplicated as buildPolicyWorld leaves them (RegionIndex nests them in that order).
  const byText = new Map([...before.cidrs, ...after.cidrs, WORLD_RANGE].map((c) => [c.text, c]));
  const cidrs = [...byText.values()].sort((a, b) => a.lo - b.lo || b.hi - a.hi);
  const B: Side = { world: widened(before, cidrs), m: computeMatrix(widened(before, cidrs)) };
  const A: Side = { world: widened(after, cidrs), m: computeMatrix(widened(after, cidrs)) };
  const policies = policyChanges(before, after);

  // Endpoints both sides have, bucketed by their (before group, after group): every member of a
  // bucket gets the same answers on both sides, so buckets are diffed, not pods.
  const buckets = new Map<string, Bucket>();
  const podsRemoved: string[] = [];
  B.m.endpoints.forEach((e, i) => {
    const j = A.m.indexOf(e.key);
    if (j === undefined) {
      if (e.kind === 'pod') podsRemoved.push(e.key);
      return;
    }
    const k = `${B.m.groupOf[i]},${A.m.groupOf[j]}`;
    let bk = buckets.get(k);
    if (!bk)
      buckets.set(k, (bk = { gb: B.m.groupOf[i]!, ga: A.m.groupOf[j]!, b: i, a: j, keys: [] }));
    else if (bk.keys.length === 1) bk.second = { b: i, a: j };
    bk.keys.push(e.key);
  });
  const podsAdded = A.m.endpoints
    .filter((e) => e.kind === 'pod' && B.m.indexOf(e.key) === undefined)
    .map((e) => e.key);

  const NB = B.m.groupCount;
  const NA = A.m.groupCount;
  const groups = new Map<
    string,
    Pick<ChangeGroup, 'causes' | 'alsoInvolved' | 'labels'> & {
      opened: PairChange[];
      cut: PairChange[];
    }
  >();
  let opened = 0;
  let cut = 0;
  const list = [...buckets.values()];
  for (const x of list) {
    for (const y of list) {
      // A bucket with one endpoint has no pair with itself.
      if (x === y && x.keys.length === 1) continue;
      const before = B.m.cells[x.gb * NB + y.gb]!;
      const after = A.m.cells[x.ga * NA + y.ga]!;
      if (B.m.table.get(before).equals(A.m.table.get(after))) continue;
      const d = diffCell(B, A, x, y, policies);
      if (d === null) continue;
      let g = groups.get(d.cause);
      if (!g) {
        const parsed = JSON.parse(d.cause) as Pick<
          ChangeGroup,
          'causes' | 'alsoInvolved' | 'labels'
        >;
        groups.set(d.cause, (g = { ...parsed, opened: [], cut: [] }));
      }
      const n = x.keys.length * y.keys.length - (x === y ? x.keys.length : 0);
      if (!d.opened.isEmpty()) {
        g.opened.push({ from: x.keys, to: y.keys, ports: d.opened });
        opened += n;
      }
      if (!d.cut.isEmpty()) {
        g.cut.push({ from: x.keys, to: y.keys, ports: d.cut });
        cut += n;
      }
    }
  }
  const sorted = [...groups.values()].sort((p, q) => cmp(causeKey(p), causeKey(q)));
  for (const g of sorted) {
    g.opened.sort(byPair);
    g.cut.sort(byPair);
  }
  return { groups: sorted, opened, cut, podsAdded, podsRemoved, policies };
}

interface Bucket {
  readonly gb: number;
  readonly ga: number;
  /** A representative's index on each side. */
  readonly b: number;
  readonly a: number;
  readonly keys: string[];
  /** A second member, for the pairs within the bucket. */
  second?: { readonly b: number; readonly a: number };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byPair(p: PairChange, q: PairChange): number {
  return cmp(p.from[0]!, q.from[0]!) || cmp(p.to[0]!, q.to[0]!);
}

function causeKey(g: ChangeGroup): string {
  return g.causes.length ? g.causes.map((c) => c.policy).join(',') : `~${g.labels ?? ''}`;
}

function diffCell(
  B: Side,
  A: Side,
  x: Bucket,
  y: Bucket,
  policies: ReadonlyMap<string, PolicyChange>,
): { opened: PortSet; cut: PortSet; cause: string } | null {
  const to = x === y ? y.second! : y;
  const eb = [B.m.endpoints[x.b]!, B.m.endpoints[to.b]!] as const;
  const ea = [A.m.endpoints[x.a]!, A.m.endpoints[to.a]!] as const;
  const pb = evaluatePair(B.world, eb[0], eb[1]);
  const pa = evaluatePair(A.world, ea[0], ea[1]);
  const openedSet = pa.allowed.subtract(pb.allowed);
  const cutSet = pb.allowed.subtract(pa.allowed);
  if (openedSet.isEmpty() && cutSet.isEmpty()) return null;
  const part = new Set([...participants(pb), ...participants(pa)]);
  const involved = [...policies]
    .filter(([ref]) => part.has(ref))
    .map(([policy, change]) => ({ policy, change }));
  const causes = minimalCause(B.world, A.world, ea, pa.allowed, involved);
  const alsoInvolved = involved.filter((c) => !causes.includes(c));
  const labels =
    causes.length === 0
      ? [endpointChange(eb[0], ea[0]), endpointChange(eb[1], ea[1])]
          .filter((s) => s !== undefined)
          .join('; ') || 'the endpoints changed'
      : undefined;
  return {
    opened: openedSet,
    cut: cutSet,
    cause: JSON.stringify({
      causes,
      ...(alsoInvolved.length > 0 ? { alsoInvolved } : {}),
      ...(labels !== undefined ? { labels } : {}),
    }),
  };
}

/** `after`, except that the policies outside `take` are as they were in `before`. */
export function partlyChanged(
  before: PolicyWorld,
  after: PolicyWorld,
  take: ReadonlySet<string>,
): PolicyWorld {
  const pick = <T extends { readonly ref: string }>(b: readonly T[], a: readonly T[]): T[] => [
    ...b.filter((p) => !take.has(p.ref)),
    ...a.filter((p) => take.has(p.ref)),
  ];
  // Evaluation order, as buildPolicyWorld sorts them.
  const admin = pick(before.admin, after.admin).sort(
    (x, y) => x.priority! - y.priority! || cmp(x.name, y.name),
  );
  const baseRef = after.baseline?.ref ?? before.baseline?.ref;
  const base = baseRef !== undefined && take.has(baseRef) ? after : before;
  const { baseline: _b, baselineParts: _p, ...rest } = after;
  return {
    ...rest,
    policies: pick(before.policies, after.policies),
    admin,
    ...(base.baseline ? { baseline: base.baseline } : {}),
    ...(base.baselineParts ? { baselineParts: base.baselineParts } : {}),
  };
}

/**
 * The smallest subset of `involved` whose changes alone give the pair (the
 * after world's endpoints) its after answer; ties go to the first in name
 * order. All of them when none smaller does, or when there are too many to try.
 */
function minimalCause(
  before: PolicyWorld,
  after: PolicyWorld,
  ends: readonly [Endpoint, Endpoint],
  want: PortSet,
  involved: readonly PolicyCause[],
): readonly PolicyCause[] {
  const n = involved.length;
  if (n === 0 || n > MAX_MINIMIZED) return involved;
  const masks = Array.from({ length: (1 << n) - 1 }, (_, i) => i).sort(
    (x, y) => popcount(x) - popcount(y) || x - y,
  );
  for (const m of masks) {
    const take = involved.filter((_, i) => (m >> i) & 1);
    const w = partlyChanged(before, after, new Set(take.map((c) => c.policy)));
    if (evaluatePair(w, ends[0], ends[1]).allowed.equals(want)) return take;
  }
  return involved;
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
}
