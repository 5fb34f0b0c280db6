/**
 * One node, two writers: kube-proxy's iptables mode through iptables-nft
 * (`iptables-restore` here is iptables-nft, so its tables live in nftables)
 * and a native nftables table (a firewall at forward priority -10). The
 * kernel runs both by priority; packeteye must agree given the node's
 * `nft -a list ruleset` with its `iptables-save` (iptables-nft's tables then
 * read from the dump), and given the listing alone (those tables read as
 * nft prints them: `meta random & 2147483647 < 1073741824` for
 * `-m statistic`).
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { NODE_IN, NODE_OUT, natNodeTopology } from '../../src/emulate/testing/nat-node.js';
import {
  canEmulate,
  runClient,
  spawnIn,
  startServer,
  tryRun,
  withTopology,
  type Lab,
  type TopologyDesc,
} from '../../src/emulate/index.js';

const TOOLS = ['ip', 'nft', 'iptables-restore', 'iptables-save', 'socat', 'sysctl'];
/** iptables-restore here must be iptables-nft for its tables to show in nft list ruleset. */
const IPTABLES_NFT =
  canEmulate(['iptables']) && /nf_tables/.test(tryRun(['iptables', '--version']).stdout);

const ENDPOINTS = ['10.180.0.1', '10.180.0.2', '10.180.0.3'];
const VIP = '172.30.0.41';

const IPTABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -j MASQUERADE --random-fully
-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB ! -s 10.0.0.0/8 -d ${VIP}/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SVC-WEB -j KUBE-SEP-B
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.180.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -d 10.180.0.0/24 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`;

/** A native firewall before iptables' filter table, and the kernel tracer on every packet. */
const NATIVE = `table inet fw {
  chain gate {
    type filter hook forward priority -10; policy accept;
    ip saddr 203.0.113.130 drop
  }
  chain tracing {
    type filter hook prerouting priority -400; policy accept;
    meta nftrace set 1
  }
}
`;

function topology(): TopologyDesc {
  return natNodeTopology(ENDPOINTS, ['172.30.0.0/16']);
}

interface Alt {
  probability: number;
  verdict: string;
  dnat: string | null;
  snat: { to: string } | null;
  hits: { table: string; chain: string; handle?: number }[];
}

async function packeteye(
  files: Record<string, string>,
  src: string,
  dst: string,
  dport: number,
): Promise<{ alts: Alt[]; stderr: string }> {
  const io = memoryIo(files);
  const argv = ['nft', 'trace', '--ruleset', 'node.nft'];
  if ('node.rules' in files) argv.push('--rules', 'node.rules');
  argv.push('--src', src, '--dst', dst, '--dport', String(dport));
  argv.push('--local-ip', `${NODE_IN}/24@eth0`, '--local-ip', `${NODE_OUT}/24@eth1`);
  argv.push('--in-iface', 'eth0', '--out-iface', 'eth1', '--all-paths', '-o', 'json');
  const code = await main(argv, io);
  expect(code, io.stderr).toBe(0);
  return {
    alts: (JSON.parse(io.stdout) as { alternatives: Alt[] }).alternatives,
    stderr: io.stderr,
  };
}

/** Connects `count` times; what the client and the server saw, and the kernel tracer's rules of the first SYN. */
async function connect(lab: Lab, src: string, dst: string, port: number, count = 1) {
  const monitor = spawnIn(lab, lab.ns('node'), ['nft', '-a', 'monitor', 'trace']);
  await new Promise((r) => setTimeout(r, 300));
  const server = await startServer(lab, lab.ns('server'), {
    proto: 'tcp',
    listen: ENDPOINTS.map((host) => ({ host, port })),
  });
  const results = await runClient(lab, lab.ns('client'), {
    proto: 'tcp',
    dst,
    port,
    bind: src,
    count,
    attemptTimeoutMs: 600,
  });
  const seen = await server.stop();
  await new Promise((r) => setTimeout(r, 200));
  monitor.child.kill('SIGTERM');
  const lines = (await monitor.done).stdout.split('\n').filter((l) => l.startsWith('trace id '));
  // The first SYN from the client (an inet table also traces IPv6 neighbour discovery).
  const syn = lines.find((l) => l.includes(` ip saddr ${src} `) && l.includes('tcp flags == syn'));
  const id = syn?.split(' ')[2];
  const rules: string[] = [];
  for (const l of lines) {
    const m = /^trace id (\S+) (\S+ \S+) (\S+) rule .*# handle (\d+)/.exec(l);
    if (!m || m[1] !== id) continue;
    const r = `${m[2]} ${m[3]} handle ${m[4]}`;
    if (rules.length > 0 && r === rules[0]) break;
    rules.push(r);
  }
  return { results, seen, rules };
}

describe.skipIf(!canEmulate(TOOLS) || !IPTABLES_NFT)(
  'iptables-nft and native nftables on one node, against the real kernel',
  () => {
    it('agrees on every flow, read with the iptables-save dump and from the nft listing alone', async () => {
      await withTopology(topology(), async (lab) => {
        const node = lab.ns('node');
        node.exec(['iptables-restore'], { input: IPTABLES });
        node.exec(['nft', '-f', '-'], { input: NATIVE });
        const listed = node.exec(['nft', '-a', 'list', 'ruleset']);
        const saved = node.exec(['iptables-save']);

        // Random endpoint choice made by iptables-nft's statistic match.
        const both = await packeteye(
          { 'node.nft': listed, 'node.rules': saved },
          '10.0.0.2',
          VIP,
          80,
        );
        const alone = await packeteye({ 'node.nft': listed }, '10.0.0.2', VIP, 80);
        expect(both.stderr).toBe('');
        expect(alone.stderr).toContain('nft-iptables-nft-table');
        for (const p of [both, alone])
          expect(p.alts.map((a) => [a.verdict, a.dnat, a.probability])).toEqual([
            ['ACCEPT', '10.180.0.1:80', 0.5],
            ['ACCEPT', '10.180.0.2:80', 0.5],
          ]);
        const many = await connect(lab, '10.0.0.2', VIP, 80, 16);
        expect(many.results.every((r) => r.kind === 'connected')).toBe(true);
        expect([...new Set(many.seen.map((s) => s.local))].sort()).toEqual([
          '10.180.0.1:80',
          '10.180.0.2:80',
        ]);
        // The listing alone names every rule the kernel's tracer names, in its order.
        const sep = many.seen[0]!.local === '10.180.0.1:80' ? 0 : 1;
        expect(
          alone.alts[sep]!.hits.map((h) => `${h.table} ${h.chain} handle ${String(h.handle)}`),
        ).toEqual(many.rules);

        const flows: [string, string, number, string, string | null][] = [
          // The native firewall at -10 drops before iptables' filter (0) is consulted.
          ['203.0.113.130', VIP, 80, 'DROP', null],
          // Masqueraded by iptables' KUBE-POSTROUTING: the server sees the node.
          ['203.0.113.2', VIP, 80, 'ACCEPT', NODE_OUT],
          // iptables' FORWARD policy DROP after nft's accept-by-policy at -10.
          ['10.0.0.2', '10.180.0.3', 81, 'DROP', null],
          ['10.0.0.2', '10.180.0.3', 80, 'ACCEPT', '10.0.0.2'],
        ];
        for (const [src, dst, port, verdict, peer] of flows) {
          const name = `${src} → ${dst}:${port}`;
          const real = await connect(lab, src, dst, port);
          expect(real.results[0]!.kind, name).toBe(verdict === 'ACCEPT' ? 'connected' : 'timeout');
          for (const p of [
            await packeteye({ 'node.nft': listed, 'node.rules': saved }, src, dst, port),
            await packeteye({ 'node.nft': listed }, src, dst, port),
          ]) {
            expect(new Set(p.alts.map((a) => a.verdict)), name).toEqual(new Set([verdict]));
            if (peer !== null) {
              const seenPeer = real.seen[0]!.peer.split(':')[0];
              expect(seenPeer, name).toBe(peer);
              expect(
                p.alts.every((a) => (a.snat?.to.split(':')[0] ?? src) === peer),
                name,
              ).toBe(true);
            }
          }
          const alone1 = (await packeteye({ 'node.nft': listed }, src, dst, port)).alts;
          if (alone1.length === 1)
            expect(
              alone1[0]!.hits.map((h) => `${h.table} ${h.chain} handle ${String(h.handle)}`),
              name,
            ).toEqual(real.rules);
        }
      });
    }, 120_000);
  },
);
