/**
 * Reading `ip route show table all` (or `ip route show`) text back into
 * routes: the inverse of fib.ts formatRoute, for a host whose routes come
 * from a dump rather than from the twin. IPv6 lines and multicast routes are
 * skipped (IPv4 unicast routing is what the model looks up); multipath
 * routes are not modelled; anything else unreadable is an error naming its
 * line.
 */
import type { Diagnostic } from '../diag.js';
import { isIpv4, parseCidr, type Cidr } from '../wire/addr.js';
import { parseTable, protoName, type Route, type RouteType } from './fib.js';
import { parseScope, RT_SCOPE } from './link.js';

const TYPES: readonly RouteType[] = [
  'unicast',
  'local',
  'broadcast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
];

/** Keywords `ip route` prints that take a value and do not change the lookup. */
const IGNORED_VALUED = new Set(['pref', 'mtu', 'advmss', 'expires', 'realm', 'realms', 'weight']);
const IGNORED_FLAGS = new Set(['linkdown', 'dead', 'pervasive', 'offload', 'trap', 'rt_offload']);

/** The kernel's default scope for a route of `type` (iproute2 iproute_modify). */
function defaultScope(type: RouteType, via: string | undefined): number {
  if (type === 'local' || type === 'broadcast')
    return type === 'local' ? RT_SCOPE.host : RT_SCOPE.link;
  if (type === 'unicast' && via === undefined) return RT_SCOPE.link;
  return RT_SCOPE.universe;
}

export function parseIpRoutes(
  text: string,
  file?: string,
): { routes: Route[]; diagnostics: Diagnostic[] } {
  const routes: Route[] = [];
  const diagnostics: Diagnostic[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const w = line.split(/\s+/);
    const bad = (message: string) =>
      diagnostics.push({
        code: 'ip-route-syntax',
        severity: 'error',
        message: `${message}: ${line}`,
        ...(file !== undefined ? { file } : {}),
        line: i + 1,
        hint: 'give the output of `ip route show table all`',
      });
    if (w[0] === 'nexthop') return bad('multipath routes (nexthop) are not modelled');
    let k = 0;
    let type: RouteType = 'unicast';
    if ((TYPES as readonly string[]).includes(w[0]!)) type = w[k++] as RouteType;
    else if (w[0] === 'multicast' || w[0] === 'anycast' || w[0] === 'nat') return;
    const dstText = w[k++];
    if (dstText === undefined) return bad('no destination');
    if (dstText.includes(':')) return; // IPv6
    let dst: Cidr;
    try {
      dst = parseCidr(
        dstText === 'default' ? '0.0.0.0/0' : dstText.includes('/') ? dstText : `${dstText}/32`,
      );
    } catch {
      return bad(`"${dstText}" is not an IPv4 destination`);
    }
    let via: string | undefined;
    let dev: string | undefined;
    let src: string | undefined;
    let table = 254;
    let proto = 'boot';
    let scope: number | undefined;
    let metric = 0;
    let tos = 0;
    let onlink = false;
    for (; k < w.length; k++) {
      const key = w[k]!;
      const val = w[k + 1];
      if (IGNORED_FLAGS.has(key)) continue;
      if (key === 'onlink') {
        onlink = true;
        continue;
      }
      if (val === undefined) return bad(`"${key}" without a value`);
      k++;
      try {
        switch (key) {
          case 'via':
            if (val === 'inet6' || !isIpv4(val)) return bad(`via ${val} is not an IPv4 gateway`);
            via = val;
            break;
          case 'dev':
            dev = val;
            break;
          case 'src':
            src = val;
            break;
          case 'table':
            table = parseTable(val);
            break;
          case 'proto':
            proto = protoName(val);
            break;
          case 'scope':
            scope = parseScope(val);
            break;
          case 'metric':
            metric = Number(val);
            break;
          case 'tos':
            tos = Number(val);
            break;
          default:
            if (!IGNORED_VALUED.has(key)) return bad(`unknown keyword "${key}"`);
        }
      } catch (e) {
        return bad((e as Error).message);
      }
    }
    routes.push({
      table,
      type,
      dst,
      tos,
      metric,
      proto,
      scope: scope ?? defaultScope(type, via),
      ...(via !== undefined ? { via } : {}),
      ...(dev !== undefined ? { dev } : {}),
      ...(src !== undefined ? { src } : {}),
      onlink,
      seq: routes.length,
    });
  });
  return { routes, diagnostics };
}
