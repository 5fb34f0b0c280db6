/**
 * `ip neigh` on a Host: permanent and reachable neighbour entries and proxy
 * ARP entries (`ip neigh add proxy`).
 */
import { isIpv4, type Ipv4 } from '../../wire/addr.js';
import { normalizeMac, type Mac } from '../../wire/ethernet.js';
import { kernelError } from '../errors.js';
import { Host } from '../host.js';
import { type NeighEntry, type NudState } from '../neigh.js';

export class NeighApi {
  constructor(private readonly h: Host) {}

  list(): NeighEntry[] {
    return this.h.neighbours.list(this.h.now());
  }

  /** `ip neigh add IP lladdr MAC dev DEV [nud permanent|reachable|stale|noarp]` (permanent by default). */
  add(
    ip: Ipv4,
    dev: string,
    opts: {
      lladdr?: Mac;
      nud?: 'permanent' | 'reachable' | 'stale' | 'noarp';
      router?: boolean;
    } = {},
  ): NeighEntry {
    this.h.requireLink(dev);
    if (!isIpv4(ip))
      throw kernelError('EINVAL', `Error: inet address is expected rather than "${ip}".`);
    const state = (opts.nud ?? 'permanent').toUpperCase() as NudState;
    if (opts.lladdr === undefined && state !== 'NOARP')
      throw kernelError('EINVAL', 'Error: No link layer address given.');
    if (this.h.neighbours.get(dev, ip, this.h.now()))
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    const e = this.h.neighbours.create(
      dev,
      ip,
      state,
      this.h.now(),
      opts.lladdr && normalizeMac(opts.lladdr),
    );
    e.router = opts.router ?? false;
    return e;
  }

  /** `ip neigh replace …` */
  replace(
    ip: Ipv4,
    dev: string,
    opts: { lladdr?: Mac; nud?: 'permanent' | 'reachable' | 'stale' | 'noarp' } = {},
  ): NeighEntry {
    this.h.neighbours.delete(dev, ip);
    return this.add(ip, dev, opts);
  }

  del(ip: Ipv4, dev: string): void {
    if (!this.h.neighbours.delete(dev, ip))
      throw kernelError('ENOENT', 'RTNETLINK answers: No such file or directory');
  }

  /** `ip neigh add proxy IP dev DEV`. */
  addProxy(ip: Ipv4, dev: string): void {
    this.h.requireLink(dev);
    this.h.neighbours.addProxy(dev, ip);
  }
}
