/**
 * NetworkPolicy as Contiv-VPP rendered it into VPP's ACL plugin
 * (`plugins/policy/renderer/acl/acl_renderer.go` with the renderer cache in
 * `EgressOrientation`, `plugins/policy/renderer/cache`), for one node:
 *
 * - Every rule matches traffic *leaving* the vswitch. A **local table** per
 *   isolated pod sits on its TAP's output (traffic to the pod): the egress
 *   rules of the node's egress-isolated pods towards it (a source that may
 *   not reach it is denied), then the pod's own ingress rules ending in a
 *   permit of the NAT loopback (a pod reaching itself through a Service
 *   arrives from it, self-twice-NAT) and deny-all — or permit-all when it
 *   is not ingress-isolated. Nothing else is let in: the node's own host
 *   stack (kubelet's probes, hostNetwork pods) reaches an ingress-isolated
 *   pod only if a policy allows its address.
 * - The **global table** (`NODE-GLOBAL`) sits on the output of the
 *   interfaces that connect the node with the rest of the cluster (the host
 *   interconnect `tap0`, the NIC, the VXLAN BVI, `getNodeOutputInterfaces`):
 *   per egress-isolated local pod its egress rules then a deny of the pod,
 *   and a final permit-all.
 * - The **reflective ACL** (`REFLECTION`, one permit+reflect rule) on the
 *   input of every isolated pod's TAP, and of the node output interfaces when
 *   the global table has rules: a permitted request creates the session that
 *   lets its reply through the tables on the way back.
 * - ACLs are created in `Commit()`'s order: local tables, the global table,
 *   the reflective ACL, so their indices follow.
 *
 * Peers are resolved to the pod-network pods' addresses (/32) and ipBlocks
 * (an `except` becomes a deny before the permit); ports are numeric ports
 * and ranges. A named port is not translated (`matches_calculator.go`:
 * "todo: translate form name to port number"): its number is 0, which a
 * Contiv rule reads as every port of the protocol — so it allows more than
 * the policy says, in either direction, with a note. Contiv ignores
 * policies for pods in the host network stack, as the renderer does here.
 */
import type { ClusterModel, ModelPod } from '../k8s/model.js';
import { matchesSelector } from '../k8s/selector.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../k8s/types.js';
import type { AclRule, Vswitch } from '../vpp/index.js';
import { cidrContains, parseCidr } from '../wire/addr.js';

type Net = { readonly addr: string; readonly len: number };
const ANY: Net = { addr: '0.0.0.0', len: 0 };
const ALL: readonly [number, number] = [0, 65535];

/** One allowance: a peer network and a (protocol, destination port range); proto 0 = any. */
interface Allow {
  readonly peer: Net;
  readonly except: readonly Net[];
  readonly proto: number;
  readonly ports: readonly [number, number];
}

const netOf = (cidr: string): Net => {
  const c = parseCidr(cidr);
  return { addr: c.network, len: c.prefix };
};
const contains = (n: Net, ip: string): boolean =>
  cidrContains({ network: n.addr, prefix: n.len }, ip);

function selects(model: ClusterModel, np: NetworkPolicy, pod: ModelPod): boolean {
  return (
    (np.metadata.namespace ?? 'default') === pod.metadata.namespace &&
    matchesSelector(pod.metadata.labels ?? {}, np.spec.podSelector)
  );
}

function types(np: NetworkPolicy): Set<string> {
  return new Set(
    np.spec.policyTypes?.length
      ? np.spec.policyTypes
      : ['Ingress', ...((np.spec.egress?.length ?? 0) > 0 ? ['Egress'] : [])],
  );
}

function peerNets(
  model: ClusterModel,
  ns: string,
  peers: readonly NetworkPolicyPeer[] | undefined,
): { peer: Net; except: Net[] }[] {
  if (!peers || peers.length === 0) return [{ peer: ANY, except: [] }];
  const out: { peer: Net; except: Net[] }[] = [];
  for (const p of peers) {
    if (p.ipBlock) {
      out.push({ peer: netOf(p.ipBlock.cidr), except: (p.ipBlock.except ?? []).map(netOf) });
      continue;
    }
    for (const pod of model.pods.values()) {
      if (pod.spec.hostNetwork) continue;
      const nsLabels = model.namespaces.get(pod.metadata.namespace)?.metadata.labels ?? {
        'kubernetes.io/metadata.name': pod.metadata.namespace,
      };
      const nsOk = p.namespaceSelector
        ? matchesSelector(
            { 'kubernetes.io/metadata.name': pod.metadata.namespace, ...nsLabels },
            p.namespaceSelector,
          )
        : pod.metadata.namespace === ns;
      const podOk = p.podSelector
        ? matchesSelector(pod.metadata.labels ?? {}, p.podSelector)
        : true;
      if (nsOk && podOk) out.push({ peer: { addr: pod.status.podIP, len: 32 }, except: [] });
    }
  }
  return out;
}

