import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluatePair } from './evaluate.js';
import { computeMatrix } from './matrix.js';
import { buildPolicyWorld } from './world.js';
import { sourcesFromYaml, type CorpusCase } from './testing/yaml.js';

const dir = join(import.meta.dirname, '../../test/fixtures/netpol');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('Kubernetes e2e NetworkPolicy expectations (test/fixtures/netpol)', () => {
  it('has all 58 corpus files', () => {
    expect(files).toHaveLength(58);
  });

  for (const f of files) {
    it(f, () => {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CorpusCase;
      const world = buildPolicyWorld(sourcesFromYaml(c.objects, f));
      expect(world.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const m = computeMatrix(world);
      const mismatches: string[] = [];
      let checked = 0;
      for (const exp of c.expected) {
        for (const [from, row] of Object.entries(exp.allowed)) {
          for (const [to, want] of Object.entries(row)) {
            if (want === null) continue;
            const a = m.indexOf(from);
            const b = m.indexOf(to);
            expect(a, `pod ${from}`).toBeDefined();
            expect(b, `pod ${to}`).toBeDefined();
            const grouped = m.allowed(a!, b!).has(exp.port.protocol, exp.port.port);
            const direct = evaluatePair(world, m.endpoints[a!]!, m.endpoints[b!]!).allowed.has(
              exp.port.protocol,
              exp.port.port,
            );
            checked++;
            if (grouped !== want || direct !== want) {
              mismatches.push(
                `${exp.port.protocol}/${exp.port.port} ${from} -> ${to}: want ${want}, matrix ${grouped}, pair ${direct}`,
              );
            }
          }
        }
      }
      expect(mismatches).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    });
  }
});
