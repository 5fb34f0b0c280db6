/**
 * Properties: parse(emit(x)) deep-equals x for arbitrary valid packets and
 * frames; parsing arbitrary or mutated bytes never throws, and whatever it
 * accepts re-emits to the same bytes (the lossless contract in index.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readPcap } from '../render/pcap.js';
import {
  emitFrame,
  emitPacket,
  intToIp,
  ipipDecapsulate,
  packetLength,
  parseArp,
  parseFrame,
  parsePacket,
  toHex,
  vxlanDecapsulate,
  vxlanEncapsulate,
  type ArpPacket,
  type Frame,
  type IcmpMessage,
  type Ipv4Packet,
  type TcpFlags,
  type Transport,
} from './index.js';
import { capturedFrames } from './testing/fixtures.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ip = u32.map(intToIp);
const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const hexWords = (max: number) =>
  fc
    .uint8Array({ minLength: 4, maxLength: 4 * max })
    .map((b) => toHex(b.subarray(0, b.length - (b.length % 4))));

const ipHeader = fc.record({
  src: ip,
  dst: ip,
  ttl: fc.integer({ min: 0, max: 255 }),
  id: u16,
  df: fc.boolean(),
  tos: fc.integer({ min: 0, max: 255 }),
});

/** Optional fields appear only when set, as parse produces them. */
const flags: fc.Arbitrary<TcpFlags> = fc
  .record({
    syn: fc.boolean(),
    ack: fc.boolean(),
    fin: fc.boolean(),
    rst: fc.boolean(),
    psh: fc.boolean(),
    urg: fc.boolean(),
    ece: fc.boolean(),
    cwr: fc.boolean(),
  })
  .map(({ ece, cwr, ...f }) => ({ ...f, ...(ece ? { ece } : {}), ...(cwr ? { cwr } : {}) }));

const tcp: fc.Arbitrary<Transport> = fc
  .record({
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags,
    window: u16,
    urgent: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
    options: fc.option(
      hexWords(10).filter((h) => h.length > 0),
      { nil: undefined },
    ),
  })
  .map(({ urgent, options, ...t }) => ({
    kind: 'tcp' as const,
    ...t,
    ...(urgent !== undefined ? { urgent } : {}),
    ...(options !== undefined ? { options } : {}),
  }));

const udp: fc.Arbitrary<Transport> = fc
  .record({ sport: u16, dport: u16, noChecksum: fc.boolean() })
  .map(({ noChecksum, ...u }) => ({
    kind: 'udp' as const,
    ...u,
    ...(noChecksum ? { noChecksum } : {}),
  }));

const sctp: fc.Arbitrary<Transport> = fc.record({
  kind: fc.constant('sctp' as const),
  sport: u16,
  dport: u16,
  vtag: u32,
});

const echo: fc.Arbitrary<Transport> = fc.record({
  kind: fc.constant('icmp' as const),
  type: fc.constantFrom(0, 8),
  code: fc.integer({ min: 0, max: 255 }),
  id: u16,
  seq: u16,
});

const simplePacket: fc.Arbitrary<Ipv4Packet> = fc.record({
  ip: ipHeader,
  l4: fc.oneof(tcp, udp, sctp, echo),
  payloadLength: fc.integer({ min: 0, max: 1500 }),
});

/** An error quoting `inner`, at least its whole transport header (else the quote is lossy by design). */
const icmpError: fc.Arbitrary<Ipv4Packet> = fc
  .record({
    ip: ipHeader,
    inner: simplePacket,
    kind: fc.constantFrom('unreach', 'fragneeded', 'timeexceeded'),
    code: fc.integer({ min: 0, max: 255 }),
    mtu: u16,
    extra: fc.integer({ min: 0, max: 600 }),
  })
  .map(({ ip, inner, kind, code, mtu, extra }) => {
    const l4: IcmpMessage =
      kind === 'fragneeded'
        ? { kind: 'icmp', type: 3, code: 4, mtu, inner }
        : kind === 'unreach'
          ? { kind: 'icmp', type: 3, code: code === 4 ? 3 : code, inner }
          : { kind: 'icmp', type: 11, code: code & 1, inner };
    const header = packetLength(inner) - inner.payloadLength;
    return { ip, l4, payloadLength: header + Math.min(extra, inner.payloadLength) };
  });

const packet = fc.oneof(simplePacket, icmpError);

