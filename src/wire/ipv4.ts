/**
 * The IPv4 header (RFC 791).
 *
 * `Ipv4Repr` is the packet model's `Ipv4Header` plus what only the wire
 * needs: the protocol, the fragment fields and the payload length (the total
 * length minus the header). Options are carried as raw hex at this level so
 * a header round-trips exactly; the packet model above (index.ts) rejects
 * them explicitly, since nothing in the twin sends or interprets them.
 */
import type { Ipv4Header } from './packet.js';
import { be16, put16, readIp, writeIp } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { checkField, fail, fromHex, ok, toHex, type WireResult } from './result.js';

export const IPV4_HEADER_LEN = 20;
export const IPV4_MAX_TOTAL_LEN = 0xffff;
/** Flag bits of the 16-bit flags/fragment-offset word (include/net/ip.h). */
export const IP_CE = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

export interface Ipv4Repr extends Ipv4Header {
  /** IANA protocol number of the payload (6 tcp, 17 udp, …). */
  readonly protocol: number;
  /** More Fragments. */
  readonly mf: boolean;
  /** Fragment offset in 8-octet units, as in the header. */
  readonly fragOffset: number;
  /** Bytes after the header: total length minus IHL × 4. */
  readonly payloadLength: number;
  /** Header options as on the wire, lower-case hex, a multiple of 4 bytes up to 40; absent when none. */
  readonly options?: string;
}

export interface ParsedIpv4 {
  readonly header: Ipv4Repr;
  /** IHL × 4. */
  readonly headerLength: number;
  /** The checksum field as received. */
  readonly checksum: number;
  /** Whether it is the one `ip_fast_csum` would accept. */
  readonly checksumOk: boolean;
  /** The payload as far as the buffer holds it (never past the total length). */
  readonly payload: Uint8Array;
  /** True when the buffer ends before the total length (only allowed for quoted headers). */
  readonly truncated: boolean;
}

export interface Ipv4ParseOptions {
  /**
   * The header is quoted inside an ICMP error (RFC 792): the datagram after it
   * may be cut short, so a total length beyond the buffer is not an error.
   */
  readonly quoted?: boolean;
}

/**
 * Parses an IPv4 header. Checks what `ip_rcv_core` (net/ipv4/ip_input.c)
 * checks before it drops: version 4, IHL ≥ 5, total length ≥ IHL × 4 and
 * within the buffer. Bytes past the total length (Ethernet padding) are not
 * part of the packet. The checksum is reported, not enforced; callers decide.
 */
export function parseIpv4(
  bytes: Uint8Array,
  base = 0,
  opts: Ipv4ParseOptions = {},
): WireResult<ParsedIpv4> {
  if (bytes.length < IPV4_HEADER_LEN) {
    return fail(
      'ipv4',
      `truncated header: ${bytes.length} of ${IPV4_HEADER_LEN} bytes`,
      base + bytes.length,
    );
  }
  const version = bytes[0]! >> 4;
  if (version !== 4) return fail('ipv4', `version ${version}, expected 4`, base);
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LEN) return fail('ipv4', `IHL ${headerLength / 4} below 5`, base);
  if (bytes.length < headerLength) {
    return fail(
      'ipv4',
      `truncated options: header is ${headerLength} bytes, have ${bytes.length}`,
      base + bytes.length,
    );
  }
  const totalLength = be16(bytes, 2);
  if (totalLength < headerLength) {
    return fail(
      'ipv4',
      `total length ${totalLength} below header length ${headerLength}`,
      base + 2,
    );
  }
  const truncated = totalLength > bytes.length;
  if (truncated && opts.quoted !== true) {
    return fail(
      'ipv4',
      `truncated: total length ${totalLength}, have ${bytes.length} bytes`,
      base + bytes.length,
    );
  }
  const frag = be16(bytes, 6);
  if (frag & IP_CE) return fail('ipv4', 'reserved flag bit set (not modelled)', base + 6);
  const checksum = be16(bytes, 10);
  const header: Ipv4Repr = {
    src: readIp(bytes, 12),
    dst: readIp(bytes, 16),
    ttl: bytes[8]!,
    id: be16(bytes, 4),
    df: (frag & IP_DF) !== 0,
    tos: bytes[1]!,
    protocol: bytes[9]!,
    mf: (frag & IP_MF) !== 0,
    fragOffset: frag & IP_OFFSET,
    payloadLength: totalLength - headerLength,
    ...(headerLength > IPV4_HEADER_LEN
      ? { options: toHex(bytes.subarray(IPV4_HEADER_LEN, headerLength)) }
      : {}),
  };
  return ok({
    header,
    headerLength,
    checksum,
    checksumOk: internetChecksum(bytes.subarray(0, headerLength)) === 0,
    payload: bytes.subarray(headerLength, Math.min(totalLength, bytes.length)),
    truncated,
  });
}

/**
 * An unfragmented IPv4 datagram (MF clear, offset 0, no options): the header
 * `h` carrying `protocol` and the length of `payload`, followed by `payload`.
 */
export function emitIpv4Datagram(h: Ipv4Header, protocol: number, payload: Uint8Array): Uint8Array {
  const header = emitIpv4Header({
    src: h.src,
    dst: h.dst,
    ttl: h.ttl,
    id: h.id,
    df: h.df,
    tos: h.tos,
    protocol,
    mf: false,
    fragOffset: 0,
    payloadLength: payload.length,
  });
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** The header bytes (with options and a correct checksum) for `h`; the payload follows it. */
export function emitIpv4Header(h: Ipv4Repr): Uint8Array {
  const options = h.options === undefined ? new Uint8Array(0) : fromHex(h.options);
  if (options.length % 4 !== 0 || options.length > 40) {
    throw new RangeError(
      `IPv4 options must be a multiple of 4 bytes up to 40, got ${options.length}`,
    );
  }
  const headerLength = IPV4_HEADER_LEN + options.length;
  checkField('ipv4 total length', headerLength + h.payloadLength, IPV4_MAX_TOTAL_LEN);
  checkField('ipv4 ttl', h.ttl, 0xff);
  checkField('ipv4 tos', h.tos, 0xff);
  checkField('ipv4 id', h.id, 0xffff);
  checkField('ipv4 protocol', h.protocol, 0xff);
  checkField('ipv4 fragment offset', h.fragOffset, IP_OFFSET);
  const out = new Uint8Array(headerLength);
  out[0] = 0x40 | (headerLength / 4);
  out[1] = h.tos;
  put16(out, 2, headerLength + h.payloadLength);
  put16(out, 4, h.id);
  put16(out, 6, (h.df ? IP_DF : 0) | (h.mf ? IP_MF : 0) | h.fragOffset);
  out[8] = h.ttl;
  out[9] = h.protocol;
  writeIp(out, 12, h.src);
  writeIp(out, 16, h.dst);
  out.set(options, IPV4_HEADER_LEN);
  put16(out, 10, internetChecksum(out));
  return out;
}
