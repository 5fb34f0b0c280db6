/**
 * Benchmark: `packeteye reach` end to end on the reach bench cluster
 * (reach.ts's generator: 100 namespaces, 1,000 NetworkPolicies, the admin
 * policies) at 5,000 pods, and at 150,000 (1,500 pods a namespace) with
 * `--150k` or PE_BENCH_150K=1.
 *
 * Per size, the cluster is written as one `kubectl get -A -o json`-shaped
 * file. A child process (so each size's RSS is its own) does what one `reach
 * -o json` does, phase by phase, with the RSS after each: read the file, load
 * (parse and decode), model, the policy sources, the policy world, the grouped
 * matrix, the Reachability document written to a counting sink. Then the CLI
 * itself, with wall time, CPU time and peak RSS (`/usr/bin/time`): `reach -o
 * json`, `-o yaml`, and `-n ns-001 --port TCP/8080 -o json`.
 *
 * `node dist/bench/reach-scale.js --child FILE` is the child.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { computeMatrix } from '../policy/matrix.js';
import { buildPolicyWorld } from '../policy/world.js';
import { writeReachability } from '../render/reach-document.js';
import { TwinSession } from '../twin/session.js';
import { generateCluster } from './reach.js';
import { exponent } from './scale.js';

const SELF = fileURLToPath(import.meta.url);
const BIN = fileURLToPath(new URL('../../bin/packeteye.js', import.meta.url));

/** What one `reach -o json` does, in order. */
export const REACH_PHASES = ['read', 'load+model', 'sources', 'world', 'matrix', 'write'] as const;
export type ReachPhase = (typeof REACH_PHASES)[number];

export interface ReachScaleMeasure {
  readonly pods: number;
  readonly bytes: number;
  readonly groups: number;
  /** Bytes of the grouped `-o json` document. */
  readonly outBytes: number;
  readonly ms: Record<ReachPhase, number>;
  /** CPU time of each phase (user + system, ms): what the machine's load does not inflate. */
  readonly cpuMs: Record<ReachPhase, number>;
  /** RSS after each phase (MB). */
  readonly rssMb: Record<ReachPhase, number>;
}

/** The bench cluster of `pods` pods (a multiple of 100) as one JSON List. */
export function reachClusterJson(pods: number): string {
  const items = generateCluster({ podsPerNamespace: Math.round(pods / 100) }).map((s) => s.object);
  return `{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\n${items.map((o) => JSON.stringify(o)).join(',\n')}\n]}\n`;
}

const rss = () => Math.round(process.memoryUsage().rss / 1e6);

/** Measures `reach -o json` (grouped) on `file`, in this process, phase by phase. */
export function measureReachScale(file: string): ReachScaleMeasure {
  const ms = {} as Record<ReachPhase, number>;
  const cpuMs = {} as Record<ReachPhase, number>;
  const rssMb = {} as Record<ReachPhase, number>;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let t = performance.now();
  let c = cpu();
  const lap = (p: ReachPhase) => {
    const now = performance.now();
    ms[p] = now - t;
    cpuMs[p] = cpu() - c;
    rssMb[p] = rss();
    t = performance.now();
    c = cpu();
  };
  const text = readFileSync(file, 'utf8');
  lap('read');
  const session = TwinSession.open([{ path: file, text }]);
  lap('load+model');
  const { sources } = session.policySources();
  lap('sources');
  const world = buildPolicyWorld(sources);
  lap('world');
  const m = computeMatrix(world);
  lap('matrix');
  let outBytes = 0;
  writeReachability((s) => (outBytes += s.length), world, m, {
    grouping: 'groups',
    externals: true,
  });
  lap('write');
  return {
    pods: world.pods.length,
    bytes: text.length,
    groups: m.groupCount,
    outBytes,
    ms,
    cpuMs,
    rssMb,
  };
}

export interface CliRun {
  readonly what: string;
  readonly ms: number;
  /** User + system CPU time (ms), when /usr/bin/time is there. */
  readonly cpuMs: number | undefined;
  readonly maxRssMb: number | undefined;
  readonly outBytes: number;
  readonly ok: boolean;
}

