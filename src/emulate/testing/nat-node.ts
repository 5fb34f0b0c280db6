/**
 * A client, a node and the endpoints behind it, for the NAT tests of a node's
 * rules against the real kernel: the client (192.168.0.10, plus the addresses
 * the rules treat as other sources) reaches the node on eth0; the node
 * forwards to the endpoints' subnet on eth1, where one namespace holds every
 * endpoint address. The node routes Service ranges (`extraRoutes`) towards the
 * endpoints, as a node's default route would.
 */
import type { TopologyDesc } from '../index.js';

export const NODE_IN = '192.168.0.2';
export const NODE_OUT = '10.180.0.254';
export const CLIENT = '192.168.0.10';

/** The topology with `endpoints` (10.180.0.x) on the server side. */
export function natNodeTopology(
  endpoints: readonly string[],
  extraRoutes: readonly string[] = [],
): TopologyDesc {
  return {
    netns: {
      client: { routes: [{ to: 'default', via: NODE_IN }] },
      node: {
        sysctls: { 'net.ipv4.ip_forward': 1 },
        routes: [
          { to: '10.0.0.2/32', via: CLIENT, dev: 'eth0' },
          { to: '203.0.113.0/24', via: CLIENT, dev: 'eth0' },
          // Service addresses exist only as rule matches; a node routes them somewhere (its default route).
          ...extraRoutes.map((to) => ({ to, via: endpoints[0]!, dev: 'eth1' })),
        ],
      },
      server: { routes: [{ to: 'default', via: NODE_OUT }] },
    },
    veths: [
      {
        a: {
          ns: 'client',
          dev: 'eth0',
          addrs: [`${CLIENT}/24`, '10.0.0.2/32', '203.0.113.2/32', '203.0.113.130/32'],
        },
        b: { ns: 'node', dev: 'eth0', addrs: [`${NODE_IN}/24`] },
      },
      {
        a: { ns: 'node', dev: 'eth1', addrs: [`${NODE_OUT}/24`] },
        b: { ns: 'server', dev: 'eth0', addrs: endpoints.map((e) => `${e}/24`) },
      },
    ],
  };
}
