/**
 * Why not, and what to change: for a pair the policies deny on a port, the
 * small edits to the objects that would allow it — each one applied to a copy
 * of the objects and checked by the policy engine before it is offered.
 *
 * Per denying direction (egress at the source, ingress at the destination),
 * the candidates, smallest first:
 *   1. add the port to an isolating policy's rule whose peers already match;
 *   2. add the peer to an isolating policy's rule whose ports already hold it;
 *   3. label the peer's namespace as a rule's namespaceSelector asks, when the
 *      rule's pod selector already matches the peer;
 *   4. a new NetworkPolicy selecting the pod (by its labels) that admits the
 *      peer on the port;
 *   5. when an AdminNetworkPolicy denies it, an Allow rule at the top of that
 *      policy's rules for exactly this peer and port.
 * When both directions deny, a suggestion is one edit for each. Each
 * suggestion counts the other pairs it would open too (check/diff.ts), so the
 * narrowest is plain to see. Edits are RFC 6902 JSON patches on the object
 * (`add` only) or a whole new object: what `kubectl patch --type json` and a
 * kustomize `patches:` entry take.
 */
import type { SourceObject } from '../../policy/model.js';
import type { Endpoint, PodEndpoint } from '../../policy/model.js';
import { NS_NAME_LABEL } from '../../policy/model.js';
import type { PortQuery } from '../../policy/explain.js';
import { evaluatePair, type DirectionResult } from '../../policy/evaluate.js';
import { buildPolicyWorld } from '../../policy/world.js';
import type { PolicyWorld } from '../../policy/model.js';
import { intToIp } from '../../wire/addr.js';
import type { Edit, EditKind, ObjectRef, PatchOp, Suggestion } from '../model.js';
import type { TracePolicy } from '../../policy/trace-annotate.js';
import type { ConnectionTrace } from '../model.js';
import { diffReach } from './diff.js';
import { parsePortRef } from './expectations.js';
import { policyCatalog, RefError, resolveTargets } from './targets.js';

export type { Edit, EditKind, ObjectRef, PatchOp, Suggestion } from '../model.js';

type Obj = Record<string, unknown>;

/** Labels that differ between replicas of one workload: left out of a selector meant for all of them. */
const PER_POD_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/controller-uid',
  'controller-uid',
]);

function workloadLabels(p: PodEndpoint): Record<string, string> {
  return Object.fromEntries(Object.entries(p.labels).filter(([k]) => !PER_POD_LABELS.has(k)));
}

function meta(o: unknown): {
  kind?: string;
  apiVersion?: string;
  name?: string;
  namespace?: string;
} {
  const x = o as {
    kind?: string;
    apiVersion?: string;
    metadata?: { name?: string; namespace?: string };
  };
  return {
    ...(x?.kind !== undefined ? { kind: x.kind } : {}),
    ...(x?.apiVersion !== undefined ? { apiVersion: x.apiVersion } : {}),
    ...(x?.metadata?.name !== undefined ? { name: x.metadata.name } : {}),
    ...(x?.metadata?.namespace !== undefined ? { namespace: x.metadata.namespace } : {}),
  };
}

/** `NetworkPolicy ns/name` or `AdminNetworkPolicy name` → the source object. */
function findPolicy(sources: readonly SourceObject[], ref: string): Obj | undefined {
  const [kind, id] = ref.split(' ');
  const [a, b] = id!.includes('/') ? id!.split('/') : [undefined, id];
  return sources.find((s) => {
    const m = meta(s.object);
    return m.kind === kind && m.name === b && (a === undefined || (m.namespace ?? 'default') === a);
  })?.object as Obj | undefined;
}

function refOf(o: Obj): ObjectRef {
  const m = meta(o);
  return {
    apiVersion: m.apiVersion ?? 'v1',
    kind: m.kind ?? '',
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    name: m.name ?? '',
  };
}

/** `spec.ingress[0]` → `/spec/ingress/0`. */
function pointer(field: string): string {
  return `/${field
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .join('/')}`;
}

