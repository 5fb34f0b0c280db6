import { describe, expect, it } from 'vitest';
import { cryptoSha256Base32, sha256Base32 } from './hash.js';

/** A deterministic generator (xorshift32), so the inputs are the same every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('sha256Base32', () => {
  it('gives node:crypto’s answer for every length around the block edges and beyond', () => {
    const next = rng(17);
    for (let len = 0; len <= 200; len++) {
      for (let k = 0; k < 5; k++) {
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(32 + Math.floor(next() * 95));
        expect([s, sha256Base32(s)]).toEqual([s, cryptoSha256Base32(s)]);
      }
    }
  });

  it.each([
    ['', '4OYMIQUY7QOBJGX3'],
    ['ns1/svc1:p80tcp', cryptoSha256Base32('ns1/svc1:p80tcp')],
    ['ns1/svc1:p80tcp10.180.0.1:80', cryptoSha256Base32('ns1/svc1:p80tcp10.180.0.1:80')],
    // Not ASCII: UTF-8 bytes, through node:crypto.
    ['ns/sérvice:ptcp', cryptoSha256Base32('ns/sérvice:ptcp')],
    ['ns/\u{1F600}tcp', cryptoSha256Base32('ns/\u{1F600}tcp')],
    ['x'.repeat(55), cryptoSha256Base32('x'.repeat(55))],
    ['x'.repeat(56), cryptoSha256Base32('x'.repeat(56))],
    ['x'.repeat(119), cryptoSha256Base32('x'.repeat(119))],
    ['x'.repeat(120), cryptoSha256Base32('x'.repeat(120))],
  ])('%j', (input, want) => {
    expect(sha256Base32(input)).toBe(want);
  });

  it('names the chains of kube-proxy’s own test (servicePortChainName of ns1/svc1:p80 tcp)', () => {
    // pkg/proxy/iptables/proxier_test.go: KUBE-SVC-XPGD46QRK7WJZT7O for ns1/svc1:p80.
    expect(sha256Base32('ns1/svc1:p80tcp')).toBe('XPGD46QRK7WJZT7O');
  });
});
