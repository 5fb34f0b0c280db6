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
import { memoryIo } from '../cli/io.js';
import { main } from '../cli/main.js';
import {
  ConntrackTable,
  DEFAULT_CONNTRACK_SYSCTLS,
  NO_CT,
  confirm,
  conntrackIn,
  type ConntrackSysctls,
} from '../kernel/conntrack/index.js';
import type { Ipv4Packet } from '../wire/packet.js';
import {
  canEmulate,
  captureTcp,
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
  type ServerSaw,
  type Netns,
  type RawTcp,
  type TopologyDesc,
} from './index.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'conntrack', 'socat', 'nstat', 'sysctl'];
/** Only the out-of-window test reads sequence numbers off the wire. */
const HAS_TCPDUMP = canEmulate(['tcpdump']);

const CLIENT = '10.250.1.2'; // inside the "cluster CIDR" 10.250.1.0/28
const OUTSIDER = '10.250.1.100'; // a second client address, outside it
const ROUTER_IN = '10.250.1.1'; // router eth0
const ROUTER_OUT = '172.31.2.1'; // router eth1
const BACKEND_A = '172.31.2.2';
const BACKEND_B = '172.31.2.3';
const VIP = '10.250.100.10';
/** The router's addresses as packeteye's --local-ip (IP/PREFIX@IFACE); checked against the kernel's. */
const ROUTER_LOCAL = [`${ROUTER_IN}/24@eth0`, `${ROUTER_OUT}/24@eth1`];

/** A namespace's addresses as the kernel lists them, in packeteye's --local-ip form. */
function localIpsOf(ns: Netns): string[] {
  return ns.ipv4Addresses().map((a) => `${a.ip}/${a.prefix}@${a.dev}`);
}

/**
 * client(eth0) — (eth0)router(eth1) — (eth0)server; the router forwards and routes the VIP range
 * towards the servers. `routerOutFirst` puts another primary address on eth1 before ROUTER_OUT.
 */
