/**
 * The UDP header (RFC 768) and its checksum under the IPv4 pseudo-header.
 *
 * A checksum field of 0 means "none was computed": Linux VXLAN sends that
 * unless the device has `udpcsum`, and receivers accept it (net/ipv4/udp.c
 * `udp4_csum_init`). A computed checksum of 0 goes on the wire as 0xffff
 * (`CSUM_MANGLED_0`).
 */
import type { Ipv4 } from './addr.js';
import { be16, put16 } from './bytes.js';
import { transportChecksum } from './checksum.js';
import { IPPROTO, type UdpDatagram } from './packet.js';
import { checkField, fail, ok, type WireResult } from './result.js';
import type { L4ParseOptions } from './tcp.js';

export const UDP_HEADER_LEN = 8;

export interface ParsedUdp {
  readonly datagram: UdpDatagram;
  /** The length field. */
  readonly length: number;
  readonly checksum: number;
  /** True for a correct checksum and for "no checksum"; false for a quote. */
  readonly checksumOk: boolean;
  readonly payload: Uint8Array;
}

/**
 * Parses `bytes`, the IPv4 payload, as a UDP datagram. `udp_rcv` trims an IP
 * payload longer than the UDP length; the packet model cannot say that, so a
 * mismatch is reported rather than silently dropped.
 */
export function parseUdp(
  bytes: Uint8Array,
  src: Ipv4,
  dst: Ipv4,
  base = 0,
  opts: L4ParseOptions = {},
): WireResult<ParsedUdp> {
  const quoted = opts.quoted === true;
  if (bytes.length < UDP_HEADER_LEN) {
    return fail(
      'udp',
      `truncated header: ${bytes.length} of ${UDP_HEADER_LEN} bytes`,
      base + bytes.length,
    );
  }
  const length = be16(bytes, 4);
  if (length < UDP_HEADER_LEN) return fail('udp', `length ${length} below 8`, base + 4);
  if (!quoted && length !== bytes.length) {
    return fail(
      'udp',
      `length ${length} differs from the IP payload's ${bytes.length} bytes`,
      base + 4,
    );
  }
  const checksum = be16(bytes, 6);
  const datagram: UdpDatagram = {
    kind: 'udp',
    sport: be16(bytes, 0),
    dport: be16(bytes, 2),
    ...(checksum === 0 ? { noChecksum: true } : {}),
  };
  return ok({
    datagram,
    length,
    checksum,
    checksumOk:
      !quoted && (checksum === 0 || transportChecksum(src, dst, IPPROTO.UDP, bytes) === 0),
    payload: bytes.subarray(UDP_HEADER_LEN, Math.min(length, bytes.length)),
  });
}

export function emitUdp(d: UdpDatagram, src: Ipv4, dst: Ipv4, payload: Uint8Array): Uint8Array {
  checkField('udp sport', d.sport, 0xffff);
  checkField('udp dport', d.dport, 0xffff);
  checkField('udp length', UDP_HEADER_LEN + payload.length, 0xffff);
  const out = new Uint8Array(UDP_HEADER_LEN + payload.length);
  put16(out, 0, d.sport);
  put16(out, 2, d.dport);
  put16(out, 4, out.length);
  out.set(payload, UDP_HEADER_LEN);
  if (d.noChecksum !== true) put16(out, 6, transportChecksum(src, dst, IPPROTO.UDP, out) || 0xffff);
  return out;
}
