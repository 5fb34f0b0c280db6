import { describe, expect, it } from 'vitest';
import { parseCidr } from '../wire/addr.js';
import {
  DEFAULT_RULES,
  fibLookup,
  formatRoute,
  formatRule,
  RouteTable,
  type PolicyRule,
  type Route,
} from './fib.js';

let seq = 0;
function route(dst: string, extra: Partial<Route> = {}): Route {
  return {
    table: 254,
    type: 'unicast',
    dst: parseCidr(dst),
    tos: 0,
    metric: 0,
    proto: 'boot',
    scope: 0,
    onlink: false,
    seq: seq++,
    dev: 'eth0',
    ...extra,
  };
}

function table(routes: Route[], id = 254): RouteTable {
  const t = new RouteTable(id);
  for (const r of routes) t.insert(r);
  return t;
}

const ip = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

describe('RouteTable.lookup: longest prefix, then the alias order of a trie leaf', () => {
  const t = table([
    route('0.0.0.0/0', { via: '192.168.1.1', dev: 'eth0' }),
    route('0.0.0.0/0', { via: '192.168.1.2', dev: 'eth0', metric: 10 }),
    route('10.0.0.0/8', { dev: 'eth1', scope: 253 }),
    route('10.244.0.0/16', { via: '192.168.1.5', dev: 'eth0', metric: 100 }),
    route('10.244.0.0/16', { via: '192.168.1.6', dev: 'eth0', metric: 50 }),
    route('10.244.1.0/24', { dev: 'cni0', scope: 253 }),
    route('10.244.1.7/32', { dev: 'cali1', scope: 253 }),
    route('10.99.0.0/16', { type: 'blackhole', dev: undefined }),
    route('10.99.5.0/24', { dev: 'eth1', scope: 253 }),
  ]);
  const cases: [string, string, { oif?: string; scope?: number }, string][] = [
    ['host route beats /24', '10.244.1.7', {}, '10.244.1.7 dev cali1 scope link'],
    ['/24 beats /16', '10.244.1.8', {}, '10.244.1.0/24 dev cni0 scope link'],
    [
      '/16: lowest metric wins',
      '10.244.9.9',
      {},
      '10.244.0.0/16 via 192.168.1.6 dev eth0 metric 50',
    ],
    ['/8', '10.1.2.3', {}, '10.0.0.0/8 dev eth1 scope link'],
    ['default: metric 0 before metric 10', '8.8.8.8', {}, 'default via 192.168.1.1 dev eth0'],
    [
      'longer prefix under a blackhole still wins',
      '10.99.5.1',
      {},
      '10.99.5.0/24 dev eth1 scope link',
    ],
    ['blackhole ends the lookup', '10.99.6.1', {}, 'error EINVAL blackhole 10.99.0.0/16'],
    [
      'oif skips other devices and backtracks',
      '10.244.1.7',
      { oif: 'eth1' },
      '10.0.0.0/8 dev eth1 scope link',
    ],
    ['oif with no match anywhere', '10.244.1.7', { oif: 'eth9' }, 'none'],
    ['scope link skips universe routes', '8.8.8.8', { scope: 1 }, 'none'],
    [
      'scope link still finds connected routes',
      '10.244.1.9',
      { scope: 1 },
      '10.244.1.0/24 dev cni0 scope link',
    ],
  ];
  it.each(cases)('%s: %s', (_name, dst, q, want) => {
    const r = t.lookup({
      dst: ip(dst),
      scope: q.scope ?? 0,
      tos: 0,
      ...(q.oif ? { oif: q.oif } : {}),
    });
    const got =
      r.kind === 'route'
        ? formatRoute(r.route)
        : r.kind === 'error'
          ? `error ${r.errno} ${formatRoute(r.route)}`
          : r.kind;
    expect(got).toBe(want);
  });

  it('lists in `ip route show` order: by network, longer prefix first, then metric', () => {
    expect(t.list().map((r) => formatRoute(r))).toEqual([
      'default via 192.168.1.1 dev eth0',
      'default via 192.168.1.2 dev eth0 metric 10',
      '10.0.0.0/8 dev eth1 scope link',
      'blackhole 10.99.0.0/16',
      '10.99.5.0/24 dev eth1 scope link',
      '10.244.0.0/16 via 192.168.1.6 dev eth0 metric 50',
      '10.244.0.0/16 via 192.168.1.5 dev eth0 metric 100',
      '10.244.1.0/24 dev cni0 scope link',
      '10.244.1.7 dev cali1 scope link',
    ]);
  });

  it('removes by predicate and keeps counts', () => {
    const t2 = table([
      route('10.0.0.0/8'),
      route('10.1.0.0/16'),
      route('10.2.0.0/16', { dev: 'eth1' }),
    ]);
    expect(t2.removeWhere((r) => r.dev === 'eth0')).toBe(2);
    expect(t2.size).toBe(1);
    expect(t2.lookup({ dst: ip('10.1.0.1'), scope: 0, tos: 0 }).kind).toBe('none');
  });
});

