/**
 * A host's kernel state in the formats of the real tools (iproute2 6.x):
 * `ip route show [table T]`, `ip route get`, `ip rule show`, `ip addr`,
 * `ip link`, `ip -br link|addr`, `ip neigh`, `bridge fdb show`. Lines end the
 * way iproute2 ends them (route and neighbour lines carry a trailing space).
 *
 * Modelled NICs (`ether`) print `qdisc noqueue`; a real NIC shows its own
 * qdisc (mq, fq_codel). Not shown, because the model has no IPv6: inet6 addresses and routes, and
 * the multicast `self permanent` FDB entries IPv6/IGMP membership adds.
 */
import { ipToInt, type Ipv4 } from '../wire/addr.js';
import { formatRoute, formatRule, parseTable, tableName, type Route } from '../kernel/fib.js';
import type { Host } from '../kernel/host.js';
import { scopeName, type Link } from '../kernel/link.js';
import { isIpip } from '../kernel/ipip.js';
import { vxlanFdbLines } from '../kernel/vxlan.js';
import type { NeighEntry } from '../kernel/neigh.js';
import { routeInput, routeOutput } from '../kernel/stack/index.js';
import type { DropReason } from '../kernel/drop.js';

function routeLine(h: Host, r: Route, showTable: boolean): string {
  const l = r.dev !== undefined ? h.getLink(r.dev) : undefined;
  // RTNH_F_LINKDOWN: every nexthop on a carrier-less device except host-scope (local) ones.
  const linkdown = l !== undefined && l.adminUp && !h.carrier(l) && r.type !== 'local';
  return `${formatRoute(r, { showTable, linkdown })} `;
}

/** `ip route show [table main|local|all|N]`. */
export function ipRouteShow(h: Host, table: string | number = 'main'): string {
  if (table === 'all') {
    const ids = [...h.tables.keys()].sort((a, b) => rankTable(a) - rankTable(b));
    return ids
      .flatMap((id) =>
        h
          .table(id)
          .list()
          .map((r) => routeLine(h, r, true)),
      )
      .map((l) => `${l}\n`)
      .join('');
  }
  return h
    .table(parseTable(table))
    .list()
    .map((r) => `${routeLine(h, r, false)}\n`)
    .join('');
}

/** Tables dump in fib_table_hash order: by id modulo FIB_TABLE_HASHSZ (256). */
function rankTable(id: number): number {
  return (id % 256) * 2 ** 32 + id;
}

/** `ip rule show`. */
export function ipRuleShow(h: Host): string {
  return h.rule
    .list()
    .map((r) => `${formatRule(r)}\n`)
    .join('');
}

/**
 * `ip route get DST [from SRC] [oif DEV] [mark N]` for locally generated
 * traffic (ip_route_output), or with `iif DEV` for a packet received on DEV
 * (ip_route_input). Errors print as iproute2 prints them.
 */
export function ipRouteGet(
  h: Host,
  dst: Ipv4,
  opts: { from?: Ipv4; oif?: string; iif?: string; mark?: number } = {},
): string {
  if (opts.iif !== undefined)
    return ipRouteGetInput(h, dst, opts.from ?? '0.0.0.0', opts.iif, opts.mark ?? 0);
  const r = routeOutput(h, {
    dst,
    ...(opts.from ? { src: opts.from } : {}),
    ...(opts.oif ? { oif: opts.oif } : {}),
    mark: opts.mark ?? 0,
  });
  if (!r.ok) return `RTNETLINK answers: ${ERRNO_TEXT[r.errno] ?? r.errno}\n`;
  const rt = r.rt;
  const parts: string[] = [];
  if (rt.type === 'local') parts.push('local');
  if (rt.type === 'broadcast') parts.push('broadcast');
  parts.push(dst);
  if (opts.from) parts.push('from', opts.from);
  if (rt.gateway) parts.push('via', rt.gateway);
  parts.push('dev', rt.dev);
  // Without custom rules the kernel merges local into main, so only other tables are named.
  const merged = h.rules.length === 3;
  if (rt.table !== undefined && rt.table !== 254 && !(merged && rt.table === 255))
    parts.push('table', tableName(rt.table));
  if (!opts.from && rt.src) parts.push('src', rt.src);
  if (opts.mark) parts.push('mark', formatMark(opts.mark));
  parts.push('uid', '0');
  const flags = rt.type === 'local' ? '<local> ' : rt.type === 'broadcast' ? '<local,brd> ' : '';
  return `${parts.join(' ')} \n    cache ${flags}\n`;
}

