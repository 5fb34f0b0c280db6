/**
 * Each header module on its own: construct/deconstruct pairs (smoltcp's
 * test_parse/test_emit) on bytes cut from the kernel captures, and the errors
 * malformed input gives, with the offset they name.
 */
import { describe, expect, it } from 'vitest';
import {
  arpReplyTo,
  describePacket,
  arpRequest,
  emitArp,
  emitEthernet,
  emitIcmp,
  emitIpv4Header,
  emitPacket,
  emitSctp,
  emitTcp,
  emitUdp,
  emitVxlanHeader,
  icmpErrorPacket,
  icmpQuoteLength,
  ipipDecapsulate,
  ipipEncapsulate,
  isMac,
  isMulticastMac,
  normalizeMac,
  parseArp,
  parseEthernet,
  parseFrame,
  parseIcmp,
  parseIpv4,
  parsePacket,
  parseSctp,
  parseTcp,
  parseUdp,
  parseVxlanHeader,
  sctpChecksum,
  sportOf,
  tcpFlags,
  toHex,
  vxlanDecapsulate,
  vxlanEncapsulate,
  withPorts,
  type Ipv4Packet,
  type WireResult,
} from './index.js';
import { fromHex } from './result.js';
import { frame } from './testing/fixtures.js';

function value<T>(r: WireResult<T>): T {
  if (!r.ok) throw new Error(`${r.error.layer} at ${r.error.offset}: ${r.error.reason}`);
  return r.value;
}

function error<T>(r: WireResult<T>): { layer: string; offset: number; reason: string } {
  if (r.ok) throw new Error('expected a parse error');
  return r.error;
}

describe('ethernet', () => {
  const bytes = frame('arp-request');
  it('parses dst, src, ethertype', () => {
    expect(value(parseEthernet(bytes)).header).toEqual({
      dst: 'ff:ff:ff:ff:ff:ff',
      src: '02:00:0a:fa:00:01',
      ethertype: 0x0806,
    });
  });
  it('emits the same 14 bytes', () => {
    const p = value(parseEthernet(bytes));
    expect(toHex(emitEthernet(p.header, p.payload))).toBe(toHex(bytes));
  });
  it.each([
    [new Uint8Array(13), 13, 'truncated'],
    [fromHex('ffffffffffff02000afa00010040'), 12, '802.3 length'],
  ])('rejects %#', (b, offset, reason) => {
    const e = error(parseEthernet(b));
    expect(e).toMatchObject({ layer: 'ethernet', offset });
    expect(e.reason).toContain(reason);
  });
  it('MAC strings are canonical lower-case', () => {
    expect(isMac('aa:bb:cc:dd:ee:ff')).toBe(true);
    expect(isMac('AA:bb:cc:dd:ee:ff')).toBe(false);
    expect(normalizeMac('AA-BB-CC-DD-EE-0F')).toBe('aa:bb:cc:dd:ee:0f');
    expect(() => normalizeMac('aa:bb')).toThrow(RangeError);
    expect(isMulticastMac('01:00:5e:00:00:01')).toBe(true);
    expect(isMulticastMac('02:00:0a:fa:00:01')).toBe(false);
    expect(() =>
      emitEthernet({ dst: 'nope', src: 'ff:ff:ff:ff:ff:ff', ethertype: 0x800 }, new Uint8Array()),
    ).toThrow(RangeError);
  });
});

describe('arp', () => {
  it('who-has / is-at as Linux sends them', () => {
    const req = arpRequest('02:00:0a:fa:00:01', '10.250.0.1', '10.250.0.2');
    expect(toHex(emitArp(req))).toBe(toHex(frame('arp-request').subarray(14)));
    const rep = arpReplyTo(req, '02:00:0a:fa:00:02');
    expect(toHex(emitArp(rep))).toBe(toHex(frame('arp-reply').subarray(14)));
    expect(value(parseArp(emitArp(rep)))).toEqual(rep);
  });
  it.each([
    ['0001080006040001', 8, 'truncated'],
    ['0006080006040001' + '00'.repeat(20), 0, 'hardware type 6'],
    ['000186dd06040001' + '00'.repeat(20), 2, 'protocol type 0x86dd'],
    ['0001080006100001' + '00'.repeat(20), 4, 'address lengths'],
    ['0001080006040003' + '00'.repeat(20), 6, 'opcode 3'],
  ])('rejects %s', (hex, offset, reason) => {
    const e = error(parseArp(fromHex(hex)));
    expect(e.offset).toBe(offset);
    expect(e.reason).toContain(reason);
  });
});

