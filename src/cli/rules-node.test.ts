import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planExample } from '../render/testing/golden.js';
import { NO_NETFILTER, renderRules } from './rules.js';

const EXAMPLES = readdirSync('examples')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

describe('rules --node X builds only X', () => {
  for (const example of EXAMPLES) {
    it(`${example}: every node's listing is the one of the whole twin`, () => {
      const plan = planExample(example);
      const whole = plan.instantiate();
      for (const node of plan.model.nodes.keys()) {
        const full = renderRules(whole, node, undefined, node);
        expect(renderRules(plan.instantiate({ nodes: [node] }), node, undefined, node), node).toBe(
          full,
        );
        // The listings the rules cannot change, from a node built without any iptables.
        const bare = plan.instantiate({ nodes: [node], netfilter: false });
        for (const only of NO_NETFILTER)
          expect(renderRules(bare, node, only, node), `${node} --only ${only}`).toBe(
            renderRules(whole, node, only, node),
          );
      }
    });
  }
});
