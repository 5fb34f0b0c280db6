/**
 * The `Reachability` document (`reach -o json|yaml`, schema/reachability.schema.json):
 * one shape, whatever the cluster's size.
 *
 *   groups[]      endpoints that get the same answers: `members` (pod keys, or an
 *                 external range's name), the policies selecting them and the
 *                 peer selectors matching them (what makes them a group)
 *   portSets[]    the distinct port sets, as ranges per protocol
 *   allowed[i][j] what members of group i may send to members of group j: an
 *                 index into portSets
 *   exceptions[]  the pairs whose answer is not their groups' cell (a
 *                 hostNetwork pod towards the pods of its own node)
 *
 * A pod always reaches itself on every port (its own address never leaves its
 * network namespace); the document does not list it. With `grouping: "pods"`
 * every group is one endpoint (the full per-pod matrix); with `"groups"` the
 * groups are policy's equivalence classes (policy/groups.ts), so 150,000 pods
 * fit in megabytes. With `--port`, every port set is restricted to that port.
 *
 * `writeReachability` streams the document row by row (a 5,000-pod per-pod
 * matrix is 25 million cells); `reachabilityDocument` returns it as an object.
 */
import type { PortQuery } from '../policy/explain.js';
import type { ReachMatrix } from '../policy/matrix.js';
import { fmt } from '../policy/compile.js';
import type { Endpoint, PeerMatcher, PolicyWorld } from '../policy/model.js';
import { PortSet, PortSetTable, type PortRanges } from '../policy/ports.js';
import { document, documentHead, type DocumentHeader } from './document.js';

export type ReachGrouping = 'groups' | 'pods';

export interface ReachDocumentOptions {
  readonly grouping: ReachGrouping;
  /** Restricts every port set to this port. */
  readonly port?: PortQuery;
  /** Only pods of this namespace (and the external ranges). */
  readonly namespace?: string;
  /** Include the external ranges ipBlocks carve out. */
  readonly externals: boolean;
}

export interface ReachGroup {
  readonly kind: 'pods' | 'external';
  readonly members: readonly string[];
  /** Members that are hostNetwork pods (their node's address). */
  readonly hostNetwork?: readonly string[];
  /** An external range: its CIDR and the holes in it. */
  readonly cidr?: string;
  readonly except?: readonly string[];
  /** Policies whose subject the members are (`NetworkPolicy ns/name`, `AdminNetworkPolicy name`). */
  readonly selectedBy: readonly string[];
  /** The rule peers (selectors, ipBlocks) that match the members. */
  readonly matchedBy: readonly string[];
}

export interface ReachException {
  readonly from: string;
  readonly to: string;
  readonly portSet: number;
}

export type ReachabilityDocument = DocumentHeader<'Reachability'> & {
  readonly grouping: ReachGrouping;
  readonly port?: PortQuery;
  readonly namespace?: string;
  readonly groups: readonly ReachGroup[];
  readonly portSets: readonly PortRanges[];
  readonly allowed: readonly (readonly number[])[];
  readonly exceptions: readonly ReachException[];
};

/** Everything but the matrix rows, and the function that gives row i. */
interface Parts {
  readonly head: Omit<ReachabilityDocument, 'apiVersion' | 'kind' | 'allowed' | 'portSets'>;
  readonly row: (i: number) => number[];
  readonly portSets: readonly PortRanges[];
  readonly rows: number;
}

/** Per matrix group, the policies selecting it and the peers matching it. */
function definitions(
  world: PolicyWorld,
  m: ReachMatrix,
): { selectedBy: string[][]; matchedBy: string[][] } {
  const g = m.grouping;
  const { predicates } = g;
  const subjects = new Set([...predicates.npSubject, ...predicates.adminSubject]);
  const peers = peerPredicates(predicates);
  const selectedBy = g.npOfGroup.map((nps, i) => [
    ...nps.map((k) => world.policies[k]!.ref),
    ...g.adminOfGroup[i]!.map((k) => predicates.admins[k]!.ref),
  ]);
  const matched: Set<string>[] = g.groupReps.map(() => new Set());
  g.predGroups.forEach((groups, p) => {
    if (subjects.has(p) && !peers.has(p)) return;
    const text = describeMatcher(predicates.matchers[p]!);
    for (const k of groups) matched[k]!.add(text);
  });
  return { selectedBy, matchedBy: matched.map((s) => [...s].sort()) };
}