describe('ipv4 header', () => {
  const bytes = frame('icmp-echo-request').subarray(14);
  it('parses every field', () => {
    const p = value(parseIpv4(bytes));
    expect(p.header).toEqual({
      src: '10.250.0.1',
      dst: '10.250.0.2',
      ttl: 64,
      id: 0xd4dc,
      df: true,
      tos: 0,
      protocol: 1,
      mf: false,
      fragOffset: 0,
      payloadLength: 64,
    });
    expect(p).toMatchObject({
      headerLength: 20,
      checksum: 0x4fd6,
      checksumOk: true,
      truncated: false,
    });
  });
  it('emits the same header, checksum included', () => {
    expect(toHex(emitIpv4Header(value(parseIpv4(bytes)).header))).toBe(
      toHex(bytes.subarray(0, 20)),
    );
  });
  it('carries options and fragment fields at this level', () => {
    const h = {
      src: '1.2.3.4',
      dst: '5.6.7.8',
      ttl: 1,
      id: 7,
      df: false,
      tos: 0,
      protocol: 2,
      mf: true,
      fragOffset: 185,
      payloadLength: 8,
      options: '94040000', // Router Alert (RFC 2113)
    };
    const wire = new Uint8Array(32);
    wire.set(emitIpv4Header(h));
    const p = value(parseIpv4(wire));
    expect(p.header).toEqual(h);
    expect(p.headerLength).toBe(24);
    expect(p.checksumOk).toBe(true);
  });
  it('reports a bad checksum without failing the header parse', () => {
    const b = bytes.slice();
    b[8] = 63;
    expect(value(parseIpv4(b)).checksumOk).toBe(false);
  });
  it('ignores bytes past the total length (Ethernet padding)', () => {
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes);
    expect(value(parseIpv4(padded)).payload.length).toBe(64);
  });
  const mutate = (at: number, v: number): Uint8Array => {
    const b = bytes.slice();
    b[at] = v;
    return b;
  };
  it.each([
    [bytes.subarray(0, 19), 19, 'truncated header'],
    [mutate(0, 0x65), 0, 'version 6'],
    [mutate(0, 0x44), 0, 'IHL 4'],
    [((b) => ((b[0] = 0x4f), b))(bytes.slice(0, 40)), 40, 'truncated options'],
    [mutate(3, 10), 2, 'total length 10'],
    [mutate(3, 0xff), 84, 'truncated: total length'],
    [mutate(6, 0xc0), 6, 'reserved flag'],
  ])('rejects case %#', (b, offset, reason) => {
    const e = error(parseIpv4(b));
    expect(e.offset).toBe(offset);
    expect(e.reason).toContain(reason);
  });
  it('a quoted header may be cut short', () => {
    const p = value(parseIpv4(bytes.subarray(0, 28), 0, { quoted: true }));
    expect(p.truncated).toBe(true);
    expect(p.payload.length).toBe(8);
  });
  it('emit rejects what cannot be on the wire', () => {
    const h = value(parseIpv4(bytes)).header;
    expect(() => emitIpv4Header({ ...h, ttl: 256 })).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...h, payloadLength: 65516 })).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...h, options: '01' })).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...h, src: '10.0.0.256' })).toThrow(RangeError);
  });
});

