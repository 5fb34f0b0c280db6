import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/index.js';
import { calicoVethName, FELIX_MARK, lengthLimitedId, renderCalicoFilter } from './calico.js';
import { buildPolicyWorld } from './world.js';
import { sourcesFromYaml, type CorpusCase } from './testing/yaml.js';

const corpus = (f: string) => {
  const c = JSON.parse(
    readFileSync(join(import.meta.dirname, '../../test/fixtures/netpol', f), 'utf8'),
  ) as CorpusCase;
  return buildPolicyWorld(sourcesFromYaml(c.objects, f));
};

describe('Calico (Felix iptables) rendering', () => {
  it('names interfaces and chains as Calico does', () => {
    expect(calicoVethName('x', 'a')).toMatch(/^cali[0-9a-f]{11}$/);
    expect(calicoVethName('x', 'a')).not.toBe(calicoVethName('x', 'b'));
    expect(lengthLimitedId('cali-pri-', 'kns.default')).toBe('cali-pri-kns.default');
    const long = lengthLimitedId('cali-pi-', 'x/knp.default.allow-client-a-via-cidr-egress-rule');
    expect(long).toMatch(/^cali-pi-_[A-Za-z0-9_-]{19}$/);
    expect(long).toHaveLength(28);
  });

  it('renders the structure of endpoint, policy and profile chains', () => {
    const w = corpus('e2e_egress_cidr_except.json');
    const r = renderCalicoFilter(w, w.pods);
    const text = r.iptablesSave;
    const fw = `cali-fw-${r.interfaces.get('x/a')}`;
    const lines = text.split('\n').filter((l) => l.startsWith(`-A ${fw} `));
    expect(lines.slice(0, 3)).toEqual([
      `-A ${fw} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${fw} -m conntrack --ctstate INVALID -j DROP`,
      `-A ${fw} -j MARK --set-xmark 0x0/0x30000`,
    ]);
    expect(lines).toContain(
      `-A ${fw} -m comment --comment "Drop if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP`,
    );
    // The ipBlock with except: a negated CIDR block on the scratch bit, then the allow.
    const po = lengthLimitedId('cali-po-', 'x/knp.default.allow-client-a-via-cidr-egress-rule');
    expect(text.split('\n').filter((l) => l.startsWith(`-A ${po} `))).toEqual([
      `-A ${po} -m comment --comment "Policy x/knp.default.allow-client-a-via-cidr-egress-rule egress" -j MARK --set-xmark 0x40000/0xc0000`,
      `-A ${po} -d 10.0.1.2/32 -j MARK --set-xmark 0x0/0x40000`,
      `-A ${po} -d 0.0.0.0/4 -m mark --mark 0x40000/0x40000 -j MARK --set-xmark 0x10000/0x10000`,
      `-A ${po} -m mark --mark 0x10000/0x10000 -j RETURN`,
    ]);
    // x/b has no egress policy: its fw chain goes straight to the profiles.
    const fwB = `cali-fw-${r.interfaces.get('x/b')}`;
    expect(text).not.toContain(`-A ${fwB} -m comment --comment "Start of tier default"`);
    expect(text).toContain(`-A ${fwB} -j cali-pro-kns.x`);
    expect(FELIX_MARK.accept).toBe(0x10000);
  });

  it('uses IP sets for selectors and named ports, and parses cleanly either way', () => {
    const w = corpus('e2e_ingress_one_named_port.json');
    const r = renderCalicoFilter(w, w.pods);
    expect(r.ipsets.length).toBeGreaterThan(0);
    expect(r.ipsets.every((s) => /^cali40[sn]:[A-Za-z0-9_-]{23}$/.test(s.name))).toBe(true);
    const named = r.ipsets.find((s) => s.type === 'hash:ip,port')!;
    expect(named.members.every((m) => /^10\.0\.\d\.\d,tcp:81$/.test(m))).toBe(true);
    expect(r.iptablesSave).toContain(`-m set --match-set ${named.name} dst,dst`);
    expect(r.ipsetSave).toContain(`create ${named.name} hash:ip,port family inet`);
    const ex = renderCalicoFilter(w, w.pods, { ipsets: 'expand' });
    expect(ex.iptablesSave).not.toContain('--match-set');
    expect(ex.ipsetSave).toBe('');
    const parsed = parseIptablesSave(ex.iptablesSave, 'calico.rules');
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.ruleset.tables.get('filter')!.chains.get('cali-FORWARD')!.rules).toHaveLength(3);
  });

  it('says that AdminNetworkPolicy is not rendered', () => {
    const w = buildPolicyWorld(
      sourcesFromYaml(
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}\n',
      ),
    );
    expect(renderCalicoFilter(w, []).diagnostics.map((d) => d.code)).toEqual([
      'calico-anp-not-rendered',
    ]);
  });
});
