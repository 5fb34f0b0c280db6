/**
 * The routing decision (net/ipv4/route.c): `routeOutput` for locally
 * generated packets (ip_route_output_key_hash_rcu: device, gateway, source
 * address) and `routeInput` for received ones (ip_route_input_slow: local,
 * broadcast or forward; source validation and reverse-path filtering in
 * fib_validate_source; martians).
 */
import type { Ipv4 } from '../../wire/addr.js';
import type { DropReason } from '../drop.js';
import {
  explainMatch,
  formatRoute,
  tableName,
  type FibErrno,
  type OutputFlow,
  type OutputRouteResult,
  type OutRoute,
  type Route,
  u32,
} from '../fib.js';
import type { Host } from '../host.js';
import { RT_SCOPE } from '../link.js';
import { ICMP } from '../socket.js';
import { isLoopbackIp, isMulticastIp, isZeronet } from './path.js';

export function describeRouteMatch(dst: Ipv4, r: Route): string {
  const where = r.table !== 254 ? ` [table ${tableName(r.table)}]` : '';
  return `${explainMatch(dst, r)} → matches ${formatRoute(r)}${where}`;
}

export const ERRNO_REASON: Record<FibErrno, DropReason> = {
  ENETUNREACH: 'no-route',
  EHOSTUNREACH: 'route-unreachable',
  EACCES: 'route-prohibit',
  EINVAL: 'route-blackhole',
};

/** ip_error: the ICMP a route error earns (none for blackhole). */
export const ERRNO_ICMP: Record<FibErrno, number | undefined> = {
  ENETUNREACH: ICMP.NET_UNREACH,
  EHOSTUNREACH: ICMP.HOST_UNREACH,
  EACCES: ICMP.PKT_FILTERED,
  EINVAL: undefined,
};

/**
 * ip_route_output_key_hash_rcu: chooses the output device and, when the
 * socket has not bound one, the source address (the route's `src`, else
 * inet_select_addr on the nexthop device with the route's scope).
 */
export function routeOutput(h: Host, q: OutputFlow): OutputRouteResult {
  if (q.src !== undefined && q.src !== '0.0.0.0') {
    if (isMulticastIp(q.src) || q.src === '255.255.255.255' || isZeronet(q.src)) {
      return {
        ok: false,
        reason: 'source-not-local',
        errno: 'EINVAL',
        explain: `source ${q.src} is not a unicast address`,
      };
    }
    if (!q.anySource && h.addressOwner(q.src) === undefined) {
      return {
        ok: false,
        reason: 'source-not-local',
        errno: 'EINVAL',
        explain: `source ${q.src} is not an address of this host`,
      };
    }
  }
  const src = q.src === '0.0.0.0' ? undefined : q.src;
  if (q.oif !== undefined && !h.getLink(q.oif)?.adminUp) {
    return {
      ok: false,
      reason: 'link-down',
      errno: 'ENETDOWN',
      explain: `bound device ${q.oif} is down`,
    };
  }
  const res = h.fib({
    dst: q.dst,
    src,
    iif: 'lo',
    oif: q.oif,
    mark: q.mark ?? 0,
    tos: q.tos ?? 0,
    scope: RT_SCOPE.universe,
  });
  if (!res.ok) {
    if (q.oif !== undefined && res.errno === 'ENETUNREACH') {
      // "Apparently, routing tables are wrong. Assume, that the destination is on link."
      const s = src ?? h.selectAddress(q.oif, undefined, RT_SCOPE.link);
      return {
        ok: true,
        rt: { type: 'unicast', dev: q.oif, ...(s ? { src: s } : {}) },
        explain: `${q.dst}: no route; bound to ${q.oif}, assumed on-link`,
      };
    }
    const explain = res.route
      ? describeRouteMatch(q.dst, res.route)
      : res.rule && res.rule.action.kind !== 'lookup'
        ? `${q.dst}: rule ${res.rule.priority} says ${res.rule.action.kind}`
        : `${q.dst}: no route matches (Network is unreachable)`;
    return { ok: false, reason: ERRNO_REASON[res.errno], errno: res.errno, explain };
  }
  const r = res.route;
  const explain = describeRouteMatch(q.dst, r);
  if (r.type === 'local') {
    return {
      ok: true,
      rt: { type: 'local', dev: 'lo', src: src ?? r.src ?? q.dst, route: r, table: r.table },
      explain,
      rule: res.rule,
    };
  }
  const dev = r.dev!;
  const chosen = src ?? r.src ?? h.selectAddress(dev, r.via, r.scope);
  const type = r.type === 'broadcast' || q.dst === '255.255.255.255' ? 'broadcast' : 'unicast';
  // __mkroute_output: a broadcast route has no gateway (fi = NULL).
  const gw = type === 'unicast' ? r.via : undefined;
  return {
    ok: true,
    rt: {
      type,
      dev,
      ...(gw ? { gateway: gw } : {}),
      ...(chosen ? { src: chosen } : {}),
      route: r,
      table: r.table,
    },
    explain,
    rule: res.rule,
  };
}

