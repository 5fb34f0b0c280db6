/**
 * The real kernel as the oracle for `packeteye nft trace`.
 *
 * A node namespace between a client and a server loads kube-proxy's
 * nftables table with `nft -f` — upstream's TestOverallNFTablesRules
 * expectation, and what packeteye's generator (src/proxy/nftables) writes
 * for the same Services in its 1.34 and 1.31–1.33 layouts; real connections
 * go through it. packeteye is given what the
 * kernel lists (`nft -a list ruleset`, handles and all) and must agree with
 * what happened: the endpoint the server saw (DNAT), whether it saw the
 * node's address (masquerade), refusals and silence (REJECT, DROP), the
 * set of endpoints random `numgen` picks, and rule by rule what the kernel's
 * own tracer (`meta nftrace set 1`, `nft monitor trace`) reports.
 *
 * Addresses as upstream's tests use them: pods 10.0.0.0/8 (the client's
 * 10.0.0.2), external clients 203.0.113.2 and .130, node 192.168.0.2,
 * endpoints 10.180.0.1-5 (on the server), ClusterIPs 172.30.0.0/16.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../src/k8s/types.js';
import type { ProxyInput } from '../../src/proxy/proxier.js';
import { generateNftablesRules } from '../../src/proxy/nftables/sync.js';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { NODE_IN, NODE_OUT, natNodeTopology } from '../../src/emulate/testing/nat-node.js';
import {
  canEmulate,
  runClient,
  spawnIn,
  startServer,
  withTopology,
  type ClientResult,
  type Lab,
  type TopologyDesc,
} from '../../src/emulate/index.js';

const TOOLS = ['ip', 'nft', 'socat', 'sysctl'];
const ENDPOINTS = ['10.180.0.1', '10.180.0.2', '10.180.0.3', '10.180.0.4', '10.180.0.5'];

/**
 * kube-proxy's script in an order `nft -f` accepts: upstream's Dump lists a
 * chain's rules before chains they jump to; kube-proxy's own transaction
 * creates every table, set, map and chain first.
 */
function loadable(script: string): string {
  const lines = script.split('\n').filter((l) => l.startsWith('add '));
  const decl = lines.filter((l) => /^add (table|set|map|chain) /.test(l));
  const rest = lines.filter((l) => /^add (rule|element) /.test(l));
  return [...decl, ...rest].join('\n') + '\n';
}

const KUBE_PROXY = loadable(readFileSync('test/fixtures/nftables/kube-proxy-overall.nft', 'utf8'));

/** The generator's table for the same Services and proxier settings, in one release's layout. */
function generated(version: string): string {
  const g = JSON.parse(
    readFileSync('test/fixtures/kube-proxy/nftables/v134_TestOverallNFTablesRules.json', 'utf8'),
  ) as {
    inputs: {
      proxier: Omit<ProxyInput, 'services' | 'endpointSlices'>;
      services: Service[];
      endpointSlices: EndpointSlice[];
    };
  };
  const out = generateNftablesRules({
    ...g.inputs.proxier,
    version,
    services: g.inputs.services,
    endpointSlices: g.inputs.endpointSlices,
  });
  expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return out.text;
}

const RULESETS: readonly [string, () => string][] = [
  ['upstream TestOverallNFTablesRules expectation', () => KUBE_PROXY],
  ['generated, 1.34 layout', () => generated('1.34')],
  ['generated, 1.33 layout', () => generated('1.33')],
];

/** Every packet the node sees is traced by the kernel (nft monitor trace). */
const TRACE_ALL = `add table ip petrace
add chain ip petrace pre { type filter hook prerouting priority -400 ; }
add rule ip petrace pre meta nftrace set 1
`;

function topology(): TopologyDesc {
  return natNodeTopology(ENDPOINTS, ['172.30.0.0/16', '5.6.7.0/24']);
}

interface Alt {
  probability: number;
  verdict: string;
  dnat: string | null;
  snat: { kind: string; to: string } | null;
  hits: { table: string; chain: string; handle?: number; rule: string }[];
}

/** The reply's walk back through the node (`--reply`). */
interface ReplyAlt {
  verdict: string;
  rewrites: { hook: string; kind: string }[];
  packet: { src: string };
}

async function packeteye(listed: string, src: string, dst: string, dport: number): Promise<Alt[]> {
  const io = memoryIo({ 'node.nft': listed });
  const argv = [
    'nft',
    'trace',
    '--ruleset',
    'node.nft',
    '--src',
    src,
    '--dst',
    dst,
    '--dport',
    String(dport),
    '--local-ip',
    `${NODE_IN}/24@eth0`,
    '--local-ip',
    `${NODE_OUT}/24@eth1`,
    '--in-iface',
    'eth0',
    // Where a forwarded packet leaves (after DNAT, also one addressed to the node).
    '--out-iface',
    'eth1',
    '--all-paths',
    '-o',
    'json',
  ];
  const code = await main(argv, io);
  expect(code, io.stderr).toBe(0);
  expect(io.stderr, 'packeteye warned about the listed ruleset').toBe('');
  return (JSON.parse(io.stdout) as { alternatives: Alt[] }).alternatives;
}