const INPUT_ERRNO: Partial<Record<DropReason, string>> = {
  'ip-forward-disabled': 'EHOSTUNREACH',
  'no-route': 'ENETUNREACH',
  'route-unreachable': 'EHOSTUNREACH',
  'route-prohibit': 'EACCES',
  'route-blackhole': 'EINVAL',
  'martian-source': 'EINVAL',
  'martian-destination': 'EINVAL',
  'rp-filter': 'EINVAL',
};

function ipRouteGetInput(h: Host, dst: Ipv4, src: Ipv4, iif: string, mark: number): string {
  if (!h.getLink(iif)) return `Cannot find device "${iif}"\n`;
  const r = routeInput(h, { dst, src, iif, mark, tos: 0 });
  if (r.kind === 'error')
    return `RTNETLINK answers: ${ERRNO_TEXT[INPUT_ERRNO[r.reason] ?? 'EINVAL']}\n`;
  const m = mark ? ` mark ${formatMark(mark)}` : '';
  if (r.kind !== 'forward') {
    return r.kind === 'local'
      ? `local ${dst} from ${src} dev lo${m} \n    cache <local> iif ${iif} \n`
      : `broadcast ${dst} from ${src} dev lo${m} \n    cache <local,brd> iif ${iif} \n`;
  }
  const via = r.rt.gateway ? ` via ${r.rt.gateway}` : '';
  return `${dst} from ${src}${via} dev ${r.rt.dev}${m} \n    cache ${r.redirect ? '<redirect> ' : ''}iif ${iif} \n`;
}

/** iproute2 prints a mark below 16 in decimal, from 16 on in hex. */
function formatMark(mark: number): string {
  return mark >= 16 ? `0x${mark.toString(16)}` : String(mark);
}

const ERRNO_TEXT: Record<string, string> = {
  ENETUNREACH: 'Network is unreachable',
  EHOSTUNREACH: 'No route to host',
  EACCES: 'Permission denied',
  EINVAL: 'Invalid argument',
  ENETDOWN: 'Network is down',
};

function linkFlags(h: Host, l: Link): string {
  const flags: string[] = [];
  const carrier = h.carrier(l);
  if (l.adminUp && !carrier) flags.push('NO-CARRIER');
  if (l.isLoopback) flags.push('LOOPBACK');
  else flags.push('BROADCAST');
  if (!l.isLoopback) flags.push('MULTICAST');
  if (l.noArp && !l.isLoopback) flags.push('NOARP');
  if (l.promisc) flags.push('PROMISC');
  if (l.adminUp) flags.push('UP');
  if (l.adminUp && carrier) flags.push('LOWER_UP');
  return `<${flags.join(',')}>`;
}

/** IF_OPER_*: UNKNOWN for lo/dummy (no carrier reporting), else UP/DOWN. */
export function operState(h: Host, l: Link): string {
  if (!l.adminUp) return 'DOWN';
  if (l.isLoopback || l.kind === 'dummy' || (l.bridge && !l.bridge.hadPort)) return 'UNKNOWN';
  return h.carrier(l) ? 'UP' : 'DOWN';
}

/** `eth0@if3`, `veth0@veth1` (peer in the same namespace), or the bare name. */
function linkName(h: Host, l: Link): string {
  if (!l.peer) return l.name;
  if (l.peer.host === h.name) return `${l.name}@${l.peer.name}`;
  const peer = h.network.host(l.peer.host)?.getLink(l.peer.name);
  return peer ? `${l.name}@if${peer.ifindex}` : `${l.name}@NONE`;
}

function linkHeader(h: Host, l: Link, mode: boolean): string {
  const qdisc = l.adminUp ? 'noqueue' : 'noop';
  const master = l.master ? ` master ${l.master}` : '';
  return `${l.ifindex}: ${linkName(h, l)}: ${linkFlags(h, l)} mtu ${l.mtu} qdisc ${qdisc}${master} state ${operState(h, l)}${mode ? ' mode DEFAULT' : ''} group default qlen 1000`;
}

