/**
 * A plan that keeps built nodes (planTwin's `keep`, as `packeteye serve`
 * does) answers every trace exactly as a new instance would: on every example
 * cluster, questions asked in an order that lends kept nodes to other sets of
 * nodes and evicts them (A, B, A again, …; every question then every other
 * one backwards) give the traces a plan without kept nodes gives, defaults and
 * diagnostics included; and an instance made of nodes put back to cold holds,
 * host by host, what a new one holds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel, nsName, type ClusterModel } from '../k8s/model.js';
import { traceConnection, traceConnectionWithTwin } from '../trace/connection.js';
import { planTwin, type TwinPlan } from './index.js';

const EXAMPLES = readdirSync('examples')
  .filter((f) => f.endsWith('.yaml') && !f.startsWith('contiv-vpp'))
  .map((f) => f.replace(/\.yaml$/, ''));

function modelOf(example: string): ClusterModel {
  const path = `examples/${example}.yaml`;
  const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
  return buildModel(loaded.objects, loaded.evidence).model;
}

interface Question {
  readonly from: string;
  readonly to: string;
  readonly proto?: 'udp' | 'icmp';
}

/** Questions over the whole example: pods to Services, to other pods, nodes and outside hosts. */
function questionsOf(m: ClusterModel): Question[] {
  const pods = [...m.pods.values()].filter((p) => p.status.podIP);
  const out: Question[] = [];
  const port = (p: (typeof pods)[number]) => p.spec.containers[0]?.ports?.[0]?.containerPort ?? 80;
  for (const [i, src] of pods.entries()) {
    if (i >= 6) break;
    const from = nsName(src);
    for (const svc of [...m.services.values()].slice(0, 4))
      for (const sp of svc.spec.ports.slice(0, 1))
        out.push({
          from,
          to: `svc/${nsName(svc)}:${sp.port}`,
          ...(sp.protocol === 'UDP' ? { proto: 'udp' as const } : {}),
        });
    const other = pods[(i + 1) % pods.length]!;
    out.push({ from, to: `${nsName(other)}:${port(other)}` });
    out.push({ from, to: nsName(other), proto: 'icmp' });
    const node = [...m.nodes.keys()][i % m.nodes.size];
    if (node) out.push({ from, to: `node/${node}:10256` });
    for (const h of [...m.externalHosts.keys()].slice(0, 1))
      out.push({ from, to: `host/${h}:443` });
  }
  const node = [...m.nodes.keys()][0];
  const svc = [...m.services.values()][0];
  if (node && svc)
    out.push({ from: `node/${node}`, to: `svc/${nsName(svc)}:${svc.spec.ports[0]!.port}` });
  return out;
}

/** The trace, or the refusal's message (a question the example cannot answer is still a question). */
function answer(plan: TwinPlan, q: Question): unknown {
  try {
    return traceConnection(plan, q);
  } catch (e) {
    return { refused: (e as Error).message };
  }
}

/**
 * Everything a value holds, functions and compiled rulesets left out: Maps
 * and Sets as their entries, an object met again as the path it was first met at.
 */
function state(v: unknown, path = '$', seen = new Map<object, string>()): unknown {
  if (typeof v === 'function') return undefined;
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof WeakMap || v instanceof WeakSet) return '(weak)';
  const at = seen.get(v);
  if (at !== undefined) return { ref: at };
  seen.set(v, path);
  if (v instanceof Map)
    return [...v].map(([k, x], i) => [
      state(k, `${path}<${i}k>`, seen),
      state(x, `${path}<${i}>`, seen),
    ]);
  if (v instanceof Set) return [...v].map((x, i) => state(x, `${path}{${i}}`, seen));
  if (Array.isArray(v)) return v.map((x, i) => state(x, `${path}[${i}]`, seen));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    // A ruleset compiles its chains when packets first reach them: configuration, not state.
    if (k === 'compiled') continue;
    const x = state((v as Record<string, unknown>)[k], `${path}.${k}`, seen);
    if (x !== undefined) out[k] = x;
  }
  return { class: v.constructor?.name, ...out };
}

