/**
 * The real kernel as the oracle for the host model: the same topology is
 * built in Linux network namespaces (`ip netns`, veth, bridge, addresses,
 * routes, sysctls) and with the builder API, then the route tables, route
 * choices (`ip route get`), and after real pings the neighbour tables and the
 * bridge FDB are compared. Runs only as root with iproute2 and ping; every
 * namespace is named `pe-host-<pid>-…` and deleted afterwards.
 *
 *   pod-a eth0 ─ veth1 ┐
 *                      cni0 10.244.1.1/24 ── node ── eth0 192.168.1.10/24 ─ up0 (ns "up", 192.168.1.1)
 *   pod-b eth0 ─ veth2 ┘
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ipv4Packet } from '../wire/packet.js';
import { Network } from './network.js';
import type { Host } from './host.js';
import {
  bridgeFdbShow,
  ipAddrShow,
  ipBrAddr,
  ipBrLink,
  ipLinkShow,
  ipNeighShow,
  ipRouteGet,
  ipRouteShow,
  ipRuleShow,
} from '../render/ip.js';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
const canRun = process.getuid?.() === 0 && have('ip') && have('ping') && have('bridge');

const P = `pe-host-${process.pid}`;
const NS = { node: `${P}-node`, a: `${P}-a`, b: `${P}-b`, up: `${P}-up` } as const;
type Name = keyof typeof NS;

function sh(args: string[], allowFail = false): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 5000 });
  if (!allowFail && r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
const ip = (ns: Name, ...args: string[]): string => sh(['ip', '-n', NS[ns], ...args]);
const inNs = (ns: Name, ...args: string[]): string => sh(['ip', 'netns', 'exec', NS[ns], ...args]);

/** The commands, once for Linux and once for the model. */
function buildReal(): void {
  for (const n of Object.keys(NS) as Name[]) {
    sh(['ip', 'netns', 'add', NS[n]]);
    inNs(n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    inNs(n, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
    ip(n, 'link', 'set', 'lo', 'up');
  }
  ip('node', 'link', 'add', 'cni0', 'type', 'bridge');
  ip('node', 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.a);
  ip('node', 'link', 'add', 'veth2', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.b);
  ip('node', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', NS.up);
  for (const v of ['veth1', 'veth2']) {
    ip('node', 'link', 'set', v, 'master', 'cni0');
    ip('node', 'link', 'set', v, 'up');
  }
  ip('node', 'addr', 'add', '10.244.1.1/24', 'dev', 'cni0');
  ip('node', 'link', 'set', 'cni0', 'up');
  ip('node', 'addr', 'add', '192.168.1.10/24', 'dev', 'eth0');
  ip('node', 'addr', 'add', '192.168.1.11/24', 'dev', 'eth0');
  ip('node', 'link', 'set', 'eth0', 'up');
  ip('node', 'route', 'add', 'default', 'via', '192.168.1.1');
  ip('node', 'route', 'add', '10.244.2.0/24', 'via', '192.168.1.20', 'dev', 'eth0', 'onlink');
  ip(
    'node',
    'route',
    'add',
    '10.50.0.0/16',
    'via',
    '192.168.1.30',
    'metric',
    '50',
    'proto',
    'static',
  );
  ip('node', 'route', 'add', '10.50.0.0/16', 'via', '192.168.1.31', 'metric', '100');
  ip('node', 'route', 'add', '10.50.7.0/24', 'via', '192.168.1.32', 'src', '192.168.1.11');
  ip('node', 'route', 'add', 'blackhole', '10.99.0.0/16');
  ip('node', 'route', 'add', 'unreachable', '10.98.0.0/16');
  ip('node', 'route', 'add', '172.16.0.0/12', 'dev', 'cni0', 'scope', 'link');
  inNs('node', 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  for (const [n, addr] of [
    ['a', '10.244.1.2/24'],
    ['b', '10.244.1.3/24'],
  ] as const) {
    ip(n, 'addr', 'add', addr, 'dev', 'eth0');
    ip(n, 'link', 'set', 'eth0', 'up');
    ip(n, 'route', 'add', 'default', 'via', '10.244.1.1');
  }
  ip('up', 'addr', 'add', '192.168.1.1/24', 'dev', 'up0');
  ip('up', 'link', 'set', 'up0', 'up');
  ip('up', 'route', 'add', '10.244.1.0/24', 'via', '192.168.1.10');
}

/** The kernel's random MACs, so the model's neighbour and FDB tables can be compared byte for byte. */
function realMacs(): Record<Name, Record<string, string>> {
  const out = {} as Record<Name, Record<string, string>>;
  for (const n of Object.keys(NS) as Name[]) {
    const links = JSON.parse(ip(n, '-j', 'link', 'show')) as { ifname: string; address: string }[];
    out[n] = Object.fromEntries(links.map((l) => [l.ifname, l.address]));
  }
  return out;
}

function buildModel(mac: Record<Name, Record<string, string>>): {
  net: Network;
  hosts: Record<Name, Host>;
} {
  const net = new Network();
  const hosts = {} as Record<Name, Host>;
  for (const n of Object.keys(NS) as Name[]) hosts[n] = net.addHost(NS[n], { loopbackUp: true });
  const { node, a, b, up } = hosts;
  node.link.addBridge('cni0');
  node.link.addVeth('veth1', {
    peer: 'eth0',
    peerHost: a,
    mac: mac.node.veth1,
    peerMac: mac.a.eth0,
  });
  node.link.addVeth('veth2', {
    peer: 'eth0',
    peerHost: b,
    mac: mac.node.veth2,
    peerMac: mac.b.eth0,
  });
  node.link.addVeth('eth0', { peer: 'up0', peerHost: up, mac: mac.node.eth0, peerMac: mac.up.up0 });
  for (const v of ['veth1', 'veth2']) node.link.set(v, { master: 'cni0', up: true });
  node.addr.add('10.244.1.1/24', 'cni0');
  node.link.set('cni0', { up: true });
  node.addr.add('192.168.1.10/24', 'eth0');
  node.addr.add('192.168.1.11/24', 'eth0');
  node.link.set('eth0', { up: true });
  node.route.add({ dst: 'default', via: '192.168.1.1' });
  node.route.add({ dst: '10.244.2.0/24', via: '192.168.1.20', dev: 'eth0', onlink: true });
  node.route.add({ dst: '10.50.0.0/16', via: '192.168.1.30', metric: 50, proto: 'static' });
  node.route.add({ dst: '10.50.0.0/16', via: '192.168.1.31', metric: 100 });
  node.route.add({ dst: '10.50.7.0/24', via: '192.168.1.32', src: '192.168.1.11' });
  node.route.add({ dst: '10.99.0.0/16', type: 'blackhole' });
  node.route.add({ dst: '10.98.0.0/16', type: 'unreachable' });
  node.route.add({ dst: '172.16.0.0/12', dev: 'cni0', scope: 'link' });
  node.sysctl.set('net.ipv4.ip_forward', 1);
  for (const [h, addr] of [
    [a, '10.244.1.2/24'],
    [b, '10.244.1.3/24'],
  ] as const) {
    h.addr.add(addr, 'eth0');
    h.link.set('eth0', { up: true });
    h.route.add({ dst: 'default', via: '10.244.1.1' });
  }
  up.addr.add('192.168.1.1/24', 'up0');
  up.link.set('up0', { up: true });
  up.route.add({ dst: '10.244.1.0/24', via: '192.168.1.10' });
  return { net, hosts };
}

function echo(dst: string, id: number): Ipv4Packet {
  return {
    ip: { src: '0.0.0.0', dst, ttl: 64, id: 1, df: true, tos: 0 },
    l4: { kind: 'icmp', type: 8, code: 0, id, seq: 1 },
    payloadLength: 56,
  };
}

function sortedLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .sort();
}

describe.skipIf(!canRun)('host model vs the real kernel (ip netns)', () => {
  let model: ReturnType<typeof buildModel>;

  beforeAll(() => {
    buildReal();
    model = buildModel(realMacs());
  }, 30_000);

  afterAll(() => {
    for (const n of Object.values(NS)) spawnSync('ip', ['netns', 'del', n]);
  });

  it.each(['node', 'a', 'b', 'up'] as const)('ip route show (main and local) in %s', (n) => {
    expect(ipRouteShow(model.hosts[n])).toBe(ip(n, 'route', 'show'));
    expect(ipRouteShow(model.hosts[n], 'local')).toBe(ip(n, 'route', 'show', 'table', 'local'));
  });

  it.each(['node', 'a', 'b', 'up'] as const)(
    'ip addr / ip link / ip -br in %s (IPv6 disabled there)',
    (n) => {
      expect(ipAddrShow(model.hosts[n])).toBe(ip(n, 'addr', 'show'));
      expect(ipLinkShow(model.hosts[n])).toBe(ip(n, 'link', 'show'));
      expect(ipBrLink(model.hosts[n])).toBe(ip(n, '-br', 'link', 'show'));
      expect(ipBrAddr(model.hosts[n])).toBe(ip(n, '-br', 'addr', 'show'));
    },
  );

  it('ip rule show', () => {
    expect(ipRuleShow(model.hosts.node)).toBe(ip('node', 'rule', 'show'));
  });

  const gets: [Name, string, { from?: string }][] = [
    ['node', '10.244.1.3', {}],
    ['node', '10.244.2.5', {}],
    ['node', '10.50.1.1', {}],
    ['node', '10.50.7.9', {}],
    ['node', '8.8.8.8', {}],
    ['node', '172.20.0.1', {}],
    ['node', '10.99.1.1', {}],
    ['node', '10.98.1.1', {}],
    ['node', '192.168.1.11', {}],
    ['node', '127.0.0.9', {}],
    ['node', '10.244.1.255', {}],
    ['node', '8.8.8.8', { from: '192.168.1.11' }],
    ['a', '10.244.1.3', {}],
    ['a', '10.244.1.2', {}],
    ['a', '1.1.1.1', {}],
    ['up', '10.244.1.2', {}],
    ['up', '10.1.1.1', {}],
  ];
  it.each(gets)('ip route get in %s to %s %o', (n, dst, opts) => {
    const real = spawnSync(
      'ip',
      ['-n', NS[n], 'route', 'get', dst, ...(opts.from ? ['from', opts.from] : [])],
      { encoding: 'utf8' },
    );
    expect(ipRouteGet(model.hosts[n], dst, opts)).toBe(
      real.status === 0 ? real.stdout : real.stderr,
    );
  });

  // ip_route_input_slow under each forwarding / rp_filter setting: martians, rp_filter, forwarding, redirects.
  const inputs: [string, string, string, number?][] = [
    ['10.244.1.3', '10.244.1.2', 'cni0'],
    ['8.8.8.8', '10.244.1.2', 'cni0'],
    ['10.244.1.1', '10.244.1.2', 'cni0'],
    ['192.168.1.10', '10.244.1.2', 'cni0'],
    ['10.244.1.3', '192.168.1.50', 'cni0'],
    ['10.244.1.3', '8.8.8.8', 'eth0'],
    ['10.244.1.3', '10.244.1.9', 'eth0'],
    ['10.244.1.1', '10.244.1.1', 'cni0'],
    ['127.0.0.1', '10.244.1.2', 'cni0'],
    ['10.244.1.3', '127.0.0.1', 'cni0'],
    ['10.244.1.3', '127.0.0.5', 'cni0'],
    ['192.168.1.10', '127.0.0.5', 'eth0'],
    ['10.244.1.255', '10.244.1.2', 'cni0'],
    ['10.244.1.3', '172.16.0.4', 'cni0'],
    ['10.244.1.3', '172.16.0.4', 'eth0'],
    ['10.99.0.1', '10.244.1.2', 'cni0'],
    ['10.98.0.1', '10.244.1.2', 'cni0'],
    ['10.244.2.9', '10.244.1.2', 'cni0', 3],
    ['0.1.2.3', '10.244.1.2', 'cni0'],
    ['10.244.1.3', '0.0.0.5', 'cni0'],
    ['10.244.1.3', '224.0.0.5', 'cni0'],
  ];
  const settings: [number, number, number][] = [
    [1, 0, 0],
    [1, 1, 0],
    [1, 2, 0],
    [0, 0, 0],
    [0, 1, 0],
    [1, 0, 1],
  ];
  it.each(settings)(
    'ip route get … iif (ip_forward=%d rp_filter=%d route_localnet=%d)',
    (fwd, rp, localnet) => {
      const node = model.hosts.node;
      const set = (key: string, v: number): void => {
        inNs('node', 'sysctl', '-qw', `${key}=${v}`);
        node.sysctl.set(key, v);
      };
      try {
        set('net.ipv4.ip_forward', fwd);
        set('net.ipv4.conf.all.rp_filter', rp);
        set('net.ipv4.conf.all.route_localnet', localnet);
        for (const [dst, from, iif, mark] of inputs) {
          const args = [
            '-n',
            NS.node,
            'route',
            'get',
            dst,
            'from',
            from,
            'iif',
            iif,
            ...(mark ? ['mark', String(mark)] : []),
          ];
          const real = spawnSync('ip', args, { encoding: 'utf8' });
          expect(
            ipRouteGet(node, dst, { from, iif, ...(mark ? { mark } : {}) }),
            args.join(' '),
          ).toBe(real.status === 0 ? real.stdout : real.stderr);
        }
      } finally {
        set('net.ipv4.ip_forward', 1);
        set('net.ipv4.conf.all.rp_filter', 0);
        set('net.ipv4.conf.all.route_localnet', 0);
      }
    },
  );

  it('TTL 1 through the node: the time-exceeded comes from the address facing the sender', () => {
    const real = spawnSync(
      'ip',
      ['netns', 'exec', NS.a, 'ping', '-c', '1', '-W', '1', '-t', '1', '192.168.1.1'],
      { encoding: 'utf8', timeout: 5000 },
    );
    const from = /From (\S+) icmp_seq=1 Time to live exceeded/.exec(real.stdout)?.[1];
    expect(from, real.stdout).toBeDefined();
    const r = model.net.send(NS.a, {
      ...echo('192.168.1.1', 103),
      ip: { ...echo('192.168.1.1', 103).ip, ttl: 1 },
    });
    expect(r.outcome?.kind === 'dropped' && r.outcome.reason).toBe('ttl-exceeded');
    const resp = r.outcome?.kind === 'dropped' ? r.outcome.response : undefined;
    expect(resp?.packet.ip.src).toBe(from);
    expect(model.net.respond(resp!).outcome?.kind).toBe('delivered');
  });

  it('after pings, neighbour tables and bridge FDB match', () => {
    // pod-a → pod-b (same bridge), pod-a → 192.168.1.1 (forwarded by the node).
    for (const [dst, id] of [
      ['10.244.1.3', 101],
      ['192.168.1.1', 102],
    ] as const) {
      const real = spawnSync('ip', ['netns', 'exec', NS.a, 'ping', '-c', '1', '-W', '1', dst], {
        encoding: 'utf8',
        timeout: 5000,
      });
      expect(real.status, real.stdout + real.stderr).toBe(0);
      const req = model.net.send(NS.a, echo(dst, id));
      expect(req.outcome?.kind).toBe('delivered');
      const resp = req.outcome?.kind === 'delivered' ? req.outcome.response : undefined;
      expect(resp).toBeDefined();
      const rep = model.net.respond(resp!);
      expect(rep.outcome?.kind).toBe('delivered');
    }
    for (const n of Object.keys(NS) as Name[]) {
      expect(sortedLines(ipNeighShow(model.hosts[n])), `ip neigh in ${n}`).toEqual(
        sortedLines(ip(n, '-4', 'neigh', 'show')),
      );
    }
    // The bridge's own entries, in the kernel's order (the device multicast `self` entries are IPv6/IGMP's).
    const realFdb = sh(['bridge', '-n', NS.node, 'fdb', 'show'])
      .split('\n')
      .filter((l) => l.includes(' master '))
      .map((l) => `${l}\n`)
      .join('');
    expect(bridgeFdbShow(model.hosts.node)).toBe(realFdb);
  }, 20_000);
});
