/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy
 * (policy.networking.k8s.io/v1alpha1): subject, peers (every shape the
 * API took during v1alpha1), ports and rules.
 */

import { labelKeyProblem } from '../selector.js';
import type {
  AdminNetworkPolicy,
  AdminNetworkPolicyPeer,
  AdminNetworkPolicyPort,
  AdminNetworkPolicyRule,
  AdminNetworkPolicySubject,
  BaselineAdminNetworkPolicy,
  LabelSelector,
  NamespaceRelation,
} from '../types.js';
import { each, isRec, type Decoder, step, type FieldPath, type Rec } from './decoder.js';
import { errorsSince, policyCidr } from './networkpolicy.js';

const RELATIONS = ['self', 'notSelf', 'related', 'sameLabels', 'notSameLabels'] as const;

/**
 * ANP selectors changed shape during v1alpha1: early releases wrapped the
 * namespace selector in a NamespaceSet (`namespaces: {namespaceSelector: …}`
 * and `pods: {namespaces: {namespaceSelector: …}, podSelector: …}`), which
 * could instead select namespaces relative to the subject's (`self`,
 * `notSelf`, `related`, `sameLabels`, `notSameLabels`); current ones use a
 * plain LabelSelector. All are read; a relation is kept as written (the
 * policy engine resolves it per subject), never widened to "all namespaces".
 */
function anpNamespaces(
  d: Decoder,
  v: unknown,
  p: FieldPath,
  relative: boolean,
): LabelSelector | NamespaceRelation | undefined {
  const m = isRec(v) ? v : undefined;
  const rel = m ? RELATIONS.filter((k) => m[k] !== undefined) : [];
  if (!m || (!('namespaceSelector' in m) && rel.length === 0)) return d.selector(v, p);
  const forms = [...('namespaceSelector' in m ? ['namespaceSelector'] : []), ...rel];
  if (forms.length !== 1) {
    d.error(
      p,
      'k8s-invalid-value',
      `a namespace set takes exactly one of namespaceSelector, ${RELATIONS.join(', ')}; found ${forms.join(', ')}`,
    );
    return undefined;
  }
  const k = rel[0];
  if (k === undefined) return d.selector(m.namespaceSelector ?? {}, step(p, 'namespaceSelector'));
  if (!relative) {
    d.error(
      step(p, k),
      'k8s-invalid-value',
      `${k} selects namespaces relative to the subject's; the subject itself cannot use it`,
      'use a namespace label selector',
    );
    return undefined;
  }
  const val = m[k];
  switch (k) {
    case 'self':
    case 'notSelf':
      if (val !== true) {
        d.error(step(p, k), 'k8s-invalid-value', `${k} can only be true`);
        return undefined;
      }
      return k === 'self' ? { self: true } : { notSelf: true };
    case 'related': {
      const r = d.oneOf(val, step(p, k), ['Self', 'NotSelf'] as const);
      return r === undefined ? undefined : { related: r };
    }
    case 'sameLabels':
    case 'notSameLabels': {
      const keys = each(d, val, step(p, k), (kv, kp) => {
        const key = d.str(kv, kp);
        const problem = key === undefined ? undefined : labelKeyProblem(key);
        if (problem) d.error(kp, 'k8s-invalid-label', problem);
        return problem ? undefined : key;
      });
      if (keys === undefined) return undefined;
      return k === 'sameLabels' ? { sameLabels: keys } : { notSameLabels: keys };
    }
  }
}

function anpPods(
  d: Decoder,
  v: unknown,
  p: FieldPath,
  relative: boolean,
):
  { namespaceSelector: LabelSelector | NamespaceRelation; podSelector: LabelSelector } | undefined {
  const mark = d.ctx.diagnostics.length;
  const pods = d.map(v, p);
  if (!pods) return undefined;
  const nsSel =
    pods.namespaces !== undefined
      ? anpNamespaces(d, pods.namespaces, step(p, 'namespaces'), relative)
      : d.selector(pods.namespaceSelector, step(p, 'namespaceSelector'));
  const podSel = d.selector(pods.podSelector, step(p, 'podSelector'));
  if (errorsSince(d, mark)) return undefined;
  // The schema marks both selectors required, yet manifests in the wild (and tools' test inputs)
  // leave one out meaning "all": read a missing one as {} and say so.
  const missing = (which: string, kind: string) =>
    d.warn(
      step(p, which),
      'k8s-defaulted-selector',
      `pods.${which} is missing: read as {}, all ${kind}`,
      `write ${which}: {} to say so`,
    );
  if (nsSel === undefined) missing('namespaceSelector', 'namespaces');
  if (podSel === undefined) missing('podSelector', 'pods');
  return { namespaceSelector: nsSel ?? {}, podSelector: podSel ?? {} };
}

