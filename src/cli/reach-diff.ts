/**
 * `packeteye reach --diff -f BEFORE… --against AFTER…`: which pairs and ports
 * a change opens and which it cuts, grouped by the policies that cause each
 * change (check/diff.ts). BEFORE and AFTER are files or directories — a
 * checkout of the manifests before the change and one after it.
 */
import { formatDiagnostic, InputError } from '../diag.js';
import { diffReach } from '../trace/check/diff.js';
import type { PolicyWorld } from '../policy/model.js';
import { buildPolicyWorld } from '../policy/world.js';
import { diffJson, renderDiffText } from '../render/reach-diff.js';
import type { Io } from './io.js';
import { progress, toYaml } from './output.js';
import { loadSources } from './reach.js';

function world(io: Io, files: readonly string[], side: string): PolicyWorld {
  const loaded = loadSources(io, files);
  const w = buildPolicyWorld(loaded.sources);
  // The cluster reading's own warnings were written by loadSources; these are the policies'.
  const said = new Set(loaded.diagnostics.map((d) => `${d.object}\u0000${d.field}`));
  const diagnostics = w.diagnostics.filter((d) => !said.has(`${d.object}\u0000${d.field}`));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InputError(errors);
  for (const d of diagnostics)
    if (d.severity === 'warning') io.err(`${side}: ${formatDiagnostic(d)}\n`);
  return w;
}

export function runReachDiff(
  io: Io,
  before: readonly string[],
  after: readonly string[] | undefined,
  format: string,
): void {
  if (after === undefined || after.length === 0)
    throw InputError.of(
      'reach-diff-no-after',
      '--diff compares -f (before) with --against (after); no --against given',
      { field: '--against' },
      'e.g. packeteye reach --diff -f old/ --against new/',
    );
  if (!['table', 'json', 'yaml'].includes(format))
    throw InputError.of(
      'reach-bad-output',
      `-o ${JSON.stringify(format)}: --diff writes table (text), json or yaml`,
      { field: '--output' },
    );
  const b = world(io, before, 'before');
  const a = world(io, after, 'after');
  const p = progress(io);
  p.update(`diffing ${b.pods.length} pods before and ${a.pods.length} after…`);
  let d;
  try {
    d = diffReach(b, a);
  } finally {
    p.done();
  }
  const files = { before, after };
  if (format === 'json') io.out(`${JSON.stringify(diffJson(d, files), null, 2)}\n`);
  else if (format === 'yaml') io.out(toYaml(diffJson(d, files)));
  else io.out(renderDiffText(d, files));
}
