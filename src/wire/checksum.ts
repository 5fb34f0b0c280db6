/**
 * Checksums: the Internet checksum (RFC 1071), the TCP/UDP pseudo-header
 * (RFC 9293 §3.1, RFC 768), the incremental update NAT uses (RFC 1624), and
 * CRC32c for SCTP (RFC 9260 appendix A).
 *
 * Why the incremental form matters: Linux NAT never recomputes a TCP/UDP
 * checksum from scratch; `nf_nat_ipv4_manip_pkt` and the l4 `*_manip_pkt`
 * helpers call `inet_proto_csum_replace4/2` (net/core/utils.c), which is
 * RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`. For a packet whose checksum was
 * right, that gives the same 16 bits as a full recomputation (both are the
 * one's-complement sum's non-zero representative), so `wire/` emits by full
 * recomputation and the tests check the two agree.
 */
import { ipToInt, type Ipv4 } from './addr.js';

/** Folds a 32-bit-or-wider one's-complement accumulator to 16 bits (end-around carry). */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * One's-complement sum of `bytes` as big-endian 16-bit words (an odd last
 * byte is padded with zero, RFC 1071 §4.1), added to `initial`; folded.
 */
export function onesSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = bytes.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    sum += (bytes[i]! << 8) | bytes[i + 1]!;
    // Keep the accumulator far below 2^53 without folding every word.
    if (sum > 0x7fffffff) sum = fold(sum);
  }
  if (i < n) sum += bytes[i]! << 8;
  return fold(sum);
}

/** The Internet checksum of `bytes` (RFC 1071): the complement of the one's-complement sum. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return ~onesSum(bytes, initial) & 0xffff;
}

/** One's-complement sum of the IPv4 pseudo-header: src, dst, zero, protocol, length. */
export function pseudoHeaderSum(src: Ipv4, dst: Ipv4, protocol: number, length: number): number {
  const s = ipToInt(src);
  const d = ipToInt(dst);
  return fold((s >>> 16) + (s & 0xffff) + (d >>> 16) + (d & 0xffff) + protocol + length);
}

/**
 * TCP or UDP checksum of `segment` (header with its checksum field zeroed,
 * plus payload) under the pseudo-header. For UDP the caller maps a result of
 * 0 to 0xffff (RFC 768; Linux `udp4_hwcsum`/`CSUM_MANGLED_0`).
 */
export function transportChecksum(
  src: Ipv4,
  dst: Ipv4,
  protocol: number,
  segment: Uint8Array,
): number {
  return internetChecksum(segment, pseudoHeaderSum(src, dst, protocol, segment.length));
}

/**
 * RFC 1624 eqn. 3 over 16-bit words: the checksum after the words `from`
 * were replaced by `to` (same count), without touching the rest of the data.
 */
export function checksumAdjust(
  check: number,
  from: readonly number[],
  to: readonly number[],
): number {
  if (from.length !== to.length)
    throw new RangeError('checksumAdjust: from and to differ in length');
  let sum = ~check & 0xffff;
  for (const w of from) sum += ~w & 0xffff;
  for (const w of to) sum += w & 0xffff;
  return ~fold(sum) & 0xffff;
}

/** Linux `inet_proto_csum_replace2`: a 16-bit field (a port) changed. */
export function csumReplace2(check: number, from: number, to: number): number {
  return checksumAdjust(check, [from], [to]);
}

/** Linux `inet_proto_csum_replace4`: a 32-bit field (an address) changed. */
export function csumReplace4(check: number, from: Ipv4, to: Ipv4): number {
  const f = ipToInt(from);
  const t = ipToInt(to);
  return checksumAdjust(check, [f >>> 16, f & 0xffff], [t >>> 16, t & 0xffff]);
}

const CRC32C_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    // Castagnoli polynomial 0x1EDC6F41, bit-reflected.
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32c (Castagnoli), as RFC 9260 appendix A and RFC 3720 B.4 define it. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