export type InputRouteResult =
  | { readonly kind: 'local' | 'broadcast'; readonly route?: Route; readonly explain: string }
  | {
      readonly kind: 'forward';
      readonly rt: OutRoute;
      readonly explain: string;
      readonly redirect: boolean;
    }
  | {
      readonly kind: 'error';
      readonly reason: DropReason;
      readonly explain: string;
      /** ip_error: the ICMP unreachable code the kernel sends back, if any. */
      readonly icmpCode?: number;
    };

/** fib_validate_source (net/ipv4/fib_frontend.c): reverse-path and own-address checks. */
export function validateSource(
  h: Host,
  src: Ipv4,
  dst: Ipv4,
  iif: string,
  oif: string | undefined,
  mark: number,
): { ok: true; onlink: boolean } | { ok: false; errno: 'EINVAL' | 'EXDEV'; why: string } {
  const rpf = h.sysctl.rpFilter(iif);
  const acceptLocal = h.sysctl.orConf(iif, 'accept_local');
  if (rpf === 0 && (iif !== oif || !h.sysctl.orConf(iif, 'send_redirects'))) {
    if (acceptLocal) return { ok: true, onlink: false };
    if (!h.hasCustomLocalRoutes() && h.rules.length === 3) {
      if (h.addressOwner(src) !== undefined)
        return { ok: false, errno: 'EINVAL', why: `source ${src} is one of this host's addresses` };
      return { ok: true, onlink: false };
    }
  }
  const lastResort = ():
    { ok: true; onlink: boolean } | { ok: false; errno: 'EXDEV'; why: string } =>
    rpf
      ? { ok: false, errno: 'EXDEV', why: `rp_filter=${rpf}: no route back to ${src}` }
      : { ok: true, onlink: false };
  const vmark = h.sysctl.orConf(iif, 'src_valid_mark') ? mark : 0;
  const r = h.fib({
    dst: src,
    src: dst,
    iif: oif ?? 'lo',
    mark: vmark,
    tos: 0,
    scope: RT_SCOPE.universe,
  });
  if (!r.ok) return lastResort();
  if (r.route.type !== 'unicast' && !(r.route.type === 'local' && acceptLocal)) {
    return { ok: false, errno: 'EINVAL', why: `route back to ${src} is ${r.route.type}` };
  }
  const devMatch =
    r.route.dev === iif || (r.route.type === 'local' && h.getLink(iif)?.isLoopback === true);
  if (devMatch)
    return { ok: true, onlink: r.route.via === undefined && r.route.type === 'unicast' };
  if (h.addressesOf(iif).length === 0) return lastResort();
  if (rpf === 1) {
    return {
      ok: false,
      errno: 'EXDEV',
      why: `rp_filter=1 (strict): ${src} is reached via ${r.route.dev}, not ${iif}`,
    };
  }
  return { ok: true, onlink: false };
}