function decodeAnpSubject(
  d: Decoder,
  v: unknown,
  p: FieldPath,
): AdminNetworkPolicySubject | undefined {
  const mark = d.ctx.diagnostics.length;
  const m = d.map(v, p);
  if (!d.required(m, p, 'subject')) return undefined;
  const s: AdminNetworkPolicySubject = {};
  const ns =
    m.namespaces === undefined
      ? undefined
      : (anpNamespaces(d, m.namespaces, step(p, 'namespaces'), false) as LabelSelector | undefined);
  if (ns) s.namespaces = ns;
  // Without relations (relative = false), the namespace part is a plain selector.
  const pods = m.pods === undefined ? undefined : anpPods(d, m.pods, step(p, 'pods'), false);
  if (pods) s.pods = pods as NonNullable<AdminNetworkPolicySubject['pods']>;
  if (errorsSince(d, mark)) return undefined;
  if ((s.namespaces === undefined) === (s.pods === undefined)) {
    d.error(p, 'k8s-invalid-value', 'subject must set exactly one of namespaces or pods');
    return undefined;
  }
  return s;
}

function decodeAnpPeer(
  d: Decoder,
  v: unknown,
  p: FieldPath,
  egress: boolean,
): AdminNetworkPolicyPeer | undefined {
  const mark = d.ctx.diagnostics.length;
  const m = d.map(v, p);
  if (!m) return undefined;
  const peer: AdminNetworkPolicyPeer = {};
  const ns =
    m.namespaces === undefined
      ? undefined
      : anpNamespaces(d, m.namespaces, step(p, 'namespaces'), true);
  if (ns) peer.namespaces = ns;
  const pods = m.pods === undefined ? undefined : anpPods(d, m.pods, step(p, 'pods'), true);
  if (pods) peer.pods = pods;
  if (egress) {
    const nodes = d.selector(m.nodes, step(p, 'nodes'));
    if (nodes) peer.nodes = nodes;
    // An IPv6 network is kept as written: it matches no IPv4 address (the policy engine says so).
    const networks = each(d, m.networks, step(p, 'networks'), (nv, np) =>
      d.isV6(nv) ? (nv as string) : policyCidr(d, nv, np),
    );
    if (networks) peer.networks = networks;
  } else {
    for (const k of ['nodes', 'networks']) {
      if (m[k] !== undefined)
        d.error(step(p, k), 'k8s-invalid-value', `${k} peers are only allowed in egress rules`);
    }
  }
  // One root cause, one diagnostic: a part already reported leaves the peer out without a second word.
  if (errorsSince(d, mark)) return undefined;
  const set = [peer.namespaces, peer.pods, peer.nodes, peer.networks].filter(
    (x) => x !== undefined,
  ).length;
  if (set !== 1) {
    d.error(
      p,
      'k8s-invalid-value',
      `a peer must set exactly one of namespaces, pods${egress ? ', nodes, networks' : ''}`,
    );
    return undefined;
  }
  return peer;
}

function decodeAnpPort(d: Decoder, v: unknown, p: FieldPath): AdminNetworkPolicyPort | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const port: AdminNetworkPolicyPort = {};
  const pn = d.map(m.portNumber, step(p, 'portNumber'));
  if (pn) {
    const n = d.port(pn.port, step(p, 'portNumber', 'port'));
    const proto = d.protocol(pn.protocol, step(p, 'portNumber', 'protocol')) ?? 'TCP';
    if (n !== undefined) port.portNumber = { protocol: proto, port: n };
  }
  const named = d.str(m.namedPort, step(p, 'namedPort'));
  if (named) port.namedPort = named;
  const pr = d.map(m.portRange, step(p, 'portRange'));
  if (pr) {
    const start = d.port(pr.start, step(p, 'portRange', 'start'));
    const end = d.port(pr.end, step(p, 'portRange', 'end'));
    const proto = d.protocol(pr.protocol, step(p, 'portRange', 'protocol'));
    if (start !== undefined && end !== undefined) {
      if (end < start)
        d.error(
          step(p, 'portRange', 'end'),
          'k8s-invalid-port',
          `end ${end} is below start ${start}`,
        );
      else port.portRange = { start, end, ...(proto ? { protocol: proto } : {}) };
    }
  }
  const set = [port.portNumber, port.namedPort, port.portRange].filter(
    (x) => x !== undefined,
  ).length;
  if (set !== 1) {
    d.error(
      p,
      'k8s-invalid-value',
      'a port must set exactly one of portNumber, namedPort, portRange',
    );
    return undefined;
  }
  return port;
}

