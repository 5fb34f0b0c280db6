/**
 * `ip link` on a Host: add devices (veth pairs across namespaces, bridges,
 * dummy, ether, driver devices), set them up/down, enslave them to a
 * bridge, change MTU and MAC, delete them — with the kernel's side effects
 * (a device going down takes its routes and neighbours with it).
 */
import { normalizeMac, type Mac } from '../../wire/ethernet.js';
import { kernelError } from '../errors.js';
import { Host, type LinkSettings } from '../host.js';
import { compareMac, Link, type DeviceDriver, type FdbEntry, type Wire } from '../link.js';

export class LinkApi {
  constructor(private readonly h: Host) {}

  get(name: string): Link | undefined {
    return this.h.getLink(name);
  }

  list(): Link[] {
    return this.h.linkList();
  }

  /**
   * `ip link add NAME type veth peer name PEER [netns PEERHOST]`. The peer is
   * registered first (veth_newlink), so it takes the lower ifindex when both
   * ends share a namespace.
   */
  addVeth(
    name: string,
    opts: { peer: string; peerHost?: Host; mac?: Mac; peerMac?: Mac; mtu?: number },
  ): Link {
    const ph = opts.peerHost ?? this.h;
    if (this.h.getLink(name) || (ph === this.h && name === opts.peer))
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    if (ph.getLink(opts.peer)) throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    const mtu = opts.mtu ?? 1500;
    const p = ph.createLink(opts.peer, 'veth', opts.peerMac && normalizeMac(opts.peerMac), mtu);
    const l = this.h.createLink(name, 'veth', opts.mac && normalizeMac(opts.mac), mtu);
    l.peer = { host: ph.name, name: opts.peer };
    p.peer = { host: this.h.name, name };
    return l;
  }

  /** `ip link add NAME type bridge`. */
  addBridge(name: string, opts: { mac?: Mac; mtu?: number; ageingTime?: number } = {}): Link {
    const l = this.h.createLink(
      name,
      'bridge',
      opts.mac && normalizeMac(opts.mac),
      opts.mtu ?? 1500,
    );
    l.bridge = {
      fdb: new Map(),
      ageingTime: opts.ageingTime ?? 300,
      nfCallIptables: false,
      fdbSeq: 0,
      hadPort: false,
    };
    this.addFdbLocal(l, l.mac, undefined);
    return l;
  }

  /** `ip link add NAME type dummy` (IFF_NOARP; transmits go nowhere). */
  addDummy(name: string, opts: { mac?: Mac; mtu?: number } = {}): Link {
    return this.h.createLink(name, 'dummy', opts.mac && normalizeMac(opts.mac), opts.mtu ?? 1500);
  }

  /** A physical NIC (eth0, ens4). Its wire is attached by the network (segment or world). */
  addEther(name: string, opts: { mac?: Mac; mtu?: number } = {}): Link {
    return this.h.createLink(name, 'ether', opts.mac && normalizeMac(opts.mac), opts.mtu ?? 1500);
  }

  /** A device of another kind (vxlan, ipip, …) whose transmit path a driver provides. */
  addDevice(name: string, driver: DeviceDriver, opts: { mac?: Mac; mtu?: number } = {}): Link {
    const l = this.h.createLink(
      name,
      driver.kind,
      opts.mac && normalizeMac(opts.mac),
      opts.mtu ?? 1500,
    );
    l.driver = driver;
    return l;
  }

  setWire(name: string, wire: Wire): void {
    const l = this.h.requireLink(name);
    if (l.kind !== 'ether')
      throw kernelError('EOPNOTSUPP', `${name}: only ether devices take a wire`);
    l.wire = wire;
  }

  /** `ip link set NAME [up|down] [master BR|nomaster] [mtu N] [address MAC] [promisc on|off]`. */
  set(name: string, s: LinkSettings): void {
    const l = this.h.requireLink(name);
    if (s.mac !== undefined) {
      const mac = normalizeMac(s.mac);
      if (l.bridge) {
        const old = l.mac;
        l.mac = mac;
        l.macSet = true;
        this.replaceBridgeOwnEntry(l, old);
      } else {
        const old = l.mac;
        l.mac = mac;
        l.macSet = true;
        if (l.master) {
          const br = this.h.requireLink(l.master);
          br.bridge!.fdb.delete(old);
          this.addFdbLocal(br, mac, l.name);
          this.recalcBridgeMac(br);
        }
      }
    }
    if (s.mtu !== undefined) {
      if (!Number.isInteger(s.mtu) || s.mtu < 68)
        throw kernelError('EINVAL', `Error: mtu less than device minimum.`);
      l.mtu = s.mtu;
    }
    if (s.promisc !== undefined) l.promisc = s.promisc;
    if (s.master !== undefined) {
      if (s.master === null) this.release(l);
      else this.enslave(l, this.h.requireLink(s.master));
    }
    if (s.up !== undefined && s.up !== l.adminUp) {
      l.adminUp = s.up;
      if (s.up) this.h.deviceUp(name);
      else {
        this.h.deviceDown(name);
        if (l.master) this.flushLearned(this.h.requireLink(l.master), name);
      }
    }
  }

