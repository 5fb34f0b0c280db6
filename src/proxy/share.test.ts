/**
 * A shared sync (share.ts) against a fresh one: over the upstream golden
 * inputs, the flow corpus and a cluster with every kind of port whose rules
 * read the node (Local traffic policies, topology hints, source ranges, an
 * address listed twice), node after node with one share, the dump — lines,
 * their parsed forms, order — and the diagnostics equal those of a sync that
 * shares nothing (and so does the nftables mode's table, which shares the
 * service port map); the rules read from the shared dumps (chains read once
 * and placed again, iptables/parse.ts ChainMemo) equal, line by line, those
 * read from the fresh dump's text; and the ports that do not read the node
 * are written once.
 */
import { describe, expect, it } from 'vitest';
import { placed } from '../iptables/testing/placed.js';
import { parseIptablesSave } from '../iptables/parse.js';
import { parseIptablesTables } from '../iptables/parse-tables.js';
import { formatDump, type Dump } from './dump.js';
import { generateIptablesDump, type ProxyInput } from './iptables.js';
import { generateNftablesRules } from './nftables/index.js';
import { ProxyShare } from './share.js';
import { mixed } from './testing/clusters.js';
import { corpusInput, flowFiles, readFlowFile } from './testing/flows-corpus.js';
import { upstreamGoldens } from './testing/upstream-goldens.js';

/** A dump's tables, chains, rule lines and parsed forms (not how they are held). */
function plainDump(d: Dump): unknown {
  return d.tables.map((t) => ({
    name: t.name,
    other: t.other,
    chains: t.chains.map((c) => ({
      name: c.name,
      policy: c.policy,
      rules: [...c.rules],
      parsed: c.parsed ? [...c.parsed] : undefined,
    })),
  }));
}

/** The node names a cluster's EndpointSlices mention, and one they do not. */
function nodesOf(input: ProxyInput): string[] {
  const names = new Set<string>([input.nodeName]);
  for (const sl of input.endpointSlices)
    for (const ep of sl.endpoints ?? []) if (ep.nodeName) names.add(ep.nodeName);
  return [...names, 'no-such-node'];
}

/**
 * Each node in turn (twice over, and with its own node IP), through one share:
 * equal to a fresh generation. Returns how many fragments the share kept.
 */
function sameOnEveryNode(
  input: ProxyInput,
  perNode?: (n: string, i: number) => Partial<ProxyInput>,
): void {
  const share = new ProxyShare(input.services, input.endpointSlices);
  const nodes = nodesOf(input);
  for (const round of [0, 1])
    nodes.forEach((nodeName, i) => {
      const inp: ProxyInput = {
        ...input,
        nodeName,
        ...(round === 1 ? { nodeIPs: [`192.168.${i}.${10 + i}`] } : {}),
        ...perNode?.(nodeName, i),
      };
      const fresh = generateIptablesDump(inp);
      const shared = generateIptablesDump(inp, share);
      // Read from its tables first (shared chains counted, written and read when looked up, read
      // once, then placed), as its text reads.
      const file = `iptables-save@${nodeName}`;
      const family = inp.ipFamily === 'IPv6' ? 'ipv6' : 'ipv4';
      const viaTables = parseIptablesTables(shared.dump.tables, file, { family });
      const rulesViaTables = placed(viaTables.ruleset);
      const text = formatDump(fresh.dump);
      expect(formatDump(shared.dump)).toBe(text);
      expect(plainDump(shared.dump)).toEqual(plainDump(fresh.dump));
      expect(shared.diagnostics).toEqual(fresh.diagnostics);
      const viaText = parseIptablesSave(text, file, { family });
      expect(viaTables.diagnostics).toEqual(viaText.diagnostics);
      expect(rulesViaTables).toEqual(placed(viaText.ruleset));
      // The nftables mode reads the same service port map.
      const nft = { ...inp, version: '1.34' };
      expect(generateNftablesRules(nft, share)).toEqual(generateNftablesRules(nft));
    });
}

