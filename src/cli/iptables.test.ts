import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { parseLocalIp } from './iptables.js';
import { expectDocument } from '../render/testing/schema.js';

const DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.99/32 -p tcp -m comment --comment "ns/none has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
:KUBE-SEP-3 - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A OUTPUT -j KUBE-SERVICES
-A POSTROUTING -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -j MASQUERADE
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SVC-A ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-A -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2
-A KUBE-SVC-A -j KUBE-SEP-3
-A KUBE-SEP-1 -p tcp -m tcp -j DNAT --to-destination 10.244.1.1:8080
-A KUBE-SEP-2 -p tcp -m tcp -j DNAT --to-destination 10.244.2.1:8080
-A KUBE-SEP-3 -p tcp -m tcp -j DNAT --to-destination 10.244.3.1:8080
COMMIT
`;

async function run(args: string[], files: Record<string, string> = { 'dump.save': DUMP }) {
  const io = memoryIo(files);
  const code = await main(['iptables', 'trace', '--rules', 'dump.save', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

async function json(args: string[], files?: Record<string, string>) {
  const r = await run([...args, '-o', 'json'], files);
  expect(r.code, r.err).toBe(0);
  return expectDocument(r.out, 'IptablesTrace');
}

describe('packeteye iptables trace', () => {
  it('enumerates the statistic ladder with probabilities summing to 1, in rule order', async () => {
    const j = await json([
      '--src',
      '10.244.9.9',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--all-paths',
    ]);
    expect(j.alternatives.map((a: { dnat: string }) => a.dnat)).toEqual([
      '10.244.1.1:8080',
      '10.244.2.1:8080',
      '10.244.3.1:8080',
    ]);
    const ps = j.alternatives.map((a: { probability: number }) => a.probability);
    expect(ps[0]).toBeCloseTo(1 / 3, 6);
    expect(ps.reduce((s: number, p: number) => s + p, 0)).toBeCloseTo(1, 12);
    const a = j.alternatives[0];
    expect(a.path).toEqual(['PREROUTING', 'FORWARD', 'POSTROUTING']);
    expect(a.verdict).toBe('ACCEPT');
    expect(a.decidedBy).toEqual({
      kind: 'policy',
      hook: 'FORWARD',
      table: 'filter',
      chain: 'FORWARD',
      policy: 'ACCEPT',
    });
    expect(a.masqueradeMark).toBe(false);
    expect(a.snat).toBeNull();
    expect(a.packet).toEqual({
      src: '10.244.9.9',
      dst: '10.244.1.1',
      sport: 40000,
      dport: 8080,
      proto: 'tcp',
    });
    expect(a.hits[0]).toMatchObject({
      hook: 'PREROUTING',
      table: 'nat',
      chain: 'PREROUTING',
      line: 22,
      rule: '-j KUBE-SERVICES',
      target: 'KUBE-SERVICES',
    });
    expect(j.input).toMatchObject({
      src: '10.244.9.9',
      sport: 40000,
      start: 'PREROUTING',
      rules: 'dump.save',
    });
    expect(j.warnings).toEqual([]);
  });

  it('without --all-paths takes one seeded branch and reports its probability', async () => {
    const a = await json([
      '--src',
      '10.244.9.9',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--seed',
      '7',
    ]);
    const b = await json([
      '--src',
      '10.244.9.9',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--seed',
      '7',
    ]);
    expect(a).toEqual(b);
    expect(a.alternatives).toHaveLength(1);
    expect(a.alternatives[0].probability).toBeGreaterThan(0.3);
    expect(a.alternatives[0].decisions.length).toBeGreaterThan(0);
  });

  it('a host-originated packet starts at OUTPUT, gets the masquerade mark and MASQUERADE at POSTROUTING', async () => {
    const j = await json([
      '--src',
      '192.168.0.2',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--all-paths',
      '--local-ip',
      '192.168.0.2/24@eth0',
      '--local-ip',
      '10.244.0.1/24@cni0',
      '--out-iface',
      'cni0',
    ]);
    const a = j.alternatives[2];
    expect(a.path).toEqual(['OUTPUT', 'POSTROUTING']);
    expect(a.masqueradeMark).toBe(true);
    expect(a.mark).toBe('0x0');
    expect(a.snat).toEqual({
      kind: 'MASQUERADE',
      to: '10.244.0.1:40000',
      source: 'out-iface address',
    });
    expect(a.packet.src).toBe('10.244.0.1');
    const other = await json([
      '--src',
      '192.168.0.2',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--local-ip',
      '192.168.0.2',
    ]);
    expect(other.alternatives[0].snat).toMatchObject({
      kind: 'MASQUERADE',
      to: '192.168.0.2:40000',
      source: 'first --local-ip',
    });
  });

  it('a local destination loops back: OUTPUT, POSTROUTING, PREROUTING, INPUT', async () => {
    const j = await json([
      '--src',
      '192.168.0.2',
      '--dst',
      '192.168.0.2',
      '--dport',
      '22',
      '--local-ip',
      '192.168.0.2',
    ]);
    expect(j.alternatives[0].path).toEqual(['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT']);
    expect(j.alternatives[0].verdict).toBe('ACCEPT');
  });

  it('REJECT by a rule, with the reject type', async () => {
    const j = await json(['--src', '10.244.9.9', '--dst', '10.96.0.99', '--dport', '80']);
    const a = j.alternatives[0];
    expect(a.verdict).toBe('REJECT');
    expect(a.decidedBy).toMatchObject({
      kind: 'rule',
      table: 'filter',
      chain: 'KUBE-SERVICES',
      line: 8,
    });
    expect(a.reject).toEqual({ with: 'icmp-port-unreachable', response: null });
  });

  it('text output names each rule hit as FILE:LINE with its text, and the verdict', async () => {
    const r = await run(['--src', '10.244.9.9', '--dst', '10.96.0.99', '--dport', '80']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('dump.save:8  -A KUBE-SERVICES -d 10.96.0.99/32');
    expect(r.out).toContain('verdict: REJECT, by rule filter KUBE-SERVICES #1 (dump.save:8)');
    expect(r.out).toContain('path: PREROUTING → FORWARD');
  });

  it('an unsupported rule on the path gives UNSUPPORTED with its line; the warning goes to stderr', async () => {
    const dump =
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m connlimit --connlimit-above 10 -j DROP\nCOMMIT\n';
    const r = await run(['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '80', '-o', 'json'], {
      'dump.save': dump,
    });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/dump\.save:3: warning:/);
    const a = expectDocument(r.out, 'IptablesTrace').alternatives[0];
    expect(a.verdict).toBe('UNSUPPORTED');
    expect(a.unsupported).toMatchObject({ line: 3, file: 'dump.save' });
    expect(a.decidedBy).toMatchObject({ kind: 'rule', line: 3 });
  });

  it('a malformed dump exits 2 with DUMP:LINE: error', async () => {
    const r = await run(['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '80'], {
      'dump.save': '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport\nCOMMIT\n',
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^dump\.save:3: error: /m);
    expect(r.out).toBe('');
  });

  it.each([
    [
      ['--src', 'x', '--dst', '2.2.2.2', '--dport', '80'],
      /--src "x" is not an IPv4 or IPv6 address/,
    ],
    [['--src', '1.1.1.1', '--dst', '2.2.2.2'], /--dport is required/],
    [['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '70000'], /is not a port/],
    [
      ['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '1', '--proto', 'gre'],
      /expected tcp, udp, sctp or icmp/,
    ],
    [
      ['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '1', '--local-ip', '1.2.3'],
      /is not IP\[\/PREFIX\]\[@IFACE\]/,
    ],
    [
      ['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '1', '-o', 'xml'],
      /expected text, json or yaml/,
    ],
  ])('bad option %j exits 2', async (args, msg) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });

  it('a missing dump file exits 2 naming it', async () => {
    const io = memoryIo({});
    const code = await main(
      [
        'iptables',
        'trace',
        '--rules',
        'nope.save',
        '--src',
        '1.1.1.1',
        '--dst',
        '2.2.2.2',
        '--dport',
        '1',
      ],
      io,
    );
    expect(code).toBe(2);
    expect(io.stderr).toContain('nope.save');
  });

  it('icmp: an echo request needs no --dport', async () => {
    const j = await json(['--src', '10.244.9.9', '--dst', '8.8.8.8', '--proto', 'icmp']);
    expect(j.alternatives[0].packet).toEqual({
      src: '10.244.9.9',
      dst: '8.8.8.8',
      sport: 40000,
      dport: null,
      proto: 'icmp',
    });
  });

  it('--reply: the answer from the DNAT target is un-DNATed at POSTROUTING', async () => {
    const j = await json([
      '--src',
      '10.244.9.9',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--reply',
    ]);
    const a = j.alternatives[0];
    expect(a.ctstate).toBe('NEW');
    const r = a.reply;
    expect(r.path).toEqual(['PREROUTING', 'FORWARD', 'POSTROUTING']);
    expect(r.ctstate).toBe('ESTABLISHED_REPLY');
    expect(r.packet).toEqual({
      src: '10.96.0.10',
      dst: '10.244.9.9',
      sport: 80,
      dport: 40000,
      proto: 'tcp',
    });
    expect(r.rewrites).toEqual([
      expect.objectContaining({
        hook: 'POSTROUTING',
        kind: 'un-DNAT',
        after: expect.objectContaining({ src: '10.96.0.10' }),
      }),
    ]);
    // The nat table is not walked for the reply.
    expect(r.hits.filter((h: { table: string }) => h.table === 'nat')).toEqual([]);
  });

  it('--reply after MASQUERADE: the answer is un-SNATed at PREROUTING', async () => {
    const j = await json([
      '--src',
      '192.168.0.2',
      '--dst',
      '10.96.0.10',
      '--dport',
      '80',
      '--local-ip',
      '192.168.0.2/24@eth0',
      '--local-ip',
      '10.244.0.1/24@cni0',
      '--out-iface',
      'cni0',
      '--reply',
    ]);
    const r = j.alternatives[0].reply;
    expect(r.path).toEqual(['PREROUTING', 'INPUT']);
    expect(r.rewrites.map((w: { kind: string }) => w.kind)).toEqual(['un-SNAT', 'un-DNAT']);
    expect(r.packet).toMatchObject({ src: '10.96.0.10', dst: '192.168.0.2', sport: 80 });
  });

  it('--tcp-flags and --sysctl: INVALID packets match ctstate INVALID and skip NAT', async () => {
    const dump = DUMP.replace(
      '-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES',
      '-A FORWARD -m conntrack --ctstate INVALID -j DROP\n-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES',
    );
    const base = ['--src', '10.244.9.9', '--dst', '10.96.0.10', '--dport', '80'];
    const bad = await json([...base, '--tcp-flags', 'SF'], { 'dump.save': dump });
    expect(bad.alternatives[0]).toMatchObject({ verdict: 'DROP', ctstate: 'INVALID', dnat: null });
    expect(bad.alternatives[0].decidedBy).toMatchObject({
      kind: 'rule',
      chain: 'FORWARD',
      index: 1,
    });
    const ack = await json([...base, '--tcp-flags', 'A'], { 'dump.save': dump });
    expect(ack.alternatives[0]).toMatchObject({ verdict: 'ACCEPT', ctstate: 'NEW' });
    const strict = await json(
      [...base, '--tcp-flags', 'A', '--sysctl', 'net.netfilter.nf_conntrack_tcp_loose=0'],
      { 'dump.save': dump },
    );
    expect(strict.alternatives[0]).toMatchObject({
      verdict: 'DROP',
      ctstate: 'INVALID',
      dnat: null,
    });
    expect(strict.input.sysctls.tcpLoose).toBe(false);
    const r = await run([...base, '--sysctl', 'foo=1']);
    expect(r.code).toBe(2);
  });

  it('warns when the dump tests -i/-o and the device was not given', async () => {
    const dump =
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -i cni0 -j ACCEPT\n-A FORWARD -o eth0 -j DROP\nCOMMIT\n';
    const r = await run(['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '80'], {
      'dump.save': dump,
    });
    expect(r.err).toMatch(/dump\.save:3: warning: rules match on -i but --in-iface was not given/);
    expect(r.err).toMatch(/dump\.save:4: warning: rules match on -o but --out-iface was not given/);
    const given = await run(
      [
        '--src',
        '1.1.1.1',
        '--dst',
        '2.2.2.2',
        '--dport',
        '80',
        '--in-iface',
        'cni0',
        '--out-iface',
        'eth0',
      ],
      {
        'dump.save': dump,
      },
    );
    expect(given.err).toBe('');
    expect(given.out).toContain('verdict: ACCEPT, by rule filter FORWARD #1');
  });

  it('too many statistic branches for --all-paths is a diagnostic, not a crash', async () => {
    const rules = Array.from(
      { length: 13 },
      () => '-A FORWARD -m statistic --mode random --probability 0.5 -j LOG',
    );
    const dump = ['*filter', ':FORWARD ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n');
    const args = ['--src', '1.1.1.1', '--dst', '2.2.2.2', '--dport', '80'];
    const r = await run([...args, '--all-paths'], { 'dump.save': dump });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/too many statistic rules/);
    expect((await run(args, { 'dump.save': dump })).code).toBe(0);
  });

  it('parses --local-ip forms', () => {
    expect(parseLocalIp('10.0.0.1')).toEqual({ ip: '10.0.0.1' });
    expect(parseLocalIp('10.0.0.1/24@eth0')).toEqual({ ip: '10.0.0.1', prefix: 24, iface: 'eth0' });
    expect(parseLocalIp('10.0.0.1@eth0')).toEqual({ ip: '10.0.0.1', iface: 'eth0' });
  });
});
