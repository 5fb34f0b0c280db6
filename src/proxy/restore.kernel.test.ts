/**
 * Real-kernel check: a generated node dump loads with `iptables-restore` into
 * a fresh network namespace, and `iptables-save` reads back the same chains
 * and rules (compared through iptables/parse.ts, which prints every rule the
 * way iptables-save does). Runs only as root with ip and iptables-restore.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../iptables/parse.js';
import type { Ruleset } from '../kernel/netfilter/types.js';
import { generateIptablesRules, type ProxyInput } from './iptables.js';

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canRun = isRoot && have('ip') && have('iptables-restore') && have('iptables-save');
// kube-proxy only writes nfacct matches when it could create the counters; we can too if `nfacct` exists.
const canNfacct = have('nfacct');
const canV6 = have('ip6tables-restore') && have('ip6tables-save');

function ns(name: string, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', name, ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** table -> chain -> rule texts (as iptables-save prints them), chains sorted. */
function shape(rs: Ruleset, tables: readonly string[]): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const t of tables) {
    const table = rs.tables.get(t as never);
    const chains: Record<string, string[]> = {};
    for (const name of [...(table?.chains.keys() ?? [])].sort()) {
      chains[name] = table!.chains.get(name)!.rules.map((r) => r.text);
    }
    out[t] = chains;
  }
  return out;
}

function goldenInput(file: string): Omit<ProxyInput, 'randomFully' | 'nfacct'> {
  const g = JSON.parse(
    readFileSync(join(process.cwd(), 'test/fixtures/kube-proxy/golden', file), 'utf8'),
  ) as {
    inputs: {
      proxier: ProxyInput;
      services: ProxyInput['services'];
      endpointSlices: ProxyInput['endpointSlices'];
    };
  };
  return {
    ...g.inputs.proxier,
    services: g.inputs.services,
    endpointSlices: g.inputs.endpointSlices,
  };
}

describe.skipIf(!canRun)('generated kube-proxy rules in a real kernel', () => {
  const cases: [string, ProxyInput][] = [
    [
      '1.31 layout (LB, FW, affinity, nfacct)',
      {
        ...goldenInput('v131_TestOverallIPTablesRules.json'),
        randomFully: true,
        nfacct: canNfacct,
      },
    ],
    [
      '1.27 layout',
      {
        ...goldenInput('v127_TestOverallIPTablesRulesWithMultipleServices.json'),
        randomFully: true,
      },
    ],
    [
      '1.31 with nodePortAddresses and tcp_be_liberal',
      {
        ...goldenInput('v131_TestOverallIPTablesRules.json'),
        nodePortAddresses: ['192.168.0.0/24'],
        interfaceAddresses: ['127.0.0.1', '192.168.0.2'],
        tcpBeLiberal: true,
        nfacct: false,
        masqueradeMark: '0x004000',
      },
    ],
  ];
  for (const [name, input] of cases) {
    it(name, () => {
      const netns = `pe-kp-${process.pid}`;
      const gen = generateIptablesRules(input);
      expect(gen.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      execFileSync('ip', ['netns', 'add', netns]);
      try {
        if (input.nfacct) {
          for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'])
            ns(netns, ['nfacct', 'add', c]);
        }
        ns(netns, ['iptables-restore'], gen.text);
        const saved = ns(netns, ['iptables-save']);
        const ours = parseIptablesSave(gen.text, 'generated');
        const theirs = parseIptablesSave(saved, 'iptables-save');
        expect(ours.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(theirs.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const tables = ['filter', 'mangle', 'nat'];
        expect(shape(theirs.ruleset, tables)).toEqual(shape(ours.ruleset, tables));
        // Sanity: the kernel really holds kube-proxy's chains.
        expect(saved).toContain(':KUBE-PROXY-CANARY - [0:0]');
        expect(saved).toMatch(/-A KUBE-SERVICES .*-j KUBE-SVC-XPGD46QRK7WJZT7O/);
      } finally {
        execFileSync('ip', ['netns', 'del', netns]);
      }
    });
  }

  it.skipIf(!canV6)('IPv6 proxier (ip6tables-restore)', () => {
    const flows = JSON.parse(
      readFileSync(
        join(process.cwd(), 'test/fixtures/kube-proxy/flows-only/v13x_TestNodePorts__7.json'),
        'utf8',
      ),
    ) as {
      inputs: { services: ProxyInput['services']; endpointSlices: ProxyInput['endpointSlices'] };
    };
    const input: ProxyInput = {
      nodeName: 'test-node',
      nodeIPs: ['192.168.0.2', '2001:db8::1'],
      clusterCIDR: 'fd00:10::/64',
      ipFamily: 'IPv6',
      nodePortAddresses: ['2001:db8::/64'],
      nfacct: false,
      services: flows.inputs.services,
      endpointSlices: flows.inputs.endpointSlices,
    };
    const gen = generateIptablesRules(input);
    expect(gen.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const netns = `pe-kp-${process.pid}`;
    execFileSync('ip', ['netns', 'add', netns]);
    try {
      ns(netns, ['ip6tables-restore'], gen.text);
      const saved = ns(netns, ['ip6tables-save']);
      const ours = parseIptablesSave(gen.text, 'generated', { family: 'ipv6' });
      const theirs = parseIptablesSave(saved, 'ip6tables-save', { family: 'ipv6' });
      expect(theirs.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const tables = ['filter', 'mangle', 'nat'];
      expect(shape(theirs.ruleset, tables)).toEqual(shape(ours.ruleset, tables));
      expect(saved).toMatch(/-j DNAT --to-destination \[fd00:10:180::1\]:80/);
    } finally {
      execFileSync('ip', ['netns', 'del', netns]);
    }
  });
});