function decodeAnpRules<A extends string>(
  d: Decoder,
  v: unknown,
  p: FieldPath,
  egress: boolean,
  actions: readonly A[],
): AdminNetworkPolicyRule<A>[] | undefined {
  const rules = each(d, v, p, (rv, rp): AdminNetworkPolicyRule<A> | undefined => {
    const m = d.map(rv, rp);
    if (!m) return undefined;
    const action = d.oneOf(m.action, step(rp, 'action'), actions);
    if (!d.required(m.action ?? undefined, step(rp, 'action'), 'action') || !action)
      return undefined;
    const rule: AdminNetworkPolicyRule<A> = { action };
    const name = d.str(m.name, step(rp, 'name'));
    if (name) rule.name = name;
    const key = egress ? 'to' : 'from';
    const mark = d.ctx.diagnostics.length;
    const peers = each(d, m[key], step(rp, key), (pv, pp) => decodeAnpPeer(d, pv, pp, egress));
    if (errorsSince(d, mark)) return undefined;
    if (!peers || peers.length === 0) {
      d.error(step(rp, key), 'k8s-required', `a rule needs at least one ${key} peer`);
      return undefined;
    }
    rule[key] = peers;
    const ports = each(d, m.ports, step(rp, 'ports'), (pv, pp) => decodeAnpPort(d, pv, pp));
    if (ports) rule.ports = ports;
    return rule;
  });
  if (rules && rules.length > 100)
    d.error(
      p,
      'k8s-invalid-value',
      `at most 100 ${egress ? 'egress' : 'ingress'} rules are allowed, found ${rules.length}`,
    );
  return rules;
}

export function decodeAdminNetworkPolicy(d: Decoder, raw: Rec): AdminNetworkPolicy | undefined {
  const metadata = d.meta(raw, 'AdminNetworkPolicy', false);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const priority = d.int(spec.priority, ['spec', 'priority']);
  if (
    !d.required(spec.priority ?? undefined, ['spec', 'priority'], 'spec.priority') ||
    priority === undefined
  )
    return undefined;
  if (priority < 0 || priority > 1000) {
    d.error(['spec', 'priority'], 'k8s-invalid-value', `priority ${priority} is outside 0–1000`);
    return undefined;
  }
  const subject = decodeAnpSubject(d, spec.subject, ['spec', 'subject']);
  if (!subject) return undefined;
  const anp: AdminNetworkPolicy = {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata,
    spec: { priority, subject },
  };
  const actions = ['Allow', 'Deny', 'Pass'] as const;
  const ingress = decodeAnpRules(d, spec.ingress, ['spec', 'ingress'], false, actions);
  if (ingress) anp.spec.ingress = ingress;
  const egress = decodeAnpRules(d, spec.egress, ['spec', 'egress'], true, actions);
  if (egress) anp.spec.egress = egress;
  return anp;
}

export function decodeBaselineAdminNetworkPolicy(
  d: Decoder,
  raw: Rec,
): BaselineAdminNetworkPolicy | undefined {
  const metadata = d.meta(raw, 'BaselineAdminNetworkPolicy', false);
  if (!metadata) return undefined;
  if (metadata.name !== 'default') {
    d.error(
      ['metadata', 'name'],
      'k8s-invalid-name',
      `a BaselineAdminNetworkPolicy must be named "default", not ${JSON.stringify(metadata.name)}`,
      'rename it to default (there is at most one per cluster)',
    );
    return undefined;
  }
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const subject = decodeAnpSubject(d, spec.subject, ['spec', 'subject']);
  if (!subject) return undefined;
  const banp: BaselineAdminNetworkPolicy = {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'BaselineAdminNetworkPolicy',
    metadata,
    spec: { subject },
  };
  const actions = ['Allow', 'Deny'] as const;
  const ingress = decodeAnpRules(d, spec.ingress, ['spec', 'ingress'], false, actions);
  if (ingress) banp.spec.ingress = ingress;
  const egress = decodeAnpRules(d, spec.egress, ['spec', 'egress'], true, actions);
  if (egress) banp.spec.egress = egress;
  return banp;
}