describe('tcp', () => {
  const seg = frame('tcp-40001-8080-S').subarray(34);
  it('parses the SYN, options carried as hex', () => {
    const p = value(parseTcp(seg, '10.250.0.1', '10.250.0.2'));
    expect(p.segment).toEqual({
      kind: 'tcp',
      sport: 40001,
      dport: 8080,
      seq: 2901374883,
      ack: 0,
      flags: tcpFlags('S'),
      window: 64240,
      options: '020405b40402080a67bc5c08000000000103030a',
    });
    expect(p).toMatchObject({ headerLength: 40, checksum: 0x92ec, checksumOk: true });
  });
  it('emits it back with the kernel checksum', () => {
    const p = value(parseTcp(seg, '10.250.0.1', '10.250.0.2'));
    expect(toHex(emitTcp(p.segment, '10.250.0.1', '10.250.0.2', p.payload))).toBe(toHex(seg));
  });
  it('the checksum depends on the pseudo-header', () => {
    expect(value(parseTcp(seg, '10.250.0.1', '10.250.0.3')).checksumOk).toBe(false);
  });
  it('ECE, CWR and the urgent pointer round-trip', () => {
    const s = {
      kind: 'tcp',
      sport: 1,
      dport: 2,
      seq: 3,
      ack: 4,
      window: 5,
      urgent: 9,
      flags: { ...tcpFlags('SU'), ece: true, cwr: true },
    } as const;
    const b = emitTcp(s, '1.1.1.1', '2.2.2.2', new Uint8Array(3));
    expect(b[13]).toBe(0xc2 | 0x20);
    expect(value(parseTcp(b, '1.1.1.1', '2.2.2.2')).segment).toEqual(s);
  });
  const mutate = (at: number, v: number): Uint8Array => {
    const b = seg.slice();
    b[at] = v;
    return b;
  };
  it.each([
    [seg.subarray(0, 19), 19, 'truncated header'],
    [mutate(12, 0x40), 12, 'data offset 4'],
    [mutate(12, 0xf0), 40, 'truncated options'],
    [mutate(12, 0xa1), 12, 'reserved/AE'],
  ])('rejects case %#', (b, offset, reason) => {
    const e = error(parseTcp(b, '10.250.0.1', '10.250.0.2', 0));
    expect(e.offset).toBe(offset);
    expect(e.reason).toContain(reason);
  });
  it('a quote of 8 bytes gives ports and seq, the rest zero', () => {
    const p = value(parseTcp(seg.subarray(0, 8), '10.250.0.1', '10.250.0.2', 0, { quoted: true }));
    expect(p.segment).toEqual({
      kind: 'tcp',
      sport: 40001,
      dport: 8080,
      seq: 2901374883,
      ack: 0,
      flags: tcpFlags(''),
      window: 0,
    });
    expect(p.checksumOk).toBe(false);
  });
  it('emit rejects options that are not whole words', () => {
    const p = value(parseTcp(seg, '10.250.0.1', '10.250.0.2'));
    expect(() =>
      emitTcp({ ...p.segment, options: '0204' }, '1.1.1.1', '2.2.2.2', new Uint8Array()),
    ).toThrow(RangeError);
    expect(() =>
      emitTcp({ ...p.segment, dport: 65536 }, '1.1.1.1', '2.2.2.2', new Uint8Array()),
    ).toThrow(RangeError);
  });
});

describe('udp', () => {
  const dgram = frame('udp-40000-9999').subarray(34);
  it('parses and emits the captured datagram', () => {
    const p = value(parseUdp(dgram, '10.250.0.1', '10.250.0.2'));
    expect(p).toMatchObject({
      datagram: { kind: 'udp', sport: 40000, dport: 9999 },
      length: 14,
      checksum: 0xe2af,
      checksumOk: true,
    });
    expect(new TextDecoder().decode(p.payload)).toBe('hello\n');
    expect(toHex(emitUdp(p.datagram, '10.250.0.1', '10.250.0.2', p.payload))).toBe(toHex(dgram));
  });
  it('checksum 0 is "none" and is kept', () => {
    const b = emitUdp(
      { kind: 'udp', sport: 1, dport: 2, noChecksum: true },
      '1.1.1.1',
      '2.2.2.2',
      new Uint8Array(4),
    );
    expect(b[6]! | b[7]!).toBe(0);
    expect(value(parseUdp(b, '9.9.9.9', '8.8.8.8'))).toMatchObject({
      datagram: { noChecksum: true },
      checksumOk: true,
    });
  });
  it('a computed checksum of 0 is sent as ffff (RFC 768)', () => {
    // Pick a payload word so that the sum comes out at 0xffff: the checksum would be 0.
    const base = emitUdp(
      { kind: 'udp', sport: 1, dport: 2 },
      '0.0.0.0',
      '0.0.0.0',
      new Uint8Array(2),
    );
    const c = (base[6]! << 8) | base[7]!;
    const payload = new Uint8Array([c >> 8, c & 0xff]);
    const b = emitUdp({ kind: 'udp', sport: 1, dport: 2 }, '0.0.0.0', '0.0.0.0', payload);
    expect((b[6]! << 8) | b[7]!).toBe(0xffff);
    expect(value(parseUdp(b, '0.0.0.0', '0.0.0.0')).checksumOk).toBe(true);
  });
  it.each([
    [dgram.subarray(0, 7), 7, 'truncated'],
    [fromHex('9c40270f0007e2af'), 4, 'length 7 below 8'],
    [dgram.subarray(0, 12), 4, 'differs'],
  ])('rejects case %#', (b, offset, reason) => {
    const e = error(parseUdp(b, '10.250.0.1', '10.250.0.2'));
    expect(e.offset).toBe(offset);
    expect(e.reason).toContain(reason);
  });
});

