import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Match, Target } from '../kernel/netfilter/types.js';
import { formatRule, parseRule, ruleText } from './index.js';

/**
 * Each case: a rule spec as people and kube-proxy write it, and the text
 * iptables-save v1.8.9 prints for it. roundtrip.kernel.test.ts loads every
 * case into a real kernel and checks `saved` against iptables-save.
 */
interface CanonicalCase {
  readonly input: string;
  readonly saved: string;
  readonly kernel?: boolean;
}
const canonical: readonly CanonicalCase[] = (
  JSON.parse(
    readFileSync(new URL('../../test/fixtures/iptables/canonical.json', import.meta.url), 'utf8'),
  ) as {
    cases: CanonicalCase[];
  }
).cases;

describe('parseRule: canonical iptables-save text', () => {
  it.each(canonical.map((c) => [c.input, c.saved] as const))('%s', (input, expected) => {
    const { rule, diagnostics } = parseRule(input, { file: 't', line: 1 });
    expect(diagnostics).toEqual([]);
    expect(rule.text).toBe(expected);
    // The canonical text is a fixed point, and formatRule agrees with the model
    // (except CT --notrack, which the model holds as NOTRACK).
    const again = parseRule(expected);
    expect(again.diagnostics).toEqual([]);
    expect(again.rule.text).toBe(expected);
    expect(again.rule.matches).toEqual(rule.matches);
    expect(again.rule.target).toEqual(rule.target);
    if (!expected.includes('CT --notrack')) expect(ruleText(rule)).toBe(expected);
  });
});

