/**
 * Seed 004 (Contiv-VPP's "Pod to Service with chosen endpoint in the host
 * network stack"): the SYN and SYN-ACK through a vswitch configured by hand
 * the way Contiv configures it, printed as `show trace`. Every header value
 * the seed prints is checked; the two TCP timestamp values are the only
 * inputs the seed does not show (they lie past the 60 bytes a trace keeps),
 * chosen so the original segments' checksums are the seed's — everything
 * after NAT and TTL decrement is then computed.
 */
import { describe, expect, it } from 'vitest';
import { emitEthernet } from '../wire/ethernet.js';
import { emitIpv4Datagram } from '../wire/ipv4.js';
import { emitTcp } from '../wire/tcp.js';
import { IPPROTO, tcpFlags } from '../wire/packet.js';
import { formatPacketTrace } from './format.js';
import { Vswitch } from './vswitch.js';

const SYN_OPTIONS = '020405b40402080a' + '0a1ba3e5' + '00000000' + '01030307';
const SYNACK_OPTIONS = '020405b40402080a' + '0b2ca2d4' + '0a1ba3e5' + '01030307';

function frame(
  src: string,
  dst: string,
  smac: string,
  dmac: string,
  id: number,
  tcp: {
    sport: number;
    dport: number;
    seq: number;
    ack: number;
    flags: string;
    window: number;
    options: string;
  },
): Uint8Array {
  const seg = emitTcp(
    {
      kind: 'tcp',
      sport: tcp.sport,
      dport: tcp.dport,
      seq: tcp.seq,
      ack: tcp.ack,
      flags: tcpFlags(tcp.flags),
      window: tcp.window,
      options: tcp.options,
    },
    src,
    dst,
    new Uint8Array(0),
  );
  const ip = emitIpv4Datagram({ src, dst, ttl: 64, id, df: true, tos: 0 }, IPPROTO.TCP, seg);
  return emitEthernet({ dst: dmac, src: smac, ethertype: 0x0800 }, ip);
}