function portSpecs(
  ports: readonly NetworkPolicyPort[] | undefined,
  notes: string[],
  where: string,
): { proto: number; ports: readonly [number, number] }[] {
  if (!ports || ports.length === 0) return [{ proto: 0, ports: ALL }];
  const out: { proto: number; ports: readonly [number, number] }[] = [];
  for (const p of ports) {
    const proto =
      (p.protocol ?? 'TCP') === 'UDP' ? 17 : (p.protocol ?? 'TCP') === 'TCP' ? 6 : undefined;
    if (proto === undefined) continue;
    if (p.port === undefined) out.push({ proto, ports: ALL });
    else if (typeof p.port === 'number') out.push({ proto, ports: [p.port, p.endPort ?? p.port] });
    else {
      // matches_calculator.go: "todo: translate form name to port number" — the
      // number of a named port is 0, and a ContivRule's port 0 matches all.
      out.push({ proto, ports: ALL });
      notes.push(
        `${where}: named port ${p.port} is rendered as every ${proto === 6 ? 'TCP' : 'UDP'} port — Contiv v1.1 does not translate port names (port number 0 matches all)`,
      );
    }
  }
  return out;
}

/** A pod's rules in one direction; undefined when no policy isolates it that way. */
function allows(
  model: ClusterModel,
  pod: ModelPod,
  dir: 'ingress' | 'egress',
  notes: string[],
): Allow[] | undefined {
  let isolated = false;
  const out: Allow[] = [];
  for (const np of model.networkPoliciesByNamespace.get(pod.metadata.namespace) ?? []) {
    if (!selects(model, np, pod) || !types(np).has(dir === 'ingress' ? 'Ingress' : 'Egress'))
      continue;
    isolated = true;
    const ns = np.metadata.namespace ?? 'default';
    for (const r of np.spec[dir] ?? []) {
      const peers = 'from' in r ? r.from : (r as { to?: NetworkPolicyPeer[] }).to;
      const where = `NetworkPolicy ${ns}/${np.metadata.name}`;
      for (const pn of peerNets(model, ns, peers))
        for (const ps of portSpecs(r.ports, notes, where)) out.push({ ...pn, ...ps });
    }
  }
  return isolated ? out : undefined;
}

const rule = (
  isPermit: 0 | 1 | 2,
  src: Net,
  dst: Net,
  proto: number,
  ports: readonly [number, number],
): AclRule => ({
  isPermit,
  src,
  dst,
  proto,
  srcPorts: ALL,
  dstPorts: proto === 0 ? ALL : ports,
});

/** An allowance as ACL rules: its excepts denied first, then the permit. */
function permitRules(
  src: (a: Allow) => Net,
  dst: (a: Allow) => Net,
  a: Allow,
  exceptSide: 'src' | 'dst',
): AclRule[] {
  const out = a.except.map((e) =>
    rule(0, exceptSide === 'src' ? e : src(a), exceptSide === 'dst' ? e : dst(a), a.proto, a.ports),
  );
  out.push(rule(1, src(a), dst(a), a.proto, a.ports));
  return out;
}

/** The intersection of two (proto, port range) allowances, if any. */
function intersect(
  a: Allow,
  b: Allow,
): { proto: number; ports: readonly [number, number] } | undefined {
  if (a.proto !== 0 && b.proto !== 0 && a.proto !== b.proto) return undefined;
  const proto = a.proto || b.proto;
  const lo = Math.max(a.proto ? a.ports[0] : 0, b.proto ? b.ports[0] : 0);
  const hi = Math.min(a.proto ? a.ports[1] : 65535, b.proto ? b.ports[1] : 65535);
  return lo <= hi ? { proto, ports: [lo, hi] } : undefined;
}

