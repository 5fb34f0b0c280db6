/**
 * NetworkPolicy (networking.k8s.io/v1) compiled for evaluation, validated the
 * way the API server would (`pkg/apis/networking/validation/validation.go`
 * ValidateNetworkPolicy): policyTypes defaulting, peers (podSelector /
 * namespaceSelector / both / ipBlock with except) as `PeerMatcher`s, ports
 * (protocol default TCP, named ports, endPort).
 */
import type { Location } from '../diag.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../k8s/types.js';
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
  type CompiledNetworkPolicy,
  type NpRule,
  type PeerMatcher,
  type PortSpec,
} from './model.js';
import { PortSet, type L4Protocol } from './ports.js';

function npPorts(r: Reporter, raw: unknown, field: string): PortSpec {
  if (raw === undefined || raw === null) return ALL_PORTS;
  if (!Array.isArray(raw)) {
    r.error('policy-bad-ports', field, 'ports must be a list');
    return ALL_PORTS;
  }
  if (raw.length === 0) return ALL_PORTS;
  let numeric = PortSet.EMPTY;
  const named: { name: string; protocol: L4Protocol }[] = [];
  const texts: string[] = [];
  raw.forEach((p: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(p)) {
      r.error('policy-bad-ports', f, 'each port must be a mapping with protocol, port and endPort');
      return;
    }
    const np = p as NetworkPolicyPort;
    const proto = protocolOf(r, np.protocol, `${f}.protocol`);
    if (!proto) return;
    if (np.port === undefined || np.port === null) {
      if (np.endPort !== undefined && np.endPort !== null) {
        r.error('policy-bad-endport', `${f}.endPort`, 'endPort needs a numeric port');
        return;
      }
      numeric = numeric.union(PortSet.protocol(proto));
      texts.push(`${proto} (all ports)`);
      return;
    }
    if (typeof np.port === 'string' && !/^\d+$/.test(np.port)) {
      if (!isPortName(np.port)) {
        r.error(
          'policy-bad-port',
          `${f}.port`,
          `${JSON.stringify(np.port)} is neither a port number nor a valid port name`,
        );
        return;
      }
      if (np.endPort !== undefined && np.endPort !== null) {
        r.error('policy-bad-endport', `${f}.endPort`, 'endPort may not be used with a named port');
        return;
      }
      named.push({ name: np.port, protocol: proto });
      texts.push(`${proto} ${np.port}`);
      return;
    }
    const port = Number(np.port);
    if (!isPortNumber(port)) {
      r.error('policy-bad-port', `${f}.port`, `port ${JSON.stringify(np.port)} is not in 1-65535`);
      return;
    }
    if (typeof np.port === 'string') {
      r.error(
        'policy-bad-port',
        `${f}.port`,
        `port ${JSON.stringify(np.port)} is a string of digits: the API server reads it as a port name, and a port name must contain a letter`,
        'write the number without quotes',
      );
      return;
    }
    if (np.endPort !== undefined && np.endPort !== null) {
      if (!isPortNumber(np.endPort) || np.endPort < port) {
        r.error(
          'policy-bad-endport',
          `${f}.endPort`,
          `endPort ${JSON.stringify(np.endPort)} must be a port number >= port (${port})`,
        );
        return;
      }
      numeric = numeric.union(PortSet.range(proto, port, np.endPort));
      texts.push(`${proto} ${port}-${np.endPort}`);
      return;
    }
    numeric = numeric.union(PortSet.port(proto, port));
    texts.push(`${proto} ${port}`);
  });
  return { numeric, named, text: texts.join(', ') || 'no valid ports' };
}

function npPeer(
  r: Reporter,
  ctx: Ctx,
  raw: unknown,
  field: string,
  ns: string,
): PeerMatcher | undefined {
  if (!isObj(raw)) {
    r.error(
      'policy-bad-peer',
      field,
      'a peer must be a mapping with podSelector, namespaceSelector or ipBlock',
    );
    return undefined;
  }
  const p = raw as NetworkPolicyPeer;
  const hasSel = p.podSelector != null || p.namespaceSelector != null;
  if (p.ipBlock != null) {
    if (hasSel) {
      r.error(
        'policy-bad-peer',
        field,
        'ipBlock may not be combined with podSelector or namespaceSelector in one peer',
        'make them separate peers (list items)',
      );
      return undefined;
    }
    if (!isObj(p.ipBlock)) {
      r.error(
        'policy-bad-peer',
        `${field}.ipBlock`,
        'ipBlock must be a mapping with cidr and except',
      );
      return undefined;
    }
    const except = p.ipBlock.except ?? [];
    if (!Array.isArray(except)) {
      r.error('policy-bad-cidr', `${field}.ipBlock.except`, 'except must be a list of CIDRs');
      return undefined;
    }
    return ipMatcher(
      r,
      ctx,
      [p.ipBlock.cidr],
      except,
      `${field}.ipBlock.cidr`,
      `${field}.ipBlock.except`,
    );
  }
  if (!hasSel) {
    r.error('policy-bad-peer', field, 'a peer must set podSelector, namespaceSelector or ipBlock');
    return undefined;
  }
  const before = r.ok;
  r.ok = true;
  const podSelector = r.selector(p.podSelector, `${field}.podSelector`);
  const namespaceSelector = r.selector(p.namespaceSelector, `${field}.namespaceSelector`);
  const ok = r.ok;
  r.ok = before && ok;
  if (!ok) return undefined;
  // networking/v1 NetworkPolicyPeer: podSelector alone = pods in the policy's
  // namespace; namespaceSelector alone = all pods in matching namespaces; both
  // = matching pods in matching namespaces.
  if (namespaceSelector === undefined) {
    return {
      kind: 'pods',
      namespace: ns,
      podSelector: podSelector ?? {},
      text: `pods ${fmt(podSelector)} in namespace ${ns}`,
    };
  }
  return {
    kind: 'pods',
    namespaceSelector,
    ...(podSelector ? { podSelector } : {}),
    text: `pods ${fmt(podSelector ?? {})} in namespaces ${fmt(namespaceSelector)}`,
  };
}

