/**
 * The upstream kube-proxy flow corpus (test/fixtures/kube-proxy/flows-only,
 * from kube-proxy's pkg/proxy/iptables/proxier_test.go; see
 * test/fixtures/kube-proxy/README.md) as the test suites read it: its file
 * shape, the corpus's proxier settings as a ProxyInput, and the packet-flow
 * expectations. Shared by src/proxy/flows.test.ts (upstream's tracer,
 * reproduced) and src/cli/iptables.flows.test.ts (our evaluator, through the
 * CLI). Test-only (tsconfig.build.json leaves `testing/` out of the build).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EndpointSlice, Service } from '../../k8s/types.js';
import type { LocalDetector, ProxyInput } from '../iptables.js';

export const FLOWS_DIR = join(process.cwd(), 'test/fixtures/kube-proxy/flows-only');

/** One of upstream's TestTracePacket-style flow expectations. */
export interface Flow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol: string;
  output: string;
  masq: boolean;
}

export interface FlowFile {
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

/** The corpus's file names (`*.json` in FLOWS_DIR), sorted. */
export const flowFiles = (): string[] =>
  readdirSync(FLOWS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();

/** One corpus file, parsed. */
export const readFlowFile = (file: string): FlowFile =>
  JSON.parse(readFileSync(join(FLOWS_DIR, file), 'utf8')) as FlowFile;

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

/**
 * The corpus's inputs as upstream's nftables `NewFakeProxier` sets its proxier up
 * (pkg/proxy/nftables/proxier_test.go): the newest layout, Service CIDRs
 * 172.30.0.0/16 and fd00:10:96::/112, `--nodeport-addresses` 192.168.0.2/32 and
 * 2001:db8::1/128 unless the test sets its own, and the fake's interfaces (lo and
 * eth0 with every test node IP).
 */
export function nftCorpusInput(file: string, f: FlowFile): ProxyInput {
  const inp = corpusInput(file, f);
  return {
    ...inp,
    version: '1.34',
    serviceCIDRs: [f.inputs.proxier.ipFamily === 'IPv6' ? 'fd00:10:96::/112' : '172.30.0.0/16'],
    nodePortAddresses: inp.nodePortAddresses ?? ['192.168.0.2/32', '2001:db8::1/128'],
    interfaceAddresses: inp.interfaceAddresses ?? [
      '127.0.0.1',
      '::1',
      '192.168.0.2',
      '192.168.1.2',
      '192.168.99.11',
      '2001:db8::1',
      '2001:db8:1::2',
    ],
  };
}