describe('parseRule: the model', () => {
  const cases: readonly { input: string; matches?: Match[]; target?: Target }[] = [
    {
      input: '-m tcp -p tcp -d 10.96.0.1 --dport 443 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
      matches: [
        { kind: 'source', cidr: '10.244.0.0/16', invert: true },
        { kind: 'destination', cidr: '10.96.0.1/32', invert: false },
        { kind: 'protocol', protocol: 'tcp', invert: false },
        { kind: 'l4', protocol: 'tcp', dport: { from: 443, to: 443, invert: false } },
      ],
      target: { kind: 'jump', chain: 'KUBE-MARK-MASQ' },
    },
    {
      input: '-i cali+ ! -o eth0',
      matches: [
        { kind: 'in-interface', name: 'cali', wildcard: true, invert: false },
        { kind: 'out-interface', name: 'eth0', wildcard: false, invert: true },
      ],
    },
    {
      input: '-p tcp ! --syn',
      matches: [
        { kind: 'protocol', protocol: 'tcp', invert: false },
        {
          kind: 'l4',
          protocol: 'tcp',
          tcpFlags: { mask: ['FIN', 'SYN', 'RST', 'ACK'], comp: ['SYN'], invert: true },
        },
      ],
    },
    {
      input: '-p tcp -m multiport --dports 80,443,8000:8080',
      matches: [
        { kind: 'protocol', protocol: 'tcp', invert: false },
        {
          kind: 'multiport',
          which: 'dports',
          ports: [
            { from: 80, to: 80 },
            { from: 443, to: 443 },
            { from: 8000, to: 8080 },
          ],
          invert: false,
        },
      ],
    },
    {
      input: '-p icmp --icmp-type 3/4',
      matches: [
        { kind: 'protocol', protocol: 'icmp', invert: false },
        { kind: 'icmp', type: 3, code: 4, invert: false },
      ],
    },
    {
      input: '-p icmp --icmp-type echo-request',
      matches: [
        { kind: 'protocol', protocol: 'icmp', invert: false },
        { kind: 'icmp', type: 8, invert: false },
      ],
    },
    {
      input:
        '-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT --ctstatus ASSURED --ctorigdst 10.96.0.10 --ctorigdstport 53 --ctdir ORIGINAL',
      matches: [
        {
          kind: 'conntrack',
          ctstate: { states: ['RELATED', 'ESTABLISHED', 'DNAT'], invert: true },
          ctstatus: { statuses: ['ASSURED'], invert: false },
          ctorigdst: { cidr: '10.96.0.10/32', invert: false },
          ctorigdstport: { from: 53, to: 53, invert: false },
          ctdir: 'ORIGINAL',
        },
      ],
    },
    { input: '-m state --state NEW', matches: [{ kind: 'state', states: ['NEW'], invert: false }] },
    {
      input: '-m mark ! --mark 0x4000/0x4000',
      matches: [{ kind: 'mark', value: 0x4000, mask: 0x4000, invert: true }],
    },
    {
      input: '-m connmark --mark 5',
      matches: [{ kind: 'connmark', value: 5, mask: 0xffffffff, invert: false }],
    },
    {
      input: '-m addrtype --dst-type LOCAL --limit-iface-in',
      matches: [
        {
          kind: 'addrtype',
          dstType: { types: ['LOCAL'], invert: false },
          limitIfaceIn: true,
          limitIfaceOut: false,
        },
      ],
    },
    {
      input: '-m statistic --mode random --probability 0.33333333349',
      matches: [{ kind: 'statistic', mode: 'random', probability: 0.33333333349, invert: false }],
    },
    {
      input: '-m statistic --mode nth --every 3 --packet 1',
      matches: [{ kind: 'statistic', mode: 'nth', every: 3, packet: 1, invert: false }],
    },
    {
      input: '-m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap',
      matches: [
        {
          kind: 'recent',
          name: 'KUBE-SEP-X',
          action: 'rcheck',
          seconds: 10800,
          reap: true,
          rttl: false,
          side: 'source',
          mask: '255.255.255.255',
          invert: false,
        },
      ],
    },
    {
      input: '-m physdev --physdev-in veth+ ! --physdev-is-bridged',
      matches: [
        {
          kind: 'physdev',
          physdevIn: { name: 'veth', wildcard: true, invert: false },
          isBridged: { invert: true },
        },
      ],
    },
    { input: '-m comment --comment a b c', matches: [{ kind: 'comment', text: 'a b c' }] },
    { input: '-j MARK --or-mark 0x4000', target: { kind: 'MARK', value: 0x4000, mask: 0x4000 } },
    { input: '-j MARK --and-mark 0x4000', target: { kind: 'MARK', value: 0, mask: 0xffffbfff } },
    { input: '-j MARK --xor-mark 0x4000', target: { kind: 'MARK', value: 0x4000, mask: 0 } },
    {
      input: '-j MARK --set-mark 0x4000',
      target: { kind: 'MARK', value: 0x4000, mask: 0xffffffff },
    },
    {
      input: '-j REJECT --reject-with tcp-rst -p tcp',
      matches: [{ kind: 'protocol', protocol: 'tcp', invert: false }],
      target: { kind: 'REJECT', with: 'tcp-reset' },
    },
    {
      input: '-p tcp -j DNAT --to-destination 10.1.2.3-10.1.2.4:80-81',
      target: {
        kind: 'DNAT',
        toAddr: { from: '10.1.2.3', to: '10.1.2.4' },
        toPorts: { from: 80, to: 81 },
        random: false,
        persistent: false,
      },
    },
    {
      input: '-j DNAT --to-destination 10.244.1.5',
      target: {
        kind: 'DNAT',
        toAddr: { from: '10.244.1.5', to: '10.244.1.5' },
        random: false,
        persistent: false,
      },
    },
    {
      input: '-j SNAT --to-source 1.2.3.4',
      target: {
        kind: 'SNAT',
        toAddr: { from: '1.2.3.4', to: '1.2.3.4' },
        random: false,
        randomFully: false,
        persistent: false,
      },
    },
    {
      input: '-j MASQUERADE --random-fully',
      target: { kind: 'MASQUERADE', random: false, randomFully: true },
    },
    {
      input: '-p tcp -j REDIRECT --to-ports 8080',
      target: { kind: 'REDIRECT', toPorts: { from: 8080, to: 8080 }, random: false },
    },
    {
      input: '-j LOG --log-prefix "x: " --log-level debug',
      target: { kind: 'LOG', prefix: 'x: ', level: '7' },
    },
    { input: '-j CT --notrack', target: { kind: 'NOTRACK' } },
    {
      input: '-j CONNMARK --restore-mark',
      target: {
        kind: 'CONNMARK',
        args: ['--restore-mark', '--nfmask', '0xffffffff', '--ctmask', '0xffffffff'],
      },
    },
    { input: '-g KUBE-X', target: { kind: 'goto', chain: 'KUBE-X' } },
  ];
  it.each(cases)('$input', ({ input, matches, target }) => {
    const { rule, diagnostics } = parseRule(input);
    expect(diagnostics).toEqual([]);
    if (matches) expect(rule.matches).toEqual(matches);
    if (target) expect(rule.target).toEqual(target);
    else expect(rule.target).toBeUndefined();
  });

  it('keeps the source it was given', () => {
    expect(parseRule('-j ACCEPT', { file: 'f', line: 7 }).rule.source).toEqual({
      file: 'f',
      line: 7,
    });
  });

  it('formatRule prints a model built by hand', () => {
    expect(
      formatRule({
        matches: [
          { kind: 'l4', protocol: 'udp', dport: { from: 53, to: 53, invert: false } },
          { kind: 'protocol', protocol: 'udp', invert: false },
          { kind: 'destination', cidr: '10.96.0.10/32', invert: false },
        ],
        target: { kind: 'jump', chain: 'KUBE-SVC-TCOU7JCQXEZGVUNU' },
      }),
    ).toBe('-d 10.96.0.10/32 -p udp -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU');
  });
});

