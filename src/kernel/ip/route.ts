/**
 * `ip route` on a Host: add, replace, delete and list routes in any table,
 * refusing what the kernel refuses (a gateway that is not on-link, a
 * duplicate) with iproute2's message.
 */
import { isIpv4, parseCidr, type Cidr } from '../../wire/addr.js';
import { kernelError } from '../errors.js';
import { parseTable, protoName, type Route, type RouteType } from '../fib.js';
import { Host, type RouteSpec } from '../host.js';
import { parseScope, RT_SCOPE } from '../link.js';

export class RouteApi {
  constructor(private readonly h: Host) {}

  list(table: string | number = 'main'): Route[] {
    return this.h.table(parseTable(table)).list();
  }

  /** `ip route add …` (NLM_F_EXCL: an existing route with the same prefix, TOS and metric is EEXIST). */
  add(spec: RouteSpec): Route {
    const r = this.build(spec);
    const t = this.h.table(r.table);
    if (t.aliases(r.dst).some((x) => x.tos === r.tos && x.metric === r.metric)) {
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    }
    t.insert(r);
    return r;
  }

  /**
   * Routes that `add` returned on a host in the same state (the same links,
   * addresses and routes before them), added again in their order without
   * repeating the checks: a twin instantiated again from one plan re-adds
   * thousands of identical routes. Each gets this host's next sequence number.
   */
  addChecked(routes: readonly Route[]): void {
    for (const r of routes) {
      const seq = this.h.nextRouteSeq();
      this.h.table(r.table).insert(r.seq === seq ? r : { ...r, seq });
    }
  }

  /** `ip route append …`: same key allowed, added after the existing ones. */
  append(spec: RouteSpec): Route {
    const r = this.build(spec);
    const t = this.h.table(r.table);
    if (t.aliases(r.dst).some((x) => sameRoute(x, r)))
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    t.insert(r);
    return r;
  }

  /** `ip route replace …`. */
  replace(spec: RouteSpec): Route {
    const r = this.build(spec);
    const t = this.h.table(r.table);
    const old = t.aliases(r.dst).find((x) => x.tos === r.tos && x.metric === r.metric);
    if (old) t.removeWhere((x) => x === old);
    t.insert(old ? { ...r, seq: old.seq } : r);
    return r;
  }

  /** `ip route del DST [via GW] [dev DEV] [metric N] [table T]`: the first route that matches. */
  del(spec: Partial<RouteSpec> & { dst: string }): void {
    const dst = parseRouteDst(spec.dst);
    const t = this.h.table(parseTable(spec.table ?? 'main'));
    const victim = t
      .aliases(dst)
      .find(
        (x) =>
          (spec.via === undefined || x.via === spec.via) &&
          (spec.dev === undefined || x.dev === spec.dev) &&
          (spec.metric === undefined || x.metric === spec.metric) &&
          (spec.type === undefined || x.type === spec.type),
      );
    if (!victim) throw kernelError('ESRCH', 'RTNETLINK answers: No such process');
    t.removeWhere((x) => x === victim);
  }

  /** Route construction with the checks of fib_create_info / fib_check_nh. */
  private build(spec: RouteSpec): Route {
    const h = this.h;
    const dst = parseRouteDst(spec.dst);
    const type: RouteType = spec.type ?? 'unicast';
    const table = parseTable(
      spec.table ?? (type === 'local' || type === 'broadcast' ? 'local' : 'main'),
    );
    const hasNexthop = type === 'unicast' || type === 'local' || type === 'broadcast';
    // iproute2 iproute_modify: default scopes.
    let scope: number;
    if (spec.scope !== undefined) scope = parseScope(spec.scope);
    else if (type === 'local') scope = RT_SCOPE.host;
    else if (type === 'broadcast') scope = RT_SCOPE.link;
    else if (type === 'unicast' && spec.via === undefined) scope = RT_SCOPE.link;
    else scope = RT_SCOPE.universe;

    let dev = spec.dev;
    if (dev !== undefined) h.requireLink(dev);
    if (!hasNexthop) {
      if (spec.via !== undefined)
        throw kernelError('EINVAL', 'Error: Nexthop has invalid gateway.');
    } else if (spec.via !== undefined) {
      if (!isIpv4(spec.via))
        throw kernelError('EINVAL', `Error: inet address is expected rather than "${spec.via}".`);
      if (scope >= RT_SCOPE.host)
        throw kernelError('EINVAL', 'Error: Route with host scope can not have a gateway.');
      if (spec.onlink) {
        if (dev === undefined)
          throw kernelError('EINVAL', 'Error: Nexthop device required for onlink.');
        if (scope >= RT_SCOPE.link)
          throw kernelError('EINVAL', 'Error: Nexthop has invalid scope.');
        if (!h.requireLink(dev).adminUp)
          throw kernelError('ENETDOWN', 'Error: Nexthop device is not up.');
        if (h.addrType(spec.via, dev) !== 'UNICAST')
          throw kernelError('EINVAL', 'Error: Nexthop has invalid gateway.');
      } else {
        // fib_check_nh_v4_gw: the gateway must be reachable by a route of narrower scope.
        const r = h.fib({ dst: spec.via, iif: 'lo', oif: dev, mark: 0, tos: 0, scope: scope + 1 });
        // A unicast or local result will do (Linux accepts one of its own addresses as gateway).
        if (!r.ok || (r.route.type !== 'unicast' && r.route.type !== 'local')) {
          throw kernelError('EINVAL', 'Error: Nexthop has invalid gateway.');
        }
        dev = r.route.dev;
        if (!dev || !h.requireLink(dev).adminUp)
          throw kernelError('ENETDOWN', 'Error: Nexthop device is not up.');
      }
    } else if (hasNexthop) {
      if (dev === undefined) throw kernelError('EINVAL', 'Error: Device for nexthop is not up.');
      if (!h.requireLink(dev).adminUp && type === 'unicast')
        throw kernelError('ENETDOWN', 'Error: Device for nexthop is not up.');
    }
    if (spec.src !== undefined) {
      const isLocal =
        h.addrType(spec.src) === 'LOCAL' || (type === 'local' && spec.src === dst.network);
      if (!isLocal) throw kernelError('EINVAL', 'Error: Invalid prefsrc address.');
    }
    if (type === 'local') h.customLocalRoutes = true;
    return {
      table,
      type,
      dst,
      tos: spec.tos ?? 0,
      metric: spec.metric ?? 0,
      proto: protoName(spec.proto ?? 'boot'),
      scope,
      ...(spec.via !== undefined ? { via: spec.via } : {}),
      ...(dev !== undefined && hasNexthop ? { dev } : {}),
      ...(spec.src !== undefined ? { src: spec.src } : {}),
      onlink: spec.onlink ?? false,
      seq: h.nextRouteSeq(),
    };
  }
}

export function sameRoute(a: Route, b: Route): boolean {
  return (
    a.type === b.type &&
    a.tos === b.tos &&
    a.metric === b.metric &&
    a.via === b.via &&
    a.dev === b.dev &&
    a.src === b.src
  );
}

export function parseRouteDst(s: string): Cidr {
  if (s === 'default' || s === 'all' || s === 'any') return { network: '0.0.0.0', prefix: 0 };
  const slash = s.indexOf('/');
  const ip = slash < 0 ? s : s.slice(0, slash);
  if (!isIpv4(ip))
    throw kernelError('EINVAL', `Error: any valid prefix is expected rather than "${s}".`);
  const c = parseCidr(s);
  if (c.network !== ip)
    throw kernelError('EINVAL', 'Error: Invalid prefix for given prefix length.');
  return c;
}

// =================================================================== ip rule
