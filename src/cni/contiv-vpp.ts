/**
 * Contiv-VPP (github.com/contiv/vpp, the 1.x releases that ran VPP 18.01)
 * as a compiler from the cluster model into one VPP vswitch per node
 * (vpp/). What the Contiv agent configured, in its order:
 *
 * - **IPAM** (`plugins/contiv/ipam/ipam.go`, the `contiv.yaml` ConfigMap of
 *   `k8s/contiv-vpp.yaml`): node ID n (1-based, nodes in name order) gives the
 *   pod subnet `10.1.n.0/24` (PodSubnetCIDR 10.1.0.0/16, prefix 24), the
 *   host interconnect `172.30.n.0/24` (VPPHostSubnetCIDR 172.30.0.0/16) with
 *   VPP's end `.1` and the host's `.2`, the node interconnect
 *   `192.168.16.n/24`, the VXLAN BVI `192.168.30.n/24`, pod-side TAP
 *   addresses from PodIfIPCIDR 10.2.1.0/24 (`ipAddrForPodVPPIf`, /32).
 * - **The node** (`remote_cni_server.go`, `host.go`): the main NIC
 *   `GigabitEthernet0/8/0`, the host interconnect `tap0` (TAP v2, MAC
 *   `01:23:45:67:89:42`, `HostInterconnectMAC`) whose host end is `vpp1`,
 *   a /32 route to each host address via the host end (`routesToHost`), the
 *   VXLAN BVI `loop0` (MAC `1a:2b:3c:4d:5e:<n>`, `hwAddrForVXLAN`) and per
 *   other node a `vxlan_tunnel`, static ARP for its BVI and routes to its
 *   pod subnet, host interconnect and management address.
 * - **Pods** (`pod.go`): a TAP v2 `tapN` per pod (VPP side MAC `02:fe:…`,
 *   random in Contiv, derived here), a /32 route to the pod and a static
 *   ARP entry to `00:00:00:00:00:02`, the MAC every pod's eth0 has.
 * - **Services** (`plugins/service/processor`, `configurator_impl.go` of
 *   v1.1, the release on VPP 18.01): NAT44 with `forwarding` on. Frontends
 *   (NAT outside) are the pod TAPs, the host interconnect `tap0`, the BVI
 *   `loop0` and — unless it is the external SNAT interface — the NIC;
 *   backends (inside) are `tap0`, `loop0` and the TAPs of pods that are a
 *   local endpoint (`processResyncEvent`). An interface both ways runs
 *   `nat44-classify`. `exportDNATMappings`: per port one static mapping with
 *   load-balanced locals for the ClusterIP and each external IP (the
 *   processor puts the ClusterIP among the external IPs) and, for a
 *   NodePort, one per node IP (every node's VPP address and management
 *   address, `getNodeIPs`) on the node port; all `self-twice-nat`, so a
 *   client that is its own endpoint is source-translated to the twice-NAT
 *   pool's one address, the NAT loopback (`GetNatLoopbackIP`: the last
 *   unicast address of the node's pod subnet). Locals are the endpoints
 *   with probability `ServiceLocalEndpointWeight` (1) for the node's own,
 *   1 for the others, 0 for a single one; `externalTrafficPolicy: Local`
 *   leaves out the other nodes' endpoints — of every mapping, the ClusterIP's
 *   included, as v1.1 does.
 * - **External SNAT** (`NatExternalTraffic: true`): when the NodeConfig
 *   gateway lies in the NIC's subnet, the NIC is the external SNAT
 *   interface (NAT44 output feature, the node's address as pool) and
 *   identity mappings keep the node's address and VXLAN port (UDP 4789)
 *   untranslated (`exportIdentityMappings`).
 *
 * - **Between nodes** (`remote_cni_server.go`, VXLAN mode): bridge domain 1
 *   (learning off) with `loop0` as BVI; per other node a `vxlan_tunnelN`
 *   from this node's interconnect address to the other's (VNI 10) in the
 *   domain, a static L2 FIB entry for the other BVI's MAC through it
 *   (`vxlanFibEntry`), static ARP for the other BVI (`vxlanArpEntry`), and
 *   routes via the other BVI's address alone (`routeToOtherHostPods`,
 *   `routeToOtherHostStack`, `routeToOtherManagementIP`), which VPP resolves
 *   recursively; the other node's NIC MAC is taken as learnt by ARP. Packet
 *   walks in vpp/l2.ts.
 *
 * - **Policies**: contiv-policy.ts.
 *
 * Not modelled (said on stderr by the caller): the external SNAT's
 * translation itself (`nat44-in2out-output`), STN, TAP v1.
 */