/** One CLI command, timed; CPU time and peak RSS from /usr/bin/time when it is there. */
export function cliRun(what: string, args: readonly string[]): CliRun {
  const time = existsSync('/usr/bin/time');
  const argv = time
    ? ['/usr/bin/time', '-f', 'PEAK-RSS-KB %M CPU-S %U %S', process.execPath, BIN, ...args]
    : [process.execPath, BIN, ...args];
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { maxBuffer: 1 << 30 });
  const ms = performance.now() - t;
  const err = r.stderr?.toString('utf8') ?? '';
  const rssM = /PEAK-RSS-KB (\d+)/.exec(err);
  const cpu = /CPU-S ([\d.]+) ([\d.]+)/.exec(err);
  return {
    what,
    ms,
    cpuMs: cpu ? Math.round((Number(cpu[1]) + Number(cpu[2])) * 1000) : undefined,
    maxRssMb: rssM ? Math.round(Number(rssM[1]) / 1024) : undefined,
    outBytes: r.stdout?.length ?? 0,
    ok: r.status === 0,
  };
}

const f0 = (n: number) => n.toFixed(0);

function table(runs: readonly ReachScaleMeasure[]): string[] {
  const out: string[] = [];
  const head = ['reach phase', ...runs.map((r) => `${r.pods} pods`)];
  if (runs.length > 1) head.push(`exponent (CPU)`);
  out.push(
    head.map((h, i) => (i === 0 ? h.padEnd(14) : h.padStart(i > runs.length ? 16 : 30))).join(''),
  );
  for (const p of REACH_PHASES) {
    const row = [p.padEnd(14)];
    for (const r of runs)
      row.push(`${f0(r.ms[p])} ms (CPU ${f0(r.cpuMs[p])})  ${f0(r.rssMb[p])} MB`.padStart(30));
    if (runs.length > 1) {
      const a = runs[0]!;
      const b = runs.at(-1)!;
      row.push(exponent(a.cpuMs[p], b.cpuMs[p], a.pods, b.pods).toFixed(2).padStart(16));
    }
    out.push(row.join(''));
  }
  return out;
}

/** Runs the reach scale suite; returns the report's lines. */
export function benchReachScale(opts: { big: boolean }): string[] {
  const sizes = opts.big ? [5_000, 150_000] : [5_000];
  const dir = mkdtempSync(join(tmpdir(), 'pe-bench-reach-'));
  const lines: string[] = [];
  const runs: ReachScaleMeasure[] = [];
  const clis: { pods: number; runs: CliRun[] }[] = [];
  const load = () => loadavg()[0]!.toFixed(2);
  const loadBefore = load();
  try {
    for (const pods of sizes) {
      process.stderr.write(`bench: reach end to end, ${pods} pods, 1,000 policies…\n`);
      const file = join(dir, `reach-${pods}.json`);
      writeFileSync(file, reachClusterJson(pods));
      const r = spawnSync(process.execPath, [SELF, '--child', file], {
        encoding: 'utf8',
        maxBuffer: 16 << 20,
      });
      if (r.status !== 0) throw new Error(`reach scale child ${pods}: ${r.stderr}`);
      runs.push(JSON.parse(r.stdout) as ReachScaleMeasure);
      clis.push({
        pods,
        runs: [
          cliRun('reach -o json', ['reach', '-f', file, '-o', 'json']),
          cliRun('reach -o yaml', ['reach', '-f', file, '-o', 'yaml']),
          cliRun('reach -n ns-001 --port TCP/8080 -o json', [
            'reach',
            '-f',
            file,
            '-n',
            'ns-001',
            '--port',
            'TCP/8080',
            '-o',
            'json',
          ]),
        ],
      });
    }
    for (const r of runs)
      lines.push(
        `reach ${r.pods} pods: ${(r.bytes / 1e6).toFixed(1)} MB JSON, ${r.groups} groups, -o json ${(r.outBytes / 1e6).toFixed(1)} MB`,
      );
    lines.push(...table(runs));
    lines.push(`load average ${loadBefore} before, ${load()} after (wall times grow with it)`);
    for (const c of clis)
      for (const r of c.runs)
        lines.push(
          `cli ${String(c.pods).padStart(6)} pods  ${r.what.padEnd(40)} ${f0(r.ms).padStart(7)} ms${r.cpuMs === undefined ? '' : ` (CPU ${r.cpuMs} ms)`}  ${r.maxRssMb === undefined ? '' : `${r.maxRssMb} MB peak RSS`}  ${(r.outBytes / 1e6).toFixed(1)} MB out${r.ok ? '' : '  FAILED'}${c.pods >= 150_000 && r.what === 'reach -o json' ? `  target ≤ 10 s: ${r.ms <= 10_000 ? 'ok' : 'MISSED'}` : ''}`,
        );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

if (process.argv[2] === '--child')
  process.stdout.write(JSON.stringify(measureReachScale(process.argv[3]!)));
