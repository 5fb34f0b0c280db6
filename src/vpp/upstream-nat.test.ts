/**
 * More of VPP's own NAT44 expectations replayed on the model: the
 * twice-NAT family and identity NAT of `test/test_nat.py` as Contiv's VPP
 * build has them (vpp-dev/vpp stable-1801-contiv, f232c2e1:
 * `twice_nat_common`, `test_identity_nat`). The layout is the test
 * framework's: pg0 172.16.1.1/24 inside, pg1 172.16.2.1/24 outside,
 * nat_addr 10.0.0.3, twice_nat_addr 10.0.1.3, the service on port 80,
 * the servers on 8080 (8081/8082 when both locals are one host), the
 * external host's port 4567.
 *
 * The self-twice-NAT "positive" cases send the client's packet on the
 * server's own interface. Upstream that interface is inside only, and the
 * packet reaches the mapping through hairpinning; Contiv makes every pod
 * TAP inside and outside, so the packet goes through nat44-classify to
 * out2in — the path replayed here — and the assertions are upstream's.
 */
import { describe, expect, it } from 'vitest';
import {
  HOST_MAC,
  icmpOf,
  PG0_MAC,
  PG1_MAC,
  frameOf,
  natVswitch,
  pgVswitch,
  tcpOf,
} from './testing/packets.js';
import { formatPacketTrace } from './format.js';
import type { Vswitch } from './vswitch.js';

const NAT_ADDR = '10.0.0.3';
const TWICE_NAT_ADDR = '10.0.1.3';
const SERVER1 = '172.16.1.2'; // pg0.remote_hosts[0]
const SERVER2 = '172.16.1.3'; // pg0.remote_hosts[1]
const EXT = '172.16.2.2'; // pg1.remote_hosts[0]

interface Case {
  readonly selfTwiceNat?: boolean;
  readonly samePg?: boolean;
  readonly lb?: boolean;
  readonly clientId?: 1 | 2;
}

/** `twice_nat_common`: the request, the server's answer, and what each side saw. */
function twiceNatCommon(c: Case) {
  let draws = 0;
  // a seeded "random": LB picks alternate, twice-NAT ports are 1024 + 1 + n
  const integer = (from: number, to: number): number => from + (draws++ % (to - from + 1));
  const vs: Vswitch = c.samePg ? pgVswitch(integer) : natVswitch(integer);
  if (c.samePg) {
    vs.ifByIndex(1).natInside = true;
    vs.ifByIndex(1).natOutside = true;
    vs.ifByIndex(2).natOutside = true;
    for (const i of vs.interfaces) vs.configureFeatures(i);
  }
  vs.nat.forwarding = false;
  vs.nat.addTwiceNatAddress(TWICE_NAT_ADDR);
  const twiceNat = c.selfTwiceNat ? 'self-twice-nat' : 'twice-nat';
  const [p1, p2] = c.lb && c.samePg ? [8081, 8082] : [8080, 8080];
  vs.nat.addStaticMapping({
    externalAddr: NAT_ADDR,
    externalPort: 80,
    proto: 6,
    twiceNat,
    locals: c.lb
      ? [
          { addr: SERVER1, port: p1, probability: 50 },
          { addr: c.samePg ? SERVER1 : SERVER2, port: p2, probability: 50 },
        ]
      : [{ addr: SERVER1, port: 8080, probability: 0 }],
  });
  const client = !c.samePg ? EXT : c.lb && c.clientId === 2 ? SERVER2 : SERVER1;
  const [inIf, inMac] = c.samePg ? ['pg0', PG0_MAC] : ['pg1', PG1_MAC];
  const req = vs.receive(
    inIf,
    frameOf({
      src: client,
      dst: NAT_ADDR,
      proto: 'tcp',
      sport: 4567,
      dport: 80,
      smac: HOST_MAC,
      dmac: inMac,
    }),
  );
  if (req.fate.kind !== 'transmit') throw new Error(`request: ${JSON.stringify(req.fate)}`);
  const seen = tcpOf(req.fate.frame);
  const rep = vs.receive(
    'pg0',
    frameOf({
      src: seen.dst,
      dst: seen.src,
      proto: 'tcp',
      sport: seen.dport,
      dport: seen.sport,
      flags: 'SA',
      smac: HOST_MAC,
      dmac: PG0_MAC,
    }),
  );
  if (rep.fate.kind !== 'transmit') throw new Error(`reply: ${JSON.stringify(rep.fate)}`);
  return { vs, client, seen, back: tcpOf(rep.fate.frame), ports: [p1, p2] };
}