/** A peer as a selector reads: `pods {app=web} in namespace shop`, or the ipBlock's ranges. */
function describeMatcher(x: PeerMatcher): string {
  if (x.kind !== 'pods') return x.text;
  const pods = x.podSelector ? `pods ${fmt(x.podSelector)}` : 'every pod';
  if (x.namespace !== undefined) return `${pods} in namespace ${x.namespace}`;
  if (x.namespaceSelector) return `${pods} in namespaces ${fmt(x.namespaceSelector)}`;
  return `${pods} in every namespace`;
}

/** The predicates some rule names as a peer. */
function peerPredicates(predicates: ReachMatrix['grouping']['predicates']): Set<number> {
  const out = new Set<number>();
  for (const rs of [predicates.npRulePeers, predicates.adminRulePeers])
    for (const r of rs)
      for (const l of [...r.ingress, ...r.egress]) if (l !== null) for (const p of l) out.add(p);
  return out;
}

function parts(world: PolicyWorld, m: ReachMatrix, o: ReachDocumentOptions): Parts {
  const inNs = (e: Endpoint) =>
    e.kind === 'pod' ? o.namespace === undefined || e.namespace === o.namespace : o.externals;
  const shown: number[] = [];
  m.endpoints.forEach((e, i) => inNs(e) && shown.push(i));
  // The document's groups: matrix groups (restricted to the shown endpoints), or one per endpoint.
  const groupIdx = new Map<number, number>();
  const members: number[][] = [];
  const rep: number[] = [];
  for (const i of shown) {
    const key = o.grouping === 'pods' ? i : m.groupOf[i]!;
    let k = groupIdx.get(key);
    if (k === undefined) {
      k = members.length;
      groupIdx.set(key, k);
      members.push([]);
      rep.push(i);
    }
    members[k]!.push(i);
  }
  const defs = definitions(world, m);
  const groups = members.map((ms, k): ReachGroup => {
    const r = m.endpoints[rep[k]!]!;
    const mg = m.groupOf[rep[k]!]!;
    const host = ms.filter((i) => {
      const e = m.endpoints[i]!;
      return e.kind === 'pod' && e.hostNetwork === true;
    });
    return {
      kind: r.kind === 'pod' ? 'pods' : 'external',
      members: ms.map((i) => m.endpoints[i]!.key),
      ...(host.length > 0 ? { hostNetwork: host.map((i) => m.endpoints[i]!.key) } : {}),
      ...(r.kind === 'external' ? { cidr: r.cidr, except: r.except } : {}),
      selectedBy: defs.selectedBy[mg] ?? [],
      matchedBy: defs.matchedBy[mg] ?? [],
    };
  });
  // Port sets: the matrix's interned ids the shown cells use, in id order, restricted to --port.
  const only = o.port ? PortSet.port(o.port.protocol, o.port.port) : undefined;
  const used = new Uint8Array(m.table.size);
  const shownGroups = [...new Set(shown.map((i) => m.groupOf[i]!))];
  for (const a of shownGroups)
    for (const b of shownGroups) used[m.cells[a * m.groupCount + b]!] = 1;
  // A pod to itself: every port.
  if (shown.some((i) => m.endpoints[i]!.kind === 'pod')) used[PortSetTable.ALL] = 1;
  m.forEachException((_f, _t, id) => (used[id] = 1));
  const portSets: PortRanges[] = [];
  const docId = new Int32Array(m.table.size).fill(-1);
  const byKey = new Map<string, number>();
  used.forEach((u, id) => {
    if (!u) return;
    const set = only ? m.table.get(id).intersect(only) : m.table.get(id);
    let d = byKey.get(set.key);
    if (d === undefined) {
      d = portSets.length;
      portSets.push(set.toRanges());
      byKey.set(set.key, d);
    }
    docId[id] = d;
  });
  const idOf = (id: number): number => docId[id]!;
  // Per pod, the pair's own answer (a pod to itself included); per group, the groups' cell
  // (between two members; a pod to itself and the exceptions are stated apart).
  const N = m.groupCount;
  const row = (a: number): number[] => {
    const from = rep[a]!;
    const out = new Array<number>(rep.length);
    if (o.grouping === 'pods')
      for (let b = 0; b < rep.length; b++) out[b] = idOf(m.allowedId(from, rep[b]!));
    else {
      const base = m.groupOf[from]! * N;
      for (let b = 0; b < rep.length; b++) out[b] = idOf(m.cells[base + m.groupOf[rep[b]!]!]!);
    }
    return out;
  };
  const exceptions: ReachException[] = [];
  if (o.grouping === 'groups') {
    let shownSet: Set<number> | undefined;
    m.forEachException((from, to, id) => {
      shownSet ??= new Set(shown);
      if (shownSet.has(from) && shownSet.has(to))
        exceptions.push({
          from: m.endpoints[from]!.key,
          to: m.endpoints[to]!.key,
          portSet: idOf(id),
        });
    });
  }
  return {
    head: {
      grouping: o.grouping,
      ...(o.port ? { port: o.port } : {}),
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      groups,
      exceptions,
    },
    row,
    portSets,
    rows: rep.length,
  };
}

