/**
 * Upstream flow expectations (test/fixtures/kube-proxy/flows-only, from
 * kube-proxy's proxier_test.go): generate the rules from `inputs`, parse them
 * with iptables/parse.ts, trace each flow with the reproduction of upstream's
 * tracer, compare output and masq.
 */
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/parse.js';
import { generateIptablesRules, type ProxyInput } from './iptables.js';
import { corpusInput, flowFiles, readFlowFile } from './testing/flows-corpus.js';
import { tracePacket } from './testing/upstream-harness.js';

const files = flowFiles();

describe('kube-proxy upstream flows', () => {
  let total = 0;
  for (const file of files) {
    const f = readFlowFile(file);
    total += f.flows.length;
    describe(`${file} (${f.test}${f.subtest ? ` / ${f.subtest}` : ''})`, () => {
      const out = generateIptablesRules(corpusInput(file, f));
      // IPv6 (ip6tables) text is read by the same parser, in its IPv6 family.
      const parsed = parseIptablesSave(out.text, file, {
        family: f.inputs.proxier.ipFamily === 'IPv6' ? 'ipv6' : 'ipv4',
      });
      it('generates and parses without errors', () => {
        expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      });
      for (const flow of f.flows) {
        it(flow.name, () => {
          const r = tracePacket(
            parsed.ruleset,
            {
              sourceIP: flow.sourceIP,
              protocol: flow.protocol.toLowerCase(),
              destIP: flow.destIP,
              destPort: flow.destPort,
            },
            { localAddresses: f.localAddresses, compareProtocol: f.protocolCheckedByHarness },
          );
          expect({ output: r.output, masq: r.masq }, r.matches.join('\n')).toEqual({
            output: flow.output,
            masq: flow.masq,
          });
        });
      }
    });
  }
  it('covers all 227 corpus flows', () => expect(total).toBe(227));
});

/** The comparison must be able to fail: wrong settings give wrong flows. */
describe('flow checks are sensitive to the generated rules', () => {
  const mismatches = (file: string, tweak: (p: ProxyInput) => ProxyInput): string[] => {
    const f = readFlowFile(file);
    const out = generateIptablesRules(tweak(corpusInput(file, f)));
    const { ruleset } = parseIptablesSave(out.text, file);
    return f.flows
      .filter((flow) => {
        const r = tracePacket(
          ruleset,
          {
            sourceIP: flow.sourceIP,
            protocol: flow.protocol.toLowerCase(),
            destIP: flow.destIP,
            destPort: flow.destPort,
          },
          { localAddresses: f.localAddresses, compareProtocol: f.protocolCheckedByHarness },
        );
        return r.output !== flow.output || r.masq !== flow.masq;
      })
      .map((flow) => flow.name);
  };
  it('localhost NodePorts off breaks the localhost flow only', () => {
    expect(
      mismatches('v13x_TestNodePorts__1.json', (p) => ({ ...p, localhostNodePorts: false })),
    ).toEqual(['localhost to nodePort gets masqueraded']);
  });
  it('dropping the local-traffic detector changes masquerade of off-cluster ClusterIP traffic', () => {
    const m = mismatches('v127_TestInternalExternalMasquerade__1.json', (p) => ({
      ...p,
      localDetector: { mode: 'NoOp' },
    }));
    expect(m.length).toBeGreaterThan(0);
    expect(m).toContain('external to ClusterIP');
  });
  it('treating the node as another node loses the Local endpoints', () => {
    expect(
      mismatches('v13x_TestExternalTrafficPolicyLocal__1.json', (p) => ({
        ...p,
        nodeName: 'elsewhere',
      })).length,
    ).toBeGreaterThan(0);
  });
});
