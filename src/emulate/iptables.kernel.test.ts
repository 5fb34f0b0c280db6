/**
 * The real kernel as the oracle for `packeteye iptables trace`.
 *
 * Each test builds client → router → server namespaces, loads one dump into
 * the router with `iptables-restore`, sends real packets, reads what the
 * kernel did (what the sockets saw, `iptables-save -c` counters,
 * `conntrack -L`), and asserts packeteye, given THE SAME dump text, says the
 * same. Addresses: client 10.250.1.0/24, servers 172.31.2.0/24, service VIP
 * 10.250.100.10 (exists only as a DNAT match).
 */
import { describe, expect, it } from 'vitest';
import {
  canEmulate,
  chainCounter,
  counterAt,
  rulePositions,
  runClient,
  sendRawTcp,
  startServer,
  TCP_FLAG,
  withTopology,
  type ClientResult,
  type Counters,
  type Lab,
  type TopologyDesc,
} from './index.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'conntrack', 'socat', 'nstat', 'sysctl'];

const CLIENT = '10.250.1.2'; // inside the "cluster CIDR" 10.250.1.0/28
const OUTSIDER = '10.250.1.100'; // a second client address, outside it
const ROUTER_IN = '10.250.1.1'; // router eth0
const ROUTER_OUT = '172.31.2.1'; // router eth1
const BACKEND_A = '172.31.2.2';
const BACKEND_B = '172.31.2.3';
const VIP = '10.250.100.10';
const ROUTER_LOCAL = [ROUTER_IN, ROUTER_OUT, '127.0.0.1'];

/** client(eth0) — (eth0)router(eth1) — (eth0)server; the router forwards and routes the VIP range towards the servers. */
function topology(routerSysctls: Record<string, number> = {}): TopologyDesc {
  return {
    netns: {
      client: { routes: [{ to: 'default', via: ROUTER_IN }] },
      router: {
        sysctls: { 'net.ipv4.ip_forward': 1, ...routerSysctls },
        routes: [{ to: '10.250.100.0/24', via: BACKEND_A, dev: 'eth1' }],
      },
      server: { routes: [{ to: 'default', via: ROUTER_OUT }] },
    },
    veths: [
      {
        a: { ns: 'client', dev: 'eth0', addrs: [`${CLIENT}/24`, `${OUTSIDER}/24`] },
        b: { ns: 'router', dev: 'eth0', addrs: [`${ROUTER_IN}/24`] },
      },
      {
        a: { ns: 'router', dev: 'eth1', addrs: [`${ROUTER_OUT}/24`] },
        b: { ns: 'server', dev: 'eth0', addrs: [`${BACKEND_A}/24`, `${BACKEND_B}/24`] },
      },
    ],
  };
}

