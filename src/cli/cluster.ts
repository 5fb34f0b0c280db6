/**
 * Shared by `trace`, `rules` and `reach`: one reading of the cluster for every
 * command. Read the cluster files (files, directories of manifests as
 * `kubectl -f DIR` reads them, `-` for stdin), stand workloads without pods in
 * for them (one pod from each template), build the model (the same defaults,
 * allocations and checks for every command) and, for `trace` and `rules`, the
 * twin's plan. Errors in the input are an InputError (exit 2) naming file,
 * document, object and field; warnings go to stderr before any answer, and
 * with `--strict` they are errors too.
 */
import type { Command } from 'commander';
import { formatDiagnostic, InputError, type Diagnostic } from '../diag.js';
import type { LoadResult } from '../k8s/load.js';
import type { ClusterModel } from '../k8s/model.js';
import type { TwinPlan } from '../twin/index.js';
import { TwinSession } from '../twin/session.js';
import type { Io } from './io.js';
import { count, type Progress } from './output.js';

/** What every command that reads a cluster takes besides its files. */
export interface ReadOptions {
  /** Warnings are errors: exit 2 (for linting in CI). */
  readonly strict?: boolean;
}

/** `--strict` on every command that reads a cluster. */
export const STRICT_HELP = 'treat warnings about the input as errors (exit 2), for linting in CI';

/** `--strict` on a command that reads a cluster. */
export function strictOption(cmd: Command): Command {
  return cmd.option('--strict', STRICT_HELP);
}

/**
 * The texts behind `-f`: each argument is a file, `-` (stdin, read once), or
 * a directory whose *.yaml/*.yml/*.json files are read in name order.
 */
export function readInputs(io: Io, paths: readonly string[]): { path: string; text: string }[] {
  if (paths.length === 0)
    throw InputError.of(
      'no-input',
      'no cluster file given',
      { field: '-f' },
      'pass -f FILE, -f DIR or -f - (YAML/JSON; e.g. the output of kubectl get -A -o yaml)',
    );
  const out: { path: string; text: string }[] = [];
  for (const p of paths) {
    const inDir = io.listDir(p);
    if (inDir === undefined) {
      out.push({ path: p, text: io.readFile(p) });
      continue;
    }
    if (inDir.length === 0)
      throw InputError.of(
        'no-input',
        'directory holds no *.yaml, *.yml or *.json files',
        { file: p },
        'point -f at the manifests themselves, or at a directory that holds them',
      );
    for (const f of inDir) out.push({ path: f, text: io.readFile(f) });
  }
  return out;
}

/** The cluster as one model: every command reads, defaults and checks it the same way. */
export interface ReadCluster {
  readonly loaded: LoadResult;
  readonly model: ClusterModel;
  /** Every diagnostic, errors excluded (they were thrown). */
  readonly diagnostics: readonly Diagnostic[];
  /** The session the reading is kept in (its plan and policy sources made once, on first use). */
  readonly session: TwinSession;
}

/**
 * The cluster behind `-f FILES`, read into a session: the one the Io already
 * holds for exactly these files (`packeteye serve` keeps one open), else a new
 * reading. Errors throw; warnings are written (or thrown under `--strict`)
 * every time, as each command says them before its answer.
 */
export function openSession(
  io: Io,
  files: readonly string[],
  opts: ReadOptions = {},
  progress?: Progress,
): TwinSession {
  const kept = io.session;
  const session =
    kept && sameFiles(kept.files, files)
      ? kept.session
      : TwinSession.open(readInputs(io, files), (what, n) => {
          if (what === 'load') progress?.update(`reading ${count(n)} file${n === 1 ? '' : 's'}…`);
          else progress?.update(`building the model from ${count(n)} objects…`);
        });
  const standIns = session.standIns;
  if (standIns.length > 0) {
    io.err(
      `packeteye: ${count(standIns.length)} workload${standIns.length === 1 ? '' : 's'} without pods in the input, each as one pod from its template: ${standIns.slice(0, 3).join(', ')}${standIns.length > 3 ? ', …' : ''}\n`,
    );
  }
  progress?.done();
  report(io, session.diagnostics, opts);
  return session;
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

export function readCluster(
  io: Io,
  files: readonly string[],
  opts: ReadOptions = {},
  progress?: Progress,
): ReadCluster {
  const session = openSession(io, files, opts, progress);
  return {
    loaded: session.loaded,
    model: session.model,
    diagnostics: session.diagnostics.filter((d) => d.severity !== 'error'),
    session,
  };
}

/**
 * Errors throw (exit 2); warnings are written to stderr, before any answer,
 * or throw too under `--strict`.
 */
export function report(io: Io, diagnostics: readonly Diagnostic[], opts: ReadOptions): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InputError(errors);
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  if (opts.strict && warnings.length > 0)
    throw new InputError(warnings.map((d) => ({ ...d, message: `${d.message} (--strict)` })));
  for (const d of warnings) io.err(`${formatDiagnostic(d)}\n`);
}

export function loadPlan(
  io: Io,
  files: readonly string[],
  progress?: Progress,
  opts: ReadOptions = {},
): TwinPlan {
  const session = openSession(io, files, opts, progress);
  const plan = session.plan((_, n) =>
    progress?.update(
      `planning the twin: ${count(n)} nodes, ${count(session.model.pods.size)} pods…`,
    ),
  );
  progress?.done();
  // What the plan cannot model (a kube-proxy mode, a CNI) is said before the answer.
  report(io, plan.diagnostics, opts);
  return plan;
}

export function parseIntOption(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw InputError.of(
      'bad-option',
      `${name} ${JSON.stringify(value)}: not an integer in ${min}–${max}`,
      { field: name },
      `give ${name} a whole number from ${min} to ${max}`,
    );
  }
  return Number(value);
}
