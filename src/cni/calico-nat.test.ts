import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODE_CALICO_POOL, compileCalicoNat, felixRuleHashes } from './calico-nat.js';
import { chainLines, parseNoErrors } from './testing/edge.js';

interface Dump {
  natOutgoingRule: string;
  lines: string[];
  ipipTunnelRule: { line: string };
}
const dump = JSON.parse(readFileSync('test/fixtures/edge/calico-dump.json', 'utf8')) as Dump;

describe('felixRuleHashes (felix/iptables RuleHashes)', () => {
  it.each([
    ['POSTROUTING', ['--jump cali-POSTROUTING'], ['O3lYWMrLQYEMJtB5']],
    ['PREROUTING', ['--jump cali-PREROUTING'], ['6gwbT8clXdHdC1b1']],
    ['OUTPUT', ['--jump cali-OUTPUT'], ['tVnHkvAo15HuiPy0']],
    ['cali-OUTPUT', ['--jump cali-fip-dnat'], ['GBTAv2p5CwevEyJm']],
    ['cali-PREROUTING', ['--jump cali-fip-dnat'], ['r6XmIziWUJsdOK6Z']],
    [
      'cali-POSTROUTING',
      [
        '--jump cali-fip-snat',
        '--jump cali-nat-outgoing',
        '--out-interface vxlan.calico -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL --jump MASQUERADE --random-fully',
      ],
      ['Z-c7XtVd2Bq7s_hA', 'nYKhEzDlr11Jccal', 'e9dnSgSVNmIcpVhP'],
    ],
    [
      'cali-nat-outgoing',
      [
        '-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst --jump MASQUERADE --random-fully',
      ],
      ['flqWnvo8yq4ULQLa'],
    ],
  ])('%s: the hashes in a real dump', (chain, rendered, want) => {
    expect(felixRuleHashes(chain, rendered)).toEqual(want);
  });
});

describe('compileCalicoNat', () => {
  const vxlanNode = compileCalicoNat({
    pools: [{ cidr: '192.168.0.0/16', natOutgoing: true }],
    vxlanTunnelAddress: '192.168.185.0',
  });

  it('every non-ipset Felix line of a real VXLAN node dump, byte for byte', () => {
    const generated = new Set(vxlanNode.saveText.split('\n'));
    for (const line of dump.lines) expect(generated).toContain(line);
    // …and nothing else in those chains.
    for (const [table, chain] of [
      ['nat', 'PREROUTING'],
      ['nat', 'OUTPUT'],
      ['nat', 'POSTROUTING'],
      ['nat', 'cali-POSTROUTING'],
      ['nat', 'cali-PREROUTING'],
      ['nat', 'cali-OUTPUT'],
    ] as const) {
      expect(chainLines(vxlanNode.saveText, table, chain)).toEqual(
        dump.lines.filter((l) => l.startsWith(`-A ${chain} `)),
      );
    }
  });

  it('cali-nat-outgoing: the real rule, byte for byte, and the pool IP sets it matches on', () => {
    expect(chainLines(vxlanNode.saveText, 'nat', 'cali-nat-outgoing')).toEqual([
      dump.natOutgoingRule,
    ]);
    expect(vxlanNode.diagnostics).toEqual([]);
    expect(vxlanNode.ipsetSave).toBe(
      [
        'create cali40all-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576',
        'add cali40all-ipam-pools 192.168.0.0/16',
        'create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576',
        'add cali40masq-ipam-pools 192.168.0.0/16',
        '',
      ].join('\n'),
    );
  });

  it('IPIP node: the tunl0 rule as in real dumps', () => {
    const out = compileCalicoNat({
      pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }],
      ipipTunnelAddress: '10.244.3.0',
    });
    expect(chainLines(out.saveText, 'nat', 'cali-POSTROUTING')[2]).toBe(dump.ipipTunnelRule.line);
  });

  it('several pools: every pool in the all-pools set, only natOutgoing pools in the masq set', () => {
    const out = compileCalicoNat({
      pools: [
        { cidr: '10.244.0.0/16', natOutgoing: true },
        { cidr: '10.10.0.0/16' },
        { cidr: '10.20.0.0/16', natOutgoing: true },
      ],
    });
    expect(out.ipsetSave?.split('\n').filter((l) => l.startsWith('add'))).toEqual([
      'add cali40all-ipam-pools 10.10.0.0/16',
      'add cali40all-ipam-pools 10.20.0.0/16',
      'add cali40all-ipam-pools 10.244.0.0/16',
      'add cali40masq-ipam-pools 10.20.0.0/16',
      'add cali40masq-ipam-pools 10.244.0.0/16',
    ]);
    expect(chainLines(out.saveText, 'nat', 'cali-nat-outgoing')).toHaveLength(1);
  });

  it('no natOutgoing pool: the chain is empty, as Felix renders it', () => {
    const out = compileCalicoNat({ pools: [{ cidr: '10.244.0.0/16' }] });
    expect(chainLines(out.saveText, 'nat', 'cali-nat-outgoing')).toEqual([]);
    expect(out.saveText).toContain(':cali-nat-outgoing - [0:0]');
    expect(out.diagnostics).toEqual([]);
  });

  it('natOutgoingAddress: SNAT instead of MASQUERADE', () => {
    const out = compileCalicoNat({
      pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }],
      natOutgoingAddress: '192.168.1.10',
    });
    expect(chainLines(out.saveText, 'nat', 'cali-nat-outgoing')[0]).toMatch(
      /^-A cali-nat-outgoing -m comment --comment "cali:[\w-]{16}" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j SNAT --to-source 192.168.1.10$/,
    );
  });

  it('natPortRange: per-protocol rules before the default', () => {
    const out = compileCalicoNat({
      pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }],
      natPortRange: { min: 99, max: 100 },
    });
    const body = chainLines(out.saveText, 'nat', 'cali-nat-outgoing').map((l) =>
      l.replace(/-m comment --comment "[^"]+" /, ''),
    );
    const sets =
      '-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst';
    expect(body).toEqual([
      `-A cali-nat-outgoing -p tcp ${sets} -j MASQUERADE --to-ports 99-100 --random-fully`,
      `-A cali-nat-outgoing -p tcp ${sets} -j RETURN`,
      `-A cali-nat-outgoing -p udp ${sets} -j MASQUERADE --to-ports 99-100 --random-fully`,
      `-A cali-nat-outgoing -p udp ${sets} -j RETURN`,
      `-A cali-nat-outgoing ${sets} -j MASQUERADE --random-fully`,
    ]);
  });

  it('randomFully false drops --random-fully everywhere', () => {
    const out = compileCalicoNat({
      pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }],
      ipipTunnelAddress: '10.244.3.0',
      randomFully: false,
    });
    expect(out.saveText).not.toContain('--random-fully');
  });

  it('bad pool CIDR is an error naming the field', () => {
    const out = compileCalicoNat({
      pools: [{ cidr: '10.244.0.0/40', natOutgoing: true }],
      object: 'IPPool default',
    });
    expect(out.diagnostics).toMatchObject([
      {
        code: CODE_CALICO_POOL,
        severity: 'error',
        field: 'pools[0].cidr',
        object: 'IPPool default',
      },
    ]);
  });

  it('every generated text parses without errors', () => {
    for (const out of [
      vxlanNode,
      compileCalicoNat({
        pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }],
        natPortRange: { min: 1024, max: 65535 },
        ipipTunnelAddress: '10.244.0.1',
      }),
    ]) {
      expect(parseNoErrors(out.text).errors).toEqual([]);
      expect(parseNoErrors(out.saveText).errors).toEqual([]);
    }
  });
});