/**
 * Render the node's policies into `vs`'s ACL plugin. `pods` are the node's
 * pod-network pods with their TAPs, in configuration order; `outputs` the
 * node output interfaces. Returns notes for what was left out.
 */
export function renderContivPolicies(
  model: ClusterModel,
  vs: Vswitch,
  pods: readonly { pod: ModelPod; tap: string }[],
  outputs: readonly string[],
  natLoopback?: string,
): string[] {
  const notes: string[] = [];
  const ing = new Map(pods.map(({ pod }) => [pod, allows(model, pod, 'ingress', notes)]));
  const eg = new Map(pods.map(({ pod }) => [pod, allows(model, pod, 'egress', notes)]));
  const egressIsolated = pods.filter(({ pod }) => eg.get(pod) !== undefined);
  const isolated: { tap: string; table: number }[] = [];
  for (const { pod: d, tap } of pods) {
    const dIn = ing.get(d);
    const sources = egressIsolated.filter(({ pod }) => pod !== d);
    if (dIn === undefined && eg.get(d) === undefined && sources.length === 0) continue;
    const rules: AclRule[] = [];
    const dIp = d.status.podIP;
    for (const { pod: s } of sources) {
      const sNet = { addr: s.status.podIP, len: 32 };
      for (const e of eg
        .get(s)!
        .filter((e) => contains(e.peer, dIp) && !e.except.some((x) => contains(x, dIp)))) {
        for (const i of dIn ?? [{ peer: ANY, except: [], proto: 0, ports: ALL } as Allow]) {
          if (
            !contains(i.peer, s.status.podIP) ||
            i.except.some((x) => contains(x, s.status.podIP))
          )
            continue;
          const x = intersect(e, i);
          if (x) rules.push(rule(1, sNet, ANY, x.proto, x.ports));
        }
      }
      rules.push(rule(0, sNet, ANY, 0, ALL));
    }
    if (dIn === undefined) rules.push(rule(1, ANY, ANY, 0, ALL));
    else {
      for (const a of dIn)
        rules.push(
          ...permitRules(
            (x) => x.peer,
            () => ANY,
            a,
            'src',
          ),
        );
      // "Allow connections from the virtual NAT-loopback (access to service
      // from itself)" before the deny, unless a rule allows everything
      // (policy/configurator, generateRules of v1.1).
      const allAllowed = dIn.some(
        (a) => a.peer.len === 0 && a.except.length === 0 && a.proto === 0,
      );
      if (natLoopback && !allAllowed)
        rules.push(rule(1, { addr: natLoopback, len: 32 }, ANY, 0, ALL));
      if (!allAllowed) rules.push(rule(0, ANY, ANY, 0, ALL));
    }
    const table = vs.acl.add({
      tag: `contiv/vpp-policy-LOCAL-${d.metadata.namespace}/${d.metadata.name}`,
      rules,
    });
    isolated.push({ tap, table });
  }
  const global: AclRule[] = [];
  for (const { pod: s } of egressIsolated) {
    const sNet = { addr: s.status.podIP, len: 32 };
    for (const a of eg.get(s)!)
      global.push(
        ...permitRules(
          () => sNet,
          (x) => x.peer,
          a,
          'dst',
        ),
      );
    global.push(rule(0, sNet, ANY, 0, ALL));
  }
  let globalIndex: number | undefined;
  if (global.length > 0) {
    global.push(rule(1, ANY, ANY, 0, ALL));
    globalIndex = vs.acl.add({ tag: 'contiv/vpp-policy-NODE-GLOBAL', rules: global });
  }
  if (isolated.length === 0 && globalIndex === undefined) return [...new Set(notes)];
  const reflect = vs.acl.add({
    tag: 'contiv/vpp-policy-REFLECTION',
    rules: [rule(2, ANY, ANY, 0, ALL)],
  });
  for (const { tap, table } of isolated) {
    const sw = vs.byName(tap)!.swIfIndex;
    vs.acl.apply(sw, false, table);
    vs.acl.apply(sw, true, reflect);
  }
  if (globalIndex !== undefined) {
    for (const name of outputs) {
      const sw = vs.byName(name)?.swIfIndex;
      if (sw === undefined) continue;
      vs.acl.apply(sw, false, globalIndex);
      vs.acl.apply(sw, true, reflect);
    }
  }
  return [...new Set(notes)];
}
