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

/** SHA-256's round constants (FIPS 180-4 §4.2.2). */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INIT = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
/** The longest ASCII input hashed here (two blocks); longer or other input goes to node:crypto. */
const SHORT = 119;
const W = new Int32Array(64);
const H = new Int32Array(8);
const BLOCK = new Uint8Array(128);
const CODES = new Uint16Array(16);
const BASE32_CODES = Uint8Array.from(BASE32_ALPHABET, (c) => c.charCodeAt(0));

/** One 64-byte block of BLOCK at `off` into H (FIPS 180-4 §6.2.2). */
function compress(off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = (BLOCK[j]! << 24) | (BLOCK[j + 1]! << 16) | (BLOCK[j + 2]! << 8) | BLOCK[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/**
 * The first 80 bits of SHA-256 of a short ASCII string as 16 base32
 * characters, without a Buffer per call (chain names are hashed by the
 * ten thousand); undefined for input it leaves to node:crypto.
 */
function shortSha256Base32(input: string): string | undefined {
  const n = input.length;
  if (n > SHORT) return undefined;
  for (let i = 0; i < n; i++) {
    const ch = input.charCodeAt(i);
    if (ch > 127) return undefined;
    BLOCK[i] = ch;
  }
  const end = n + 9 <= 64 ? 64 : 128;
  BLOCK[n] = 0x80;
  BLOCK.fill(0, n + 1, end - 4);
  const bits = n * 8;
  BLOCK[end - 4] = bits >>> 24;
  BLOCK[end - 3] = (bits >>> 16) & 255;
  BLOCK[end - 2] = (bits >>> 8) & 255;
  BLOCK[end - 1] = bits & 255;
  H.set(INIT);
  compress(0);
  if (end === 128) compress(64);
  // 80 bits = H[0], H[1] and the top 16 bits of H[2], five at a time.
  const h0 = H[0]! >>> 0;
  const h1 = H[1]! >>> 0;
  const h2 = H[2]! >>> 0;
  for (let k = 0; k < 16; k++) {
    const bit = k * 5;
    let v: number;
    if (bit <= 27) v = h0 >>> (27 - bit);
    else if (bit < 32) v = (h0 << (bit - 27)) | (h1 >>> (59 - bit));
    else if (bit <= 59) v = h1 >>> (59 - bit);
    else v = (h1 << (bit - 59)) | (h2 >>> (91 - bit));
    CODES[k] = BASE32_CODES[v & 31]!;
  }
  return String.fromCharCode.apply(null, CODES as unknown as number[]);
}

/** base32(sha256(input)), first 16 characters: the first 80 bits, which need no padding. */
export function sha256Base32(input: string): string {
  return shortSha256Base32(input) ?? base32Std(sha256(input).subarray(0, 10));
}

/** `sha256Base32` through node:crypto alone (the short-input path is checked against it). */
export function cryptoSha256Base32(input: string): string {
  return base32Std(sha256(input).subarray(0, 10));
}
