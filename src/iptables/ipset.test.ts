import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diag.js';
import { lookupSet, type SetDir, type SetProbe } from '../kernel/netfilter/ipset.js';
import { IPPROTO } from '../wire/packet.js';
import { ipToInt } from '../wire/addr.js';
import { formatIpsetRestore, parseIpsetSave } from './ipset.js';
import { parseIptablesSave } from './parse.js';

function probe(
  src: string,
  dst: string,
  proto: number = IPPROTO.TCP,
  sport = 40000,
  dport = 80,
): SetProbe {
  return { src: ipToInt(src), dst: ipToInt(dst), proto, sport, dport, icmpType: 8, icmpCode: 0 };
}

function sets(text: string) {
  const r = parseIpsetSave(text, 'sets.txt');
  expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
  return r.sets;
}

describe('ipset save: what each set type matches', () => {
  const S =
    sets(`create n hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x4d2e1f00
add n 10.0.0.0/8
add n 10.1.0.0/16 nomatch
add n 10.1.2.0/24
add n 192.168.1.7
create ip hash:ip family inet hashsize 1024 maxelem 65536 netmask 24 counters comment
add ip 172.16.5.0 packets 3 bytes 180 comment "a /24"
add ip 172.17.0.1-172.17.0.3
create ipp hash:ip,port family inet hashsize 1024 maxelem 65536
add ipp 10.2.0.1,tcp:80
add ipp 10.2.0.1,udp:53
add ipp 10.2.0.1,icmp:8/0
add ipp 10.2.0.2,8080-8081
create np hash:net,port family inet hashsize 1024 maxelem 65536
add np 10.3.0.0/16,sctp:9000
create ipi hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add ipi 10.4.0.1,tcp:443,10.5.0.1
create ipn hash:ip,port,net family inet hashsize 1024 maxelem 65536
add ipn 10.4.0.1,tcp:443,10.6.0.0/24
create bp bitmap:port range 0-1023
add bp 22-23
create bi bitmap:ip range 10.8.0.0-10.8.0.255
add bi 10.8.0.9
create l list:set size 8
add l ip
add l bp
`);
  const look = (name: string, flags: SetDir[], p: SetProbe) => lookupSet(S, S.get(name)!, flags, p);
  it.each<[string, string, SetDir[], SetProbe, string]>([
    ['hash:net: the /8', 'n', ['src'], probe('10.9.9.9', '1.1.1.1'), 'match'],
    [
      'hash:net: the nomatch /16 wins over the /8',
      'n',
      ['src'],
      probe('10.1.9.9', '1.1.1.1'),
      'nomatch',
    ],
    [
      'hash:net: the /24 wins over the nomatch /16',
      'n',
      ['src'],
      probe('10.1.2.3', '1.1.1.1'),
      'match',
    ],
    ['hash:net: a bare address is a /32', 'n', ['dst'], probe('1.1.1.1', '192.168.1.7'), 'match'],
    ['hash:net: outside', 'n', ['src'], probe('11.0.0.1', '1.1.1.1'), 'miss'],
    ['hash:ip netmask 24: the whole /24', 'ip', ['dst'], probe('1.1.1.1', '172.16.5.200'), 'match'],
    ['hash:ip: a range', 'ip', ['dst'], probe('1.1.1.1', '172.17.0.2'), 'match'],
    ['hash:ip,port: tcp', 'ipp', ['dst', 'dst'], probe('1.1.1.1', '10.2.0.1'), 'match'],
    [
      'hash:ip,port: the other protocol',
      'ipp',
      ['dst', 'dst'],
      probe('1.1.1.1', '10.2.0.1', IPPROTO.UDP),
      'miss',
    ],
    [
      'hash:ip,port: udp 53',
      'ipp',
      ['dst', 'dst'],
      probe('1.1.1.1', '10.2.0.1', IPPROTO.UDP, 1, 53),
      'match',
    ],
    [
      'hash:ip,port: icmp type/code',
      'ipp',
      ['dst', 'dst'],
      probe('1.1.1.1', '10.2.0.1', IPPROTO.ICMP, -1, -1),
      'match',
    ],
    [
      'hash:ip,port: no protocol means tcp; ranges expand',
      'ipp',
      ['dst', 'dst'],
      probe('1.1.1.1', '10.2.0.2', IPPROTO.TCP, 1, 8081),
      'match',
    ],
    [
      'hash:ip,port: src port with src,src',
      'ipp',
      ['src', 'src'],
      probe('10.2.0.1', '1.1.1.1', IPPROTO.TCP, 80, 1),
      'match',
    ],
    ['too few flags never match', 'ipp', ['dst'], probe('1.1.1.1', '10.2.0.1'), 'miss'],
    [
      'hash:net,port: sctp',
      'np',
      ['src', 'dst'],
      probe('10.3.1.1', '1.1.1.1', IPPROTO.SCTP, 5, 9000),
      'match',
    ],
    [
      'hash:ip,port,ip',
      'ipi',
      ['dst', 'dst', 'src'],
      probe('10.5.0.1', '10.4.0.1', IPPROTO.TCP, 1, 443),
      'match',
    ],
    [
      'hash:ip,port,ip: wrong third',
      'ipi',
      ['dst', 'dst', 'src'],
      probe('10.5.0.2', '10.4.0.1', IPPROTO.TCP, 1, 443),
      'miss',
    ],
    [
      'hash:ip,port,net',
      'ipn',
      ['dst', 'dst', 'src'],
      probe('10.6.0.77', '10.4.0.1', IPPROTO.TCP, 1, 443),
      'match',
    ],
    [
      'bitmap:port: a tcp port in it',
      'bp',
      ['dst'],
      probe('1.1.1.1', '2.2.2.2', IPPROTO.TCP, 1, 23),
      'match',
    ],
    [
      'bitmap:port: ICMP has no port',
      'bp',
      ['dst'],
      probe('1.1.1.1', '2.2.2.2', IPPROTO.ICMP, -1, -1),
      'miss',
    ],
    ['bitmap:ip', 'bi', ['src'], probe('10.8.0.9', '2.2.2.2'), 'match'],
    [
      'list:set: the first member that matches',
      'l',
      ['dst'],
      probe('1.1.1.1', '172.16.5.1'),
      'match',
    ],
    [
      'list:set: the second member',
      'l',
      ['dst'],
      probe('1.1.1.1', '9.9.9.9', IPPROTO.TCP, 1, 22),
      'match',
    ],
    ['list:set: none', 'l', ['dst'], probe('1.1.1.1', '9.9.9.9'), 'miss'],
  ])('%s', (_name, set, flags, p, want) => {
    expect(look(set, flags, p)).toBe(want);
  });
});

