/**
 * validateTrace finds each broken invariant: a valid trace (a ClusterIP
 * connection across nodes, with a DNAT, a reply and every alternative) passes, and each mutation of it is
 * named. Every golden and sweep trace is validated where it is built
 * (render/testing/golden.ts, sweep.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { planTwin } from '../twin/index.js';
import { buildModel } from '../k8s/model.js';
import { loadDocuments } from '../k8s/load.js';
import { readFileSync } from 'node:fs';
import { traceConnection } from './connection.js';
import type { ConnectionTrace, Hop, Leg, StepView } from './model.js';
import { validateTrace } from './validate.js';

const path = 'examples/two-nodes.yaml';
const plan = planTwin(
  buildModel(loadDocuments([{ path, text: readFileSync(path, 'utf8') }]).objects).model,
);
const valid = traceConnection(plan, {
  from: 'default/frontend',
  to: 'svc/default/store-be:80',
  allPaths: true,
});

/** The trace with the request's steps passed through `f`. */
function withSteps(t: ConnectionTrace, f: (s: StepView) => StepView): ConnectionTrace {
  const hops: Hop[] = t.request.hops.map((h) => ({ ...h, steps: h.steps.map(f) }));
  return { ...t, request: { ...t.request, hops } };
}
function withRequest(t: ConnectionTrace, l: Partial<Leg>): ConnectionTrace {
  return { ...t, request: { ...t.request, ...l } };
}
const firstOf = (kind: StepView['kind']) => (f: (s: StepView) => StepView) => {
  let done = false;
  return (s: StepView): StepView => {
    if (done || s.kind !== kind) return s;
    done = true;
    return f(s);
  };
};

const CASES: readonly {
  readonly name: string;
  readonly mutate: (t: ConnectionTrace) => ConnectionTrace;
  readonly problem: RegExp;
}[] = [
  {
    name: 'a detail key the model does not document',
    mutate: (t) =>
      withSteps(
        t,
        firstOf('rule')(
          (s) => ({ ...s, detail: { ...s.detail, verdict: 'x' } }) as unknown as StepView,
        ),
      ),
    problem: /\(rule\): detail\.verdict is not in the model/,
  },
  {
    name: 'a detail field of the wrong type',
    mutate: (t) =>
      withSteps(
        t,
        firstOf('rule')(
          (s) => ({ ...s, detail: { ...s.detail, index: '1' } }) as unknown as StepView,
        ),
      ),
    problem: /\(rule\): detail\.index is string, not number/,
  },
  {
    name: 'a required detail field missing',
    mutate: (t) =>
      withSteps(
        t,
        firstOf('hook')(
          (s) => ({ ...s, detail: { hook: 'PREROUTING', table: 'nat', mark: '0x0' } }) as StepView,
        ),
      ),
    problem: /\(hook\): detail\.priority is missing/,
  },
  {
    name: 'an unknown step kind',
    mutate: (t) =>
      withSteps(
        t,
        firstOf('route')((s) => ({ ...s, kind: 'teleport' }) as unknown as StepView),
      ),
    problem: /unknown step kind "teleport"/,
  },
  {
    name: 'a drop without a reason',
    mutate: (t) => withRequest(t, { disposition: 'dropped', reason: undefined }),
    problem: /^request: dropped without a reason$/,
  },
  {
    name: 'a reason outside DROP_REASONS',
    mutate: (t) => withRequest(t, { disposition: 'dropped', reason: 'gremlins' }),
    problem: /reason "gremlins" is not a DROP_REASONS name/,
  },
  {
    name: 'a disposition outside the model',
    mutate: (t) => withRequest(t, { disposition: 'vanished' as Leg['disposition'] }),
    problem: /disposition "vanished" is not one of the model's/,
  },
  {
    name: 'an end on a host no hop is on',
    mutate: (t) => withRequest(t, { at: 'default/nowhere' }),
    problem: /ended at default\/nowhere/,
  },
  {
    name: 'two hops in a row on one host',
    mutate: (t) =>
      withRequest(t, {
        hops: [t.request.hops[0]!, { ...t.request.hops[0]! }, ...t.request.hops.slice(1)],
      }),
    problem: /the same host as the hop before/,
  },
  {
    name: 'a rewrite no step made',
    mutate: (t) => ({ ...t, rewrites: [...t.rewrites, t.rewrites[0]!] }),
    problem: /rewrites: \d+ for the request, its steps made \d+/,
  },
  {
    name: 'alternatives that do not sum to 1',
    mutate: (t) => ({
      ...t,
      alternatives: t.alternatives!.map((a, i) =>
        i === 0 ? { ...a, probability: a.probability / 2 } : a,
      ),
    }),
    problem: /alternatives: probabilities sum to/,
  },
  {
    name: 'a source port out of range',
    mutate: (t) => ({ ...t, sport: 70000 }),
    problem: /^sport 70000 is not a port$/,
  },
];

describe('validateTrace', () => {
  it('passes a valid trace with a DNAT, a reply and alternatives', () => {
    expect(valid.rewrites.length).toBeGreaterThan(0);
    expect(valid.reply).not.toBeNull();
    expect(valid.alternatives!.length).toBeGreaterThan(1);
    expect(validateTrace(valid)).toEqual([]);
  });
  it.each(CASES)('finds $name', ({ mutate, problem }) => {
    const problems = validateTrace(mutate(valid));
    expect(
      problems.some((p) => problem.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });
});
