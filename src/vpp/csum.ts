/**
 * VPP's incremental checksum arithmetic, as `src/vnet/ip/ip_packet.h`
 * (v18.01) writes it: `ip_csum_t` is a 64-bit accumulator, fields are loaded
 * from the packet as the CPU loads them (little-endian on x86, so a network
 * u16 `0x1f90` is the number `0x901f`), `ip_csum_update` subtracts the old
 * value and adds the new one, `ip_csum_fold` reduces to 16 bits. The NAT44
 * nodes (in2out.c, out2in.c) rewrite addresses, ports and checksums with
 * exactly these calls; the result is what VPP writes back into the header,
 * including its choice between 0x0000 and 0xffff.
 */

const U64 = (1n << 64n) - 1n;

/** A little-endian load of `n` bytes at `at` (what `ip0->dst_address.as_u32` reads on x86). */
export function loadLe(b: Uint8Array, at: number, n: 2 | 4): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

/** The little-endian store matching `loadLe`. */
export function storeLe16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >> 8) & 0xff;
}

/** `ip_csum_with_carry`. */
function withCarry(sum: bigint, x: bigint): bigint {
  const t = (sum + x) & U64;
  return (t + (t < x ? 1n : 0n)) & U64;
}

/** `ip_csum_add_even`: the checksum after a field changes from x to 0. */
function addEven(c: bigint, x: bigint): bigint {
  let d = (c - x) & U64;
  if (d > c) d = (d - 1n) & U64;
  return d;
}

/** `ip_csum_update (sum, old, new, …)` for a 16- or 32-bit field at an even offset. */
export function ipCsumUpdate(sum: bigint, oldV: bigint, newV: bigint): bigint {
  return addEven(withCarry(sum, oldV), newV);
}

/** `ip_csum_fold`: reduce the 64-bit accumulator to the 16 bits stored in the header. */
export function ipCsumFold(c: bigint): number {
  c = (c & 0xffffffffn) + (c >> 32n);
  c = (c & 0xffffn) + (c >> 16n);
  c = (c & 0xffffn) + (c >> 16n);
  c = (c & 0xffffn) + (c >> 16n);
  return Number(c);
}