describe('parseRule: errors', () => {
  const errors: readonly (readonly [string, string, string])[] = [
    ['-s', 'iptables-syntax', 'option -s needs a value'],
    ['-s -j ACCEPT', 'iptables-syntax', 'option -s needs a value'],
    ['-s 10.0.0.300', 'iptables-bad-value', 'not an IPv4 address'],
    ['-s example.com', 'iptables-bad-value', 'host names are not resolved'],
    ['-s 10.0.0.0/33', 'iptables-bad-value', 'prefix length 33'],
    ['-s 1.1.1.1,2.2.2.2', 'iptables-bad-value', 'address lists'],
    ['-s 1.2.3.4 -s 5.6.7.8', 'iptables-syntax', 'multiple -s'],
    ['-i averyveryverylongname0', 'iptables-bad-value', '1–15 characters'],
    ['-p foo', 'iptables-bad-value', 'unknown protocol "foo"'],
    ['-p tcp --dport 99999', 'iptables-bad-value', 'port 99999 is out of range'],
    ['-p tcp --dport 90:80', 'iptables-bad-value', 'min > max'],
    ['-p tcp --dport nosuchservice', 'iptables-bad-value', 'not a port number'],
    ['-p tcp --dport 80 --dport 81', 'iptables-syntax', '--dport given twice'],
    ['-m tcp --dport 80', 'iptables-bad-value', '-m tcp needs -p tcp'],
    ['! -p tcp -m tcp --dport 80', 'iptables-bad-value', '-m tcp needs -p tcp'],
    ['-p udp -m multiport --dports 80:80', 'iptables-bad-value', 'invalid port range'],
    [
      '-p udp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16',
      'iptables-bad-value',
      'too many ports',
    ],
    ['-m multiport --dports 80', 'iptables-bad-value', '-m multiport needs -p tcp'],
    ['-p tcp --tcp-flags SYN', 'iptables-syntax', 'needs a value'],
    ['-p tcp --tcp-flags SYN,FOO SYN', 'iptables-bad-value', 'unknown TCP flag "FOO"'],
    ['-p icmp --icmp-type nosuch', 'iptables-bad-value', 'not an ICMP type'],
    ['-p icmp --icmp-type echo', 'iptables-bad-value', 'ambiguous'],
    ['-p icmp --icmp-type 3/', 'iptables-bad-value', 'bad code'],
    ['-p icmp --icmp-type 256', 'iptables-bad-value', 'not an ICMP type'],
    ['-p icmp -m icmp', 'iptables-bad-value', 'needs --icmp-type'],
    ['-m conntrack --ctstate NEW,BOGUS', 'iptables-bad-value', 'unknown state "BOGUS"'],
    ['-m conntrack', 'iptables-bad-value', 'needs at least one option'],
    ['-m conntrack --ctdir SIDEWAYS', 'iptables-bad-value', 'ORIGINAL or REPLY'],
    ['-m mark --mark 0xzz', 'iptables-bad-value', 'bad mark'],
    ['-m mark --mark 0x100000000', 'iptables-bad-value', 'out of range'],
    ['-m statistic --mode random --probability 1.5', 'iptables-bad-value', 'between 0 and 1'],
    ['-m statistic --mode random --probability abc', 'iptables-bad-value', 'not a number'],
    ['-m statistic --mode nth --every 3', 'iptables-bad-value', '--every needs --packet'],
    ['-m statistic --mode nth --every 3 --packet 3', 'iptables-bad-value', 'must be below --every'],
    ['-m statistic --mode sometimes', 'iptables-bad-value', 'random or nth'],
    ['-m recent --name X', 'iptables-bad-value', 'exactly one of --set'],
    ['-m recent --set --rcheck', 'iptables-bad-value', 'exactly one of --set'],
    ['-m recent --rcheck --reap', 'iptables-bad-value', '--reap needs --seconds'],
    ['-m addrtype --dst-type LOCALE', 'iptables-bad-value', 'unknown address type'],
    [
      '-m addrtype --limit-iface-in --limit-iface-out --dst-type LOCAL',
      'iptables-bad-value',
      'cannot be used together',
    ],
    ['-m comment --comment ' + 'x'.repeat(256), 'iptables-bad-value', 'shorter than 256'],
    ['! -m comment --comment x', 'iptables-syntax', '"!" cannot be used before -m'],
    ['-m comment ! --comment x', 'iptables-syntax', '"!" cannot be used before --comment'],
    ['-s 1.2.3.4 !', 'iptables-syntax', 'nothing to negate'],
    ['! ! -s 1.2.3.4', 'iptables-syntax', '"!" given twice'],
    ['-j ACCEPT -j DROP', 'iptables-syntax', 'only one -j or -g'],
    ['-g ACCEPT', 'iptables-syntax', '-g needs a user-defined chain'],
    ['-j REJECT --reject-with icmp-bogus', 'iptables-bad-value', 'unknown type "icmp-bogus"'],
    ['-j REJECT --reject-with tcp-reset', 'iptables-bad-value', 'tcp-reset needs -p tcp'],
    ['-j MARK', 'iptables-bad-value', 'MARK needs exactly one'],
    ['-j MARK --set-mark 1 --or-mark 2', 'iptables-bad-value', 'MARK needs exactly one'],
    ['-j DNAT --to-destination 10.0.0.1:80', 'iptables-bad-value', 'needs -p tcp'],
    ['-p tcp -j DNAT --to-destination 10.0.0.x:80', 'iptables-bad-value', 'not an IPv4 address'],
    ['-p tcp -j DNAT --to-destination 10.0.0.1:0', 'iptables-bad-value', 'port 0'],
    ['-p tcp -j DNAT --to-destination 10.0.0.9-10.0.0.1', 'iptables-bad-value', 'min > max'],
    ['-j SNAT', 'iptables-bad-value', 'SNAT needs --to-source'],
    ['-j MASQUERADE --to-ports 1000', 'iptables-bad-value', 'needs -p tcp'],
    ['-j LOG --log-level loud', 'iptables-bad-value', 'not a level'],
    ['-j LOG --log-prefix "' + 'p'.repeat(30) + '"', 'iptables-bad-value', 'longer than 29'],
    ['-j KUBE-SVC-X --foo', 'iptables-syntax', 'unknown option --foo for -j KUBE-SVC-X'],
    ['--bogus', 'iptables-syntax', 'unknown option --bogus'],
    ['-x', 'iptables-syntax', 'unknown option -x'],
    ['-m conntrack --ctst NEW', 'iptables-syntax', 'option --ctst is ambiguous'],
    ['--d 1.2.3.4', 'iptables-syntax', 'unknown option --d'],
    ['-p tcp stray', 'iptables-syntax', 'unexpected argument "stray"'],
    ['-t nat -j ACCEPT', 'iptables-syntax', '-t cannot be used'],
    ['-m comment --comment "open', 'iptables-syntax', 'unterminated quote'],
    ['-c x y', 'iptables-bad-value', 'two numbers'],
    ['-j ' + 'C'.repeat(29), 'iptables-syntax', 'longer than 28'],
  ];
  it.each(errors)('%s', (input, code, message) => {
    const { diagnostics } = parseRule(input, { file: 'rules', line: 3 });
    const errs = diagnostics.filter((d) => d.severity === 'error');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ code, file: 'rules', line: 3 });
    expect(errs[0]!.message).toContain(message);
  });
});

