import { describe, expect, it } from 'vitest';
import { bridgeFdbShow, ipAddrShow, ipBrLink, ipRouteGet, ipRouteShow } from '../render/ip.js';
import { KernelError } from './errors.js';
import { Network } from './network.js';
import { RT_SCOPE } from './link.js';

/**
 * Expected texts below were captured from Linux 6.18 / iproute2 6.1 running
 * the same `ip` commands in a namespace (eth0 a veth whose peer is up).
 */
function exp2() {
  const net = new Network();
  const h = net.addHost('r', { loopbackUp: true });
  const u = net.addHost('u', { loopbackUp: true });
  h.link.addVeth('eth0', { peer: 'up0', peerHost: u });
  h.link.set('eth0', { up: true });
  u.link.set('up0', { up: true });
  h.addr.add('192.168.1.10/24', 'eth0');
  h.addr.add('192.168.1.11/24', 'eth0');
  h.addr.add('192.168.2.10/24', 'eth0', { brd: '+' });
  h.addr.add('10.9.0.1/32', 'eth0');
  h.addr.add('10.8.0.1/31', 'eth0');
  h.addr.add('10.7.0.1/16', 'eth0', { scope: 'link' });
  h.addr.add('10.6.0.1/16', 'eth0', { noprefixroute: true });
  h.route.add({ dst: '10.244.2.0/24', via: '192.168.1.20', dev: 'eth0', onlink: true });
  h.route.add({ dst: '10.244.3.0/24', via: '192.168.1.21' });
  h.route.add({ dst: '10.50.0.0/16', via: '192.168.1.1', proto: 'static', metric: 50 });
  h.route.add({ dst: '10.50.0.0/16', via: '192.168.1.2', metric: 100 });
  h.route.add({ dst: '10.50.0.0/24', via: '192.168.1.3' });
  h.route.add({ dst: 'default', via: '192.168.1.1' });
  h.route.add({ dst: 'default', via: '192.168.1.2', metric: 10 });
  h.route.add({ dst: '172.16.0.0/16', via: '192.168.1.5', src: '192.168.1.11' });
  h.route.add({ dst: '172.17.0.0/16', dev: 'eth0', proto: 'boot', scope: 'link' });
  h.route.add({ dst: '10.1.1.1', via: '192.168.1.6' });
  h.route.add({ dst: '10.100.0.0/16', type: 'local', dev: 'lo' });
  h.route.add({ dst: '10.101.0.0/16', dev: 'eth0', metric: 1024, proto: 4 });
  return { net, h, u };
}

const MAIN = `default via 192.168.1.1 dev eth0 
default via 192.168.1.2 dev eth0 metric 10 
10.1.1.1 via 192.168.1.6 dev eth0 
10.7.0.0/16 dev eth0 proto kernel scope link src 10.7.0.1 
10.8.0.0/31 dev eth0 proto kernel scope link src 10.8.0.1 
10.50.0.0/24 via 192.168.1.3 dev eth0 
10.50.0.0/16 via 192.168.1.1 dev eth0 proto static metric 50 
10.50.0.0/16 via 192.168.1.2 dev eth0 metric 100 
10.101.0.0/16 dev eth0 proto static scope link metric 1024 
10.244.2.0/24 via 192.168.1.20 dev eth0 onlink 
10.244.3.0/24 via 192.168.1.21 dev eth0 
172.16.0.0/16 via 192.168.1.5 dev eth0 src 192.168.1.11 
172.17.0.0/16 dev eth0 scope link 
192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10 
192.168.2.0/24 dev eth0 proto kernel scope link src 192.168.2.10 
`;