/** The seed's node: local0, GigabitEthernet0/8/0, tap0, loop0, vxlan_tunnel0, tap1, tap2. */
function seedVswitch(): Vswitch {
  const vs = new Vswitch('k8s-master', { integer: (from) => from });
  vs.addInterface({
    name: 'GigabitEthernet0/8/0',
    mac: '08:00:27:aa:bb:01',
    kind: 'dpdk',
    ip4: '192.168.16.1/24',
  });
  const tap0 = vs.addInterface({
    name: 'tap0',
    mac: '01:23:45:67:89:42',
    kind: 'tap',
    ip4: '172.30.1.1/24',
  });
  vs.addInterface({
    name: 'loop0',
    mac: '1a:2b:3c:4d:5e:01',
    kind: 'loopback',
    ip4: '192.168.30.1/24',
  });
  vs.addRouteVia('10.20.0.2/32', '172.30.1.2', 'tap0', 'routesToHost');
  vs.setNeighbour(tap0.swIfIndex, '172.30.1.2', '3e:1b:70:2d:4d:51');
  // The default route via the gateway, the VXLAN tunnel's underlay next hop, the other node's networks.
  vs.addRouteVia('0.0.0.0/0', '192.168.16.100', 'GigabitEthernet0/8/0', 'defaultRoute');
  vs.addRouteVia(
    '192.168.16.2/32',
    '192.168.16.2',
    'GigabitEthernet0/8/0',
    'vxlan_tunnel0 underlay',
  );
  vs.addInterface({ name: 'vxlan_tunnel0', mac: '00:00:00:00:00:00', kind: 'vxlan' });
  vs.addRouteVia('10.1.2.0/24', '192.168.30.2', 'loop0', 'routeToOtherHostPods');
  vs.addRouteVia('172.30.2.0/24', '192.168.30.2', 'loop0', 'routeToOtherHostStack');
  const tap1 = vs.addInterface({
    name: 'tap1',
    mac: '02:fe:aa:bb:cc:01',
    kind: 'tap',
    ip4: '10.2.1.2/32',
  });
  vs.addRouteVia('10.1.1.2/32', '10.1.1.2', 'tap1', 'vppRouteFromRequest');
  vs.setNeighbour(tap1.swIfIndex, '10.1.1.2', '00:00:00:00:00:02');
  const tap2 = vs.addInterface({
    name: 'tap2',
    mac: '02:fe:16:3f:5f:0f',
    kind: 'tap',
    ip4: '10.2.1.3/32',
  });
  vs.addRouteVia('10.1.1.3/32', '10.1.1.3', 'tap2', 'vppRouteFromRequest');
  vs.setNeighbour(tap2.swIfIndex, '10.1.1.3', '00:00:00:00:00:02');
  // NAT44: the host interconnect is inside (backends), pods outside (frontends).
  tap0.natInside = true;
  tap1.natOutside = true;
  tap2.natOutside = true;
  vs.nat.addStaticMapping({
    externalAddr: '10.104.221.85',
    externalPort: 80,
    proto: 6,
    locals: [{ addr: '10.20.0.2', port: 8080, probability: 0 }],
  });
  // ACLs: the global ACL (acl 2 once two others exist) on the node's output interfaces, the reflective one (3) on input.
  const any = { addr: '0.0.0.0', len: 0 };
  const all = { srcPorts: [0, 65535], dstPorts: [0, 65535] } as const;
  vs.acl.add({
    tag: 'contiv/vpp-policy-LOCAL-tap1',
    rules: [{ isPermit: 1, src: any, dst: any, proto: 0, ...all }],
  });
  // The client pod's local table (its ingress and egress rules, one egress ACL on its TAP).
  const local = vs.acl.add({
    tag: 'contiv/vpp-policy-LOCAL-tap2',
    rules: [{ isPermit: 1, src: any, dst: any, proto: 0, ...all }],
  });
  const global = vs.acl.add({
    tag: 'contiv/vpp-policy-GLOBAL',
    rules: [
      {
        isPermit: 0,
        src: { addr: '10.1.1.2', len: 32 },
        dst: any,
        proto: 6,
        srcPorts: [0, 65535],
        dstPorts: [0, 65535],
      },
      {
        isPermit: 0,
        src: { addr: '10.1.1.2', len: 32 },
        dst: any,
        proto: 17,
        srcPorts: [0, 65535],
        dstPorts: [0, 65535],
      },
      {
        isPermit: 1,
        src: { addr: '10.1.1.2', len: 32 },
        dst: any,
        proto: 0,
        srcPorts: [0, 65535],
        dstPorts: [0, 65535],
      },
      { isPermit: 1, src: any, dst: any, proto: 0, srcPorts: [0, 65535], dstPorts: [0, 65535] },
    ],
  });
  const reflect = vs.acl.add({
    tag: 'contiv/vpp-policy-REFLECTION',
    rules: [
      { isPermit: 2, src: any, dst: any, proto: 0, srcPorts: [0, 65535], dstPorts: [0, 65535] },
    ],
  });
  vs.acl.apply(tap0.swIfIndex, false, global);
  vs.acl.apply(tap1.swIfIndex, false, 0);
  vs.acl.apply(tap2.swIfIndex, false, local);
  for (const t of [tap0, tap1, tap2]) vs.acl.apply(t.swIfIndex, true, reflect);
  for (const t of [tap0, tap1, tap2]) vs.configureFeatures(t);
  return vs;
}

