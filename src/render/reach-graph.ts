/**
 * A picture of who may talk to whom (`reach -o dot|mermaid`): one node per
 * workload — the pods of a namespace that carry the same labels once the
 * per-replica ones (pod-template-hash, the StatefulSet pod name…) are set
 * aside — grouped in a box per namespace, the external ranges as their own
 * nodes, and an edge wherever some port is allowed, labelled with the ports.
 * An edge that holds only between some of the two workloads' pods is dashed
 * and labelled with the ports any pair has.
 */
import type { ReachMatrix } from '../policy/matrix.js';
import type { Endpoint } from '../policy/model.js';
import { PortSet } from '../policy/ports.js';

const PER_POD_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/controller-uid',
  'controller-uid',
]);

interface Node {
  readonly id: string;
  readonly namespace?: string;
  readonly label: string;
  readonly members: number[];
}

interface Edge {
  readonly from: Node;
  readonly to: Node;
  readonly ports: PortSet;
  readonly partial: boolean;
}

function workloadKey(e: Endpoint): string {
  if (e.kind !== 'pod') return `\u0001${e.key}`;
  const labels = Object.entries(e.labels)
    .filter(([k]) => !PER_POD_LABELS.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Pods without labels of their own stand alone.
  return labels.length
    ? `${e.namespace}\u0000${JSON.stringify(labels)}`
    : `${e.namespace}\u0000${e.key}`;
}

function commonPrefix(names: readonly string[]): string {
  let p = names[0] ?? '';
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p.replace(/[-.]+$/, '');
}

function nodeLabel(eps: readonly Endpoint[]): string {
  const first = eps[0]!;
  if (first.kind !== 'pod') return first.key;
  if (eps.length === 1) return first.name;
  const pods = eps as readonly (Endpoint & { kind: 'pod' })[];
  const app = first.labels['app.kubernetes.io/name'] ?? first.labels['app'];
  const name = commonPrefix(pods.map((p) => p.name)) || app || first.name;
  return `${name} (${eps.length} pods)`;
}

function graph(
  m: ReachMatrix,
  ns: string | undefined,
  withExternals: boolean,
): { nodes: Node[]; edges: Edge[] } {
  const byKey = new Map<string, number[]>();
  m.endpoints.forEach((e, i) => {
    if (e.kind === 'pod' ? ns !== undefined && e.namespace !== ns : !withExternals) return;
    const k = workloadKey(e);
    let l = byKey.get(k);
    if (!l) byKey.set(k, (l = []));
    l.push(i);
  });
  const nodes: Node[] = [...byKey.values()].map((members, i) => {
    const e = m.endpoints[members[0]!]!;
    return {
      id: `n${i}`,
      ...(e.kind === 'pod' ? { namespace: e.namespace } : {}),
      label: nodeLabel(members.map((j) => m.endpoints[j]!)),
      members,
    };
  });
  const edges: Edge[] = [];
  for (const a of nodes)
    for (const b of nodes) {
      if (a.namespace === undefined && b.namespace === undefined) continue;
      // Per pair of groups, not per pod pair: the cells are by group.
      const seen = new Set<number>();
      let any = PortSet.EMPTY;
      let every: PortSet | undefined;
      for (const x of a.members)
        for (const y of b.members) {
          if (x === y) continue;
          const id = m.allowedId(x, y);
          if (seen.has(id)) continue;
          seen.add(id);
          const s = m.table.get(id);
          any = any.union(s);
          every = every === undefined ? s : every.intersect(s);
        }
      if (any.isEmpty()) continue;
      edges.push({
        from: a,
        to: b,
        ports: any,
        partial: every === undefined || !every.equals(any),
      });
    }
  return { nodes, edges };
}

function portsText(s: PortSet): string {
  return s.isAll() ? 'all' : s.toString();
}

function dotQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderReachDot(m: ReachMatrix, ns?: string, withExternals = true): string {
  const { nodes, edges } = graph(m, ns, withExternals);
  const out = ['digraph reach {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  const byNs = new Map<string, Node[]>();
  for (const n of nodes) {
    if (n.namespace === undefined) {
      out.push(`  ${n.id} [label=${dotQuote(n.label)}, shape=ellipse];`);
      continue;
    }
    let l = byNs.get(n.namespace);
    if (!l) byNs.set(n.namespace, (l = []));
    l.push(n);
  }
  [...byNs.keys()].sort().forEach((name, i) => {
    out.push(`  subgraph cluster_${i} {`, `    label=${dotQuote(name)};`);
    for (const n of byNs.get(name)!) out.push(`    ${n.id} [label=${dotQuote(n.label)}];`);
    out.push('  }');
  });
  for (const e of edges)
    out.push(
      `  ${e.from.id} -> ${e.to.id} [label=${dotQuote(portsText(e.ports))}${e.partial ? ', style=dashed' : ''}];`,
    );
  out.push('}');
  return `${out.join('\n')}\n`;
}

function mermaidText(s: string): string {
  return s.replace(/"/g, '#quot;');
}

export function renderReachMermaid(m: ReachMatrix, ns?: string, withExternals = true): string {
  const { nodes, edges } = graph(m, ns, withExternals);
  const out = ['flowchart LR'];
  const byNs = new Map<string, Node[]>();
  for (const n of nodes) {
    if (n.namespace === undefined) {
      out.push(`  ${n.id}(["${mermaidText(n.label)}"])`);
      continue;
    }
    let l = byNs.get(n.namespace);
    if (!l) byNs.set(n.namespace, (l = []));
    l.push(n);
  }
  [...byNs.keys()].sort().forEach((name, i) => {
    out.push(`  subgraph ns${i}["${mermaidText(name)}"]`);
    for (const n of byNs.get(name)!) out.push(`    ${n.id}["${mermaidText(n.label)}"]`);
    out.push('  end');
  });
  for (const e of edges)
    out.push(
      `  ${e.from.id} ${e.partial ? '-.->' : '-->'}|"${mermaidText(portsText(e.ports))}"| ${e.to.id}`,
    );
  return `${out.join('\n')}\n`;
}
