import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave, serializeRuleset } from './index.js';

/** Upstream kube-proxy's TestTracePacket ruleset (see test/fixtures/kube-proxy/README.md). */
const fixture = JSON.parse(
  readFileSync(
    new URL('../../test/fixtures/kube-proxy/v13x_TestTracePacket.json', import.meta.url),
    'utf8',
  ),
) as { source: string; iptablesSave: string };

describe('kube-proxy TestTracePacket dump', () => {
  const { ruleset, diagnostics } = parseIptablesSave(
    fixture.iptablesSave,
    'v13x_TestTracePacket.json',
  );
  const filter = ruleset.tables.get('filter')!;
  const nat = ruleset.tables.get('nat')!;

  it('parses with no diagnostics at all', () => {
    expect(diagnostics).toEqual([]);
    expect([...ruleset.tables.keys()]).toEqual(['filter', 'nat']);
  });

  it('has the declared chains, built-ins first', () => {
    expect([...filter.chains.keys()]).toEqual([
      'INPUT',
      'FORWARD',
      'OUTPUT',
      'KUBE-EXTERNAL-SERVICES',
      'KUBE-FIREWALL',
      'KUBE-FORWARD',
      'KUBE-NODEPORTS',
      'KUBE-SERVICES',
      'KUBE-PROXY-FIREWALL',
    ]);
    expect(nat.chains.size).toBe(4 + 20);
    const ruleCount = (t: typeof nat): number =>
      [...t.chains.values()].reduce((n, c) => n + c.rules.length, 0);
    expect(ruleCount(filter)).toBe(16);
    expect(ruleCount(nat)).toBe(54);
  });

  it('reads unquoted multi-word comments up to the next option', () => {
    const input = filter.chains.get('INPUT')!.rules;
    expect(input[0]!.matches).toEqual([
      { kind: 'comment', text: 'kubernetes health check service ports' },
    ]);
    expect(input[0]!.target).toEqual({ kind: 'jump', chain: 'KUBE-NODEPORTS' });
    expect(input[0]!.text).toBe(
      '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    );
    expect(input[0]!.source).toEqual({ file: 'v13x_TestTracePacket.json', line: 11 });
    expect(nat.chains.get('KUBE-NODEPORTS')!.rules[0]!.text).toBe(
      '-p tcp -m comment --comment "ns2/svc2:p80" -m tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT',
    );
  });

  it('normalises kube-proxy spellings the way iptables-save prints them', () => {
    const svc = nat.chains.get('KUBE-SVC-4SW47YFZTEDKD3PK')!.rules.map((r) => r.text);
    expect(svc).toEqual([
      '! -s 10.0.0.0/8 -d 172.30.0.44/32 -p tcp -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
      '-m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC',
      '-m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ',
    ]);
    expect(nat.chains.get('KUBE-MARK-MASQ')!.rules[0]!.target).toEqual({
      kind: 'MARK',
      value: 0x4000,
      mask: 0x4000,
    });
    expect(nat.chains.get('KUBE-POSTROUTING')!.rules[1]!.target).toEqual({
      kind: 'MARK',
      value: 0x4000,
      mask: 0,
    });
    expect(nat.chains.get('KUBE-SEP-C6EBXVWJJZMIWKLZ')!.rules[1]!.target).toEqual({
      kind: 'DNAT',
      toAddr: { from: '10.180.0.5', to: '10.180.0.5' },
      toPorts: { from: 80, to: 80 },
      random: false,
      persistent: false,
    });
    expect(filter.chains.get('KUBE-SERVICES')!.rules[0]!.target).toEqual({
      kind: 'REJECT',
      with: 'icmp-port-unreachable',
    });
  });

  it('keeps a rule without -j (it only counts)', () => {
    const fw = nat.chains.get('KUBE-FW-NUKIZ6OKUXPJNT4C')!.rules;
    expect(fw[1]!.target).toBeUndefined();
    expect(fw[1]!.text).toBe(
      '-m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"',
    );
  });

  it('serialises to a dump that parses back to the same rules', () => {
    const again = parseIptablesSave(serializeRuleset(ruleset));
    expect(again.diagnostics).toEqual([]);
    for (const [name, t] of ruleset.tables) {
      for (const [cn, c] of t.chains) {
        expect(
          again.ruleset.tables
            .get(name)!
            .chains.get(cn)!
            .rules.map((r) => [r.text, r.matches, r.target]),
        ).toEqual(c.rules.map((r) => [r.text, r.matches, r.target]));
      }
    }
  });
});
