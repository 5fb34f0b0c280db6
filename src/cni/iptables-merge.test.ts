import { describe, expect, it } from 'vitest';
import { compileIpMasqAgent } from '../fabric/ip-masq-agent.js';
import type { Pod } from '../k8s/types.js';
import { generateIptablesRules } from '../proxy/index.js';
import { compileCalicoNat } from './calico-nat.js';
import { chainLines, parseNoErrors } from './testing/edge.js';
import { compileFlannelMasq } from './flannel-masq.js';
import {
  CODE_MERGE_SYNTAX,
  CODE_MERGE_UNKNOWN_CHAIN,
  FragmentBuilder,
  mergeIptablesSave,
  mergeIptablesSaveWithDiagnostics,
} from '../iptables/merge.js';
import { compilePortmap } from './portmap.js';

const kubeProxy = generateIptablesRules({
  nodeName: 'n1',
  nodeIPs: ['192.168.1.10'],
  clusterCIDR: '10.244.0.0/16',
  services: [],
  endpointSlices: [],
}).text;
const hostPortPod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'traefik', namespace: 'kube-system' },
  spec: { containers: [{ name: 'traefik', ports: [{ containerPort: 80, hostPort: 80 }] }] },
};
const portmap = compilePortmap({
  node: 'n1',
  pods: [{ pod: hostPortPod, containerNet: '10.244.1.5/24' }],
});
const flannel = compileFlannelMasq({ network: '10.244.0.0/16', subnet: '10.244.1.0/24' });
const ipMasq = compileIpMasqAgent({ nonMasqueradeCIDRs: ['10.0.0.0/8'] });

function jumpTargets(text: string, table: string, chain: string): string[] {
  return chainLines(text, table, chain).map((l) => / -j (\S+)/.exec(l)![1]!);
}

describe('mergeIptablesSave: a flannel node in start-up order', () => {
  const merged = mergeIptablesSaveWithDiagnostics(
    [kubeProxy, portmap.text, flannel.text, ipMasq.text],
    ['kube-proxy', 'portmap', 'flannel', 'ip-masq-agent'],
  );

  it('parses without errors and reports nothing', () => {
    expect(merged.diagnostics).toEqual([]);
    expect(parseNoErrors(merged.text).errors).toEqual([]);
  });

  it.each([
    [
      'nat',
      'POSTROUTING',
      ['CNI-HOSTPORT-MASQ', 'KUBE-POSTROUTING', 'FLANNEL-POSTRTG', 'IP-MASQ-AGENT'],
    ],
    ['nat', 'PREROUTING', ['KUBE-SERVICES', 'CNI-HOSTPORT-DNAT']],
    ['nat', 'OUTPUT', ['KUBE-SERVICES', 'CNI-HOSTPORT-DNAT']],
    [
      'filter',
      'FORWARD',
      [
        'KUBE-PROXY-FIREWALL',
        'KUBE-FORWARD',
        'KUBE-SERVICES',
        'KUBE-EXTERNAL-SERVICES',
        'FLANNEL-FWD',
      ],
    ],
  ])('%s %s jumps in order', (table, chain, want) => {
    expect(jumpTargets(merged.text, table, chain)).toEqual(want);
  });

  it('keeps each component chain intact', () => {
    for (const [text, table, chain] of [
      [portmap.saveText, 'nat', 'CNI-HOSTPORT-DNAT'],
      [flannel.saveText, 'nat', 'FLANNEL-POSTRTG'],
      [ipMasq.saveText, 'nat', 'IP-MASQ-AGENT'],
      [kubeProxy, 'nat', 'KUBE-POSTROUTING'],
    ] as const) {
      expect(chainLines(merged.text, table, chain)).toEqual(
        chainLines(mergeIptablesSave([text]), table, chain),
      );
    }
  });

  it('tables in iptables-nft-save order, user chains sorted', () => {
    expect(merged.text.split('\n').filter((l) => l.startsWith('*'))).toEqual([
      '*mangle',
      '*filter',
      '*nat',
    ]);
    const natChains = merged.text
      .split('*nat')[1]!
      .split('\n')
      .filter((l) => l.startsWith(':'))
      .map((l) => l.slice(1).split(' ')[0]!);
    expect(natChains.slice(0, 4)).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
    const users = natChains.slice(4);
    expect(users).toEqual([...users].sort());
  });

  it('Calico, merged last, has its jumps on top (Felix keeps them there)', () => {
    const calico = compileCalicoNat({ pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }] });
    const text = mergeIptablesSave([kubeProxy, calico.text]);
    expect(jumpTargets(text, 'nat', 'POSTROUTING')).toEqual([
      'cali-POSTROUTING',
      'KUBE-POSTROUTING',
    ]);
    expect(jumpTargets(text, 'nat', 'PREROUTING')).toEqual(['cali-PREROUTING', 'KUBE-SERVICES']);
  });
});

