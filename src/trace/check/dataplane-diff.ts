/**
 * What a change to the data plane does to connections: the two cluster
 * models (before and after) compared object by object for what the data plane
 * is built from — Services and their endpoints, nodes, pods' addresses and
 * ports, external hosts, the Cluster settings (CNI, kube-proxy, masquerade) —
 * and the connections that change can affect traced in both twins, every
 * kube-proxy branch (`allPaths`). A connection whose answer differs is
 * reported with both answers and the first place the two traces part (the hop
 * and the step: the rule, route or rewrite that differs).
 *
 * Bounded: a changed Service is probed from one client pod in its namespace
 * and one on another node (each of its ports), from outside through its node
 * ports on up to MAX_NODES nodes and its load-balancer address; a change that
 * reaches every connection (a Cluster setting, a node) is probed by a sample —
 * pod to pod between the first pod-network pod of up to MAX_NODES nodes,
 * each Service's first port, node ports from outside, pods to each external
 * host — narrowed to the changed node's connections for a node. At most
 * `maxTraces` connections are traced, in that order; the diff says how many
 * were candidates and which were left out.
 *
 * NetworkPolicy changes are the policy diff's (check/diff.ts): traces show
 * their enforcement too, but they are not what selects the connections here.
 */
import type { ClusterModel, ModelPod, ModelService } from '../../k8s/model.js';
import { nsName } from '../../k8s/model.js';
import type { TwinPlan } from '../../twin/index.js';
import type { ConnectionTrace, Hop } from '../model.js';
import { answered, branchesOf, branchLine, runTrace } from './dataplane.js';
import { RefError } from './targets.js';

/** What changed in the objects the data plane is built from. */
export interface DataplaneScope {
  /** Cluster settings that differ (`kubeProxy.mode`, `cni`, `masquerade`…). */
  readonly cluster: readonly string[];
  /** Nodes added, removed or changed. */
  readonly nodes: readonly string[];
  /** Services (`ns/name`) whose spec, status or endpoints differ, or that one side lacks. */
  readonly services: readonly string[];
  /** Pods whose address, node or ports differ (`ns/name`). */
  readonly pods: readonly string[];
  readonly externalHosts: readonly string[];
}

