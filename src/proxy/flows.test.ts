/**
 * Upstream flow expectations (test/fixtures/kube-proxy/flows-only, from
 * kube-proxy's proxier_test.go): generate the rules from `inputs`, parse them
 * with iptables/parse.ts, trace each flow with the reproduction of upstream's
 * tracer, compare output and masq.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/parse.js';
import type { EndpointSlice, Service } from '../k8s/types.js';
import { generateIptablesRules, type LocalDetector, type ProxyInput } from './iptables.js';
import { tracePacket } from './testing/upstream-harness.js';

const DIR = join(process.cwd(), 'test/fixtures/kube-proxy/flows-only');

interface Flow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol: string;
  output: string;
  masq: boolean;
}

interface FlowFile {
  test: string;
  subtest?: string;
  localAddresses: string[];
  protocolCheckedByHarness: boolean;
  flows: Flow[];
  inputs: {
    proxier: {
      nodeName: string;
      nodeIP: string;
      nodeInterfaceAddresses?: string[];
      ipFamily: 'IPv4' | 'IPv6';
      localDetector: { mode: string; cidr?: string };
      masqueradeMark: string;
      masqueradeAll: boolean;
      localhostNodePorts: boolean;
      nodePortAddresses: string[] | null;
      nfacctCounters?: string[];
    };
    services: Service[];
    endpointSlices: EndpointSlice[];
  };
}

/** The corpus's proxier settings as a ProxyInput (v127_ files select the 1.27 layout). */
export function corpusInput(file: string, f: FlowFile): ProxyInput {
  const p = f.inputs.proxier;
  const detector: LocalDetector =
    p.localDetector.mode === 'ClusterCIDR'
      ? { mode: 'ClusterCIDR', cidr: p.localDetector.cidr! }
      : { mode: 'NoOp' };
  return {
    version: file.startsWith('v127_') ? '1.27' : '1.31',
    nodeName: p.nodeName,
    nodeIPs: [p.nodeIP],
    localDetector: detector,
    masqueradeMark: p.masqueradeMark,
    masqueradeAll: p.masqueradeAll,
    localhostNodePorts: p.localhostNodePorts,
    nodePortAddresses: p.nodePortAddresses,
    ipFamily: p.ipFamily,
    ...(p.nodeInterfaceAddresses ? { interfaceAddresses: p.nodeInterfaceAddresses } : {}),
    nfacct: (p.nfacctCounters ?? []).length > 0,
    randomFully: false,
    services: f.inputs.services,
    endpointSlices: f.inputs.endpointSlices,
  };
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('kube-proxy upstream flows', () => {
  let total = 0;
  for (const file of files) {
    const f = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as FlowFile;
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
    const f = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as FlowFile;
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