/** The Reachability document as an object (for a cluster whose matrix fits in memory). */
export function reachabilityDocument(
  world: PolicyWorld,
  m: ReachMatrix,
  o: ReachDocumentOptions,
): ReachabilityDocument {
  const p = parts(world, m, o);
  const allowed = Array.from({ length: p.rows }, (_, i) => p.row(i));
  const { grouping, port, namespace, groups, exceptions } = p.head;
  return document('Reachability', {
    grouping,
    ...(port ? { port } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    groups,
    portSets: p.portSets,
    allowed,
    exceptions,
  });
}

/**
 * Writes the Reachability document through `out`, a row at a time: the same
 * JSON `reachabilityDocument` gives (keys in the same order), never one string
 * of the whole matrix.
 */
export function writeReachability(
  out: (text: string) => void,
  world: PolicyWorld,
  m: ReachMatrix,
  o: ReachDocumentOptions,
): void {
  const p = parts(world, m, o);
  const { grouping, port, namespace, groups, exceptions } = p.head;
  out(documentHead('Reachability'));
  out(`"grouping":${JSON.stringify(grouping)},`);
  if (port) out(`"port":${JSON.stringify(port)},`);
  if (namespace !== undefined) out(`"namespace":${JSON.stringify(namespace)},`);
  out('"groups":[');
  groups.forEach((g, i) => out(`${i ? ',' : ''}\n${JSON.stringify(g)}`));
  out(`],"portSets":${JSON.stringify(p.portSets)},"allowed":[`);
  for (let i = 0; i < p.rows; i++) out(`${i ? ',' : ''}\n[${p.row(i).join(',')}]`);
  out(`],"exceptions":${JSON.stringify(exceptions)}}\n`);
}

/**
 * Writes the Reachability document as YAML through `out`, a piece at a time:
 * the bytes `yaml` (the CLI's `-o yaml`: the whole document's JSON as YAML)
 * gives for `reachabilityDocument`. `yaml` renders the head and each group,
 * port set and exception on its own; the matrix rows, only numbers, are
 * written here.
 */
export function writeReachabilityYaml(
  out: (text: string) => void,
  world: PolicyWorld,
  m: ReachMatrix,
  o: ReachDocumentOptions,
  yaml: (value: unknown) => string,
): void {
  const p = parts(world, m, o);
  const { grouping, port, namespace, groups, exceptions } = p.head;
  out(
    yaml(
      document('Reachability', {
        grouping,
        ...(port ? { port } : {}),
        ...(namespace !== undefined ? { namespace } : {}),
      }),
    ),
  );
  // A block sequence under a top-level key: each item as yaml writes it alone, indented.
  const list = (key: string, items: readonly unknown[]) => {
    if (items.length === 0) return out(`${key}: []\n`);
    out(`${key}:\n`);
    for (const item of items) out(yaml([item]).replace(/^(?=.)/gm, '  '));
  };
  list('groups', groups);
  list('portSets', p.portSets);
  if (p.rows === 0) out('allowed: []\n');
  else {
    out('allowed:\n');
    // The matrix is square: a row is never empty when there is one.
    for (let i = 0; i < p.rows; i++) out(`  - - ${p.row(i).join('\n    - ')}\n`);
  }
  list('exceptions', exceptions);
}
