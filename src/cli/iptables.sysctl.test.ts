/**
 * `iptables trace --sysctl` and the input-route decision: a packet from the
 * wire takes the kernel model's own ip_route_input after PREROUTING, so
 * martians and unjoined multicast are dropped in routing (before INPUT and
 * FORWARD, with the kernel's reason), broadcasts are delivered locally,
 * ip_forward=0 drops what would be forwarded, and route_localnet,
 * rp_filter and the other routing sysctls are read as the kernel reads them
 * (each routing case here is one of src/emulate/special-destinations.kernel.test.ts
 * or src/emulate/rpfilter.kernel.test.ts, seen through the single-host trace).
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

/** Every arrival counted in PREROUTING; kube-proxy's localhost NodePort DNAT. */
const DUMP = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 127.0.0.1/32 -p udp -m udp --dport 30080 -j DNAT --to-destination 10.244.1.5:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i eth0 -p udp -j ACCEPT
-A FORWARD -i eth0 -p udp -j ACCEPT
COMMIT
`;

/** `ip route show table all` of the node: its subnet and default route on eth0. */
const ROUTES = `default via 10.0.0.1 dev eth0
10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2
`;

interface Case {
  readonly name: string;
  readonly src?: string;
  readonly dst: string;
  readonly dport?: number;
  readonly sysctl?: readonly string[];
  readonly extra?: readonly string[];
  readonly path: readonly string[];
  readonly verdict: 'ACCEPT' | 'DROP';
  /** The start of decidedBy.reason for a routing drop. */
  readonly reason?: string;
}

const CASES: readonly Case[] = [
  {
    name: 'unicast to another host: forwarded',
    dst: '10.0.1.7',
    path: ['PREROUTING', 'FORWARD', 'POSTROUTING'],
    verdict: 'ACCEPT',
  },
  {
    name: 'to the local address: delivered',
    dst: '10.0.0.2',
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'limited broadcast: delivered locally',
    dst: '255.255.255.255',
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'directed broadcast of the local subnet: delivered locally',
    dst: '10.0.0.255',
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'multicast all-hosts 224.0.0.1: delivered locally',
    dst: '224.0.0.1',
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'multicast to a group nobody joined: dropped in routing',
    dst: '239.1.1.1',
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'multicast-not-joined',
  },
  {
    name: '127.0.0.5 from the wire, route_localnet=0 (default)',
    dst: '127.0.0.5',
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'martian-destination',
  },
  {
    name: '127.0.0.5 from the wire, route_localnet=1',
    dst: '127.0.0.5',
    sysctl: ['route_localnet=1'],
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: '127.0.0.5, full name net.ipv4.conf.all.route_localnet=1',
    dst: '127.0.0.5',
    sysctl: ['net.ipv4.conf.all.route_localnet=1'],
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: '127.0.0.5, per device conf.eth0.route_localnet=1 (all || dev)',
    dst: '127.0.0.5',
    sysctl: ['net.ipv4.conf.eth0.route_localnet=1'],
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: '127.0.0.5, route_localnet=1 on another device only',
    dst: '127.0.0.5',
    sysctl: ['net.ipv4.conf.eth1.route_localnet=1'],
    extra: ['--out-iface', 'eth1'],
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'martian-destination',
  },
  {
    name: 'source 0.0.0.0: martian source',
    src: '0.0.0.0',
    dst: '10.0.0.2',
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'martian-source',
  },
  {
    name: 'destination 0.0.0.0: martian destination',
    dst: '0.0.0.0',
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'martian-destination',
  },
  {
    name: 'ip_forward=0: a forwarded packet is dropped in routing',
    dst: '10.0.1.7',
    sysctl: ['ip_forward=0'],
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'ip-forward-disabled',
  },
  {
    name: 'net.ipv4.ip_forward=0 does not stop local delivery',
    dst: '10.0.0.2',
    sysctl: ['net.ipv4.ip_forward=0'],
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'the last --sysctl wins',
    dst: '10.0.1.7',
    sysctl: ['ip_forward=0', 'ip_forward=1'],
    path: ['PREROUTING', 'FORWARD', 'POSTROUTING'],
    verdict: 'ACCEPT',
  },
  {
    name: 'rp_filter=1: source reached via another device',
    dst: '10.0.0.2',
    sysctl: ['rp_filter=1'],
    extra: ['--in-iface', 'eth1', '--local-ip', '10.1.0.2/24@eth1', '--routes', 'node.routes'],
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'rp-filter',
  },
  {
    name: 'rp_filter=2 (loose): any route back will do',
    dst: '10.0.0.2',
    sysctl: ['rp_filter=2'],
    extra: ['--in-iface', 'eth1', '--local-ip', '10.1.0.2/24@eth1', '--routes', 'node.routes'],
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: 'rp_filter=1: source reached via the in-iface',
    dst: '10.0.0.2',
    sysctl: ['rp_filter=1'],
    extra: ['--in-iface', 'eth0', '--routes', 'node.routes'],
    path: ['PREROUTING', 'INPUT'],
    verdict: 'ACCEPT',
  },
  {
    name: '--routes without a route to the destination: no route',
    dst: '10.0.1.7',
    extra: ['--in-iface', 'eth0', '--routes', 'node.routes.nodefault'],
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'no-route',
  },
  // Routing comes after nat PREROUTING (ip_rcv_finish): it sees the DNATed pod address.
  {
    name: 'localhost NodePort DNAT from the wire, route_localnet=1',
    dst: '127.0.0.1',
    dport: 30080,
    sysctl: ['route_localnet=1'],
    path: ['PREROUTING', 'FORWARD', 'POSTROUTING'],
    verdict: 'ACCEPT',
  },
  {
    name: 'localhost port without a DNAT, route_localnet=0',
    dst: '127.0.0.1',
    dport: 30081,
    path: ['PREROUTING'],
    verdict: 'DROP',
    reason: 'martian-destination',
  },
];

async function trace(c: Case): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = memoryIo({
    'node.rules': DUMP,
    'node.routes': ROUTES,
    'node.routes.nodefault': ROUTES.split('\n').slice(1).join('\n'),
  });
  const args = ['iptables', 'trace', '--rules', 'node.rules', '--src', c.src ?? '10.0.0.1'];
  args.push('--dst', c.dst, '--dport', String(c.dport ?? 9999), '--proto', 'udp');
  args.push('--local-ip', '10.0.0.2/24@eth0', '-o', 'json');
  args.push(...(c.extra ?? ['--in-iface', 'eth0']));
  for (const s of c.sysctl ?? []) args.push('--sysctl', s);
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('iptables trace: the input-route decision and --sysctl', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await trace(c);
      expect(r.code, r.stderr).toBe(0);
      const alt = JSON.parse(r.stdout).alternatives[0];
      expect({ path: alt.path, verdict: alt.verdict }).toEqual({
        path: c.path,
        verdict: c.verdict,
      });
      if (c.reason !== undefined) {
        expect(alt.decidedBy.kind).toBe('kernel');
        expect(alt.decidedBy.reason).toMatch(new RegExp(`^${c.reason} \\(routing`));
        expect(alt.events.some((e: { kind: string }) => e.kind === 'drop')).toBe(true);
      }
    });
  }
});

describe('iptables trace --sysctl: what it refuses (exit 2, listing the keys)', () => {
  const BAD = [
    'route_localnet',
    'route_localnet=yes',
    'route_localnet=2',
    'rp_filter=3',
    'arp_ignore=1',
    'net.ipv4.conf.all.bogus=1',
    'net.ipv4.tcp_syncookies=1',
  ];
  for (const s of BAD) {
    it(s, async () => {
      const r = await trace({ name: s, dst: '10.0.0.2', sysctl: [s], path: [], verdict: 'DROP' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--sysctl ${JSON.stringify(s)}`);
      for (const k of ['ip_forward', 'rp_filter', 'route_localnet', 'nf_conntrack_tcp_loose'])
        expect(r.stderr).toContain(k);
    });
  }
});
