/**
 * Golden tests against kube-proxy's own expected dumps (proxier_test.go),
 * compared after upstream's `sortIPTablesRules`, byte for byte.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../k8s/types.js';
import { generateKubeProxyRestore, type ProxyInput } from './iptables.js';
import { sortIptablesText } from './dump.js';
import { checkRuleJumps } from './testing/consistency.js';

const DIR = join(process.cwd(), 'test/fixtures/kube-proxy/golden');

interface Golden {
  source: string;
  test: string;
  inputs: {
    proxier: Omit<ProxyInput, 'services' | 'endpointSlices'>;
    services: Service[];
    endpointSlices: EndpointSlice[];
  };
  expectedFile: string;
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('kube-proxy golden dumps (upstream proxier_test.go)', () => {
  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(4));
  for (const f of files) {
    const g = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Golden;
    it(`${f}: ${g.test}`, () => {
      const expected = readFileSync(join(DIR, g.expectedFile), 'utf8');
      const out = generateKubeProxyRestore({
        ...g.inputs.proxier,
        services: g.inputs.services,
        endpointSlices: g.inputs.endpointSlices,
      });
      expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(sortIptablesText(out.text)).toBe(expected);
      expect(checkRuleJumps(expected)).toEqual([]);
    });
  }
});