  /** `bridge link set dev NAME hairpin on|off learning on|off flood on|off`. */
  setPort(name: string, flags: { hairpin?: boolean; learning?: boolean; flood?: boolean }): void {
    const l = this.h.requireLink(name);
    if (!l.port) throw kernelError('EOPNOTSUPP', `Error: ${name} is not a bridge port.`);
    if (flags.hairpin !== undefined) l.port.hairpin = flags.hairpin;
    if (flags.learning !== undefined) l.port.learning = flags.learning;
    if (flags.flood !== undefined) l.port.flood = flags.flood;
  }

  /** `ip link set BR type bridge nf_call_iptables 1 ageing_time N`. */
  setBridge(name: string, opts: { nfCallIptables?: boolean; ageingTime?: number }): void {
    const l = this.h.requireLink(name);
    if (!l.bridge) throw kernelError('EOPNOTSUPP', `Error: ${name} is not a bridge.`);
    if (opts.nfCallIptables !== undefined) l.bridge.nfCallIptables = opts.nfCallIptables;
    if (opts.ageingTime !== undefined) l.bridge.ageingTime = opts.ageingTime;
  }

  /** `ip link del NAME` (a veth takes its peer with it). */
  del(name: string): void {
    const l = this.h.requireLink(name);
    if (l.isLoopback) throw kernelError('EOPNOTSUPP', 'RTNETLINK answers: Operation not supported');
    this.remove(this.h, l);
    if (l.peer) {
      const ph = this.h.network.host(l.peer.host);
      const p = ph?.getLink(l.peer.name);
      if (ph && p) this.remove(ph, p);
    }
  }

  private remove(h: Host, l: Link): void {
    if (l.adminUp) h.deviceDown(l.name);
    if (l.master) h.link.release(l);
    if (l.bridge)
      for (const port of h.links.values()) if (port.master === l.name) h.link.release(port);
    for (const t of h.tables.values()) t.removeWhere((r) => r.dev === l.name);
    h.addresses.delete(l.name);
    h.links.delete(l.name);
    h.reindexAddresses();
  }

  private enslave(port: Link, br: Link): void {
    if (!br.bridge) throw kernelError('EINVAL', `Error: Device can not be enslaved while up.`);
    if (port === br || port.isLoopback || port.bridge)
      throw kernelError('EINVAL', 'Error: Can not enslave a bridge to itself.');
    if (port.master === br.name) return;
    if (port.master) this.release(port);
    port.master = br.name;
    port.port = { hairpin: false, learning: true, flood: true };
    br.bridge.hadPort = true;
    this.addFdbLocal(br, port.mac, port.name);
    this.recalcBridgeMac(br);
  }

  release(port: Link): void {
    if (!port.master) return;
    const br = this.h.requireLink(port.master);
    for (const [mac, e] of br.bridge!.fdb) if (e.port === port.name) br.bridge!.fdb.delete(mac);
    port.master = undefined;
    port.port = undefined;
    const left = [...this.h.links.values()].some((l) => l.master === br.name);
    if (!left && !br.macSet) {
      // br_stp_recalculate_bridge_id with no port left: the bridge id (and address) becomes zero.
      const e = br.bridge!.fdb.get(br.mac);
      if (e && e.local && e.port === undefined) br.bridge!.fdb.delete(br.mac);
      br.mac = '00:00:00:00:00:00';
      return;
    }
    this.recalcBridgeMac(br);
  }

  private flushLearned(br: Link, port: string): void {
    for (const [mac, e] of br.bridge!.fdb)
      if (e.port === port && !e.local) br.bridge!.fdb.delete(mac);
  }

  private addFdbLocal(br: Link, mac: Mac, port: string | undefined): void {
    const b = br.bridge!;
    const existing = b.fdb.get(mac);
    if (existing && existing.local) return;
    const e: FdbEntry = {
      mac,
      port,
      local: true,
      permanent: true,
      updated: this.h.now(),
      seq: b.fdbSeq++,
    };
    b.fdb.set(mac, e);
  }

  /**
   * br_stp_recalculate_bridge_id: unless its address was set by hand, a
   * bridge takes the lowest MAC among its ports.
   */
  private recalcBridgeMac(br: Link): void {
    if (br.macSet) return;
    let min: Mac | undefined;
    for (const p of this.h.links.values())
      if (p.master === br.name && (min === undefined || compareMac(p.mac, min) < 0)) min = p.mac;
    if (min === undefined || min === br.mac) return;
    const old = br.mac;
    br.mac = min;
    this.replaceBridgeOwnEntry(br, old);
  }

  private replaceBridgeOwnEntry(br: Link, old: Mac): void {
    const b = br.bridge!;
    const e = b.fdb.get(old);
    if (e && e.local && e.port === undefined) b.fdb.delete(old);
    this.addFdbLocal(br, br.mac, undefined);
  }
}

// =================================================================== ip addr