describe('fibLookup: policy rules 0 local, 32766 main, 32767 default', () => {
  const local = table(
    [route('10.0.0.1/32', { table: 255, type: 'local', dev: 'eth0', scope: 254 })],
    255,
  );
  const main = table([
    route('0.0.0.0/0', { via: '192.168.1.1' }),
    route('10.8.0.0/16', { type: 'throw', dev: undefined }),
  ]);
  const t100 = table([route('0.0.0.0/0', { table: 100, via: '172.16.0.1', dev: 'wg0' })], 100);
  const dflt = table([route('10.8.0.0/16', { table: 253, via: '192.168.1.9' })], 253);
  const tables = new Map([
    [255, local],
    [254, main],
    [253, dflt],
    [100, t100],
  ]);
  const rules: PolicyRule[] = [
    DEFAULT_RULES[0]!,
    {
      priority: 100,
      fwmark: { value: 0x4000, mask: 0x4000 },
      invert: false,
      action: { kind: 'lookup', table: 100 },
    },
    { priority: 200, from: parseCidr('10.66.0.0/16'), invert: false, action: { kind: 'prohibit' } },
    DEFAULT_RULES[1]!,
    DEFAULT_RULES[2]!,
  ];
  const flow = (dst: string, extra: { src?: string; mark?: number } = {}) => ({
    dst,
    iif: 'lo',
    mark: 0,
    tos: 0,
    scope: 0,
    ...extra,
  });
  const cases: [string, ReturnType<typeof flow>, string][] = [
    ['local table first', flow('10.0.0.1'), 'rule 0: local 10.0.0.1 dev eth0 scope host'],
    ['main', flow('8.8.8.8'), 'rule 32766: default via 192.168.1.1 dev eth0'],
    [
      'fwmark rule to table 100',
      flow('8.8.8.8', { mark: 0x4321 }),
      'rule 100: default via 172.16.0.1 dev wg0',
    ],
    [
      'mark without the bit',
      flow('8.8.8.8', { mark: 0x0321 }),
      'rule 32766: default via 192.168.1.1 dev eth0',
    ],
    ['prohibit rule', flow('8.8.8.8', { src: '10.66.1.1' }), 'EACCES'],
    [
      'throw goes on to the next rule (table default)',
      flow('10.8.1.1'),
      'rule 32767: 10.8.0.0/16 via 192.168.1.9 dev eth0',
    ],
  ];
  it.each(cases)('%s', (_n, f, want) => {
    const r = fibLookup(rules, tables, f);
    expect(r.ok ? `rule ${r.rule.priority}: ${formatRoute(r.route)}` : r.errno).toBe(want);
  });

  it('no rule finds anything: ENETUNREACH', () => {
    const r = fibLookup(DEFAULT_RULES, new Map([[254, new RouteTable(254)]]), flow('1.2.3.4'));
    expect(r).toEqual({ ok: false, errno: 'ENETUNREACH' });
  });

  it('formats rules like `ip rule show`', () => {
    expect(rules.map(formatRule)).toEqual([
      '0:\tfrom all lookup local',
      '100:\tfrom all fwmark 0x4000/0x4000 lookup 100',
      '200:\tfrom 10.66.0.0/16 prohibit',
      '32766:\tfrom all lookup main',
      '32767:\tfrom all lookup default',
    ]);
  });
});
