/**
 * VPP's own test expectations replayed on the model. Each case names the
 * upstream test (FD.io VPP v18.01, `test/`) whose setup and assertion it
 * repeats. test_acl_plugin.py runs its ACLs on the L2 path; the matching
 * (`single_acl_match_5tuple`) is the same function the IPv4 nodes use, so
 * the cases apply them as input ACLs of an L3 interface.
 */
import { describe, expect, it } from 'vitest';
import type { AclRule } from './acl.js';
import {
  HOST_MAC,
  PG0_MAC,
  PG1_MAC,
  frameOf,
  natVswitch,
  pgVswitch,
  tcpOf,
  type PacketSpec,
} from './testing/packets.js';
import type { Vswitch } from './vswitch.js';

const ANY = { addr: '0.0.0.0', len: 0 };
const ALL: readonly [number, number] = [0, 65535];
const rule = (
  isPermit: 0 | 1 | 2,
  proto: number,
  dstPorts: readonly [number, number] = ALL,
  srcPorts: readonly [number, number] = ALL,
): AclRule => ({ isPermit, src: ANY, dst: ANY, proto, srcPorts, dstPorts });

/** pg0 → pg1: a remote host on pg0 sends to one on pg1. */
const out = (p: Partial<PacketSpec> & Pick<PacketSpec, 'proto'>): PacketSpec => ({
  src: '172.16.1.2',
  dst: '172.16.2.2',
  smac: HOST_MAC,
  dmac: PG0_MAC,
  ...p,
});
/** pg1 → pg0: the answer. */
const back = (p: Partial<PacketSpec> & Pick<PacketSpec, 'proto'>): PacketSpec => ({
  src: '172.16.2.2',
  dst: '172.16.1.2',
  smac: HOST_MAC,
  dmac: PG1_MAC,
  ...p,
});

function withInputAcl(rules: AclRule[]): Vswitch {
  const vs = pgVswitch();
  const acl = vs.acl.add({ tag: 'test', rules });
  vs.acl.apply(1, true, acl);
  for (const i of vs.interfaces) vs.configureFeatures(i);
  return vs;
}

const passes = (vs: Vswitch, from: string, p: PacketSpec): boolean =>
  vs.receive(from, frameOf(p)).fate.kind === 'transmit';

describe('test_acl_plugin.py', () => {
  it.each([
    // [upstream test, rules, packet, passes]
    ['test_0002_acl_permit_apply: permit all', [rule(1, 0)], out({ proto: 'udp' }), true],
    [
      'test_0003_acl_deny_apply: deny UDP, permit all — UDP',
      [rule(0, 17), rule(1, 0)],
      out({ proto: 'udp' }),
      false,
    ],
    [
      'test_0003_acl_deny_apply: deny UDP, permit all — TCP',
      [rule(0, 17), rule(1, 0)],
      out({ proto: 'tcp' }),
      true,
    ],
    [
      'test_0004_vpp624_permit_icmpv4: permit ICMP type/code range, deny all',
      [rule(1, 1, [0, 255], [0, 255]), rule(0, 0)],
      out({ proto: 'icmp', icmp: [8, 0] }),
      true,
    ],
    [
      'test_0006_vpp624_deny_icmpv4: deny ICMP, permit all',
      [rule(0, 1, [0, 255], [0, 255]), rule(1, 0)],
      out({ proto: 'icmp', icmp: [8, 0] }),
      false,
    ],
    [
      'test_0008_tcp_permit_v4: permit TCP port range, deny all',
      [rule(1, 6, [20, 2000], [20, 2000]), rule(0, 0)],
      out({ proto: 'tcp', sport: 1000, dport: 1500 }),
      true,
    ],
    [
      'test_0012_tcp_deny: deny TCP port range, permit all',
      [rule(0, 6, [20, 2000], [20, 2000]), rule(1, 0)],
      out({ proto: 'tcp', sport: 1000, dport: 1500 }),
      false,
    ],
    [
      'test_0015_tcp_permit_port_v4: permit one TCP port — that port',
      [rule(1, 6, [4242, 4242]), rule(0, 0)],
      out({ proto: 'tcp', dport: 4242 }),
      true,
    ],
    [
      'test_0015_tcp_permit_port_v4: permit one TCP port — another port',
      [rule(1, 6, [4242, 4242]), rule(0, 0)],
      out({ proto: 'tcp', dport: 4243 }),
      false,
    ],
    [
      'test_0021_udp_deny_port_verify_fragment_deny: a non-initial fragment matches the UDP deny on protocol alone',
      [rule(0, 17, [4242, 4242]), rule(1, 0)],
      out({ proto: 'udp', dport: 9999, fragOffset: 185 }),
      false,
    ],
  ] as const)('%s', (_name, rules, packet, expected) => {
    expect(passes(withInputAcl([...rules]), 'pg0', packet)).toBe(expected);
  });

  it('test_0021: the fragment match is marked in the trace (trace_bits 80000000)', () => {
    const vs = withInputAcl([rule(0, 17, [4242, 4242]), rule(1, 0)]);
    const t = vs.receive('pg0', frameOf(out({ proto: 'udp', dport: 9999, fragOffset: 185 }))).trace;
    expect(t.find((e) => e.record.node === 'acl-plugin-in-ip4-fa')!.record).toMatchObject({
      action: 0,
      matchAcl: 0,
      matchRule: 0,
      traceBits: 0x80000000,
    });
  });
});

