/**
 * The sysctls the model gives meaning to, with the kernel's defaults and its
 * rules for combining `conf/all` with `conf/<dev>` (include/linux/inetdevice.h):
 *
 * - rp_filter, arp_ignore: max(all, dev)        (IN_DEV_MAXCONF)
 * - route_localnet, accept_local, proxy_arp, send_redirects,
 *   promote_secondaries, arp_accept: all || dev  (IN_DEV_ORCONF)
 * - forwarding: the device's own value           (IN_DEV_CONF_GET); writing
 *   net.ipv4.ip_forward (= conf/all/forwarding) sets every device and
 *   `default` too (devinet.c inet_forward_change).
 *
 * New devices copy `conf/default`. Other keys (net.netfilter.*, net.core.*,
 * …) are stored as written so the layers that read them can; the stack does
 * not interpret them.
 */
import { kernelError } from './errors.js';

export const CONF_DEFAULTS: Readonly<Record<string, number>> = {
  forwarding: 0,
  rp_filter: 0,
  route_localnet: 0,
  accept_local: 0,
  proxy_arp: 0,
  send_redirects: 1,
  accept_redirects: 1,
  arp_ignore: 0,
  arp_announce: 0,
  arp_accept: 0,
  arp_filter: 0,
  promote_secondaries: 0,
  ignore_routes_with_linkdown: 0,
  src_valid_mark: 0,
  bc_forwarding: 0,
  log_martians: 0,
};

export const GLOBAL_DEFAULTS: Readonly<Record<string, number | string>> = {
  'net.ipv4.ip_local_port_range': '32768 60999',
  'net.ipv4.ip_default_ttl': 64,
  'net.ipv4.icmp_echo_ignore_all': 0,
  'net.ipv4.icmp_echo_ignore_broadcasts': 1,
  /**
   * 0 = br_netfilter not loaded. The module's own default is 1 once loaded
   * (brnf_call_iptables); node compilers (kubeadm preflight, CNI) set it.
   */
  'net.bridge.bridge-nf-call-iptables': 0,
  'net.netfilter.nf_conntrack_tcp_loose': 1,
  'net.netfilter.nf_conntrack_tcp_be_liberal': 0,
};

/**
 * A set of sysctl values shared until written: a namespace starts with the
 * kernel's defaults and a device with a copy of `conf/default`, and most are
 * never written, so they read one table until the first write copies it.
 */
export class SysctlTable<V extends number | string = number> {
  private values: Map<string, V>;
  /** Whether `values` is this table's alone (else it is shared and copied before a write). */
  private own: boolean;

  constructor(values: ReadonlyMap<string, V>) {
    this.values = values as Map<string, V>;
    this.own = false;
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  set(key: string, value: V): void {
    if (this.values.get(key) === value && this.values.has(key)) return;
    if (!this.own) {
      this.values = new Map(this.values);
      this.own = true;
    }
    this.values.set(key, value);
  }

  /** A copy of the table as it is now (later writes to either are not seen by the other). */
  copy(): SysctlTable<V> {
    this.own = false;
    return new SysctlTable(this.values);
  }

  entries(): IterableIterator<[string, V]> {
    return this.values.entries();
  }
}

const CONF_TABLE: ReadonlyMap<string, number> = new Map(Object.entries(CONF_DEFAULTS));
const GLOBAL_TABLE: ReadonlyMap<string, number | string> = new Map(Object.entries(GLOBAL_DEFAULTS));

export interface SysctlDevices {
  devConf(dev: string): SysctlTable | undefined;
  allDevConfs(): Iterable<SysctlTable>;
}

export class Sysctls {
  readonly all = new SysctlTable(CONF_TABLE);
  readonly default = new SysctlTable(CONF_TABLE);
  private readonly global = new SysctlTable(GLOBAL_TABLE);

  constructor(private readonly devices: SysctlDevices) {}

  /** `sysctl -w key=value`. */
  set(key: string, value: number | string): void {
    if (key === 'net.ipv4.ip_forward') key = 'net.ipv4.conf.all.forwarding';
    const conf = parseConfKey(key);
    if (conf) {
      const v = Number(value);
      if (!Number.isInteger(v))
        throw kernelError('EINVAL', `sysctl: setting key "${key}": Invalid argument`);
      if (!(conf.name in CONF_DEFAULTS)) {
        throw kernelError(
          'ENOENT',
          `sysctl: cannot stat /proc/sys/${key.replace(/\./g, '/')}: No such file or directory`,
        );
      }
      if (conf.dev === 'all') {
        this.all.set(conf.name, v);
        if (conf.name === 'forwarding') {
          this.default.set('forwarding', v);
          for (const c of this.devices.allDevConfs()) c.set('forwarding', v);
        }
      } else if (conf.dev === 'default') {
        this.default.set(conf.name, v);
      } else {
        const c = this.devices.devConf(conf.dev);
        if (!c) {
          throw kernelError(
            'ENOENT',
            `sysctl: cannot stat /proc/sys/${key.replace(/\./g, '/')}: No such file or directory`,
          );
        }
        c.set(conf.name, v);
      }
      return;
    }
    if (key === 'net.ipv4.ip_local_port_range') {
      const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(String(value));
      if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535) {
        throw kernelError('EINVAL', `sysctl: setting key "${key}": Invalid argument`);
      }
      this.global.set(key, `${Number(m[1])} ${Number(m[2])}`);
      return;
    }
    this.global.set(key, value);
  }

  get(key: string): number | string | undefined {
    if (key === 'net.ipv4.ip_forward') key = 'net.ipv4.conf.all.forwarding';
    const conf = parseConfKey(key);
    if (conf) {
      if (conf.dev === 'all') return this.all.get(conf.name);
      if (conf.dev === 'default') return this.default.get(conf.name);
      return this.devices.devConf(conf.dev)?.get(conf.name);
    }
    return this.global.get(key);
  }

  number(key: string): number {
    return Number(this.get(key) ?? 0);
  }

  /** net.ipv4.ip_local_port_range as [low, high]. */
  localPortRange(): readonly [number, number] {
    const [a, b] = String(this.global.get('net.ipv4.ip_local_port_range')).split(/\s+/).map(Number);
    return [a ?? 32768, b ?? 60999];
  }

  private dev(dev: string, name: string): number {
    return this.devices.devConf(dev)?.get(name) ?? this.default.get(name) ?? 0;
  }

  /** IN_DEV_MAXCONF */
  maxConf(dev: string, name: string): number {
    return Math.max(this.all.get(name) ?? 0, this.dev(dev, name));
  }

  /** IN_DEV_ORCONF */
  orConf(dev: string, name: string): boolean {
    return (this.all.get(name) ?? 0) !== 0 || this.dev(dev, name) !== 0;
  }

  /** IN_DEV_FORWARD */
  forwarding(dev: string): boolean {
    return this.dev(dev, 'forwarding') !== 0;
  }

  rpFilter(dev: string): number {
    return this.maxConf(dev, 'rp_filter');
  }

  routeLocalnet(dev: string): boolean {
    return this.orConf(dev, 'route_localnet');
  }

  bridgeNfCallIptables(): boolean {
    return this.number('net.bridge.bridge-nf-call-iptables') !== 0;
  }
}

/** `net.ipv4.conf.<dev>.<name>`; a `/` in the device part stands for `.` (eth0/100 = eth0.100). */
function parseConfKey(key: string): { dev: string; name: string } | undefined {
  const prefix = 'net.ipv4.conf.';
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const dot = rest.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return { dev: rest.slice(0, dot).replace(/\//g, '.'), name: rest.slice(dot + 1) };
}
