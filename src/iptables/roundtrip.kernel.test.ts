/**
 * Real-kernel check of the parser and serialiser: load a battery of rules
 * (every modelled match and target, in kube-proxy's and people's spellings)
 * with `iptables-restore` into a fresh network namespace, read it back with
 * `iptables-save`, and require that
 *  - serialize(parse(saved)) == saved, byte for byte (minus `#` lines);
 *  - parsing the restore input gives the same rules as parsing the saved text
 *    (the parser normalises exactly as the kernel and iptables-save do);
 *  - the saved text still equals test/fixtures/iptables/battery.saved, which
 *    the non-root unit tests rely on.
 * The same for iptables-legacy when its tools work here, and for
 * examples/iptables/kube-proxy-node.rules (made from real iptables-save output).
 * Runs only as root with ip, iptables-restore and iptables-save; the namespace
 * is deleted in afterAll.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunKernelTests, has as have } from '../emulate/testing/kernel.js';
import { parseIptablesSave, parseRule, serializeRuleset } from './index.js';
import {
  byTable,
  flushAll as flushTables,
  inNs as inNamespace,
  model,
  read,
  withoutComments,
} from './testing/roundtrip.js';

const canRun = canRunKernelTests(['ip', 'iptables-restore', 'iptables-save']);
const NS = `pe-ipt-${process.pid}`;

const inNs = (args: string[], input?: string): string => inNamespace(NS, args, input);
const flushAll = (save: string, restore: string): void => flushTables(NS, save, restore);

interface CanonicalCase {
  readonly input: string;
  readonly saved: string;
  readonly kernel?: boolean;
  readonly nft?: boolean;
}

/** The table a case's target may live in. */
function tableFor(spec: string): string {
  if (/-j (DNAT|SNAT|MASQUERADE|REDIRECT)\b/.test(spec)) return 'nat';
  if (/-j (MARK|CONNMARK)\b/.test(spec)) return 'mangle';
  if (/-j (NOTRACK|CT)\b/.test(spec)) return 'raw';
  return 'filter';
}

interface Backend {
  readonly name: string;
  readonly save: string;
  readonly restore: string;
  readonly usable: boolean;
}

function legacyUsable(): boolean {
  if (!canRun || !have('iptables-legacy-restore') || !have('iptables-legacy-save')) return false;
  try {
    execFileSync('ip', ['netns', 'exec', NS, 'iptables-legacy-restore'], {
      input: '*filter\nCOMMIT\n',
      stdio: ['pipe', 'ignore', 'ignore'],
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!canRun)('iptables-save roundtrip on the real kernel', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      // already gone
    }
  });

  const backends = (): Backend[] => [
    { name: 'nf_tables', save: 'iptables-save', restore: 'iptables-restore', usable: true },
    {
      name: 'legacy',
      save: 'iptables-legacy-save',
      restore: 'iptables-legacy-restore',
      usable: legacyUsable(),
    },
  ];

  for (const which of ['nf_tables', 'legacy']) {
    it(`battery through iptables-restore and iptables-save (${which})`, (ctx) => {
      const b = backends().find((x) => x.name === which)!;
      if (!b.usable) {
        ctx.skip();
        return;
      }
      const input = read('test/fixtures/iptables/battery.rules');
      flushAll(b.save, b.restore);
      inNs([b.restore], input);
      const saved = withoutComments(inNs([b.save]));
      try {
        const parsedSaved = parseIptablesSave(saved, 'saved');
        expect(parsedSaved.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([]);
        // 1. serialize(parse(saved)) == saved
        expect(serializeRuleset(parsedSaved.ruleset)).toBe(saved);
        // 2. the restore input means the same rules as what the kernel holds
        const parsedInput = parseIptablesSave(input, 'battery.rules');
        expect(parsedInput.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([]);
        expect(model(parsedInput.ruleset)).toEqual(model(parsedSaved.ruleset));
        // 3. the fixture the unit tests use is still what the kernel says
        expect(byTable(saved)).toEqual(byTable(read('test/fixtures/iptables/battery.saved')));
      } finally {
        flushAll(b.save, b.restore);
      }
    });
  }

  for (const which of ['nf_tables', 'legacy']) {
    it(`every case of canonical.json is what iptables-save prints (${which})`, (ctx) => {
      const b = backends().find((x) => x.name === which)!;
      if (!b.usable) {
        ctx.skip();
        return;
      }
      const cases = (
        JSON.parse(read('test/fixtures/iptables/canonical.json')) as { cases: CanonicalCase[] }
      ).cases.filter((c) => c.kernel !== false && (which === 'legacy' || c.nft !== false));
      // Each case in its own unreferenced chain of the table its target needs.
      const byTableName = new Map<string, string[]>();
      const declared = new Set<string>();
      cases.forEach((c, k) => {
        const table = tableFor(c.input);
        const lines = byTableName.get(table) ?? [];
        // Chains the case jumps to must exist, in that table.
        const to = /(?:^| )(?:-j|-g|--jump|--goto) (KUBE-[A-Z0-9-]+)/.exec(c.input)?.[1];
        if (to && !declared.has(`${table}/${to}`)) {
          declared.add(`${table}/${to}`);
          lines.unshift(`:${to} - [0:0]`);
        }
        lines.push(`:C${k} - [0:0]`, `-A C${k} ${c.input}`);
        byTableName.set(table, lines);
      });
      const restore = [...byTableName]
        .map(([t, lines]) => `*${t}\n${lines.join('\n')}\nCOMMIT\n`)
        .join('');
      flushAll(b.save, b.restore);
      try {
        inNs([b.restore], restore);
        const saved = parseIptablesSave(inNs([b.save]), 'saved');
        expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const got = cases.map((c, k) => {
          const chain = saved.ruleset.tables.get(tableFor(c.input) as never)!.chains.get(`C${k}`)!;
          return { input: c.input, saved: chain.rules.map((r) => r.text).join('\n') };
        });
        expect(got).toEqual(cases.map((c) => ({ input: c.input, saved: c.saved })));
        for (const c of cases) expect(parseRule(c.input).rule.text).toBe(c.saved);
      } finally {
        flushAll(b.save, b.restore);
      }
    });
  }

  it('examples/iptables/kube-proxy-node.rules is exactly what iptables-save prints for it', () => {
    const example = read('examples/iptables/kube-proxy-node.rules');
    flushAll('iptables-save', 'iptables-restore');
    try {
      inNs(['iptables-restore'], example);
      const saved = withoutComments(inNs(['iptables-save']));
      expect(byTable(saved)).toEqual(byTable(withoutComments(example)));
      const parsed = parseIptablesSave(example, 'kube-proxy-node.rules');
      expect(parsed.diagnostics).toEqual([]);
      expect(byTable(serializeRuleset(parsed.ruleset))).toEqual(byTable(saved));
    } finally {
      flushAll('iptables-save', 'iptables-restore');
    }
  });

  it('a rule the kernel refuses is an error for packeteye too', () => {
    // multiport without -p: iptables-restore says "multiport needs `-p tcp'…".
    const bad = '*filter\n-A INPUT -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n';
    expect(() => inNs(['iptables-restore'], bad)).toThrow();
    const { diagnostics } = parseIptablesSave(bad, 'bad');
    expect(diagnostics).toEqual([expect.objectContaining({ severity: 'error', line: 2 })]);
  });
});
