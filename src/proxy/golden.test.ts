/**
 * Golden tests against kube-proxy's own expected dumps (proxier_test.go),
 * compared after upstream's `sortIPTablesRules`, byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { generateKubeProxyRestore } from './iptables.js';
import { sortIptablesText } from './dump.js';
import { checkRuleJumps } from './testing/consistency.js';
import { upstreamGoldens } from './testing/upstream-goldens.js';

const goldens = upstreamGoldens('golden');

describe('kube-proxy golden dumps (upstream proxier_test.go)', () => {
  it('has fixtures', () => expect(goldens.length).toBeGreaterThanOrEqual(4));
  for (const g of goldens) {
    it(`${g.file}: ${g.test}`, () => {
      const out = generateKubeProxyRestore(g.input);
      expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(sortIptablesText(out.text)).toBe(g.expected);
      expect(checkRuleJumps(g.expected)).toEqual([]);
    });
  }
});
