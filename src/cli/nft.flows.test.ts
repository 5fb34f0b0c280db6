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
import { memoryIo } from './io.js';
import { main } from './main.js';

/** `file | flow name` -> nftables mode's answer, where it is not the iptables one. */
const NFTABLES_ANSWERS: Record<string, { output: string; masq: boolean; why: string }> = {
  'v13x_TestClusterIPGeneral__1.json | TCP-only port does not match UDP traffic': {
    output: 'REJECT',
    masq: false,
    why: 'cluster-ips-check rejects other ports of a ClusterIP (nftables TestClusterIPGeneral expects REJECT)',
  },
  "v13x_TestClusterIPGeneral__1.json | svc1 does not accept svc2's ports": {
    output: 'REJECT',
    masq: false,
    why: 'cluster-ips-check rejects other ports of a ClusterIP (nftables TestClusterIPGeneral expects REJECT)',
  },
  'v13x_TestHealthCheckNodePort__1.json | firewall accepts HealthCheckNodePort': {
    output: '',
    masq: false,
    why: 'nftables mode writes no health-check-node-port ACCEPT rule (proxier.go has none)',
  },
  'v13x_TestNodePorts__1.json | localhost to nodePort gets masqueraded': {
    output: '',
    masq: false,
    why: 'nftables mode has no localhost NodePorts (loopback never joins @nodeport-ips)',
  },
  'v13x_TestNodePorts__1.json | external to nodePort on secondary IP': {
    output: '',
    masq: false,
    why: 'nftables fake proxier: --nodeport-addresses is the primary IP (nftables TestNodePorts "secondary nodeIP ignores NodePorts")',
  },
  'v13x_TestNodePorts__2.json | external to nodePort on secondary IP': {
    output: '',
    masq: false,
    why: 'as above',
  },
  'v13x_TestNodePorts__5.json | external to nodePort on secondary IP': {
    output: '',
    masq: false,
    why: 'as above (IPv6)',
  },
  'v13x_TestNodePorts__6.json | external to nodePort on secondary IP': {
    output: '',
    masq: false,
    why: 'as above (IPv6)',
  },
};

/** nftables mode's answer for a flow, where it is not the iptables one. */
function nftablesAnswer(file: string, name: string): { output: string; masq: boolean } | undefined {
  const listed = NFTABLES_ANSWERS[`${file} | ${name}`];
  if (listed) return listed;
  // No localhost NodePorts in nftables mode; upstream's nftables TestInternalExternalMasquerade
  // drops these flows from its table.
  if (
    file.startsWith('v127_TestInternalExternalMasquerade') &&
    name.startsWith('localhost to NodePort')
  )
    return { output: '', masq: false };
  return undefined;
}

interface Alt {
  verdict: string;
  decidedBy: { kind: string; table?: string } | null;
  dnat: string | null;
  masqueradeMark: boolean;
}

/** Our alternatives as upstream's nftables tracer reports a flow. */
function summary(alts: readonly Alt[]): { output: string; masq: boolean } {
  const dnats: string[] = [];
  for (const a of alts) if (a.dnat !== null && !dnats.includes(a.dnat)) dnats.push(a.dnat);
  const words = new Set<string>();
  for (const a of alts) {
    const byKubeProxy =
      a.decidedBy?.kind === 'rule' && /^ip6? kube-proxy$/.test(a.decidedBy.table ?? '');
    if ((a.verdict === 'DROP' || a.verdict === 'REJECT') && byKubeProxy) words.add(a.verdict);
  }
  return { output: [...dnats, ...words].join(', '), masq: alts.some((a) => a.masqueradeMark) };
}

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
          const json = JSON.parse(io.stdout) as { alternatives: Alt[] };
          const want = other
            ? { output: other.output, masq: other.masq }
            : { output: flow.output, masq: flow.masq };
          expect(summary(json.alternatives)).toEqual(want);
        });
      }
    });
  }
});
