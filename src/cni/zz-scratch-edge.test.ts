import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseIptablesSave } from '../iptables/parse.js';
import { serializeRuleset } from '../iptables/serialize.js';
it('scratch', () => {
  const text = readFileSync('/tmp/scr/in.txt', 'utf8');
  const r = parseIptablesSave(text, 'x');
  console.log(JSON.stringify(r.diagnostics, null, 1));
  console.log(serializeRuleset(r.ruleset));
});
