/**
 * Every example, every source (pod, node, external host) to every ref the
 * model knows, over TCP: each trace ends in a known disposition with a
 * reason when not delivered, a delivered request's receiver is the host it
 * names, and every view renders it. A crash or an unexplained end anywhere
 * in the examples fails here, not in a user's terminal.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../diag.js';
import { renderTraceHtml } from '../render/html.js';
import { renderTraceMermaid, renderTraceText, renderTraceVerbose } from '../render/trace.js';
import { traceConnection } from './connection.js';
import type { Disposition } from './model.js';
import { knownRefs } from './refs.js';
import { validateTrace } from './validate.js';
import { planExample } from '../render/testing/golden.js';

const DISPOSITIONS: readonly Disposition[] = [
  'delivered',
  'dropped',
  'rejected',
  'left-model',
  'unsupported',
];

const examples = readdirSync('examples')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

describe('every example, every pair of refs', () => {
  it.each(examples)('%s', (example) => {
    const plan = planExample(example);
    const refs = knownRefs(plan.model);
    const froms = refs.filter((r) => !r.startsWith('svc/'));
    const tos = refs.map((r) => (r.startsWith('node/') || r.startsWith('host/') ? `${r}:80` : r));
    let traced = 0;
    for (const from of froms) {
      for (const to of tos) {
        if (to.startsWith(`${from}:`) || to === from) continue;
        const what = `${example}: ${from} → ${to}`;
        let t;
        try {
          t = traceConnection(plan, { from, to, proto: 'tcp', seed: 3 });
        } catch (e) {
          // A ref the twin refuses for this pair (a UDP-only port…) is an input error, said so.
          expect(e, what).toBeInstanceOf(InputError);
          continue;
        }
        traced++;
        expect(validateTrace(t), what).toEqual([]);
        expect(DISPOSITIONS, what).toContain(t.request.disposition);
        if (t.request.disposition !== 'delivered') expect(t.request.reason, what).toBeTruthy();
        if (t.reply) expect(DISPOSITIONS, what).toContain(t.reply.disposition);
        for (const render of [renderTraceText, renderTraceVerbose, renderTraceMermaid]) {
          expect(render(t).length, what).toBeGreaterThan(0);
        }
        expect(renderTraceHtml(t), what).toContain('</html>');
      }
    }
    expect(traced).toBeGreaterThan(0);
  });
});
