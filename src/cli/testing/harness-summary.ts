/**
 * Test helper: turns `packeteye iptables trace --all-paths -o json`
 * alternatives into the `{output, masq}` summary upstream kube-proxy's test
 * tracer reports (pkg/proxy/iptables/proxier_test.go tracePacket), so upstream
 * flow expectations can be compared like with like:
 * - DNAT destinations of all alternatives, in traversal order (alternatives
 *   come in that order), without repeats;
 * - then ACCEPT/DROP/REJECT when a rule in one of the four filter chains the
 *   harness walks decided the verdict (ctstate/mark rules never match there,
 *   so e.g. KUBE-FORWARD's ACCEPT has no counterpart);
 * - `masq` = KUBE-MARK-MASQ ran on some branch.
 * IPv6 needs no bridging: our `dnat` prints an IPv6 endpoint as
 * `[fd00:10:180::1]:80`, exactly how upstream's expectations write it.
 */
const HARNESS_FILTER_CHAINS = new Set([
  'KUBE-SERVICES',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-NODEPORTS',
  'KUBE-PROXY-FIREWALL',
]);

export interface AltJson {
  verdict: string;
  decidedBy: { kind: string; table?: string; chain?: string; line?: number } | null;
  dnat: string | null;
  masqueradeMark: boolean;
}

/** Our JSON → upstream's `{output, masq}`. */
export function harnessSummary(alts: readonly AltJson[]): { output: string; masq: boolean } {
  // Alternatives come in traversal order (a statistic rule's match before its fall-through),
  // which is the order upstream's harness visits the DNAT rules.
  const dnats: { to: string }[] = [];
  for (const a of alts) {
    if (a.dnat !== null && !dnats.some((d) => d.to === a.dnat)) dnats.push({ to: a.dnat });
  }
  const words = new Set<string>();
  for (const a of alts) {
    const d = a.decidedBy;
    if (a.verdict === 'ACCEPT' || a.verdict === 'DROP' || a.verdict === 'REJECT') {
      if (d?.kind === 'rule' && d.table === 'filter' && HARNESS_FILTER_CHAINS.has(d.chain ?? ''))
        words.add(a.verdict);
    }
  }
  return {
    output: [...dnats.map((d) => d.to), ...words].join(', '),
    masq: alts.some((a) => a.masqueradeMark),
  };
}

/** The fields of an upstream flow expectation that say which packet to trace. */
export interface FlowPacket {
  readonly sourceIP: string;
  readonly destIP: string;
  readonly destPort: number;
  readonly protocol: string;
}

/**
 * The argv for `packeteye iptables trace --rules FILE … --all-paths -o json`
 * that traces one upstream flow, with the node's local addresses.
 */
export function traceFlowArgs(
  rulesFile: string,
  flow: FlowPacket,
  localIps: readonly string[],
): string[] {
  const args = [
    'iptables',
    'trace',
    '--rules',
    rulesFile,
    '--src',
    flow.sourceIP,
    '--dst',
    flow.destIP,
    '--dport',
    String(flow.destPort),
    '--proto',
    flow.protocol.toLowerCase(),
    '--all-paths',
    '-o',
    'json',
  ];
  for (const ip of localIps) args.push('--local-ip', ip);
  return args;
}
