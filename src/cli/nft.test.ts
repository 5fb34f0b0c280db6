import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectDocument } from '../render/testing/schema.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

/** kube-proxy's nftables table as upstream's TestOverallNFTablesRules expects it, listed by the kernel (nft -a). */
const KP = readFileSync('test/fixtures/nftables/kube-proxy-overall.list.nft', 'utf8');
/** Node addresses of upstream's fake proxier (testNodeIPs, IPv4). */
const NODE = ['192.168.0.2/24@eth0', '192.168.1.2/24@eth0', '192.168.99.11/24@eth0'];

interface Alt {
  probability: number;
  verdict: string;
  dnat: string | null;
  masqueradeMark: boolean;
  path: string[];
  hits: {
    table: string;
    chain: string;
    index: number;
    line: number;
    handle?: number;
    target: string;
  }[];
  decidedBy: { kind: string; table?: string; chain?: string; handle?: number } | null;
  unsupported?: { what: string; line?: number };
}

async function trace(args: string[], files: Record<string, string> = { 'kp.nft': KP }) {
  const io = memoryIo(files);
  const code = await main(['nft', 'trace', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

async function alts(args: string[], files?: Record<string, string>): Promise<Alt[]> {
  const r = await trace([...args, '--all-paths', '-o', 'json'], files);
  expect(r.code, r.err).toBe(0);
  return expectDocument<{ alternatives: Alt[] }>(r.out, 'IptablesTrace').alternatives;
}

/**
 * The verdict in the words of upstream's packet tracer (helpers_test.go runPacketFlowTests):
 * the endpoints DNAT picks, joined, or DROP/REJECT; and whether the masquerade mark was set.
 */
function flowOutput(as: Alt[]): { output: string; masq: boolean } {
  if (as.every((a) => a.verdict === 'ACCEPT' && a.dnat !== null)) {
    return { output: as.map((a) => a.dnat).join(', '), masq: as.some((a) => a.masqueradeMark) };
  }
  return {
    output: as.map((a) => (a.verdict === 'ACCEPT' ? 'ACCEPT' : a.verdict)).join(', '),
    masq: as.some((a) => a.masqueradeMark),
  };
}

describe('packeteye nft trace through kube-proxy nftables mode', () => {
  // Flows over the services of TestOverallNFTablesRules, as kube-proxy's proxier.go means them.
  it.each([
    ['pod to ClusterIP', '10.0.0.2', '172.30.0.41', 80, '10.180.0.1:80', false],
    [
      'external source to ClusterIP masquerades',
      '203.0.113.2',
      '172.30.0.41',
      80,
      '10.180.0.1:80',
      true,
    ],
    [
      'hairpin: the endpoint to its own service',
      '10.180.0.1',
      '172.30.0.41',
      80,
      '10.180.0.1:80',
      true,
    ],
    [
      'two endpoints, one each by numgen',
      '10.0.0.2',
      '172.30.0.44',
      80,
      '10.180.0.4:80, 10.180.0.5:80',
      false,
    ],
    ['wrong port of a ClusterIP', '10.0.0.2', '172.30.0.41', 443, 'REJECT', false],
    ['service without endpoints', '10.0.0.2', '172.30.0.46', 80, 'REJECT', false],
    ['unallocated ClusterIP', '10.0.0.2', '172.30.0.50', 80, 'DROP', false],
    ['LoadBalancer IP from an allowed source', '203.0.113.2', '5.6.7.8', 80, '10.180.0.3:80', true],
    [
      'LoadBalancer IP from a source outside loadBalancerSourceRanges',
      '203.0.113.130',
      '5.6.7.8',
      80,
      'DROP',
      false,
    ],
    [
      'NodePort of a Cluster service from outside',
      '203.0.113.2',
      '192.168.0.2',
      3003,
      '10.180.0.3:80',
      true,
    ],
    [
      'NodePort of a Local service without local endpoints',
      '203.0.113.2',
      '192.168.0.2',
      3001,
      'DROP',
      false,
    ],
    [
      'ExternalIP of a Local service from a pod short-circuits',
      '10.0.0.2',
      '192.168.99.22',
      80,
      '10.180.0.2:80',
      false,
    ],
    [
      'ExternalIP of a Local service from outside has no local endpoint',
      '203.0.113.2',
      '192.168.99.22',
      80,
      'DROP',
      false,
    ],
    [
      'ExternalIP of a Cluster service from outside',
      '203.0.113.2',
      '192.168.99.33',
      80,
      '10.180.0.4:80, 10.180.0.5:80',
      true,
    ],
    [
      'the node itself to a Local service short-circuits, masqueraded',
      '192.168.0.2',
      '192.168.99.22',
      80,
      '10.180.0.2:80',
      true,
    ],
    ['the node itself to a ClusterIP', '192.168.0.2', '172.30.0.43', 80, '10.180.0.3:80', true],
  ])('%s: %s → %s:%d gives %s (masq %s)', async (_name, src, dst, dport, output, masq) => {
    const as = await alts([
      '--ruleset',
      'kp.nft',
      '--src',
      src,
      '--dst',
      dst,
      '--dport',
      String(dport),
      ...NODE.flatMap((l) => ['--local-ip', l]),
    ]);
    expect(flowOutput(as)).toEqual({ output, masq });
    expect(as.reduce((p, a) => p + a.probability, 0)).toBeCloseTo(1, 12);
  });

  it('names each hit by table, chain, position, handle and line', async () => {
    const [a] = await alts([
      '--ruleset',
      'kp.nft',
      '--src',
      '10.0.0.2',
      '--dst',
      '172.30.0.41',
      '--dport',
      '80',
    ]);
    const services = a!.hits.find((h) => h.chain === 'services')!;
    expect(services).toMatchObject({
      hook: 'PREROUTING',
      table: 'ip kube-proxy',
      chain: 'services',
      index: 1,
      handle: 61,
      line: 138,
      file: 'kp.nft',
      rule: 'ip daddr . meta l4proto . th dport vmap @service-ips',
      target: 'vmap @service-ips: 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80',
    });
    expect(a!.path).toEqual(['PREROUTING', 'FORWARD', 'POSTROUTING']);
  });

  it('reads nft -j list ruleset to the same answers', async () => {
    const json = readFileSync('test/fixtures/nftables/kube-proxy-overall.list.json', 'utf8');
    for (const [dst, dport, want] of [
      ['172.30.0.44', 80, ['10.180.0.4:80', '10.180.0.5:80']],
      ['172.30.0.46', 80, ['REJECT']],
    ] as const) {
      const as = await alts(
        ['--ruleset', 'kp.json', '--src', '10.0.0.2', '--dst', dst, '--dport', String(dport)],
        { 'kp.json': json },
      );
      expect(as.map((a) => a.dnat ?? a.verdict)).toEqual(want);
      // JSON has no lines, but every rule its handle.
      expect(as[0]!.hits.length).toBeGreaterThan(2);
      expect(as[0]!.hits.every((h) => typeof h.handle === 'number')).toBe(true);
    }
    // The text names a JSON rule by its handle and its place in the nftables array.
    const io = memoryIo({ 'kp.json': json });
    const code = await main(
      [
        'nft',
        'trace',
        '--ruleset',
        'kp.json',
        '--src',
        '10.0.0.2',
        '--dst',
        '172.30.0.46',
        '--dport',
        '80',
      ],
      io,
    );
    expect(code, io.stderr).toBe(0);
    expect(io.stdout).toMatch(/kp\.json handle \d+ {2}service-endpoints-check: nftables\[\d+\]/);
    expect(io.stdout).toMatch(
      /verdict: REJECT, by rule ip kube-proxy \S+ #\d+ handle \d+ \(kp\.json handle \d+\)/,
    );
    expect(io.stdout).not.toContain(':?');
  });

  it('the REJECT names the rule and its handle', async () => {
    const [a] = await alts([
      '--ruleset',
      'kp.nft',
      '--src',
      '10.0.0.2',
      '--dst',
      '172.30.0.46',
      '--dport',
      '80',
    ]);
    expect(a!.decidedBy).toMatchObject({
      kind: 'rule',
      table: 'ip kube-proxy',
      chain: 'reject-chain',
      handle: 60,
    });
  });

  it('runs native nftables and iptables-nft tables of one host by priority', async () => {
    // iptables' filter FORWARD (priority 0) drops what nft's forward chain at -10 accepted:
    // accept ends a base chain only, the next hook function still runs.
    const nft =
      'table inet fw {\n\tchain fwd {\n\t\ttype filter hook forward priority -10; policy accept;\n\t\tip daddr 10.9.0.1 accept\n\t}\n}\n';
    const ipt = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
    const [a] = await alts(
      [
        '--ruleset',
        'fw.nft',
        '--rules',
        'ipt.rules',
        '--src',
        '10.0.0.2',
        '--dst',
        '10.9.0.1',
        '--dport',
        '80',
      ],
      { 'fw.nft': nft, 'ipt.rules': ipt },
    );
    expect(a!.verdict).toBe('DROP');
    expect(a!.hits.map((h) => `${h.table} ${h.chain}`)).toEqual(['inet fw fwd']);
    expect(a!.decidedBy).toMatchObject({ kind: 'policy', table: 'filter', chain: 'FORWARD' });
    // A drop in nft at -10 ends the packet before iptables' filter runs.
    const drop = nft.replace('accept\n\t}', 'drop\n\t}');
    const [b] = await alts(
      [
        '--ruleset',
        'fw.nft',
        '--rules',
        'ipt.rules',
        '--src',
        '10.0.0.2',
        '--dst',
        '10.9.0.1',
        '--dport',
        '80',
      ],
      { 'fw.nft': drop, 'ipt.rules': ipt.replace('FORWARD DROP', 'FORWARD ACCEPT') },
    );
    expect(b!.verdict).toBe('DROP');
    expect(b!.decidedBy).toMatchObject({ kind: 'rule', table: 'inet fw', chain: 'fwd' });
  });

  it('a packet reaching an expression packeteye does not model is UNSUPPORTED, one that breaks before it is not', async () => {
    const nft =
      'table ip q {\n\tchain in {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\ttcp dport 22 queue num 3\n\t}\n}\n';
    const r = await trace(
      [
        '--ruleset',
        'q.nft',
        '--src',
        '10.0.0.2',
        '--dst',
        '10.9.0.1',
        '--dport',
        '22',
        '-o',
        'json',
      ],
      { 'q.nft': nft },
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('q.nft:4');
    const a = (JSON.parse(r.out) as { alternatives: Alt[] }).alternatives[0]!;
    expect(a.verdict).toBe('UNSUPPORTED');
    expect(a.unsupported).toMatchObject({ line: 4 });
    const [b] = await alts(
      ['--ruleset', 'q.nft', '--src', '10.0.0.2', '--dst', '10.9.0.1', '--dport', '80'],
      { 'q.nft': nft },
    );
    expect(b!.verdict).toBe('ACCEPT');
  });

  it.each([
    ['table ip t {\n\tchain c {\n\t\tjump nowhere\n\t}\n}\n', 'bad.nft:3'],
    ['', 'no table'],
  ])('exits 2 on a ruleset it cannot read (%j)', async (text, msg) => {
    const r = await trace(
      ['--ruleset', 'bad.nft', '--src', '10.0.0.2', '--dst', '10.9.0.1', '--dport', '80'],
      { 'bad.nft': text },
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  it('prints text naming the chains and rules', async () => {
    const r = await trace([
      '--ruleset',
      'kp.nft',
      '--src',
      '10.0.0.2',
      '--dst',
      '172.30.0.41',
      '--dport',
      '80',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('ruleset  kp.nft');
    expect(r.out).toContain('PREROUTING · ip kube-proxy nat-prerouting');
    expect(r.out).toContain(
      'kp.nft:138  services: ip daddr . meta l4proto . th dport vmap @service-ips',
    );
    expect(r.out).toContain('DNAT: 10.180.0.1:80');
  });
});