/** A connection to trace in both twins, and why it was chosen. */
export interface Probe {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** One side's answer for a connection. */
export interface ProbeAnswer {
  readonly summary: string;
  /** Each path as `check` writes it (dataplane.ts branchLine), sorted. */
  readonly paths: readonly string[];
}

/** Where the two traces of a connection first part. */
export interface Divergence {
  readonly leg: 'request' | 'reply' | 'paths';
  /** The hop's position in the leg (0-based); absent for `paths`. */
  readonly hop?: number;
  readonly host?: string;
  /** The first step (or path) that differs, on each side; absent when that side has none. */
  readonly before?: string;
  readonly after?: string;
}

export interface DataplaneChange extends Probe {
  readonly before: ProbeAnswer;
  readonly after: ProbeAnswer;
  readonly divergence: Divergence;
}

export interface DataplaneDiff {
  readonly scope: DataplaneScope;
  /** Connections the change can affect (before the bound). */
  readonly candidates: number;
  /** Connections traced in both twins. */
  readonly traced: readonly Probe[];
  /** Candidates not traced (the bound), counted. */
  readonly leftOut: number;
  readonly changes: readonly DataplaneChange[];
  /** Connections one side cannot trace (a Service only one side has…), with why. */
  readonly notes: readonly string[];
}

/** Nodes probed per Service's node port and in the sample of a cluster-wide change. */
export const MAX_NODES = 3;
/** Connections traced at most, by default. */
export const DEFAULT_MAX_TRACES = 64;

const json = (o: unknown) => JSON.stringify(o ?? null);

function changedKeys<T>(
  b: ReadonlyMap<string, T>,
  a: ReadonlyMap<string, T>,
  form: (x: T) => string,
): string[] {
  const out = new Set<string>();
  for (const [k, v] of b) {
    const w = a.get(k);
    if (w === undefined || form(w) !== form(v)) out.add(k);
  }
  for (const k of a.keys()) if (!b.has(k)) out.add(k);
  return [...out].sort();
}

function serviceForm(m: ClusterModel): (s: ModelService) => string {
  return (s) =>
    json([
      s.spec,
      s.status?.loadBalancer,
      (m.slicesByService.get(nsName(s)) ?? []).map((sl) => [sl.endpoints, sl.ports]),
    ]);
}

function podForm(p: ModelPod): string {
  return json([
    p.status.podIP,
    p.spec.nodeName,
    p.spec.hostNetwork,
    p.spec.containers.map((c) => c.ports ?? []),
  ]);
}

/** What differs between the two models in what the data plane is built from. */
export function dataplaneScope(before: ClusterModel, after: ClusterModel): DataplaneScope {
  const cluster: string[] = [];
  const bc = before.cluster as unknown as Record<string, unknown>;
  const ac = after.cluster as unknown as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(bc), ...Object.keys(ac)])].sort()) {
    const x = bc[k];
    const y = ac[k];
    if (json(x) === json(y)) continue;
    if (k === 'kubeProxy' && x && y) {
      const xs = x as Record<string, unknown>;
      const ys = y as Record<string, unknown>;
      for (const f of [...new Set([...Object.keys(xs), ...Object.keys(ys)])].sort())
        if (json(xs[f]) !== json(ys[f])) cluster.push(`kubeProxy.${f}`);
    } else cluster.push(k);
  }
  const sb = serviceForm(before);
  const sa = serviceForm(after);
  const services = new Set(changedKeys(before.services, after.services, () => ''));
  for (const [k, s] of before.services) {
    const t = after.services.get(k);
    if (t && sb(s) !== sa(t)) services.add(k);
  }
  return {
    cluster,
    nodes: changedKeys(before.nodes, after.nodes, (n) =>
      json([n.metadata.labels, n.metadata.annotations, n.spec, n.status.addresses]),
    ),
    services: [...services].sort(),
    pods: changedKeys(before.pods, after.pods, podForm),
    externalHosts: changedKeys(before.externalHosts, after.externalHosts, (h) => json(h.spec)),
  };
}

export function scopeIsEmpty(s: DataplaneScope): boolean {
  return (
    s.cluster.length +
      s.nodes.length +
      s.services.length +
      s.pods.length +
      s.externalHosts.length ===
    0
  );
}

/** Pod-network pods, sorted by `ns/name`. */
function clientPods(m: ClusterModel): ModelPod[] {
  return [...m.pods.values()].filter((p) => !p.spec.hostNetwork);
}

function backendIps(m: ClusterModel, key: string): Set<string> {
  const out = new Set<string>();
  for (const sl of m.slicesByService.get(key) ?? [])
    for (const e of sl.endpoints ?? []) for (const a of e.addresses) out.add(a);
  return out;
}

function firstExternalHost(m: ClusterModel): string | undefined {
  return [...m.externalHosts.keys()].sort()[0];
}

/** The connections that reach one Service: from pods, and from outside through its node ports and LB address. */
function serviceProbes(m: ClusterModel, key: string, why: string): Probe[] {
  const svc = m.services.get(key);
  if (!svc || !svc.spec.clusterIP || svc.spec.clusterIP === 'None') return [];
  const ns = svc.metadata.namespace;
  const backends = backendIps(m, key);
  const pods = clientPods(m).filter((p) => !backends.has(p.status.podIP));
  const first = pods.find((p) => p.metadata.namespace === ns) ?? pods[0];
  const other = first && pods.find((p) => p.spec.nodeName !== first.spec.nodeName);
  const out: Probe[] = [];
  const host = firstExternalHost(m);
  const nodes = [...m.nodes.keys()].slice(0, MAX_NODES);
  const lb = svc.status?.loadBalancer?.ingress?.some((i) => i.ip);
  for (const sp of svc.spec.ports) {
    for (const c of [first, other])
      if (c) out.push({ from: nsName(c), to: `svc/${key}:${sp.port}`, why });
    if (host && sp.nodePort !== undefined && svc.spec.type !== 'ClusterIP')
      for (const n of nodes)
        out.push({ from: `host/${host}`, to: `node/${n}:${sp.nodePort}`, why });
    if (host && lb && svc.spec.type === 'LoadBalancer')
      out.push({ from: `host/${host}`, to: `lb/${key}:${sp.port}`, why });
  }
  return out;
}

