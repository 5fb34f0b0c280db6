/**
 * NetworkPolicy (networking.k8s.io/v1, and extensions/v1beta1 read as v1):
 * pod selector, policy types, ingress/egress rules, peers and ports, with the
 * API server's checks on ipBlock and endPort.
 */

import { cidrContains, parseCidr } from '../../wire/addr.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../types.js';
import { each, type Decoder, step, type FieldPath, type Rec } from './decoder.js';

function decodeNetpolPort(d: Decoder, v: unknown, p: FieldPath): NetworkPolicyPort | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const np: NetworkPolicyPort = {};
  const protocol = d.protocol(m.protocol, step(p, 'protocol'));
  if (protocol) np.protocol = protocol;
  const port = d.portOrName(m.port, step(p, 'port'));
  if (port !== undefined) np.port = port;
  if (m.endPort !== undefined && m.endPort !== null) {
    const endPort = d.port(m.endPort, step(p, 'endPort'));
    if (endPort !== undefined) {
      if (typeof np.port !== 'number') {
        d.error(
          step(p, 'endPort'),
          'k8s-invalid-value',
          'endPort needs a numeric port',
          'set port to the first number of the range',
        );
      } else if (endPort < np.port) {
        d.error(
          step(p, 'endPort'),
          'k8s-invalid-port',
          `endPort ${endPort} is below port ${np.port}`,
          'endPort must be greater than or equal to port',
        );
      } else np.endPort = endPort;
    }
  }
  return np;
}

/**
 * An IPv4 CIDR of a policy peer (host bits allowed, as the API server allows them there). A
 * string with a colon that is no IPv6 prefix (`zc00::/8`) is an error, not an IPv6 prefix to skip.
 */
export function policyCidr(d: Decoder, v: unknown, p: FieldPath): string | undefined {
  if (typeof v === 'string' && v.includes(':') && !d.isV6(v)) {
    d.error(p, 'k8s-invalid-cidr', `${JSON.stringify(v)} is neither an IPv4 nor an IPv6 CIDR`);
    return undefined;
  }
  return d.cidr(v, p, false);
}

/** Whether an error was reported since `mark` (a count of the context's diagnostics). */
export function errorsSince(d: Decoder, mark: number): boolean {
  return d.ctx.diagnostics.slice(mark).some((x) => x.severity === 'error');
}

function decodeNetpolPeer(d: Decoder, v: unknown, p: FieldPath): NetworkPolicyPeer | undefined {
  const mark = d.ctx.diagnostics.length;
  const m = d.map(v, p);
  if (!m) return undefined;
  const peer: NetworkPolicyPeer = {};
  const ps = d.selector(m.podSelector, step(p, 'podSelector'));
  if (ps) peer.podSelector = ps;
  const ns = d.selector(m.namespaceSelector, step(p, 'namespaceSelector'));
  if (ns) peer.namespaceSelector = ns;
  const ib = d.map(m.ipBlock, step(p, 'ipBlock'));
  if (ib) {
    if (d.isV6(ib.cidr)) {
      // The other family of a dual-stack cluster: valid, kept as written; it matches no IPv4
      // address (the policy engine says so once).
      const except = each(d, ib.except, step(p, 'ipBlock', 'except'), (ev, ep) => d.str(ev, ep));
      peer.ipBlock = {
        cidr: ib.cidr as string,
        ...(except && except.length > 0 ? { except } : {}),
      };
    } else {
      const cidr = policyCidr(d, ib.cidr, step(p, 'ipBlock', 'cidr'));
      if (d.required(ib.cidr ?? undefined, step(p, 'ipBlock', 'cidr'), 'ipBlock.cidr') && cidr) {
        const block = parseCidr(cidr);
        const except = each(d, ib.except, step(p, 'ipBlock', 'except'), (ev, ep) => {
          const e = policyCidr(d, ev, ep);
          if (!e) return undefined;
          const ec = parseCidr(e);
          if (ec.prefix <= block.prefix || !cidrContains(block, ec.network)) {
            d.error(
              ep,
              'k8s-invalid-cidr',
              `except ${e} is not strictly inside ${cidr}`,
              'each except entry must be a smaller range within ipBlock.cidr',
            );
            return undefined;
          }
          return e;
        });
        peer.ipBlock = { cidr, ...(except && except.length > 0 ? { except } : {}) };
      }
    }
    if (peer.podSelector || peer.namespaceSelector) {
      d.error(
        step(p, 'ipBlock'),
        'k8s-invalid-value',
        'ipBlock cannot be combined with podSelector or namespaceSelector in one peer',
        'make them separate peers (separate "- " items)',
      );
    }
  }
  // One root cause, one diagnostic: a part already reported leaves the peer empty without a second word.
  if (errorsSince(d, mark)) return undefined;
  if (!peer.podSelector && !peer.namespaceSelector && !peer.ipBlock) {
    d.error(
      p,
      'k8s-required',
      'a peer needs podSelector, namespaceSelector or ipBlock',
      'an empty peer is rejected by the API server; use podSelector: {} to mean all pods in the namespace',
    );
    return undefined;
  }
  return peer;
}

export function decodeNetworkPolicy(d: Decoder, raw: Rec): NetworkPolicy | undefined {
  const metadata = d.meta(raw, 'NetworkPolicy', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  // spec.podSelector is a struct, not a pointer, in the Go API: an absent or
  // null value decodes to the empty selector, which selects every pod.
  const podSelector = d.selector(spec.podSelector, ['spec', 'podSelector']) ?? {};
  const np: NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: { podSelector },
  };
  const pt = each(d, spec.policyTypes, ['spec', 'policyTypes'], (v, p) =>
    d.oneOf(v, p, ['Ingress', 'Egress'] as const),
  );
  if (pt) np.spec.policyTypes = pt;
  const ingress = each(d, spec.ingress, ['spec', 'ingress'], (v, p) => {
    const m = d.map(v, p) ?? {};
    const r: NonNullable<NetworkPolicy['spec']['ingress']>[number] = {};
    const from = each(d, m.from, step(p, 'from'), (pv, pp) => decodeNetpolPeer(d, pv, pp));
    if (from) r.from = from;
    const ports = each(d, m.ports, step(p, 'ports'), (pv, pp) => decodeNetpolPort(d, pv, pp));
    if (ports) r.ports = ports;
    return r;
  });
  if (ingress) np.spec.ingress = ingress;
  const egress = each(d, spec.egress, ['spec', 'egress'], (v, p) => {
    const m = d.map(v, p) ?? {};
    const r: NonNullable<NetworkPolicy['spec']['egress']>[number] = {};
    const to = each(d, m.to, step(p, 'to'), (pv, pp) => decodeNetpolPeer(d, pv, pp));
    if (to) r.to = to;
    const ports = each(d, m.ports, step(p, 'ports'), (pv, pp) => decodeNetpolPort(d, pv, pp));
    if (ports) r.ports = ports;
    return r;
  });
  if (egress) np.spec.egress = egress;
  return np;
}