const LOCAL = `local 10.6.0.1 dev eth0 proto kernel scope host src 10.6.0.1 
broadcast 10.6.255.255 dev eth0 proto kernel scope link src 10.6.0.1 
local 10.7.0.1 dev eth0 proto kernel scope host src 10.7.0.1 
broadcast 10.7.255.255 dev eth0 proto kernel scope link src 10.7.0.1 
local 10.8.0.1 dev eth0 proto kernel scope host src 10.8.0.1 
local 10.9.0.1 dev eth0 proto kernel scope host src 10.9.0.1 
local 10.100.0.0/16 dev lo scope host 
local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 
local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 
broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 
local 192.168.1.10 dev eth0 proto kernel scope host src 192.168.1.10 
local 192.168.1.11 dev eth0 proto kernel scope host src 192.168.1.10 
broadcast 192.168.1.255 dev eth0 proto kernel scope link src 192.168.1.10 
local 192.168.2.10 dev eth0 proto kernel scope host src 192.168.2.10 
broadcast 192.168.2.255 dev eth0 proto kernel scope link src 192.168.2.10 
`;

describe('addresses bring their routes (fib_add_ifaddr), as Linux does', () => {
  it('main and local tables', () => {
    const { h } = exp2();
    expect(ipRouteShow(h)).toBe(MAIN);
    expect(ipRouteShow(h, 'local')).toBe(LOCAL);
  });

  it('address list order: scope link primary first, secondaries last', () => {
    const { h } = exp2();
    expect(
      h.addr.list('eth0').map((a) => `${a.local}/${a.prefix}${a.secondary ? ' secondary' : ''}`),
    ).toEqual([
      '10.7.0.1/16',
      '192.168.1.10/24',
      '192.168.2.10/24',
      '10.9.0.1/32',
      '10.8.0.1/31',
      '10.6.0.1/16',
      '192.168.1.11/24 secondary',
    ]);
    expect(
      ipAddrShow(h)
        .split('\n')
        .filter((l) => l.includes('inet ')),
    ).toEqual([
      '    inet 127.0.0.1/8 scope host lo',
      '    inet 10.7.0.1/16 scope link eth0',
      '    inet 192.168.1.10/24 scope global eth0',
      '    inet 192.168.2.10/24 brd 192.168.2.255 scope global eth0',
      '    inet 10.9.0.1/32 scope global eth0',
      '    inet 10.8.0.1/31 scope global eth0',
      '    inet 10.6.0.1/16 scope global noprefixroute eth0',
      '    inet 192.168.1.11/24 scope global secondary eth0',
    ]);
  });

  const gets: [string, string][] = [
    ['10.244.2.5', '10.244.2.5 via 192.168.1.20 dev eth0 src 192.168.1.10 uid 0 \n    cache \n'],
    ['10.50.0.9', '10.50.0.9 via 192.168.1.3 dev eth0 src 192.168.1.10 uid 0 \n    cache \n'],
    ['10.50.1.1', '10.50.1.1 via 192.168.1.1 dev eth0 src 192.168.1.10 uid 0 \n    cache \n'],
    ['172.16.1.1', '172.16.1.1 via 192.168.1.5 dev eth0 src 192.168.1.11 uid 0 \n    cache \n'],
    ['172.17.1.1', '172.17.1.1 dev eth0 src 10.7.0.1 uid 0 \n    cache \n'],
    ['10.100.3.3', 'local 10.100.3.3 dev lo src 10.100.3.3 uid 0 \n    cache <local> \n'],
    ['192.168.1.11', 'local 192.168.1.11 dev lo src 192.168.1.10 uid 0 \n    cache <local> \n'],
    ['10.6.0.5', '10.6.0.5 via 192.168.1.1 dev eth0 src 192.168.1.10 uid 0 \n    cache \n'],
    [
      '192.168.1.255',
      'broadcast 192.168.1.255 dev eth0 src 192.168.1.10 uid 0 \n    cache <local,brd> \n',
    ],
    [
      '255.255.255.255',
      'broadcast 255.255.255.255 dev eth0 src 192.168.1.10 uid 0 \n    cache <local,brd> \n',
    ],
  ];
  it.each(gets)('ip route get %s', (dst, want) => {
    expect(ipRouteGet(exp2().h, dst)).toBe(want);
  });

  it('link down flushes all but host-scope routes; link up brings back only the kernel routes', () => {
    const { h } = exp2();
    h.link.set('eth0', { up: false });
    expect(ipRouteShow(h)).toBe('');
    expect(ipRouteShow(h, 'local')).toBe(
      LOCAL.split('\n')
        .filter((l) => l !== '' && !(l.startsWith('broadcast') && l.includes('dev eth0')))
        .map((l) => `${l}\n`)
        .join(''),
    );
    h.link.set('eth0', { up: true });
    expect(ipRouteShow(h)).toBe(
      MAIN.split('\n')
        .filter((l) => l.includes('proto kernel'))
        .map((l) => `${l}\n`)
        .join(''),
    );
    expect(ipRouteShow(h, 'local')).toBe(LOCAL);
  });

  it('deleting a primary takes its secondaries, unless promote_secondaries', () => {
    const { h } = exp2();
    h.addr.del('192.168.1.10/24', 'eth0');
    expect(h.addr.list('eth0').some((a) => a.local === '192.168.1.11')).toBe(false);
    expect(ipRouteShow(h)).not.toContain('192.168.1.0/24');
    const b = exp2().h;
    b.sysctl.set('net.ipv4.conf.all.promote_secondaries', 1);
    b.addr.del('192.168.1.10/24', 'eth0');
    expect(ipRouteShow(b)).toContain(
      '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11 \n',
    );
    expect(ipRouteShow(b, 'local')).toContain(
      'local 192.168.1.11 dev eth0 proto kernel scope host src 192.168.1.11 \n',
    );
  });

  it('lo comes up with 127.0.0.1/8 and its local routes; a down lo has none', () => {
    const net = new Network();
    const h = net.addHost('x');
    expect(ipRouteShow(h, 'local')).toBe('');
    h.link.set('lo', { up: true });
    expect(ipRouteShow(h, 'local')).toBe(
      'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \nlocal 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \nbroadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 \n',
    );
  });

  it('an address on a down device gets only its local route', () => {
    const net = new Network();
    const h = net.addHost('x');
    h.link.addDummy('kube-ipvs0');
    h.addr.add('10.96.0.10/32', 'kube-ipvs0');
    expect(ipRouteShow(h, 'local')).toBe(
      'local 10.96.0.10 dev kube-ipvs0 proto kernel scope host src 10.96.0.10 \n',
    );
    expect(h.addrType('10.96.0.10')).toBe('LOCAL');
    expect(h.addrType('10.96.0.11')).toBe('UNICAST');
    expect(h.addrType('10.96.0.10', 'eth0')).toBe('UNICAST');
    expect(h.addrType('255.255.255.255')).toBe('BROADCAST');
    expect(h.addrType('224.0.0.1')).toBe('MULTICAST');
  });
});