describe('ProxyShare: a shared sync equals a fresh one on every node', () => {
  it.each(upstreamGoldens('golden').map((g) => [g.file, g.input] as const))(
    'upstream golden input %s',
    (_, input) => sameOnEveryNode(input),
  );

  it.each(flowFiles())('flow corpus %s', (f) => {
    sameOnEveryNode(corpusInput(f, readFlowFile(f)));
  });

  it.each([
    ['ClusterCIDR detector', undefined],
    [
      'NodeCIDR detector (other settings on every node)',
      (_: string, i: number) => ({
        localDetector: { mode: 'NodeCIDR', cidr: `10.${i}.0.0/16` },
      }),
    ],
    ['zones', (n: string) => ({ nodeLabels: { 'topology.kubernetes.io/zone': `zone-${n}` } })],
    ['--nodeport-addresses', () => ({ nodePortAddresses: ['192.168.0.0/16'] })],
    ['masquerade-all on some nodes', (_: string, i: number) => ({ masqueradeAll: i % 2 === 0 })],
  ] as [string, ((n: string, i: number) => Partial<ProxyInput>) | undefined][])(
    'Services whose rules read the node: %s',
    (_, perNode) => sameOnEveryNode(mixed(), perNode),
  );

  it('writes a port that does not read the node once for all nodes, and one that does per node', () => {
    const input = mixed();
    const share = new ProxyShare(input.services, input.endpointSlices);
    const lines = (nodeName: string) =>
      formatDump(generateIptablesDump({ ...input, nodeName }, share).dump).split('\n');
    const a = lines('a');
    const b = lines('b');
    const c = lines('c');
    // The plain Service's endpoint chain lines are the same strings (one write); the Local one's differ.
    const sep = (ls: string[]) =>
      ls.filter((l) => l.includes('-A KUBE-SVC-') && l.includes('ns/svc-0:p'));
    expect(sep(a)).toEqual(sep(b));
    const svl = (ls: string[]) => ls.filter((l) => l.startsWith('-A KUBE-SVL-'));
    expect(svl(a)).not.toEqual(svl(b));
    expect(svl(b)).not.toEqual(svl(c));
    // Written once: the shared dump's line objects for svc-0 are the fragment's own.
    const d1 = generateIptablesDump({ ...input, nodeName: 'b' }, share).dump;
    const d2 = generateIptablesDump({ ...input, nodeName: 'c' }, share).dump;
    const parsedOf = (d: typeof d1, chain: string) =>
      d.tables.find((t) => t.name === 'nat')!.chains.find((ch) => ch.name === chain)!.parsed!;
    const svc0 = d1.tables
      .find((t) => t.name === 'nat')!
      .chains.find(
        (ch) => ch.rules.some((r) => r.includes('ns/svc-0:p')) && ch.name.startsWith('KUBE-SVC-'),
      )!;
    expect(parsedOf(d2, svc0.name)[0]).toBe(parsedOf(d1, svc0.name)[0]);
    const local = d1.tables
      .find((t) => t.name === 'nat')!
      .chains.find((ch) => ch.name.startsWith('KUBE-SVL-'))!;
    expect(
      parsedOf(generateIptablesDump({ ...input, nodeName: 'b' }, share).dump, local.name)[0],
    ).not.toBe(parsedOf(d1, local.name)[0]);
    // Read once: the second node's ruleset holds the first one's rules of svc-0, placed.
    const read = (d: typeof d1) =>
      parseIptablesTables(d.tables, 'f', { family: 'ipv4' }).ruleset.tables.get('nat')!;
    const r1 = read(d1).chains.get(svc0.name)!;
    const r2 = read(d2).chains.get(svc0.name)!;
    expect(r2.rules).toBe(r1.rules);
    expect(r1.firstLine).toBeGreaterThan(0);
    expect(r2.rules[0]!.source.line).toBeUndefined();
  });

  it('is not used for another cluster’s objects', () => {
    const input = mixed();
    const share = new ProxyShare(input.services.slice(1), input.endpointSlices);
    expect(formatDump(generateIptablesDump(input, share).dump)).toBe(
      formatDump(generateIptablesDump(input).dump),
    );
  });
});
