/**
 * The SCTP common header (RFC 9260 §3.1) and its CRC32c checksum.
 *
 * Only what NAT and conntrack touch is modelled: ports and the verification
 * tag. The chunks that follow are payload. Unlike TCP/UDP there is no
 * pseudo-header, and NAT recomputes the whole CRC (nf_nat_proto.c
 * `sctp_manip_pkt` → `sctp_compute_cksum`), which stores the complemented
 * CRC in little-endian byte order (include/net/sctp/checksum.h).
 */
import { be16, be32, put16, put32 } from './bytes.js';
import { crc32c } from './checksum.js';
import type { SctpPacket } from './packet.js';
import { checkField, fail, ok, type WireResult } from './result.js';
import type { L4ParseOptions } from './tcp.js';

export const SCTP_HEADER_LEN = 12;

export interface ParsedSctp {
  readonly packet: SctpPacket;
  /** The checksum as the CRC32c value (byte order undone). */
  readonly checksum: number;
  readonly checksumOk: boolean;
  /** The chunks. */
  readonly payload: Uint8Array;
}

/** CRC32c of the SCTP packet with its checksum field taken as zero. */
export function sctpChecksum(bytes: Uint8Array): number {
  const copy = bytes.slice();
  copy.fill(0, 8, 12);
  return crc32c(copy);
}

function readLe32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function parseSctp(
  bytes: Uint8Array,
  base = 0,
  opts: L4ParseOptions = {},
): WireResult<ParsedSctp> {
  const quoted = opts.quoted === true;
  const need = quoted ? 8 : SCTP_HEADER_LEN;
  if (bytes.length < need) {
    return fail('sctp', `truncated header: ${bytes.length} of ${need} bytes`, base + bytes.length);
  }
  const checksum = bytes.length >= SCTP_HEADER_LEN ? readLe32(bytes, 8) : 0;
  return ok({
    packet: { kind: 'sctp', sport: be16(bytes, 0), dport: be16(bytes, 2), vtag: be32(bytes, 4) },
    checksum,
    checksumOk: !quoted && sctpChecksum(bytes) === checksum,
    payload: bytes.subarray(Math.min(SCTP_HEADER_LEN, bytes.length)),
  });
}

export function emitSctp(p: SctpPacket, payload: Uint8Array): Uint8Array {
  checkField('sctp sport', p.sport, 0xffff);
  checkField('sctp dport', p.dport, 0xffff);
  checkField('sctp vtag', p.vtag, 0xffffffff);
  const out = new Uint8Array(SCTP_HEADER_LEN + payload.length);
  put16(out, 0, p.sport);
  put16(out, 2, p.dport);
  put32(out, 4, p.vtag);
  out.set(payload, SCTP_HEADER_LEN);
  const crc = crc32c(out);
  out[8] = crc & 0xff;
  out[9] = (crc >>> 8) & 0xff;
  out[10] = (crc >>> 16) & 0xff;
  out[11] = crc >>> 24;
  return out;
}
