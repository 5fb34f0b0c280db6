import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diag.js';
import { parseIptablesSave } from './parse.js';
import { serializeRuleset } from './serialize.js';

const dump = (rule: string) => `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${rule}\nCOMMIT\n`;

describe('-m limit and -j NFLOG', () => {
  // What iptables-save prints for each spelling (checked against the real tool in
  // src/emulate/limit.kernel.test.ts for the ones that load).
  it.each([
    ['-m limit --limit 10/minute -j ACCEPT', '-m limit --limit 10/min -j ACCEPT'],
    ['-m limit --limit 10/m -j ACCEPT', '-m limit --limit 10/min -j ACCEPT'],
    ['-m limit --limit 2/sec --limit-burst 5 -j ACCEPT', '-m limit --limit 2/sec -j ACCEPT'],
    ['-m limit -j ACCEPT', '-m limit --limit 3/hour -j ACCEPT'],
    ['-m limit --limit 20 -j ACCEPT', '-m limit --limit 20/sec -j ACCEPT'],
    ['-j NFLOG --nflog-group 0 --nflog-threshold 1', '-j NFLOG'],
    [
      '-j NFLOG --nflog-group 7 --nflog-prefix x --nflog-range 9',
      '-j NFLOG --nflog-prefix x --nflog-group 7',
    ],
  ])('%s', (rule, saved) => {
    const p = parseIptablesSave(dump(rule), 'd.rules');
    expect(p.diagnostics).toEqual([]);
    expect(serializeRuleset(p.ruleset)).toContain(`-A INPUT ${saved}\n`);
  });

  it.each([
    ['-m limit ! --limit 1/sec -j ACCEPT', '!'],
    ['-m limit --limit 0/sec -j ACCEPT', 'zero'],
    ['-m limit --limit 1/fortnight -j ACCEPT', 'unknown unit'],
    ['-m limit --limit 100000/sec -j ACCEPT', 'too fast'],
    ['-j NFLOG --nflog-group 70000', '--nflog-group'],
    ['-j NFLOG --nflog-prefix ""', 'must not be empty'],
  ])('%s is an error with its line', (rule, want) => {
    const d = parseIptablesSave(dump(rule), 'd.rules').diagnostics.map(formatDiagnostic).join('\n');
    expect(d).toContain('d.rules:3');
    expect(d).toContain(want);
  });
});
