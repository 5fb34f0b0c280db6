import { describe, expect, it } from 'vitest';
import { benchNft, kubeProxyNftScale } from './nft.js';

describe('nftables bench', () => {
  it('traces every packet of a small run to its own endpoint', () => {
    const r = benchNft(300, 40, 1);
    expect(r.reached).toBe(40);
    expect(r.rules).toBe(300 * 4 + 23);
  });
  it('writes a deterministic ruleset', () => {
    expect(kubeProxyNftScale(20).text).toBe(kubeProxyNftScale(20).text);
  });
});
