/**
 * Real-kernel check of ip-read.ts: a namespace given addresses, routes of
 * several types and tables, and policy rules is dumped with `ip route show
 * table all` / `ip rule show` and with their `ip -j` forms; both read to the
 * same routes and rules. Runs only as root with ip; the namespace is
 * deleted in afterAll.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunKernelTests, deleteNamespaces, sh } from '../emulate/testing/kernel.js';
import { readIpDump } from './ip-read.js';

const canRun = canRunKernelTests(['ip']);
const NS = `pe-${process.pid}-ipread`;

const ip = (...args: string[]): string => sh(['ip', '-n', NS, ...args]);

describe.skipIf(!canRun)('ip route / ip rule text and ip -j JSON read the same', () => {
  beforeAll(() => {
    sh(['ip', 'netns', 'add', NS]);
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('link', 'set', 'v0', 'up');
    ip('link', 'set', 'v1', 'up');
    ip('link', 'set', 'lo', 'up');
    ip('addr', 'add', '10.0.0.2/24', 'dev', 'v0');
    ip('route', 'add', 'default', 'via', '10.0.0.1', 'dev', 'v0', 'metric', '100');
    ip('route', 'add', 'blackhole', '10.9.0.0/16');
    ip('route', 'add', '10.8.0.0/16', 'via', '10.0.0.1', 'dev', 'v0', 'table', '100');
    ip('route', 'add', '10.7.0.0/16', 'via', '10.0.0.9', 'dev', 'v0', 'onlink', 'proto', 'static');
    ip('rule', 'add', 'fwmark', '0x10/0xff', 'lookup', '100', 'pref', '100');
    ip('rule', 'add', 'from', '10.0.0.0/8', 'iif', 'v0', 'prohibit', 'pref', '200');
    ip('rule', 'add', 'not', 'to', '10.1.0.0/16', 'lookup', 'main', 'pref', '300');
  });
  afterAll(() => deleteNamespaces([NS]));

  it('routes and rules agree between the two forms, IPv6 routes said in both', () => {
    const text = readIpDump(`${ip('rule', 'show')}${ip('route', 'show', 'table', 'all')}`, 't');
    const json = readIpDump(
      `${ip('-j', 'rule', 'show')}\n${ip('-j', 'route', 'show', 'table', 'all')}\n`,
      'j',
    );
    expect(text.format).toBe('ip route text + ip rule');
    expect(json.format).toBe('ip -j route JSON + ip rule');
    expect(text.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(json.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(json.routes).toEqual(text.routes);
    expect(json.rules).toEqual(text.rules);
    expect(text.routes.length).toBeGreaterThan(6);
    expect(text.rules!.map((r) => r.priority)).toEqual([0, 100, 200, 300, 32766, 32767]);
    // The kernel adds IPv6 local routes on lo and fe80::/64 on the veth.
    const six = (d: typeof text) =>
      d.diagnostics.find((x) => x.code === 'ip-route-ipv6-not-modelled');
    expect(six(text)?.severity).toBe('warning');
    expect(six(json)?.message).toBe(six(text)?.message);
  });

  it('an empty namespace table dump of IPv6 only is refused', () => {
    const r = readIpDump(ip('-6', 'route', 'show', 'table', 'all'), 'six');
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['ip-route-ipv6-not-modelled', 'error'],
    ]);
  });
});
