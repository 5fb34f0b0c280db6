/**
 * The routing decision between PREROUTING and INPUT/FORWARD in the
 * single-host trace (`packeteye iptables trace`), taken by the kernel model's
 * own ip_route_input (`routeInput`) on a stand-in namespace built from what
 * the trace knows about the host:
 *
 * - devices: `lo`, the in-iface (`eth0` when not given), the out-iface, and
 *   every device a `--local-ip` or a `--routes` route names, as up dummies;
 * - addresses: each `--local-ip` on its device (on the in-iface when the dump
 *   does not say; /32 when no prefix), so the local and broadcast routes are
 *   the kernel's own;
 * - routes: the `--routes` dump (its main and other tables; the local table
 *   comes from the addresses) and `--ip-rules`; without `--routes`, the
 *   packet's source is reached via the in-iface (`SRC dev IN`) and everything
 *   else via the out-iface (`default dev OUT`, else the in-iface);
 * - sysctls: the kernel's defaults except ip_forward=1 (a Kubernetes node
 *   forwards), then each `--sysctl` in order.
 *
 * So martians (127.0.0.0/8 from the wire per route_localnet, 0.0.0.0/8,
 * multicast or broadcast sources), multicast (never joined here: dropped in
 * routing), the limited and directed broadcasts (delivered locally),
 * ip_forward=0 and rp_filter are decided as the kernel decides them. IPv4
 * only; an IPv6 packet keeps the local-address rule.
 */
import type { Ipv4 } from '../wire/addr.js';
import { CONF_DEFAULTS } from '../kernel/sysctl.js';
import { Network } from '../kernel/network.js';
import type { Host } from '../kernel/host.js';
import type { PolicyRule, Route } from '../kernel/fib.js';
import { routeInput, type InputRouteResult } from '../kernel/stack/index.js';

/** The in-iface the stand-in namespace uses when `--in-iface` is not given. */
export const DEFAULT_IN_IFACE = 'eth0';

/** The per-device sysctls `routeInput` reads (net.ipv4.conf.{all,default,DEV}.NAME). */
export const ROUTING_CONF_KEYS = [
  'forwarding',
  'rp_filter',
  'route_localnet',
  'accept_local',
  'src_valid_mark',
  'send_redirects',
] as const;

/** One `sysctl -w` for the stand-in namespace, by its full name. */
export interface RoutingSysctl {
  readonly key: string;
  readonly value: number;
}

/**
 * `KEY=VALUE` as the kernel names it: `ip_forward` / `net.ipv4.ip_forward`,
 * `NAME` (= net.ipv4.conf.all.NAME) or `net.ipv4.conf.DEV.NAME`, for the
 * names in ROUTING_CONF_KEYS. Undefined when the key is not one of them.
 */
export function routingSysctlKey(key: string): string | undefined {
  if (key === 'ip_forward' || key === 'net.ipv4.ip_forward') return 'net.ipv4.ip_forward';
  const known = (name: string) => (ROUTING_CONF_KEYS as readonly string[]).includes(name);
  if (known(key)) return `net.ipv4.conf.all.${key}`;
  const m = /^net\.ipv4\.conf\.([^.]+(?:\.[^.]+)*)\.([a-z_]+)$/.exec(key);
  if (m && known(m[2]!) && m[2]! in CONF_DEFAULTS) return key;
  return undefined;
}

export interface RoutingInput {
  readonly src: Ipv4;
  readonly localIps: readonly {
    readonly ip: Ipv4;
    readonly prefix?: number;
    readonly iface?: string;
  }[];
  readonly inIface?: string;
  readonly outIface?: string;
  readonly routes?: readonly Route[];
  readonly ipRules?: readonly PolicyRule[];
  readonly routing?: readonly RoutingSysctl[];
}

/** The stand-in namespace (see the module doc). */
export function routingHost(input: RoutingInput): Host {
  const h = new Network().addHost('host', { loopbackUp: true });
  const iif = input.inIface ?? DEFAULT_IN_IFACE;
  const devices = new Set<string>([iif]);
  if (input.outIface !== undefined) devices.add(input.outIface);
  for (const l of input.localIps) if (l.iface !== undefined) devices.add(l.iface);
  for (const r of input.routes ?? []) if (r.dev !== undefined) devices.add(r.dev);
  devices.delete('lo');
  for (const d of devices) {
    h.link.addDummy(d);
    h.link.set(d, { up: true });
  }
  for (const l of input.localIps) {
    if (l.ip.indexOf(':') >= 0 || l.ip.startsWith('127.')) continue;
    const dev = l.iface ?? iif;
    if (h.addressesOf(dev).some((a) => a.local === l.ip)) continue;
    h.addr.add(`${l.ip}/${l.prefix ?? 32}`, dev, { brd: '+' });
  }
  if (input.routes !== undefined) {
    for (const r of input.routes) if (r.table !== 255) h.table(r.table).insert(r);
  } else {
    if (isPlainUnicast(input.src)) h.route.add({ dst: `${input.src}/32`, dev: iif });
    h.route.add({ dst: 'default', dev: input.outIface ?? iif });
  }
  if (input.ipRules !== undefined) h.rules = [...input.ipRules];
  h.sysctl.set('net.ipv4.ip_forward', 1);
  for (const s of input.routing ?? []) h.sysctl.set(s.key, s.value);
  return h;
}

function isPlainUnicast(ip: Ipv4): boolean {
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return first !== 0 && first !== 127 && first < 224;
}

/** ip_route_input for the packet as PREROUTING left it. */
export function decideInput(
  h: Host,
  q: { src: Ipv4; dst: Ipv4; iif: string; mark: number },
): InputRouteResult {
  return routeInput(h, { ...q, tos: 0 });
}