import type { Diagnostic } from '../diag.js';
import type { ClusterModel, ModelNode } from '../k8s/model.js';
import { nodeInternalIP } from '../k8s/model.js';
import { Vswitch, type NatChooser, type SwInterface } from '../vpp/index.js';
import { cidrContains, intToIp, ipToInt, parseCidr } from '../wire/addr.js';
import { renderContivPolicies } from './contiv-policy.js';
import { fnv1a32 } from './names.js';
import type { CniDefault } from './types.js';

/** Contiv's `contiv.yaml` IPAMConfig defaults (k8s/contiv-vpp.yaml). */
export const CONTIV_DEFAULTS = {
  PodSubnetCIDR: '10.1.0.0/16',
  PodNetworkPrefixLen: 24,
  PodIfIPCIDR: '10.2.1.0/24',
  VPPHostSubnetCIDR: '172.30.0.0/16',
  VPPHostNetworkPrefixLen: 24,
  NodeInterconnectCIDR: '192.168.16.0/24',
  VxlanCIDR: '192.168.30.0/24',
  HostInterconnectMAC: '01:23:45:67:89:42',
  PodMAC: '00:00:00:00:00:02',
  NatExternalTraffic: true,
  ServiceLocalEndpointWeight: 1,
  VxlanVNI: 10,
  VxlanBridgeDomain: 1,
} as const;

/** The VXLAN port the identity mapping keeps (`vxlanPort`, service configurator). */
const VXLAN_PORT = 4789;

export interface ContivPod {
  readonly key: string;
  readonly ip: string;
  readonly tap: string;
  readonly vppMac: string;
}

export interface ContivNode {
  readonly name: string;
  readonly id: number;
  readonly vswitch: Vswitch;
  /** The host's end of the interconnect (`vpp1`): address and MAC. */
  readonly host: {
    readonly ifName: 'vpp1';
    readonly ip: string;
    readonly mac: string;
    readonly vppIp: string;
  };
  /** The main NIC: its name, its node-interconnect address (the VXLAN tunnels' endpoint) and MAC. */
  readonly nic: { readonly name: string; readonly ip: string; readonly mac: string };
  /** The addresses of the host stack (the node's InternalIP), routed to it through tap0. */
  readonly hostIPs: readonly string[];
  /** The NAT loopback: the twice-NAT pool's address, a self-client's source as its Service sees it. */
  readonly natLoopback: string;
  readonly pods: ReadonlyMap<string, ContivPod>;
  /** What the policy renderer left out. */
  readonly notes: readonly string[];
}

export interface ContivPlan {
  readonly nodes: ReadonlyMap<string, ContivNode>;
  readonly defaults: readonly CniDefault[];
  readonly diagnostics: readonly Diagnostic[];
}

const derivedMac = (prefix: string, seed: string): string => {
  const h = fnv1a32(seed);
  return `${prefix}:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}`;
};

const nth = (cidr: string, n: number): string =>
  intToIp((ipToInt(parseCidr(cidr).network) + n) >>> 0);

