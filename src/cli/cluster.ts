/**
 * Shared by `trace` and `rules`: read the cluster files, build the model and
 * the twin's plan; errors in the input are an InputError (exit 2) that names
 * file, document, object and field; warnings go to stderr.
 */
import { formatDiagnostic, InputError } from '../diag.js';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin, type TwinPlan } from '../twin/index.js';
import type { Io } from './io.js';

export function loadPlan(io: Io, files: readonly string[]): TwinPlan {
  if (files.length === 0)
    throw InputError.of(
      'no-input',
      'no cluster file given',
      { field: '-f' },
      'pass -f FILE (YAML/JSON)',
    );
  const loaded = loadDocuments(files.map((path) => ({ path, text: io.readFile(path) })));
  const built = buildModel(loaded.objects);
  const diagnostics = [...loaded.diagnostics, ...built.diagnostics];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InputError(errors);
  for (const d of diagnostics) if (d.severity === 'warning') io.err(`${formatDiagnostic(d)}\n`);
  const plan = planTwin(built.model);
  const planErrors = plan.diagnostics.filter((d) => d.severity === 'error');
  if (planErrors.length > 0) throw new InputError(planErrors);
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
    );
  }
  return Number(value);
}
