/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy
 * (policy.networking.k8s.io/v1alpha1, KEP-2091) compiled for evaluation,
 * validated as the network-policy-api CRD schemas would: subject, peers
 * (namespaces / pods / nodes / networks, and the earlier NamespaceSet forms
 * with namespaces relative to the subject's), ports (portNumber / namedPort /
 * portRange), actions and priority. `expandRelations` resolves the relative
 * forms per subject namespace.
 */
import type { Location } from '../diag.js';
import type {
  AdminNetworkPolicyPeer,
  AdminNetworkPolicyPort,
  AdminNetworkPolicySubject,
  LabelSelector,
} from '../k8s/types.js';
import {
  fmt,
  ipMatcher,
  isObj,
  isPortName,
  isPortNumber,
  protocolOf,
  refOf,
  Reporter,
  type Ctx,
} from './compile.js';
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

/** The subject's namespaces: a selector (or an earlier NamespaceSet of one); a relation has nothing to be relative to. */
function subjectNamespaces(r: Reporter, raw: unknown, field: string): LabelSelector | undefined {
  const ns = namespaceSet(r, raw, field);
  if (ns === undefined) return undefined;
  if ('selector' in ns) return ns.selector;
  r.error(
    'anp-bad-subject',
    field,
    `${ns.relation.kind} selects namespaces relative to the subject's; the subject itself cannot use it`,
    'use a namespace label selector',
  );
  return undefined;
}

function adminSubject(r: Reporter, raw: unknown): (PeerMatcher & { kind: 'pods' }) | undefined {
  if (!isObj(raw)) {
    r.error('anp-bad-subject', 'spec.subject', 'subject must set namespaces or pods');
    return undefined;
  }
  const s = raw as AdminNetworkPolicySubject;
  if ((s.namespaces != null) === (s.pods != null)) {
    r.error('anp-bad-subject', 'spec.subject', 'subject must set exactly one of namespaces, pods');
    return undefined;
  }
  if (s.namespaces != null) {
    const ns = subjectNamespaces(r, s.namespaces, 'spec.subject.namespaces');
    return ns
      ? { kind: 'pods', namespaceSelector: ns, text: `pods in namespaces ${fmt(ns)}` }
      : undefined;
  }
  const pods = s.pods as unknown;
  if (!isObj(pods)) {
    r.error(
      'anp-bad-subject',
      'spec.subject.pods',
      'pods must set namespaceSelector and podSelector',
    );
    return undefined;
  }
  const nsSel = subjectNamespaces(
    r,
    pods.namespaces ?? pods.namespaceSelector ?? {},
    `spec.subject.pods.${pods.namespaces != null ? 'namespaces' : 'namespaceSelector'}`,
  );
  const podSel = r.selector(pods.podSelector ?? {}, 'spec.subject.pods.podSelector');
  if (!nsSel || !podSel) return undefined;
  return {
    kind: 'pods',
    namespaceSelector: nsSel,
    podSelector: podSel,
    text: `pods ${fmt(podSel)} in namespaces ${fmt(nsSel)}`,
  };
}

const SELECTOR_KEYS = new Set(['matchLabels', 'matchExpressions']);

/**
 * A namespaces peer: a label selector (v0.1.2+), or the earlier NamespaceSet
 * `{namespaceSelector | self | notSelf | related | sameLabels | notSameLabels}`
 * (earlier v1alpha1 revisions, still in parts of the conformance suite); the
 * relative forms select namespaces relative to the subject's.
 */