/**
 * test_acl_plugin_conns.py `Conn.apply_acls(reflect_side, acl_side)`: ACL A =
 * [permit+reflect the flow (any source port), deny all], ACL B = [deny all];
 * on the `acl_side` interface `acl_interface_set_acl_list(sw_if_index, 1, …)`
 * makes the first ACL the input and the second the output list; the other
 * interface has none.
 */
function conns(aclSide: 0 | 1): Vswitch {
  const vs = pgVswitch();
  const flow: AclRule = {
    isPermit: 2,
    src: { addr: '172.16.1.2', len: 32 },
    dst: { addr: '172.16.2.2', len: 32 },
    proto: 17,
    srcPorts: ALL,
    dstPorts: [4242, 4242],
  };
  const reflect = vs.acl.add({ tag: 'reflect', rules: [flow, rule(0, 0)] });
  const deny = vs.acl.add({ tag: 'deny', rules: [rule(0, 0)] });
  const sw = aclSide === 0 ? 1 : 2;
  const [input, output] = aclSide === 0 ? [reflect, deny] : [deny, reflect];
  vs.acl.apply(sw, true, input);
  vs.acl.apply(sw, false, output);
  for (const i of vs.interfaces) vs.configureFeatures(i);
  return vs;
}

describe('test_acl_plugin_conns.py', () => {
  const request = out({ proto: 'udp', sport: 42001, dport: 4242 });
  const reply = back({ proto: 'udp', sport: 4242, dport: 42001 });

  it.each([
    ['test_0001_basic_conn_test: reflect on ingress', 0],
    ['test_0002_basic_conn_test: reflect on egress', 1],
  ] as const)('%s: the return packets pass, by the session', (_n, side) => {
    const vs = conns(side);
    expect(passes(vs, 'pg1', reply)).toBe(false); // no session yet: the deny ACL
    expect(passes(vs, 'pg0', request)).toBe(true);
    const r = vs.receive('pg1', frameOf(reply));
    expect(r.fate.kind).toBe('transmit');
    const acl = r.trace.find((e) => e.record.node.startsWith('acl-plugin'))!.record;
    expect(acl).toMatchObject({ action: 3, matchAcl: -1, matchRule: 0, traceBits: 0x80000000 });
  });

  it.each([
    ['test_0005_clear_conn_test: reflect egress, clear conn', 1],
    ['test_0006_clear_conn_test: reflect ingress, clear conn', 0],
  ] as const)(
    '%s: after `clear acl-plugin sessions` the return packets are dropped',
    (_n, side) => {
      const vs = conns(side);
      expect(passes(vs, 'pg0', request)).toBe(true);
      expect(passes(vs, 'pg1', reply)).toBe(true);
      vs.acl.clearSessions();
      expect(passes(vs, 'pg1', reply)).toBe(false);
    },
  );
});

