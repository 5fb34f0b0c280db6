/**
 * The 227 upstream kube-proxy flows (test/fixtures/kube-proxy/flows-only):
 * rules generated from each test's Services and EndpointSlices by our
 * kube-proxy compiler (src/proxy), then every flow — IPv4 through the
 * iptables text, IPv6 through the ip6tables text, parsed by the real parser —
 * traced by OUR
 * evaluator through the CLI (`--all-paths -o json`) and summarised the way
 * upstream's harness reports it (see iptables.fixture.test.ts for how the
 * harness's view and ours are bridged).
 */
import { describe, expect, it } from 'vitest';
import { generateIptablesRules } from '../proxy/iptables.js';
import { corpusInput, flowFiles, readFlowFile } from '../proxy/testing/flows-corpus.js';
import { harnessSummary, traceFlowArgs } from './testing/harness-summary.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const files = flowFiles();

describe('upstream kube-proxy flows through our evaluator', () => {
  const count = { all: 0, ipv6: 0 };
  it('covers all 227 corpus flows, the 15 IPv6 ones through ip6tables text', () => {
    expect(count).toEqual({ all: 227, ipv6: 15 });
  });
  for (const file of files) {
    const f = readFlowFile(file);
    count.all += f.flows.length;
    if (f.inputs.proxier.ipFamily === 'IPv6') count.ipv6 += f.flows.length;
    const out = generateIptablesRules(corpusInput(file, f));
    // The node's addresses of both families: those of the other family never match (a
    // dual-stack node's ip6tables sees only its IPv6 addresses), loopback is always local.
    const locals: string[] = (f.inputs.proxier.nodeInterfaceAddresses ?? f.localAddresses).filter(
      (a) => !a.startsWith('127.') && !a.startsWith('::1'),
    );
    describe(file, () => {
      for (const flow of f.flows) {
        it(flow.name, async () => {
          const io = memoryIo({ [file]: out.text });
          const code = await main(traceFlowArgs(file, flow, locals), io);
          expect(code, io.stderr).toBe(0);
          const json = JSON.parse(io.stdout);
          expect(
            harnessSummary(json.alternatives),
            JSON.stringify(json.alternatives.map((a: { hits: unknown }) => a.hits)),
          ).toEqual({
            output: flow.output,
            masq: flow.masq,
          });
        });
      }
    });
  }
});