describe('icmp', () => {
  it('echo request: id and seq', () => {
    const b = frame('icmp-echo-request').subarray(34);
    const p = value(parseIcmp(b));
    expect(p.message).toEqual({ kind: 'icmp', type: 8, code: 0, id: 20176, seq: 1 });
    expect(p.checksumOk).toBe(true);
    expect(toHex(emitIcmp(p.message, p.body))).toBe(toHex(b));
  });
  it('frag-needed: the next-hop MTU', () => {
    const b = frame('icmp-frag-needed').subarray(34);
    const p = value(parseIcmp(b));
    expect(p.message).toEqual({ kind: 'icmp', type: 3, code: 4, mtu: 1280 });
    expect(p.body.length).toBe(548);
    expect(toHex(emitIcmp(p.message, p.body))).toBe(toHex(b));
  });
  it.each([
    ['0500000000000000', 0, 'type 5 not modelled'],
    ['0b00000000010000', 4, 'unused'],
    ['0304000000010500', 4, 'unused'],
    ['0800', 2, 'truncated'],
  ])('rejects %s', (hex, offset, reason) => {
    const e = error(parseIcmp(fromHex(hex)));
    expect(e.offset).toBe(offset);
    expect(e.reason).toContain(reason);
  });
  it('emit refuses types it cannot say', () => {
    expect(() => emitIcmp({ kind: 'icmp', type: 5, code: 0 }, new Uint8Array())).toThrow(
      RangeError,
    );
  });
  it('quotes as much as icmp_send does', () => {
    expect(icmpQuoteLength(1428)).toBe(548);
    expect(icmpQuoteLength(34)).toBe(34);
    expect(icmpQuoteLength(1428, 300)).toBe(272);
  });
});

describe('sctp', () => {
  const init = { kind: 'sctp', sport: 5000, dport: 38412, vtag: 0 } as const;
  it('stores the CRC32c little-endian, as sctp_compute_cksum does', () => {
    const b = emitSctp(init, fromHex('01000014a1b2c3d40001000000040004deadbeef'));
    const crc = sctpChecksum(b);
    expect([b[8], b[9], b[10], b[11]]).toEqual([
      crc & 0xff,
      (crc >>> 8) & 0xff,
      (crc >>> 16) & 0xff,
      crc >>> 24,
    ]);
    expect(value(parseSctp(b))).toMatchObject({ packet: init, checksum: crc, checksumOk: true });
  });
  it('a changed vtag breaks the checksum', () => {
    const b = emitSctp(init, new Uint8Array(4));
    b[7] = 1;
    expect(value(parseSctp(b)).checksumOk).toBe(false);
  });
  it('rejects a short header', () => {
    expect(error(parseSctp(new Uint8Array(11)))).toMatchObject({ layer: 'sctp', offset: 11 });
  });
});

