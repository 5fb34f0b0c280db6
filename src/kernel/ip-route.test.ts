import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diag.js';
import { formatRoute } from './fib.js';
import { parseIpRoutes } from './ip-route.js';

describe('parseIpRoutes: ip route show table all, read back', () => {
  // Lines as iproute2 prints them (a Calico node, a GCE node); each reads back to the same text.
  it.each([
    'default via 10.128.0.1 dev eth0 proto dhcp src 10.128.0.2 metric 100',
    '10.244.1.5 dev cali1234567890a scope link',
    'blackhole 10.244.1.0/26 proto bird',
    '10.244.2.0/26 via 10.0.0.12 dev tunl0 proto bird onlink',
    '10.128.0.0/20 dev eth0 proto kernel scope link src 10.128.0.2',
  ])('%s', (line) => {
    const r = parseIpRoutes(line);
    expect(r.diagnostics).toEqual([]);
    expect(r.routes.map((x) => formatRoute(x))).toEqual([line]);
  });

  it('local and broadcast routes go to the local table with their scopes', () => {
    const r = parseIpRoutes(
      'local 10.128.0.2 dev eth0 table local proto kernel scope host src 10.128.0.2\nbroadcast 10.128.15.255 dev eth0 table local proto kernel scope link src 10.128.0.2\n',
    );
    expect(r.routes.map((x) => [x.table, x.type, x.scope])).toEqual([
      [255, 'local', 254],
      [255, 'broadcast', 253],
    ]);
  });

  it('skips IPv6 and multicast lines', () => {
    const r = parseIpRoutes(
      'fe80::/64 dev eth0 proto kernel metric 256 pref medium\nmulticast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium\n10.0.0.0/8 dev eth0\n',
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.routes).toHaveLength(1);
  });

  it.each([
    ['10.0.0.0/8 frobnicate 3', 'routes.txt:1: error: unknown keyword "frobnicate"'],
    ['10.0.0.0/8 via', 'routes.txt:1: error: "via" without a value'],
    ['300.0.0.0/8 dev eth0', 'routes.txt:1: error: "300.0.0.0/8" is not an IPv4 destination'],
    [
      'default proto bird\n\tnexthop via 10.0.0.1 dev eth0 weight 1',
      'routes.txt:2: error: multipath routes (nexthop) are not modelled',
    ],
  ])('%s is an error with its line', (line, want) => {
    const r = parseIpRoutes(line, 'routes.txt');
    expect(r.diagnostics.map(formatDiagnostic).join('\n')).toContain(want);
  });
});
