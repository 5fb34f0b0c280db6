/**
 * The scale suite of `npm run bench` (`node dist/bench/run.js scale`): the
 * generated cluster (scale-cluster.ts) at 1,000 and 10,000 pods, and at
 * 150,000 (5,000 nodes, 10,000 Services) with `--150k` or
 * PE_BENCH_150K=1. Per size, in a child process of its own: each phase of
 * a trace with the RSS after it (scale.ts: the first node, the next nodes,
 * a node with another kube-proxy key, the trace); then the CLI end to end —
 * `trace`, `rules --node X --only iptables`, `rules --node X --only routes`
 * — with wall time and peak RSS (`/usr/bin/time`); the growth exponent of
 * each phase from the smallest size to the largest; and, as root, the real
 * kernel's per-packet cost on the largest size's node rules beside
 * packeteye's (scale-kernel.ts).
 *
 * `node dist/bench/scale-run.js --child SIZE FILE RULES` is the child.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exponent, measureScale, PHASES, scaleQuestion, type ScaleMeasure } from './scale.js';
import { scaleClusterJson, scaleNodeName, scaleSize } from './scale-cluster.js';
import { kernelCost, kernelUnavailable } from './scale-kernel.js';

const SELF = fileURLToPath(import.meta.url);
const BIN = fileURLToPath(new URL('../../bin/packeteye.js', import.meta.url));

interface CliRun {
  readonly what: string;
  readonly ms: number;
  readonly maxRssMb: number | undefined;
  readonly ok: boolean;
}

/** One CLI command, timed; peak RSS from /usr/bin/time when it is there. */
function cli(what: string, args: string[]): CliRun {
  const time = existsSync('/usr/bin/time');
  const argv = time
    ? ['/usr/bin/time', '-f', 'PEAK-RSS-KB %M', process.execPath, BIN, ...args]
    : [process.execPath, BIN, ...args];
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 256 << 20 });
  const ms = performance.now() - t;
  const m = /PEAK-RSS-KB (\d+)/.exec(r.stderr ?? '');
  return {
    what,
    ms,
    maxRssMb: m ? Math.round(Number(m[1]) / 1024) : undefined,
    ok: r.status === 0,
  };
}

function child(pods: number, file: string, rulesOut: string): void {
  const { measure, rulesText } = measureScale(scaleSize(pods), file);
  writeFileSync(rulesOut, rulesText);
  process.stdout.write(JSON.stringify(measure));
}

const f0 = (n: number) => n.toFixed(0);
const pad = (s: string, n: number) => s.padStart(n);

function table(runs: readonly ScaleMeasure[]): string[] {
  const out: string[] = [];
  const w = Math.max(...PHASES.map((p) => p.length)) + 1;
  const head = ['phase', ...runs.map((r) => `${r.size.pods} pods`)];
  if (runs.length > 1) head.push(`exponent ${runs[0]!.size.pods}→${runs.at(-1)!.size.pods}`);
  out.push(
    head.map((h, i) => (i === 0 ? h.padEnd(w) : pad(h, i > runs.length ? 26 : 20))).join(''),
  );
  for (const p of PHASES) {
    const row = [p.padEnd(w)];
    for (const r of runs) row.push(pad(`${f0(r.ms[p])} ms  ${f0(r.rssMb[p])} MB`, 20));
    if (runs.length > 1) {
      const a = runs[0]!;
      const b = runs.at(-1)!;
      row.push(pad(exponent(a.ms[p], b.ms[p], a.size.pods, b.size.pods).toFixed(2), 26));
    }
    out.push(row.join(''));
  }
  return out;
}

/** Runs the suite; returns the report's lines. */
export function benchScale(opts: { big: boolean }): string[] {
  const sizes = opts.big ? [1_000, 10_000, 150_000] : [1_000, 10_000];
  const dir = mkdtempSync(join(tmpdir(), 'pe-bench-scale-'));
  const lines: string[] = [];
  const runs: ScaleMeasure[] = [];
  const clis: { pods: number; runs: CliRun[] }[] = [];
  let lastRules = '';
  try {
    for (const pods of sizes) {
      const size = scaleSize(pods);
      process.stderr.write(
        `bench: scale ${pods} pods (${size.nodes} nodes, ${size.services} Services)…\n`,
      );
      const file = join(dir, `cluster-${pods}.json`);
      writeFileSync(file, scaleClusterJson(size));
      const rules = join(dir, `node-0-${pods}.rules`);
      const r = spawnSync(process.execPath, [SELF, '--child', String(pods), file, rules], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      if (r.status !== 0) throw new Error(`scale child ${pods}: ${r.stderr}`);
      runs.push(JSON.parse(r.stdout) as ScaleMeasure);
      lastRules = rules;
      const q = scaleQuestion(size);
      const node = scaleNodeName(1);
      clis.push({
        pods,
        runs: [
          cli('trace', ['trace', '-f', file, '--from', q.from, '--to', q.to]),
          cli(`rules --node ${node} --only iptables`, [
            'rules',
            '-f',
            file,
            '--node',
            node,
            '--only',
            'iptables',
          ]),
          cli(`rules --node ${node} --only routes`, [
            'rules',
            '-f',
            file,
            '--node',
            node,
            '--only',
            'routes',
          ]),
        ],
      });
    }
    for (const r of runs)
      lines.push(
        `scale ${r.size.pods} pods: ${r.size.nodes} nodes, ${r.size.services} Services, ${(r.bytes / 1e6).toFixed(1)} MB JSON, ${r.objects} objects; ${r.rules} kube-proxy rules a node; trace ${r.delivered ? 'delivered' : 'NOT DELIVERED'} across ${r.traceNodes} nodes`,
      );
    lines.push(...table(runs));
    for (const c of clis)
      for (const r of c.runs)
        lines.push(
          `cli ${String(c.pods).padStart(6)} pods  ${r.what.padEnd(36)} ${pad(f0(r.ms), 7)} ms  ${r.maxRssMb === undefined ? '' : `${r.maxRssMb} MB peak RSS`}${r.ok ? '' : '  FAILED'}`,
        );
    lines.push(...kernelLines(runs.at(-1)!, lastRules));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

function kernelLines(last: ScaleMeasure, rulesFile: string): string[] {
  const why = kernelUnavailable();
  const pe = `packeteye ${last.packetUs.toFixed(1)} µs per packet (median, traceIptables node → VIP)`;
  if (why !== undefined) return [`kernel: not measured (${why}); ${pe}`];
  process.stderr.write('bench: the real kernel on the same rules…\n');
  const text = readFileSync(rulesFile, 'utf8');
  const k = kernelCost(text);
  return [
    `kernel (${k.tool}), ${last.rules} rules of node-0 at ${last.size.pods} pods: iptables-restore ${f0(k.restoreMs)} ms; first packet of a new connection ${k.rulesUs.toFixed(1)} µs (empty tables ${k.emptyUs.toFixed(1)} µs, ${k.packets} SYNs)`,
    `${pe}: ${(last.packetUs / k.rulesUs).toFixed(2)}× the kernel's per-packet cost`,
  ];
}

if (process.argv[2] === '--child')
  child(Number(process.argv[3]), process.argv[4]!, process.argv[5]!);