describe('ipset save: errors name the line', () => {
  it.each([
    [
      'an unknown type',
      'create x hash:mac\n',
      'sets.txt:1: error: set type hash:mac is not modelled',
    ],
    [
      'IPv6',
      'create x hash:net family inet6\n',
      'sets.txt:1: error: set x: family inet6 is not modelled (IPv4 sets only)',
    ],
    [
      'add before create',
      'add x 10.0.0.1\n',
      'sets.txt:1: error: set x is not created before this add',
    ],
    [
      'a bad element',
      'create x hash:ip,port\nadd x 10.0.0.1\n',
      'sets.txt:2: error: set x: "10.0.0.1": a hash:ip,port element has 2 part(s), separated by commas',
    ],
    [
      'a bad address',
      'create x hash:net\nadd x 10.0.0.300/8\n',
      'sets.txt:2: error: set x: "10.0.0.300/8" is not an IPv4 address',
    ],
    [
      'nomatch on hash:ip',
      'create x hash:ip\nadd x 10.0.0.1 nomatch\n',
      'sets.txt:2: error: nomatch is only for sets with a net part, not hash:ip',
    ],
    [
      'an unknown list member',
      'create l list:set\nadd l nope\n',
      'sets.txt:2: error: list:set l: member set nope is not defined',
    ],
    ['an unknown command', 'flush x\n', 'sets.txt:1: error: unknown command "flush"'],
  ])('%s', (_name, text, want) => {
    const r = parseIpsetSave(text, 'sets.txt');
    expect(r.diagnostics.map(formatDiagnostic).join('\n')).toContain(want);
  });

  it('never throws on random text, only reports', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 8 }), (lines) => {
        const r = parseIpsetSave(['create a hash:net', ...lines].join('\n'), 'f');
        for (const d of r.diagnostics) expect(d.line).toBeGreaterThan(0);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe('-m set in an iptables-save dump', () => {
  const rule = (r: string) =>
    parseIptablesSave(`*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD ${r}\nCOMMIT\n`, 'd.rules');
  it('reads and prints it as iptables-save does', () => {
    const r = rule('-m set ! --match-set cali40s:abc src,dst --return-nomatch -j DROP');
    expect(r.diagnostics).toEqual([]);
    const m = r.ruleset.tables.get('filter')!.chains.get('FORWARD')!.rules[0]!;
    expect(m.text).toBe('-m set ! --match-set cali40s:abc src,dst --return-nomatch -j DROP');
    expect(m.matches[0]).toEqual({
      kind: 'set',
      name: 'cali40s:abc',
      flags: ['src', 'dst'],
      returnNomatch: true,
      invert: true,
    });
  });
  it.each([
    ['bad flags', '-m set --match-set s source -j DROP', 'flags are src or dst'],
    ['no --match-set', '-m set --return-nomatch -j DROP', 'needs --match-set'],
  ])('%s is an error with its line', (_n, r, want) => {
    const d = rule(r).diagnostics.map(formatDiagnostic).join('\n');
    expect(d).toContain('d.rules:3');
    expect(d).toContain(want);
  });
  it('counter conditions are reported as unsupported, not guessed', () => {
    const d = rule('-m set --match-set s src --packets-gt 5 -j DROP').diagnostics;
    expect(d.map(formatDiagnostic).join('\n')).toContain('--packets-gt');
  });
});

describe('formatIpsetRestore', () => {
  it('writes what ipset save prints, and reads back to the same sets', () => {
    const text = formatIpsetRestore([
      {
        name: 'KUBE-SRC-X',
        type: 'hash:net',
        options: 'family inet hashsize 1024 maxelem 65536 timeout 0',
        members: ['10.0.0.0/8', '10.1.0.0/16 nomatch'],
        addOptions: 'timeout 0',
      },
      { name: 'web', type: 'hash:ip', members: ['10.0.0.1'] },
    ]);
    expect(text).toBe(
      [
        'create KUBE-SRC-X hash:net family inet hashsize 1024 maxelem 65536 timeout 0',
        'add KUBE-SRC-X 10.0.0.0/8 timeout 0',
        'add KUBE-SRC-X 10.1.0.0/16 timeout 0 nomatch',
        'create web hash:ip family inet hashsize 1024 maxelem 65536',
        'add web 10.0.0.1',
        '',
      ].join('\n'),
    );
    const back = sets(text);
    expect(back.get('KUBE-SRC-X')!.entries.map((e) => e.nomatch)).toEqual([false, true]);
    expect(lookupSet(back, back.get('KUBE-SRC-X')!, ['src'], probe('10.1.2.3', '1.1.1.1'))).toBe(
      'nomatch',
    );
    expect(formatIpsetRestore([])).toBe('');
  });
});
