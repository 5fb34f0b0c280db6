import { describe, expect, it } from 'vitest';
import { evaluateExpectations } from '../trace/check/evaluate.js';
import { parseExpectations } from '../trace/check/expectations.js';
import { policyCatalog } from '../trace/check/targets.js';
import { buildPolicyWorld } from '../policy/world.js';
import { expectationsFor } from './check.js';
import { generateCluster } from './reach.js';

describe('the check benchmark input', () => {
  it('is a valid expectations document whose statements resolve and evaluate, holding and failing', () => {
    const sources = generateCluster({ namespaces: 6, podsPerNamespace: 5, policies: 20 });
    const text = expectationsFor(sources, 60);
    expect(text).toBe(expectationsFor(sources, 60));
    const { files, diagnostics } = parseExpectations('bench.yaml', text);
    expect(diagnostics).toEqual([]);
    const world = buildPolicyWorld(sources);
    const report = evaluateExpectations(
      {
        catalog: policyCatalog(
          world,
          sources.map((s) => s.object),
        ),
        plan: () => {
          throw new Error('no data plane');
        },
      },
      files,
    );
    expect(report.results).toHaveLength(60);
    expect(new Set(report.results.map((r) => r.statement.kind)).size).toBe(4);
    expect(report.results.some((r) => r.holds)).toBe(true);
    expect(report.results.some((r) => !r.holds)).toBe(true);
  });
});
