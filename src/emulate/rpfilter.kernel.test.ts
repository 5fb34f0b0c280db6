/**
 * The real kernel as the oracle for `-m rpfilter` (the reverse-path check
 * Calico's Felix runs on every workload packet): the router's raw table
 * marks a packet once per rpfilter flavour (strict, --loose, --accept-local,
 * --invert), so each rule's counter says whether that flavour matched; a
 * client sends SYNs from sources with a route back out of the same device,
 * out of another device, no route at all, and the router's own address.
 * packeteye, given the router's own `ip route show table all` and the same
 * dump, must name exactly the rules whose counters moved.
 */
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../cli/io.js';
import { main } from '../cli/main.js';
import { parseIptablesSave, serializeRuleset } from '../iptables/index.js';
import {
  canEmulate,
  counterAt,
  rulePositions,
  sendRawTcp,
  TCP_FLAG,
  withTopology,
  type TopologyDesc,
} from './index.js';
import { routerLine } from './testing/router.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'socat'];

const DUMP = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CHECKS - [0:0]
-A PREROUTING -i eth0 -j CHECKS
-A CHECKS -m rpfilter -j MARK --set-xmark 0x1/0x1
-A CHECKS -m rpfilter --loose -j MARK --set-xmark 0x2/0x2
-A CHECKS -m rpfilter --accept-local -j MARK --set-xmark 0x4/0x4
-A CHECKS -m rpfilter --invert -j MARK --set-xmark 0x8/0x8
COMMIT
`;

const SOURCES: [src: string, why: string][] = [
  ['10.1.0.2', 'routed back out of eth0, the device it came in on'],
  ['10.50.1.1', 'routed back out of eth1: only --loose passes'],
  ['10.9.9.9', 'no route back at all'],
  ['10.200.0.1', "the router's own address on eth0: only --accept-local passes"],
];

function topology(): TopologyDesc {
  return routerLine({
    client: ['10.1.0.2/24', '10.50.1.1/32', '10.9.9.9/32', '10.200.0.1/32'],
    routerIn: ['10.1.0.1/24', '10.200.0.1/32'],
    routerOut: ['172.31.2.1/24'],
    server: ['172.31.2.2/24'],
    routerRoutes: [{ to: '10.50.0.0/16', via: '172.31.2.2', dev: 'eth1' }],
  });
}

/** The CHECKS rules packeteye says the packet matched, as `CHECKS#N`. */
async function packeteyeHits(routes: string, src: string): Promise<string[]> {
  const io = memoryIo({ 'router.rules': DUMP, 'router.routes': routes });
  const argv = [
    'iptables',
    'trace',
    '--rules',
    'router.rules',
    '--routes',
    'router.routes',
    '--src',
    src,
    '--dst',
    '172.31.2.2',
    '--dport',
    '80',
    // A packet from a --local-ip starts at OUTPUT; this one arrives spoofing the router's own
    // address, so that address is left out here: the local route in --routes is what rpfilter sees.
    ...['10.1.0.1/24@eth0', '10.200.0.1/32@eth0', '172.31.2.1/24@eth1']
      .filter((l) => !l.startsWith(`${src}/`))
      .flatMap((l) => ['--local-ip', l]),
    '--in-iface',
    'eth0',
    '-o',
    'json',
  ];
  const code = await main(argv, io);
  expect(code, io.stderr).toBe(0);
  const out = JSON.parse(io.stdout) as {
    alternatives: { verdict: string; hits: { table: string; chain: string; index: number }[] }[];
  };
  const a = out.alternatives[0]!;
  expect(a.verdict).not.toBe('UNSUPPORTED');
  return a.hits.filter((h) => h.chain === 'CHECKS').map((h) => `CHECKS#${h.index}`);
}

describe.skipIf(!canEmulate(TOOLS))('rpfilter: packeteye agrees with the real kernel', () => {
  it('strict, --loose, --accept-local and --invert for four kinds of source', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(DUMP);
      // packeteye prints -m rpfilter as iptables-save does…
      const rulesOf = (t: string) => t.split('\n').filter((l) => l.startsWith('-A '));
      expect(rulesOf(serializeRuleset(parseIptablesSave(DUMP).ruleset))).toEqual(
        rulesOf(router.exec(['iptables-save', '-t', 'raw'])),
      );
      // …and reads the routes as the kernel's own tool prints them.
      const routes = router.exec(['ip', 'route', 'show', 'table', 'all']);
      const checks = rulePositions(DUMP).filter((p) => p.chain === 'CHECKS');
      let sport = 41000;
      for (const [src, why] of SOURCES) {
        const before = router.counters();
        sendRawTcp(lab.ns('client'), {
          src,
          dst: '172.31.2.2',
          sport: sport++,
          dport: 80,
          seq: 1,
          ack: 0,
          flags: TCP_FLAG.SYN,
        });
        const after = router.counters();
        const kernel = checks
          .filter((p) => counterAt(after, p).packets > counterAt(before, p).packets)
          .map((p) => `CHECKS#${p.index}`);
        expect(kernel.length, `kernel, ${src}: the packet reached CHECKS`).toBeGreaterThan(0);
        expect(await packeteyeHits(routes, src), `${src} (${why})`).toEqual(kernel);
      }
    });
  });

  it('without the routes, packeteye says it cannot decide, naming the rule', async () => {
    const io = memoryIo({ 'router.rules': DUMP });
    const code = await main(
      [
        'iptables',
        'trace',
        '--rules',
        'router.rules',
        '--src',
        '10.1.0.2',
        '--dst',
        '172.31.2.2',
        '--dport',
        '80',
        '--in-iface',
        'eth0',
        '-o',
        'json',
      ],
      io,
    );
    expect(code).toBe(0);
    const a = (
      JSON.parse(io.stdout) as {
        alternatives: { verdict: string; unsupported: { what: string; line: number } }[];
      }
    ).alternatives[0]!;
    expect(a.verdict).toBe('UNSUPPORTED');
    expect(a.unsupported).toMatchObject({ line: 6 });
    expect(a.unsupported.what).toContain('ip route show table all');
  });
});
