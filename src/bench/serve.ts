/**
 * Benchmark: `packeteye serve`'s traces once the twin is built, on the scale
 * cluster (./scale-cluster.ts) at a given number of pods.
 *
 *   session   what serve keeps (twin/session.ts): the cluster read and the
 *             plan made once, every node built ahead (as the server does
 *             while idle), then traceConnection per question — the first
 *             trace, then 1,000 more: the same question again, and 1,000
 *             different pod → Service questions
 *   http      the real server (`packeteye serve` from dist/, as a child
 *             process, on loopback), once it has built every node ahead
 *             (`builtAhead.done` in /api/status): 1,000 GET /api/trace, each one the
 *             `trace -o json` command run on the kept cluster, timed at the
 *             client (request to last byte); again with `defaults=touched`
 *             (the trace document without the thousands of defaults about
 *             Services the connection did not touch)
 *
 * Target: a median ≤ 5 ms per trace at 150,000 pods. Figures are wall-clock
 * on this machine; a shared machine only ever adds time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { traceConnection } from '../trace/connection.js';
import { SERVE_KEEP, TwinSession } from '../twin/session.js';
import {
  scaleClusterJson,
  scaleNamespace,
  scalePodName,
  scaleServiceOf,
  scaleSize,
  type ScaleSize,
} from './scale-cluster.js';

export interface Timings {
  readonly traces: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  /** CPU time (user + system) per trace, the mean: what a loaded machine does not inflate. */
  readonly cpuMs?: number;
}

export interface ServeSessionBench {
  readonly pods: number;
  /** Read + model + plan, once. */
  readonly openMs: number;
  /** Every node built ahead, as the server does while idle (TwinPlan.buildAhead). */
  readonly aheadMs: number;
  readonly firstTraceMs: number;
  /** The first question, asked again. */
  readonly same: Timings;
  /** A different pod → Service question each time. */
  readonly varied: Timings;
}

/** The questions (by k) whose served answers the HTTP bench compares with the command line's. */
const CLI_COMPARED = [0, 1, 500, 1000];

/** The k-th question: a pod of some app to some Service's port 80. */
export function scaleQuestion(size: ScaleSize, k: number): { from: string; to: string } {
  // Whole apps only (the last may have fewer than three replicas).
  const apps = Math.floor(size.pods / 3);
  const app = (k * 7919) % apps;
  const svc = scaleServiceOf(size, (k * 104_729) % size.services);
  return {
    from: `${scaleNamespace(app)}/${scalePodName(app, k % 3)}`,
    to: `svc/${svc.namespace}/${svc.name}:80`,
  };
}

function timings(ms: number[], cpu?: NodeJS.CpuUsage): Timings {
  const s = [...ms].sort((a, b) => a - b);
  return {
    traces: s.length,
    medianMs: s[Math.floor(s.length / 2)]!,
    p90Ms: s[Math.floor(s.length * 0.9)]!,
    ...(cpu ? { cpuMs: (cpu.user + cpu.system) / 1000 / s.length } : {}),
  };
}

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

export function benchServeSession(pods: number, traces = 1000): ServeSessionBench {
  const size = scaleSize(pods);
  const text = scaleClusterJson(size);
  let session: TwinSession | undefined;
  const openMs = time(() => {
    session = TwinSession.open([{ path: 'scale.json', text }], undefined, SERVE_KEEP);
    session.plan();
  });
  const plan = session!.plan();
  const aheadMs = time(() => {
    while (plan.buildAhead?.());
  });
  const first = scaleQuestion(size, 0);
  const firstTraceMs = time(() => void traceConnection(plan, first));
  const same: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < traces; i++) same.push(time(() => void traceConnection(plan, first)));
  const sameCpu = process.cpuUsage(cpu);
  const varied: number[] = [];
  cpu = process.cpuUsage();
  for (let k = 1; k <= traces; k++) {
    const q = scaleQuestion(size, k);
    varied.push(time(() => void traceConnection(plan, q)));
  }
  const variedCpu = process.cpuUsage(cpu);
  return {
    pods,
    openMs,
    aheadMs,
    firstTraceMs,
    same: timings(same, sameCpu),
    varied: timings(varied, variedCpu),
  };
}