function namespaceSet(
  r: Reporter,
  raw: unknown,
  field: string,
): { selector: LabelSelector } | { relation: Relation } | undefined {
  const sel = (v: unknown, f: string) => {
    const s = r.selector(v, f);
    return s ? { selector: s } : undefined;
  };
  if (!isObj(raw)) return sel(raw, field);
  const keys = Object.keys(raw);
  if (keys.every((k) => SELECTOR_KEYS.has(k))) return sel(raw, field);
  if (keys.length === 1 && raw.namespaceSelector != null)
    return sel(raw.namespaceSelector, `${field}.namespaceSelector`);
  if (keys.length === 1) {
    const k = keys[0]!;
    const v = raw[k];
    if ((k === 'self' || k === 'notSelf') && v === true) return { relation: { kind: k } };
    if (k === 'related' && (v === 'Self' || v === 'NotSelf'))
      return { relation: { kind: v === 'Self' ? 'self' : 'notSelf' } };
    if (
      (k === 'sameLabels' || k === 'notSameLabels') &&
      Array.isArray(v) &&
      v.every((x) => typeof x === 'string')
    )
      return { relation: { kind: k, keys: v } };
  }
  r.error(
    'anp-bad-peer',
    field,
    `unknown fields ${keys.join(', ')}: expected matchLabels/matchExpressions, or one of namespaceSelector, self, notSelf, related, sameLabels, notSameLabels`,
  );
  return undefined;
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

function adminPeer(
  r: Reporter,
  ctx: Ctx,
  raw: unknown,
  field: string,
  egress: boolean,
): PeerMatcher | undefined {
  if (!isObj(raw)) {
    r.error('anp-bad-peer', field, 'a peer must be a mapping');
    return undefined;
  }
  const p = raw as AdminNetworkPolicyPeer;
  const set = (['namespaces', 'pods', 'nodes', 'networks'] as const).filter((k) => p[k] != null);
  if (set.length !== 1) {
    r.error(
      'anp-bad-peer',
      field,
      `a peer must set exactly one of namespaces, pods${egress ? ', nodes, networks' : ''}`,
    );
    return undefined;
  }
  const k = set[0]!;
  if (!egress && (k === 'nodes' || k === 'networks')) {
    r.error('anp-bad-peer', `${field}.${k}`, `${k} peers are only allowed in egress rules`);
    return undefined;
  }
  switch (k) {
    case 'namespaces': {
      const ns = namespaceSet(r, p.namespaces, `${field}.namespaces`);
      return ns ? podsIn(ns) : undefined;
    }
    case 'pods': {
      const pods = p.pods as unknown;
      if (!isObj(pods)) {
        r.error('anp-bad-peer', `${field}.pods`, 'pods must set namespaceSelector and podSelector');
        return undefined;
      }
      // Earlier v1alpha1 revisions nested the namespace part: pods: {namespaces: {namespaceSelector}, podSelector}.
      const ns =
        pods.namespaces != null
          ? namespaceSet(r, pods.namespaces, `${field}.pods.namespaces`)
          : namespaceSet(r, pods.namespaceSelector ?? {}, `${field}.pods.namespaceSelector`);
      const podSel = r.selector(pods.podSelector ?? {}, `${field}.pods.podSelector`);
      if (!ns || !podSel) return undefined;
      return podsIn(ns, podSel);
    }
    case 'nodes': {
      const sel = r.selector(p.nodes, `${field}.nodes`);
      r.info(
        'anp-nodes-peer',
        `${field}.nodes`,
        'nodes peers select host-network endpoints, which are not in the pod reachability matrix',
      );
      return sel ? { kind: 'nodes', text: `nodes ${fmt(sel)}` } : undefined;
    }
    case 'networks': {
      if (!Array.isArray(p.networks) || p.networks.length === 0) {
        r.error('anp-bad-peer', `${field}.networks`, 'networks must be a non-empty list of CIDRs');
        return undefined;
      }
      return ipMatcher(r, ctx, p.networks, [], `${field}.networks`, `${field}.networks`);
    }
  }
}

function adminPorts(r: Reporter, raw: unknown, field: string): PortSpec {
  if (raw == null) return ALL_PORTS;
  if (!Array.isArray(raw) || raw.length === 0) {
    r.error('anp-bad-ports', field, 'ports must be a non-empty list when present');
    return ALL_PORTS;
  }
  let numeric = PortSet.EMPTY;
  const named: { name: string; protocol: L4Protocol }[] = [];
  const texts: string[] = [];
  raw.forEach((p: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(p)) {
      r.error('anp-bad-ports', f, 'a port must set one of portNumber, namedPort, portRange');
      return;
    }
    const ap = p as AdminNetworkPolicyPort;
    const set = (['portNumber', 'namedPort', 'portRange'] as const).filter((k) => ap[k] != null);
    if (set.length !== 1) {
      r.error(
        'anp-bad-ports',
        f,
        'a port must set exactly one of portNumber, namedPort, portRange',
      );
      return;
    }
    if (ap.portNumber != null) {
      const proto = protocolOf(r, ap.portNumber.protocol, `${f}.portNumber.protocol`);
      if (!proto) return;
      if (!isPortNumber(ap.portNumber.port)) {
        r.error('anp-bad-ports', `${f}.portNumber.port`, 'port must be a number in 1-65535');
        return;
      }
      numeric = numeric.union(PortSet.port(proto, ap.portNumber.port));
      texts.push(`${proto} ${ap.portNumber.port}`);
    } else if (ap.namedPort != null) {
      if (typeof ap.namedPort !== 'string' || !isPortName(ap.namedPort)) {
        r.error(
          'anp-bad-ports',
          `${f}.namedPort`,
          `${JSON.stringify(ap.namedPort)} is not a valid port name`,
        );
        return;
      }
      // ANP namedPort has no protocol: it matches the container port of that
      // name, whatever its protocol.
      for (const proto of PROTOCOLS) named.push({ name: ap.namedPort, protocol: proto });
      texts.push(`port named ${ap.namedPort}`);
    } else if (ap.portRange != null) {
      const pr = ap.portRange;
      const proto = protocolOf(r, pr.protocol, `${f}.portRange.protocol`);
      if (!proto) return;
      if (!isPortNumber(pr.start) || !isPortNumber(pr.end) || pr.end < pr.start) {
        r.error('anp-bad-ports', `${f}.portRange`, 'portRange needs start <= end, both in 1-65535');
        return;
      }
      numeric = numeric.union(PortSet.range(proto, pr.start, pr.end));
      texts.push(`${proto} ${pr.start}-${pr.end}`);
    }
  });
  return { numeric, named, text: texts.join(', ') };
}

