/**
 * Linux's special destinations and martians, with the real kernel as the
 * oracle: a sender puts a raw Ethernet frame on the receiver's eth0 (a
 * packet socket, so any source and destination can be written), and the
 * receiver's rule counters say where the packet went after routing —
 * filter INPUT (delivered locally), filter FORWARD, or neither (dropped in
 * routing, after PREROUTING and before INPUT). The model, given the same
 * host, must take the same way, and name each routing drop.
 *
 *   sender eth0 ── raw frame ──► receiver eth0 ─► PREROUTING ─► route ─┬─► INPUT
 *   (10.0.0.1)                  (10.0.0.2/24, ip_forward=1,          ├─► FORWARD
 *                                default via 10.0.0.1)                └─► dropped
 */
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/parse.js';
import { Network } from '../kernel/network.js';
import { installIptables } from '../kernel/netfilter/install.js';
import { ipv4Frame } from '../kernel/frame.js';
import { StepList } from '../kernel/step.js';
import { udp } from '../kernel/testing/builders.js';
import type { Ipv4 } from '../wire/addr.js';
import type { Mac } from '../wire/ethernet.js';
import { emitFrame } from '../wire/index.js';
import {
  canEmulate,
  counterAt,
  run,
  TRAFFIC_TIMEOUT_MS,
  withTopology,
  type Netns,
} from './index.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'socat'];
const PORT = 9999;
const SENDER_MAC: Mac = '02:00:00:00:00:01';
const RECEIVER_MAC: Mac = '02:00:00:00:00:02';

