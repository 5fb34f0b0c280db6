/**
 * Upstream's packet-flow expectations replayed through kube-proxy's nftables
 * mode: the Services and EndpointSlices of every kubernetes 1.30/1.31-era flow
 * file in test/fixtures/kube-proxy/flows-only and the four
 * TestInternalExternalMasquerade cases (base, no local detector,
 * masqueradeAll, both) of the ~1.27 ones (v13x_*: TestClusterIPGeneral,
 * TestLoadBalancer, TestNodePorts, TestExternalTrafficPolicyLocal/Cluster,
 * TestInternalExternalMasquerade, terminating endpoints, … — upstream's
 * pkg/proxy/nftables/proxier_test.go runs the same tests through its
 * runPacketFlowTests), the `kube-proxy` table generated from them as upstream's
 * nftables fake proxier is set up (src/proxy/testing/flows-corpus.ts
 * nftCorpusInput), each flow traced by OUR nftables evaluator through
 * `packeteye nft trace --all-paths -o json` and summarised as upstream's
 * tracer reports it: the DNAT destinations, then DROP/REJECT when a kube-proxy
 * rule gave it, and whether the masquerade mark was set.
 *
 * Where nftables mode answers differently from the iptables expectation, the
 * nftables answer is listed below with its reason; every other flow must give
 * the iptables test's own answer.
 */
import { describe, expect, it } from 'vitest';
import { generateNftablesRules } from '../proxy/nftables/sync.js';
import { flowFiles, nftCorpusInput, readFlowFile } from '../proxy/testing/flows-corpus.js';
import { nftablesAnswer, nftSummary, type NftAlt } from './testing/nft-answers.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const files = flowFiles().filter(
  (f) => f.startsWith('v13x_') || f.startsWith('v127_TestInternalExternalMasquerade'),
);

describe('upstream kube-proxy flows through the nftables mode', () => {
  const count = { all: 0, differ: 0 };
  it('covers 226 flows, 20 of them answered differently by nftables mode', () => {
    expect(count).toEqual({ all: 226, differ: 20 });
  });
  for (const file of files) {
    const f = readFlowFile(file);
    const out = generateNftablesRules(nftCorpusInput(file, f));
    const locals = (f.inputs.proxier.nodeInterfaceAddresses ?? f.localAddresses).filter(
      (a) => !a.startsWith('127.') && !a.startsWith('::1'),
    );
    describe(file, () => {
      for (const flow of f.flows) {
        count.all++;
        const other = nftablesAnswer(file, flow.name);
        if (other) count.differ++;
        it(flow.name, async () => {
          expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
          const io = memoryIo({ [file]: out.text });
          const args = ['nft', 'trace', '--ruleset', file, '--src', flow.sourceIP, '--dst'];
          args.push(flow.destIP, '--dport', String(flow.destPort), '--proto');
          args.push(flow.protocol.toLowerCase(), '--all-paths', '-o', 'json');
          for (const ip of locals) args.push('--local-ip', ip);
          const code = await main(args, io);
          expect(code, io.stderr).toBe(0);
          const json = JSON.parse(io.stdout) as { alternatives: NftAlt[] };
          const want = other
            ? { output: other.output, masq: other.masq }
            : { output: flow.output, masq: flow.masq };
          expect(nftSummary(json.alternatives)).toEqual(want);
        });
      }
    });
  }
});
