import { describe, expect, it } from 'vitest';
import { benchTrace, servicesOf } from './iptables-trace.js';
import { kubeProxyScaleDump } from './iptables-parse.js';

describe('iptables trace bench', () => {
  it('traces every packet of a small run to a DNAT', () => {
    const r = benchTrace(300, 40);
    expect(r.dnatted).toBe(40);
    expect(r.medianMs).toBeGreaterThan(0);
  });
  it('finds every service of the generated dump', () => {
    expect(servicesOf(kubeProxyScaleDump(50).text)).toHaveLength(50);
  });
});