/** One connection with the kernel's tracer on: what the client and server saw, and the rules the SYN hit. */
async function connect(
  lab: Lab,
  src: string,
  dst: string,
  port: number,
): Promise<{ client: ClientResult; seen: { peer: string; local: string }[]; rules: string[] }> {
  const node = lab.ns('node');
  const monitor = spawnIn(lab, node, ['nft', '-a', 'monitor', 'trace']);
  await new Promise((r) => setTimeout(r, 300));
  const server = await startServer(lab, lab.ns('server'), {
    proto: 'tcp',
    listen: ENDPOINTS.map((host) => ({ host, port: 80 })),
  });
  const [client] = await runClient(lab, lab.ns('client'), {
    proto: 'tcp',
    dst,
    port,
    bind: src,
    attemptTimeoutMs: 700,
  });
  const seen = await server.stop();
  await new Promise((r) => setTimeout(r, 200));
  monitor.child.kill('SIGTERM');
  const out = (await monitor.done).stdout;
  return { client: client!, seen, rules: synRules(out) };
}

/**
 * `nft monitor trace` lines of the first packet traced (the SYN): each rule
 * that ran to its end or verdict, as `TABLE CHAIN handle N`.
 */
function synRules(out: string): string[] {
  const lines = out.split('\n').filter((l) => l.startsWith('trace id '));
  const id = lines[0]?.split(' ')[2];
  const rules: string[] = [];
  for (const l of lines) {
    const m = /^trace id (\S+) (\S+ \S+) (\S+) rule .*# handle (\d+)/.exec(l);
    if (!m || m[1] !== id) continue;
    const r = `${m[2]} ${m[3]} handle ${m[4]}`;
    // The kernel derives the id from the skb: a later packet may reuse it; it starts at the first rule again.
    if (rules.length > 0 && r === rules[0]) break;
    rules.push(r);
  }
  return rules;
}

function hitsOf(a: Alt): string[] {
  return a.hits.map((h) => `${h.table} ${h.chain} handle ${String(h.handle)}`);
}

const FLOWS: readonly {
  name: string;
  src: string;
  dst: string;
  port: number;
  saw: 'connected' | 'refused' | 'timeout';
}[] = [
  { name: 'pod to ClusterIP', src: '10.0.0.2', dst: '172.30.0.41', port: 80, saw: 'connected' },
  {
    name: 'external to ClusterIP',
    src: '203.0.113.2',
    dst: '172.30.0.41',
    port: 80,
    saw: 'connected',
  },
  {
    name: 'wrong port of a ClusterIP',
    src: '10.0.0.2',
    dst: '172.30.0.41',
    port: 443,
    saw: 'refused',
  },
  {
    name: 'service without endpoints',
    src: '10.0.0.2',
    dst: '172.30.0.46',
    port: 80,
    saw: 'refused',
  },
  { name: 'unallocated ClusterIP', src: '10.0.0.2', dst: '172.30.0.50', port: 80, saw: 'timeout' },
  { name: 'LB IP, allowed source', src: '203.0.113.2', dst: '5.6.7.8', port: 80, saw: 'connected' },
  {
    name: 'LB IP, source out of range',
    src: '203.0.113.130',
    dst: '5.6.7.8',
    port: 80,
    saw: 'timeout',
  },
  {
    name: 'NodePort, Cluster policy',
    src: '203.0.113.2',
    dst: NODE_IN,
    port: 3003,
    saw: 'connected',
  },
  {
    name: 'NodePort, Local policy without local endpoint',
    src: '203.0.113.2',
    dst: NODE_IN,
    port: 3001,
    saw: 'timeout',
  },
];

