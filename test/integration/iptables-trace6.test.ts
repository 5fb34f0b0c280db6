/**
 * IPv6 through `traceIptables` and `packeteye iptables trace`: an
 * ip6tables-save dump, IPv6 packets, DNAT to `[addr]:port`, REJECT with
 * ICMPv6, MASQUERADE to the out device's IPv6 address, addrtype LOCAL for ::1
 * and the host's addresses, un-DNAT of the reply, and the family checks.
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { parseIptablesSave } from '../../src/iptables/parse.js';
import { SingleHostEnv, traceIptables, type IptablesTraceInput } from '../../src/trace/iptables-trace.js';

const DUMP6 = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  ':KUBE-SERVICES - [0:0]',
  ':KUBE-SVC-X - [0:0]',
  ':KUBE-MARK-MASQ - [0:0]',
  '-A PREROUTING -j KUBE-SERVICES',
  '-A OUTPUT -j KUBE-SERVICES',
  '-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE',
  '-A POSTROUTING -s fd00:10::/64 ! -d fd00:10::/64 -o eth0 -j MASQUERADE',
  '-A KUBE-SERVICES -d fd00:172:30::41/128 -p tcp -m tcp --dport 80 -j KUBE-SVC-X',
  '-A KUBE-SERVICES -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 3001 -j KUBE-MARK-MASQ',
  '-A KUBE-SERVICES -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 3001 -j KUBE-SVC-X',
  '-A KUBE-SVC-X -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination [fd00:10:180::1]:80',
  '-A KUBE-SVC-X -p tcp -j DNAT --to-destination [fd00:10:180::2:1]:80',
  '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
  'COMMIT',
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT',
  '-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset',
  '-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with icmp6-adm-prohibited',
  '-A INPUT -p udp -j REJECT',
  '-A FORWARD -d 2001:db8:dead::/48 -j DROP',
  'COMMIT',
  '',
].join('\n');

const parsed = parseIptablesSave(DUMP6, 'dump6');
const LOCAL = [
  { ip: '2001:db8::1', prefix: 64, iface: 'eth0' },
  { ip: '192.168.0.2', prefix: 24, iface: 'eth0' },
];

function trace(over: Partial<IptablesTraceInput>) {
  return traceIptables({
    ruleset: parsed.ruleset,
    src: '2600:5200::1',
    dst: 'fd00:172:30::41',
    proto: 'tcp',
    dport: 80,
    localIps: LOCAL,
    allPaths: true,
    seed: 1,
    ...over,
  });
}

describe('IPv6 traces through an ip6tables dump', () => {
  it('parses as ipv6 without diagnostics', () => {
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.ruleset.family).toBe('ipv6');
  });

  it('ClusterIP: both endpoints, bracketed, with their probabilities', () => {
    const r = trace({});
    expect(r.alternatives.map((a) => [a.probability, a.dnat, a.verdict])).toEqual([
      [0.5, '[fd00:10:180::1]:80', 'ACCEPT'],
      [0.5, '[fd00:10:180::2:1]:80', 'ACCEPT'],
    ]);
    expect(r.alternatives[0]!.packet).toMatchObject({ dst: 'fd00:10:180::1', dport: 80 });
    expect(r.alternatives[0]!.path).toEqual(['PREROUTING', 'FORWARD', 'POSTROUTING']);
  });

  it('any spelling of the addresses is canonicalised', () => {
    const r = trace({ src: '2600:5200:0::1', dst: 'FD00:172:30:0:0:0:0:41' });
    expect(r.input).toMatchObject({ src: '2600:5200::1', dst: 'fd00:172:30::41' });
    expect(r.alternatives[0]!.dnat).toBe('[fd00:10:180::1]:80');
  });

  it('NodePort on a local IPv6 address: addrtype LOCAL, masquerade mark, MASQUERADE to eth0 address', () => {
    const r = trace({ dst: '2001:db8::1', dport: 3001, outIface: 'eth0' });
    const a = r.alternatives[0]!;
    expect(a.dnat).toBe('[fd00:10:180::1]:80');
    expect(a.masqueradeMark).toBe(true);
    expect(a.snat).toMatchObject({ kind: 'MASQUERADE', to: '[2001:db8::1]:40000' });
  });

  it('::1 is local: a packet from it starts at OUTPUT', () => {
    const r = trace({ src: '::1', dst: '::1', dport: 3001 });
    expect(r.input.start).toBe('OUTPUT');
    expect(r.alternatives[0]!.dnat).toBe('[fd00:10:180::1]:80');
  });

  it('an address not on the host is not LOCAL (no NodePort)', () => {
    const r = trace({ dst: '2001:db8::99', dport: 3001 });
    expect(r.alternatives.map((a) => a.dnat)).toEqual([null]);
  });

  it.each([
    [22, 'tcp', 'tcp-reset', /\[2001:db8::1\]:22 > \[2600:5200::1\]:40000 tcp \[R\.\]/],
    [23, 'tcp', 'icmp6-adm-prohibited', /2001:db8::1 > 2600:5200::1 icmp6 type 1 code 1/],
    [53, 'udp', 'icmp6-port-unreachable', /icmp6 type 1 code 4/],
  ] as const)('REJECT to local port %d/%s: %s', (dport, proto, withType, response) => {
    const a = trace({ dst: '2001:db8::1', dport, proto }).alternatives[0]!;
    expect(a.verdict).toBe('REJECT');
    expect(a.reject?.with).toBe(withType);
    expect(a.reject?.response).toMatch(response);
  });

  it('ICMPv6 echo request (type 128) is matched by -m icmp6 --icmpv6-type 128', () => {
    const a = trace({ dst: '2001:db8::1', proto: 'icmp', dport: 0 }).alternatives[0]!;
    expect(a.verdict).toBe('ACCEPT');
    expect(a.decidedBy).toMatchObject({ kind: 'rule', chain: 'INPUT', index: 1 });
  });

  it('-d prefix in FORWARD: DROP by rule', () => {
    const a = trace({ dst: '2001:db8:dead::5', dport: 443 }).alternatives[0]!;
    expect(a.verdict).toBe('DROP');
    expect(a.decidedBy).toMatchObject({ kind: 'rule', chain: 'FORWARD' });
  });

  it('the reply is un-DNATed back to the ClusterIP', () => {
    const r = trace({ reply: true, allPaths: false });
    const a = r.alternatives[0]!;
    expect(a.reply?.packet).toMatchObject({
      src: 'fd00:172:30::41',
      sport: 80,
      dst: '2600:5200::1',
    });
    expect(a.reply?.ctstate).toBe('ESTABLISHED_REPLY');
  });

  it.each([
    [{ src: '10.0.0.1', dst: '10.0.0.2' }, /IPv4 packet .* ip6tables/],
    [{ src: '10.0.0.1', dst: 'fd00::1' }, /different address families/],
  ])('%j is refused', (over, msg) => {
    expect(() => trace(over)).toThrow(msg);
  });

  it('an IPv6 packet through an iptables (IPv4) dump is refused', () => {
    const v4 = parseIptablesSave('*filter\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n', 'v4');
    expect(() => trace({ ruleset: v4.ruleset })).toThrow(/IPv6 packet .* iptables \(IPv4\)/);
  });
});

describe('SingleHostEnv for IPv6', () => {
  const env = new SingleHostEnv([
    { ip: '2001:db8::1', prefix: 64, iface: 'eth0' },
    { ip: '2001:db8:1::2', prefix: 64, iface: 'eth1' },
    { ip: '192.168.0.2', prefix: 24, iface: 'eth0' },
  ]);
  it.each([
    ['::1', undefined, 'LOCAL'],
    ['2001:db8::1', undefined, 'LOCAL'],
    ['2001:DB8:0::1', undefined, 'LOCAL'],
    ['2001:db8::1', 'eth1', 'UNICAST'],
    ['2001:db8::2', undefined, 'UNICAST'],
    ['ff02::1', undefined, 'MULTICAST'],
    ['::', undefined, 'UNSPEC'],
  ] as const)('%s (dev %s) is %s', (ip, dev, type) => expect(env.addrType(ip, dev)).toBe(type));
  it('MASQUERADE and REDIRECT pick an address of the packet family', () => {
    expect(env.masqueradeSource('eth1', '2001:db8:1::9')).toBe('2001:db8:1::2');
    expect(env.masqueradeSource('eth9', '2600::1')).toBe('2001:db8::1');
    expect(env.masqueradeSource('eth0', '8.8.8.8')).toBe('192.168.0.2');
    expect(env.primaryAddress('eth0', 'ipv6')).toBe('2001:db8::1');
    expect(env.primaryAddress('lo', 'ipv6')).toBe('::1');
    expect(env.primaryAddress('eth0')).toBe('192.168.0.2');
  });
});

describe('packeteye iptables trace with IPv6', () => {
  async function run(args: string[], files: Record<string, string> = { dump6: DUMP6 }) {
    const io = memoryIo(files);
    const code = await main(['iptables', 'trace', '--rules', 'dump6', ...args], io);
    return { code, out: io.stdout, err: io.stderr };
  }

  it('JSON: dnat as [addr]:port, canonical input addresses', async () => {
    const r = await run([
      '--src',
      '2600:5200::1',
      '--dst',
      'fd00:172:30::41',
      '--dport',
      '80',
      '--local-ip',
      '2001:db8::1/64@eth0',
      '--all-paths',
      '-o',
      'json',
    ]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.alternatives.map((a: { dnat: string }) => a.dnat)).toEqual([
      '[fd00:10:180::1]:80',
      '[fd00:10:180::2:1]:80',
    ]);
    expect(j.input).toMatchObject({ src: '2600:5200::1', dst: 'fd00:172:30::41' });
  });

  it('text output works for IPv6', async () => {
    const r = await run(['--src', '2600:5200::1', '--dst', 'fd00:172:30::41', '--dport', '80']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/fd00:10:180::/);
  });

  it.each([
    [['--src', '10.0.0.1', '--dst', 'fd00::1', '--dport', '80'], /a packet has one address family/],
    [
      ['--src', '10.0.0.1', '--dst', '10.0.0.2', '--dport', '80'],
      /^dump6:12: error: this is an ip6tables \(IPv6\) dump/m,
    ],
    [['--src', 'fd00::1', '--dst', 'fd00::2::3', '--dport', '80'], /not an IPv4 or IPv6 address/],
    [
      ['--src', 'fd00::1', '--dst', 'fd00::2', '--dport', '80', '--local-ip', 'fd00::1/129'],
      /is not IP\[\/PREFIX\]\[@IFACE\]/,
    ],
  ])('%j exits 2', async (args, msg) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.out).toBe('');
  });

  it('an IPv6 packet against an iptables (IPv4) dump exits 2 naming the IPv4 address line', async () => {
    const r = await run(['--src', 'fd00::1', '--dst', 'fd00::2', '--dport', '80'], {
      dump6: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n',
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^dump6:3: error: .*IPv4 address in an ip6tables \(IPv6\) dump/m);
  });

  it('a dump with no addresses at all is read in the packet family', async () => {
    const r = await run(['--src', 'fd00::1', '--dst', 'fd00::2', '--dport', '80', '-o', 'json'], {
      dump6: '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n',
    });
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).alternatives[0]).toMatchObject({
      verdict: 'DROP',
      decidedBy: { kind: 'policy', chain: 'FORWARD' },
    });
  });
});

describe('IPv6 conntrack matches, recent and NAT ranges', () => {
  const dump = [
    '*nat',
    '-A PREROUTING -d fd00:172:30::41/128 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:10:180::1-fd00:10:180::3]:8080',
    '-A POSTROUTING -p tcp -j SNAT --to-source [2001:db8::9]:1000-1001',
    'COMMIT',
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    ':KUBE-X - [0:0]',
    '-A FORWARD -m conntrack --ctstate DNAT --ctorigdst fd00:172:30::41 -j KUBE-X',
    '-A KUBE-X -m recent --set --name v6 --mask ffff:ffff:ffff:ffff:: --rsource',
    '-A KUBE-X -m recent --rcheck --name v6 --mask ffff:ffff:ffff:ffff:: --rsource -j ACCEPT',
    '-A KUBE-X -j DROP',
    '-A FORWARD -m conntrack --ctstate DNAT --ctorigdst fd00:172:30::42 -j DROP',
    'COMMIT',
    '',
  ].join('\n');
  const rs = parseIptablesSave(dump, 'ct6');

  it('parses', () => expect(rs.diagnostics).toEqual([]));

  it('DNAT into an address range, --ctorigdst on the original IPv6 destination, recent by /64', () => {
    const r = traceIptables({
      ruleset: rs.ruleset,
      src: '2600:5200::1',
      dst: 'fd00:172:30::41',
      proto: 'tcp',
      dport: 80,
      localIps: [],
      allPaths: false,
      seed: 3,
    });
    const a = r.alternatives[0]!;
    expect(a.dnat).toMatch(/^\[fd00:10:180::[123]\]:8080$/);
    expect(a.verdict).toBe('ACCEPT');
    expect(a.decidedBy).toMatchObject({ kind: 'rule', chain: 'KUBE-X', index: 2 });
    expect(a.snat?.kind).toBe('SNAT');
    expect(a.snat?.to).toMatch(/^\[2001:db8::9\]:100[01]$/);
  });

  it('a destination outside --ctorigdst is not matched by it', () => {
    const r = traceIptables({
      ruleset: rs.ruleset,
      src: '2600:5200::1',
      dst: 'fd00:172:30::99',
      proto: 'tcp',
      dport: 80,
      localIps: [],
      allPaths: false,
      seed: 1,
    });
    expect(r.alternatives[0]).toMatchObject({ verdict: 'ACCEPT', dnat: null });
    expect(r.alternatives[0]!.decidedBy).toMatchObject({ kind: 'policy', chain: 'FORWARD' });
  });
});
