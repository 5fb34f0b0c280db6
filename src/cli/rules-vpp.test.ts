/**
 * `rules --node` on a Contiv-VPP cluster lists the node's VPP vswitch as
 * `vppctl show …` does (render/vpp-state.ts), not the Linux twin's iptables:
 * Contiv replaces kube-proxy with VPP's NAT44 and the policy chains with the
 * ACL plugin.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectGolden } from '../render/testing/golden.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const FILES = {
  'contiv.yaml': readFileSync(
    join(import.meta.dirname, '../../examples/contiv-vpp-two-nodes.yaml'),
    'utf8',
  ),
};

async function rules(...args: string[]) {
  const io = memoryIo(FILES);
  const code = await main(['rules', '-f', 'contiv.yaml', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('rules --node on contiv-vpp', () => {
  it('prints the vswitch of each node (golden)', async () => {
    const a = await rules('--node', 'k8s-master');
    const b = await rules('--node', 'k8s-worker1');
    expect(a.code, a.err).toBe(0);
    expect(a.out).not.toMatch(/iptables-save|KUBE-/);
    expectGolden('contiv-vpp-two-nodes-rules', {
      'k8s-master.txt': a.out,
      'k8s-worker1.txt': b.out,
    });
  });

  it.each([
    ['links', /^\s+Name\s+Idx\s+State/],
    ['routes', /^ipv4-VRF:0, fib_index:0/],
    ['neigh', /^\s+Time\s+IP4\s+Flags/],
    ['fdb', /BD-ID\s+Index/],
    ['vxlan', /^\[0\] src 192\.168\.16\.1 dst 192\.168\.16\.2 vni 10 sw_if_index 4/],
    [
      'nat44',
      /NAT44 static mappings:\n(.*\n)* tcp local 10\.1\.2\.4:8080 external 10\.97\.193\.160:80 vrf 0 self-twice-nat out2in-only/,
    ],
    ['acl', /^acl-index 0 count \d+ tag \{contiv\/vpp-policy-/],
  ])('--only %s is that one `show` command', async (only, re) => {
    const r = await rules('--node', 'k8s-master', '--only', only);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(re);
    expect(r.out).not.toMatch(/^# vppctl/m);
  });

  it('routes the other node through the BVI recursively, and its VXLAN endpoint through the NIC', async () => {
    const r = await rules('--node', 'k8s-master', '--only', 'routes');
    expect(r.out).toMatch(
      /10\.1\.2\.0\/24\n {2}unicast-ip4-chain\n {2}\[@0\]: dpo-load-balance: \[proto:ip4 index:\d+ buckets:1 to:\[0:0\]\]\n {4}\[0\] dpo-load-balance: \[proto:ip4 index:\d+ buckets:1 to:\[0:0\]\]\n {10}\[0\] ipv4 via 192\.168\.30\.2 loop0: 1a2b3c4d5e021a2b3c4d5e010800/,
    );
    expect(r.out).toMatch(
      /192\.168\.16\.2\/32\n.*\n.*\n {4}\[0\] ipv4 via 192\.168\.16\.2 GigabitEthernet0\/8\/0: 080027/,
    );
  });

  it.each([
    [['--only', 'iptables'], /no kube-proxy or policy iptables/],
    [['--only', 'conntrack'], /no conntrack/],
    [['--pod', 'default/client'], /not modelled/],
  ])('%j is refused with what to use instead', async (args, re) => {
    const r = await rules('--node', 'k8s-master', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(re);
  });

  it('refuses a VPP section on a Linux cluster', async () => {
    const io = memoryIo({
      'two.yaml': readFileSync(join(import.meta.dirname, '../../examples/two-nodes.yaml'), 'utf8'),
    });
    expect(await main(['rules', '-f', 'two.yaml', '--node', 'node-1', '--only', 'nat44'], io)).toBe(
      2,
    );
    expect(io.stderr).toMatch(/VPP vswitch/);
  });
});