/** ip_route_input_slow: martians, the FIB, local vs forward, forwarding and rp_filter. */
export function routeInput(
  h: Host,
  q: { dst: Ipv4; src: Ipv4; iif: string; mark: number; tos: number },
): InputRouteResult {
  const { dst, src, iif } = q;
  const localnet = h.sysctl.routeLocalnet(iif);
  if (isMulticastIp(src) || src === '255.255.255.255') {
    return {
      kind: 'error',
      reason: 'martian-source',
      explain: `martian source ${src} (multicast/broadcast)`,
    };
  }
  if (dst === '255.255.255.255' || (src === '0.0.0.0' && dst === '0.0.0.0')) {
    if (src !== '0.0.0.0') {
      const v = validateSource(h, src, dst, iif, undefined, q.mark);
      if (!v.ok)
        return {
          kind: 'error',
          reason: v.errno === 'EXDEV' ? 'rp-filter' : 'martian-source',
          explain: v.why,
        };
    }
    return { kind: 'broadcast', explain: `${dst} is the limited broadcast` };
  }
  if (isMulticastIp(dst)) return routeInputMulticast(h, q, localnet);
  if (isZeronet(src))
    return { kind: 'error', reason: 'martian-source', explain: `martian source ${src} (0.0.0.0)` };
  if (isZeronet(dst))
    return {
      kind: 'error',
      reason: 'martian-destination',
      explain: `martian destination ${dst} (0.0.0.0)`,
    };
  if (isLoopbackIp(dst)) {
    if (!localnet)
      return {
        kind: 'error',
        reason: 'martian-destination',
        explain: `martian destination ${dst}: 127.0.0.0/8 off lo and route_localnet=0 on ${iif}`,
      };
  } else if (isLoopbackIp(src)) {
    if (!localnet)
      return {
        kind: 'error',
        reason: 'martian-source',
        explain: `martian source ${src}: 127.0.0.0/8 off lo and route_localnet=0 on ${iif}`,
      };
  }
  const res = h.fib({ dst, src, iif, mark: q.mark, tos: q.tos, scope: RT_SCOPE.universe });
  if (!res.ok) {
    const explain = res.route ? describeRouteMatch(dst, res.route) : `${dst}: no route matches`;
    if (!h.sysctl.forwarding(iif)) {
      return {
        kind: 'error',
        reason: 'ip-forward-disabled',
        explain: `${explain}; not local and forwarding=0 on ${iif}`,
      };
    }
    const code = ERRNO_ICMP[res.errno];
    return {
      kind: 'error',
      reason: ERRNO_REASON[res.errno],
      explain,
      ...(code !== undefined ? { icmpCode: code } : {}),
    };
  }
  const r = res.route;
  const explain = describeRouteMatch(dst, r);
  if (r.type === 'broadcast' || r.type === 'local') {
    const v = validateSource(h, src, dst, iif, undefined, q.mark);
    if (!v.ok)
      return {
        kind: 'error',
        reason: v.errno === 'EXDEV' ? 'rp-filter' : 'martian-source',
        explain: `${explain}; ${v.why}`,
      };
    return { kind: r.type, route: r, explain };
  }
  if (!h.sysctl.forwarding(iif)) {
    return {
      kind: 'error',
      reason: 'ip-forward-disabled',
      explain: `${explain}; not local and forwarding=0 on ${iif}`,
    };
  }
  if (r.type !== 'unicast') return { kind: 'error', reason: 'martian-destination', explain };
  const v = validateSource(h, src, dst, iif, r.dev, q.mark);
  if (!v.ok)
    return {
      kind: 'error',
      reason: v.errno === 'EXDEV' ? 'rp-filter' : 'martian-source',
      explain: `${explain}; ${v.why}`,
    };
  const redirect = r.dev === iif && v.onlink && h.sysctl.orConf(iif, 'send_redirects');
  return {
    kind: 'forward',
    rt: {
      type: 'unicast',
      dev: r.dev!,
      ...(r.via ? { gateway: r.via } : {}),
      route: r,
      table: r.table,
    },
    explain,
    redirect,
  };
}

/**
 * ip_route_input_rcu for a multicast destination: delivered locally
 * (ip_route_input_mc, RTN_MULTICAST) when the receiving device joined the
 * group (ip_check_mc_rcu), else -EINVAL: dropped in routing, before INPUT
 * (no multicast routing is modelled). ip_route_input_mc's source checks: a
 * multicast or broadcast source was refused already; 0.0.0.0 only towards
 * 224.0.0.0/24 or for IGMP; 127/8 per route_localnet; else
 * fib_validate_source.
 */
function routeInputMulticast(
  h: Host,
  q: { dst: Ipv4; src: Ipv4; iif: string; mark: number },
  localnet: boolean,
): InputRouteResult {
  const { dst, src, iif } = q;
  if (!h.isGroupMember(iif, dst))
    return {
      kind: 'error',
      reason: 'multicast-not-joined',
      explain: `${dst}: ${iif} is not a member of the group (ip_check_mc_rcu), and no multicast routing`,
    };
  const joined = `${iif} is a member of ${dst}`;
  if (isZeronet(src)) {
    // (IGMP, which may come from 0.0.0.0 anywhere, is not modelled.)
    if ((u32(dst) & 0xffffff00) >>> 0 !== 0xe0000000)
      return {
        kind: 'error',
        reason: 'martian-source',
        explain: `martian source ${src} (0.0.0.0)`,
      };
    return { kind: 'broadcast', explain: joined };
  }
  if (isLoopbackIp(src) && !localnet)
    return {
      kind: 'error',
      reason: 'martian-source',
      explain: `martian source ${src}: 127.0.0.0/8 off lo and route_localnet=0 on ${iif}`,
    };
  const v = validateSource(h, src, dst, iif, undefined, q.mark);
  if (!v.ok)
    return {
      kind: 'error',
      reason: v.errno === 'EXDEV' ? 'rp-filter' : 'martian-source',
      explain: `${joined}; ${v.why}`,
    };
  return { kind: 'broadcast', explain: joined };
}