describe('vxlan', () => {
  it('header: I flag and VNI', () => {
    expect(toHex(emitVxlanHeader(0xabcdef))).toBe('08000000abcdef00');
    expect(value(parseVxlanHeader(fromHex('08000000abcdef00')))).toEqual({ vni: 0xabcdef });
    expect(error(parseVxlanHeader(fromHex('00000000abcdef00'))).reason).toContain('flags 0x0');
    expect(error(parseVxlanHeader(fromHex('88000000abcdef00'))).reason).toContain('flags 0x88');
    expect(error(parseVxlanHeader(fromHex('08000100abcdef00'))).reason).toContain('reserved');
    expect(() => emitVxlanHeader(1 << 24)).toThrow(RangeError);
  });
  it('decapsulates and re-encapsulates the kernel frame, UDP checksum on', () => {
    const b = frame('vxlan4789-icmp-echo-request');
    const d = value(vxlanDecapsulate(b));
    expect(d.inner.length).toBe(b.length - 50);
    expect(toHex(vxlanEncapsulate(d.tunnel, d.inner))).toBe(toHex(b));
  });
  it('and with noudpcsum', () => {
    const b = frame('vxlan8472-icmp-echo-request');
    const d = value(vxlanDecapsulate(b));
    expect(d.tunnel.udpChecksum).toBe(false);
    expect(toHex(vxlanEncapsulate(d.tunnel, d.inner))).toBe(toHex(b));
  });
  it('only listens on the ports it is given', () => {
    const b = frame('vxlan8472-icmp-echo-request');
    expect(error(vxlanDecapsulate(b, [4789]))).toMatchObject({ layer: 'vxlan', offset: 36 });
    expect(error(vxlanDecapsulate(frame('udp-40000-9999')))).toMatchObject({
      layer: 'vxlan',
      offset: 36,
    });
    expect(error(vxlanDecapsulate(frame('arp-request')))).toMatchObject({
      layer: 'vxlan',
      offset: 12,
    });
    expect(error(vxlanDecapsulate(frame('icmp-echo-request')))).toMatchObject({
      layer: 'vxlan',
      offset: 23,
    });
  });
});

describe('ipip', () => {
  const inner = frame('icmp-echo-request').subarray(14);
  const outer = { src: '192.168.1.10', dst: '192.168.1.11', ttl: 64, id: 1, df: false, tos: 0 };
  it('wraps an IPv4 packet in protocol 4 and unwraps it', () => {
    const b = ipipEncapsulate(outer, inner);
    expect(b[9]).toBe(4);
    expect((b[2]! << 8) | b[3]!).toBe(20 + inner.length);
    const d = value(ipipDecapsulate(b));
    expect(d.tunnel).toEqual(outer);
    expect(toHex(d.inner)).toBe(toHex(inner));
    // The packet codec reads protocol 4 as an `ipip` transport carrying the inner packet.
    const r = parsePacket(b);
    const parsed = value(r);
    expect(parsed.ip).toEqual(outer);
    expect(parsed.l4.kind).toBe('ipip');
    expect(parsed.payloadLength).toBe(inner.length);
    // Lossless with the payload (the inner packet's bytes, its echo data included).
    expect(r.ok && toHex(emitPacket(parsed, r.payload))).toBe(toHex(b));
  });
  it('round-trips an ipip packet value through emitPacket and parsePacket', () => {
    const innerValue = value(parsePacket(inner));
    const innerBytes = emitPacket(innerValue); // payload content is not modelled: zeros
    const p: Ipv4Packet = {
      ip: { ...outer, df: true, tos: 2 },
      l4: { kind: 'ipip', inner: innerValue },
      payloadLength: innerBytes.length,
    };
    const bytes = emitPacket(p);
    // Same bytes as the byte-level encapsulator, and the value comes back equal.
    expect(toHex(bytes)).toBe(toHex(ipipEncapsulate(p.ip, innerBytes)));
    const back = parsePacket(bytes);
    expect(value(back)).toEqual(p);
    expect(back.ok && back.length).toBe(20 + inner.length);
    expect(describePacket(p)).toBe(
      `192.168.1.10 > 192.168.1.11 ipip (inner: ${describePacket(innerValue)})`,
    );
    expect(sportOf(p)).toBeUndefined();
    expect(withPorts(p, 1, 2)).toBe(p);
  });
  it('refuses an ipip packet whose inner packet is bad or does not fill the payload', () => {
    const bad = ipipEncapsulate(outer, inner);
    bad[20 + 10] = bad[20 + 10]! ^ 0xff; // the inner IPv4 header checksum
    expect(error(parsePacket(bad)).reason).toBe('bad header checksum');
    expect(parsePacket(bad, { verifyChecksums: false }).ok).toBe(true);
    const padded = new Uint8Array(inner.length + 4);
    padded.set(inner);
    const long = ipipEncapsulate(outer, padded);
    expect(error(parsePacket(long)).reason).toMatch(/inner total length \d+ differs/);
    const v = value(parsePacket(ipipEncapsulate(outer, inner)));
    expect(() => emitPacket({ ...v, payloadLength: v.payloadLength + 1 })).toThrow(RangeError);
  });
  it('refuses what is not IP-in-IP', () => {
    expect(error(ipipDecapsulate(inner)).reason).toContain('protocol 1');
    const b = ipipEncapsulate(outer, new Uint8Array([0x60, 0, 0, 0]));
    expect(error(ipipDecapsulate(b)).reason).toContain('not IPv4');
  });
});