describe('what the kernel refuses', () => {
  const cases: [string, (h: ReturnType<typeof exp2>['h']) => void, string][] = [
    [
      'host bits set',
      (h) => h.route.add({ dst: '10.50.0.0/8', via: '192.168.1.4' }),
      'Error: Invalid prefix for given prefix length.',
    ],
    [
      'gateway not on-link',
      (h) => h.route.add({ dst: '10.60.0.0/16', via: '10.200.0.1' }),
      'Error: Nexthop has invalid gateway.',
    ],
    [
      'gateway is a broadcast address',
      (h) => h.route.add({ dst: '10.60.0.0/16', via: '192.168.1.255' }),
      'Error: Nexthop has invalid gateway.',
    ],
    [
      'gateway not reachable through the given device',
      (h) => h.route.add({ dst: '10.60.0.0/16', via: '192.168.1.5', dev: 'lo' }),
      'Error: Nexthop has invalid gateway.',
    ],
    [
      'onlink gateway with scope link',
      (h) =>
        h.route.add({
          dst: '10.60.0.0/16',
          via: '1.2.3.4',
          dev: 'eth0',
          onlink: true,
          scope: 'link',
        }),
      'Error: Nexthop has invalid scope.',
    ],
    [
      'onlink needs a device',
      (h) => h.route.add({ dst: '10.60.0.0/16', via: '10.200.0.1', onlink: true }),
      'Error: Nexthop device required for onlink.',
    ],
    [
      'same prefix and metric',
      (h) => h.route.add({ dst: '10.50.0.0/16', via: '192.168.1.3', metric: 50 }),
      'RTNETLINK answers: File exists',
    ],
    [
      'unknown device',
      (h) => h.route.add({ dst: '10.60.0.0/16', dev: 'nope' }),
      'Cannot find device "nope"',
    ],
    [
      'prefsrc not local',
      (h) => h.route.add({ dst: '10.60.0.0/16', dev: 'eth0', src: '1.2.3.4' }),
      'Error: Invalid prefsrc address.',
    ],
    [
      'duplicate address',
      (h) => h.addr.add('192.168.1.10/24', 'eth0'),
      'RTNETLINK answers: File exists',
    ],
    [
      'deleting a missing route',
      (h) => h.route.del({ dst: '10.61.0.0/16' }),
      'RTNETLINK answers: No such process',
    ],
    [
      'unknown sysctl',
      (h) => h.sysctl.set('net.ipv4.conf.eth0.no_such_thing', 1),
      'sysctl: cannot stat /proc/sys/net/ipv4/conf/eth0/no_such_thing: No such file or directory',
    ],
    ['duplicate device', (h) => h.link.addBridge('eth0'), 'RTNETLINK answers: File exists'],
  ];
  it.each(cases)('%s', (_n, f, message) => {
    const { h } = exp2();
    let err: unknown;
    try {
      f(h);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as Error).message).toBe(message);
  });

  it('one of its own addresses is an acceptable gateway (as Linux 6.18 accepts it)', () => {
    const { h } = exp2();
    h.route.add({ dst: '10.60.0.0/16', via: '192.168.1.10' });
    expect(ipRouteShow(h)).toContain('10.60.0.0/16 via 192.168.1.10 dev eth0 \n');
  });

  it('a down device cannot take a route', () => {
    const net = new Network();
    const h = net.addHost('x');
    h.link.addDummy('d0');
    expect(() => h.route.add({ dst: '10.0.0.0/8', dev: 'd0' })).toThrow(
      'Error: Device for nexthop is not up.',
    );
  });
});

