/**
 * The real kernel as the oracle for `-m set`: the router holds IP sets
 * (loaded with `ipset restore`) and FORWARD rules that match on them; a
 * client sends TCP SYNs from several sources to several ports; the rule
 * whose kernel counter moved (or the chain policy) must be the one
 * packeteye names, given the router's own `ipset save` and the same dump.
 * The first rule lets the server's answers (RSTs) through, so that only the
 * client's packets move the other counters.
 * Addresses: clients in 10.0.0.0/8, servers 172.31.2.0/24 and 172.31.3.0/24.
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../cli/io.js';
import { main } from '../cli/main.js';
import { parseIptablesSave, serializeRuleset } from '../iptables/index.js';
import {
  canEmulate,
  chainCounter,
  counterAt,
  rulePositions,
  sendRawTcp,
  TCP_FLAG,
  withTopology,
  type TopologyDesc,
} from './index.js';
import { routerLine } from './testing/router.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'ipset', 'socat'];

const SETS = `create blocked hash:net family inet hashsize 1024 maxelem 65536
add blocked 10.1.0.0/16
add blocked 10.1.2.0/24 nomatch
create svc hash:ip,port family inet hashsize 1024 maxelem 65536
add svc 172.31.2.2,tcp:443
create triples hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add triples 172.31.2.2,tcp:8080,10.9.0.1
create netports hash:net,port family inet hashsize 1024 maxelem 65536
add netports 10.9.0.0/16,tcp:9090
create low bitmap:port range 0-1023
add low 22
create small hash:ip family inet hashsize 1024 maxelem 65536
add small 10.9.0.2
create anyof list:set size 8
add anyof small
create hosts hash:ip family inet hashsize 1024 maxelem 65536 netmask 24
add hosts 172.31.2.0
`;

const DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i eth1 -j ACCEPT
-A FORWARD -m set --match-set blocked src -j DROP
-A FORWARD -m set --match-set blocked src --return-nomatch -j DROP
-A FORWARD -m set --match-set svc dst -j DROP
-A FORWARD -p tcp -m set --match-set svc dst,dst -j ACCEPT
-A FORWARD -m set --match-set triples dst,dst,src -j DROP
-A FORWARD -m set --match-set netports src,dst -j DROP
-A FORWARD -m set --match-set low dst -j DROP
-A FORWARD -m set --match-set anyof src -j DROP
-A FORWARD -m set ! --match-set hosts dst -j DROP
COMMIT
`;

const CLIENTS = ['10.1.5.5', '10.1.2.7', '10.7.0.1', '10.9.0.1', '10.9.0.2', '10.9.0.5'];

function topology(): TopologyDesc {
  return routerLine({
    client: CLIENTS.map((c) => `${c}/8`),
    routerIn: ['10.0.0.1/8'],
    routerOut: ['172.31.2.1/24', '172.31.3.1/24'],
    server: ['172.31.2.2/24', '172.31.3.3/24'],
  });
}

/** What decided a forwarded packet: `FORWARD#N` for a rule, `policy` for the chain's policy. */
async function packeteyeDecider(
  sets: string,
  src: string,
  dst: string,
  dport: number,
): Promise<string> {
  const io = memoryIo({ 'router.rules': DUMP, 'router.sets': sets });
  const argv = [
    'iptables',
    'trace',
    '--rules',
    'router.rules',
    '--ipsets',
    'router.sets',
    '--src',
    src,
    '--dst',
    dst,
    '--dport',
    String(dport),
    '--local-ip',
    '10.0.0.1/8@eth0',
    '--local-ip',
    '172.31.2.1/24@eth1',
    '--local-ip',
    '172.31.3.1/24@eth1',
    '--in-iface',
    'eth0',
    '--out-iface',
    'eth1',
    '-o',
    'json',
  ];
  const code = await main(argv, io);
  expect(code, io.stderr).toBe(0);
  const out = JSON.parse(io.stdout) as {
    alternatives: { decidedBy: { kind: string; chain?: string; index?: number } | null }[];
  };
  const d = out.alternatives[0]?.decidedBy;
  return d?.kind === 'rule' ? `${d.chain}#${d.index}` : (d?.kind ?? 'none');
}

describe.skipIf(!canEmulate(TOOLS))('ipset: packeteye agrees with the real kernel', () => {
  it('hash:net with nomatch, --return-nomatch, hash:ip,port, hash:ip,port,ip, hash:net,port, bitmap:port, list:set, netmask, too few flags, !', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.exec(['ipset', 'restore'], { input: SETS });
      router.iptablesRestore(DUMP);
      // packeteye reads what the kernel's own tool prints, not our input…
      const saved = router.exec(['ipset', 'save']);
      // …and prints -m set rules as iptables-save does.
      const rulesOf = (t: string) => t.split('\n').filter((l) => l.startsWith('-A '));
      expect(rulesOf(serializeRuleset(parseIptablesSave(DUMP).ruleset))).toEqual(
        rulesOf(router.exec(['iptables-save'])),
      );
      // Rule 1 counts the server's answers; the client's packets are counted by the rest.
      const positions = rulePositions(DUMP).filter((p) => p.chain === 'FORWARD' && p.index > 1);
      const cases: [src: string, dst: string, dport: number, why: string][] = [
        ['10.1.5.5', '172.31.2.2', 80, 'in blocked 10.1.0.0/16'],
        ['10.1.2.7', '172.31.2.2', 80, 'in the nomatch 10.1.2.0/24: only --return-nomatch matches'],
        ['10.7.0.1', '172.31.2.2', 443, 'svc with one flag never matches; with dst,dst it does'],
        ['10.9.0.1', '172.31.2.2', 8080, 'triples: dst ip, dst port, src ip'],
        ['10.9.0.2', '172.31.2.2', 8080, 'not the triple; small (in anyof) holds the source'],
        ['10.9.0.5', '172.31.2.2', 9090, 'netports: src net, dst port'],
        ['10.7.0.1', '172.31.2.2', 22, 'low holds port 22'],
        ['10.7.0.1', '172.31.2.2', 8443, 'hosts (netmask 24) holds 172.31.2.0/24: policy'],
        ['10.7.0.1', '172.31.3.3', 80, 'not in hosts: ! matches'],
      ];
      let sport = 40000;
      for (const [src, dst, dport, why] of cases) {
        const before = router.counters();
        sendRawTcp(lab.ns('client'), {
          src,
          dst,
          sport: sport++,
          dport,
          seq: 1,
          ack: 0,
          flags: TCP_FLAG.SYN,
        });
        const after = router.counters();
        const moved = positions.filter(
          (p) => counterAt(after, p).packets > counterAt(before, p).packets,
        );
        const policyMoved =
          chainCounter(after, 'filter', 'FORWARD').packets >
          chainCounter(before, 'filter', 'FORWARD').packets;
        const kernel =
          moved.length > 0 ? `FORWARD#${moved[0]!.index}` : policyMoved ? 'policy' : 'none';
        const what = `${src} → ${dst}:${dport} (${why})`;
        expect(moved.length, `kernel, ${what}: one terminal rule`).toBeLessThanOrEqual(1);
        expect(await packeteyeDecider(saved, src, dst, dport), what).toBe(kernel);
      }
    });
  });
});
