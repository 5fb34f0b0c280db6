import { it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseIptablesSave } from './parse.js';
import { serializeRuleset } from './serialize.js';
it('x', () => {
  const saved = readFileSync('test/fixtures/iptables/battery6.saved', 'utf8');
  const a = parseIptablesSave(readFileSync('test/fixtures/iptables/battery6.rules', 'utf8'), 'r');
  const b = parseIptablesSave(saved, 's');
  console.log(a.diagnostics, b.diagnostics, a.ruleset.family);
  const byT = (t: string) => Object.fromEntries(t.split(/^(?=\*)/m).map((x) => [x.slice(0, 8), x.trim()]));
  expect(byT(serializeRuleset(a.ruleset))).toEqual(byT(saved));
  expect(serializeRuleset(b.ruleset)).toBe(saved);
});