describe('test_nat.py twice_nat_common (Contiv build)', () => {
  it.each([
    ['test_twice_nat', {}, true],
    ['test_self_twice_nat_positive', { selfTwiceNat: true, samePg: true }, true],
    ['test_self_twice_nat_negative', { selfTwiceNat: true }, false],
    ['test_twice_nat_lb', { lb: true }, true],
    [
      'test_self_twice_nat_lb_positive',
      { lb: true, selfTwiceNat: true, samePg: true, clientId: 1 },
      true,
    ],
    [
      'test_self_twice_nat_lb_negative',
      { lb: true, selfTwiceNat: true, samePg: true, clientId: 2 },
      false,
    ],
  ] as const)('%s: external host translated %s', (_name, c: Case, ehTranslate) => {
    const { vs, client, seen, back, ports } = twiceNatCommon(c);
    // the server gets it on its port, from the twice-NAT address and a new port — or from the client as it is
    expect([SERVER1, SERVER2]).toContain(seen.dst);
    expect(c.lb ? ports : [8080]).toContain(seen.dport);
    if (ehTranslate) {
      expect(seen.src).toBe(TWICE_NAT_ADDR);
      expect(seen.sport).not.toBe(4567);
    } else expect(seen).toMatchObject({ src: client, sport: 4567 });
    expect(seen).toMatchObject({ ipChecksumOk: true, tcpChecksumOk: true });
    // the answer reaches the client from the service's address and port
    expect(back).toMatchObject({
      dst: client,
      src: NAT_ADDR,
      dport: 4567,
      sport: 80,
      ipChecksumOk: true,
      tcpChecksumOk: true,
    });
    // nat44_user_session_dump: one session, twice-NAT when the host was translated
    const sessions = vs.nat.sessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.extHostNat !== undefined).toBe(ehTranslate);
  });

  it('test_twice_nat: a second external host gets another twice-NAT port (busy ports are not reused)', () => {
    const vs = natVswitch(() => 1025); // a "random" that keeps answering the same port
    vs.nat.addTwiceNatAddress(TWICE_NAT_ADDR);
    vs.nat.addStaticMapping({
      externalAddr: NAT_ADDR,
      externalPort: 80,
      proto: 6,
      twiceNat: 'twice-nat',
      locals: [{ addr: SERVER1, port: 8080, probability: 0 }],
    });
    const ports = ['172.16.2.2', '172.16.2.3'].map((src) => {
      const r = vs.receive(
        'pg1',
        frameOf({
          src,
          dst: NAT_ADDR,
          proto: 'tcp',
          sport: 4567,
          dport: 80,
          smac: HOST_MAC,
          dmac: PG1_MAC,
        }),
      );
      if (r.fate.kind !== 'transmit') throw new Error('not transmitted');
      return tcpOf(r.fate.frame).sport;
    });
    expect(ports[0]).toBe(1025);
    expect(ports[1]).not.toBe(ports[0]);
  });
});

describe('test_nat.py test_identity_nat', () => {
  const send = (vs: Vswitch) =>
    vs.receive(
      'pg1',
      frameOf({
        src: EXT,
        dst: SERVER1,
        proto: 'tcp',
        sport: 12345,
        dport: 56789,
        smac: HOST_MAC,
        dmac: PG1_MAC,
      }),
    );

  it('with an identity mapping for the inside host, a packet from outside passes untranslated (forwarding off)', () => {
    const vs = natVswitch();
    vs.nat.forwarding = false;
    vs.nat.addIdentityMapping(SERVER1);
    const r = send(vs);
    expect(r.fate.kind).toBe('transmit');
    if (r.fate.kind !== 'transmit') return;
    expect(tcpOf(r.fate.frame)).toMatchObject({
      dst: SERVER1,
      src: EXT,
      dport: 56789,
      sport: 12345,
      ipChecksumOk: true,
      tcpChecksumOk: true,
    });
    // create_session_for_static_mapping: the identity takes a session like any static mapping
    expect(r.trace.find((e) => e.record.node === 'nat44-out2in')!.record).toMatchObject({
      sessionIndex: 0,
    });
  });

  it('without it (the control), the same packet has no translation and is dropped', () => {
    const vs = natVswitch();
    vs.nat.forwarding = false;
    expect(send(vs).fate).toMatchObject({ kind: 'drop', node: 'nat44-out2in' });
  });
});