describe('packet codec', () => {
  const syn: Ipv4Packet = {
    ip: { src: '10.0.0.1', dst: '10.96.0.10', ttl: 64, id: 1, df: true, tos: 0 },
    l4: {
      kind: 'tcp',
      sport: 40000,
      dport: 80,
      seq: 1,
      ack: 0,
      flags: tcpFlags('S'),
      window: 64240,
    },
    payloadLength: 0,
  };
  it('emits zeros for an unmodelled payload, or the payload given', () => {
    const p = { ...syn, payloadLength: 4 };
    expect(toHex(emitPacket(p).subarray(40))).toBe('00000000');
    expect(toHex(emitPacket(p, fromHex('deadbeef')).subarray(40))).toBe('deadbeef');
    expect(() => emitPacket(p, new Uint8Array(3))).toThrow(RangeError);
    expect(() => emitPacket({ ...p, payloadLength: -1 })).toThrow(RangeError);
  });
  it('rejects a bad checksum unless told not to verify', () => {
    const b = emitPacket(syn);
    b[39] = b[39]! ^ 1;
    expect(error(parsePacket(b))).toMatchObject({
      layer: 'tcp',
      offset: 36,
      reason: 'bad checksum',
    });
    expect(parsePacket(b, { verifyChecksums: false }).ok).toBe(true);
    const c = emitPacket(syn);
    c[8] = 1;
    expect(error(parsePacket(c))).toMatchObject({ layer: 'ipv4', offset: 10 });
  });
  it('names what it does not model', () => {
    const withOptions = new Uint8Array(44);
    withOptions.set(
      emitIpv4Header({
        ...syn.ip,
        protocol: 6,
        mf: false,
        fragOffset: 0,
        payloadLength: 20,
        options: '94040000',
      }),
    );
    expect(error(parsePacket(withOptions))).toMatchObject({
      offset: 20,
      reason: 'IPv4 options not modelled',
    });
    const frag = new Uint8Array(28);
    frag.set(
      emitIpv4Header({ ...syn.ip, protocol: 17, mf: true, fragOffset: 0, payloadLength: 8 }),
    );
    expect(error(parsePacket(frag)).reason).toBe('fragments not modelled');
    const gre = new Uint8Array(24);
    gre.set(
      emitIpv4Header({ ...syn.ip, protocol: 47, mf: false, fragOffset: 0, payloadLength: 4 }),
    );
    expect(error(parsePacket(gre))).toMatchObject({
      offset: 9,
      reason: 'protocol 47 not modelled',
    });
  });
  it('offsets in a frame count from the frame start', () => {
    const b = frame('tcp-40001-8080-S').slice();
    b[51] = b[51]! ^ 0xff;
    expect(error(parseFrame(b))).toMatchObject({ layer: 'tcp', offset: 50 });
    const v6 = frame('arp-request').slice();
    v6[12] = 0x86;
    v6[13] = 0xdd;
    expect(error(parseFrame(v6))).toMatchObject({
      layer: 'ethernet',
      offset: 12,
      reason: 'ethertype 0x86dd not modelled',
    });
  });
  it('an ICMP error without a payload quotes its inner packet, so NAT of the inner shows', () => {
    const err: Ipv4Packet = {
      ip: { src: '10.0.0.254', dst: '10.0.0.1', ttl: 64, id: 0, df: false, tos: 0xc0 },
      l4: { kind: 'icmp', type: 3, code: 4, mtu: 1450, inner: { ...syn, payloadLength: 1400 } },
      payloadLength: 48,
    };
    const b = emitPacket(err);
    const innerBytes = emitPacket({ ...syn, payloadLength: 1400 });
    expect(toHex(b.subarray(28))).toBe(toHex(innerBytes.subarray(0, 48)));
    expect(value(parsePacket(b))).toEqual(err);
    // After un-DNAT of the quoted packet, the quote and the ICMP checksum follow.
    const unNat: Ipv4Packet = {
      ...err,
      l4: {
        ...err.l4,
        inner: { ...syn, ip: { ...syn.ip, dst: '10.244.1.5' }, payloadLength: 1400 },
      } as Ipv4Packet['l4'],
    };
    const c = emitPacket(unNat);
    expect(toHex(c.subarray(44, 48))).toBe('0af40105');
    expect(value(parsePacket(c))).toEqual(unNat);
  });
  it('an 8-byte TCP quote keeps ports and seq; what it cut off reads as zero', () => {
    const err: Ipv4Packet = {
      ip: { src: '10.0.0.254', dst: '10.0.0.1', ttl: 64, id: 0, df: false, tos: 0xc0 },
      l4: { kind: 'icmp', type: 11, code: 0, inner: syn },
      payloadLength: 28,
    };
    const back = value(parsePacket(emitPacket(err)));
    expect(back.l4).toMatchObject({
      inner: { l4: { sport: 40000, dport: 80, seq: 1, ack: 0, window: 0, flags: tcpFlags('') } },
    });
  });
  it('the quote of a captured port-unreachable regenerates from the inner packet, up to the unmodelled payload', () => {
    const b = frame('icmp-port-unreachable').subarray(14);
    const r = parsePacket(b);
    if (!r.ok) throw new Error(r.error.reason);
    const regenerated = emitPacket(r.value);
    // IP header and UDP ports/length of the quote are the same; the UDP checksum and data were over "hello\n".
    expect(toHex(regenerated.subarray(28, 28 + 26))).toBe(toHex(b.subarray(28, 28 + 26)));
    expect(toHex(regenerated.subarray(56))).toBe('000000000000');
    expect(toHex(regenerated.subarray(54, 56))).not.toBe(toHex(b.subarray(54, 56)));
  });

  it('icmpErrorPacket builds the header Linux sent for the captured port unreachable and frag-needed', () => {
    for (const [name, spec] of [
      ['icmp-port-unreachable', { type: 3, code: 3 }],
      ['icmp-frag-needed', { type: 3, code: 4, mtu: 1280 }],
      ['icmp-time-exceeded', { type: 11, code: 0 }],
    ] as const) {
      const kernel = value(parsePacket(frame(name).subarray(14)));
      if (kernel.l4.kind !== 'icmp' || kernel.l4.inner === undefined) throw new Error(name);
      const ours = icmpErrorPacket(kernel.l4.inner, {
        ...spec,
        src: '10.250.0.2',
        id: kernel.ip.id,
      });
      expect(ours, name).toEqual(kernel);
      // Same IP header bytes (its checksum included) and ICMP header but for its checksum, which
      // covers the quote, whose payload bytes are not modelled.
      const b = emitPacket(ours!);
      const k = frame(name).subarray(14);
      expect(toHex(b.subarray(0, 22)), name).toBe(toHex(k.subarray(0, 22)));
      expect(toHex(b.subarray(24, 48)), name).toBe(toHex(k.subarray(24, 48)));
    }
  });
  it('icmpErrorPacket sends nothing when the route MTU leaves no room', () => {
    const p = value(parsePacket(frame('icmp-echo-request').subarray(14)));
    expect(
      icmpErrorPacket(p, { type: 11, code: 0, src: '1.1.1.1', id: 1, routeMtu: 48 }),
    ).toBeUndefined();
    expect(
      icmpErrorPacket(p, { type: 11, code: 0, src: '1.1.1.1', id: 1, routeMtu: 68 })?.payloadLength,
    ).toBe(40);
  });
});