/** A sample of the cluster's connections, optionally only those touching `node`. */
function sampleProbes(m: ClusterModel, why: string, node?: string): Probe[] {
  const nodes = [...m.nodes.keys()];
  const onNode = (n: string) => clientPods(m).find((p) => p.spec.nodeName === n);
  const sampleNodes = node
    ? [node, ...nodes.filter((n) => n !== node).slice(0, MAX_NODES - 1)]
    : nodes.slice(0, MAX_NODES);
  const firsts = sampleNodes.map(onNode).filter((p): p is ModelPod => p !== undefined);
  const touches = (p: ModelPod) => node === undefined || p.spec.nodeName === node;
  const out: Probe[] = [];
  for (const a of firsts)
    for (const b of firsts)
      if (a !== b && portSuffix(b) !== '' && (touches(a) || touches(b)))
        out.push({ from: nsName(a), to: `${nsName(b)}${portSuffix(b)}`, why });
  const client = node ? firsts.find(touches) : firsts[0];
  if (client)
    for (const [key, svc] of m.services) {
      const sp = svc.spec.ports[0];
      if (sp && svc.spec.clusterIP && svc.spec.clusterIP !== 'None')
        out.push({ from: nsName(client), to: `svc/${key}:${sp.port}`, why });
    }
  const host = firstExternalHost(m);
  const np = [...m.services].find(([, s]) => s.spec.ports.some((p) => p.nodePort !== undefined));
  if (host && np) {
    const port = np[1].spec.ports.find((p) => p.nodePort !== undefined)!.nodePort!;
    for (const n of node ? [node] : sampleNodes)
      out.push({ from: `host/${host}`, to: `node/${n}:${port}`, why });
  }
  for (const [name, h] of m.externalHosts) {
    const port = h.spec.listen?.[0]?.port;
    if (port === undefined) continue;
    for (const p of firsts.filter(touches)) out.push({ from: nsName(p), to: `host/${name}`, why });
  }
  return out;
}

function portSuffix(p: ModelPod): string {
  const port = p.spec.containers.flatMap((c) => c.ports ?? [])[0]?.containerPort;
  return port === undefined ? '' : `:${port}`;
}

