/**
 * fabric/: what is outside the nodes, as hosts in the same Network.
 *
 * The underlay is one L2 segment (`underlay`) holding every node's eth0 and
 * the router at `underlay.gateway`. The router is where cross-node pod
 * traffic is routed: each node's podCIDR via that node's InternalIP —
 *
 *   - `cloud.provider: gce`: the VPC's routes (one per node, created by the
 *     cloud route controller; seed 003 "GCP: Teach the network how to route
 *     packets"). The router host is called `vpc` and does not send ICMP
 *     redirects (the VPC is not a Linux router).
 *   - `none`: a plain gateway (`gateway`) the operator gave those routes.
 *
 * ExternalHosts sit on the far side of the router (segment `internet`, the
 * router's `ext0`), each with its address and a default route back to the
 * router; their `listen` ports are sockets.
 *
 * GCE's external IPs are 1:1 NAT in the VPC fabric (reference §7; seed 003
 * "Nodes can have public IPs, too — GCP: Public IPs are provided by 1-to-1
 * NAT", and "The 1:1 NAT only understands Node IPs — anything else gets
 * dropped"). The twin writes that as netfilter rules on the `vpc` host, so
 * the trace shows them like any other rule: per node with an ExternalIP,
 * nat PREROUTING `-i ext0 -d EXT -j DNAT --to-destination INT` and nat
 * POSTROUTING `-o ext0 -s INT -j SNAT --to-source EXT`; filter FORWARD lets
 * out to the internet only node addresses that have an external IP (and
 * replies), and in from the internet only what was DNATed to a node (and
 * replies).
 */
import type { ClusterModel } from '../k8s/model.js';
import { nodeInternalIP } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import type { Network } from '../kernel/network.js';
import { nodeExternalIP } from '../k8s/model.js';
import { parseCidr } from '../wire/addr.js';

export const UNDERLAY_SEGMENT = 'underlay';
export const INTERNET_SEGMENT = 'internet';

export interface Fabric {
  readonly router: Host;
  /** The router's iptables-save text (GCE 1:1 NAT), '' when it has none; the twin installs it. */
  readonly rules: string;
  /** ExternalHost name → its host. */
  readonly externals: ReadonlyMap<string, Host>;
}

/** The router host's name for the cloud provider. */
export function routerName(model: ClusterModel): string {
  return model.cluster.cloud.provider === 'gce' ? 'vpc' : 'gateway';
}

/** External hosts are named `host/NAME` so they never collide with node or pod namespaces. */
export function externalHostName(name: string): string {
  return `host/${name}`;
}

export function buildFabric(net: Network, model: ClusterModel): Fabric {
  const u = model.cluster.underlay;
  const prefix = parseCidr(u.cidr).prefix;
  net.addSegment(UNDERLAY_SEGMENT);
  const r = net.addHost(routerName(model), { loopbackUp: true });
  r.link.addEther('eth0', { mtu: u.mtu });
  r.addr.add(`${u.gateway}/${prefix}`, 'eth0');
  r.link.set('eth0', { up: true });
  net.attach(r.name, 'eth0', UNDERLAY_SEGMENT);
  r.sysctl.set('net.ipv4.ip_forward', 1);
  if (model.cluster.cloud.provider === 'gce') {
    r.sysctl.set('net.ipv4.conf.all.send_redirects', 0);
    r.sysctl.set('net.ipv4.conf.eth0.send_redirects', 0);
  }
  for (const node of model.nodes.values()) {
    const ip = nodeInternalIP(node);
    if (ip === undefined) continue;
    for (const cidr of node.spec.podCIDRs.length > 0 ? node.spec.podCIDRs : [node.spec.podCIDR]) {
      if (cidr.includes(':')) continue;
      r.route.add({ dst: cidr, via: ip, dev: 'eth0', proto: 'static' });
    }
  }
  const externals = new Map<string, Host>();
  if (model.externalHosts.size > 0) {
    net.addSegment(INTERNET_SEGMENT);
    r.link.addEther('ext0', { mtu: 1500 });
    r.addr.add(`${u.gateway}/32`, 'ext0');
    r.link.set('ext0', { up: true });
    net.attach(r.name, 'ext0', INTERNET_SEGMENT);
    for (const [name, eh] of model.externalHosts) {
      const h = net.addHost(externalHostName(name), { loopbackUp: true });
      h.link.addEther('eth0');
      h.addr.add(`${eh.spec.address}/32`, 'eth0');
      h.link.set('eth0', { up: true });
      net.attach(h.name, 'eth0', INTERNET_SEGMENT);
      h.route.add({ dst: 'default', via: u.gateway, dev: 'eth0', onlink: true });
      r.route.add({ dst: `${eh.spec.address}/32`, dev: 'ext0', scope: 'link' });
      for (const l of eh.spec.listen ?? [])
        h.listen((l.protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp' | 'sctp', l.port, {
          label: name,
        });
      externals.set(name, h);
    }
  }
  const rules =
    model.cluster.cloud.provider === 'gce' && externals.size > 0 ? oneToOneNat(model) : '';
  return { router: r, externals, rules };
}

/** The VPC's 1:1 NAT as iptables-save text (see the module doc). */
export function oneToOneNat(model: ClusterModel): string {
  const pairs: { node: string; int: string; ext: string }[] = [];
  for (const [name, node] of model.nodes) {
    const int = nodeInternalIP(node);
    const ext = nodeExternalIP(node);
    if (int !== undefined && ext !== undefined) pairs.push({ node: name, int, ext });
  }
  const c = (node: string) => `-m comment --comment "GCE 1:1 NAT: external IP of ${node}"`;
  const nat = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...pairs.map(
      (p) => `-A PREROUTING -d ${p.ext}/32 -i ext0 ${c(p.node)} -j DNAT --to-destination ${p.int}`,
    ),
    ...pairs.map(
      (p) => `-A POSTROUTING -s ${p.int}/32 -o ext0 ${c(p.node)} -j SNAT --to-source ${p.ext}`,
    ),
    'COMMIT',
  ];
  const filter = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...pairs.map((p) => `-A FORWARD -s ${p.int}/32 -i eth0 -o ext0 ${c(p.node)} -j ACCEPT`),
    '-A FORWARD -i eth0 -o ext0 -m comment --comment "GCE 1:1 NAT only knows node addresses: anything else is dropped" -j DROP',
    '-A FORWARD -i ext0 -o eth0 -m conntrack --ctstate DNAT -j ACCEPT',
    '-A FORWARD -i ext0 -o eth0 -m comment --comment "the internet reaches the VPC only through external IPs" -j DROP',
    'COMMIT',
  ];
  return `${[...nat, ...filter].join('\n')}\n`;
}
