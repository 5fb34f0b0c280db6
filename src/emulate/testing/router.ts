/**
 * The client — router — server line the single-host oracle tests share: the
 * client's eth0 to the router's eth0, the router's eth1 to the server's eth0,
 * the client and server routed through the router, which forwards. Test-only.
 */
import type { RouteSpec, TopologyDesc } from '../netns.js';

export interface RouterLine {
  /** Client eth0 addresses (CIDR); the first gateway is `routerIn`'s address. */
  readonly client: readonly string[];
  /** Router eth0 addresses; the first is the client's default gateway. */
  readonly routerIn: readonly string[];
  /** Router eth1 addresses; the first is the server's default gateway. */
  readonly routerOut: readonly string[];
  readonly server: readonly string[];
  /** Extra routes on the router. */
  readonly routerRoutes?: readonly RouteSpec[];
}

const addr = (cidr: string) => cidr.replace(/\/\d+$/, '');

export function routerLine(l: RouterLine): TopologyDesc {
  return {
    netns: {
      client: { routes: [{ to: 'default', via: addr(l.routerIn[0]!) }] },
      router: {
        sysctls: { 'net.ipv4.ip_forward': 1 },
        ...(l.routerRoutes ? { routes: l.routerRoutes } : {}),
      },
      server: { routes: [{ to: 'default', via: addr(l.routerOut[0]!) }] },
    },
    veths: [
      {
        a: { ns: 'client', dev: 'eth0', addrs: l.client },
        b: { ns: 'router', dev: 'eth0', addrs: l.routerIn },
      },
      {
        a: { ns: 'router', dev: 'eth1', addrs: l.routerOut },
        b: { ns: 'server', dev: 'eth0', addrs: l.server },
      },
    ],
  };
}