const arp: fc.Arbitrary<ArpPacket> = fc.record({
  kind: fc.constant('arp' as const),
  op: fc.constantFrom('request' as const, 'reply' as const),
  senderMac: mac,
  senderIp: ip,
  targetMac: mac,
  targetIp: ip,
});

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), dst: mac, src: mac, packet }),
  fc.record({ kind: fc.constant('arp' as const), dst: mac, src: mac, arp }),
);

describe('parse(emit(x)) == x', () => {
  it('packets', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const bytes = emitPacket(p);
        expect(bytes.length).toBe(packetLength(p));
        const r = parsePacket(bytes);
        if (!r.ok) throw new Error(`${r.error.layer} at ${r.error.offset}: ${r.error.reason}`);
        expect(r.value).toEqual(p);
        expect(r.length).toBe(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('packets with their payload', () => {
    fc.assert(
      fc.property(simplePacket, fc.uint8Array({ maxLength: 300 }), (p0, payload) => {
        const p = { ...p0, payloadLength: payload.length };
        const bytes = emitPacket(p, payload);
        const r = parsePacket(bytes);
        if (!r.ok) throw new Error(r.error.reason);
        expect(r.value).toEqual(p);
        expect(toHex(r.payload)).toBe(toHex(payload));
      }),
    );
  });

  it('frames', () => {
    fc.assert(
      fc.property(frame, (f) => {
        const r = parseFrame(emitFrame(f));
        if (!r.ok) throw new Error(r.error.reason);
        expect(r.value).toEqual(f);
      }),
      { numRuns: 1000 },
    );
  });

  it('VXLAN tunnels', () => {
    fc.assert(
      fc.property(
        fc.record({
          outerSrcMac: mac,
          outerDstMac: mac,
          ip: ipHeader,
          sport: u16,
          dport: fc.constantFrom(4789, 8472),
          vni: fc.integer({ min: 0, max: 0xffffff }),
          udpChecksum: fc.boolean(),
        }),
        frame,
        (t, f) => {
          const inner = emitFrame(f);
          const d = vxlanDecapsulate(vxlanEncapsulate(t, inner));
          if (!d.ok) throw new Error(d.error.reason);
          expect(d.value.tunnel).toEqual(t);
          expect(toHex(d.value.inner)).toBe(toHex(inner));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Every parser on `bytes`: none may throw; every success must re-emit to the bytes it consumed. */
function parseEverything(bytes: Uint8Array): void {
  const p = parsePacket(bytes);
  if (p.ok) expect(toHex(emitPacket(p.value, p.payload))).toBe(toHex(bytes.subarray(0, p.length)));
  parsePacket(bytes, { verifyChecksums: false });
  const f = parseFrame(bytes);
  if (f.ok) expect(toHex(emitFrame(f.value, f.payload))).toBe(toHex(bytes.subarray(0, f.length)));
  parseFrame(bytes, { verifyChecksums: false });
  parseArp(bytes);
  vxlanDecapsulate(bytes);
  ipipDecapsulate(bytes);
  readPcap(bytes);
}

describe('untrusted bytes', () => {
  it('arbitrary bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => parseEverything(b)),
      { numRuns: 5000 },
    );
  });

  it('arbitrary bytes behind a plausible IPv4 start never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x45, 0x46),
        fc.constantFrom(1, 6, 17, 132, 4),
        fc.uint8Array({ maxLength: 120 }),
        (v, proto, rest) => {
          const b = new Uint8Array(20 + rest.length);
          b.set(rest.subarray(0, 20));
          b[0] = v;
          b[2] = (b.length >> 8) & 0xff;
          b[3] = b.length & 0xff;
          b[9] = proto;
          b.set(rest, 20);
          parseEverything(b);
          parseEverything(concat(ETH_IPV4, b));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated and truncated kernel frames never throw, and what parses is lossless', () => {
    const frames = [...capturedFrames().values()];
    fc.assert(
      fc.property(
        fc.constantFrom(...frames),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (f, edits, cut) => {
          const b = f.slice(0, f.length - (cut % 16));
          for (const [at, v] of edits) b[at % b.length] = v;
          parseEverything(b);
          parseEverything(b.subarray(14));
        },
      ),
      { numRuns: 5000 },
    );
  });
});

const ETH_IPV4 = new Uint8Array([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
