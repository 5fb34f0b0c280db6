import { describe, expect, it } from 'vitest';
import { benchTrace, generateKubeProxyDump } from './iptables-trace.js';

describe('iptables trace bench', () => {
  it('generates a dump that parses and traces every packet to a DNAT', () => {
    const r = benchTrace(500, 50);
    expect(r.dnatted).toBe(50);
    expect(r.rules).toBeGreaterThan(2500);
  });
  it('the generator is deterministic', () => {
    expect(generateKubeProxyDump(20).text).toBe(generateKubeProxyDump(20).text);
  });
});
