/**
 * Test helper: upstream kube-proxy flow expectations (test/fixtures/kube-proxy/
 * flows-only) as kube-proxy's nftables mode answers them — the flows where
 * nftables mode differs from the iptables expectation, each with its reason —
 * and `packeteye nft trace --all-paths -o json` alternatives summarised as
 * upstream's nftables tracer reports a flow (runPacketFlowTests): the DNAT
 * destinations, then DROP/REJECT when a kube-proxy rule gave it, and whether
 * the masquerade mark was set.
 */
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
export function nftablesAnswer(
  file: string,
  name: string,
): { output: string; masq: boolean } | undefined {
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

export interface NftAlt {
  verdict: string;
  decidedBy: { kind: string; table?: string } | null;
  dnat: string | null;
  masqueradeMark: boolean;
}

/** Our alternatives as upstream's nftables tracer reports a flow. */
export function nftSummary(alts: readonly NftAlt[]): { output: string; masq: boolean } {
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