function getPath(o: unknown, ptr: string): unknown {
  let cur = o;
  for (const part of ptr.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Applies `add` operations (RFC 6902) to a deep copy of `o`. */
export function applyPatch(o: unknown, ops: readonly PatchOp[]): unknown {
  const copy = structuredClone(o) as Obj;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let cur: unknown = copy;
    for (const p of parts) {
      const c = cur as Record<string, unknown>;
      if (c[p] === undefined) c[p] = {};
      cur = c[p];
    }
    if (Array.isArray(cur)) {
      if (last === '-') cur.push(op.value);
      else cur.splice(Number(last), 0, op.value);
    } else (cur as Record<string, unknown>)[last] = op.value;
  }
  return copy;
}

function sameObject(a: unknown, t: ObjectRef): boolean {
  const m = meta(a);
  return m.kind === t.kind && m.name === t.name && (m.namespace ?? undefined) === t.namespace;
}

/** The objects with the edits applied (patched copies; new objects appended). */
export function applyEdits(
  sources: readonly SourceObject[],
  edits: readonly Edit[],
): SourceObject[] {
  let out = [...sources];
  for (const e of edits) {
    if (e.create) {
      out.push({ object: e.create });
      continue;
    }
    out = out.map((s) =>
      sameObject(s.object, e.target) ? { ...s, object: applyPatch(s.object, e.patch ?? []) } : s,
    );
  }
  return out;
}

/** A NetworkPolicy peer that selects exactly `peer`'s workload (or address) as seen from namespace `ns`. */
function npPeer(peer: Endpoint, ns: string): Obj {
  if (peer.kind !== 'pod') return { ipBlock: { cidr: `${intToIp(peer.probe)}/32` } };
  const podSelector = { matchLabels: workloadLabels(peer) };
  if (peer.namespace === ns) return { podSelector };
  return { namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: peer.namespace } }, podSelector };
}

function portValue(q: PortQuery): Obj {
  return { protocol: q.protocol, port: q.port };
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

function endpointText(e: Endpoint): string {
  return e.kind === 'pod' ? e.key : intToIp(e.probe);
}

/** Candidate edits that would let direction `r` allow `q` (not yet checked). */
function candidates(sources: readonly SourceObject[], r: DirectionResult, q: PortQuery): Edit[] {
  if (r.subject.kind !== 'pod') return [];
  const subject = r.subject;
  const peer = r.peer;
  const dir = r.direction;
  const peersKey = dir === 'ingress' ? 'from' : 'to';
  const out: Edit[] = [];
  const pq = `${q.protocol}/${q.port}`;
  // An AdminNetworkPolicy that denies it: an Allow rule for exactly this peer and port, first.
  for (const d of r.admin) {
    if (d.action !== 'Deny' || !d.ports.has(q.protocol, q.port)) continue;
    const o = findPolicy(sources, d.policy);
    if (!o) continue;
    if (peer.kind !== 'pod' && dir === 'ingress') continue; // ANP ingress has no networks peer
    const anpPeer =
      peer.kind === 'pod'
        ? {
            pods: {
              namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: peer.namespace } },
              podSelector: { matchLabels: workloadLabels(peer) },
            },
          }
        : { networks: [`${intToIp(peer.probe)}/32`] };
    out.push({
      kind: 'admin-allow',
      summary: `${d.policy} denies ${pq} (rule "${d.rule}"): add an Allow rule before it for ${endpointText(peer)} on ${pq}`,
      target: refOf(o),
      patch: [
        {
          op: 'add',
          path: `/spec/${dir}/0`,
          value: {
            name: slug(`allow-${endpointText(peer)}-${q.port}`),
            action: 'Allow',
            [peersKey]: [anpPeer],
            ports: [{ portNumber: { protocol: q.protocol, port: q.port } }],
          },
        },
      ],
    });
  }
  if (r.isolatedBy.length > 0) {
    for (const h of r.npHits) {
      const o = findPolicy(sources, h.policy);
      if (!o) continue;
      const at = pointer(h.field);
      const rule = getPath(o, at) as Obj | undefined;
      if (!rule) continue;
      if (h.matched && !h.ports.has(q.protocol, q.port) && Array.isArray(rule.ports)) {
        out.push({
          kind: 'add-port',
          summary: `${h.policy} ${h.field} already admits ${endpointText(peer)}: add ${pq} to its ports`,
          target: refOf(o),
          patch: [{ op: 'add', path: `${at}/ports/-`, value: portValue(q) }],
        });
      }
      if (!h.matched && h.ports.has(q.protocol, q.port) && Array.isArray(rule[peersKey])) {
        out.push({
          kind: 'add-peer',
          summary: `${h.policy} ${h.field} allows ${pq}: add ${endpointText(peer)} to its peers`,
          target: refOf(o),
          patch: [
            { op: 'add', path: `${at}/${peersKey}/-`, value: npPeer(peer, subject.namespace) },
          ],
        });
      }
      if (!h.matched && h.ports.has(q.protocol, q.port) && peer.kind === 'pod')
        out.push(...namespaceLabels(sources, rule[peersKey], peer, h.policy, h.field));
    }
    out.push(newPolicy(subject, peer, r, q));
  } else if (r.baseline.some((d) => d.action === 'Deny' && d.ports.has(q.protocol, q.port))) {
    // The baseline applies only to pods no NetworkPolicy isolates: one that does, and admits
    // the peer, takes precedence (it may cut what the baseline allowed: counted as cuts).
    out.push(newPolicy(subject, peer, r, q));
  }
  return out;
}

