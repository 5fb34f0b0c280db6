/**
 * Builders for tests and examples: packets a process would send, and the
 * node-with-a-bridge topology of seed 002 (pods on cni0, the node's eth0 on
 * an underlay segment), built through the same API the CNI compilers use.
 */
import type { Ipv4 } from '../../wire/addr.js';
import { NO_FLAGS, type Ipv4Packet } from '../../wire/packet.js';
import type { Host } from '../host.js';
import { Network } from '../network.js';

const ip = (dst: Ipv4, src: Ipv4 = '0.0.0.0', ttl = 64, df = true) => ({
  src,
  dst,
  ttl,
  id: 1,
  df,
  tos: 0,
});

export function echoRequest(
  dst: Ipv4,
  id = 1,
  opts: { src?: Ipv4; ttl?: number; size?: number } = {},
): Ipv4Packet {
  return {
    ip: ip(dst, opts.src, opts.ttl),
    l4: { kind: 'icmp', type: 8, code: 0, id, seq: 1 },
    payloadLength: opts.size ?? 56,
  };
}

export function tcpSyn(
  dst: Ipv4,
  dport: number,
  sport = 40000,
  opts: { src?: Ipv4; ttl?: number; size?: number; df?: boolean } = {},
): Ipv4Packet {
  return {
    ip: ip(dst, opts.src, opts.ttl, opts.df ?? true),
    l4: {
      kind: 'tcp',
      sport,
      dport,
      seq: 1000,
      ack: 0,
      flags: { ...NO_FLAGS, syn: true },
      window: 64240,
    },
    payloadLength: opts.size ?? 0,
  };
}

export function udp(
  dst: Ipv4,
  dport: number,
  sport = 40000,
  opts: { src?: Ipv4; ttl?: number; size?: number; df?: boolean } = {},
): Ipv4Packet {
  return {
    ip: ip(dst, opts.src, opts.ttl, opts.df ?? false),
    l4: { kind: 'udp', sport, dport },
    payloadLength: opts.size ?? 32,
  };
}

export interface BridgeNode {
  readonly node: Host;
  readonly pods: Host[];
}

/**
 * `node` with cni0 = `gateway`/24 and one pod per address (eth0 in the pod,
 * vethN on the bridge, default route via the gateway), as the CNI bridge
 * plugin builds them; lo is up everywhere.
 */
export function bridgeNode(
  net: Network,
  name: string,
  gatewayCidr: string,
  podIps: readonly Ipv4[],
  opts: { hairpin?: boolean; podPrefix?: number } = {},
): BridgeNode {
  const node = net.addHost(name, { loopbackUp: true });
  node.link.addBridge('cni0');
  node.addr.add(gatewayCidr, 'cni0');
  node.link.set('cni0', { up: true });
  node.sysctl.set('net.ipv4.ip_forward', 1);
  const gw = gatewayCidr.split('/')[0]!;
  const prefix = opts.podPrefix ?? Number(gatewayCidr.split('/')[1]);
  const pods = podIps.map((addr, i) => {
    const pod = net.addHost(`${name}-pod${i + 1}`, { loopbackUp: true });
    const veth = `veth${i + 1}`;
    node.link.addVeth(veth, { peer: 'eth0', peerHost: pod });
    node.link.set(veth, { master: 'cni0', up: true });
    if (opts.hairpin) node.link.setPort(veth, { hairpin: true });
    pod.addr.add(`${addr}/${prefix}`, 'eth0');
    pod.link.set('eth0', { up: true });
    pod.route.add({ dst: 'default', via: gw });
    return pod;
  });
  return { node, pods };
}

export { Network };
