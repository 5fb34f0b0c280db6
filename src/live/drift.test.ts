import { describe, expect, it } from 'vitest';
import { chainOwner, ruleOwner, serviceOf } from './drift.js';
import { readBundleRoutes } from './ip-json.js';

describe('who wrote a rule', () => {
  it.each([
    [
      'KUBE-SVC-2S7GHGXXLQIWUAXY',
      '-m comment --comment "default/server:http -> 10.244.2.5:8080" -j KUBE-SEP-X',
      'kube-proxy',
    ],
    [
      'PREROUTING',
      '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'kube-proxy',
    ],
    [
      'KUBE-FIREWALL',
      '-m comment --comment "block incoming localnet connections" -j DROP',
      'kubelet',
    ],
    ['KUBE-ROUTER-FORWARD', '-j ACCEPT', 'kube-router'],
    ['KUBE-NWPLCY-ABCDEF', '-j MARK --set-xmark 0x10000/0x10000', 'kube-router'],
    ['FORWARD', '-m comment --comment "flanneld forward" -j FLANNEL-FWD', 'flannel'],
    ['POSTROUTING', '-m comment --comment "flanneld masq" -j FLANNEL-POSTRTG', 'flannel'],
    ['FORWARD', '-m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD', 'calico'],
    ['cali-fw-cali1234', '-j ACCEPT', 'calico'],
    ['FORWARD', '-j DOCKER-USER', 'docker'],
    [
      'PREROUTING',
      '-m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-DNAT',
      'portmap',
    ],
    [
      'CNI-DN-1a2b3c',
      '-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80',
      'portmap',
    ],
    [
      'POSTROUTING',
      '-s 10.244.1.5/32 -m comment --comment "name: \\"cbr0\\" id: \\"abc\\"" -j CNI-0a1b2c3d',
      'cni-bridge',
    ],
    [
      'POSTROUTING',
      '-m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT',
      'ip-masq-agent',
    ],
    ['INPUT', '-p tcp --dport 22 -j ACCEPT', 'unknown'],
  ])('%s %s', (chain, spec, owner) => expect(ruleOwner(chain, spec)).toBe(owner));

  it('reads the Service from kube-proxy comments', () => {
    expect(serviceOf('-A KUBE-SEP-X -m comment --comment "shop/api:http" -j KUBE-MARK-MASQ')).toBe(
      'Service shop/api:http',
    );
    expect(
      serviceOf(
        '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -j KUBE-SVC-X',
      ),
    ).toBe('Service kube-system/kube-dns:dns');
    expect(serviceOf('-A KUBE-SEP-X -m comment --comment default/web -j DNAT')).toBe(
      'Service default/web',
    );
    expect(
      serviceOf(
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      ),
    ).toBeUndefined();
    expect(chainOwner('OUTPUT')).toBeUndefined();
  });
});

describe("a bundle's routes and rules, read back", () => {
  it('through the kernel model reader of ip -j output; multipath left out with a warning', () => {
    const routes = JSON.stringify([
      {
        dst: 'default',
        gateway: '192.168.56.1',
        dev: 'eth0',
        protocol: 'dhcp',
        prefsrc: '192.168.56.11',
        metric: 100,
        flags: [],
      },
      { dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'flannel.1', flags: ['onlink'] },
      {
        dst: '10.244.1.0/24',
        dev: 'cni0',
        protocol: 'kernel',
        scope: 'link',
        prefsrc: '10.244.1.1',
        flags: ['linkdown'],
      },
      {
        type: 'local',
        dst: '10.244.1.1',
        dev: 'cni0',
        table: 'local',
        protocol: 'kernel',
        scope: 'host',
        prefsrc: '10.244.1.1',
        flags: [],
      },
      {
        dst: '10.0.0.0/8',
        nexthops: [
          { gateway: '192.168.56.1', dev: 'eth0' },
          { gateway: '192.168.56.2', dev: 'eth0' },
        ],
        flags: [],
      },
    ]);
    const rules = JSON.stringify([
      { priority: 0, src: 'all', table: 'local' },
      { priority: 100, src: '10.244.1.0', srclen: 24, table: '100' },
      { priority: 32766, src: 'all', table: 'main' },
      { priority: 32767, src: 'all', table: 'default' },
    ]);
    const r = readBundleRoutes(
      new Map([
        ['ip-route.json', routes],
        ['ip-rule.json', rules],
      ]),
      'b',
    );
    expect(
      r.routes!.map((x) => [x.table, x.dst.network, x.dst.prefix, x.via ?? '', x.dev, x.onlink]),
    ).toEqual([
      [254, '0.0.0.0', 0, '192.168.56.1', 'eth0', false],
      [254, '10.244.2.0', 24, '10.244.2.0', 'flannel.1', true],
      [254, '10.244.1.0', 24, '', 'cni0', false],
      [255, '10.244.1.1', 32, '', 'cni0', false],
    ]);
    expect(r.rules!.map((x) => x.priority)).toEqual([0, 100, 32766, 32767]);
    expect(r.diagnostics.map((d) => [d.severity, /multipath/.test(d.message)])).toEqual([
      ['warning', true],
    ]);
    expect(readBundleRoutes(new Map(), 'b')).toEqual({ diagnostics: [] });
  });
});