const SEED_REQUEST = `virtio-input
  virtio: hw_if_index 6 next-index 4 vring 0 len 74
    hdr: flags 0x00 gso_type 0x00 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0 num_buffers 1
ethernet-input
  IP4: 00:00:00:00:00:02 -> 02:fe:16:3f:5f:0f
ip4-input
  TCP: 10.1.1.3 -> 10.104.221.85
    tos 0x00, ttl 64, length 60, checksum 0xe946
    fragment id 0x5eb4, flags DONT_FRAGMENT
  TCP: 46310 -> 80
    seq. 0xba5bf36d ack 0x00000000
    flags 0x02 SYN, tcp header: 40 bytes
    window 29200, checksum 0xd22d
acl-plugin-in-ip4-fa
  acl-plugin: sw_if_index 6, next index 2, action: 2, match: acl 3 rule 0 trace_bits 00000000
  pkt info 0000000000000000 0301010a00000000 0000000000000000 55dd680a00000000 000600060050b4e6 0702ffff00000006
   input sw_if_index 6 (lsb16 6) l3 ip4 10.1.1.3 -> 10.104.221.85 l4 proto 6 l4_valid 1 port 46310 -> 80 tcp flags (valid) 02 rsvd 0
nat44-out2in
  NAT44_OUT2IN: sw_if_index 6, next index 1, session index 5
ip4-lookup
  fib 0 dpo-idx 3 flow hash: 0x00000000
  TCP: 10.1.1.3 -> 10.20.0.2
    tos 0x00, ttl 64, length 60, checksum 0xc6ee
    fragment id 0x5eb4, flags DONT_FRAGMENT
  TCP: 46310 -> 8080
    seq. 0xba5bf36d ack 0x00000000
    flags 0x02 SYN, tcp header: 40 bytes
    window 29200, checksum 0x9095
ip4-rewrite
  tx_sw_if_index 2 dpo-idx 3 : ipv4 via 172.30.1.2 tap0: 3e1b702d4d510123456789420800 flow hash: 0x00000000
  00000000: 3e1b702d4d5101234567894208004500003c5eb440003f06c7ee0a0101030a14
  00000020: 0002b4e61f90ba5bf36d00000000a002721090950000020405b40402
acl-plugin-out-ip4-fa
  acl-plugin: sw_if_index 2, next index 1, action: 1, match: acl 2 rule 3 trace_bits 00000000
  pkt info 0000000000000000 0301010a00000000 0000000000000000 0200140a00000000 000200061f90b4e6 0502ffff00000002
   output sw_if_index 2 (lsb16 2) l3 ip4 10.1.1.3 -> 10.20.0.2 l4 proto 6 l4_valid 1 port 46310 -> 8080 tcp flags (valid) 02 rsvd 0
tap0-output
  tap0
  IP4: 01:23:45:67:89:42 -> 3e:1b:70:2d:4d:51
  TCP: 10.1.1.3 -> 10.20.0.2
    tos 0x00, ttl 63, length 60, checksum 0xc7ee
    fragment id 0x5eb4, flags DONT_FRAGMENT
  TCP: 46310 -> 8080
    seq. 0xba5bf36d ack 0x00000000
    flags 0x02 SYN, tcp header: 40 bytes
    window 29200, checksum 0x9095`;

const SEED_REPLY = `virtio-input
  virtio: hw_if_index 2 next-index 4 vring 0 len 74
    hdr: flags 0x00 gso_type 0x00 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0 num_buffers 1
ethernet-input
  IP4: 3e:1b:70:2d:4d:51 -> 01:23:45:67:89:42
ip4-input
  TCP: 10.20.0.2 -> 10.1.1.3
    tos 0x00, ttl 64, length 60, checksum 0x25a3
    fragment id 0x0000, flags DONT_FRAGMENT
  TCP: 8080 -> 46310
    seq. 0x57f7b0c7 ack 0xba5bf36e
    flags 0x12 SYN ACK, tcp header: 40 bytes
    window 28960, checksum 0xdab4
acl-plugin-in-ip4-fa
  acl-plugin: sw_if_index 2, next index 1, action: 2, match: acl 3 rule 0 trace_bits 00000000
  pkt info 0000000000000000 0200140a00000000 0000000000000000 0301010a00000000 00020006b4e61f90 0712ffff00000002
   input sw_if_index 2 (lsb16 2) l3 ip4 10.20.0.2 -> 10.1.1.3 l4 proto 6 l4_valid 1 port 8080 -> 46310 tcp flags (valid) 12 rsvd 0
nat44-in2out
  NAT44_IN2OUT_FAST_PATH: sw_if_index 2, next index 3, session -1
nat44-in2out-slowpath
  NAT44_IN2OUT_SLOW_PATH: sw_if_index 2, next index 0, session 5
ip4-lookup
  fib 0 dpo-idx 8 flow hash: 0x00000000
  TCP: 10.104.221.85 -> 10.1.1.3
    tos 0x00, ttl 64, length 60, checksum 0x47fb
    fragment id 0x0000, flags DONT_FRAGMENT
  TCP: 80 -> 46310
    seq. 0x57f7b0c7 ack 0xba5bf36e
    flags 0x12 SYN ACK, tcp header: 40 bytes
    window 28960, checksum 0x1c4d
ip4-rewrite
  tx_sw_if_index 6 dpo-idx 8 : ipv4 via 10.1.1.3 tap2: 00000000000202fe163f5f0f0800 flow hash: 0x00000000
  00000000: 00000000000202fe163f5f0f08004500003c000040003f0648fb0a68dd550a01
  00000020: 01030050b4e657f7b0c7ba5bf36ea01271201c4d0000020405b40402
acl-plugin-out-ip4-fa
  acl-plugin: sw_if_index 6, next index 1, action: 3, match: acl -1 rule 32 trace_bits 80000000
  pkt info 0000000000000000 55dd680a00000000 0000000000000000 0301010a00000000 00060006b4e60050 0512ffff00000006
   output sw_if_index 6 (lsb16 6) l3 ip4 10.104.221.85 -> 10.1.1.3 l4 proto 6 l4_valid 1 port 80 -> 46310 tcp flags (valid) 12 rsvd 0
tap2-output
  tap2
  IP4: 02:fe:16:3f:5f:0f -> 00:00:00:00:00:02
  TCP: 10.104.221.85 -> 10.1.1.3
    tos 0x00, ttl 63, length 60, checksum 0x48fb
    fragment id 0x0000, flags DONT_FRAGMENT
  TCP: 80 -> 46310
    seq. 0x57f7b0c7 ack 0xba5bf36e
    flags 0x12 SYN ACK, tcp header: 40 bytes
    window 28960, checksum 0x1c4d`;

