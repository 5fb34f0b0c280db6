/**
 * The nftables generator against kube-proxy's own expected rulesets
 * (pkg/proxy/nftables/proxier_test.go), compared after upstream's
 * `sortNFTablesTransaction`, byte for byte.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../k8s/types.js';
import type { ProxyInput } from '../proxier.js';
import { sortNftTransaction } from '../testing/nft-sort.js';
import { generateNftablesRules } from './sync.js';

const DIR = join(process.cwd(), 'test/fixtures/kube-proxy/nftables');

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

describe('kube-proxy nftables rulesets (upstream proxier_test.go)', () => {
  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(1));
  for (const f of files) {
    const g = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Golden;
    it(`${f}: ${g.test}`, () => {
      const expected = readFileSync(join(DIR, g.expectedFile), 'utf8');
      const out = generateNftablesRules({
        ...g.inputs.proxier,
        services: g.inputs.services,
        endpointSlices: g.inputs.endpointSlices,
      });
      expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(sortNftTransaction(out.text)).toBe(sortNftTransaction(expected));
    });
  }
});
