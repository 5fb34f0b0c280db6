import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chainLines, lineToSave, parseNoErrors } from '../cni/testing/edge.js';
import {
  CODE_IPMASQ_CONFIG,
  compileIpMasqAgent,
  ipMasqAgentForCluster,
  nonMasqueradeCidrs,
  type IpMasqAgentInput,
} from './ip-masq-agent.js';

interface Fixture {
  cases: { desc: string; input: IpMasqAgentInput; chain: string[] }[];
  akscal: { input: IpMasqAgentInput; save: string[] };
}
const fixture = JSON.parse(
  readFileSync('test/fixtures/edge/ip-masq-agent-upstream.json', 'utf8'),
) as Fixture;

const JUMP =
  '-A POSTROUTING -m comment --comment "\\"ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain\\"" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT';

describe('compileIpMasqAgent', () => {
  it.each(fixture.cases)('upstream TestSyncMasqRules: $desc', (c) => {
    const out = compileIpMasqAgent(c.input);
    expect(chainLines(out.saveText, 'nat', 'IP-MASQ-AGENT')).toEqual(c.chain.map(lineToSave));
    expect(chainLines(out.saveText, 'nat', 'POSTROUTING')).toEqual([JUMP]);
    expect(out.diagnostics).toEqual([]);
  });

  it('a real AKS node: every line of its iptables-save, in order', () => {
    const out = compileIpMasqAgent(fixture.akscal.input);
    const lines = out.saveText.split('\n').filter((l) => l.startsWith('-A '));
    expect(lines).toEqual(fixture.akscal.save);
  });

  it('golden: defaults (RFC 1918 + link-local, --random-fully)', () => {
    expect(compileIpMasqAgent().saveText).toBe(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':IP-MASQ-AGENT - [0:0]',
        JUMP,
        '-A IP-MASQ-AGENT -d 169.254.0.0/16 -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
        '-A IP-MASQ-AGENT -d 10.0.0.0/8 -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
        '-A IP-MASQ-AGENT -d 172.16.0.0/12 -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
        '-A IP-MASQ-AGENT -d 192.168.0.0/16 -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
        '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE --random-fully',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('older releases: unquoted jump comment, no --random-fully, custom chain', () => {
    const out = compileIpMasqAgent({
      quotedJumpComment: false,
      randomFully: false,
      masqChain: 'IP-MASQ',
      nonMasqueradeCIDRs: [],
    });
    expect(out.saveText.split('\n').filter((l) => l.startsWith('-A '))).toEqual([
      '-A POSTROUTING -m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ',
      '-A IP-MASQ -d 169.254.0.0/16 -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
      '-A IP-MASQ -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
    ]);
  });

  it.each([
    [
      { nonMasqueradeCIDRs: ['10.0.0.1/8'] },
      'CIDR "10.0.0.1/8" is not aligned to a CIDR block, ip: "10.0.0.1" network: "10.0.0.0/8"',
      'nonMasqueradeCIDRs[0]',
    ],
    [
      { nonMasqueradeCIDRs: ['10.0.0.0/8', 'banana'] },
      'CIDR "banana" could not be parsed',
      'nonMasqueradeCIDRs[1]',
    ],
    [
      { nonMasqueradeCIDRs: ['fc00::/7'] },
      'ipv6 is not enabled, but ipv6 cidr fc00::/7 provided',
      'nonMasqueradeCIDRs[0]',
    ],
    [
      { nonMasqueradeCIDRs: ['10.0.0.0/8', '11.0.0.0/8'], cidrLimit: 1 },
      'the daemon can only accept up to 1 CIDRs',
      'nonMasqueradeCIDRs',
    ],
  ])('rejected config %o: no rules, error', (input, msg, field) => {
    const out = compileIpMasqAgent({ ...input, object: 'ConfigMap kube-system/ip-masq-agent' });
    expect(out.text).toBe('');
    expect(out.diagnostics).toHaveLength(1);
    expect(out.diagnostics[0]).toMatchObject({
      code: CODE_IPMASQ_CONFIG,
      severity: 'error',
      field,
      object: 'ConfigMap kube-system/ip-masq-agent',
    });
    expect(out.diagnostics[0]!.message).toContain(msg);
  });

  it('nonMasqueradeCidrs: link-local first unless masqLinkLocal; config order kept', () => {
    expect(
      nonMasqueradeCidrs({ nonMasqueradeCIDRs: ['192.168.0.0/16', '10.0.0.0/8'] }).cidrs,
    ).toEqual(['169.254.0.0/16', '192.168.0.0/16', '10.0.0.0/8']);
    expect(nonMasqueradeCidrs({ masqLinkLocal: true, nonMasqueradeCIDRs: [] }).cidrs).toEqual([]);
  });

  it('every generated text parses without errors', () => {
    for (const input of [{}, { nomasqAllReservedRanges: true }, fixture.akscal.input]) {
      const out = compileIpMasqAgent(input);
      expect(parseNoErrors(out.text).errors).toEqual([]);
      expect(parseNoErrors(out.saveText).errors).toEqual([]);
    }
  });
});

describe('ipMasqAgentForCluster', () => {
  it.each([
    ['masquerade off', { masquerade: { enabled: false }, cloud: { provider: 'gce' } }, undefined],
    [
      'gce, no list: GKE default non-masquerade destinations',
      { cloud: { provider: 'gce' } },
      { nomasqAllReservedRanges: true },
    ],
    [
      'gce with a list',
      { cloud: { provider: 'gce' }, masquerade: { nonMasqueradeCIDRs: ['10.0.0.0/8'] } },
      { nonMasqueradeCIDRs: ['10.0.0.0/8'], nomasqAllReservedRanges: true },
    ],
    ['no cloud, nothing said: no agent', { cloud: { provider: 'none' } }, undefined],
    ['no cloud, masquerade enabled: RFC 1918 defaults', { masquerade: { enabled: true } }, {}],
  ])('%s', (_name, spec, want) => {
    expect(ipMasqAgentForCluster(spec)).toEqual(want);
  });

  it('GKE default set gives the reserved-range RETURNs', () => {
    const out = compileIpMasqAgent(ipMasqAgentForCluster({ cloud: { provider: 'gce' } }));
    expect(chainLines(out.saveText, 'nat', 'IP-MASQ-AGENT')).toHaveLength(13);
  });
});