describe('kept instances answer as new ones', () => {
  it.each(EXAMPLES)('%s', (example) => {
    const m = modelOf(example);
    const fresh = planTwin(m);
    const kept = planTwin(m, { nodes: 2 });
    const qs = questionsOf(m);
    expect(qs.length).toBeGreaterThan(0);
    const want = qs.map((q) => answer(fresh, q));
    // Each question, then the one before it again (a reuse), with two nodes kept (evictions).
    for (let i = 0; i < qs.length; i++) {
      expect(answer(kept, qs[i]!), `${qs[i]!.from} → ${qs[i]!.to}`).toEqual(want[i]);
      if (i > 0) expect(answer(kept, qs[i - 1]!)).toEqual(want[i - 1]);
      expect(answer(kept, qs[i]!)).toEqual(want[i]);
    }
    // Every node kept: each question lends what earlier ones built, in another order.
    const all = planTwin(m, { nodes: 1000 });
    for (let i = qs.length - 1; i >= 0; i -= 2)
      expect(answer(all, qs[i]!), `${qs[i]!.from} → ${qs[i]!.to}`).toEqual(want[i]);
    for (let i = 0; i < qs.length; i++)
      expect(answer(all, qs[i]!), `${qs[i]!.from} → ${qs[i]!.to}`).toEqual(want[i]);
  });

  it.each(EXAMPLES)('%s: nodes built ahead answer as nodes built for the question', (example) => {
    const m = modelOf(example);
    const fresh = planTwin(m);
    const qs = questionsOf(m);
    const want = qs.map((q) => answer(fresh, q));
    // Every node built ahead, then the questions; and some built ahead between questions.
    const ahead = planTwin(m, { nodes: 1000 });
    let built = 0;
    while (ahead.buildAhead!()) built++;
    // flannel's defaults cannot be sliced per node: such a plan keeps (and builds ahead) one node at most.
    if (m.cluster.cni.plugin !== 'flannel') expect(built).toBe(m.nodes.size);
    expect(ahead.buildAhead!()).toBe(false);
    for (let i = 0; i < qs.length; i++)
      expect(answer(ahead, qs[i]!), `${qs[i]!.from} → ${qs[i]!.to}`).toEqual(want[i]);
    const between = planTwin(m, { nodes: 1000 });
    for (let i = qs.length - 1; i >= 0; i--) {
      expect(answer(between, qs[i]!), `${qs[i]!.from} → ${qs[i]!.to}`).toEqual(want[i]);
      between.buildAhead!();
    }
    // No more than the plan keeps: with two kept, building ahead stops at two.
    const two = planTwin(m, { nodes: 2 });
    let n = 0;
    while (two.buildAhead!()) n++;
    expect(n).toBeLessThanOrEqual(2);
    // Kept nodes too few for the cluster: none built ahead (the first question needing another would drop them all).
    if (m.nodes.size > 2) expect(n).toBe(0);
    // A plan that keeps nothing builds nothing ahead.
    expect(fresh.buildAhead!()).toBe(false);
  });

  it.each(EXAMPLES)('%s: an instance put back to cold holds what a new one holds', (example) => {
    const m = modelOf(example);
    const kept = planTwin(m, { nodes: 1000 });
    for (const q of questionsOf(m).slice(0, 8)) {
      let run;
      try {
        run = traceConnectionWithTwin(kept, q);
      } catch {
        continue;
      }
      const nodes = run.twin.nodes;
      // The kept nodes, used by the trace, lent again and put back; and a new instance of the same nodes.
      const again = kept.instantiate({ nodes, reuse: true });
      expect(again.network).not.toBe(run.twin.network);
      // The same namespaces, lent again (flannel's defaults cannot be sliced per node: once a
      // second node is built, the plan builds every instance anew).
      if (m.cluster.cni.plugin !== 'flannel')
        for (const n of nodes) expect(again.host(n)).toBe(run.twin.host(n));
      const cold = planTwin(m).instantiate({ nodes });
      expect(again.network.hosts().map((h) => h.name)).toEqual(
        cold.network.hosts().map((h) => h.name),
      );
      for (const h of cold.network.hosts())
        expect(state(again.network.requireHost(h.name)), h.name).toEqual(state(h));
    }
  });
});