/** The trace without the time column (the twin has no clock). */
const untimed = (s: string): string => s.replace(/^\d\d:\d\d:\d\d:\d{6}: /gm, '');

describe('seed 004 through a hand-configured vswitch', () => {
  it('prints the SYN and SYN-ACK as the seed does, node by node, checksums computed', () => {
    const vs = seedVswitch();
    // The pools' history: session indices are pool slots, so the seed's
    // "session index 5" and "rule 32" say 5 NAT and 32 ACL sessions were open
    // before. Five earlier connections to the Service and 27 to the host make them.
    for (let i = 0; i < 32; i++) {
      const earlier = frame(
        '10.1.1.3',
        i < 5 ? '10.104.221.85' : '10.20.0.2',
        '00:00:00:00:00:02',
        '02:fe:16:3f:5f:0f',
        i,
        {
          sport: 40000 + i,
          dport: i < 5 ? 80 : 8080,
          seq: i,
          ack: 0,
          flags: 'S',
          window: 29200,
          options: SYN_OPTIONS,
        },
      );
      expect(vs.receive('tap2', earlier).fate.kind).toBe('transmit');
    }
    expect(vs.nat.sessions()).toHaveLength(5);
    expect(vs.acl.sessionCount()).toBe(32);
    const syn = frame(
      '10.1.1.3',
      '10.104.221.85',
      '00:00:00:00:00:02',
      '02:fe:16:3f:5f:0f',
      0x5eb4,
      {
        sport: 46310,
        dport: 80,
        seq: 0xba5bf36d,
        ack: 0,
        flags: 'S',
        window: 29200,
        options: SYN_OPTIONS,
      },
    );
    const req = vs.receive('tap2', syn);
    expect(req.fate.kind).toBe('transmit');
    expect(untimed(formatPacketTrace(req.trace))).toBe(SEED_REQUEST);
    const synack = frame('10.20.0.2', '10.1.1.3', '3e:1b:70:2d:4d:51', '01:23:45:67:89:42', 0, {
      sport: 8080,
      dport: 46310,
      seq: 0x57f7b0c7,
      ack: 0xba5bf36e,
      flags: 'SA',
      window: 28960,
      options: SYNACK_OPTIONS,
    });
    const rep = vs.receive('tap0', synack);
    expect(rep.fate.kind).toBe('transmit');
    expect(untimed(formatPacketTrace(rep.trace))).toBe(SEED_REPLY);
  });
});