/** The main NIC's MAC: the hardware's own; derived from the node name. */
const nicMac = (node: string): string => {
  const h = fnv1a32(`${node}/gbe`);
  return `08:00:27:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
};

const bviMac = (n: number): string => `1a:2b:3c:4d:5e:${n.toString(16).padStart(2, '0')}`;

/** Node n's slice of a subnet: `applyNodeID` (ipam.go) for /16 → /24. */
const nodeNet = (cidr: string, id: number): string => {
  const base = ipToInt(parseCidr(cidr).network);
  return `${intToIp((base + (id << 8)) >>> 0)}/24`;
};

/** Plan every node's vswitch for a `cni.plugin: contiv-vpp` cluster. */
export function planContiv(model: ClusterModel, chooser: NatChooser): ContivPlan {
  const defaults: CniDefault[] = [];
  const diagnostics: Diagnostic[] = [];
  const d = (object: string, field: string, value: string, reason: string): void => {
    defaults.push({ object, field, value, reason });
  };
  for (const [k, v] of Object.entries(CONTIV_DEFAULTS))
    d(
      'ConfigMap kube-system/contiv-agent-cfg',
      `contiv.yaml ${k}`,
      String(v),
      "Contiv-VPP's deployment default (k8s/contiv-vpp.yaml)",
    );
  const names = [...model.nodes.keys()];
  const nodes = new Map<string, ContivNode>();
  for (const [i, name] of names.entries()) {
    const n = buildNode(model, model.nodes.get(name)!, i + 1, names, chooser, d);
    nodes.set(name, n);
  }
  return { nodes, defaults, diagnostics };
}

function buildNode(
  model: ClusterModel,
  node: ModelNode,
  id: number,
  allNodes: readonly string[],
  chooser: NatChooser,
  d: (object: string, field: string, value: string, reason: string) => void,
): ContivNode {
  const name = node.metadata.name;
  const vs = new Vswitch(name, chooser);
  const hostNet = nodeNet(CONTIV_DEFAULTS.VPPHostSubnetCIDR, id);
  const vppIp = nth(hostNet, 1);
  const hostIp = nth(hostNet, 2);
  const hostMac = derivedMac('3e:1b', `${name}/vpp1`);
  d(
    `Node ${name}`,
    'vpp1 MAC',
    hostMac,
    'the kernel gives the TAP a random MAC; derived from the node name',
  );
  d(
    `Node ${name}`,
    'Contiv node ID',
    String(id),
    "the ID the agent allocates; here the node's position by name",
  );
  const gbe = vs.addInterface({
    name: 'GigabitEthernet0/8/0',
    mac: nicMac(name),
    kind: 'dpdk',
    ip4: `${nth(CONTIV_DEFAULTS.NodeInterconnectCIDR, id)}/24`,
  });
  d(
    `Node ${name}`,
    `${gbe.name} MAC`,
    gbe.mac,
    "the NIC's own address, which no Kubernetes object says; derived from the node name",
  );
  // configureMainVPPInterface: the default route via NodeConfig's Gateway on the main NIC.
  const cni = model.cluster.cni;
  const gw = cni.plugin === 'contiv-vpp' ? cni.gateway : undefined;
  if (gw) vs.addRouteVia('0.0.0.0/0', gw, gbe.name, 'defaultRoute');
  const tap0 = vs.addInterface({
    name: 'tap0',
    mac: CONTIV_DEFAULTS.HostInterconnectMAC,
    kind: 'tap',
    ip4: `${vppIp}/24`,
  });
  const hostIPs = [nodeInternalIP(node)].filter((x): x is string => x !== undefined);
  for (const ip of hostIPs) vs.addRouteVia(`${ip}/32`, hostIp, 'tap0', 'routesToHost');
  // tap0 is the one interface without static ARP: VPP learns vpp1's MAC from its ARP; taken as learnt.
  vs.setNeighbour(tap0.swIfIndex, hostIp, hostMac, true);
  const localVtep = nth(CONTIV_DEFAULTS.NodeInterconnectCIDR, id);
  vxlanMesh(model, vs, id, allNodes, gbe);
  // processResyncEvent: the host interconnect and the BVI are frontends and backends.
  for (const itf of [tap0, vs.byName('loop0')!]) itf.natInside = itf.natOutside = true;
  const nodeIp = nth(CONTIV_DEFAULTS.NodeInterconnectCIDR, id);
  const externalSnat =
    CONTIV_DEFAULTS.NatExternalTraffic &&
    gw !== undefined &&
    cidrContains(parseCidr(`${nodeIp}/24`), gw);
  if (externalSnat) {
    // The NIC towards the gateway SNATs what leaves the cluster: the node's
    // address is the pool (its translation, nat44-in2out-output, is not
    // modelled); identity mappings keep the node's own traffic and VXLAN as
    // they are (exportIdentityMappings).
    vs.nat.addAddress(nodeIp);
    vs.nat.addIdentityMapping(nodeIp, 17, VXLAN_PORT, 'DNAT-identities: VXLAN');
    vs.nat.addIdentityMapping(nodeIp, 0, 0, 'DNAT-identities: main interface');
  } else gbe.natOutside = true;
  const natLoopback = nth(nodeNet(CONTIV_DEFAULTS.PodSubnetCIDR, id), 254);
  vs.nat.addTwiceNatAddress(natLoopback);
  const pods = new Map<string, ContivPod>();
  let tapN = 1;
  for (const pod of model.podsByNode.get(name) ?? []) {
    if (pod.spec.hostNetwork) continue;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const ip = pod.status.podIP;
    const suffix = ipToInt(ip) & 0xff;
    const tap = vs.addInterface({
      name: `tap${tapN++}`,
      mac: derivedMac('02:fe', key),
      kind: 'tap',
      ip4: `${intToIp((ipToInt(parseCidr(CONTIV_DEFAULTS.PodIfIPCIDR).network) + suffix) >>> 0)}/32`,
    });
    d(
      `Pod ${key}`,
      `${tap.name} MAC`,
      tap.mac,
      'Contiv draws 02:fe:xx:xx:xx:xx at random; derived from the pod',
    );
    vs.addRouteVia(`${ip}/32`, ip, tap.name, 'vppRouteFromRequest');
    vs.setNeighbour(tap.swIfIndex, ip, CONTIV_DEFAULTS.PodMAC);
    tap.natOutside = true;
    pods.set(key, { key, ip, tap: tap.name, vppMac: tap.mac });
  }
  const nodeIPs = allNodes.flatMap((other, j) => [
    nth(CONTIV_DEFAULTS.NodeInterconnectCIDR, j + 1),
    ...[nodeInternalIP(model.nodes.get(other)!)].filter((x): x is string => x !== undefined),
  ]);
  addServiceMappings(model, vs, name, [...new Set(nodeIPs)]);
  // A pod that is a Service's local endpoint is a backend too: NAT inside as well (nat44-classify).
  const locals = new Set(vs.nat.staticMappings().flatMap((m) => m.locals.map((l) => l.addr)));
  for (const p of pods.values()) if (locals.has(p.ip)) vs.byName(p.tap)!.natInside = true;
  const podTaps = [...pods.values()].map((p) => ({ pod: model.pods.get(p.key)!, tap: p.tap }));
  const notes = renderContivPolicies(model, vs, podTaps, ['tap0', gbe.name, 'loop0'], natLoopback);
  if (externalSnat)
    notes.push(
      `${gbe.name} is the external SNAT interface (NatExternalTraffic, gateway ${gw}): traffic leaving the cluster through it is source-translated to ${nodeIp} by nat44-in2out-output, which the VPP twin does not model`,
    );
  // The feature arcs (and so the next-node indices the trace prints) are
  // created in configuration order: the host interconnect, the pods, then
  // the NIC and the BVI — the order that gives seed 004's numbers.
  const order = ['tap0', ...[...pods.values()].map((p) => p.tap), gbe.name, 'loop0'];
  for (const n of order) vs.configureFeatures(vs.byName(n)!);
  for (const itf of vs.interfaces) vs.configureFeatures(itf);
  return {
    name,
    id,
    vswitch: vs,
    host: { ifName: 'vpp1', ip: hostIp, mac: hostMac, vppIp },
    nic: { name: gbe.name, ip: localVtep, mac: gbe.mac },
    hostIPs,
    natLoopback,
    pods,
    notes,
  };
}

/**
 * The VXLAN BVI `loop0`, bridge domain 1 and one tunnel per other node, with
 * the static ARP, L2 FIB entries and recursive routes through it
 * (`remote_cni_server.go`: `vxlanBridgeDomain`, `vxlanFibEntry`,
 * `vxlanArpEntry`, `routeToOtherHostPods` & co.).
 */
function vxlanMesh(
  model: ClusterModel,
  vs: Vswitch,
  id: number,
  allNodes: readonly string[],
  gbe: SwInterface,
): void {
  const loop0 = vs.addInterface({
    name: 'loop0',
    mac: bviMac(id),
    kind: 'loopback',
    ip4: `${nth(CONTIV_DEFAULTS.VxlanCIDR, id)}/24`,
  });
  // vxlanBridgeDomain: BD 1, learning off, loop0 its BVI (whose MAC the L2 FIB holds).
  const bd = vs.addBridgeDomain(CONTIV_DEFAULTS.VxlanBridgeDomain, false);
  vs.addToBridgeDomain(bd, loop0.swIfIndex, true);
  bd.fib.set(loop0.mac, loop0.swIfIndex);
  const localVtep = nth(CONTIV_DEFAULTS.NodeInterconnectCIDR, id);
  for (const [j, other] of allNodes.entries()) {
    const oid = j + 1;
    if (oid === id) continue;
    const vtep = nth(CONTIV_DEFAULTS.NodeInterconnectCIDR, oid);
    const t = vs.vxlanTunnels.length;
    vs.addRouteVia(`${vtep}/32`, vtep, gbe.name, `vxlan_tunnel${t} underlay`);
    // The other node's NIC answers VPP's ARP: its MAC taken as learnt.
    vs.setNeighbour(gbe.swIfIndex, vtep, nicMac(other), true);
    const tunnel = vs.addVxlanTunnel(localVtep, vtep, CONTIV_DEFAULTS.VxlanVNI);
    vs.addToBridgeDomain(bd, tunnel.swIfIndex);
    const bvi = nth(CONTIV_DEFAULTS.VxlanCIDR, oid);
    // routeToOtherHostPods & co.: routes via the other BVI's address alone (recursive).
    vs.addRouteRecursive(nodeNet(CONTIV_DEFAULTS.PodSubnetCIDR, oid), bvi, 'routeToOtherHostPods');
    vs.addRouteRecursive(
      nodeNet(CONTIV_DEFAULTS.VPPHostSubnetCIDR, oid),
      bvi,
      'routeToOtherHostStack',
    );
    const mgmt = nodeInternalIP(model.nodes.get(other)!);
    if (mgmt) vs.addRouteRecursive(`${mgmt}/32`, bvi, 'routeToOtherManagementIP');
    // vxlanArpEntry (static ARP on loop0) and vxlanFibEntry (the BVI MAC → this tunnel).
    vs.setNeighbour(loop0.swIfIndex, bvi, bviMac(oid));
    bd.fib.set(bviMac(oid), tunnel.swIfIndex);
  }
}

/**
 * `exportDNATMappings` (service/configurator, v1.1): per port a
 * self-twice-NAT mapping for the ClusterIP and each external IP on the
 * Service port and, with a node port, for each node IP on it.
 */
function addServiceMappings(
  model: ClusterModel,
  vs: Vswitch,
  nodeName: string,
  nodeIPs: readonly string[],
): void {
  for (const [key, svc] of model.services) {
    const vip = svc.spec.clusterIP;
    const external = [...(vip && vip !== 'None' ? [vip] : []), ...(svc.spec.externalIPs ?? [])];
    const nodeLocal = svc.spec.externalTrafficPolicy === 'Local';
    for (const port of svc.spec.ports) {
      const proto = port.protocol === 'UDP' ? 17 : port.protocol === 'TCP' ? 6 : undefined;
      if (proto === undefined) continue;
      const locals: { addr: string; port: number; probability: number }[] = [];
      for (const slice of model.slicesByService.get(key) ?? []) {
        const sp =
          (slice.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '')) ?? slice.ports?.[0];
        const target =
          sp?.port ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port);
        for (const e of slice.endpoints) {
          if (e.conditions?.ready === false) continue;
          const local = e.nodeName === undefined || e.nodeName === nodeName;
          // "Do not NAT+LB remote backends" with externalTrafficPolicy Local.
          if (nodeLocal && !local) continue;
          const probability = local ? CONTIV_DEFAULTS.ServiceLocalEndpointWeight : 1;
          for (const a of e.addresses) locals.push({ addr: a, port: target, probability });
        }
      }
      if (locals.length === 0) continue;
      // "For single backend we use "0" to represent the probability (not really configured)."
      if (locals.length === 1) locals[0]!.probability = 0;
      const targets = [
        ...external.map((addr) => ({ addr, port: port.port })),
        ...(port.nodePort ? nodeIPs.map((addr) => ({ addr, port: port.nodePort! })) : []),
      ];
      for (const t of targets)
        vs.nat.addStaticMapping({
          externalAddr: t.addr,
          externalPort: t.port,
          proto,
          locals: locals.map((l) => ({ ...l })),
          twiceNat: 'self-twice-nat',
          // vpp-agent's NAT handler sends every DNAT mapping with Out2inOnly: 1.
          out2inOnly: true,
          tag: `${key}:${t.port === port.port ? port.port : `${port.port} node port ${t.port}`}`,
        });
    }
  }
}