describe('inet_select_addr: source selection for output and MASQUERADE', () => {
  const { h } = exp2();
  const cases: [string, string | undefined, number, string | undefined][] = [
    ['eth0', '192.168.2.77', RT_SCOPE.universe, '192.168.2.10'],
    ['eth0', '192.168.1.77', RT_SCOPE.universe, '192.168.1.10'],
    ['eth0', '8.8.8.8', RT_SCOPE.universe, '192.168.1.10'],
    ['eth0', undefined, RT_SCOPE.link, '10.7.0.1'],
    ['lo', '8.8.8.8', RT_SCOPE.universe, '192.168.1.10'],
  ];
  it.each(cases)('dev %s towards %s scope %d → %s', (dev, dst, scope, want) => {
    expect(h.selectAddress(dev, dst, scope)).toBe(want);
  });
  it('masqueradeSource ignores secondaries and the route src hint', () => {
    expect(h.masqueradeSource('eth0', '192.168.1.1')).toBe('192.168.1.10');
  });
  it('no address anywhere: null', () => {
    const net = new Network();
    const x = net.addHost('x');
    x.link.addDummy('d0');
    expect(x.masqueradeSource('d0', '1.1.1.1')).toBeNull();
  });
});

describe('sysctls: effective values combine all and the device as the kernel does', () => {
  const cases: [
    string,
    [string, number][],
    (h: ReturnType<typeof exp2>['h']) => unknown,
    unknown,
  ][] = [
    [
      'rp_filter = max(all, dev)',
      [
        ['net.ipv4.conf.all.rp_filter', 1],
        ['net.ipv4.conf.eth0.rp_filter', 2],
      ],
      (h) => h.sysctl.rpFilter('eth0'),
      2,
    ],
    [
      'rp_filter all=2 dev=0',
      [['net.ipv4.conf.all.rp_filter', 2]],
      (h) => h.sysctl.rpFilter('eth0'),
      2,
    ],
    [
      'route_localnet = all || dev',
      [['net.ipv4.conf.eth0.route_localnet', 1]],
      (h) => [h.sysctl.routeLocalnet('eth0'), h.sysctl.routeLocalnet('lo')],
      [true, false],
    ],
    [
      'ip_forward sets every device',
      [['net.ipv4.ip_forward', 1]],
      (h) => [
        h.sysctl.forwarding('eth0'),
        h.sysctl.forwarding('lo'),
        h.sysctl.get('net.ipv4.conf.default.forwarding'),
      ],
      [true, true, 1],
    ],
    [
      'per-device forwarding stays per device',
      [['net.ipv4.conf.eth0.forwarding', 1]],
      (h) => [h.sysctl.forwarding('eth0'), h.sysctl.forwarding('lo')],
      [true, false],
    ],
    ['port range', [], (h) => h.sysctl.localPortRange(), [32768, 60999]],
  ];
  it.each(cases)('%s', (_n, sets, read, want) => {
    const { h } = exp2();
    for (const [k, v] of sets) h.sysctl.set(k, v);
    expect(read(h)).toEqual(want);
  });
  it('new devices copy conf/default', () => {
    const { h } = exp2();
    h.sysctl.set('net.ipv4.conf.default.rp_filter', 1);
    h.link.addDummy('d1');
    expect(h.sysctl.get('net.ipv4.conf.d1.rp_filter')).toBe(1);
    expect(h.sysctl.get('net.ipv4.conf.eth0.rp_filter')).toBe(0);
  });
  // Namespaces and devices read shared tables until written: a write is seen only where it was made.
  it.each([
    ['all in one namespace', 'net.ipv4.conf.all.rp_filter'],
    ['default in one namespace', 'net.ipv4.conf.default.rp_filter'],
    ['a device in one namespace', 'net.ipv4.conf.d1.rp_filter'],
    ['a global key in one namespace', 'net.ipv4.ip_local_port_range'],
  ])('a write to %s is seen nowhere else', (_n, key) => {
    const net = new Network();
    const [a, b] = [net.addHost('a'), net.addHost('b')];
    for (const h of [a, b]) for (const d of ['d1', 'd2']) h.link.addDummy(d);
    const keys = [
      'net.ipv4.conf.all.rp_filter',
      'net.ipv4.conf.default.rp_filter',
      'net.ipv4.conf.d1.rp_filter',
      'net.ipv4.conf.d2.rp_filter',
      'net.ipv4.ip_local_port_range',
    ];
    const before = keys.map((k) => b.sysctl.get(k));
    const value = key.endsWith('range') ? '1024 2048' : 2;
    a.sysctl.set(key, value);
    a.link.addDummy('d3');
    b.link.addDummy('d3');
    expect(keys.map((k) => a.sysctl.get(k))).toEqual(
      keys.map((k, i) => (k === key ? value : before[i])),
    );
    expect(keys.map((k) => b.sysctl.get(k))).toEqual(before);
    // A device made after the write copies default as it is then; the other namespace's does not see it.
    const d3 = key.includes('.default.') ? 2 : 0;
    expect([
      a.sysctl.get('net.ipv4.conf.d3.rp_filter'),
      b.sysctl.get('net.ipv4.conf.d3.rp_filter'),
    ]).toEqual([d3, 0]);
    // A device made before a write to default keeps its copy.
    a.sysctl.set('net.ipv4.conf.default.rp_filter', 1);
    expect(a.sysctl.get('net.ipv4.conf.d2.rp_filter')).toBe(0);
    expect(b.sysctl.get('net.ipv4.conf.default.rp_filter')).toBe(0);
  });
});