describe('test_nat.py test_forwarding (Contiv build): no static mapping match', () => {
  it('outside → inside passes untranslated, leaving a bypass session per flow (ext_host valid); the answers leave untranslated, same ports', () => {
    const vs = natVswitch();
    vs.nat.addStaticMapping({
      externalAddr: NAT_ADDR,
      externalPort: 0,
      proto: 0,
      locals: [{ addr: SERVER1, port: 0, probability: 0 }],
    });
    const user = SERVER2; // pg0.remote_hosts[1], no mapping
    for (const proto of ['tcp', 'udp'] as const) {
      const r = vs.receive(
        'pg1',
        frameOf({
          src: EXT,
          dst: user,
          proto,
          sport: 4567,
          dport: 5678,
          smac: HOST_MAC,
          dmac: PG1_MAC,
        }),
      );
      expect(r.fate.kind).toBe('transmit');
      expect(r.trace.find((e) => e.record.node === 'nat44-out2in')!.record).toMatchObject({
        sessionIndex: -1,
      });
      const back = vs.receive(
        'pg0',
        frameOf({
          src: user,
          dst: EXT,
          proto,
          sport: 5678,
          dport: 4567,
          smac: HOST_MAC,
          dmac: PG0_MAC,
        }),
      );
      expect(back.fate.kind).toBe('transmit');
      if (back.fate.kind === 'transmit' && proto === 'tcp')
        expect(tcpOf(back.fate.frame)).toMatchObject({
          src: user,
          sport: 5678,
          tcpChecksumOk: true,
        });
    }
    // nat44_user_session_dump(remote_hosts[1]): upstream counts 3 with the ICMP stream, not modelled here
    const sessions = vs.nat.sessions().filter((s) => s.in2out.addr === user);
    expect(sessions).toHaveLength(2);
    expect(sessions.every((s) => s.bypass && s.extHost.addr === EXT)).toBe(true);
  });
});

