/**
 * The structured install against the text path: for the upstream golden
 * inputs, the flow corpus and clusters built to reach every builder (large
 * cluster mode without comments, masquerade-all, session affinity, UDP and
 * SCTP, values the builders leave to the parser), the Ruleset read from the
 * generated tables with their built rule forms equals, rule for rule and
 * line for line, the one `parseIptablesSave` reads from the printed text.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRule } from '../iptables/format.js';
import { parseIptablesSave } from '../iptables/parse.js';
import { parseIptablesTables } from '../iptables/parse-tables.js';
import type { EndpointSlice, Service } from '../k8s/types.js';
import { placed } from '../iptables/testing/placed.js';
import { dumpTable, formatDump, parseDump, type Dump } from './dump.js';
import {
  generateIptablesDump,
  generateIptablesRules,
  generateKubeProxyRestore,
  type ProxyInput,
} from './iptables.js';
import { syncProxyRules } from './sync.js';
import { plainIpv4 } from './rule-body.js';
import { corpusInput, flowFiles, readFlowFile } from './testing/flows-corpus.js';

const GOLDEN = join(process.cwd(), 'test/fixtures/kube-proxy/golden');

/** Both ways; returns how many rules came with their built form. */
function same(input: ProxyInput): number {
  const family = input.ipFamily === 'IPv6' ? 'ipv6' : 'ipv4';
  const text = generateIptablesRules(input).text;
  const viaText = parseIptablesSave(text, 'iptables-save@n');
  const { dump } = generateIptablesDump(input);
  expect(formatDump(dump)).toBe(text);
  // The sync's tables are the restore text's, as parseDump reads it.
  const { w } = syncProxyRules(input);
  const bare = (ts: Dump['tables']) =>
    ts.map((t) => ({
      ...t,
      chains: t.chains.map((c) => ({ name: c.name, policy: c.policy, rules: [...c.rules] })),
    }));
  expect(
    bare([
      dumpTable('filter', [w.filterChains, w.filterRules])!,
      dumpTable('nat', [w.natChains, w.natRules])!,
    ]),
  ).toEqual(bare(parseDump(generateKubeProxyRestore(input).text).tables));
  const viaTables = parseIptablesTables(dump.tables, 'iptables-save@n', { family });
  expect(viaTables.diagnostics).toEqual(viaText.diagnostics);
  // Rule for rule at the same lines (a chain whose every rule is known is placed: its rules
  // stand at its first line and on, iptables/parse-tables.ts), key order counting.
  expect(JSON.stringify(placed(viaTables.ruleset))).toBe(JSON.stringify(placed(viaText.ruleset)));
  let built = 0;
  for (const t of dump.tables)
    for (const c of t.chains)
      for (const b of c.parsed ?? []) {
        if (b === undefined) continue;
        built++;
        // Each builder writes its shape's text itself: what formatRule prints.
        expect(b.text).toBe(formatRule(b));
      }
  return built;
}

function svc(i: number, extra: Record<string, unknown> = {}): Service {
  const proto = ['TCP', 'UDP', 'SCTP'][i % 3]!;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: `ns-${i % 7}` },
    spec: {
      clusterIP: `172.30.${i >> 8}.${i & 255}`,
      ports: [{ name: i % 2 ? 'p' : '', port: 80 + (i % 5), targetPort: 8080, protocol: proto }],
      ...extra,
    },
  } as unknown as Service;
}

function slice(i: number, addrs: string[], port = 8080): EndpointSlice {
  const proto = ['TCP', 'UDP', 'SCTP'][i % 3]!;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `svc-${i}-x`,
      namespace: `ns-${i % 7}`,
      labels: { 'kubernetes.io/service-name': `svc-${i}` },
    },
    addressType: 'IPv4',
    ports: [{ name: i % 2 ? 'p' : '', port, protocol: proto }],
    endpoints: addrs.map((a, k) => ({
      addresses: [a],
      conditions: { ready: true },
      nodeName: k === 0 ? 'n' : 'other',
    })),
  } as unknown as EndpointSlice;
}

