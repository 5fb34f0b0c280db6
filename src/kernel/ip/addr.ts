/**
 * `ip addr` on a Host: an address brings its local, broadcast and prefix
 * routes (fib_add_ifaddr); primaries and secondaries, promote_secondaries
 * on delete.
 */
import { broadcastOf, isIpv4, type Ipv4 } from '../../wire/addr.js';
import { kernelError } from '../errors.js';
import { Host, maskNet, sameNet, type AddrOptions } from '../host.js';
import { parseScope, RT_SCOPE, type InetAddress } from '../link.js';

export function parseAddressArg(s: string): { local: Ipv4; prefix: number } {
  const slash = s.indexOf('/');
  const local = slash < 0 ? s : s.slice(0, slash);
  const prefixText = slash < 0 ? '32' : s.slice(slash + 1);
  if (!isIpv4(local) || !/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    throw kernelError('EINVAL', `Error: any valid prefix is expected rather than "${s}".`);
  }
  return { local, prefix: Number(prefixText) };
}

/** The default scope iproute2 gives an address: host for 127/8 (ipaddress.c default_scope). */
export function defaultAddrScope(local: Ipv4): number {
  return local.startsWith('127.') ? RT_SCOPE.host : RT_SCOPE.universe;
}

// =================================================================== ip link

export class AddrApi {
  constructor(private readonly h: Host) {}

  list(dev?: string): InetAddress[] {
    if (dev !== undefined) return [...this.h.addressesOf(dev)];
    return this.h.linkList().flatMap((l) => [...this.h.addressesOf(l.name)]);
  }

  /** `ip addr add ADDR/PLEN dev DEV [brd +|ADDR] [scope S] [noprefixroute] [metric N]`. */
  add(cidr: string, dev: string, opts: AddrOptions = {}): InetAddress {
    this.h.requireLink(dev);
    const { local, prefix } = parseAddressArg(cidr);
    const scope = opts.scope !== undefined ? parseScope(opts.scope) : defaultAddrScope(local);
    let broadcast: Ipv4 | undefined;
    if (opts.brd === '+')
      broadcast =
        prefix < 31 ? broadcastOf({ network: maskNet(local, prefix), prefix }) : undefined;
    else if (opts.brd !== undefined) broadcast = opts.brd;
    return this.insert({
      dev,
      local,
      prefix,
      broadcast,
      scope,
      secondary: false,
      noprefixroute: opts.noprefixroute ?? false,
      metric: opts.metric ?? 0,
    });
  }

  /** __inet_insert_ifa: EEXIST, primary/secondary, list position; then fib_add_ifaddr. */
  insert(a: InetAddress): InetAddress {
    const list = [...this.h.addressesOf(a.dev)];
    let secondary = false;
    let lastPrimary = 0;
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!;
      if (!x.secondary && a.scope <= x.scope) lastPrimary = i + 1;
      if (x.prefix === a.prefix && sameNet(x.local, a.local, a.prefix)) {
        if (x.local === a.local) throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
        if (x.scope !== a.scope) throw kernelError('EINVAL', 'RTNETLINK answers: Invalid argument');
        secondary = true;
      }
    }
    const ifa: InetAddress = { ...a, secondary };
    if (secondary) list.push(ifa);
    else list.splice(lastPrimary, 0, ifa);
    this.h.addresses.set(a.dev, list);
    this.h.indexAddress(ifa);
    this.h.fibAddIfaddr(ifa);
    return ifa;
  }

  /**
   * `ip addr del ADDR/PLEN dev DEV`. Deleting a primary deletes its
   * secondaries unless promote_secondaries is on, which promotes the first.
   */
  del(cidr: string, dev: string): void {
    const { local, prefix } = parseAddressArg(cidr);
    const list = [...this.h.addressesOf(dev)];
    const i = list.findIndex((x) => x.local === local && x.prefix === prefix);
    if (i < 0)
      throw kernelError('EADDRNOTAVAIL', 'RTNETLINK answers: Cannot assign requested address');
    const [gone] = list.splice(i, 1);
    let kept = list;
    if (gone && !gone.secondary) {
      const sameSubnet = (x: InetAddress): boolean =>
        x.secondary && x.prefix === gone.prefix && sameNet(x.local, gone.local, gone.prefix);
      if (this.h.sysctl.orConf(dev, 'promote_secondaries')) {
        const j = kept.findIndex(sameSubnet);
        if (j >= 0) {
          const promoted = { ...kept[j]!, secondary: false };
          kept.splice(j, 1);
          kept.splice(Math.min(i, kept.length), 0, promoted);
        }
      } else {
        kept = kept.filter((x) => !sameSubnet(x));
      }
    }
    this.h.addresses.set(dev, kept);
    this.h.reindexAddresses();
    this.h.refreshKernelRoutes(dev);
  }

  flush(dev: string): void {
    this.h.addresses.set(dev, []);
    this.h.reindexAddresses();
    this.h.refreshKernelRoutes(dev);
  }
}

// =================================================================== ip route
