/**
 * kube-proxy's own expected rulesets (pkg/proxy/{iptables,nftables}/proxier_test.go),
 * as the fixtures under test/fixtures/kube-proxy/ hold them: one JSON file per
 * upstream test (its proxier settings, Services and EndpointSlices) naming the
 * file of the output upstream expects.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EndpointSlice, Service } from '../../k8s/types.js';
import type { ProxyInput } from '../proxier.js';

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

export interface UpstreamGolden {
  /** The fixture's file name. */
  readonly file: string;
  /** The upstream test it was taken from. */
  readonly test: string;
  readonly input: ProxyInput;
  /** The output upstream expects, as written in its test. */
  readonly expected: string;
}

/** Every fixture in `test/fixtures/kube-proxy/<dir>`, by file name. */
export function upstreamGoldens(dir: 'golden' | 'nftables'): UpstreamGolden[] {
  const root = join(process.cwd(), 'test/fixtures/kube-proxy', dir);
  return readdirSync(root)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const g = JSON.parse(readFileSync(join(root, file), 'utf8')) as Golden;
      return {
        file,
        test: g.test,
        input: {
          ...g.inputs.proxier,
          services: g.inputs.services,
          endpointSlices: g.inputs.endpointSlices,
        },
        expected: readFileSync(join(root, g.expectedFile), 'utf8'),
      };
    });
}