function linkLine2(h: Host, l: Link): string {
  if (l.isLoopback) return `    link/loopback ${l.mac} brd 00:00:00:00:00:00`;
  if (isIpip(l)) return `    link/ipip 0.0.0.0 brd 0.0.0.0`;
  const netns = l.peer && l.peer.host !== h.name ? ` link-netns ${l.peer.host}` : '';
  return `    link/ether ${l.mac} brd ff:ff:ff:ff:ff:ff${netns}`;
}

/** `ip link show`. */
export function ipLinkShow(h: Host): string {
  return h
    .linkList()
    .map((l) => `${linkHeader(h, l, true)}\n${linkLine2(h, l)}\n`)
    .join('');
}

/** `ip addr show` (IPv4 only). */
export function ipAddrShow(h: Host): string {
  let out = '';
  for (const l of h.linkList()) {
    out += `${linkHeader(h, l, false)}\n${linkLine2(h, l)}\n`;
    for (const a of h.addressesOf(l.name)) {
      const brd = a.broadcast !== undefined ? ` brd ${a.broadcast}` : '';
      const flags = `${a.secondary ? ' secondary' : ''}${a.noprefixroute ? ' noprefixroute' : ''}`;
      out += `    inet ${a.local}/${a.prefix}${brd} scope ${scopeName(a.scope)}${flags} ${l.name}\n`;
      out += `       valid_lft forever preferred_lft forever\n`;
    }
  }
  return out;
}

/** `ip -br link`. */
export function ipBrLink(h: Host): string {
  return h
    .linkList()
    .map(
      (l) =>
        `${linkName(h, l).padEnd(16)} ${operState(h, l).padEnd(14)} ${l.mac} ${linkFlags(h, l)} \n`,
    )
    .join('');
}

/** `ip -br addr` (IPv4 only). */
export function ipBrAddr(h: Host): string {
  return h
    .linkList()
    .map((l) => {
      const addrs = h
        .addressesOf(l.name)
        .map((a) => `${a.local}/${a.prefix} `)
        .join('');
      return `${linkName(h, l).padEnd(16)} ${operState(h, l).padEnd(14)} ${addrs}\n`;
    })
    .join('');
}

function neighLine(e: NeighEntry): string {
  const ll =
    e.mac !== undefined && e.state !== 'INCOMPLETE' && e.state !== 'FAILED'
      ? ` lladdr ${e.mac}`
      : '';
  const router = e.router ? ' router' : '';
  return `${e.ip} dev ${e.dev}${ll}${router} ${e.state} \n`;
}

/**
 * `ip neigh show` (NOARP entries are hidden, as iproute2 hides them unless
 * `nud all`). The kernel lists in hash order; we list by device, then address.
 */
export function ipNeighShow(h: Host, opts: { all?: boolean } = {}): string {
  const order = new Map(h.linkList().map((l) => [l.name, l.ifindex]));
  return h.neigh
    .list()
    .filter((e) => e.state !== 'NONE' && (opts.all || e.state !== 'NOARP'))
    .sort((a, b) => (order.get(a.dev) ?? 0) - (order.get(b.dev) ?? 0) || ipCompare(a.ip, b.ip))
    .map(neighLine)
    .join('');
}

function ipCompare(a: Ipv4, b: Ipv4): number {
  return ipToInt(a) - ipToInt(b);
}

/**
 * `bridge fdb show` restricted to the bridges' own entries (`master BR`), per
 * device in ifindex order, newest first as the kernel's fdb hlist is.
 */
export function bridgeFdbShow(h: Host): string {
  let out = '';
  const now = h.now();
  for (const l of h.linkList()) {
    // A VXLAN device's own FDB (`bridge fdb append MAC dev flannel.1 dst IP self permanent`).
    for (const line of vxlanFdbLines(l)) out += `${line}\n`;
    const br = l.bridge ? l : l.master ? h.getLink(l.master) : undefined;
    if (!br?.bridge) continue;
    const entries = [...br.bridge.fdb.values()]
      .filter((e) => (l.bridge ? e.port === undefined : e.port === l.name))
      .filter((e) => e.permanent || now - e.updated <= br.bridge!.ageingTime)
      .sort((a, b) => b.seq - a.seq);
    for (const e of entries) {
      out += e.permanent
        ? `${e.mac} dev ${l.name} master ${br.name} permanent\n`
        : `${e.mac} dev ${l.name} master ${br.name} \n`;
    }
  }
  return out;
}

export { tableName };
