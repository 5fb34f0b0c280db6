/**
 * `npm run fuzz`: mutation and structure-aware fuzzing of every reader
 * through the real CLI entry. Not part of the test suite (a short seeded
 * slice of it is, in fuzz.test.ts).
 *
 *   node dist/cli/fuzz/run.js [--reader cluster|iptables|ipset|routes|flags]...
 *     [--count N] [--seed S] [--minutes M] [--child]
 *
 * In-process mode (default) runs inputs through `main` in a worker thread
 * with a 1 GiB heap limit; a worker that stops answering for 20 s is a
 * hang and is replaced. `--child` runs each input as its own
 * `node bin/packeteye.js` process (20 s, `--max-old-space-size=1024`), to
 * measure a real process's time and peak RSS. Every crash (exit 1 or any
 * other than 0 and 2, an uncaught throw, running out of memory) and every
 * hang is saved as test/fixtures/fuzz/<reader>-<seed>-<n>.json, which
 * fuzz.test.ts replays. Input n of a seed is made from its own generator,
 * so any input is rebuilt from (reader, seed, n).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { FIXTURES, inputRand, loadSeeds, ROOT } from './seeds.js';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  HANG_MS,
  isFailure,
  makeInput,
  READERS,
  runInput,
  type FuzzInput,
  type ReaderName,
  type Seeds,
} from './readers.js';

const HEAP_MB = 1024;

interface Finding {
  readonly kind: 'crash' | 'hang' | 'oom';
  readonly n: number;
  readonly code?: number;
  readonly ms?: number;
  readonly stderr?: string;
}

function save(reader: ReaderName, seed: number, f: Finding, input: FuzzInput): string {
  mkdirSync(FIXTURES, { recursive: true });
  const path = join(FIXTURES, `${reader}-${seed}-${f.n}.json`);
  writeFileSync(
    path,
    `${JSON.stringify({ ...f, reader, seed, argv: input.argv, files: input.files }, null, 1)}\n`,
  );
  return path;
}

interface Tally {
  runs: number;
  exits: Record<string, number>;
  findings: Finding[];
  slowestMs: number;
  peakHeapMb: number;
  peakRssMb: number;
}

// ---------------------------------------------------------------------------
// The worker: runs inputs from `start` and reports each.

interface Job {
  readonly reader: ReaderName;
  readonly seed: number;
  readonly start: number;
  readonly end: number;
  readonly seeds: Seeds;
}

async function workerLoop(job: Job): Promise<void> {
  for (let n = job.start; n < job.end; n++) {
    parentPort!.postMessage({ type: 'start', n });
    const input = makeInput(job.reader, inputRand(job.seed, n), job.seeds);
    const o = await runInput(input);
    const heap = getHeapStatistics().used_heap_size / 2 ** 20;
    parentPort!.postMessage({
      type: 'done',
      n,
      code: o.code,
      ms: o.ms,
      heap,
      stderr: isFailure(o) ? o.stderr : '',
    });
  }
  parentPort!.postMessage({ type: 'end' });
}

function runWorker(job: Job, tally: Tally, onFinding: (f: Finding) => void): Promise<number> {
  // Resolves with the next input to run (job.end when the job is done).
  return new Promise((resolve) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
    });
    let current = job.start;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (next: number): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      void w.terminate();
      resolve(next);
    };
    w.on(
      'message',
      (m: { type: string; n: number; code: number; ms: number; heap: number; stderr: string }) => {
        if (m.type === 'start') {
          current = m.n;
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            onFinding({ kind: 'hang', n: current, ms: HANG_MS });
            finish(current + 1);
          }, HANG_MS);
        } else if (m.type === 'done') {
          tally.runs++;
          tally.exits[m.code] = (tally.exits[m.code] ?? 0) + 1;
          tally.slowestMs = Math.max(tally.slowestMs, m.ms);
          tally.peakHeapMb = Math.max(tally.peakHeapMb, m.heap);
          if (tally.runs % 200 === 0)
            tally.peakRssMb = Math.max(tally.peakRssMb, process.memoryUsage().rss / 2 ** 20);
          if (m.code !== 0 && m.code !== 2)
            onFinding({ kind: 'crash', n: m.n, code: m.code, ms: m.ms, stderr: m.stderr });
          else if (m.ms > HANG_MS) onFinding({ kind: 'hang', n: m.n, ms: m.ms });
        } else if (m.type === 'end') finish(job.end);
      },
    );
    w.on('error', (e) => {
      const oom = /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(
        `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`,
      );
      onFinding({ kind: oom ? 'oom' : 'crash', n: current, stderr: e.message });
      finish(current + 1);
    });
    w.on('exit', () => finish(current + 1));
  });
}

// ---------------------------------------------------------------------------
// Child-process mode: one real process per input.

function runChild(input: FuzzInput): { code: number; ms: number; rssMb: number; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pe-fuzz-'));
  try {
    for (const [name, text] of Object.entries(input.files)) writeFileSync(join(dir, name), text);
    const t0 = performance.now();
    const r = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        '%M',
        process.execPath,
        `--max-old-space-size=${HEAP_MB}`,
        join(ROOT, 'bin/packeteye.js'),
        ...input.argv,
      ],
      { cwd: dir, timeout: HANG_MS, encoding: 'utf8', maxBuffer: 1 << 30 },
    );
    const ms = performance.now() - t0;
    const lines = (r.stderr ?? '').trimEnd().split('\n');
    const rssMb = Number(lines[lines.length - 1]) / 1024 || 0;
    const code = r.signal === 'SIGTERM' ? 124 : (r.status ?? 128);
    return {
      code: /Command exited with non-zero status (\d+)/.exec(r.stderr ?? '')
        ? Number(/status (\d+)/.exec(r.stderr)![1])
        : code,
      ms,
      rssMb,
      stderr: (r.stderr ?? '').slice(0, 2000),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

function arg(name: string, argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === name && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
  });
  return out;
}

async function cli(argv: readonly string[]): Promise<number> {
  const readers = (
    arg('--reader', argv).length > 0 ? arg('--reader', argv) : [...READERS]
  ) as ReaderName[];
  const count = Number(arg('--count', argv)[0] ?? 1000);
  const seed = Number(arg('--seed', argv)[0] ?? 1);
  const minutes = Number(arg('--minutes', argv)[0] ?? Infinity);
  const child = argv.includes('--child');
  const seeds = loadSeeds();
  let failures = 0;
  for (const reader of readers) {
    const tally: Tally = {
      runs: 0,
      exits: {},
      findings: [],
      slowestMs: 0,
      peakHeapMb: 0,
      peakRssMb: 0,
    };
    const t0 = Date.now();
    const deadline = t0 + (minutes * 60_000) / readers.length;
    const onFinding = (f: Finding): void => {
      tally.findings.push(f);
      const path = save(reader, seed, f, makeInput(reader, inputRand(seed, f.n), seeds));
      process.stderr.write(
        `${reader} #${f.n}: ${f.kind}${f.code !== undefined ? ` exit ${f.code}` : ''} → ${path}\n`,
      );
    };
    if (child) {
      for (let n = 0; n < count && Date.now() < deadline; n++) {
        const input = makeInput(reader, inputRand(seed, n), seeds);
        const o = runChild(input);
        tally.runs++;
        tally.exits[o.code] = (tally.exits[o.code] ?? 0) + 1;
        tally.slowestMs = Math.max(tally.slowestMs, o.ms);
        tally.peakRssMb = Math.max(tally.peakRssMb, o.rssMb);
        if (o.code === 124) onFinding({ kind: 'hang', n, ms: o.ms });
        else if (o.code !== 0 && o.code !== 2)
          onFinding({ kind: 'crash', n, code: o.code, ms: o.ms, stderr: o.stderr });
      }
    } else {
      const chunk = 2000;
      for (let n = 0; n < count && Date.now() < deadline;) {
        const end = Math.min(count, n + chunk);
        n = await runWorker({ reader, seed, start: n, end, seeds }, tally, onFinding);
      }
    }
    failures += tally.findings.length;
    const s = (Date.now() - t0) / 1000;
    process.stdout.write(
      `${reader}: ${tally.runs} inputs in ${s.toFixed(0)} s (seed ${seed}${child ? ', child processes' : ''}); ` +
        `exits ${JSON.stringify(tally.exits)}; crashes ${tally.findings.filter((f) => f.kind === 'crash').length}, ` +
        `hangs ${tally.findings.filter((f) => f.kind === 'hang').length}, out of memory ${tally.findings.filter((f) => f.kind === 'oom').length}; ` +
        `slowest ${(tally.slowestMs / 1000).toFixed(2)} s; peak ${child ? `RSS ${tally.peakRssMb.toFixed(0)} MB` : `worker heap ${tally.peakHeapMb.toFixed(0)} MB, process RSS ${tally.peakRssMb.toFixed(0)} MB`}\n`,
    );
  }
  return failures > 0 ? 1 : 0;
}

if (!isMainThread) {
  void workerLoop(workerData as Job);
} else if (
  process.argv[1] &&
  import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, 'dist/'))
) {
  process.exitCode = await cli(process.argv.slice(2));
}