/** `n` Services of three endpoints each (over 1,000 endpoints: no comments on endpoint rules). */
function cluster(n: number, opts: Partial<ProxyInput> = {}, svcExtra = {}): ProxyInput {
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    services.push(svc(i, i % 11 === 0 ? { sessionAffinity: 'ClientIP', ...svcExtra } : svcExtra));
    endpointSlices.push(
      slice(
        i,
        [0, 1, 2].map((k) => `10.${k}.${i >> 8}.${i & 255}`),
        i % 13 === 0 ? 0 : 8080,
      ),
    );
  }
  return {
    nodeName: 'n',
    nodeIPs: ['192.168.0.10'],
    clusterCIDR: '10.0.0.0/8',
    services,
    endpointSlices,
    nfacct: false,
    ...opts,
  };
}

describe('structured install: the same Ruleset as the printed text', () => {
  it('plainIpv4 takes what the parser keeps', () => {
    const cases: [string, boolean][] = [
      ['10.0.0.1', true],
      ['255.255.255.255', true],
      ['0.0.0.0', true],
      ['010.0.0.1', false],
      ['10.0.0.256', false],
      ['10.0.0', false],
      ['10.0.0.1.', false],
      ['10.0.0.1.2', false],
      ['10..0.1', false],
      ['1000.0.0.1', false],
      ['::1', false],
      ['', false],
    ];
    for (const [s, ok] of cases) expect([s, plainIpv4(s)]).toEqual([s, ok]);
  });

  const goldens = readdirSync(GOLDEN).filter((f) => f.endsWith('.json'));
  it.each(goldens)('upstream golden input %s', (f) => {
    const g = JSON.parse(readFileSync(join(GOLDEN, f), 'utf8')) as {
      inputs: { proxier: Omit<ProxyInput, 'services' | 'endpointSlices'> } & Pick<
        ProxyInput,
        'services' | 'endpointSlices'
      >;
    };
    same({
      ...g.inputs.proxier,
      services: g.inputs.services,
      endpointSlices: g.inputs.endpointSlices,
    });
  });

  it.each(flowFiles())('flow corpus %s', (f) => {
    same(corpusInput(f, readFlowFile(f)));
  });

  it.each([
    ['large cluster (no endpoint comments), ClusterCIDR detector', {}],
    ['masquerade-all', { masqueradeAll: true }],
    [
      'NodeCIDR detector, host bits set',
      { localDetector: { mode: 'NodeCIDR', cidr: '10.1.2.3/16' } },
    ],
    [
      'bridge-interface detector',
      { localDetector: { mode: 'BridgeInterface', interfaceName: 'cbr0' } },
    ],
    ['no detector', { clusterCIDR: undefined }],
    ['1.27 layout', { version: '1.27' }],
  ] as [string, Partial<ProxyInput>][])('%s', (_, opts) => {
    const built = same(cluster(400, opts));
    // Nearly every rule (five per endpoint and port) comes built; the rest are parsed.
    expect(built).toBeGreaterThan(400 * 4);
  });

  it('a small cluster (comments on every rule), NodePorts and Local policy', () => {
    const built = same(cluster(40, {}, { type: 'NodePort', externalTrafficPolicy: 'Local' }));
    expect(built).toBeGreaterThan(40 * 4);
  });

  it('values the builders leave to the parser', () => {
    const input = cluster(5);
    const services = input.services.map((s, i) =>
      i === 1 ? { ...s, spec: { ...s.spec, clusterIP: '172.030.0.1' } } : s,
    ) as Service[];
    const endpointSlices = input.endpointSlices.map((sl, i) =>
      i === 2 ? slice(2, ['010.0.0.1', '10.0.0.2', '10.0.0.300']) : sl,
    );
    same({ ...input, services, endpointSlices });
    // A long name: the comment would be over 255 bytes.
    const long = 'x'.repeat(60);
    same({
      ...input,
      services: [{ ...svc(0), metadata: { name: long, namespace: long } } as Service],
      endpointSlices: [
        {
          ...slice(0, ['10.0.0.1']),
          metadata: {
            name: 'l',
            namespace: long,
            labels: { 'kubernetes.io/service-name': long },
          },
        } as EndpointSlice,
      ],
    });
  });
});