function topology(opts: { routerOutFirst?: string } = {}): TopologyDesc {
  return {
    netns: {
      client: { routes: [{ to: 'default', via: ROUTER_IN }] },
      router: {
        sysctls: { 'net.ipv4.ip_forward': 1 },
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
        a: {
          ns: 'router',
          dev: 'eth1',
          addrs: [
            ...(opts.routerOutFirst !== undefined ? [opts.routerOutFirst] : []),
            `${ROUTER_OUT}/24`,
          ],
        },
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

/** Two endpoints chosen by `-m statistic --mode nth` (every 2nd new connection; `--packet` sets the phase). */
function nthEndpoints(packet: number): string {
  return TWO_ENDPOINTS.replace(
    '--mode random --probability 0.50000000000',
    `--mode nth --every 2 --packet ${packet}`,
  );
}

/** NodePort 30080 on any local address (`-m addrtype --dst-type LOCAL`), the last rule of KUBE-SERVICES. */
const NODEPORT = `${NAT_HEAD}-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${BACKEND_A}:8080
COMMIT
`;

/** VIP:80 → an endpoint on the router itself (a hostNetwork pod), reached over lo. */
const LOCAL_ENDPOINT = ONE_ENDPOINT.replaceAll(BACKEND_A, ROUTER_IN);

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
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
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

/** A TCP server on `host`:8080 in `ns` while `dial` runs; what it saw, once stopped (even if `dial` throws). */
async function whileServing<T>(
  lab: Lab,
  ns: Netns,
  host: string,
  dial: () => Promise<T>,
): Promise<{ got: T; seen: ServerSaw[] }> {
  const server = await startServer(lab, ns, { proto: 'tcp', listen: [{ host, port: 8080 }] });
  const dialled = dial().then(
    (got) => ({ got }),
    (error: unknown) => ({ error }),
  );
  const outcome = await dialled;
  const seen = await server.stop();
  if ('error' in outcome) throw outcome.error;
  return { got: outcome.got, seen };
}

// ---------------------------------------------------------------------------
// packeteye's side: `packeteye iptables trace -o json`, in-process, on the same dump text.

interface PePacket {
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  proto: string;
}
interface PeRuleRef {
  kind?: string;
  hook: string;
  table: string;
  chain: string;
  index: number;
  line: number | null;
}
interface PeAlternative {
  probability: number;
  path: string[];
  verdict: 'ACCEPT' | 'DROP' | 'REJECT' | 'UNSUPPORTED';
  decidedBy:
    | (PeRuleRef & { kind: 'rule' })
    | { kind: 'policy'; table: string; chain: string; policy: string }
    | { kind: 'kernel'; reason: string }
    | null;
  dnat: string | null;
  snat: { kind: 'SNAT' | 'MASQUERADE'; to: string } | null;
  masqueradeMark: boolean;
  mark: string;
  reject?: { with: string };
  hits: PeRuleRef[];
  packet: PePacket;
}

interface Flow {
  src: string;
  dst: string;
  dport: number;
  sport?: number;
  proto?: 'tcp' | 'udp';
  inIface?: string;
  outIface?: string;
  /** The router's --local-ip list, when not ROUTER_LOCAL. */
  localIps?: readonly string[];
}

/** Runs packeteye on `dump` (as file router.rules) with --all-paths and returns its alternatives. */
async function packeteye(dump: string, f: Flow): Promise<PeAlternative[]> {
  const io = memoryIo({ 'router.rules': dump });
  const argv = [
    'iptables',
    'trace',
    '--rules',
    'router.rules',
    '--src',
    f.src,
    '--dst',
    f.dst,
    '--dport',
    String(f.dport),
  ];
  if (f.sport !== undefined) argv.push('--sport', String(f.sport));
  if (f.proto !== undefined) argv.push('--proto', f.proto);
  for (const l of f.localIps ?? ROUTER_LOCAL) argv.push('--local-ip', l);
  if (f.inIface !== undefined) argv.push('--in-iface', f.inIface);
  if (f.outIface !== undefined) argv.push('--out-iface', f.outIface);
  argv.push('--all-paths', '-o', 'json');
  const code = await main(argv, io);
  expect(code, `packeteye ${argv.join(' ')}\n${io.stderr}`).toBe(0);
  const out = JSON.parse(io.stdout) as { alternatives: PeAlternative[]; warnings: unknown[] };
  expect(out.warnings, 'packeteye warned about the dump').toEqual([]);
  return out.alternatives;
}

/** The single alternative of a flow with no statistic rule on its path. */
async function packeteyeOne(dump: string, f: Flow): Promise<PeAlternative> {
  const alts = await packeteye(dump, f);
  expect(alts).toHaveLength(1);
  return alts[0] as PeAlternative;
}

/**
 * nat rule → how many times packeteye says the flows matched it, comparable with the kernel's
 * counters (x_tables count every match, so a chain jumped to twice in one traversal counts 2).
 */
function peNatCounts(alts: readonly PeAlternative[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of alts) {
    for (const h of a.hits) {
      if (h.table !== 'nat') continue;
      const k = `${h.chain}#${h.index}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  return counts;
}

function kernelNatCounts(c: Counters): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of c.rules)
    if (r.table === 'nat' && r.packets > 0) counts[`${r.chain}#${r.index}`] = r.packets;
  return counts;
}

/** What the server saw, in packeteye's terms: the packet at the end of the router. */
function seenAsPacket(seen: { peer: string; local: string }): {
  src: string;
  sport: number;
  dst: string;
  dport: number;
} {
  const [src = '', sport = ''] = seen.peer.split(':');
  const [dst = '', dport = ''] = seen.local.split(':');
  return { src, sport: Number(sport), dst, dport: Number(dport) };
}

/**
 * What a client socket observes for each `--reject-with` (ipt_REJECT.c sends the ICMP
 * error or a RST; net/ipv4/icmp.c icmp_err_convert maps the ICMP code to the errno).
 */
const CLIENT_SEES: Record<string, { kind: string; code: string; icmp: number }> = {
  'icmp-port-unreachable': { kind: 'refused', code: 'ECONNREFUSED', icmp: 1 },
  'tcp-reset': { kind: 'refused', code: 'ECONNREFUSED', icmp: 0 },
  'icmp-host-unreachable': { kind: 'unreachable', code: 'EHOSTUNREACH', icmp: 1 },
  'icmp-net-unreachable': { kind: 'unreachable', code: 'ENETUNREACH', icmp: 1 },
  'icmp-admin-prohibited': { kind: 'unreachable', code: 'EHOSTUNREACH', icmp: 1 },
};

function tcpPacket(t: RawTcp): Ipv4Packet {
  return {
    ip: { src: t.src, dst: t.dst, ttl: 64, id: 1, df: true, tos: 0 },
    l4: {
      kind: 'tcp',
      sport: t.sport,
      dport: t.dport,
      seq: t.seq >>> 0,
      ack: t.ack >>> 0,
      window: t.window ?? 64240,
      flags: {
        syn: (t.flags & TCP_FLAG.SYN) !== 0,
        ack: (t.flags & TCP_FLAG.ACK) !== 0,
        fin: (t.flags & TCP_FLAG.FIN) !== 0,
        rst: (t.flags & TCP_FLAG.RST) !== 0,
        psh: (t.flags & TCP_FLAG.PSH) !== 0,
        urg: (t.flags & TCP_FLAG.URG) !== 0,
      },
    },
    payloadLength: 0,
  };
}

/**
 * packeteye's conntrack (its nf_conntrack_in / confirm model) fed a sequence of segments, as the
 * router's conntrack saw them; returns the ctstate of each (`NEW`, `ESTABLISHED`, … or `INVALID`).
 */
function packeteyeCtStates(
  segments: readonly RawTcp[],
  sysctls: Partial<ConntrackSysctls>,
): { states: string[]; events: string[] } {
  const table = new ConntrackTable();
  const s = { ...DEFAULT_CONNTRACK_SYSCTLS, ...sysctls };
  const events: string[] = [];
  const states = segments.map((t) => {
    const r = conntrackIn(table, tcpPacket(t), NO_CT, s, 0);
    events.push(r.event);
    confirm(table, r.ct, 0);
    return r.ct.kind === 'none' ? 'INVALID' : r.ct.kind === 'tracked' ? r.ct.ctinfo : 'UNTRACKED';
  });
  return { states, events };
}

/** TCP flag letters as tcpdump prints them → flag bits. */
function flagsOf(letters: string): number {
  let f = 0;
  for (const ch of letters) {
    if (ch === 'S') f |= TCP_FLAG.SYN;
    else if (ch === '.') f |= TCP_FLAG.ACK;
    else if (ch === 'F') f |= TCP_FLAG.FIN;
    else if (ch === 'R') f |= TCP_FLAG.RST;
    else if (ch === 'P') f |= TCP_FLAG.PSH;
  }
  return f;
}

describe.skipIf(!canEmulate(TOOLS))('iptables: packeteye agrees with the real kernel', () => {
  it('DNAT in nat PREROUTING: client → VIP:80 reaches the endpoint; conntrack holds the translation', async () => {
    const flow: Flow = {
      src: CLIENT,
      dst: VIP,
      dport: 80,
      sport: 40001,
      inIface: 'eth0',
      outIface: 'eth1',
    };
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      expect(localIpsOf(router)).toEqual(ROUTER_LOCAL);
      router.iptablesRestore(ONE_ENDPOINT);
      const { got, seen } = await whileServing(lab, lab.ns('server'), BACKEND_A, () =>
        connectOnce(lab, flow.src, flow.dst, flow.dport, flow.sport),
      );

      // The kernel.
      expect(got).toMatchObject({ kind: 'connected', remote: `${VIP}:80` });
      expect(seen).toEqual([{ peer: `${CLIENT}:40001`, local: `${BACKEND_A}:8080` }]);
      const ct = router.conntrack().filter((e) => e.original.dport === 80);
      expect(ct).toHaveLength(1);
      expect(ct[0]).toMatchObject({
        original: { src: CLIENT, dst: VIP, sport: 40001, dport: 80 },
        reply: { src: BACKEND_A, dst: CLIENT, sport: 8080, dport: 40001 },
        assured: true,
      });
      const kernelNat = kernelNatCounts(router.counters());
      // The first packet also walks POSTROUTING, where the unmarked flow RETURNs before MASQUERADE.
      expect(Object.keys(kernelNat).sort()).toEqual([
        'KUBE-POSTROUTING#1',
        'KUBE-SEP-A#2',
        'KUBE-SERVICES#1',
        'KUBE-SVC-WEB#2',
        'POSTROUTING#1',
        'PREROUTING#1',
      ]);

      // packeteye, same dump, same packet.
      const pe = await packeteyeOne(ONE_ENDPOINT, flow);
      expect(pe.verdict).toBe('ACCEPT');
      expect(pe.path).toEqual(['PREROUTING', 'FORWARD', 'POSTROUTING']);
      expect(pe.dnat).toBe(`${ct[0]?.reply.src}:${ct[0]?.reply.sport}`);
      expect(pe.snat).toBeNull();
      expect(pe.masqueradeMark).toBe(false);
      expect(pe.packet).toMatchObject(seenAsPacket(seen[0]!));
      expect(peNatCounts([pe])).toEqual(kernelNat);
    });
  });

  it('DNAT in nat OUTPUT: the router itself dials VIP:80 and reaches the endpoint', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(ONE_ENDPOINT);
      const {
        got: [got],
        seen,
      } = await whileServing(lab, lab.ns('server'), BACKEND_A, () =>
        runClient(lab, router, {
          proto: 'tcp',
          dst: VIP,
          port: 80,
          sport: 40002,
        }),
      );

      // The kernel: the source was chosen by the route to the VIP (via eth1) before DNAT. It is
      // outside the cluster CIDR, so KUBE-SVC-WEB marks the flow and POSTROUTING masquerades it
      // (--random-fully: a new source port; the address stays, eth1 being the way out).
      expect(got).toMatchObject({ kind: 'connected', remote: `${VIP}:80` });
      expect(seen).toHaveLength(1);
      const saw = seenAsPacket(seen[0]!);
      expect(saw).toMatchObject({ src: ROUTER_OUT, dst: BACKEND_A, dport: 8080 });
      const ct = router.conntrack().filter((e) => e.original.dport === 80);
      expect(ct).toHaveLength(1);
      expect(ct[0]).toMatchObject({
        original: { src: ROUTER_OUT, dst: VIP, sport: 40002, dport: 80 },
        reply: { src: BACKEND_A, dst: ROUTER_OUT, sport: 8080, dport: saw.sport },
      });
      const kernelNat = kernelNatCounts(router.counters());
      expect(Object.keys(kernelNat).sort()).toEqual([
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

      // packeteye: a packet from a local address starts at OUTPUT.
      const pe = await packeteyeOne(ONE_ENDPOINT, {
        src: ROUTER_OUT,
        dst: VIP,
        dport: 80,
        sport: 40002,
        outIface: 'eth1',
      });
      expect(pe.verdict).toBe('ACCEPT');
      expect(pe.path).toEqual(['OUTPUT', 'POSTROUTING']);
      expect(pe.dnat).toBe(`${ct[0]?.reply.src}:${ct[0]?.reply.sport}`);
      expect(pe.masqueradeMark).toBe(true);
      expect(pe.snat?.kind).toBe('MASQUERADE');
      expect(pe.snat?.to.split(':')[0]).toBe(saw.src);
      expect({ ...pe.packet, sport: null }).toMatchObject({
        src: saw.src,
        dst: saw.dst,
        dport: saw.dport,
      });
      expect(peNatCounts([pe])).toEqual(kernelNat);
    });
  });

  it('DNAT in nat OUTPUT to an endpoint on the router itself: the packet loops back over lo', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(LOCAL_ENDPOINT);
      const {
        got: [got],
        seen,
      } = await whileServing(lab, router, ROUTER_IN, () =>
        runClient(lab, router, {
          proto: 'tcp',
          dst: VIP,
          port: 80,
          sport: 40007,
        }),
      );
      // The kernel: DNAT in OUTPUT rerouted the packet to lo; the source picked for the VIP's route
      // (eth1's) was marked and masqueraded on lo to the first universe-scope address (eth0's, as
      // inet_select_addr falls back when lo has none); nat PREROUTING and INPUT were not consulted
      // again on the way back in (the ct already had both NAT bindings).
      expect(got).toMatchObject({ kind: 'connected', remote: `${VIP}:80` });
      expect(seen).toHaveLength(1);
      const saw = seenAsPacket(seen[0]!);
      expect(saw).toMatchObject({ src: ROUTER_IN, dst: ROUTER_IN, dport: 8080 });
      const ct = router.conntrack().filter((e) => e.original.dport === 80);
      expect(ct).toHaveLength(1);
      expect(ct[0]).toMatchObject({
        original: { src: ROUTER_OUT, dst: VIP, sport: 40007, dport: 80 },
        reply: { src: ROUTER_IN, dst: ROUTER_IN, sport: 8080, dport: saw.sport },
      });
      const c = router.counters();
      const kernelNat = kernelNatCounts(c);
      expect(Object.keys(kernelNat).filter((k) => /^(PREROUTING|INPUT)#/.test(k))).toEqual([]);

      const pe = await packeteyeOne(LOCAL_ENDPOINT, {
        src: ROUTER_OUT,
        dst: VIP,
        dport: 80,
        sport: 40007,
        outIface: 'eth1',
      });
      expect(pe.verdict).toBe('ACCEPT');
      expect(pe.path).toEqual(['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT']);
      expect(pe.dnat).toBe(`${ct[0]?.reply.src}:${ct[0]?.reply.sport}`);
      expect(pe).toMatchObject({ masqueradeMark: true, snat: { kind: 'MASQUERADE' } });
      expect(pe.snat?.to.split(':')[0]).toBe(saw.src);
      expect(pe.packet).toMatchObject({ src: saw.src, dst: saw.dst, dport: saw.dport });
      expect(peNatCounts([pe])).toEqual(kernelNat);
    });
  });

  it('MASQUERADE by mark: KUBE-MARK-MASQ sets 0x4000, KUBE-POSTROUTING masquerades only marked flows', async () => {
    const inside: Flow = {
      src: CLIENT,
      dst: VIP,
      dport: 80,
      sport: 40003,
      inIface: 'eth0',
      outIface: 'eth1',
    };
    const outside: Flow = { ...inside, src: OUTSIDER, sport: 40004 };
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(ONE_ENDPOINT);
      const {
        got: [gotIn, gotOut],
        seen,
      } = await whileServing(lab, lab.ns('server'), BACKEND_A, async () => [
        await connectOnce(lab, inside.src, inside.dst, inside.dport, inside.sport),
        await connectOnce(lab, outside.src, outside.dst, outside.dport, outside.sport),
      ]);

      // The kernel.
      expect([gotIn.kind, gotOut.kind]).toEqual(['connected', 'connected']);
      expect(seen).toHaveLength(2);
      const sawIn = seenAsPacket(seen[0]!);
      const sawOut = seenAsPacket(seen[1]!);
      expect(sawIn).toEqual({ src: CLIENT, sport: 40003, dst: BACKEND_A, dport: 8080 });
      // Marked: source rewritten to the out interface's address (--random-fully: any port).
      expect(sawOut).toMatchObject({ src: ROUTER_OUT, dst: BACKEND_A, dport: 8080 });
      const c = router.counters();
      expect(
        counterAt(c, ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-POSTROUTING', /MASQUERADE/)).packets,
      ).toBe(1);
      expect(
        counterAt(c, ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-POSTROUTING', /-j RETURN/)).packets,
      ).toBe(1);
      expect(
        counterAt(c, ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-SVC-WEB', /KUBE-MARK-MASQ/)).packets,
      ).toBe(1);
      const ct = router.conntrack().find((e) => e.original.src === OUTSIDER);
      expect(ct?.reply).toMatchObject({
        src: BACKEND_A,
        dst: ROUTER_OUT,
        sport: 8080,
        dport: sawOut.sport,
      });

      // packeteye.
      const peIn = await packeteyeOne(ONE_ENDPOINT, inside);
      const peOut = await packeteyeOne(ONE_ENDPOINT, outside);
      expect(peIn).toMatchObject({ verdict: 'ACCEPT', masqueradeMark: false, snat: null });
      expect(peIn.packet).toMatchObject(sawIn);
      expect(peOut).toMatchObject({
        verdict: 'ACCEPT',
        masqueradeMark: true,
        snat: { kind: 'MASQUERADE' },
      });
      expect(peOut.snat?.to.split(':')[0]).toBe(sawOut.src);
      // --random-fully draws the port from the source port's class, 1024-65535 here (nf_nat_l4proto_unique_tuple).
      for (const port of [sawOut.sport, Number(peOut.snat?.to.split(':')[1])]) {
        expect(port).toBeGreaterThanOrEqual(1024);
        expect(port).toBeLessThanOrEqual(65535);
      }
      expect(peOut.packet).toMatchObject({ src: sawOut.src, dst: sawOut.dst, dport: sawOut.dport });
      // Rule by rule, the kernel's counters equal the number of flows packeteye sends through each rule.
      expect(peNatCounts([peIn, peOut])).toEqual(kernelNatCounts(c));
    });
  });

  it('MASQUERADE by mark, hairpin: an endpoint dialling its own service is marked by KUBE-SEP and masqueraded', async () => {
    const flow: Flow = {
      src: BACKEND_A,
      dst: VIP,
      dport: 80,
      sport: 40005,
      inIface: 'eth1',
      outIface: 'eth1',
    };
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      const server = lab.ns('server');
      router.iptablesRestore(ONE_ENDPOINT);
      const {
        got: [got],
        seen,
      } = await whileServing(lab, server, BACKEND_A, () =>
        runClient(lab, server, {
          proto: 'tcp',
          dst: VIP,
          port: 80,
          bind: BACKEND_A,
          sport: 40005,
        }),
      );

      expect(got?.kind).toBe('connected');
      expect(seen).toHaveLength(1);
      const saw = seenAsPacket(seen[0]!);
      // Without the masquerade the endpoint would answer itself directly and the handshake would fail.
      expect(saw).toMatchObject({ src: ROUTER_OUT, dst: BACKEND_A, dport: 8080 });
      const c = router.counters();
      expect(
        counterAt(c, ruleOf(ONE_ENDPOINT, 'nat', 'KUBE-SEP-A', /KUBE-MARK-MASQ/)).packets,
      ).toBe(1);

      const pe = await packeteyeOne(ONE_ENDPOINT, flow);
      expect(pe).toMatchObject({
        verdict: 'ACCEPT',
        dnat: `${BACKEND_A}:8080`,
        masqueradeMark: true,
        snat: { kind: 'MASQUERADE' },
      });
      expect(pe.snat?.to.split(':')[0]).toBe(saw.src);
      expect(peNatCounts([pe])).toEqual(kernelNatCounts(c));
    });
  });

  it('MASQUERADE without --random-fully keeps a free source port (get_unique_tuple)', async () => {
    const dump = ONE_ENDPOINT.replace(' --random-fully', '');
    const flow: Flow = {
      src: OUTSIDER,
      dst: VIP,
      dport: 80,
      sport: 40008,
      inIface: 'eth0',
      outIface: 'eth1',
    };
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(dump);
      const { got, seen } = await whileServing(lab, lab.ns('server'), BACKEND_A, () =>
        connectOnce(lab, flow.src, flow.dst, flow.dport, flow.sport),
      );

      expect(got.kind).toBe('connected');
      expect(seen).toEqual([{ peer: `${ROUTER_OUT}:40008`, local: `${BACKEND_A}:8080` }]);

      const pe = await packeteyeOne(dump, flow);
      expect(pe.snat).toMatchObject({ kind: 'MASQUERADE', to: seen[0]?.peer });
      expect(pe.packet).toMatchObject(seenAsPacket(seen[0]!));
    });
  });

  it('MASQUERADE takes the out device’s address whose subnet holds the next hop, not the first one', async () => {
    const other = '172.31.9.1';
    const localIps = [`${ROUTER_IN}/24@eth0`, `${other}/24@eth1`, `${ROUTER_OUT}/24@eth1`];
    const flow: Flow = {
      src: OUTSIDER,
      dst: VIP,
      dport: 80,
      sport: 40006,
      inIface: 'eth0',
      outIface: 'eth1',
      localIps,
    };
    await withTopology(topology({ routerOutFirst: `${other}/24` }), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(ONE_ENDPOINT);
      // Both primary, the other subnet's first: packeteye gets them in the kernel's order.
      expect(localIpsOf(router)).toEqual(localIps);
      expect(router.ipv4Addresses().every((a) => !a.secondary)).toBe(true);
      const { got, seen } = await whileServing(lab, lab.ns('server'), BACKEND_A, () =>
        connectOnce(lab, flow.src, flow.dst, flow.dport, flow.sport),
      );

      expect(got.kind).toBe('connected');
      const saw = seenAsPacket(seen[0]!);
      // nf_nat_masquerade_ipv4 → inet_select_addr(eth1, nexthop 172.31.2.2): the 172.31.2.0/24 address.
      expect(saw.src).toBe(ROUTER_OUT);

      const pe = await packeteyeOne(ONE_ENDPOINT, flow);
      expect(pe.snat?.kind).toBe('MASQUERADE');
      expect(pe.snat?.to.split(':')[0]).toBe(saw.src);
    });
  });

  it('statistic: 40 connections take both KUBE-SEP branches; packeteye lists both with probabilities summing to 1', async () => {
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

      // The kernel: every connection landed, both branches were taken.
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
      const kernelDnat = new Set(router.conntrack().map((e) => `${e.reply.src}:${e.reply.sport}`));
      expect([...kernelDnat].sort()).toEqual([`${BACKEND_A}:8080`, `${BACKEND_B}:8080`]);
      expect(seen.filter((x) => x.local === `${BACKEND_A}:8080`)).toHaveLength(toA);

      // packeteye --all-paths.
      const alts = await packeteye(TWO_ENDPOINTS, {
        src: CLIENT,
        dst: VIP,
        dport: 80,
        inIface: 'eth0',
        outIface: 'eth1',
      });
      expect(alts).toHaveLength(2);
      expect(alts.reduce((sum, a) => sum + a.probability, 0)).toBeCloseTo(1, 9);
      expect(new Set(alts.map((a) => a.dnat))).toEqual(kernelDnat);
      for (const a of alts) expect(a.verdict).toBe('ACCEPT');
      // Each branch's probability against the kernel's share (Binomial(40, p): ±0.3 is > 3.7 sigma).
      const shareA = toA / n;
      const pA = alts.find((a) => a.dnat === `${BACKEND_A}:8080`)?.probability ?? -1;
      expect(Math.abs(pA - shareA)).toBeLessThanOrEqual(0.3);
      // Rules every alternative takes were taken by all n connections; rules only some take, by some.
      const kernelNat = kernelNatCounts(c);
      const pe = peNatCounts(alts);
      expect(Object.keys(pe).sort()).toEqual(Object.keys(kernelNat).sort());
      for (const [rule, k] of Object.entries(pe)) {
        if (k === alts.length) expect(kernelNat[rule], rule).toBe(n);
        else expect(kernelNat[rule], rule).toBeLessThan(n);
      }
      // Every alternative's own rules were all taken by the kernel.
      for (const a of alts)
        for (const h of a.hits)
          if (h.table === 'nat') expect(kernelNat[`${h.chain}#${h.index}`]).toBeGreaterThan(0);
    });
  });

  it('statistic nth: the kernel alternates endpoints per new connection; packeteye picks the first one', async () => {
    for (const phase of [0, 1]) {
      const dump = nthEndpoints(phase);
      await withTopology(topology(), async (lab) => {
        const router = lab.ns('router');
        router.iptablesRestore(dump);
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
          count: 4,
        });
        const seen = await server.stop();
        expect(results.map((r) => r.kind)).toEqual([
          'connected',
          'connected',
          'connected',
          'connected',
        ]);
        const order = seen.map((x) => x.local);
        // The kernel: strictly alternating, whichever comes first.
        expect(order[0]).not.toBe(order[1]);
        expect(order.slice(2)).toEqual(order.slice(0, 2));

        // packeteye traces the first packet after the dump is loaded: one alternative, no chance.
        const alts = await packeteye(dump, {
          src: CLIENT,
          dst: VIP,
          dport: 80,
          inIface: 'eth0',
          outIface: 'eth1',
        });
        expect(alts, `--packet ${phase}`).toHaveLength(1);
        expect(alts[0]?.probability).toBe(1);
        expect(alts[0]?.dnat, `--every 2 --packet ${phase}: first connection`).toBe(order[0]);
      });
    }
  });

  it('REJECT: the client sees what packeteye’s --reject-with says, from the rule packeteye names', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(REJECTS);
      // From the client (FORWARD), and from the router itself (OUTPUT: the error is delivered locally).
      const cases = [
        {
          from: 'client',
          port: 80,
          proto: 'tcp',
          kernel: { kind: 'refused', code: 'ECONNREFUSED', icmp: 1 },
        },
        {
          from: 'client',
          port: 81,
          proto: 'tcp',
          kernel: { kind: 'refused', code: 'ECONNREFUSED', icmp: 0 },
        },
        {
          from: 'client',
          port: 82,
          proto: 'tcp',
          kernel: { kind: 'unreachable', code: 'EHOSTUNREACH', icmp: 1 },
        },
        {
          from: 'client',
          port: 53,
          proto: 'udp',
          kernel: { kind: 'refused', code: 'ECONNREFUSED', icmp: 1 },
        },
        {
          from: 'router',
          port: 80,
          proto: 'tcp',
          kernel: { kind: 'refused', code: 'ECONNREFUSED', icmp: 1 },
        },
        {
          from: 'router',
          port: 81,
          proto: 'tcp',
          kernel: { kind: 'refused', code: 'ECONNREFUSED', icmp: 0 },
        },
      ] as const;
      for (const k of cases) {
        const ns = lab.ns(k.from);
        const src = k.from === 'client' ? CLIENT : ROUTER_OUT;
        const before = ns.snmp();
        const rulesBefore = router.counters();
        // UDP connected, so the ICMP error reaches the socket.
        const [got] = await runClient(lab, ns, {
          proto: k.proto,
          dst: VIP,
          port: k.port,
          bind: src,
          connect: true,
        });
        const icmp = snmpDelta(before, ns.snmp(), 'IcmpInDestUnreachs');
        const observed = {
          kind: got?.kind,
          code: got !== undefined && 'code' in got ? got.code : undefined,
          icmp,
        };
        const what = `${k.from} → ${VIP}:${k.port}/${k.proto}`;
        expect(observed, `kernel, ${what}`).toEqual(k.kernel);
        const rulesAfter = router.counters();

        const pe = await packeteyeOne(REJECTS, {
          src,
          dst: VIP,
          dport: k.port,
          proto: k.proto,
          ...(k.from === 'client' ? { inIface: 'eth0' } : {}),
          outIface: 'eth1',
        });
        expect(pe.path[0], what).toBe(k.from === 'client' ? 'PREROUTING' : 'OUTPUT');
        expect(pe.verdict, `packeteye, ${what}`).toBe('REJECT');
        expect(pe.reject?.with).toBeDefined();
        expect(
          CLIENT_SEES[pe.reject?.with ?? ''],
          `packeteye --reject-with ${pe.reject?.with}, ${what}`,
        ).toEqual(observed);
        // The rule packeteye says rejected is the one whose kernel counter moved.
        expect(pe.decidedBy?.kind).toBe('rule');
        const by = pe.decidedBy as PeRuleRef;
        const moved = rulesAfter.rules.filter(
          (r) =>
            r.table === 'filter' &&
            r.chain === 'KUBE-SERVICES' &&
            r.packets > counterAt(rulesBefore, r).packets,
        );
        expect(
          moved.map((r) => `${r.chain}#${r.index}`),
          what,
        ).toEqual([`${by.chain}#${by.index}`]);
      }
    });
  });

  it('ctstate INVALID: which unsolicited segments the kernel calls INVALID, and packeteye agrees', async () => {
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      const server = lab.ns('server');
      router.iptablesRestore(INVALID_DROP);
      expect(router.sysctl('net.netfilter.nf_conntrack_tcp_loose')).toBe('1');
      const invalid = ruleOf(INVALID_DROP, 'filter', 'KUBE-FORWARD', /INVALID/);
      const kernelSays: string[] = [];
      const packeteyeSays: string[] = [];
      let sport = 41000;
      for (const loose of [1, 0]) {
        router.setSysctl('net.netfilter.nf_conntrack_tcp_loose', loose);
        for (const [name, flags] of [
          ['SYN', TCP_FLAG.SYN],
          ['ACK', TCP_FLAG.ACK],
          ['RST', TCP_FLAG.RST],
          ['FIN,ACK', TCP_FLAG.FIN | TCP_FLAG.ACK],
        ] as const) {
          const seg: RawTcp = {
            src: CLIENT,
            dst: BACKEND_A,
            sport: sport++,
            dport: 9000,
            seq: 1000,
            ack: 2000,
            flags,
          };
          const dropsBefore = counterAt(router.counters(), invalid).packets;
          const inBefore = server.snmp();
          sendRawTcp(lab.ns('client'), seg);
          // Delivery across veth completes in softirq right after the send; leave it a moment.
          await new Promise((res) => setTimeout(res, 50));
          const invalidHit = counterAt(router.counters(), invalid).packets - dropsBefore;
          const delivered = snmpDelta(inBefore, server.snmp(), 'IpInReceives');
          kernelSays.push(
            `loose=${loose} ${name}: ${invalidHit === 1 ? 'INVALID' : 'NEW'}, ${delivered === 1 ? 'delivered' : 'dropped'}`,
          );
          const [state = ''] = packeteyeCtStates([seg], { tcpLoose: loose === 1 }).states;
          packeteyeSays.push(
            `loose=${loose} ${name}: ${state}, ${state === 'INVALID' ? 'dropped' : 'delivered'}`,
          );
        }
      }
      // The kernel (6.x, nf_conntrack_proto_tcp.c tcp_new): a non-SYN opener is picked up only
      // with tcp_loose; RST and FIN from state NONE are never valid openers.
      expect(kernelSays).toEqual([
        'loose=1 SYN: NEW, delivered',
        'loose=1 ACK: NEW, delivered',
        'loose=1 RST: INVALID, dropped',
        'loose=1 FIN,ACK: INVALID, dropped',
        'loose=0 SYN: NEW, delivered',
        'loose=0 ACK: INVALID, dropped',
        'loose=0 RST: INVALID, dropped',
        'loose=0 FIN,ACK: INVALID, dropped',
      ]);
      // packeteye's conntrack (the model `iptables trace` and the twin run) on the same segments.
      expect(packeteyeSays).toEqual(kernelSays);

      // `iptables trace` models the opener (a SYN): accepted by the port rule; to a port the rules
      // do not open, dropped by FORWARD's policy — as the kernel's counters show.
      const open = {
        src: CLIENT,
        dst: BACKEND_A,
        dport: 9000,
        sport: 41100,
        inIface: 'eth0',
        outIface: 'eth1',
      };
      const closed = { ...open, dport: 80, sport: 41101 };
      const before = router.counters();
      const inBefore = server.snmp();
      sendRawTcp(lab.ns('client'), {
        ...open,
        sport: open.sport,
        seq: 1000,
        ack: 0,
        flags: TCP_FLAG.SYN,
      });
      await new Promise((res) => setTimeout(res, 50));
      const mid = router.counters();
      const inMid = server.snmp();
      sendRawTcp(lab.ns('client'), {
        ...closed,
        sport: closed.sport,
        seq: 1000,
        ack: 0,
        flags: TCP_FLAG.SYN,
      });
      await new Promise((res) => setTimeout(res, 50));
      const after = router.counters();
      expect(snmpDelta(inBefore, inMid, 'IpInReceives')).toBe(1);
      expect(snmpDelta(inMid, server.snmp(), 'IpInReceives')).toBe(0);
      const portRule = ruleOf(INVALID_DROP, 'filter', 'KUBE-FORWARD', /--dport 9000:9999/);
      // The server's RST answering the first SYN crosses FORWARD too; count only rule/policy moves of
      // the original direction: the port rule for the first, the policy for the second.
      expect(counterAt(mid, portRule).packets - counterAt(before, portRule).packets).toBe(1);
      expect(
        chainCounter(after, 'filter', 'FORWARD').packets -
          chainCounter(mid, 'filter', 'FORWARD').packets,
      ).toBe(1);

      const peOpen = await packeteyeOne(INVALID_DROP, open);
      expect(peOpen.verdict).toBe('ACCEPT');
      expect(peOpen.decidedBy).toMatchObject({
        kind: 'rule',
        table: 'filter',
        chain: portRule.chain,
        index: portRule.index,
      });
      const peClosed = await packeteyeOne(INVALID_DROP, closed);
      expect(peClosed.verdict).toBe('DROP');
      expect(peClosed.decidedBy).toMatchObject({
        kind: 'policy',
        table: 'filter',
        chain: 'FORWARD',
        policy: 'DROP',
      });
    });
  });

  it.skipIf(!HAS_TCPDUMP)(
    'ctstate INVALID: an out-of-window segment of an established connection, with and without tcp_be_liberal',
    async () => {
      await withTopology(topology(), async (lab) => {
        const router = lab.ns('router');
        const server = lab.ns('server');
        router.iptablesRestore(INVALID_DROP);
        const invalid = ruleOf(INVALID_DROP, 'filter', 'KUBE-FORWARD', /INVALID/);
        // A real connection, held open by the server, whose handshake we capture with absolute seqs.
        const cap = await captureTcp(lab, lab.ns('client'), 'eth0', 'tcp port 9000', 3);
        const srv = await startServer(lab, server, {
          proto: 'tcp',
          listen: [{ host: BACKEND_A, port: 9000 }],
          holdMs: 1500,
        });
        const client = runClient(lab, lab.ns('client'), {
          proto: 'tcp',
          dst: BACKEND_A,
          port: 9000,
          bind: CLIENT,
          sport: 41300,
          attemptTimeoutMs: 2500,
        });
        const [syn, synack, ack] = await cap.packets();
        expect([syn?.flags, synack?.flags, ack?.flags]).toEqual(['S', 'S.', '.']);
        // tcpdump prints no seq for a bare ACK: the third segment's is the SYN's + 1.
        const handshake: RawTcp[] = [syn!, synack!, ack!].map((p) => ({
          src: p.src,
          dst: p.dst,
          sport: p.sport,
          dport: p.dport,
          seq: p.seq ?? (syn!.seq! + 1) >>> 0,
          ack: p.ack ?? 0,
          flags: flagsOf(p.flags),
          window: p.win ?? 0,
        }));
        const next = (syn!.seq! + 1) >>> 0;
        const base = {
          src: CLIENT,
          dst: BACKEND_A,
          sport: 41300,
          dport: 9000,
          ack: (synack!.seq! + 1) >>> 0,
          flags: TCP_FLAG.ACK,
        };
        const probes: { name: string; liberal: 0 | 1; seg: RawTcp }[] = [
          { name: 'in-window ACK', liberal: 0, seg: { ...base, seq: next } },
          // Half the sequence space away from anything the connection has sent: outside any window.
          {
            name: 'out-of-window ACK',
            liberal: 0,
            seg: { ...base, seq: (next + 0x80000000) >>> 0 },
          },
          {
            name: 'out-of-window ACK',
            liberal: 1,
            seg: { ...base, seq: (next + 0x80000000) >>> 0 },
          },
        ];
        const kernelSays: string[] = [];
        for (const p of probes) {
          router.setSysctl('net.netfilter.nf_conntrack_tcp_be_liberal', p.liberal);
          const before = counterAt(router.counters(), invalid).packets;
          const inBefore = server.snmp();
          sendRawTcp(lab.ns('client'), p.seg);
          await new Promise((res) => setTimeout(res, 50));
          const hit = counterAt(router.counters(), invalid).packets - before;
          const delivered = snmpDelta(inBefore, server.snmp(), 'IpInReceives') > 0;
          kernelSays.push(
            `be_liberal=${p.liberal} ${p.name}: ${hit === 1 ? 'INVALID' : 'valid'}, ${delivered ? 'delivered' : 'dropped'}`,
          );
        }
        router.setSysctl('net.netfilter.nf_conntrack_tcp_be_liberal', 0);
        const [done] = await client;
        await srv.stop();
        expect(done?.kind).toBe('connected');

        // The kernel (nf_conntrack_proto_tcp.c tcp_in_window): outside the window is INVALID unless
        // be_liberal; kube-proxy's rule then drops it before it reaches the endpoint.
        expect(kernelSays).toEqual([
          'be_liberal=0 in-window ACK: valid, delivered',
          'be_liberal=0 out-of-window ACK: INVALID, dropped',
          'be_liberal=1 out-of-window ACK: valid, delivered',
        ]);
        // packeteye's conntrack, given the same handshake and then each probe.
        const why: string[] = [];
        const packeteyeSays = probes.map((p) => {
          const { states, events } = packeteyeCtStates([...handshake, p.seg], {
            tcpBeLiberal: p.liberal === 1,
          });
          expect(states.slice(0, 3), 'handshake').toEqual([
            'NEW',
            'ESTABLISHED_REPLY',
            'ESTABLISHED',
          ]);
          why.push(
            `be_liberal=${p.liberal} ${p.name} (seq ${p.seg.seq}, ack ${p.seg.ack}): ${events[3]}`,
          );
          const st = states[3];
          return `be_liberal=${p.liberal} ${p.name}: ${st === 'INVALID' ? 'INVALID' : 'valid'}, ${st === 'INVALID' ? 'dropped' : 'delivered'}`;
        });
        // Handshake as captured, then packeteye's reason per probe, shown when they disagree.
        const context = `handshake ${JSON.stringify(handshake.map((h) => [h.seq, h.ack, h.window]))}\n${why.join('\n')}`;
        expect(packeteyeSays, context).toEqual(kernelSays);
      });
    },
  );

  it('addrtype LOCAL: a NodePort on any of the router’s own addresses is DNATed, a forwarded packet is not', async () => {
    const flows: Flow[] = [
      {
        src: CLIENT,
        dst: ROUTER_IN,
        dport: 30080,
        sport: 40011,
        inIface: 'eth0',
        outIface: 'eth1',
      },
      {
        src: CLIENT,
        dst: ROUTER_OUT,
        dport: 30080,
        sport: 40012,
        inIface: 'eth0',
        outIface: 'eth1',
      },
      {
        src: CLIENT,
        dst: BACKEND_A,
        dport: 30080,
        sport: 40013,
        inIface: 'eth0',
        outIface: 'eth1',
      },
    ];
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
      const got: ClientResult[] = [];
      for (const f of flows) got.push(await connectOnce(lab, f.src, f.dst, f.dport, f.sport));
      const seen = await server.stop();

      // The kernel.
      expect(got.map((g) => g.kind)).toEqual(['connected', 'connected', 'connected']);
      expect(seen).toEqual([
        { peer: `${CLIENT}:40011`, local: `${BACKEND_A}:8080` },
        { peer: `${CLIENT}:40012`, local: `${BACKEND_A}:8080` },
        { peer: `${CLIENT}:40013`, local: `${BACKEND_A}:30080` },
      ]);
      const c = router.counters();
      expect(counterAt(c, ruleOf(NODEPORT, 'nat', 'KUBE-SERVICES', /addrtype/)).packets).toBe(2);

      // packeteye: the same three packets.
      const pe: PeAlternative[] = [];
      for (const f of flows) pe.push(await packeteyeOne(NODEPORT, f));
      expect(pe.map((a) => a.dnat)).toEqual([`${BACKEND_A}:8080`, `${BACKEND_A}:8080`, null]);
      pe.forEach((a, k) => expect(a.packet, `flow ${k + 1}`).toMatchObject(seenAsPacket(seen[k]!)));
      // DNAT to a remote endpoint turns the locally addressed packets into forwarded ones.
      for (const a of pe) expect(a.path).toEqual(['PREROUTING', 'FORWARD', 'POSTROUTING']);
      expect(peNatCounts(pe)).toEqual(kernelNatCounts(c));
    });
  });

  it('un-DNAT of the reply: the client sees the answer come from the VIP it dialled', async () => {
    const flow: Flow = {
      src: CLIENT,
      dst: VIP,
      dport: 53,
      sport: 40053,
      proto: 'udp',
      inIface: 'eth0',
      outIface: 'eth1',
    };
    await withTopology(topology(), async (lab) => {
      const router = lab.ns('router');
      router.iptablesRestore(UDP_SERVICE);
      const server = await startServer(lab, lab.ns('server'), {
        proto: 'udp',
        listen: [{ host: BACKEND_A, port: 5353 }],
      });
      // An unconnected socket accepts a reply from any source, so what it reports is the reply's true source.
      const [got] = await runClient(lab, lab.ns('client'), {
        proto: 'udp',
        dst: VIP,
        port: 53,
        bind: CLIENT,
        sport: 40053,
      });
      const seen = await server.stop();

      // The kernel: the backend answered from itself, the client got it from the VIP.
      expect(seen).toEqual([{ peer: `${CLIENT}:40053`, local: `${BACKEND_A}:5353` }]);
      expect(got).toMatchObject({ kind: 'reply', from: `${VIP}:53`, local: `${CLIENT}:40053` });
      const ct = router.conntrack().filter((e) => e.proto === 'udp');
      expect(ct).toHaveLength(1);
      expect(ct[0]).toMatchObject({
        original: { src: CLIENT, dst: VIP, sport: 40053, dport: 53 },
        reply: { src: BACKEND_A, dst: CLIENT, sport: 5353, dport: 40053 },
        unreplied: false,
      });

      // packeteye: its DNAT is the backend the reply came from, and the reply tuple (the inverse of
      // its packet at the end) is conntrack's; un-NAT of that reply gives back the dialled address.
      const pe = await packeteyeOne(UDP_SERVICE, flow);
      expect(pe.verdict).toBe('ACCEPT');
      expect(pe.dnat).toBe(`${BACKEND_A}:5353`);
      expect(pe.packet).toMatchObject(seenAsPacket(seen[0]!));
      expect({
        src: pe.packet.dst,
        dst: pe.packet.src,
        sport: pe.packet.dport,
        dport: pe.packet.sport,
      }).toEqual(ct[0]?.reply);
      expect(got?.kind === 'reply' ? got.from : '').toBe(`${flow.dst}:${flow.dport}`);
      expect(peNatCounts([pe])).toEqual(kernelNatCounts(router.counters()));
    });
  });
});
