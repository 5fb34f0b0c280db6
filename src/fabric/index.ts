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
 *   node eth0 ─┐                                 ┌─ ext0 ── segment `internet` ── ExternalHost
 *   node eth0 ─┼── segment `underlay` ── router ─┤
 *   node eth0 ─┘      (podCIDR via InternalIP)    └─ (gce: VPC routes, 1:1 NAT, firewall, LBs)
 *
 * GCE's 1:1 NAT for external IPs, its firewall and load balancers are the
 * edge's (edge.ts, gce.ts), installed on this router host by the twin.
 */
import type { ClusterModel } from '../k8s/model.js';
import { nodeInternalIP } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import type { Network } from '../kernel/network.js';
import type { Route } from '../kernel/fib.js';
import { parseCidr } from '../wire/addr.js';

export const UNDERLAY_SEGMENT = 'underlay';
export const INTERNET_SEGMENT = 'internet';

export interface Fabric {
  readonly router: Host;
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

/**
 * What one build of the fabric leaves for the next build from the same model:
 * the router's podCIDR routes as the kernel accepted them.
 */
export interface FabricMemo {
  podRoutes?: readonly Route[];
}

export function buildFabric(net: Network, model: ClusterModel, memo: FabricMemo = {}): Fabric {
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
  if (memo.podRoutes) r.route.addChecked(memo.podRoutes);
  else {
    // One route per node podCIDR (5,000 at the limits): checked once, then reused.
    const podRoutes: Route[] = [];
    for (const node of model.nodes.values()) {
      const ip = nodeInternalIP(node);
      if (ip === undefined) continue;
      for (const cidr of node.spec.podCIDRs.length > 0 ? node.spec.podCIDRs : [node.spec.podCIDR]) {
        if (cidr.includes(':')) continue;
        podRoutes.push(r.route.add({ dst: cidr, via: ip, dev: 'eth0', proto: 'static' }));
      }
    }
    memo.podRoutes = podRoutes;
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
  return { router: r, externals };
}