describe('parseRule: what packeteye does not model is kept and reported', () => {
  const cases: readonly {
    input: string;
    text: string;
    unsupported: Match | Target;
    token: string;
  }[] = [
    {
      input: '-m connlimit --connlimit-above 10 -j ACCEPT',
      text: '-m connlimit --connlimit-above 10 -j ACCEPT',
      unsupported: {
        kind: 'unsupported',
        module: 'connlimit',
        args: ['--connlimit-above', '10'],
      },
      token: '-m connlimit',
    },
    {
      input: '-m connlimit ! --connlimit-above 10 -p tcp --dport 80',
      text: '-p tcp -m connlimit ! --connlimit-above 10 -m tcp --dport 80',
      unsupported: {
        kind: 'unsupported',
        module: 'connlimit',
        args: ['!', '--connlimit-above', '10'],
      },
      token: '-m connlimit',
    },
    {
      input: '-m conntrack --ctstate NEW --ctproto 6',
      text: '-m conntrack --ctstate NEW --ctproto 6',
      unsupported: {
        kind: 'unsupported',
        module: 'conntrack',
        args: ['--ctstate', 'NEW', '--ctproto', '6'],
      },
      token: '--ctproto',
    },
    {
      input: '-m hashlimit --hashlimit-upto 5/min --hashlimit-name h -j LOG',
      text: '-m hashlimit --hashlimit-upto 5/min --hashlimit-name h -j LOG',
      unsupported: {
        kind: 'unsupported',
        module: 'hashlimit',
        args: ['--hashlimit-upto', '5/min', '--hashlimit-name', 'h'],
      },
      token: '-m hashlimit',
    },
    {
      input: '-m conntrack --ctorigdst 10.1.2.3/255.0.255.0',
      text: '-m conntrack --ctorigdst 10.1.2.3/255.0.255.0',
      unsupported: {
        kind: 'unsupported',
        module: 'conntrack',
        args: ['--ctorigdst', '10.1.2.3/255.0.255.0'],
      },
      token: '--ctorigdst',
    },
    {
      input: '-j TPROXY --on-port 15001 --tproxy-mark 0x1/0x1',
      text: '-j TPROXY --on-port 15001 --tproxy-mark 0x1/0x1',
      unsupported: {
        kind: 'unsupported',
        name: 'TPROXY',
        args: ['--on-port', '15001', '--tproxy-mark', '0x1/0x1'],
      },
      token: '-j TPROXY',
    },
    {
      input: '-p udp -j CT --zone 1',
      text: '-p udp -j CT --zone 1',
      unsupported: { kind: 'unsupported', name: 'CT', args: ['--zone', '1'] },
      token: '--zone',
    },
    {
      input: '-j LOG --log-uid',
      text: '-j LOG --log-uid',
      unsupported: { kind: 'unsupported', name: 'LOG', args: ['--log-uid'] },
      token: '--log-uid',
    },
  ];
  it.each(cases)('$input', ({ input, text, unsupported, token }) => {
    const { rule, diagnostics } = parseRule(input, { file: 'd', line: 9 });
    expect(rule.text).toBe(text);
    const all: (Match | Target | undefined)[] = [...rule.matches, rule.target];
    expect(all).toContainEqual(unsupported);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code: 'iptables-unsupported',
      severity: 'warning',
      file: 'd',
      line: 9,
    });
    expect(`${diagnostics[0]!.message} ${diagnostics[0]!.hint ?? ''}`).toContain(token);
  });
});

describe('nfacct (kube-proxy ≥1.30 counters)', () => {
  it('parses and prints as iptables-save does', () => {
    const { rule, diagnostics } = parseRule(
      '-m nfacct --nfacct-name  localhost_nps_accepted_pkts -j ACCEPT',
    );
    expect(diagnostics).toEqual([]);
    expect(rule.matches).toEqual([{ kind: 'nfacct', name: 'localhost_nps_accepted_pkts' }]);
    expect(rule.text).toBe('-m nfacct --nfacct-name  localhost_nps_accepted_pkts -j ACCEPT');
  });
});