/** Every connection the change can affect, in the order they are traced. */
export function probesFor(before: ClusterModel, after: ClusterModel, s: DataplaneScope): Probe[] {
  const out: Probe[] = [];
  for (const key of s.services) {
    const why = `Service ${key} changed`;
    // A Service only one side has is probed on the side that has it (the other cannot resolve it).
    out.push(...serviceProbes(after.services.has(key) ? after : before, key, why));
  }
  for (const p of s.pods) {
    const pod = after.pods.get(p) ?? before.pods.get(p);
    const m = after.pods.has(p) ? after : before;
    const client = clientPods(m).find((c) => c.spec.nodeName !== pod?.spec.nodeName);
    if (pod && client && !pod.spec.hostNetwork && portSuffix(pod) !== '')
      out.push({ from: nsName(client), to: `${p}${portSuffix(pod)}`, why: `pod ${p} changed` });
  }
  if (s.cluster.length > 0)
    out.push(...sampleProbes(after, `Cluster settings changed: ${s.cluster.join(', ')}`));
  for (const n of s.nodes)
    if (after.nodes.has(n)) out.push(...sampleProbes(after, `node ${n} changed`, n));
  for (const h of s.externalHosts)
    if (after.externalHosts.has(h)) {
      const pod = clientPods(after)[0];
      if (pod) out.push({ from: nsName(pod), to: `host/${h}`, why: `ExternalHost ${h} changed` });
    }
  const seen = new Set<string>();
  return out.filter((p) => {
    const k = `${p.from}\u0000${p.to}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function answerOf(t: ConnectionTrace): ProbeAnswer {
  const bs = branchesOf(t);
  const ok = bs.filter((b) => answered(t, b)).length;
  const what = `${t.proto}${t.to.port !== undefined ? `/${t.to.port}` : ''}`;
  const seen = [
    ...new Set(
      bs
        .filter((b) => b.request.disposition === 'delivered')
        .map((b) => b.request.received?.src)
        .filter((x) => x !== undefined),
    ),
  ];
  return {
    summary: `${what}: answered on ${ok} of ${bs.length} path${bs.length === 1 ? '' : 's'}${seen.length ? `; the receiver sees ${seen.join(', ')}` : ''}`,
    paths: bs.map((b) => branchLine(t, b)).sort(),
  };
}

function sameAnswer(x: ProbeAnswer, y: ProbeAnswer): boolean {
  return x.summary === y.summary && json(x.paths) === json(y.paths);
}

/** A step as compared: where a rule sits in its node's dump (`(iptables-save@node-1:99)`) is not part of it. */
function stepText(s: Hop['steps'][number] | undefined): string | undefined {
  return s === undefined
    ? undefined
    : `${s.kind}: ${s.summary.replace(/ \([^()\s]*@[^()\s]*:\d+\)/g, '')}`;
}

/** The first hop and step where the two legs differ, or undefined when they are the same. */
function legDivergence(
  leg: 'request' | 'reply',
  b: readonly Hop[],
  a: readonly Hop[],
): Divergence | undefined {
  for (let i = 0; i < Math.max(b.length, a.length); i++) {
    const x = b[i];
    const y = a[i];
    if (!x || !y || x.host !== y.host)
      return {
        leg,
        hop: i,
        host: (y ?? x)!.host,
        ...(x ? { before: `on ${x.host}` } : {}),
        ...(y ? { after: `on ${y.host}` } : {}),
      };
    for (let j = 0; j < Math.max(x.steps.length, y.steps.length); j++) {
      const p = stepText(x.steps[j]);
      const q = stepText(y.steps[j]);
      if (p !== q)
        return {
          leg,
          hop: i,
          host: x.host,
          ...(p !== undefined ? { before: p } : {}),
          ...(q !== undefined ? { after: q } : {}),
        };
    }
  }
  return undefined;
}

/** Where two traces of one connection first part: the seeded path's hops, else the set of paths. */
export function divergence(b: ConnectionTrace, a: ConnectionTrace): Divergence {
  const r = legDivergence('request', b.request.hops, a.request.hops);
  if (r) return r;
  const p = legDivergence('reply', b.reply?.hops ?? [], a.reply?.hops ?? []);
  if (p) return p;
  const x = answerOf(b).paths;
  const y = answerOf(a).paths;
  const before = x.find((l) => !y.includes(l));
  const after = y.find((l) => !x.includes(l));
  return {
    leg: 'paths',
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  };
}

function tryTrace(plan: TwinPlan, p: Probe): ConnectionTrace | string {
  try {
    return runTrace(plan, p.from, p.to);
  } catch (e) {
    if (e instanceof RefError) return e.message;
    throw e;
  }
}

/** Traces the connections a data-plane change can affect in both twins and reports those whose answer changed. */
export function diffDataplane(
  before: TwinPlan,
  after: TwinPlan,
  opts: { readonly maxTraces?: number } = {},
): DataplaneDiff {
  const scope = dataplaneScope(before.model, after.model);
  const all = probesFor(before.model, after.model, scope);
  const max = opts.maxTraces ?? DEFAULT_MAX_TRACES;
  const traced = all.slice(0, max);
  const changes: DataplaneChange[] = [];
  const notes: string[] = [];
  for (const p of traced) {
    const tb = tryTrace(before, p);
    const ta = tryTrace(after, p);
    if (typeof tb === 'string' || typeof ta === 'string') {
      if (typeof tb !== typeof ta)
        notes.push(
          `${p.from} → ${p.to}: ${typeof tb === 'string' ? `not before (${tb})` : `not after (${ta as string})`}`,
        );
      continue;
    }
    const x = answerOf(tb);
    const y = answerOf(ta);
    if (sameAnswer(x, y)) continue;
    changes.push({ ...p, before: x, after: y, divergence: divergence(tb, ta) });
  }
  return {
    scope,
    candidates: all.length,
    traced,
    leftOut: all.length - traced.length,
    changes,
    notes,
  };
}