describe('test_nat.py', () => {
  const natAddr = '10.0.0.3';
  const lb = (vs: Vswitch): void =>
    vs.nat.addStaticMapping({
      externalAddr: natAddr,
      externalPort: 80,
      proto: 6,
      locals: [
        { addr: '172.16.1.2', port: 8080, probability: 70 },
        { addr: '172.16.1.3', port: 8080, probability: 30 },
      ],
    });

  it('test_static_lb: client → service reaches a local on 8080 with good checksums; the reply comes from the external address and port', () => {
    const vs = natVswitch();
    lb(vs);
    const r = vs.receive(
      'pg1',
      frameOf({
        src: '172.16.2.2',
        dst: natAddr,
        proto: 'tcp',
        sport: 12345,
        dport: 80,
        smac: HOST_MAC,
        dmac: PG1_MAC,
      }),
    );
    expect(r.fate.kind).toBe('transmit');
    if (r.fate.kind !== 'transmit') return;
    const p = tcpOf(r.fate.frame);
    expect(['172.16.1.2', '172.16.1.3']).toContain(p.dst);
    expect(p).toMatchObject({ dport: 8080, ipChecksumOk: true, tcpChecksumOk: true });
    const b = vs.receive(
      'pg0',
      frameOf({
        src: p.dst,
        dst: '172.16.2.2',
        proto: 'tcp',
        sport: 8080,
        dport: 12345,
        flags: 'SA',
        smac: HOST_MAC,
        dmac: PG0_MAC,
      }),
    );
    expect(b.fate.kind).toBe('transmit');
    if (b.fate.kind !== 'transmit') return;
    expect(tcpOf(b.fate.frame)).toMatchObject({
      src: natAddr,
      sport: 80,
      ipChecksumOk: true,
      tcpChecksumOk: true,
    });
  });

  it('test_static_lb: multiple clients — the 70% local gets more of them than the 30% one', () => {
    let state = 7;
    // A seeded uniform integer, as random_u32 % prefix is.
    const vs = natVswitch((from, to) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return from + (state % (to - from + 1));
    });
    lb(vs);
    const counts = new Map<string, number>();
    for (let c = 10; c < 30; c++) {
      const r = vs.receive(
        'pg1',
        frameOf({
          src: `172.16.2.${c}`,
          dst: natAddr,
          proto: 'tcp',
          sport: 12345,
          dport: 80,
          smac: HOST_MAC,
          dmac: PG1_MAC,
        }),
      );
      if (r.fate.kind === 'transmit') {
        const d = tcpOf(r.fate.frame).dst;
        counts.set(d, (counts.get(d) ?? 0) + 1);
      }
    }
    expect(counts.get('172.16.1.2') ?? 0).toBeGreaterThan(counts.get('172.16.1.3') ?? 0);
    // one session per client, in pool order
    expect(vs.nat.sessions().map((s) => s.index)).toEqual([...Array(20).keys()]);
  });

  it('test_forwarding: with forwarding on, a packet no mapping covers passes untranslated (session index -1); off, it is dropped', () => {
    const vs = natVswitch();
    const p = frameOf({
      src: '172.16.2.2',
      dst: '172.16.1.2',
      proto: 'tcp',
      sport: 1234,
      dport: 80,
      smac: HOST_MAC,
      dmac: PG1_MAC,
    });
    const on = vs.receive('pg1', p);
    expect(on.fate.kind).toBe('transmit');
    expect(on.trace.find((e) => e.record.node === 'nat44-out2in')!.record).toMatchObject({
      sessionIndex: -1,
      nextIndex: 1,
    });
    if (on.fate.kind === 'transmit')
      expect(tcpOf(on.fate.frame)).toMatchObject({ dst: '172.16.1.2', dport: 80 });
    vs.nat.forwarding = false;
    expect(vs.receive('pg1', p).fate).toMatchObject({ kind: 'drop', node: 'nat44-out2in' });
  });
});
