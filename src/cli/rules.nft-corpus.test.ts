/**
 * The upstream kube-proxy flow corpus through the CLI with kube-proxy in
 * nftables mode, as a user would run it: each test's Services,
 * EndpointSlices and proxier settings become a cluster with a Cluster object
 * saying `kubeProxy.mode: nftables` (`corpusCluster`), `packeteye rules
 * --node … --only nftables` prints the node's `kube-proxy` table the twin
 * built, and every flow is traced through it by `packeteye nft trace` and
 * compared with upstream's expectation (nftables mode's own answer where it
 * differs: cli/testing/nft-answers.ts).
 *
 * The IPv4 files of the 1.30/1.31-era tests and the four
 * TestInternalExternalMasquerade cases; the IPv6 proxier tests are left out
 * (the twin builds the IPv4 proxier).
 */
import { describe, expect, it } from 'vitest';
import { flowFiles, readFlowFile } from '../proxy/testing/flows-corpus.js';
import { corpusCluster } from './testing/corpus-cluster.js';
import { nftablesAnswer, nftSummary, type NftAlt } from './testing/nft-answers.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const files = flowFiles().filter(
  (f) => f.startsWith('v13x_') || f.startsWith('v127_TestInternalExternalMasquerade'),
);

describe('upstream kube-proxy flows through packeteye rules (Cluster in nftables mode) and nft trace', () => {
  const count = { files: 0, flows: 0 };
  it('covers the IPv4 files: 38 files, 211 flows', () => {
    expect(count).toEqual({ files: 38, flows: 211 });
  });
  for (const file of files) {
    const f = readFlowFile(file);
    if (f.inputs.proxier.ipFamily === 'IPv6') continue;
    count.files++;
    count.flows += f.flows.length;
    it(file, async () => {
      const io = memoryIo({ 'cluster.json': corpusCluster(file, f, 'nftables') });
      const args = ['rules', '-f', 'cluster.json', '--node', f.inputs.proxier.nodeName];
      expect(await main([...args, '--only', 'nftables'], io), io.stderr).toBe(0);
      expect(io.stderr).not.toContain('proxy-mode-not-modelled');
      const ruleset = io.stdout;
      expect(ruleset).toMatch(/^add table ip kube-proxy /);
      const locals = (f.inputs.proxier.nodeInterfaceAddresses ?? f.localAddresses).filter(
        (a) => !a.startsWith('127.') && !a.includes(':'),
      );
      for (const flow of f.flows) {
        const tio = memoryIo({ 'node.nft': ruleset });
        const targs = ['nft', 'trace', '--ruleset', 'node.nft', '--src', flow.sourceIP, '--dst'];
        targs.push(flow.destIP, '--dport', String(flow.destPort), '--proto');
        targs.push(flow.protocol.toLowerCase(), '--all-paths', '-o', 'json');
        for (const ip of locals) targs.push('--local-ip', ip);
        expect(await main(targs, tio), tio.stderr).toBe(0);
        const got = nftSummary((JSON.parse(tio.stdout) as { alternatives: NftAlt[] }).alternatives);
        const other = nftablesAnswer(file, flow.name);
        const want = other ?? { output: flow.output, masq: flow.masq };
        expect(got, flow.name).toEqual({ output: want.output, masq: want.masq });
      }
    });
  }
});