/** A rule peer `{namespaceSelector: {matchLabels}, podSelector}` whose pod part matches: label the namespace. */
function namespaceLabels(
  sources: readonly SourceObject[],
  peers: unknown,
  peer: PodEndpoint,
  policy: string,
  field: string,
): Edit[] {
  if (!Array.isArray(peers)) return [];
  const ns = sources.find(
    (s) => meta(s.object).kind === 'Namespace' && meta(s.object).name === peer.namespace,
  );
  if (!ns) return [];
  const out: Edit[] = [];
  for (const p of peers as Obj[]) {
    const sel = p?.namespaceSelector as
      { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined;
    if (!sel?.matchLabels || sel.matchExpressions?.length) continue;
    const pod = p.podSelector as
      { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined;
    if (pod?.matchExpressions?.length) continue;
    if (
      pod?.matchLabels &&
      !Object.entries(pod.matchLabels).every(([k, v]) => peer.labels[k] === v)
    )
      continue;
    const missing = Object.entries(sel.matchLabels).filter(([k, v]) => peer.nsLabels[k] !== v);
    if (missing.length === 0) continue;
    const hasLabels =
      (ns.object as { metadata?: { labels?: unknown } }).metadata?.labels !== undefined;
    out.push({
      kind: 'label-namespace',
      summary: `${policy} ${field} admits namespaces labelled ${missing.map(([k, v]) => `${k}=${v}`).join(',')}: label namespace ${peer.namespace}`,
      target: refOf(ns.object as Obj),
      patch: hasLabels
        ? missing.map(([k, v]) => ({
            op: 'add' as const,
            path: `/metadata/labels/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            value: v,
          }))
        : [{ op: 'add', path: '/metadata/labels', value: Object.fromEntries(missing) }],
    });
  }
  return out;
}

function newPolicy(subject: PodEndpoint, peer: Endpoint, r: DirectionResult, q: PortQuery): Edit {
  const dir = r.direction;
  const name = slug(
    `allow-${dir === 'ingress' ? 'from' : 'to'}-${peer.kind === 'pod' ? peer.name.replace(/\[.*$/, '') : intToIp(peer.probe)}-${q.protocol}-${q.port}`,
  );
  const create = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: subject.namespace },
    spec: {
      podSelector: { matchLabels: workloadLabels(subject) },
      policyTypes: [dir === 'ingress' ? 'Ingress' : 'Egress'],
      [dir]: [
        {
          [dir === 'ingress' ? 'from' : 'to']: [npPeer(peer, subject.namespace)],
          ports: [portValue(q)],
        },
      ],
    },
  };
  return {
    kind: 'new-policy',
    summary: `add NetworkPolicy ${subject.namespace}/${name} selecting ${subject.key}'s workload for ${dir} ${dir === 'ingress' ? 'from' : 'to'} ${endpointText(peer)} on ${q.protocol}/${q.port}`,
    target: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      namespace: subject.namespace,
      name,
    },
    create,
  };
}

function findEndpoint(w: PolicyWorld, e: Endpoint): Endpoint {
  if (e.kind !== 'pod') return e;
  return w.pods.find((p) => p.key === e.key) ?? e;
}

/** Whether the edited objects allow `from → to` on `q` (and the world they make). */
export function allowsAfter(
  sources: readonly SourceObject[],
  edits: readonly Edit[],
  from: Endpoint,
  to: Endpoint,
  q: PortQuery,
): { allowed: boolean; world: PolicyWorld } {
  const w = buildPolicyWorld(applyEdits(sources, edits));
  if (w.diagnostics.some((d) => d.severity === 'error')) return { allowed: false, world: w };
  const p = evaluatePair(w, findEndpoint(w, from), findEndpoint(w, to));
  return { allowed: p.allowed.has(q.protocol, q.port), world: w };
}

/** At most this many suggestions are checked and offered. */
export const MAX_SUGGESTIONS = 6;

/**
 * The checked edits that would allow `from → to` on `q`, narrowest first; [] when it is
 * already allowed or nothing this module knows how to write would allow it.
 */
export function suggestEdits(
  world: PolicyWorld,
  sources: readonly SourceObject[],
  from: Endpoint,
  to: Endpoint,
  q: PortQuery,
): Suggestion[] {
  const pair = evaluatePair(world, from, to);
  if (pair.allowed.has(q.protocol, q.port)) return [];
  const eg = pair.egress.allowed.has(q.protocol, q.port) ? [] : candidates(sources, pair.egress, q);
  const ing = pair.ingress.allowed.has(q.protocol, q.port)
    ? []
    : candidates(sources, pair.ingress, q);
  const egDenies = !pair.egress.allowed.has(q.protocol, q.port);
  const ingDenies = !pair.ingress.allowed.has(q.protocol, q.port);
  let sets: Edit[][];
  if (egDenies && ingDenies) {
    sets = [];
    for (const e of eg) for (const i of ing) sets.push([e, i]);
  } else sets = (egDenies ? eg : ing).map((e) => [e]);
  const out: Suggestion[] = [];
  for (const edits of sets) {
    if (out.length >= MAX_SUGGESTIONS) break;
    const after = allowsAfter(sources, edits, from, to, q);
    if (!after.allowed) continue;
    const d = diffReach(world, after.world);
    out.push({ alsoOpens: Math.max(0, d.opened - 1), cuts: d.cut, edits });
  }
  const rank: Record<EditKind, number> = {
    'add-port': 0,
    'add-peer': 1,
    'label-namespace': 2,
    'new-policy': 3,
    'admin-allow': 4,
  };
  return out
    .map((s, i) => ({ s, i }))
    .sort(
      (a, b) =>
        a.s.alsoOpens + a.s.cuts - (b.s.alsoOpens + b.s.cuts) ||
        Math.max(...a.s.edits.map((e) => rank[e.kind])) -
          Math.max(...b.s.edits.map((e) => rank[e.kind])) ||
        a.i - b.i,
    )
    .map((x) => x.s);
}

/**
 * The checked edits that would allow a traced connection the policies deny, on the
 * trace's port: undefined when the policies allow it, it has no port (ICMP), or an end
 * is not something the policy engine decides on (a node, a Service with no pods).
 */
export function suggestForTrace(
  world: PolicyWorld,
  sources: readonly SourceObject[],
  policy: TracePolicy,
): Suggestion[] | undefined {
  if (policy.allowedByPolicy || policy.port === undefined) return undefined;
  const q = parsePortRef(policy.port);
  if (!q) return undefined;
  const c = policyCatalog(
    world,
    sources.map((s) => s.object),
  );
  let from;
  let to;
  try {
    from = resolveTargets(c, policy.from)[0]?.endpoint;
    to = resolveTargets(c, policy.to)[0]?.endpoint;
  } catch (e) {
    if (e instanceof RefError) return undefined;
    throw e;
  }
  if (!from || !to) return undefined;
  return suggestEdits(world, sources, from, to, q);
}

/** The trace with `policy.suggestions` filled in when the policies deny it (else unchanged). */
export function withSuggestions<T extends ConnectionTrace>(
  t: T,
  world: PolicyWorld,
  sources: readonly SourceObject[],
): T {
  if (!t.policy) return t;
  const suggestions = suggestForTrace(world, sources, t.policy);
  return suggestions === undefined ? t : { ...t, policy: { ...t.policy, suggestions } };
}
