import { describe, expect, it } from 'vitest';
import {
  argvToSave,
  chainLines,
  parseNoErrors,
  upstreamFlannelForwardRules as upstreamForwardRules,
  upstreamFlannelMasqRules as upstreamMasqRules,
} from './testing/edge.js';
import {
  CODE_FLANNEL_CIDR,
  CODE_FLANNEL_SUBNET_OUTSIDE,
  compileFlannelMasq,
} from './flannel-masq.js';

describe('compileFlannelMasq', () => {
  it('golden: the text flanneld leaves on node 10.244.1.0/24 (vxlan or host-gw alike)', () => {
    const out = compileFlannelMasq({ network: '10.244.0.0/16', subnet: '10.244.1.0/24' });
    expect(out.saveText).toBe(
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':FLANNEL-FWD - [0:0]',
        '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
        '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        'COMMIT',
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':FLANNEL-POSTRTG - [0:0]',
        '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
        '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(out.diagnostics).toEqual([]);
  });

  it.each([
    ['10.244.0.0/16', '10.244.1.0/24', true],
    ['10.244.0.0/16', '10.244.7.0/24', false],
    ['10.42.0.0/16', '10.42.0.0/24', true],
    ['172.20.0.0/14', '172.21.128.0/25', true],
  ])(
    'equals upstream masqRules/forwardRules for network %s, lease %s, random-fully %s',
    (network, subnet, rf) => {
      const out = compileFlannelMasq({ network, subnet, randomFully: rf });
      const upstreamLines = (rules: [string, string[]][], chain: string) =>
        rules.filter(([c]) => c === chain).map(([c, argv]) => `-A ${c} ${argvToSave(argv)}`);
      expect(
        ['POSTROUTING', 'FLANNEL-POSTRTG'].map((ch) => chainLines(out.saveText, 'nat', ch)),
      ).toEqual(
        ['POSTROUTING', 'FLANNEL-POSTRTG'].map((ch) =>
          upstreamLines(upstreamMasqRules(network, subnet, rf), ch),
        ),
      );
      expect(
        ['FORWARD', 'FLANNEL-FWD'].map((ch) => chainLines(out.saveText, 'filter', ch)),
      ).toEqual(
        ['FORWARD', 'FLANNEL-FWD'].map((ch) => upstreamLines(upstreamForwardRules(network), ch)),
      );
      expect(parseNoErrors(out.text).errors).toEqual([]);
      expect(parseNoErrors(out.saveText).errors).toEqual([]);
    },
  );

  it('--ip-masq off: only the forward rules; --iptables-forward-rules off: only masq', () => {
    expect(
      compileFlannelMasq({ network: '10.244.0.0/16', subnet: '10.244.1.0/24', ipMasq: false })
        .saveText,
    ).not.toContain('*nat');
    expect(
      compileFlannelMasq({ network: '10.244.0.0/16', subnet: '10.244.1.0/24', forwardRules: false })
        .saveText,
    ).not.toContain('*filter');
    expect(
      compileFlannelMasq({
        network: '10.244.0.0/16',
        subnet: '10.244.1.0/24',
        ipMasq: false,
        forwardRules: false,
      }).text,
    ).toBe('');
  });

  it.each([
    [{ network: '10.244.0.0/33', subnet: '10.244.1.0/24' }, CODE_FLANNEL_CIDR, 'error', 'network'],
    [{ network: '10.244.0.0/16', subnet: 'nope' }, CODE_FLANNEL_CIDR, 'error', 'subnet'],
    [
      { network: '10.244.0.0/16', subnet: '10.245.1.0/24' },
      CODE_FLANNEL_SUBNET_OUTSIDE,
      'warning',
      'subnet',
    ],
    [
      { network: '10.244.0.0/16', subnet: '10.0.0.0/8' },
      CODE_FLANNEL_SUBNET_OUTSIDE,
      'warning',
      'subnet',
    ],
  ])('%o → %s', (input, code, severity, field) => {
    const out = compileFlannelMasq({ ...input, object: 'Node n1' });
    expect(out.diagnostics).toMatchObject([{ code, severity, field, object: 'Node n1' }]);
  });
});
