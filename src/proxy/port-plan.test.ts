/**
 * The chains a shared sync counts before writing them (port-plan.ts
 * `portChains`) against the same chains written: over the upstream golden
 * inputs, the flow corpus, a cluster with every kind of port, and seeded
 * random clusters, every counted chain has as many rules as are written in
 * it, the facts the ports declare for the run equal `blockFacts` of the
 * written run read from its text, and the run read chain by chain when
 * looked up (before its text is written) equals the text's reading.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../k8s/types.js';
import { parseIptablesSave } from '../iptables/parse.js';
import { parseIptablesTables } from '../iptables/parse-tables.js';
import { placed } from '../iptables/testing/placed.js';
import { blockFacts, type ValidChain } from '../iptables/validate.js';
import { formatDump } from './dump.js';
import { buildServicePortMap, categorizeEndpoints } from './endpoints.js';
import { generateIptablesDump, type ProxyInput } from './iptables.js';
import { planServicePort, portChains } from './port-plan.js';
import { newProxier } from './proxier.js';
import { ProxyShare } from './share.js';
import { mixed, svc } from './testing/clusters.js';
import { corpusInput, flowFiles, readFlowFile } from './testing/flows-corpus.js';
import { upstreamGoldens } from './testing/upstream-goldens.js';

/** The node names a cluster's EndpointSlices mention, and one they do not. */
function nodesOf(input: ProxyInput): string[] {
  const names = new Set<string>([input.nodeName]);
  for (const sl of input.endpointSlices)
    for (const ep of sl.endpoints ?? []) if (ep.nodeName) names.add(ep.nodeName);
  return [...names, 'no-such-node'];
}

const sorted = (xs: readonly string[]) => [...xs].sort();

/**
 * Node after node through one share: counts, declared facts and the run's reading as the
 * written text gives them. Returns how many counted chains were checked.
 */
function countsHold(input: ProxyInput): number {
  const share = new ProxyShare(input.services, input.endpointSlices);
  const family = input.ipFamily === 'IPv6' ? 'ipv6' : 'ipv4';
  let checked = 0;
  for (const nodeName of nodesOf(input)) {
    const { dump } = generateIptablesDump({ ...input, nodeName }, share);
    const file = `iptables-save@${nodeName}`;
    // Read from the tables before any text is written: counted chains are written when looked up.
    const viaTables = placed(parseIptablesTables(dump.tables, file, { family }).ruleset);
    const block = dump.tables.find((t) => t.name === 'nat')?.block;
    const counts = block?.chains.map((c) => c.count) ?? [];
    const text = formatDump(dump);
    const viaText = parseIptablesSave(text, file, { family });
    expect(viaTables).toEqual(placed(viaText.ruleset));
    if (!block) continue;
    block.chains.forEach((c, i) => {
      if (counts[i] === undefined) return;
      expect([c.name, counts[i]]).toEqual([c.name, c.rules.length]);
      checked++;
    });
    if (!block.facts) continue;
    // The declared facts, as the written run's rules (read from the text) give them.
    const nat = viaText.ruleset.tables.get('nat')!.chains;
    const index = new Map(block.chains.map((c, i) => [c.name, i]));
    const chains: ValidChain[] = block.chains.map((c) => ({
      name: c.name,
      builtin: false,
      rules: nat.get(c.name)!.rules as ValidChain['rules'],
    }));
    const want = blockFacts(chains, index)!;
    expect(sorted(block.facts.external)).toEqual(sorted(want.external));
    expect(block.facts.height).toBe(want.height);
    expect(new Set(block.facts.places)).toEqual(new Set(want.places));
  }
  return checked;
}

