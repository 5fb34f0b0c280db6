/**
 * Shared by `trace`, `rules` and `reach`: read the cluster files (files,
 * directories of manifests as `kubectl -f DIR` reads them, `-` for stdin),
 * build the model and the twin's plan; errors in the input are an InputError
 * (exit 2) that names file, document, object and field; warnings go to stderr.
 */
import { formatDiagnostic, InputError, type Diagnostic } from '../diag.js';
import { loadDocuments, workloadPods, type LoadResult } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin, type TwinPlan } from '../twin/index.js';
import type { Io } from './io.js';
import { count, type Progress } from './output.js';

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

export function loadPlan(io: Io, files: readonly string[], progress?: Progress): TwinPlan {
  const inputs = readInputs(io, files);
  progress?.update(`reading ${count(inputs.length)} file${inputs.length === 1 ? '' : 's'}…`);
  const loaded = loadDocuments(inputs);
  progress?.update(`building the model from ${count(loaded.objects.length)} objects…`);
  const built = buildModel(loaded.objects, loaded.evidence);
  const diagnostics = [
    ...loaded.diagnostics,
    ...unscheduledWorkloads(loaded),
    ...built.diagnostics,
  ];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    progress?.done();
    throw new InputError(errors);
  }
  progress?.done();
  for (const d of diagnostics) if (d.severity === 'warning') io.err(`${formatDiagnostic(d)}\n`);
  progress?.update(
    `planning the twin: ${count(built.model.nodes.size)} nodes, ${count(built.model.pods.size)} pods…`,
  );
  const plan = planTwin(built.model);
  progress?.done();
  const planErrors = plan.diagnostics.filter((d) => d.severity === 'error');
  if (planErrors.length > 0) throw new InputError(planErrors);
  return plan;
}

/** A warning for each workload none of whose pods is in the input: a trace needs placed pods. */
function unscheduledWorkloads(loaded: LoadResult): Diagnostic[] {
  return workloadPods(loaded).map(({ workload: { workload: w, origin } }) => ({
    code: 'k8s-workload-without-pods',
    severity: 'warning',
    message: `${w.kind} has no pods in the input: packeteye traces the Pods themselves, not the controllers that create them`,
    file: origin.file,
    line: origin.line,
    document: origin.document,
    object: `${w.kind} ${w.metadata.namespace ?? 'default'}/${w.metadata.name}`,
    hint: 'add its pods, e.g. from `kubectl get pods -A -o yaml`, or write Pod objects with spec.nodeName (packeteye reach uses the template as is)',
  }));
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