const NAT_HEAD = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
`;

/** One service VIP:80 → one endpoint, kube-proxy 1.28 shape (cluster CIDR 10.250.1.0/28). */
const ONE_ENDPOINT = `${NAT_HEAD}-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB ! -s 10.250.1.0/28 -d ${VIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> ${BACKEND_A}:8080" -j KUBE-SEP-A
-A KUBE-SEP-A -s ${BACKEND_A}/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${BACKEND_A}:8080
COMMIT
`;

/** Two endpoints chosen by `-m statistic --mode random`. */
const TWO_ENDPOINTS = `${NAT_HEAD}-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB ! -s 10.250.1.0/28 -d ${VIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> ${BACKEND_A}:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> ${BACKEND_B}:8080" -j KUBE-SEP-B
-A KUBE-SEP-A -s ${BACKEND_A}/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${BACKEND_A}:8080
-A KUBE-SEP-B -s ${BACKEND_B}/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-B -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${BACKEND_B}:8080
COMMIT
`;

/** NodePort 30080 on any local address (`-m addrtype --dst-type LOCAL`), the last rule of KUBE-SERVICES. */
const NODEPORT = `${NAT_HEAD}-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${BACKEND_A}:8080
COMMIT
`;

/** A UDP service VIP:53 → BACKEND_A:5353, for un-DNAT of the reply. */
const UDP_SERVICE = `${NAT_HEAD}-A KUBE-SERVICES -d ${VIP}/32 -p udp -m comment --comment "kube-system/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -m comment --comment "kube-system/dns:dns -> ${BACKEND_A}:5353" -j KUBE-SEP-A
-A KUBE-SEP-A -p udp -m comment --comment "kube-system/dns:dns" -m udp -j DNAT --to-destination ${BACKEND_A}:5353
COMMIT
`;

/** REJECTs in FORWARD, one per reject type, kube-proxy's "has no endpoints" shape first. */
const REJECTS = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m comment --comment "default/web:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m tcp --dport 81 -j REJECT --reject-with tcp-reset
-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m tcp --dport 82 -j REJECT --reject-with icmp-host-unreachable
-A KUBE-SERVICES -d ${VIP}/32 -p udp -m udp --dport 53 -j REJECT
COMMIT
`;

/** kube-proxy's INVALID drop, first in KUBE-FORWARD. */
const INVALID_DROP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-FORWARD -d ${BACKEND_A}/32 -p tcp -m tcp --dport 9000:9999 -j ACCEPT
COMMIT
`;

/** The (chain, index) of the dump's rule matching `re`; the one place tests name rules. */
function ruleOf(
  dump: string,
  table: string,
  chain: string,
  re: RegExp,
): { table: string; chain: string; index: number; line: number } {
  const lines = dump.split('\n');
  const hits = rulePositions(dump).filter(
    (p) => p.table === table && p.chain === chain && re.test(lines[p.line - 1] ?? ''),
  );
  if (hits.length !== 1)
    throw new Error(`expected one ${table}/${chain} rule matching ${re}, found ${hits.length}`);
  return hits[0] as { table: string; chain: string; index: number; line: number };
}

/** The nat-table rules the kernel's counters say the packets matched ("chain#index"). */
function natRulesTaken(c: Counters): string[] {
  return c.rules
    .filter((r) => r.table === 'nat' && r.packets > 0)
    .map((r) => `${r.chain}#${r.index}`)
    .sort();
}

function snmpDelta(before: Map<string, number>, after: Map<string, number>, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

async function connectOnce(
  lab: Lab,
  from: string,
  dst: string,
  port: number,
  sport?: number,
): Promise<ClientResult> {
  const [r] = await runClient(lab, lab.ns('client'), {
    proto: 'tcp',
    dst,
    port,
    bind: from,
    ...(sport ? { sport } : {}),
  });
  if (r === undefined) throw new Error('client returned no result');
  return r;
}

describe.skipIf(!canEmulate(TOOLS))('iptables: packeteye agrees with the real kernel', () => {
  it('DNAT in nat PREROUTING: client → VIP:80 reaches the endpoint; conntrack holds the translation', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(ONE_ENDPOINT);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'tcp',
        listen: [{ host: BACKEND_A, port: 8080 }],
      });
      const got = await connectOnce(lab, CLIENT, VIP, 80, 40001);
      const seen = await server.stop();

      expect(got).toMatchObject({ kind: 'connected', remote: `${VIP}:80` });
      expect(seen).toEqual([{ peer: `${CLIENT}:40001`, local: `${BACKEND_A}:8080` }]);
      const ct = router.conntrack().filter((e) => e.original.dport === 80);
      expect(ct).toHaveLength(1);
      expect(ct[0]).toMatchObject({
        original: { src: CLIENT, dst: VIP, sport: 40001, dport: 80 },
        reply: { src: BACKEND_A, dst: CLIENT, sport: 8080, dport: 40001 },
        assured: true,
      });
      // The first packet also walks POSTROUTING, where the unmarked flow RETURNs before MASQUERADE.
      expect(natRulesTaken(router.counters())).toEqual([
        'KUBE-POSTROUTING#1',
        'KUBE-SEP-A#2',
        'KUBE-SERVICES#1',
        'KUBE-SVC-WEB#2',
        'POSTROUTING#1',
        'PREROUTING#1',
      ]);
    });
  });

  it('DNAT in nat OUTPUT: the router itself dials VIP:80 and reaches the endpoint', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(ONE_ENDPOINT);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'tcp',
        listen: [{ host: BACKEND_A, port: 8080 }],
      });
      const [got] = await runClient(lab, router, {
        proto: 'tcp',
        dst: VIP,
        port: 80,
        sport: 40002,
      });
      const seen = await server.stop();

      expect(got).toMatchObject({ kind: 'connected', remote: `${VIP}:80` });
      // The source was chosen by the route to the VIP (via eth1) before DNAT. It is outside the
      // cluster CIDR, so KUBE-SVC-WEB marks the flow and POSTROUTING masquerades it (--random-fully:
      // new source port, same address since eth1 is also the way out).
      expect(seen).toHaveLength(1);
      expect(seen[0]?.local).toBe(`${BACKEND_A}:8080`);
      expect(seen[0]?.peer.split(':')[0]).toBe(ROUTER_OUT);
      expect(natRulesTaken(router.counters())).toEqual([
        'KUBE-MARK-MASQ#1',
        'KUBE-POSTROUTING#2',
        'KUBE-POSTROUTING#3',
        'KUBE-SEP-A#2',
        'KUBE-SERVICES#1',
        'KUBE-SVC-WEB#1',
        'KUBE-SVC-WEB#2',
        'OUTPUT#1',
        'POSTROUTING#1',
      ]);
      const ct = router.conntrack().filter((e) => e.original.dport === 80);
      expect(ct[0]).toMatchObject({
        original: { src: ROUTER_OUT, dst: VIP, sport: 40002, dport: 80 },
        reply: { src: BACKEND_A, dst: ROUTER_OUT, sport: 8080 },
      });
    });
  });

  it('MASQUERADE by mark: KUBE-MARK-MASQ sets 0x4000, KUBE-POSTROUTING masquerades only marked flows', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(ONE_ENDPOINT);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'tcp',
        listen: [{ host: BACKEND_A, port: 8080 }],
      });
      const inside = await connectOnce(lab, CLIENT, VIP, 80, 40003);
      const outside = await connectOnce(lab, OUTSIDER, VIP, 80, 40004);
      const seen = await server.stop();

      expect(inside).toMatchObject({ kind: 'connected' });
      expect(outside).toMatchObject({ kind: 'connected' });
      expect(seen[0]).toEqual({ peer: `${CLIENT}:40003`, local: `${BACKEND_A}:8080` });
      // Marked: source rewritten to the out interface's address (--random-fully: any port).
      expect(seen[1]?.peer.split(':')[0]).toBe(ROUTER_OUT);
      const c = router.counters();
      const masq = ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-POSTROUTING', /MASQUERADE/);
      const ret = ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-POSTROUTING', /-j RETURN/);
      const mark = ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-SVC-WEB', /KUBE-MARK-MASQ/);
      expect(counterAt(c, masq).packets).toBe(1);
      expect(counterAt(c, ret).packets).toBe(1);
      expect(counterAt(c, mark).packets).toBe(1);
      const ct = router.conntrack().find((e) => e.original.src === OUTSIDER);
      expect(ct?.reply).toMatchObject({ src: BACKEND_A, dst: ROUTER_OUT, sport: 8080 });
    });
  });

  it('statistic: 40 connections take both KUBE-SEP branches of a 2-endpoint KUBE-SVC chain', async () => {
    const n = 40;
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(TWO_ENDPOINTS);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'tcp',
        listen: [
          { host: BACKEND_A, port: 8080 },
          { host: BACKEND_B, port: 8080 },
        ],
      });
      const results = await runClient(lab, lab.ns('client'), {
        proto: 'tcp',
        dst: VIP,
        port: 80,
        bind: CLIENT,
        count: n,
      });
      const seen = await server.stop();

      expect(results.filter((r) => r.kind === 'connected')).toHaveLength(n);
      const c = router.counters();
      const toA = counterAt(c, ruleOf(TWO_ENDPOINTS, 'nat', 'KUBE-SVC-WEB', /statistic/)).packets;
      const toB = counterAt(
        c,
        ruleOf(TWO_ENDPOINTS, 'nat', 'KUBE-SVC-WEB', /-j KUBE-SEP-B/),
      ).packets;
      expect(toA + toB).toBe(n);
      expect(toA).toBeGreaterThan(0);
      expect(toB).toBeGreaterThan(0);
      const used = new Set(router.conntrack().map((e) => `${e.reply.src}:${e.reply.sport}`));
      expect([...used].sort()).toEqual([`${BACKEND_A}:8080`, `${BACKEND_B}:8080`]);
      expect(seen.filter((s) => s.local === `${BACKEND_A}:8080`)).toHaveLength(toA);
    });
  });

  it('REJECT: each --reject-with as the client sees it', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      const client = lab.ns('client');
      router.iptablesRestore(REJECTS);
      const cases = [
        { port: 80, proto: 'tcp', expect: { kind: 'refused', icmp: 1 } },
        { port: 81, proto: 'tcp', expect: { kind: 'refused', icmp: 0 } },
        { port: 82, proto: 'tcp', expect: { kind: 'unreachable', icmp: 1 } },
        { port: 53, proto: 'udp', expect: { kind: 'refused', icmp: 1 } },
      ] as const;
      for (const k of cases) {
        const before = client.snmp();
        const [got] = await runClient(lab, client, {
          proto: k.proto,
          dst: VIP,
          port: k.port,
          bind: CLIENT,
          connect: true,
        });
        const icmp = snmpDelta(before, client.snmp(), 'IcmpInDestUnreachs');
        expect({ port: k.port, kind: got?.kind, icmp }).toEqual({ port: k.port, ...k.expect });
      }
      const c = router.counters();
      for (const r of c.rules.filter((x) => x.chain === 'KUBE-SERVICES'))
        expect(r.packets, r.spec).toBe(1);
    });
  });

  it('ctstate INVALID: unsolicited RST/FIN are INVALID; an unsolicited ACK only with nf_conntrack_tcp_loose=0', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      const server = lab.ns('server');
      router.iptablesRestore(INVALID_DROP);
      expect(router.sysctl('net.netfilter.nf_conntrack_tcp_loose')).toBe('1');
      const invalid = ruleOf(INVALID_DROP, 'filter', 'KUBE-FORWARD', /INVALID/);
      const table = [];
      let sport = 41000;
      for (const loose of [1, 0]) {
        router.setSysctl('net.netfilter.nf_conntrack_tcp_loose', loose);
        for (const [name, flags] of [
          ['SYN', TCP_FLAG.SYN],
          ['ACK', TCP_FLAG.ACK],
          ['RST', TCP_FLAG.RST],
          ['FIN,ACK', TCP_FLAG.FIN | TCP_FLAG.ACK],
        ] as const) {
          const dropsBefore = counterAt(router.counters(), invalid).packets;
          const inBefore = server.snmp();
          sendRawTcp(lab.ns('client'), {
            src: CLIENT,
            dst: BACKEND_A,
            sport: sport++,
            dport: 9000,
            seq: 1000,
            ack: 2000,
            flags,
          });
          // Delivery is synchronous across veth; give softirq a moment anyway.
          await new Promise((res) => setTimeout(res, 50));
          const invalidHit = counterAt(router.counters(), invalid).packets - dropsBefore;
          const delivered = snmpDelta(inBefore, server.snmp(), 'IpInReceives');
          table.push(
            `loose=${loose} ${name}: ${invalidHit === 1 ? 'INVALID, dropped' : 'not INVALID'}, ${delivered === 1 ? 'delivered' : 'not delivered'}`,
          );
        }
      }
      expect(table).toEqual([
        'loose=1 SYN: not INVALID, delivered',
        'loose=1 ACK: not INVALID, delivered',
        'loose=1 RST: INVALID, dropped, not delivered',
        'loose=1 FIN,ACK: INVALID, dropped, not delivered',
        'loose=0 SYN: not INVALID, delivered',
        'loose=0 ACK: INVALID, dropped, not delivered',
        'loose=0 RST: INVALID, dropped, not delivered',
        'loose=0 FIN,ACK: INVALID, dropped, not delivered',
      ]);
      expect(chainCounter(router.counters(), 'filter', 'FORWARD').policy).toBe('DROP');
    });
  });

  it('addrtype LOCAL: a NodePort on any of the router’s own addresses is DNATed, a forwarded packet is not', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(NODEPORT);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'tcp',
        listen: [
          { host: BACKEND_A, port: 8080 },
          { host: BACKEND_A, port: 30080 },
        ],
      });
      const viaIn = await connectOnce(lab, CLIENT, ROUTER_IN, 30080, 40011);
      const viaOut = await connectOnce(lab, CLIENT, ROUTER_OUT, 30080, 40012);
      const forwarded = await connectOnce(lab, CLIENT, BACKEND_A, 30080, 40013);
      const seen = await server.stop();

      expect([viaIn.kind, viaOut.kind, forwarded.kind]).toEqual([
        'connected',
        'connected',
        'connected',
      ]);
      expect(seen).toEqual([
        { peer: `${CLIENT}:40011`, local: `${BACKEND_A}:8080` },
        { peer: `${CLIENT}:40012`, local: `${BACKEND_A}:8080` },
        { peer: `${CLIENT}:40013`, local: `${BACKEND_A}:30080` },
      ]);
      const addrtype = ruleOf(NODEPORT, 'nat', 'KUBE-SERVICES', /addrtype/);
      expect(counterAt(router.counters(), addrtype).packets).toBe(2);
    });
  });

  it('un-DNAT of the reply: the client sees the answer come from the VIP it dialled', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(UDP_SERVICE);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'udp',
        listen: [{ host: BACKEND_A, port: 5353 }],
      });
      // An unconnected socket: it would accept a reply from any source, so what it reports is the reply's true source.
      const [got] = await runClient(lab, lab.ns('client'), {
        proto: 'udp',
        dst: VIP,
        port: 53,
        bind: CLIENT,
        sport: 40053,
      });
      const seen = await server.stop();

      expect(seen).toEqual([{ peer: `${CLIENT}:40053`, local: `${BACKEND_A}:5353` }]);
      expect(got).toMatchObject({ kind: 'reply', from: `${VIP}:53`, local: `${CLIENT}:40053` });
      const ct = router.conntrack().filter((e) => e.proto === 'udp');
      expect(ct).toHaveLength(1);
      expect(ct[0]).toMatchObject({
        original: { src: CLIENT, dst: VIP, sport: 40053, dport: 53 },
        reply: { src: BACKEND_A, dst: CLIENT, sport: 5353, dport: 40053 },
        unreplied: false,
      });
    });
  });
});