describe('ICMP through NAT44 (Contiv build: icmp_in2out, icmp_out2in)', () => {
  it('test_static_with_port_in (ICMP): a static mapping of echo id 6305 to 3608 — in2out the source and id, out2in back', () => {
    const vs = natVswitch();
    vs.nat.addStaticMapping({
      externalAddr: NAT_ADDR,
      externalPort: 3608,
      proto: 1,
      locals: [{ addr: SERVER1, port: 6305, probability: 0 }],
    });
    const out = vs.receive(
      'pg0',
      frameOf({
        src: SERVER1,
        dst: EXT,
        proto: 'icmp',
        icmp: [8, 0],
        icmpId: 6305,
        smac: HOST_MAC,
        dmac: PG0_MAC,
      }),
    );
    if (out.fate.kind !== 'transmit') throw new Error(JSON.stringify(out.fate));
    expect(icmpOf(out.fate.frame)).toMatchObject({
      src: NAT_ADDR,
      dst: EXT,
      id: 3608,
      icmpChecksumOk: true,
    });
    expect(tcpOf(out.fate.frame).ipChecksumOk).toBe(true);
    const back = vs.receive(
      'pg1',
      frameOf({
        src: EXT,
        dst: NAT_ADDR,
        proto: 'icmp',
        icmp: [0, 0],
        icmpId: 3608,
        smac: HOST_MAC,
        dmac: PG1_MAC,
      }),
    );
    if (back.fate.kind !== 'transmit') throw new Error(JSON.stringify(back.fate));
    expect(icmpOf(back.fate.frame)).toMatchObject({ dst: SERVER1, id: 6305, icmpChecksumOk: true });
    expect(back.trace.find((e) => e.record.node === 'nat44-out2in')!.record).toMatchObject({
      sessionIndex: 0,
    });
  });

  it('an echo with a bad ICMP checksum is dropped', () => {
    const vs = natVswitch();
    vs.nat.addStaticMapping({
      externalAddr: NAT_ADDR,
      externalPort: 0,
      proto: 0,
      locals: [{ addr: SERVER1, port: 0, probability: 0 }],
    });
    const f = frameOf({
      src: SERVER1,
      dst: EXT,
      proto: 'icmp',
      icmp: [8, 0],
      smac: HOST_MAC,
      dmac: PG0_MAC,
    });
    f[14 + 20 + 2]! ^= 0xff;
    expect(vs.receive('pg0', f).fate).toMatchObject({
      kind: 'drop',
      node: 'nat44-in2out-slowpath',
    });
  });

  /** A UDP Service (nat_addr:53 → 172.16.1.2:5353); the client's datagram, then the local's port unreachable quoting it. */
  function udpService() {
    const vs = natVswitch();
    vs.nat.addStaticMapping({
      externalAddr: NAT_ADDR,
      externalPort: 53,
      proto: 17,
      locals: [{ addr: SERVER1, port: 5353, probability: 0 }],
    });
    const req = vs.receive(
      'pg1',
      frameOf({
        src: EXT,
        dst: NAT_ADDR,
        proto: 'udp',
        sport: 4000,
        dport: 53,
        smac: HOST_MAC,
        dmac: PG1_MAC,
      }),
    );
    if (req.fate.kind !== 'transmit') throw new Error('request not transmitted');
    // the quoted packet: the datagram as the local received it (IP header + 8 bytes)
    const quoted = req.fate.frame.slice(14, 14 + 28);
    quoted[8] = 63; // as received, after the vswitch's TTL decrement
    const unreachable = (q: Uint8Array) =>
      vs.receive(
        'pg0',
        frameOf({
          src: SERVER1,
          dst: EXT,
          proto: 'icmp',
          icmp: [3, 3],
          icmpData: q,
          smac: HOST_MAC,
          dmac: PG0_MAC,
        }),
      );
    return { vs, quoted, unreachable };
  }

  it("an ICMP error from a Service's local: the outer source and the quoted destination become the Service's address and port (the quoted IP checksum is left as it was)", () => {
    const { quoted, unreachable } = udpService();
    const r = unreachable(quoted);
    if (r.fate.kind !== 'transmit') throw new Error(JSON.stringify(r.fate));
    const m = icmpOf(r.fate.frame);
    expect(m).toMatchObject({ src: NAT_ADDR, dst: EXT, type: 3, icmpChecksumOk: true });
    expect(m.inner).toMatchObject({
      src: EXT,
      sport: 4000,
      dst: NAT_ADDR,
      dport: 53,
      checksumOk: false,
    });
    expect(r.trace.find((e) => e.record.node === 'nat44-in2out-slowpath')!.record).toMatchObject({
      sessionIndex: 0,
    });
  });

  it('ip4-input prints the ICMP header as format_ip4_icmp_header does (type and code names, the checksum unpadded)', () => {
    const { quoted, unreachable } = udpService();
    const text = formatPacketTrace(unreachable(quoted).trace);
    expect(text).toMatch(
      /\n {2}ICMP destination_unreachable port_unreachable checksum 0x[1-9a-f][0-9a-f]{0,3}\n/,
    );
    expect(text).toContain('ICMP: 172.16.1.2 -> 172.16.2.2');
  });

  it('an ICMP error quoting a packet no session knows is dropped', () => {
    const { quoted, unreachable } = udpService();
    quoted[12 + 3] = 99; // another client: 172.16.2.99
    expect(unreachable(quoted).fate).toMatchObject({ kind: 'drop', node: 'nat44-in2out-slowpath' });
  });

  it("an echo to a Service's address (no ICMP mapping) passes untranslated with forwarding, leaving a bypass session", () => {
    const { vs } = udpService();
    const r = vs.receive(
      'pg1',
      frameOf({
        src: EXT,
        dst: SERVER2,
        proto: 'icmp',
        icmp: [8, 0],
        icmpId: 77,
        smac: HOST_MAC,
        dmac: PG1_MAC,
      }),
    );
    expect(r.fate.kind).toBe('transmit');
    expect(vs.nat.sessions().filter((s) => s.bypass && s.proto === 1)).toHaveLength(1);
  });
});