describe('portChains: a shared port’s chains counted before they are written', () => {
  it.each(upstreamGoldens('golden').map((g) => [g.file, g.input] as const))(
    'upstream golden input %s',
    (_, input) => {
      countsHold(input);
    },
  );

  it.each(flowFiles())('flow corpus %s', (f) => {
    countsHold(corpusInput(f, readFlowFile(f)));
  });

  it.each([
    ['ClusterCIDR detector', {}],
    ['no detector', { clusterCIDR: undefined }],
    ['masquerade-all', { masqueradeAll: true }],
    ['external masquerade switched off', { noExternalMasquerade: ['ns/svc-1', 'ns/svc-5'] }],
  ] as [string, Partial<ProxyInput>][])('every kind of port: %s', (_, more) => {
    expect(countsHold({ ...mixed(), ...more })).toBeGreaterThan(10);
  });

  it('holds on seeded random clusters', () => {
    const endpoint = fc.record({
      node: fc.constantFrom('a', 'b', 'c'),
      ready: fc.boolean(),
      serving: fc.boolean(),
      terminating: fc.boolean(),
      address: fc.integer({ min: 1, max: 12 }),
    });
    const service = fc.record({
      type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
      externalTrafficPolicy: fc.constantFrom('Cluster', 'Local'),
      internalTrafficPolicy: fc.constantFrom('Cluster', 'Local'),
      affinity: fc.boolean(),
      externalIPs: fc.boolean(),
      ingress: fc.boolean(),
      sourceRanges: fc.boolean(),
      endpoints: fc.array(endpoint, { maxLength: 5 }),
    });
    const cluster = fc.record({
      services: fc.array(service, { minLength: 1, maxLength: 6 }),
      masqueradeAll: fc.boolean(),
      detector: fc.boolean(),
      noExternalMasquerade: fc.boolean(),
    });
    let counted = 0;
    fc.assert(
      fc.property(cluster, (c) => {
        const services: Service[] = [];
        const endpointSlices: EndpointSlice[] = [];
        c.services.forEach((s, i) => {
          const lb = s.type === 'LoadBalancer';
          const one = svc(i, {
            type: s.type,
            ...(s.type !== 'ClusterIP' ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
            internalTrafficPolicy: s.internalTrafficPolicy,
            ...(s.affinity ? { sessionAffinity: 'ClientIP' } : {}),
            ...(s.externalIPs ? { externalIPs: [`198.51.100.${i + 1}`] } : {}),
            ...(lb && s.sourceRanges ? { loadBalancerSourceRanges: ['192.168.0.0/16'] } : {}),
          });
          if (lb && s.ingress)
            (one as unknown as { status: unknown }).status = {
              loadBalancer: { ingress: [{ ip: `203.0.113.${i + 1}` }] },
            };
          services.push(one);
          endpointSlices.push({
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: {
              name: `svc-${i}-a`,
              namespace: 'ns',
              labels: { 'kubernetes.io/service-name': `svc-${i}` },
            },
            addressType: 'IPv4',
            ports: [{ name: 'p', port: 8080, protocol: 'TCP' }],
            endpoints: s.endpoints.map((e) => ({
              addresses: [`10.${i}.0.${e.address}`],
              conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
              nodeName: e.node,
            })),
          } as unknown as EndpointSlice);
        });
        counted += countsHold({
          nodeName: 'a',
          nodeIPs: ['192.168.1.10'],
          ...(c.detector ? { clusterCIDR: '10.0.0.0/8' } : {}),
          masqueradeAll: c.masqueradeAll,
          ...(c.noExternalMasquerade ? { noExternalMasquerade: ['ns/svc-0', 'ns/svc-2'] } : {}),
          services,
          endpointSlices,
          nfacct: false,
        });
      }),
      { seed: 20261207, numRuns: 80 },
    );
    expect(counted).toBeGreaterThan(100);
  });
});

describe('portChains: ports that read the node are not counted', () => {
  // They are written per node (share.ts), so their chains are never counted: a KUBE-EXT- chain of
  // a Local external policy or a KUBE-FW- chain (source ranges) gives undefined.
  const input = mixed();
  const s = newProxier(input, []);
  const map = buildServicePortMap(
    input.services,
    input.endpointSlices,
    { family: s.family, nodeName: input.nodeName, honourIpMode: true },
    [],
  );
  const rows = [...map.ports].map(([key, p]) => {
    const eps = categorizeEndpoints(map.endpoints.get(key) ?? [], p, {});
    const plan = planServicePort(p, eps);
    const readsNode = plan.usesFWChain || (plan.usesExternalTrafficChain && p.externalPolicyLocal);
    return [key, readsNode, portChains(s, p, eps, plan) !== undefined] as const;
  });
  it('the cluster has both kinds', () => {
    expect(rows.filter((r) => r[1]).length).toBeGreaterThanOrEqual(2);
    expect(rows.filter((r) => !r[1] && r[2]).length).toBeGreaterThan(5);
  });
  it.each(rows.filter((r) => r[1]))('%s: not counted', (_, __, counted) => {
    expect(counted).toBe(false);
  });
});
