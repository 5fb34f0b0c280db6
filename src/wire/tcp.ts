/**
 * The TCP header (RFC 9293 §3.1) and its checksum under the IPv4
 * pseudo-header.
 *
 * Options are carried as raw bytes (hex) and never interpreted: the twin
 * does not negotiate MSS or window scaling, but a SYN captured from Linux
 * (MSS, SACK-permitted, timestamps, window scale) must round-trip. The four
 * bits after the data offset (three reserved, and AE/NS of RFC 3540/AccECN)
 * are not modelled: they parse as ignored and emit as zero.
 */
import type { Ipv4 } from './addr.js';
import { be16, be32, put16, put32 } from './bytes.js';
import { transportChecksum } from './checksum.js';
import { IPPROTO, type TcpFlags, type TcpSegment } from './packet.js';
import { checkField, fail, fromHex, ok, toHex, type WireResult } from './result.js';

export const TCP_HEADER_LEN = 20;

/** Flag bits of byte 13 (include/net/tcp.h TCPHDR_*). */
export const TCPHDR = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export function flagsToByte(f: TcpFlags): number {
  return (
    (f.fin ? TCPHDR.FIN : 0) |
    (f.syn ? TCPHDR.SYN : 0) |
    (f.rst ? TCPHDR.RST : 0) |
    (f.psh ? TCPHDR.PSH : 0) |
    (f.ack ? TCPHDR.ACK : 0) |
    (f.urg ? TCPHDR.URG : 0) |
    (f.ece === true ? TCPHDR.ECE : 0) |
    (f.cwr === true ? TCPHDR.CWR : 0)
  );
}

/** ECE and CWR appear only when set, so the common flags compare equal to `tcpFlags('S')`. */
export function flagsFromByte(b: number): TcpFlags {
  return {
    syn: (b & TCPHDR.SYN) !== 0,
    ack: (b & TCPHDR.ACK) !== 0,
    fin: (b & TCPHDR.FIN) !== 0,
    rst: (b & TCPHDR.RST) !== 0,
    psh: (b & TCPHDR.PSH) !== 0,
    urg: (b & TCPHDR.URG) !== 0,
    ...(b & TCPHDR.ECE ? { ece: true } : {}),
    ...(b & TCPHDR.CWR ? { cwr: true } : {}),
  };
}

/** Header length of `seg` on the wire: 20 plus its options. */
export function tcpHeaderLength(seg: TcpSegment): number {
  return TCP_HEADER_LEN + (seg.options === undefined ? 0 : seg.options.length / 2);
}

export interface ParsedTcp {
  readonly segment: TcpSegment;
  /** Data offset × 4 as the header says (even when a quote cut the options off). */
  readonly headerLength: number;
  readonly checksum: number;
  /** Checksum verified over the whole segment; false when the segment is a truncated quote. */
  readonly checksumOk: boolean;
  readonly payload: Uint8Array;
  /** The options were cut off by a quote and are missing from `segment`. */
  readonly optionsTruncated: boolean;
}

export interface L4ParseOptions {
  /** The segment is the start of a datagram quoted in an ICMP error: it may end early. */
  readonly quoted?: boolean;
}

/** Parses `bytes`, the IPv4 payload, as a TCP segment from `src` to `dst`. */
export function parseTcp(
  bytes: Uint8Array,
  src: Ipv4,
  dst: Ipv4,
  base = 0,
  opts: L4ParseOptions = {},
): WireResult<ParsedTcp> {
  const quoted = opts.quoted === true;
  const need = quoted ? 8 : TCP_HEADER_LEN;
  if (bytes.length < need) {
    return fail('tcp', `truncated header: ${bytes.length} of ${need} bytes`, base + bytes.length);
  }
  const at = (i: number): number => bytes[i] ?? 0;
  const headerLength = bytes.length > 12 ? (at(12) >> 4) * 4 : TCP_HEADER_LEN;
  if (headerLength < TCP_HEADER_LEN)
    return fail('tcp', `data offset ${headerLength / 4} below 5`, base + 12);
  if (at(12) & 0x0f) return fail('tcp', 'reserved/AE bits set (not modelled)', base + 12);
  const complete = bytes.length >= headerLength;
  if (!complete && !quoted) {
    return fail(
      'tcp',
      `truncated options: data offset says ${headerLength} bytes, have ${bytes.length}`,
      base + bytes.length,
    );
  }
  const full = bytes.length >= TCP_HEADER_LEN;
  const urgent = full ? be16(bytes, 18) : 0;
  const optionsTruncated = !complete && headerLength > TCP_HEADER_LEN;
  const segment: TcpSegment = {
    kind: 'tcp',
    sport: be16(bytes, 0),
    dport: be16(bytes, 2),
    seq: be32(bytes, 4),
    ack: bytes.length >= 12 ? be32(bytes, 8) : 0,
    flags: flagsFromByte(at(13)),
    window: bytes.length >= 16 ? be16(bytes, 14) : 0,
    ...(urgent !== 0 ? { urgent } : {}),
    ...(complete && headerLength > TCP_HEADER_LEN
      ? { options: toHex(bytes.subarray(TCP_HEADER_LEN, headerLength)) }
      : {}),
  };
  const checksum = bytes.length >= 18 ? be16(bytes, 16) : 0;
  return ok({
    segment,
    headerLength,
    checksum,
    checksumOk: !quoted && transportChecksum(src, dst, IPPROTO.TCP, bytes) === 0,
    payload: complete ? bytes.subarray(headerLength) : new Uint8Array(0),
    optionsTruncated,
  });
}

/** The whole segment (header, options, payload) with its checksum. */
export function emitTcp(seg: TcpSegment, src: Ipv4, dst: Ipv4, payload: Uint8Array): Uint8Array {
  const options = seg.options === undefined ? new Uint8Array(0) : fromHex(seg.options);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new RangeError(
      `TCP options must be a multiple of 4 bytes up to 40, got ${options.length}`,
    );
  }
  checkField('tcp sport', seg.sport, 0xffff);
  checkField('tcp dport', seg.dport, 0xffff);
  checkField('tcp seq', seg.seq, 0xffffffff);
  checkField('tcp ack', seg.ack, 0xffffffff);
  checkField('tcp window', seg.window, 0xffff);
  checkField('tcp urgent pointer', seg.urgent ?? 0, 0xffff);
  const headerLength = TCP_HEADER_LEN + options.length;
  const out = new Uint8Array(headerLength + payload.length);
  put16(out, 0, seg.sport);
  put16(out, 2, seg.dport);
  put32(out, 4, seg.seq);
  put32(out, 8, seg.ack);
  out[12] = (headerLength / 4) << 4;
  out[13] = flagsToByte(seg.flags);
  put16(out, 14, seg.window);
  put16(out, 18, seg.urgent ?? 0);
  out.set(options, TCP_HEADER_LEN);
  out.set(payload, headerLength);
  put16(out, 16, transportChecksum(src, dst, IPPROTO.TCP, out));
  return out;
}