export function compileNetworkPolicy(
  ctx: Ctx,
  raw: Record<string, unknown>,
  origin: Location | undefined,
): CompiledNetworkPolicy | undefined {
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const ref = refOf('NetworkPolicy', { ...meta, namespace: meta.namespace ?? 'default' });
  const r = new Reporter(ctx, origin, ref);
  if (typeof meta.name !== 'string' || meta.name === '')
    r.error('policy-missing-name', 'metadata.name', 'a NetworkPolicy needs a name');
  if (raw.apiVersion === 'extensions/v1beta1') {
    r.warn(
      'policy-old-api',
      'apiVersion',
      'extensions/v1beta1 NetworkPolicy was removed in Kubernetes 1.16; read as networking.k8s.io/v1',
    );
  }
  const ns =
    typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const spec = isObj(raw.spec) ? (raw.spec as Partial<NetworkPolicy['spec']>) : undefined;
  if (!spec) {
    r.error('policy-missing-spec', 'spec', 'a NetworkPolicy needs a spec');
    return undefined;
  }
  const podSelector =
    spec.podSelector == null ? {} : r.selector(spec.podSelector, 'spec.podSelector');
  // policyTypes default (pkg/apis/networking/v1/defaults.go
  // SetDefaults_NetworkPolicy): when empty, Ingress, plus Egress when
  // len(spec.egress) != 0 — so `egress: []` alone does not isolate egress.
  let types: Set<string>;
  if (
    spec.policyTypes == null ||
    (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)
  ) {
    types = new Set([
      'Ingress',
      ...(Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Egress'] : []),
    ]);
  } else if (!Array.isArray(spec.policyTypes)) {
    r.error(
      'policy-bad-policytypes',
      'spec.policyTypes',
      'policyTypes must be a list of Ingress and/or Egress',
    );
    types = new Set();
  } else {
    types = new Set();
    spec.policyTypes.forEach((t, i) => {
      if (t === 'Ingress' || t === 'Egress') types.add(t);
      else
        r.error(
          'policy-bad-policytypes',
          `spec.policyTypes[${i}]`,
          `${JSON.stringify(t)} is not Ingress or Egress`,
        );
    });
  }
  const rules = { ingress: [] as NpRule[], egress: [] as NpRule[] };
  for (const dir of ['ingress', 'egress'] as const) {
    const list: unknown = spec[dir];
    if (list == null) continue;
    if (!Array.isArray(list)) {
      r.error('policy-bad-rules', `spec.${dir}`, `${dir} must be a list of rules`);
      continue;
    }
    const peerKey = dir === 'ingress' ? 'from' : 'to';
    list.forEach((rule: unknown, i) => {
      const field = `spec.${dir}[${i}]`;
      if (rule === null || rule === undefined) rule = {};
      if (!isObj(rule)) {
        r.error('policy-bad-rules', field, 'a rule must be a mapping with ports and ' + peerKey);
        return;
      }
      const ports = npPorts(r, rule.ports, `${field}.ports`);
      const rawPeers = rule[peerKey];
      let peers: PeerMatcher[] | null = null;
      if (rawPeers != null) {
        if (!Array.isArray(rawPeers)) {
          r.error('policy-bad-peer', `${field}.${peerKey}`, `${peerKey} must be a list of peers`);
          return;
        }
        if (rawPeers.length > 0) {
          peers = [];
          rawPeers.forEach((p: unknown, j) => {
            const m = npPeer(r, ctx, p, `${field}.${peerKey}[${j}]`, ns);
            if (m) peers!.push(m);
          });
        }
      }
      rules[dir].push({ index: i, field, peers, ports });
    });
  }
  if (!types.has('Egress') && rules.egress.length > 0) {
    r.warn(
      'policy-egress-ignored',
      'spec.policyTypes',
      'spec.egress is given but policyTypes does not include Egress, so the egress rules have no effect',
    );
  }
  if (!types.has('Ingress') && rules.ingress.length > 0) {
    r.warn(
      'policy-ingress-ignored',
      'spec.policyTypes',
      'spec.ingress is given but policyTypes does not include Ingress, so the ingress rules have no effect',
    );
  }
  if (!r.ok || podSelector === undefined) return undefined;
  return {
    ref,
    namespace: ns,
    name: String(meta.name),
    podSelector,
    isolates: { ingress: types.has('Ingress'), egress: types.has('Egress') },
    rules: {
      ingress: types.has('Ingress') ? rules.ingress : [],
      egress: types.has('Egress') ? rules.egress : [],
    },
  };
}
