/**
 * The nftables generator against kube-proxy's own expected rulesets
 * (pkg/proxy/nftables/proxier_test.go), compared after upstream's
 * `sortNFTablesTransaction`, byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { sortNftTransaction } from '../testing/nft-sort.js';
import { upstreamGoldens } from '../testing/upstream-goldens.js';
import { generateNftablesRules } from './sync.js';

const goldens = upstreamGoldens('nftables');

describe('kube-proxy nftables rulesets (upstream proxier_test.go)', () => {
  it('has fixtures', () => expect(goldens.length).toBeGreaterThanOrEqual(1));
  for (const g of goldens) {
    it(`${g.file}: ${g.test}`, () => {
      const out = generateNftablesRules(g.input);
      expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(sortNftTransaction(out.text)).toBe(sortNftTransaction(g.expected));
    });
  }
});
