/**
 * `packeteye reach --diff -f BEFORE… --against AFTER…`: which pairs and ports
 * a change opens and which it cuts, grouped by the policies that cause each
 * change (check/diff.ts). BEFORE and AFTER are files or directories — a
 * checkout of the manifests before the change and one after it. When the
 * change also touches what the data plane is built from (a Service, its
 * endpoints, a node, the Cluster's CNI or kube-proxy settings), the
 * connections it can affect are traced in both twins (check/dataplane-diff.ts),
 * at most --max-traces of them.
 */
import { formatDiagnostic, InputError } from '../diag.js';
import { diffReach } from '../trace/check/diff.js';
import {
  dataplaneScope,
  diffDataplane,
  scopeIsEmpty,
  DEFAULT_MAX_TRACES,
  type DataplaneDiff,
} from '../trace/check/dataplane-diff.js';
import type { PolicyWorld } from '../policy/model.js';
import { buildPolicyWorld } from '../policy/world.js';
import { diffJson, renderDiffText } from '../render/reach-diff.js';
import type { TwinSession } from '../twin/session.js';
import { parseIntOption, readCluster } from './cluster.js';
import type { Io } from './io.js';
import { progress, toYaml } from './output.js';

function world(
  io: Io,
  files: readonly string[],
  side: string,
): { world: PolicyWorld; session: TwinSession } {
  const { session, diagnostics: read } = readCluster(io, files);
  const w = buildPolicyWorld(session.policySources().sources);
  // The cluster reading's own warnings were written by readCluster; these are the policies'.
  const said = new Set(read.map((d) => `${d.object}\u0000${d.field}`));
  const diagnostics = w.diagnostics.filter((d) => !said.has(`${d.object}\u0000${d.field}`));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InputError(errors);
  for (const d of diagnostics)
    if (d.severity === 'warning') io.err(`${side}: ${formatDiagnostic(d)}\n`);
  return { world: w, session };
}

/** The session's plan, with what it cannot model said once, prefixed by the side. */
function planOf(io: Io, s: TwinSession, side: string) {
  const plan = s.plan();
  for (const d of plan.diagnostics)
    if (d.severity !== 'info') io.err(`${side}: ${formatDiagnostic(d)}\n`);
  return plan;
}

export function runReachDiff(
  io: Io,
  before: readonly string[],
  after: readonly string[] | undefined,
  format: string,
  maxTraces?: string,
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
  const max = parseIntOption(maxTraces, '--max-traces', 0, 100000) ?? DEFAULT_MAX_TRACES;
  const b = world(io, before, 'before');
  const a = world(io, after, 'after');
  const p = progress(io);
  p.update(`diffing ${b.world.pods.length} pods before and ${a.world.pods.length} after…`);
  let d;
  let dp: DataplaneDiff | undefined;
  try {
    d = diffReach(b.world, a.world);
    if (max > 0 && !scopeIsEmpty(dataplaneScope(b.session.model, a.session.model))) {
      p.update('tracing the connections the data-plane change can affect, in both twins…');
      dp = diffDataplane(planOf(io, b.session, 'before'), planOf(io, a.session, 'after'), {
        maxTraces: max,
      });
    }
  } finally {
    p.done();
  }
  const files = { before, after };
  if (format === 'json') io.out(`${JSON.stringify(diffJson(d, files, dp), null, 2)}\n`);
  else if (format === 'yaml') io.out(toYaml(diffJson(d, files, dp)));
  else io.out(renderDiffText(d, files, dp));
}
