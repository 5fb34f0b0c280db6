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
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIptablesRules, type LocalDetector, type ProxyInput } from '../proxy/iptables.js';
import { harnessSummary } from './testing/harness-summary.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

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
  localAddresses: string[];
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
    services: ProxyInput['services'];
    endpointSlices: ProxyInput['endpointSlices'];
  };
}

/** The corpus's proxier settings as the compiler's input (as src/proxy/flows.test.ts does). */
function corpusInput(file: string, f: FlowFile): ProxyInput {
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

describe('upstream kube-proxy flows through our evaluator', () => {
  const count = { all: 0, ipv6: 0 };
  it('covers all 227 corpus flows, the 15 IPv6 ones through ip6tables text', () => {
    expect(count).toEqual({ all: 227, ipv6: 15 });
  });
  for (const file of files) {
    const f = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as FlowFile;
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
          const args = [
            'iptables',
            'trace',
            '--rules',
            file,
            '--src',
            flow.sourceIP,
            '--dst',
            flow.destIP,
          ];
          args.push(
            '--dport',
            String(flow.destPort),
            '--proto',
            flow.protocol.toLowerCase(),
            '--all-paths',
            '-o',
            'json',
          );
          for (const ip of locals) args.push('--local-ip', ip);
          const code = await main(args, io);
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
