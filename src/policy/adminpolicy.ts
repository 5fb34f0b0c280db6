/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy
 * (policy.networking.k8s.io/v1alpha1, KEP-2091) compiled for evaluation:
 * subject, peers (namespaces / pods / nodes / networks, and the earlier
 * NamespaceSet forms with namespaces relative to the subject's), ports
 * (portNumber / namedPort / portRange), actions and priority. The objects
 * arrive decoded and validated (`k8s/decode`, as the network-policy-api CRD
 * schemas would); `expandRelations` resolves the relative forms per subject
 * namespace.
 */
import type { Location } from '../diag.js';
import type {
  AdminNetworkPolicy,
  AdminNetworkPolicyPeer,
  AdminNetworkPolicyPort,
  AdminNetworkPolicyRule,
  AdminNetworkPolicySubject,
  BaselineAdminNetworkPolicy,
  LabelSelector,
  NamespaceRelation,
} from '../k8s/types.js';
import { fmt, ipMatcher, Notes, type Ctx } from './compile.js';
import {
  ALL_PORTS,
  NS_NAME_LABEL,
  related,
  type AdminRule,
  type CompiledAdminPolicy,
  type PeerMatcher,
  type PortSpec,
  type Relation,
} from './model.js';
import { PortSet, PROTOCOLS, type L4Protocol } from './ports.js';

type Namespaces = { selector: LabelSelector } | { relation: Relation };

/**
 * A namespaces part: a label selector (v0.1.2+), or a relation of the earlier
 * NamespaceSet (`self`, `notSelf`, `related`, `sameLabels`, `notSameLabels`:
 * namespaces relative to the subject's), as the decoder kept it.
 */
function namespaceSet(v: LabelSelector | NamespaceRelation): Namespaces {
  if ('self' in v) return { relation: { kind: 'self' } };
  if ('notSelf' in v) return { relation: { kind: 'notSelf' } };
  if ('related' in v) return { relation: { kind: v.related === 'Self' ? 'self' : 'notSelf' } };
  if ('sameLabels' in v) return { relation: { kind: 'sameLabels', keys: v.sameLabels } };
  if ('notSameLabels' in v) return { relation: { kind: 'notSameLabels', keys: v.notSameLabels } };
  return { selector: v };
}

/** The subject: every pod of the selected namespaces, or the selected pods in them. */
function adminSubject(s: AdminNetworkPolicySubject): PeerMatcher & { kind: 'pods' } {
  if (s.pods === undefined) {
    const ns = s.namespaces ?? {};
    return { kind: 'pods', namespaceSelector: ns, text: `pods in namespaces ${fmt(ns)}` };
  }
  const nsSel = s.pods.namespaceSelector;
  const podSel = s.pods.podSelector;
  return {
    kind: 'pods',
    namespaceSelector: nsSel,
    podSelector: podSel,
    text: `pods ${fmt(podSel)} in namespaces ${fmt(nsSel)}`,
  };
}

function relationText(rel: Relation): string {
  switch (rel.kind) {
    case 'self':
      return "the subject's namespace";
    case 'notSelf':
      return "namespaces other than the subject's";
    case 'sameLabels':
      return `namespaces with the subject's values of ${rel.keys.join(', ')}`;
    case 'notSameLabels':
      return `namespaces with other values of ${rel.keys.join(', ')} than the subject's`;
  }
}

/** A pods matcher for pods matching `podSelector` (all when undefined) in the namespaces `ns` describes. */
function podsIn(
  ns: { selector: LabelSelector } | { relation: Relation },
  podSelector?: LabelSelector,
): PeerMatcher {
  const pods = podSelector ? `pods ${fmt(podSelector)}` : 'pods';
  return 'selector' in ns
    ? {
        kind: 'pods',
        namespaceSelector: ns.selector,
        ...(podSelector ? { podSelector } : {}),
        text: `${pods} in namespaces ${fmt(ns.selector)}`,
      }
    : {
        kind: 'pods',
        relation: ns.relation,
        ...(podSelector ? { podSelector } : {}),
        text: `${pods} in ${relationText(ns.relation)}`,
      };
}

function adminPeer(n: Notes, ctx: Ctx, p: AdminNetworkPolicyPeer, field: string): PeerMatcher {
  if (p.namespaces !== undefined) return podsIn(namespaceSet(p.namespaces));
  if (p.pods !== undefined)
    return podsIn(namespaceSet(p.pods.namespaceSelector), p.pods.podSelector);
  if (p.nodes !== undefined) {
    n.info(
      'anp-nodes-peer',
      `${field}.nodes`,
      'nodes peers select host-network endpoints, which are not in the pod reachability matrix',
    );
    return { kind: 'nodes', text: `nodes ${fmt(p.nodes)}` };
  }
  return ipMatcher(n, ctx, p.networks ?? [], [], `${field}.networks`);
}

function adminPorts(ports: readonly AdminNetworkPolicyPort[] | undefined): PortSpec {
  if (ports === undefined) return ALL_PORTS;
  let numeric = PortSet.EMPTY;
  const named: { name: string; protocol: L4Protocol }[] = [];
  const texts: string[] = [];
  for (const ap of ports) {
    if (ap.portNumber !== undefined) {
      const proto = ap.portNumber.protocol ?? 'TCP';
      numeric = numeric.union(PortSet.port(proto, ap.portNumber.port));
      texts.push(`${proto} ${ap.portNumber.port}`);
    } else if (ap.namedPort !== undefined) {
      // ANP namedPort has no protocol: it matches the container port of that
      // name, whatever its protocol.
      for (const proto of PROTOCOLS) named.push({ name: ap.namedPort, protocol: proto });
      texts.push(`port named ${ap.namedPort}`);
    } else if (ap.portRange !== undefined) {
      const pr = ap.portRange;
      const proto = pr.protocol ?? 'TCP';
      numeric = numeric.union(PortSet.range(proto, pr.start, pr.end));
      texts.push(`${proto} ${pr.start}-${pr.end}`);
    }
  }
  return { numeric, named, text: texts.join(', ') };
}

export function compileAdmin(
  ctx: Ctx,
  p: AdminNetworkPolicy | BaselineAdminNetworkPolicy,
  origin: Location | undefined,
): CompiledAdminPolicy {
  const kind = p.kind;
  const name = p.metadata.name;
  const ref = `${kind} ${name}`;
  const n = new Notes(ctx, origin, ref);
  const rules = { ingress: [] as AdminRule[], egress: [] as AdminRule[] };
  for (const dir of ['ingress', 'egress'] as const) {
    const peerKey = dir === 'ingress' ? 'from' : 'to';
    const list = (p.spec[dir] ?? []) as readonly AdminNetworkPolicyRule<AdminRule['action']>[];
    list.forEach((rule, i) => {
      const field = `spec.${dir}[${i}]`;
      rules[dir].push({
        index: i,
        field,
        name: rule.name || `${dir}[${i}]`,
        action: rule.action,
        peers: (rule[peerKey] ?? []).map((peer, j) =>
          adminPeer(n, ctx, peer, `${field}.${peerKey}[${j}]`),
        ),
        ports: adminPorts(rule.ports),
      });
    });
  }
  const priority = p.kind === 'AdminNetworkPolicy' ? p.spec.priority : undefined;
  return {
    kind,
    ref,
    name,
    ...(priority !== undefined ? { priority } : {}),
    subject: adminSubject(p.spec.subject),
    rules,
  };
}

/**
 * Resolves relative namespace peers (sameLabels, self, …): a policy that has
 * one becomes one copy per namespace, its subject narrowed to that namespace
 * and each relative peer replaced by the namespaces related to it. Copies keep
 * the policy's name, priority and rules, and their subjects are disjoint, so
 * evaluation order and explanations are the policy's own.
 */
export function expandRelations(
  list: readonly CompiledAdminPolicy[],
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>,
): CompiledAdminPolicy[] {
  const names = [...namespaces.keys()].sort();
  return list.flatMap((p) => {
    const relative = (['ingress', 'egress'] as const).some((d) =>
      p.rules[d].some((r) => r.peers.some((m) => m.kind === 'pods' && m.relation)),
    );
    if (!relative) return [p];
    return names.map((ns) => {
      const nsLabels = namespaces.get(ns)!;
      const resolve = (m: PeerMatcher): PeerMatcher => {
        if (m.kind !== 'pods' || m.relation === undefined) return m;
        const { relation, ...rest } = m;
        const values = names.filter((n) => related(relation, n, namespaces.get(n)!, ns, nsLabels));
        return {
          ...rest,
          // No related namespace: an `In` with no values selects nothing.
          namespaceSelector: {
            matchExpressions: [{ key: NS_NAME_LABEL, operator: 'In', values }],
          },
        };
      };
      const rules = {
        ingress: p.rules.ingress.map((r) => ({ ...r, peers: r.peers.map(resolve) })),
        egress: p.rules.egress.map((r) => ({ ...r, peers: r.peers.map(resolve) })),
      };
      return { ...p, subject: { ...p.subject, namespace: ns }, rules };
    });
  });
}
