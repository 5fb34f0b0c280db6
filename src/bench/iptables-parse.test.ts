import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/parse.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { benchParse, kubeHash, kubeProxyScaleDump } from './iptables-parse.js';

describe('iptables parse benchmark', () => {
  it('uses kube-proxy chain hashes (reference §3.2 test vectors)', () => {
    expect(kubeHash('default/kubernetes:httpstcp')).toBe('NPX46M4PTMTKRN6Y');
    expect(kubeHash('kube-system/kube-dns:dnsudp')).toBe('TCOU7JCQXEZGVUNU');
    expect(kubeHash('ns1/svc1:p80tcp10.180.0.1:80')).toBe('SXIVWICOYRO3J4NJ');
  });

  it('generates a deterministic dump that is already in iptables-save form', () => {
    const a = kubeProxyScaleDump(50);
    expect(kubeProxyScaleDump(50).text).toBe(a.text);
    const { ruleset, diagnostics } = parseIptablesSave(a.text, 'gen');
    expect(diagnostics).toEqual([]);
    expect(serializeRuleset(ruleset)).toBe(a.text);
  });

  // Speed is measured by `npm run bench`, never asserted in tests (shared
  // machines make timed tests flaky); here only the benchmark's own shape.
  it('benchParse reports the rules it parsed', () => {
    const { rules, ms } = benchParse(100);
    expect(rules).toBe(kubeProxyScaleDump(100).rules);
    expect(ms).toBeGreaterThan(0);
  });
});