export interface ServeHttpBench {
  readonly pods: number;
  /** From starting the process to its address printed (read, model, plan). */
  readonly startMs: number;
  /** Then to every node built ahead. */
  readonly aheadMs: number;
  readonly firstTraceMs: number;
  readonly same: Timings;
  readonly varied: Timings;
  /** Questions whose served answer was compared with `packeteye trace -o json` on the same file. */
  readonly compared: number;
  /** Those whose answers differ (none, or the bench says MISSED). */
  readonly differing: readonly string[];
}

/** A `packeteye serve` child process on the scale cluster's file, its address printed. */
interface Served {
  readonly url: string;
  readonly file: string;
  readonly pid: number | undefined;
  /** From starting the process to its address printed (read, model, plan). */
  readonly startMs: number;
  /** From the address printed to every node built ahead (`builtAhead.done` in /api/status). */
  readonly aheadMs: number;
  stop(): void;
}

async function startServed(size: ScaleSize, bin: string): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-bench-serve-'));
  const file = join(dir, 'scale.json');
  writeFileSync(file, scaleClusterJson(size));
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, 'serve', '-f', file, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = (): void => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((ok, fail) => {
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /packeteye serve: (http:\/\/\S+\/)/.exec(err);
        if (m) ok(m[1]!);
      });
      child.on('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
    });
    const startMs = performance.now() - t0;
    // The questions are timed after the first build: the server builds every node ahead while idle.
    for (;;) {
      const s = (await (await fetch(`${url}api/status`)).json()) as {
        builtAhead?: { done: boolean };
      };
      if (s.builtAhead?.done !== false) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, file, pid: child.pid, startMs, aheadMs: performance.now() - t0 - startMs, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

/** Runs `packeteye serve` (dist/cli) on the scale cluster and asks it 1,000 + 1,000 traces. */
export async function benchServeHttp(
  pods: number,
  traces = 1000,
  bin = 'bin/packeteye.js',
  /** More query parameters for every trace (e.g. `defaults: 'touched'`), passed to the CLI too. */
  extra: Readonly<Record<string, string>> = {},
): Promise<ServeHttpBench> {
  const size = scaleSize(pods);
  const served = await startServed(size, bin);
  const { url, file, startMs, aheadMs } = served;
  const child = { pid: served.pid };
  try {
    const answers = new Map<number, string>();
    const ask = async (q: { from: string; to: string }, keep?: number): Promise<number> => {
      const s = performance.now();
      const r = await fetch(`${url}api/trace?${new URLSearchParams({ ...q, ...extra })}`);
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${r.status} for ${q.from} → ${q.to}`);
      const ms = performance.now() - s;
      if (keep !== undefined) answers.set(keep, text);
      return ms;
    };
    const first = scaleQuestion(size, 0);
    const firstTraceMs = await ask(first, 0);
    const same: number[] = [];
    let cpu = serverCpu(child.pid);
    for (let i = 0; i < traces; i++) same.push(await ask(first));
    const sameCpu = since(cpu, serverCpu(child.pid));
    const varied: number[] = [];
    const compare = new Set(CLI_COMPARED.filter((k) => k <= traces));
    cpu = serverCpu(child.pid);
    for (let k = 1; k <= traces; k++)
      varied.push(await ask(scaleQuestion(size, k), compare.has(k) ? k : undefined));
    const variedCpu = since(cpu, serverCpu(child.pid));
    // The same questions through the command line, each a process of its own.
    const differing: string[] = [];
    for (const [k, served] of answers) {
      const q = scaleQuestion(size, k);
      const cli = execFileSync(
        process.execPath,
        [
          bin,
          'trace',
          '-f',
          file,
          '--from',
          q.from,
          '--to',
          q.to,
          '-o',
          'json',
          ...Object.entries(extra).flatMap(([k, v]) => [`--${k}`, v]),
        ],
        { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const answer = (JSON.parse(served) as { answer: unknown }).answer;
      if (JSON.stringify(answer) !== JSON.stringify(JSON.parse(cli)))
        differing.push(`${q.from} → ${q.to}`);
    }
    return {
      pods,
      startMs,
      aheadMs,
      firstTraceMs,
      same: timings(same, sameCpu),
      varied: timings(varied, variedCpu),
      compared: answers.size,
      differing,
    };
  } finally {
    served.stop();
  }
}

/** The server process's CPU time so far (Linux /proc, clock ticks of 10 ms), or undefined elsewhere. */
function serverCpu(pid: number | undefined): NodeJS.CpuUsage | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { user: Number(f[11]) * 10_000, system: Number(f[12]) * 10_000 };
  } catch {
    return undefined;
  }
}

function since(
  a: NodeJS.CpuUsage | undefined,
  b: NodeJS.CpuUsage | undefined,
): NodeJS.CpuUsage | undefined {
  return a && b ? { user: b.user - a.user, system: b.system - a.system } : undefined;
}

export interface ServePageBench {
  readonly pods: number;
  readonly startMs: number;
  readonly aheadMs: number;
  /** The page's own first question (asked from its address), to its trace drawn. */
  readonly firstTraceMs: number;
  /** 1,000 different questions asked as the page asks them, timed in the page. */
  readonly varied: Timings;
  /** A hop opened after a question (its steps fetched, `html=hops`), timed in the page. */
  readonly opened: Timings;
}

/** The page's question, as its script asks it (render/html-app.ts), through the script's own `packeteye.ask`. */
const PAGE_ASKS = { html: 'brief', answer: '0', defaults: 'touched' };

/**
 * The page in headless Chromium (`render/testing/chromium.ts`; undefined when
 * Chromium or playwright-core is missing): it loads from `packeteye serve`
 * with the first question in its address and draws it, then the page asks
 * 1,000 different questions the way its script does (its own `ask`: over
 * the page's WebSocket, `/api/trace` with `html=brief&answer=0&defaults=touched`,
 * the answer read as JSON), each timed in the page from the question to the
 * parsed answer; then, for 200
 * more, a hop opened after the question (`html=hops`: every hop's steps),
 * timed alone.
 */
export async function benchServePage(
  pods: number,
  traces = 1000,
  bin = 'bin/packeteye.js',
): Promise<ServePageBench | undefined> {
  const { chromiumAvailable, openChromium } = await import('../render/testing/chromium.js');
  if (!chromiumAvailable) return undefined;
  const size = scaleSize(pods);
  const served = await startServed(size, bin);
  const browser = await openChromium();
  try {
    const page = await browser.newPage();
    const first = scaleQuestion(size, 0);
    const t0 = performance.now();
    await page.goto(`${served.url}?${new URLSearchParams(first)}`);
    await page.waitForSelector('.hop', { timeout: 600_000 });
    const firstTraceMs = performance.now() - t0;
    const ask = (
      questions: { from: string; to: string }[],
      hops: boolean,
    ): string => `(async () => {
      const out = [];
      const get = async (p, want) => {
        const r = await window.packeteye.ask('/api/trace', p);
        if (!r.ok || typeof r.j[want] !== (want === 'html' ? 'string' : 'object')) throw new Error(JSON.stringify(r.j.error) + ' for ' + p.from + ' to ' + p.to);
      };
      for (const q of ${JSON.stringify(questions)}) {
        const p = Object.assign({}, q, ${JSON.stringify(PAGE_ASKS)});
        let t = performance.now();
        await get(p, 'html');
        if (${hops}) {
          t = performance.now();
          await get(Object.assign({}, q, { html: 'hops', defaults: 'touched' }), 'hops');
        }
        out.push(performance.now() - t);
      }
      return out;
    })()`;
    const questions = Array.from({ length: traces }, (_, k) => scaleQuestion(size, k + 1));
    const cpu = serverCpu(served.pid);
    const ms = await page.evaluate<number[]>(ask(questions, false));
    const varied = timings(ms, since(cpu, serverCpu(served.pid)));
    const more = Array.from({ length: 200 }, (_, k) => scaleQuestion(size, traces + 1 + k));
    const opened = timings(await page.evaluate<number[]>(ask(more, true)));
    return { pods, startMs: served.startMs, aheadMs: served.aheadMs, firstTraceMs, varied, opened };
  } finally {
    await browser.close();
    served.stop();
  }
}
