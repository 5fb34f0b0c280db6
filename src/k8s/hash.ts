/**
 * The name hash Kubernetes components share: the first 16 characters of
 * base32(sha256(input)) — kube-proxy's chain names (proxy/hash.ts) and
 * kube-router's (policy/kube-router.ts) — short enough for iptables' 28.
 */
import * as crypto from 'node:crypto';

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with padding, as Go's `base32.StdEncoding.EncodeToString`. */
export function base32Std(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** One-shot `crypto.hash` (Node 20.12+), else a Hash object. */
const sha256: (input: string) => Uint8Array =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (input) => crypto.hash('sha256', input, 'buffer')
    : (input) => crypto.createHash('sha256').update(input, 'utf8').digest();

/** base32(sha256(input)), first 16 characters: the first 80 bits, which need no padding. */
export function sha256Base32(input: string): string {
  return base32Std(sha256(input).subarray(0, 10));
}
