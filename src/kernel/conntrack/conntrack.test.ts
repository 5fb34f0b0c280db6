import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../iptables/parse.js';
import type { Ipv4Packet } from '../../wire/packet.js';
import { Netfilter, newSkb, type HookOutcome, type Ruleset, type Skb } from '../netfilter/index.js';
import { icmpEcho, icmpError, tcp, TestEnv, udp } from '../netfilter/testing/env.js';
import type { Chooser } from '../random.js';
import { formatEntry } from './format.js';
import { IPS } from './entry.js';
import { invertTuple, tupleOf } from './tuple.js';

function ruleset(text: string): Ruleset {
  const p = parseIptablesSave(text, 't.save');
  expect(p.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return p.ruleset;
}

/** Chance always true; integers from a fixed list (then the low bound). */
function chooser(ints: number[] = []): Chooser {
  return { chance: () => true, integer: (a) => ints.shift() ?? a };
}

/** A router: in on eth0 (10.0.0.1) or eth1 (198.51.100.1), forwarded, out the other way. */
function forward(
  nf: Netfilter,
  p: Ipv4Packet,
  inIf: string,
  outIf: string,
  ch: Chooser = chooser(),
): HookOutcome[] {
  const outs: HookOutcome[] = [];
  let skb: Skb = newSkb(p);
  for (const [hook, ctx] of [
    ['PREROUTING', { inIface: inIf }],
    ['FORWARD', { inIface: inIf, outIface: outIf }],
    ['POSTROUTING', { outIface: outIf, nexthop: p.ip.dst }],
  ] as const) {
    const o = nf.run(hook, skb, ctx, ch);
    outs.push(o);
    if (o.verdict !== 'ACCEPT') break;
    skb = o.skb;
  }
  return outs;
}
const last = (o: HookOutcome[]) => o[o.length - 1]!;
const env = (sys = {}) => new TestEnv({ '10.0.0.1': 'eth0', '198.51.100.1': 'eth1' }, sys);

const DNAT = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.5:8080
-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.1.5:53
COMMIT
*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
`;

describe('DNAT and the reply un-DNAT (nf_nat_packet with the altered reply tuple)', () => {
  it('rewrites the first packet at PREROUTING and the reply source at POSTROUTING; later packets reuse the binding', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    const syn = forward(
      nf,
      tcp('203.0.113.9', 5000, '10.96.0.10', 80, { syn: true }, 1000),
      'eth1',
      'eth0',
    );
    expect(last(syn).verdict).toBe('ACCEPT');
    expect(last(syn).skb.packet.ip.dst).toBe('10.244.1.5');
    expect(last(syn).skb.packet.l4).toMatchObject({ dport: 8080, sport: 5000 });
    const ct = last(syn).skb.ct;
    expect(ct.kind === 'tracked' && ct.entry.status & IPS.CONFIRMED).toBeTruthy();
    expect(ct.kind === 'tracked' && ct.entry.reply).toEqual({
      proto: 'tcp',
      src: '10.244.1.5',
      dst: '203.0.113.9',
      sport: 8080,
      dport: 5000,
    });

    const synack = forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { syn: true, ack: true }, 9000, 1001),
      'eth0',
      'eth1',
    );
    expect(synack[0]!.skb.ct).toMatchObject({ kind: 'tracked', ctinfo: 'ESTABLISHED_REPLY' });
    expect(synack[0]!.skb.packet.ip.src).toBe('10.244.1.5'); // not yet: the SRC manip is at POSTROUTING
    expect(last(synack).skb.packet.ip.src).toBe('10.96.0.10');
    expect(last(synack).skb.packet.l4).toMatchObject({ sport: 80, dport: 5000 });
    expect(last(synack).steps.some((s) => s.kind === 'nat' && s.summary.includes('un-DNAT'))).toBe(
      true,
    );

    const ack = forward(
      nf,
      tcp('203.0.113.9', 5000, '10.96.0.10', 80, { ack: true }, 1001, 9001),
      'eth1',
      'eth0',
    );
    expect(ack[0]!.skb.ct).toMatchObject({ ctinfo: 'ESTABLISHED' });
    expect(ack[0]!.skb.packet.ip.dst).toBe('10.244.1.5');
    // The nat table is not walked for an ESTABLISHED packet.
    expect(ack[0]!.tables.map((t) => t.table)).not.toContain('nat');
    expect(nf.listConntrack()).toBe(
      'tcp      6 432000 ESTABLISHED src=203.0.113.9 dst=10.96.0.10 sport=5000 dport=80 src=10.244.1.5 dst=203.0.113.9 sport=8080 dport=5000 [ASSURED] mark=0 use=1\n' +
        'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n',
    );
  });

  it('NAT rules run once per connection: a changed ruleset only affects new connections (§1.2)', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    forward(nf, udp('203.0.113.9', 5000, '10.96.0.10', 53), 'eth1', 'eth0');
    nf.setRuleset(ruleset(DNAT.replace('10.244.1.5:53', '10.244.9.9:53')));
    const again = forward(nf, udp('203.0.113.9', 5000, '10.96.0.10', 53), 'eth1', 'eth0');
    expect(last(again).skb.packet.ip.dst).toBe('10.244.1.5');
    const fresh = forward(nf, udp('203.0.113.9', 5001, '10.96.0.10', 53), 'eth1', 'eth0');
    expect(last(fresh).skb.packet.ip.dst).toBe('10.244.9.9');
  });

  it('UDP clash at confirm (the DNS race): the second packet passes (nf_ct_resolve_clash)', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    const p = udp('203.0.113.9', 5000, '10.96.0.10', 53);
    const a = nf.run('PREROUTING', newSkb(p), { inIface: 'eth1' }, chooser());
    const b = nf.run('PREROUTING', newSkb(p), { inIface: 'eth1' }, chooser());
    const ctx = { outIface: 'eth0', nexthop: '10.244.1.5' };
    const first = nf.run('POSTROUTING', a.skb, ctx, chooser());
    // b's source null binding now finds a's tuple taken, so it gets another port
    // (get_unique_tuple) and clashes at confirm with a different mapping.
    const second = nf.run('POSTROUTING', b.skb, ctx, chooser([3]));
    expect(first.verdict).toBe('ACCEPT');
    expect(second.verdict).toBe('ACCEPT');
    expect(second.skb.packet.l4).toMatchObject({ sport: 1024 + 3 });
    expect(second.steps.some((s) => s.summary.includes('nf_ct_resolve_clash_harder'))).toBe(true);
    expect(nf.conntrack.size).toBe(1);
  });

  it('two unconfirmed TCP entries for one tuple: the second to reach confirm is dropped (__nf_conntrack_confirm)', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    const p = tcp('203.0.113.9', 5000, '10.96.0.10', 80);
    const a = nf.run('PREROUTING', newSkb(p), { inIface: 'eth1' }, chooser());
    const b = nf.run('PREROUTING', newSkb(p), { inIface: 'eth1' }, chooser());
    const ctx = { outIface: 'eth0', nexthop: '10.244.1.5' };
    expect(nf.run('POSTROUTING', a.skb, ctx, chooser()).verdict).toBe('ACCEPT');
    const second = nf.run('POSTROUTING', b.skb, ctx, chooser());
    expect(second.verdict).toBe('DROP');
    expect(second.decidedBy).toMatchObject({ kind: 'kernel', hook: 'POSTROUTING' });
    expect(nf.conntrack.size).toBe(1);
  });

  it('a packet dropped before the confirm hook leaves no entry', () => {
    const nf = new Netfilter(
      ruleset(DNAT.replace(':FORWARD ACCEPT [0:0]', ':FORWARD DROP [0:0]')),
      env(),
    );
    const r = forward(nf, udp('203.0.113.9', 5000, '10.96.0.10', 53), 'eth1', 'eth0');
    expect(last(r).verdict).toBe('DROP');
    expect(nf.conntrack.size).toBe(0);
  });
});

const MASQ = `*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -j MASQUERADE
-A POSTROUTING -s 10.9.0.0/16 -o eth1 -j MASQUERADE --random-fully
COMMIT
`;

describe('MASQUERADE (nf_nat_masquerade_ipv4, get_unique_tuple)', () => {
  it('takes the out device address, keeps the port, and un-SNATs the reply at PREROUTING', () => {
    const nf = new Netfilter(ruleset(MASQ), env());
    const out = forward(nf, udp('10.0.0.5', 40000, '8.8.8.8', 53), 'eth0', 'eth1');
    expect(last(out).skb.packet.ip.src).toBe('198.51.100.1');
    expect(last(out).skb.packet.l4).toMatchObject({ sport: 40000 });
    const back = forward(nf, udp('8.8.8.8', 53, '198.51.100.1', 40000), 'eth1', 'eth0');
    expect(back[0]!.skb.packet.ip.dst).toBe('10.0.0.5');
    expect(back[0]!.skb.packet.l4).toMatchObject({ dport: 40000 });
    expect(back[0]!.steps.some((s) => s.kind === 'nat' && s.summary.includes('un-SNAT'))).toBe(
      true,
    );
  });

  it('picks another port when the mapped tuple is taken by another connection', () => {
    const nf = new Netfilter(ruleset(MASQ), env());
    forward(nf, udp('10.0.0.5', 40000, '8.8.8.8', 53), 'eth0', 'eth1');
    const second = forward(nf, udp('10.0.0.6', 40000, '8.8.8.8', 53), 'eth0', 'eth1', chooser([7]));
    const p = last(second).skb.packet;
    expect(p.ip.src).toBe('198.51.100.1');
    // nf_nat_l4proto_unique_tuple: min 1024 + (off % 64512) with off from the chooser.
    expect(p.l4).toMatchObject({ sport: 1024 + 7 });
    // Both replies are told apart by their reply tuples.
    const r1 = forward(nf, udp('8.8.8.8', 53, '198.51.100.1', 40000), 'eth1', 'eth0');
    const r2 = forward(nf, udp('8.8.8.8', 53, '198.51.100.1', 1031), 'eth1', 'eth0');
    expect(r1[0]!.skb.packet.ip.dst).toBe('10.0.0.5');
    expect(r2[0]!.skb.packet.ip.dst).toBe('10.0.0.6');
    expect(r2[0]!.skb.packet.l4).toMatchObject({ dport: 40000 });
  });

  it('--random-fully replaces the port even without a clash; low ports stay in their class', () => {
    const nf = new Netfilter(
      ruleset(MASQ.replace('-A POSTROUTING -o eth1 -j MASQUERADE\n', '')),
      env(),
    );
    const r = forward(nf, udp('10.9.0.5', 40000, '8.8.8.8', 53), 'eth0', 'eth1', chooser([100]));
    expect(last(r).skb.packet.l4).toMatchObject({ sport: 1124 });
    const low = forward(nf, udp('10.9.0.5', 700, '8.8.8.8', 53), 'eth0', 'eth1', chooser([5]));
    expect(last(low).skb.packet.l4).toMatchObject({ sport: 605 });
  });

  it('drops the packet when the out device has no address', () => {
    const nf = new Netfilter(
      ruleset('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n'),
      env(),
    );
    const r = forward(nf, udp('10.0.0.5', 40000, '8.8.8.8', 53), 'eth0', 'eth9');
    expect(last(r).verdict).toBe('DROP');
    expect(last(r).decidedBy).toMatchObject({ kind: 'rule', chain: 'POSTROUTING' });
  });
});

describe('INVALID (nf_conntrack_proto_tcp.c)', () => {
  it('a mid-stream ACK is NEW with tcp_loose=1 and INVALID with tcp_loose=0', () => {
    const ack = tcp('203.0.113.9', 5000, '10.244.1.5', 8080, { ack: true }, 1, 1);
    const loose = new Netfilter(ruleset(DNAT), env());
    expect(forward(loose, ack, 'eth1', 'eth0')[0]!.skb.ct).toMatchObject({
      kind: 'tracked',
      ctinfo: 'NEW',
    });
    const strict = new Netfilter(ruleset(DNAT), env({ tcpLoose: false }));
    const r = forward(strict, ack, 'eth1', 'eth0');
    expect(r[0]!.skb.ct).toEqual({ kind: 'none' });
    expect(last(r).verdict).toBe('DROP'); // KUBE-FORWARD-style ctstate INVALID DROP
  });

  it('invalid flag combinations and SYN/ACK without an entry are INVALID', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    expect(
      forward(nf, tcp('1.1.1.1', 1, '2.2.2.2', 2, { syn: true, fin: true }), 'eth1', 'eth0')[0]!.skb
        .ct.kind,
    ).toBe('none');
    expect(
      forward(nf, tcp('1.1.1.1', 1, '2.2.2.2', 2, { syn: true, ack: true }), 'eth1', 'eth0')[0]!.skb
        .ct.kind,
    ).toBe('none');
  });

  it('an out-of-window reply is INVALID and therefore not un-DNATed (the kube-proxy reset case, §1.5)', () => {
    const text = DNAT.replace('-A FORWARD -m conntrack --ctstate INVALID -j DROP\n', '');
    const nf = new Netfilter(ruleset(text), env());
    forward(nf, tcp('203.0.113.9', 5000, '10.96.0.10', 80, { syn: true }, 1000), 'eth1', 'eth0');
    forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { syn: true, ack: true }, 9000, 1001),
      'eth0',
      'eth1',
    );
    forward(
      nf,
      tcp('203.0.113.9', 5000, '10.96.0.10', 80, { ack: true }, 1001, 9001),
      'eth1',
      'eth0',
    );
    const ok = forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { ack: true, psh: true }, 9001, 1001, 100),
      'eth0',
      'eth1',
    );
    expect(last(ok).skb.packet.ip.src).toBe('10.96.0.10');
    const bad = forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { ack: true }, 9001 + 5_000_000, 1001, 100),
      'eth0',
      'eth1',
    );
    expect(bad[0]!.skb.ct.kind).toBe('none');
    expect(bad[0]!.steps.some((s) => s.summary.includes('SEQ is over upper bound'))).toBe(true);
    expect(last(bad).skb.packet.ip.src).toBe('10.244.1.5');
    // be_liberal=1 accepts it (only out-of-window RSTs stay INVALID).
    const lib = new Netfilter(ruleset(text), env({ tcpBeLiberal: true }));
    forward(lib, tcp('203.0.113.9', 5000, '10.96.0.10', 80, { syn: true }, 1000), 'eth1', 'eth0');
    forward(
      lib,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { syn: true, ack: true }, 9000, 1001),
      'eth0',
      'eth1',
    );
    const libBad = forward(
      lib,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { ack: true }, 9001 + 5_000_000, 1001, 100),
      'eth0',
      'eth1',
    );
    expect(last(libBad).skb.packet.ip.src).toBe('10.96.0.10');
  });

  it('a retransmission below the window is IGNOREd: it passes with its entry, nothing changes (NFCT_TCP_IGNORE)', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    forward(nf, tcp('203.0.113.9', 5000, '10.96.0.10', 80, { syn: true }, 1000), 'eth1', 'eth0');
    forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { syn: true, ack: true }, 9000, 1001),
      'eth0',
      'eth1',
    );
    forward(
      nf,
      tcp('203.0.113.9', 5000, '10.96.0.10', 80, { ack: true }, 1001, 9001),
      'eth1',
      'eth0',
    );
    // 200 000 bytes of data from the client, acknowledged by the server.
    forward(
      nf,
      tcp('203.0.113.9', 5000, '10.96.0.10', 80, { ack: true, psh: true }, 1001, 9001, 60000),
      'eth1',
      'eth0',
    );
    forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { ack: true }, 9001, 61001),
      'eth0',
      'eth1',
    );
    const before = nf.conntrack.list(0)[0]!;
    // A very late copy of bytes the receiver's window has long moved past.
    const old = tcp(
      '203.0.113.9',
      5000,
      '10.96.0.10',
      80,
      { ack: true },
      (1001 - 100000) >>> 0,
      9001,
      10,
    );
    const r = forward(nf, old, 'eth1', 'eth0');
    expect(r[0]!.skb.ct).toMatchObject({ kind: 'tracked', ctinfo: 'ESTABLISHED' });
    expect(r[0]!.steps.some((s) => s.summary.includes('SEQ is under lower bound'))).toBe(true);
    expect(last(r).skb.packet.ip.dst).toBe('10.244.1.5');
    expect(nf.conntrack.list(0)[0]!.tcp).toEqual(before.tcp);
  });

  it('an RST as the only reply deletes the entry', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    forward(nf, tcp('203.0.113.9', 5000, '10.96.0.10', 80, { syn: true }, 1000), 'eth1', 'eth0');
    expect(nf.conntrack.size).toBe(1);
    forward(
      nf,
      tcp('10.244.1.5', 8080, '203.0.113.9', 5000, { rst: true, ack: true }, 0, 1001),
      'eth0',
      'eth1',
    );
    expect(nf.conntrack.size).toBe(0);
  });
});

describe('RELATED ICMP errors (icmp_error_message, nf_nat_icmp_reply_translation)', () => {
  it('an ICMP port-unreachable from the DNAT target is RELATED and translated inside and out', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    const q = forward(nf, udp('203.0.113.9', 5000, '10.96.0.10', 53), 'eth1', 'eth0');
    const sent = last(q).skb.packet;
    const err = forward(nf, icmpError('10.244.1.5', '203.0.113.9', 3, 3, sent), 'eth0', 'eth1');
    expect(err[0]!.skb.ct).toMatchObject({ kind: 'tracked', ctinfo: 'RELATED_REPLY' });
    const out = last(err).skb.packet;
    expect(out.ip.src).toBe('10.96.0.10');
    expect(out.l4.kind === 'icmp' && out.l4.inner?.ip.dst).toBe('10.96.0.10');
    expect(out.l4.kind === 'icmp' && out.l4.inner?.l4).toMatchObject({ sport: 5000, dport: 53 });
  });
  it('an ICMP error about no known connection is INVALID', () => {
    const nf = new Netfilter(ruleset(DNAT), env());
    const err = forward(
      nf,
      icmpError('10.244.1.5', '203.0.113.9', 3, 3, udp('203.0.113.9', 1, '10.244.1.5', 2)),
      'eth0',
      'eth1',
    );
    expect(err[0]!.skb.ct.kind).toBe('none');
  });
});

describe('tuples and conntrack -L text', () => {
  it('inverting a tuple twice is the identity; ICMP echo inverts to echo reply', () => {
    const t = tupleOf(udp('1.1.1.1', 10, '2.2.2.2', 20));
    expect(invertTuple(invertTuple(t))).toEqual(t);
    expect(invertTuple(tupleOf(icmpEcho('1.1.1.1', '2.2.2.2', 77)))).toMatchObject({
      src: '2.2.2.2',
      dst: '1.1.1.1',
      icmpType: 0,
      sport: 77,
    });
  });
  it('prints an unreplied UDP entry like conntrack -L', () => {
    const nf = new Netfilter(ruleset(MASQ), env());
    forward(nf, udp('10.0.0.5', 40000, '8.8.8.8', 53), 'eth0', 'eth1');
    const e = nf.conntrack.list(0)[0]!;
    expect(formatEntry(e, 0)).toBe(
      'udp      17 30 src=10.0.0.5 dst=8.8.8.8 sport=40000 dport=53 [UNREPLIED] src=8.8.8.8 dst=198.51.100.1 sport=53 dport=40000 mark=0 use=1',
    );
  });
  it('IP-in-IP: generic tracker (addresses + protocol, 600 s), NAT rewrites only the outer addresses', () => {
    const inner = tcp('10.244.1.5', 40000, '10.244.2.7', 80, { syn: true });
    const ipip = (src: string, dst: string, i: Ipv4Packet): Ipv4Packet => ({
      ip: { src, dst, ttl: 63, id: 1, df: true, tos: 0 },
      l4: { kind: 'ipip', inner: i },
      payloadLength: 40 + i.payloadLength,
    });
    const nf = new Netfilter(ruleset(MASQ), env());
    const out = forward(nf, ipip('10.0.0.5', '8.8.8.8', inner), 'eth0', 'eth1');
    expect(last(out).verdict).toBe('ACCEPT');
    const sent = last(out).skb.packet;
    expect(sent.ip).toMatchObject({ src: '198.51.100.1', dst: '8.8.8.8' });
    expect(sent.l4).toEqual({ kind: 'ipip', inner }); // nf_nat_l4proto_manip_pkt: nothing to do
    expect(tupleOf(sent)).toEqual({
      proto: 'ipip',
      src: '198.51.100.1',
      dst: '8.8.8.8',
      sport: 0,
      dport: 0,
    });
    const e = nf.conntrack.list(0)[0]!;
    expect(formatEntry(e, 0)).toBe(
      'unknown  4 600 src=10.0.0.5 dst=8.8.8.8 [UNREPLIED] src=8.8.8.8 dst=198.51.100.1 mark=0 use=1',
    );
    // Any protocol-4 packet back between the two addresses is the reply, whatever it carries.
    const back = forward(
      nf,
      ipip(
        '8.8.8.8',
        '198.51.100.1',
        tcp('10.244.2.7', 80, '10.244.1.5', 40000, { syn: true, ack: true }),
      ),
      'eth1',
      'eth0',
    );
    expect(back[0]!.skb.ct).toMatchObject({ ctinfo: 'ESTABLISHED_REPLY' });
    expect(back[0]!.skb.packet.ip.dst).toBe('10.0.0.5');
    expect(formatEntry(nf.conntrack.list(0)[0]!, 0)).toMatch(
      /^unknown {2}4 600 src=10\.0\.0\.5 dst=8\.8\.8\.8 src=/,
    );
  });
  it('ICMP echo: the reply matches the entry as ESTABLISHED_REPLY', () => {
    const nf = new Netfilter(ruleset(MASQ), env());
    forward(nf, icmpEcho('10.0.0.5', '8.8.8.8', 99), 'eth0', 'eth1');
    const back = forward(nf, icmpEcho('8.8.8.8', '198.51.100.1', 99, 0), 'eth1', 'eth0');
    expect(back[0]!.skb.ct).toMatchObject({ ctinfo: 'ESTABLISHED_REPLY' });
    expect(back[0]!.skb.packet.ip.dst).toBe('10.0.0.5');
  });
  it('entries expire on the simulated clock', () => {
    const e = env();
    const nf = new Netfilter(ruleset(MASQ), e);
    forward(nf, udp('10.0.0.5', 40000, '8.8.8.8', 53), 'eth0', 'eth1');
    e.time = 29;
    expect(nf.conntrack.list(e.time)).toHaveLength(1);
    e.time = 31;
    expect(nf.conntrack.list(e.time)).toHaveLength(0);
  });
});
