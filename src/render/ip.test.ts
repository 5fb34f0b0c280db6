import { describe, expect, it } from 'vitest';
import { Network } from '../kernel/network.js';
import { echoRequest } from '../kernel/testing/builders.js';
import { ipBrAddr, ipLinkShow, ipNeighShow, ipRouteGet, ipRouteShow, ipRuleShow } from './ip.js';

// Expected lines were printed by iproute2 6.1 on Linux 6.18 for the same commands.
describe('iproute2 formats', () => {
  it('ip neigh: states, router flag, NOARP hidden unless nud all, FAILED without lladdr', () => {
    const net = new Network();
    const h = net.addHost('a', { loopbackUp: true });
    const b = net.addHost('b');
    h.link.addVeth('eth0', { peer: 'eth0', peerHost: b });
    h.link.set('eth0', { up: true });
    b.link.set('eth0', { up: true });
    h.addr.add('10.0.0.1/24', 'eth0');
    h.neigh.add('10.0.0.7', 'eth0', { lladdr: '02:00:00:00:00:07', router: true });
    h.neigh.add('10.0.0.8', 'eth0', { lladdr: '02:00:00:00:00:08', nud: 'noarp' });
    net.send('a', echoRequest('10.0.0.9'));
    expect(ipNeighShow(h)).toBe(
      '10.0.0.7 dev eth0 lladdr 02:00:00:00:00:07 router PERMANENT \n10.0.0.9 dev eth0 FAILED \n',
    );
    expect(ipNeighShow(h, { all: true })).toContain(
      '10.0.0.8 dev eth0 lladdr 02:00:00:00:00:08 NOARP \n',
    );
  });

  it('ip link: a device never brought up has qdisc noop; a same-namespace veth names its peer', () => {
    const net = new Network();
    const h = net.addHost('n');
    h.link.addVeth('v0', { peer: 'v1', mac: '02:00:00:00:00:01', peerMac: '02:00:00:00:00:02' });
    expect(ipLinkShow(h)).toBe(
      '1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n' +
        '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n' +
        '2: v1@v0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n' +
        '    link/ether 02:00:00:00:00:02 brd ff:ff:ff:ff:ff:ff\n' +
        '3: v0@v1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n' +
        '    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n',
    );
    expect(ipBrAddr(h)).toBe(
      'lo               DOWN           \nv1@v0            DOWN           \nv0@v1            DOWN           \n',
    );
  });

  it('ip route show table all, ip rule, and route errors', () => {
    const net = new Network();
    const h = net.addHost('n', { loopbackUp: true });
    h.link.addDummy('d0');
    h.link.set('d0', { up: true });
    h.addr.add('10.1.0.1/16', 'd0');
    h.route.add({ dst: '10.2.0.0/16', dev: 'd0', table: 100 });
    h.rule.add({ priority: 1000, fwmark: 0x10, table: 100 });
    expect(ipRouteShow(h, 'all')).toBe(
      '10.2.0.0/16 dev d0 table 100 scope link \n' +
        '10.1.0.0/16 dev d0 proto kernel scope link src 10.1.0.1 \n' +
        'local 10.1.0.1 dev d0 table local proto kernel scope host src 10.1.0.1 \n' +
        'broadcast 10.1.255.255 dev d0 table local proto kernel scope link src 10.1.0.1 \n' +
        'local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 \n' +
        'local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 \n' +
        'broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 \n',
    );
    expect(ipRuleShow(h)).toBe(
      '0:\tfrom all lookup local\n1000:\tfrom all fwmark 0x10 lookup 100\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n',
    );
    expect(ipRouteGet(h, '10.2.0.9')).toBe('RTNETLINK answers: Network is unreachable\n');
    expect(ipRouteGet(h, '10.2.0.9', { mark: 0x10 })).toBe(
      '10.2.0.9 dev d0 table 100 src 10.1.0.1 mark 0x10 uid 0 \n    cache \n',
    );
    expect(ipRouteGet(h, '10.1.0.9', { from: '10.1.0.1', iif: 'd0' })).toBe(
      'RTNETLINK answers: No route to host\n',
    );
    expect(ipRouteGet(h, '10.1.0.1')).toBe(
      'local 10.1.0.1 dev lo table local src 10.1.0.1 uid 0 \n    cache <local> \n',
    );
  });
});