describe.skipIf(!canEmulate(TOOLS))(
  'nft trace against the real kernel (kube-proxy nftables mode)',
  () => {
    it.each(RULESETS)('%s: agrees with real connections and with the kernel tracer, rule by rule', async (_name, ruleset) => {
      await withTopology(topology(), async (lab) => {
        const node = lab.ns('node');
        node.exec(['nft', '-f', '-'], { input: ruleset() + TRACE_ALL });
        const listed = node.exec(['nft', '-a', 'list', 'ruleset']);
        for (const f of FLOWS) {
          const [alt, ...more] = await packeteye(listed, f.src, f.dst, f.port);
          expect(more, f.name).toEqual([]);
          const real = await connect(lab, f.src, f.dst, f.port);
          expect(real.client.kind, `${f.name}: ${JSON.stringify(real.client)}`).toBe(f.saw);
          const verdict = { connected: 'ACCEPT', refused: 'REJECT', timeout: 'DROP' }[f.saw];
          expect(alt!.verdict, f.name).toBe(verdict);
          if (f.saw === 'connected') {
            expect(real.seen, f.name).toHaveLength(1);
            const seen = real.seen[0]!;
            expect(alt!.dnat, f.name).toBe(seen.local);
            // Masqueraded: the server saw the node's address, and packeteye says MASQUERADE to it.
            const peer = seen.peer.split(':')[0];
            expect(alt!.snat?.to.split(':')[0] ?? f.src, f.name).toBe(peer);
          } else expect(real.seen, f.name).toEqual([]);
          expect(hitsOf(alt!), f.name).toEqual(real.rules);
        }
      });
    }, 120_000);

    it.each(RULESETS)(
      "%s: the node's own connection to a ClusterIP: masqueraded out, its reply un-DNATed at INPUT",
      async (_name, ruleset) => {
        await withTopology(topology(), async (lab) => {
          const node = lab.ns('node');
          node.exec(['nft', '-f', '-'], { input: ruleset() });
          const io = memoryIo({ 'node.nft': node.exec(['nft', '-a', 'list', 'ruleset']) });
          const argv = ['nft', 'trace', '--ruleset', 'node.nft', '--src', NODE_IN];
          argv.push('--dst', '172.30.0.41', '--dport', '80', '--local-ip', `${NODE_IN}/24@eth0`);
          argv.push('--local-ip', `${NODE_OUT}/24@eth1`, '--out-iface', 'eth1', '--reply', '-o', 'json');
          expect(await main(argv, io), io.stderr).toBe(0);
          const [alt] = (JSON.parse(io.stdout) as { alternatives: (Alt & { reply: ReplyAlt })[] })
            .alternatives;
          const server = await startServer(lab, lab.ns('server'), {
            proto: 'tcp',
            listen: ENDPOINTS.map((host) => ({ host, port: 80 })),
          });
          const [client] = await runClient(lab, node, {
            proto: 'tcp',
            dst: '172.30.0.41',
            port: 80,
            bind: NODE_IN,
            attemptTimeoutMs: 700,
          });
          const seen = await server.stop();
          // The kernel: the node's socket got its SYN-ACK from the ClusterIP (else no connection).
          expect(client!.kind).toBe('connected');
          expect(seen).toHaveLength(1);
          expect(alt!.verdict).toBe('ACCEPT');
          expect(alt!.dnat).toBe(seen[0]!.local);
          expect(alt!.snat?.to.split(':')[0]).toBe(seen[0]!.peer.split(':')[0]);
          // packeteye: the reply is un-SNATed at PREROUTING and un-DNATed at INPUT, back to the VIP.
          expect(alt!.reply.rewrites.map((r) => [r.hook, r.kind])).toEqual([
            ['PREROUTING', 'un-SNAT'],
            ['INPUT', 'un-DNAT'],
          ]);
          expect(alt!.reply.packet.src).toBe('172.30.0.41');
          expect(alt!.reply.verdict).toBe('ACCEPT');
        });
      },
      60_000,
    );

    it('numgen random reaches exactly the endpoints packeteye enumerates, each with its probability', async () => {
      await withTopology(topology(), async (lab) => {
        const node = lab.ns('node');
        node.exec(['nft', '-f', '-'], { input: KUBE_PROXY });
        const alts = await packeteye(
          node.exec(['nft', '-a', 'list', 'ruleset']),
          '10.0.0.2',
          '172.30.0.44',
          80,
        );
        expect(alts.map((a) => [a.dnat, a.probability])).toEqual([
          ['10.180.0.4:80', 0.5],
          ['10.180.0.5:80', 0.5],
        ]);
        const server = await startServer(lab, lab.ns('server'), {
          proto: 'tcp',
          listen: ENDPOINTS.map((host) => ({ host, port: 80 })),
        });
        const results = await runClient(lab, lab.ns('client'), {
          proto: 'tcp',
          dst: '172.30.0.44',
          port: 80,
          bind: '10.0.0.2',
          count: 16,
          attemptTimeoutMs: 500,
        });
        const seen = await server.stop();
        expect(results.every((r) => r.kind === 'connected')).toBe(true);
        // 16 connections miss one of two equally likely endpoints with probability 2^-15.
        expect([...new Set(seen.map((s) => s.local))].sort()).toEqual(
          alts.map((a) => a.dnat).sort(),
        );
      });
    }, 60_000);
  },
);