describe('mergeIptablesSave semantics', () => {
  it('a rule an earlier component ensured is not added twice; duplicates inside one text stay', () => {
    const a = '*filter\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n';
    const b =
      '*filter\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A INPUT -s 10.0.0.1 -j ACCEPT\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n';
    expect(chainLines(mergeIptablesSave([a, b]), 'filter', 'INPUT')).toEqual([
      '-A INPUT -j KUBE-FIREWALL',
      '-A INPUT -s 10.0.0.1/32 -j ACCEPT',
      '-A INPUT -s 10.0.0.1/32 -j ACCEPT',
    ]);
  });

  it('-I N inserts before the N-th rule as the chain stands', () => {
    const a = '*nat\n-A POSTROUTING -j RETURN\n-A POSTROUTING -j ACCEPT\nCOMMIT\n';
    const b =
      '*nat\n-I POSTROUTING 2 -s 1.1.1.1 -j RETURN\n-I POSTROUTING -s 2.2.2.2 -j RETURN\nCOMMIT\n';
    expect(chainLines(mergeIptablesSave([a, b]), 'nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -s 2.2.2.2/32 -j RETURN',
      '-A POSTROUTING -j RETURN',
      '-A POSTROUTING -s 1.1.1.1/32 -j RETURN',
      '-A POSTROUTING -j ACCEPT',
    ]);
  });

  it('built-in policy: the first declaration wins, -P changes it', () => {
    const a = '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n';
    const b = '*filter\n:FORWARD ACCEPT [5:300]\nCOMMIT\n';
    expect(mergeIptablesSave([a, b])).toContain(':FORWARD DROP [0:0]');
    expect(mergeIptablesSave([a, b, '*filter\n-P FORWARD ACCEPT\nCOMMIT\n'])).toContain(
      ':FORWARD ACCEPT [0:0]',
    );
  });

  it('counters and # lines are dropped; output is deterministic', () => {
    const a =
      '# Generated by iptables-save v1.8.9\n*nat\n:POSTROUTING ACCEPT [12:720]\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n# Completed\n';
    expect(mergeIptablesSave([a])).toBe(
      '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n',
    );
  });

  it.each([
    ['*nat\n-A NOPE -j RETURN\nCOMMIT\n', CODE_MERGE_UNKNOWN_CHAIN, 'input[0]', 2],
    ['*nat\n-A POSTROUTING -j NOPE\nCOMMIT\n', CODE_MERGE_UNKNOWN_CHAIN, undefined, undefined],
    ['*bogus\nCOMMIT\n', CODE_MERGE_SYNTAX, 'input[0]', 1],
    ['-A POSTROUTING -j RETURN\n', CODE_MERGE_SYNTAX, 'input[0]', 1],
    ['*nat\n-I POSTROUTING 3 -j RETURN\nCOMMIT\n', CODE_MERGE_SYNTAX, 'input[0]', 2],
    ['*nat\n-Z POSTROUTING\nCOMMIT\n', CODE_MERGE_SYNTAX, 'input[0]', 2],
  ])('bad input %j → %s', (text, code, file, line) => {
    const { diagnostics } = mergeIptablesSaveWithDiagnostics([text]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      code,
      severity: 'error',
      ...(file ? { file, line } : {}),
    });
  });
});

describe('FragmentBuilder', () => {
  it('declares each chain once, keeps command order, prints tables in save order', () => {
    const b = new FragmentBuilder()
      .chain('nat', 'X')
      .chain('nat', 'X')
      .append('nat', 'X', '-j RETURN')
      .chain('filter', 'Y')
      .insert('filter', 'FORWARD', '-j Y', 2);
    expect(b.text()).toBe(
      '*filter\n:Y - [0:0]\n-I FORWARD 2 -j Y\nCOMMIT\n*nat\n:X - [0:0]\n-A X -j RETURN\nCOMMIT\n',
    );
    expect(new FragmentBuilder().isEmpty()).toBe(true);
  });
});