/** PREROUTING counts every arrival; INPUT and FORWARD say where routing sent it. */
const DUMP = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i eth0 -p udp -m udp --dport ${PORT} -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i eth0 -p udp -m udp --dport ${PORT} -j ACCEPT
-A FORWARD -i eth0 -p udp -m udp --dport ${PORT} -j ACCEPT
COMMIT
`;

type Way = 'INPUT' | 'FORWARD' | 'dropped in routing';

interface Case {
  readonly name: string;
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly mac: Mac;
  readonly sysctls?: Readonly<Record<string, number>>;
  readonly way: Way;
  /** The model's drop reason when routing drops it. */
  readonly reason?: string;
}

const CASES: readonly Case[] = [
  {
    name: 'limited broadcast 255.255.255.255',
    src: '10.0.0.1',
    dst: '255.255.255.255',
    mac: 'ff:ff:ff:ff:ff:ff',
    way: 'INPUT',
  },
  {
    name: "directed broadcast of the receiver's subnet",
    src: '10.0.0.1',
    dst: '10.0.0.255',
    mac: 'ff:ff:ff:ff:ff:ff',
    way: 'INPUT',
  },
  {
    name: 'multicast to all hosts 224.0.0.1 (every device that is up joined it)',
    src: '10.0.0.1',
    dst: '224.0.0.1',
    mac: '01:00:5e:00:00:01',
    way: 'INPUT',
  },
  {
    name: 'multicast to a group nobody joined',
    src: '10.0.0.1',
    dst: '239.1.1.1',
    mac: '01:00:5e:01:01:01',
    way: 'dropped in routing',
    reason: 'multicast-not-joined',
  },
  {
    name: '127.0.0.5 from the wire, route_localnet=0',
    src: '10.0.0.1',
    dst: '127.0.0.5',
    mac: RECEIVER_MAC,
    way: 'dropped in routing',
    reason: 'martian-destination',
  },
  {
    name: '127.0.0.5 from the wire, route_localnet=1',
    src: '10.0.0.1',
    dst: '127.0.0.5',
    mac: RECEIVER_MAC,
    sysctls: { 'net.ipv4.conf.all.route_localnet': 1, 'net.ipv4.conf.eth0.route_localnet': 1 },
    way: 'INPUT',
  },
  {
    name: 'source 127.0.0.9 from the wire, route_localnet=0',
    src: '127.0.0.9',
    dst: '10.0.0.2',
    mac: RECEIVER_MAC,
    way: 'dropped in routing',
    reason: 'martian-source',
  },
  {
    name: 'source 0.0.0.0 to a unicast address',
    src: '0.0.0.0',
    dst: '10.0.0.2',
    mac: RECEIVER_MAC,
    way: 'dropped in routing',
    reason: 'martian-source',
  },
  {
    name: 'destination 0.0.0.0',
    src: '10.0.0.1',
    dst: '0.0.0.0',
    mac: RECEIVER_MAC,
    way: 'dropped in routing',
    reason: 'martian-destination',
  },
  {
    name: "source equal to the receiver's own address",
    src: '10.0.0.2',
    dst: '10.0.0.2',
    mac: RECEIVER_MAC,
    way: 'dropped in routing',
    reason: 'martian-source',
  },
  {
    name: 'an ordinary remote destination (forwarded)',
    src: '10.0.0.1',
    dst: '192.0.2.7',
    mac: RECEIVER_MAC,
    way: 'FORWARD',
  },
];

const BASE_SYSCTLS: Readonly<Record<string, number>> = {
  'net.ipv4.ip_forward': 1,
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.eth0.rp_filter': 0,
  'net.ipv4.conf.all.route_localnet': 0,
  'net.ipv4.conf.eth0.route_localnet': 0,
};

/** The model: the receiver as a Host, the frame injected on its eth0. */
function modelWay(c: Case): { way: Way; reason?: string } {
  const net = new Network();
  const sender = net.addHost('sender', { loopbackUp: true });
  const rx = net.addHost('receiver', { loopbackUp: true });
  rx.link.addVeth('eth0', {
    peer: 'eth0',
    peerHost: sender,
    mac: RECEIVER_MAC,
    peerMac: SENDER_MAC,
  });
  rx.addr.add('10.0.0.2/24', 'eth0');
  sender.addr.add('10.0.0.1/24', 'eth0');
  rx.link.set('eth0', { up: true });
  sender.link.set('eth0', { up: true });
  rx.route.add({ dst: 'default', via: '10.0.0.1' });
  for (const [k, v] of Object.entries({ ...BASE_SYSCTLS, ...c.sysctls })) rx.sysctl.set(k, v);
  installIptables(rx, parseIptablesSave(DUMP, 'receiver.rules').ruleset);
  const rec = new StepList();
  const r = net.inject(
    'receiver',
    'eth0',
    ipv4Frame(SENDER_MAC, c.mac, udp(c.dst, PORT, 40000, { src: c.src })),
    { recorder: rec },
  );
  const ran = (hook: string): boolean =>
    rec.steps.some(
      (s) =>
        s.host === 'receiver' &&
        s.kind === 'hook' &&
        (s.detail as { hook?: string; table?: string } | undefined)?.hook === hook &&
        (s.detail as { table?: string }).table === 'filter',
    );
  if (ran('INPUT')) return { way: 'INPUT' };
  if (ran('FORWARD')) return { way: 'FORWARD' };
  const first = r.fates.find((f) => f.host === 'receiver');
  return {
    way: 'dropped in routing',
    ...(first?.kind === 'dropped' ? { reason: first.reason } : {}),
  };
}

/** A raw Ethernet frame out of `ns`'s eth0 (a packet socket: any addresses). */
function sendFrame(ns: Netns, c: Case): void {
  const bytes = emitFrame({
    kind: 'ipv4',
    src: SENDER_MAC,
    dst: c.mac,
    packet: udp(c.dst, PORT, 40000, { src: c.src }),
  });
  run(['ip', 'netns', 'exec', ns.name, 'socat', '-u', 'STDIN', 'INTERFACE:eth0'], {
    input: Buffer.from(bytes),
    timeoutMs: TRAFFIC_TIMEOUT_MS,
  });
}

describe.skipIf(!canEmulate(TOOLS))(
  'special destinations and martians: model against the kernel',
  () => {
    it.each(CASES)('$name: $way', async (c) => {
      const model = modelWay(c);
      const kernel = await withTopology(
        {
          netns: {
            sender: {},
            receiver: { sysctls: { ...BASE_SYSCTLS, ...c.sysctls } },
          },
          veths: [
            {
              a: { ns: 'sender', dev: 'eth0', addrs: ['10.0.0.1/24'] },
              b: { ns: 'receiver', dev: 'eth0', addrs: ['10.0.0.2/24'] },
            },
          ],
        },
        (lab) => {
          const tx = lab.ns('sender');
          const rx = lab.ns('receiver');
          tx.ip('link', 'set', 'eth0', 'address', SENDER_MAC);
          rx.ip('link', 'set', 'eth0', 'address', RECEIVER_MAC);
          rx.ip('route', 'add', 'default', 'via', '10.0.0.1');
          for (const [k, v] of Object.entries({ ...BASE_SYSCTLS, ...c.sysctls }))
            rx.setSysctl(k, v);
          rx.iptablesRestore(DUMP);
          sendFrame(tx, c);
          const counters = rx.counters();
          const n = (table: string, chain: string): number =>
            counterAt(counters, { table, chain, index: 1 }).packets;
          expect(n('raw', 'PREROUTING'), 'the frame reached PREROUTING').toBe(1);
          const way: Way =
            n('filter', 'INPUT') > 0
              ? 'INPUT'
              : n('filter', 'FORWARD') > 0
                ? 'FORWARD'
                : 'dropped in routing';
          return way;
        },
      );
      expect(kernel).toBe(c.way);
      expect(model.way).toBe(c.way);
      if (c.reason !== undefined) expect(model.reason).toBe(c.reason);
    });
  },
);
