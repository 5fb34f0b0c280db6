/**
 * Seed 004 from its example file: the cluster's contiv-vpp vswitch, the
 * client's SYN to the Service and the host stack's SYN-ACK, as `show trace`
 * prints them (test/golden/contiv-vpp-host-endpoint.vpp.txt). Every IP and
 * TCP checksum the seed prints is checked here against the seed's value.
 */
import { describe, expect, it } from 'vitest';
import { expectGolden, planExample } from '../render/testing/golden.js';
import { renderVppNotes, renderVppTrace } from '../render/vpp.js';
import { traceVppConnection } from './vpp.js';
import { SEED_REPLY, SEED_REQUEST } from '../vpp/testing/seed004.js';

const SEED = {
  id: 0x5eb4,
  seq: 0xba5bf36d,
  tsval: 0x0a1ba3e5,
  replySeq: 0x57f7b0c7,
  replyTsval: 0x0b2ca2d4,
};

/** Nodes and checksums, in order, as the seed prints them. */
const SEED_NODES_REQUEST = [
  'virtio-input',
  'ethernet-input',
  'ip4-input',
  'acl-plugin-in-ip4-fa',
  'nat44-out2in',
  'ip4-lookup',
  'ip4-rewrite',
  'acl-plugin-out-ip4-fa',
  'tap0-output',
];
const SEED_NODES_REPLY = [
  'virtio-input',
  'ethernet-input',
  'ip4-input',
  'acl-plugin-in-ip4-fa',
  'nat44-in2out',
  'nat44-in2out-slowpath',
  'ip4-lookup',
  'ip4-rewrite',
  'acl-plugin-out-ip4-fa',
  'tap2-output',
];
const SEED_CHECKSUMS = [
  '0xe946',
  '0xd22d',
  '0xc6ee',
  '0x9095',
  '0xc7ee',
  '0x9095',
  '0x25a3',
  '0xdab4',
  '0x47fb',
  '0x1c4d',
  '0x48fb',
  '0x1c4d',
];

describe('seed 004 (contiv-vpp, pod → Service → host-stack endpoint)', () => {
  const model = planExample('contiv-vpp-host-endpoint').model;
  const t = traceVppConnection(model, {
    from: 'default/client',
    to: 'svc/default/web:80',
    sport: 46310,
    seed: 1,
    packet: SEED,
    // The seed's pools held 5 NAT44 and 32 ACL sessions of other connections.
    openSessions: { nat: 5, acl: 32 },
  });
  const text = renderVppTrace(t);

  it('matches its golden', () => {
    expectGolden('contiv-vpp-host-endpoint', { 'vpp.txt': text });
  });

  it('prints every checksum the seed prints, in the seed order', () => {
    expect(text.match(/checksum 0x[0-9a-f]{4}/g)!.map((s) => s.slice(9))).toEqual(SEED_CHECKSUMS);
  });

  it('visits the seed nodes in the seed order', () => {
    const names = (p: typeof t.request) => p.trace.map((e) => e.record.node);
    expect(names(t.request)).toEqual(SEED_NODES_REQUEST);
    expect(names(t.reply!)).toEqual(SEED_NODES_REPLY);
  });

  it('differs from the seed only in the two MACs Contiv and the kernel draw at random', () => {
    // The seed's `show trace` lines without the time column (vpp/seed004.test.ts holds them whole).
    const seedLines = [...SEED_REQUEST.split('\n'), ...SEED_REPLY.split('\n')];
    const ours = text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('Packet') && !l.startsWith('---'))
      .map((l) => l.replace(/^\d\d:\d\d:\d\d:\d{6}: /, ''));
    expect(ours).toHaveLength(seedLines.length);
    const differing = ours.flatMap((l, i) => (l === seedLines[i] ? [] : [[l, seedLines[i]]]));
    const explained = /02:?fe|3e:?1b/;
    for (const [mine, theirs] of differing) {
      expect(mine, `differs from the seed's "${theirs}"`).toMatch(explained);
    }
    expect(differing.length).toBe(8);
  });
});

/**
 * Contiv's other Service mappings (examples/contiv-vpp-services.yaml): a
 * NodePort on the node's management address, and a pod that reaches its
 * own Service — self-twice-NAT, the source rewritten to the NAT loopback on
 * the way in and both ends rewritten back on the way out.
 */
describe('contiv-vpp Services: NodePort and self-twice-NAT', () => {
  const model = planExample('contiv-vpp-services').model;
  const trace = (from: string, to: string) =>
    traceVppConnection(model, { from, to, sport: 40000, seed: 1 });

  it('a NodePort: out2in on the node port, the answer from the node address and port', () => {
    const t = trace('default/client', '10.20.0.2:30080');
    expectGolden('contiv-vpp-nodeport', {
      'vpp.txt': renderVppTrace(t),
      'notes.txt': renderVppNotes(t),
    });
    const ip = (p: typeof t.request) =>
      p.fate.kind === 'transmit' ? p.fate.frame.subarray(14) : undefined;
    const dst = ip(t.request)!;
    expect([...dst.subarray(16, 20)].join('.')).toBe('10.1.1.5');
    const back = ip(t.reply!)!;
    expect([...back.subarray(12, 16)].join('.')).toBe('10.20.0.2');
    expect((back[20]! << 8) | back[21]!).toBe(30080);
  });

  it('self-twice-NAT: web-0 through its own Service arrives from the NAT loopback, and its answer leaves from the VIP', () => {
    const t = trace('default/web-0', 'svc/default/web:80');
    expectGolden('contiv-vpp-self-twice-nat', {
      'vpp.txt': renderVppTrace(t),
      'notes.txt': renderVppNotes(t),
    });
    const text = renderVppTrace(t);
    expect(text).toContain('TCP: 10.1.1.254 -> 10.1.1.5');
    expect(text).toContain('TCP: 10.104.221.90 -> 10.1.1.5');
    expect(t.reply?.fate.kind).toBe('transmit');
  });

  it('UDP to a port nothing listens on: the port unreachable comes back through nat44-in2out, from the VIP, quoting the VIP', () => {
    const t = traceVppConnection(model, {
      from: 'default/client',
      to: 'svc/default/metrics:8125',
      sport: 40000,
      seed: 1,
    });
    const text = renderVppTrace(t);
    expectGolden('contiv-vpp-udp-port-unreachable', { 'vpp.txt': text });
    expect(t.reply?.fate.kind).toBe('transmit');
    if (t.reply?.fate.kind !== 'transmit') return;
    const ip = t.reply.fate.frame.subarray(14);
    const icmp = ip.subarray(20);
    const inner = icmp.subarray(8);
    expect([...ip.subarray(12, 16)].join('.')).toBe('10.104.221.92');
    expect([icmp[0], icmp[1]]).toEqual([3, 3]);
    expect([...inner.subarray(16, 20)].join('.')).toBe('10.104.221.92');
    expect((inner[22]! << 8) | inner[23]!).toBe(8125);
    expect(text).toContain('ICMP destination_unreachable port_unreachable checksum 0x');
  });
});
