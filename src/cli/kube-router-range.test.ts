/**
 * kube-router's network policy controller lets LOCAL traffic to node ports
 * through by the API server's --service-node-port-range: the rules the twin
 * writes follow the cluster's range, not the default.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

const EXAMPLE = readFileSync(
  new URL('../../examples/policy-kube-router.yaml', import.meta.url),
  'utf8',
);

describe('kube-router node-port rules', () => {
  it.each([
    ['the default range', EXAMPLE, '30000:32767'],
    [
      'Cluster spec.serviceNodePortRange',
      EXAMPLE.replace(
        '  clusterCIDR: 10.244.0.0/16\n',
        '  clusterCIDR: 10.244.0.0/16\n  serviceNodePortRange: 20000-22767\n',
      ),
      '20000:22767',
    ],
  ])('%s', async (_name, text, ports) => {
    const io = memoryIo({ 'c.yaml': text });
    const code = await main(
      ['rules', '-f', 'c.yaml', '--node', 'node-a', '--only', 'iptables'],
      io,
    );
    expect(code, io.stderr).toBe(0);
    const lines = io.stdout
      .split('\n')
      .filter((l) => l.startsWith('-A KUBE-ROUTER-INPUT') && l.includes('node ports'));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toContain(`--dports ${ports} -j RETURN`);
  });
});
