/**
 * ip6tables-save dumps: family detection, address normalisation and the
 * IPv6-only options, checked against what ip6tables-save 1.8.9 printed for
 * test/fixtures/iptables/battery6.rules (battery6.saved; the real-kernel
 * check is roundtrip6.kernel.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectIptablesFamily, parseIptablesSave, serializeRuleset } from './index.js';

const FIX = join(process.cwd(), 'test/fixtures/iptables');
const read = (f: string) => readFileSync(join(FIX, f), 'utf8');

/** One rule in an ip6tables dump: its saved text, or its first diagnostic. */
function rule6(spec: string, table = 'filter', chain = 'INPUT') {
  const text = `*${table}\n-A ${chain} ${spec}\nCOMMIT\n`;
  const r = parseIptablesSave(text, 'd6', { family: 'ipv6' });
  const rules = r.ruleset.tables.get(table as never)?.chains.get(chain)?.rules ?? [];
  return { text: rules[0]?.text, rule: rules[0], diagnostics: r.diagnostics };
}

describe('ip6tables-save text', () => {
  it('battery6: the restore input serialises to what ip6tables-save printed', () => {
    const input = parseIptablesSave(read('battery6.rules'), 'battery6.rules');
    expect(input.diagnostics).toEqual([]);
    expect(input.ruleset.family).toBe('ipv6');
    const saved = read('battery6.saved');
    const byTable = (t: string) =>
      Object.fromEntries(t.split(/^(?=\*)/m).map((b) => [b.slice(0, b.indexOf('\n')), b.trim()]));
    expect(byTable(serializeRuleset(input.ruleset))).toEqual(byTable(saved));
    const again = parseIptablesSave(saved, 'battery6.saved');
    expect(again.diagnostics).toEqual([]);
    expect(serializeRuleset(again.ruleset)).toBe(saved);
  });

  it.each([
    ['-s 2001:DB8:0:0:0:0:0:1 -j DROP', '-s 2001:db8::1/128 -j DROP'],
    ['-d ::1 -j DROP', '-d ::1/128 -j DROP'],
    ['-s 2001:db8::1/64 -j DROP', '-s 2001:db8::/64 -j DROP'],
    ['-s ::/0 -j DROP', '-j DROP'],
    ['! -s ::/0 -j DROP', '! -s ::/0 -j DROP'],
    ['-s 2001:db8::/ffff:ffff:: -j DROP', '-s 2001:db8::/32 -j DROP'],
    ['-s 2001:db8:0:0:1::/ffff:ffff:0:ffff:: -j DROP', '-s 2001:db8::/ffff:ffff:0:ffff:: -j DROP'],
    [
      '-p 58 -m icmp6 --icmpv6-type ping -j ACCEPT',
      '-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT',
    ],
    [
      '-p icmpv6 --icmpv6-type no-route -j ACCEPT',
      '-p ipv6-icmp -m icmp6 --icmpv6-type 1/0 -j ACCEPT',
    ],
    ['-p tcp -j REJECT', '-p tcp -j REJECT --reject-with icmp6-port-unreachable'],
    ['-j REJECT --reject-with adm-prohibited', '-j REJECT --reject-with icmp6-adm-prohibited'],
    ['-p tcp -j REJECT --reject-with tcp-reset', '-p tcp -j REJECT --reject-with tcp-reset'],
  ])('%s → %s', (spec, want) => {
    const r = rule6(spec);
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe(want);
  });

  it.each([
    [
      '-p tcp -j DNAT --to-destination [2001:DB8::0:2]:8080',
      '-p tcp -j DNAT --to-destination [2001:db8::2]:8080',
      { from: '2001:db8::2', to: '2001:db8::2' },
      { from: 8080, to: 8080 },
    ],
    [
      '-j DNAT --to-destination fd00::1',
      '-j DNAT --to-destination fd00::1',
      { from: 'fd00::1', to: 'fd00::1' },
      undefined,
    ],
    [
      '-p tcp -j DNAT --to-destination [2001:db8::1-2001:db8::5]:80-90',
      '-p tcp -j DNAT --to-destination [2001:db8::1-2001:db8::5]:80-90',
      { from: '2001:db8::1', to: '2001:db8::5' },
      { from: 80, to: 90 },
    ],
  ])('DNAT %s', (spec, want, toAddr, toPorts) => {
    const r = rule6(spec, 'nat', 'PREROUTING');
    expect(r.diagnostics).toEqual([]);
    expect(r.text).toBe(want);
    expect(r.rule?.target).toMatchObject({ kind: 'DNAT', toAddr, ...(toPorts ? { toPorts } : {}) });
  });

  it('MASQUERADE and SNAT', () => {
    expect(rule6('-s fd00:10::/64 -j MASQUERADE --random-fully', 'nat', 'POSTROUTING').text).toBe(
      '-s fd00:10::/64 -j MASQUERADE --random-fully',
    );
    expect(
      rule6('-p udp -j SNAT --to-source [2001:db8::9]:1000-2000', 'nat', 'POSTROUTING').text,
    ).toBe('-p udp -j SNAT --to-source [2001:db8::9]:1000-2000');
  });

  it.each([
    ['-s 10.0.0.1 -j DROP', /IPv4 address in an ip6tables/],
    ['-s 2001:db8::/129 -j DROP', /out of range \(0–128\)/],
    ['-j DNAT --to-destination 10.0.0.1:80', /IPv4 address in an ip6tables/],
    ['-j REJECT --reject-with icmp-port-unreachable', /unknown type .* for ip6tables/],
    ['-m icmp6 --icmpv6-type 128 -j ACCEPT', /needs -p ipv6-icmp/],
    ['-p ipv6-icmp -m icmp6 --icmpv6-type bogus -j ACCEPT', /not an ICMPv6 type/],
    ['-j REJECT --reject-with tcp-reset', /needs -p tcp/],
  ])('%s is an error: %s', (spec, msg) => {
    const table = spec.includes('DNAT') ? 'nat' : 'filter';
    const r = rule6(spec, table, table === 'nat' ? 'PREROUTING' : 'INPUT');
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        severity: 'error',
        line: 2,
        file: 'd6',
        message: expect.stringMatching(msg),
      }),
    ]);
  });

  it('an IPv6 address in an iptables (IPv4) dump is an error naming the family', () => {
    const r = parseIptablesSave('*filter\n-A INPUT -s 2001:db8::1 -j DROP\nCOMMIT\n', 'd4', {
      family: 'ipv4',
    });
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        line: 2,
        message: expect.stringMatching(/IPv6 address in an iptables \(IPv4\)/),
      }),
    ]);
  });
});

describe('detectIptablesFamily', () => {
  it.each([
    ['*filter\n-A INPUT -s 10.0.0.1/32 -j DROP\nCOMMIT\n', null],
    ['*nat\n-A X -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n', null],
    ['*nat\n-A X -p tcp -j DNAT --to-destination :80\nCOMMIT\n', null],
    ['*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', null],
    ['*filter\n-A INPUT -m comment --comment "a:b::c" -j DROP\nCOMMIT\n', null],
    ['*filter\n\n-A INPUT -d ::1/128 -j DROP\nCOMMIT\n', 3],
    ['*filter\n-A INPUT ! -s fd00::/8 -j DROP\nCOMMIT\n', 2],
    ['*nat\n-A X -p tcp -j DNAT --to-destination [fd00::1]:80\nCOMMIT\n', 2],
    ['*filter\n-A INPUT -j REJECT --reject-with icmp6-adm-prohibited\nCOMMIT\n', 2],
    ['*filter\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n', 2],
  ])('%j → %s', (text, line) => {
    const d = detectIptablesFamily(text);
    expect(d === null ? null : d.line).toBe(line);
    expect(parseIptablesSave(text).ruleset.family).toBe(line === null ? 'ipv4' : 'ipv6');
  });
});
