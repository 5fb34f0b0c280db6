/**
 * Benchmarks: `packeteye check` with 1,000 statements, and `reach --diff`
 * after one policy change, both on the 5,000-pod reach bench cluster
 * (reach.ts's generator).
 *
 * The statements are seeded and of every policy kind: `reach` and `noReach`
 * between random pods on TCP/8080, `reachOnly` from a random pod to its own
 * namespace and kube-system, `noInternetIngress` per namespace. The bench
 * cluster has no nodes, so no data-plane statement (those are one trace each,
 * measured by the trace benchmarks). The timing covers reading the
 * expectations document, resolving every ref, the grouped matrix, every
 * verdict and the explanations of the failing ones.
 */
import { evaluateExpectations } from '../trace/check/evaluate.js';
import { diffReach } from '../trace/check/diff.js';
import { parseExpectations } from '../trace/check/expectations.js';
import { policyCatalog } from '../trace/check/targets.js';
import type { SourceObject } from '../policy/model.js';
import { buildPolicyWorld } from '../policy/world.js';
import { prng } from './prng.js';
import { generateCluster } from './reach.js';

export interface CheckBenchResult {
  readonly statements: number;
  readonly pods: number;
  readonly held: number;
  readonly failed: number;
  readonly ms: number;
}

export interface DiffBenchResult {
  readonly pods: number;
  readonly opened: number;
  readonly cut: number;
  readonly ms: number;
}

/** A seeded ConnectivityExpectations document of `n` policy statements over the cluster's pods. */
export function expectationsFor(sources: readonly SourceObject[], n: number, seed = 7): string {
  const rnd = prng(seed);
  const pods = sources
    .map((s) => s.object as { kind?: string; metadata?: { name?: string; namespace?: string } })
    .filter((o) => o.kind === 'Pod')
    .map((o) => `${o.metadata!.namespace}/${o.metadata!.name}`);
  const namespaces = [...new Set(pods.map((p) => p.split('/')[0]!))];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const lines = [
    'apiVersion: packeteye.dev/v1alpha1',
    'kind: ConnectivityExpectations',
    'metadata: {name: bench}',
    'spec:',
    '  expectations:',
  ];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.4)
      lines.push(`    - reach: {from: ${pick(pods)}, to: ${pick(pods)}, port: TCP/8080}`);
    else if (r < 0.8)
      lines.push(`    - noReach: {from: ${pick(pods)}, to: ${pick(pods)}, port: TCP/8080}`);
    else if (r < 0.9) {
      const from = pick(pods);
      lines.push(
        `    - reachOnly: {from: ${from}, to: [namespace/${from.split('/')[0]}, namespace/kube-system]}`,
      );
    } else lines.push(`    - noInternetIngress: {namespace: ${pick(namespaces)}}`);
  }
  return `${lines.join('\n')}\n`;
}

export function benchCheck(n = 1000): CheckBenchResult {
  const sources = generateCluster();
  const text = expectationsFor(sources, n);
  const t0 = process.hrtime.bigint();
  const { files, diagnostics } = parseExpectations('bench.yaml', text);
  if (diagnostics.length > 0) throw new Error(diagnostics[0]!.message);
  const world = buildPolicyWorld(sources);
  const report = evaluateExpectations(
    {
      catalog: policyCatalog(
        world,
        sources.map((s) => s.object),
      ),
      plan: () => {
        throw new Error('the bench has no data-plane statements');
      },
    },
    files,
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const failed = report.results.filter((r) => !r.holds).length;
  return {
    statements: report.results.length,
    pods: world.pods.length,
    held: report.results.length - failed,
    failed,
    ms: Math.round(ms),
  };
}

/** One policy change: the first policy that has ingress rules loses its first rule. */
function changeOnePolicy(sources: readonly SourceObject[]): SourceObject[] {
  let done = false;
  return sources.map((s) => {
    const o = s.object as { kind?: string; spec?: { ingress?: unknown[] } };
    if (done || o.kind !== 'NetworkPolicy' || !o.spec?.ingress?.length) return s;
    done = true;
    return { ...s, object: { ...o, spec: { ...o.spec, ingress: o.spec.ingress.slice(1) } } };
  });
}

export function benchDiff(): DiffBenchResult {
  const before = generateCluster();
  const after = changeOnePolicy(before);
  const t0 = process.hrtime.bigint();
  const d = diffReach(buildPolicyWorld(before), buildPolicyWorld(after));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    pods: before.filter((s) => (s.object as { kind?: string }).kind === 'Pod').length,
    opened: d.opened,
    cut: d.cut,
    ms: Math.round(ms),
  };
}