export function compileAdmin(
  ctx: Ctx,
  raw: Record<string, unknown>,
  origin: Location | undefined,
  kind: CompiledAdminPolicy['kind'],
): CompiledAdminPolicy | undefined {
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const ref = refOf(kind, meta);
  const r = new Reporter(ctx, origin, ref);
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!name) r.error('policy-missing-name', 'metadata.name', `an ${kind} needs a name`);
  const spec = isObj(raw.spec) ? raw.spec : undefined;
  if (!spec) {
    r.error('policy-missing-spec', 'spec', `an ${kind} needs a spec`);
    return undefined;
  }
  let priority: number | undefined;
  if (kind === 'AdminNetworkPolicy') {
    const pr = spec.priority;
    if (typeof pr !== 'number' || !Number.isInteger(pr) || pr < 0 || pr > 1000) {
      r.error('anp-bad-priority', 'spec.priority', 'priority must be an integer in 0-1000');
    } else priority = pr;
  } else if (name !== 'default') {
    r.error(
      'banp-not-default',
      'metadata.name',
      'only one BaselineAdminNetworkPolicy may exist and it must be named "default"',
    );
  }
  const subject = adminSubject(r, spec.subject);
  const actions = kind === 'AdminNetworkPolicy' ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
  const rules = { ingress: [] as AdminRule[], egress: [] as AdminRule[] };
  for (const dir of ['ingress', 'egress'] as const) {
    const list = spec[dir];
    if (list == null) continue;
    if (!Array.isArray(list)) {
      r.error('anp-bad-rules', `spec.${dir}`, `${dir} must be a list of rules`);
      continue;
    }
    if (list.length > 100)
      r.error('anp-bad-rules', `spec.${dir}`, `at most 100 ${dir} rules are allowed`);
    const peerKey = dir === 'ingress' ? 'from' : 'to';
    list.forEach((rule: unknown, i) => {
      const field = `spec.${dir}[${i}]`;
      if (!isObj(rule)) {
        r.error(
          'anp-bad-rules',
          field,
          'a rule must be a mapping with action, ports and ' + peerKey,
        );
        return;
      }
      if (typeof rule.action !== 'string' || !actions.includes(rule.action)) {
        r.error(
          'anp-bad-action',
          `${field}.action`,
          `action ${JSON.stringify(rule.action ?? null)} is not one of ${actions.join(', ')}`,
        );
        return;
      }
      const rawPeers = rule[peerKey];
      if (!Array.isArray(rawPeers) || rawPeers.length === 0) {
        r.error('anp-bad-peer', `${field}.${peerKey}`, `${peerKey} must list at least one peer`);
        return;
      }
      const peers: PeerMatcher[] = [];
      rawPeers.forEach((p: unknown, j) => {
        const m = adminPeer(r, ctx, p, `${field}.${peerKey}[${j}]`, dir === 'egress');
        if (m) peers.push(m);
      });
      rules[dir].push({
        index: i,
        field,
        name: typeof rule.name === 'string' && rule.name ? rule.name : `${dir}[${i}]`,
        action: rule.action as AdminRule['action'],
        peers,
        ports: adminPorts(r, rule.ports, `${field}.ports`),
      });
    });
  }
  if (!r.ok || !subject) return undefined;
  return { kind, ref, name, ...(priority !== undefined ? { priority } : {}), subject, rules };
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