describe('links', () => {
  it('a bridge takes the lowest port MAC unless its address was set', () => {
    const net = new Network();
    const h = net.addHost('n');
    h.link.addBridge('br0');
    h.link.addVeth('v1', { peer: 'p1', mac: '0a:00:00:00:00:09' });
    h.link.addVeth('v2', { peer: 'p2', mac: '0a:00:00:00:00:03' });
    h.link.set('v1', { master: 'br0' });
    expect(h.getLink('br0')!.mac).toBe('0a:00:00:00:00:09');
    h.link.set('v2', { master: 'br0' });
    expect(h.getLink('br0')!.mac).toBe('0a:00:00:00:00:03');
    h.link.set('br0', { mac: '02:00:00:00:00:01' });
    h.link.set('v1', { master: null });
    expect(h.getLink('br0')!.mac).toBe('02:00:00:00:00:01');
    expect(bridgeFdbShow(h)).toBe(
      '02:00:00:00:00:01 dev br0 master br0 permanent\n0a:00:00:00:00:03 dev v2 master br0 permanent\n',
    );
  });

  it('ip -br link shows carrier, peers and flags', () => {
    const net = new Network();
    const h = net.addHost('n', { loopbackUp: true });
    const p = net.addHost('p');
    h.link.addVeth('veth0', { peer: 'eth0', peerHost: p, mac: '0a:00:00:00:00:01' });
    h.link.addBridge('cni0', { mac: '0a:00:00:00:00:02' });
    h.link.set('veth0', { up: true, master: 'cni0' });
    h.link.set('cni0', { up: true });
    expect(ipBrLink(h)).toBe(
      'lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> \n' +
        'veth0@if2        DOWN           0a:00:00:00:00:01 <NO-CARRIER,BROADCAST,MULTICAST,UP> \n' +
        'cni0             DOWN           0a:00:00:00:00:02 <NO-CARRIER,BROADCAST,MULTICAST,UP> \n',
    );
    p.link.set('eth0', { up: true });
    expect(ipBrLink(h).split('\n')[1]).toBe(
      'veth0@if2        UP             0a:00:00:00:00:01 <BROADCAST,MULTICAST,UP,LOWER_UP> ',
    );
    h.addr.add('10.244.0.1/24', 'cni0');
    expect(ipRouteShow(h)).toBe('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n');
  });

  it('bridge carrier: on until it has had ports, then it follows them (Linux 6.18)', () => {
    const net = new Network();
    const h = net.addHost('n');
    const p = net.addHost('p');
    h.link.addBridge('cni0');
    h.link.set('cni0', { up: true });
    h.addr.add('10.244.0.1/24', 'cni0');
    expect(ipBrLink(h).split('\n')[1]).toMatch(
      /^cni0 +UNKNOWN +\S+ <BROADCAST,MULTICAST,UP,LOWER_UP> $/,
    );
    expect(ipRouteShow(h)).toBe('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n');
    h.link.addVeth('v1', { peer: 'e', peerHost: p });
    h.link.set('v1', { master: 'cni0' });
    expect(ipRouteShow(h)).toBe(
      '10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 linkdown \n',
    );
    expect(ipRouteShow(h, 'local')).toContain(
      'broadcast 10.244.0.255 dev cni0 proto kernel scope link src 10.244.0.1 linkdown \n',
    );
    expect(ipRouteShow(h, 'local')).toContain(
      'local 10.244.0.1 dev cni0 proto kernel scope host src 10.244.0.1 \n',
    );
    h.link.set('v1', { up: true });
    p.link.set('e', { up: true });
    expect(ipRouteShow(h)).toBe('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n');
    h.link.set('v1', { master: null });
    expect(ipBrLink(h).split('\n')[1]).toBe(
      'cni0             DOWN           00:00:00:00:00:00 <NO-CARRIER,BROADCAST,MULTICAST,UP> ',
    );
  });
});
