/**
 * `packeteye check [-f CLUSTER…] --expect FILE… [-o text|json|yaml|junit|tap]`:
 * connectivity expectations (check/expectations.ts) checked against the twin.
 * Without -f, the current kubectl context is read (cli/live.ts), every kind
 * the twin and the policy engine need.
 * Exit status: 0 when every expectation holds, 1 when one does not, 2 for bad
 * input (an unreadable file, a statement that cannot be read, a ref that
 * names nothing: file, statement index and field).
 */
import type { Command } from 'commander';
import { formatDiagnostic, InputError, type Diagnostic } from '../diag.js';
import { evaluateExpectations, type CheckContext } from '../trace/check/evaluate.js';
import { parseExpectations, type ExpectationsFile } from '../trace/check/expectations.js';
import { policyCatalog } from '../trace/check/targets.js';
import { policyEnforcement } from '../policy/enforcer.js';
import { buildPolicyWorld } from '../policy/world.js';
import { checkJson, renderCheckJunit, renderCheckTap, renderCheckText } from '../render/check.js';
import type { Cluster } from '../k8s/types.js';
import type { TwinPlan } from '../twin/index.js';
import { loadPlan, readInputs } from './cluster.js';
import { ExitStatus } from './exit.js';
import type { Io } from './io.js';
import { progress, toYaml } from './output.js';
import { loadSources } from './reach.js';
import { readOnce } from './read-once.js';
import { addLiveOptions, clusterSources, FILE_HELP, type LiveOpts } from './live.js';
import { POLICY_KINDS, TWIN_KINDS, type KindSpec } from '../live/kubectl.js';

/** What a check reads from a live cluster: the twin's kinds and the admin policies. */
const CHECK_KINDS: readonly KindSpec[] = [
  ...TWIN_KINDS,
  ...POLICY_KINDS.filter((k) => !TWIN_KINDS.some((t) => t.resource === k.resource)),
];

const OUTPUTS = ['text', 'json', 'yaml', 'junit', 'tap'] as const;
type Output = (typeof OUTPUTS)[number];

export const EXIT_FAILED = 1;

interface CheckOpts extends LiveOpts {
  expect?: string[];
  output?: string;
}

const EXAMPLES = `
Examples:
  # Every statement of the file, checked; exit 1 when one does not hold
  packeteye check -f examples/policy-calico.yaml --expect examples/expectations/store.yaml

  # In CI: JUnit XML for the test report
  packeteye check -f k8s/ --expect expectations/ -o junit > packeteye.xml

  # The cluster of the current kubectl context, as it is now
  packeteye check --expect expectations/ -A

An expectations file (apiVersion: packeteye.dev/v1alpha1, kind: ConnectivityExpectations):
  spec:
    expectations:
      - reach: {from: store/fe-1, to: svc/store/be:8080}
      - noReach: {from: store/fe-1, to: store/db-1, port: TCP/6379}
      - noInternetIngress: {namespace: store}
      - keepsClientAddress: {from: host/user, to: lb/default/web-local:80}
      - reachOnly: {from: store/db-1, to: []}
`;

export function readExpectations(io: Io, paths: readonly string[]): ExpectationsFile[] {
  if (paths.length === 0)
    throw InputError.of(
      'no-input',
      'no expectations file given',
      { field: '--expect' },
      'pass --expect FILE',
    );
  const files: ExpectationsFile[] = [];
  const errors: Diagnostic[] = [];
  for (const input of readInputs(io, paths)) {
    const r = parseExpectations(input.path, input.text);
    files.push(...r.files);
    errors.push(...r.diagnostics);
  }
  if (errors.length > 0) throw new InputError(errors);
  return files;
}

export function register(program: Command, io: Io): void {
  const cmd = program
    .command('check')
    .description('Check connectivity expectations against the twin: exit 1 when one does not hold')
    .option('-f, --file <files...>', FILE_HELP)
    .requiredOption('--expect <files...>', 'ConnectivityExpectations files or directories')
    .option('-o, --output <format>', 'text | json | yaml | junit | tap', 'text');
  addLiveOptions(cmd, 'without -f: read every namespace (the default for check)')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: CheckOpts) => {
      const output = (opts.output ?? 'text') as Output;
      if (!OUTPUTS.includes(output))
        throw InputError.of(
          'bad-output',
          `-o ${JSON.stringify(opts.output)} is not one of ${OUTPUTS.join(', ')}`,
          { field: '--output' },
          'e.g. -o junit for CI, -o json for a program',
        );
      const expectations = readExpectations(io, opts.expect ?? []);
      // Expectations name pods across namespaces: a live read is cluster-wide.
      const src = await clusterSources(io, opts, CHECK_KINDS, undefined);
      const fio = readOnce(src.io);
      const files = src.files;
      const loaded = loadSources(fio, files);
      const world = buildPolicyWorld(loaded.sources);
      // The cluster reading's own warnings were written by loadSources; these are the policies'.
      const said = new Set(loaded.diagnostics.map((d) => `${d.object}\u0000${d.field}`));
      const diagnostics = world.diagnostics.filter((d) => !said.has(`${d.object}\u0000${d.field}`));
      const errors = diagnostics.filter((d) => d.severity === 'error');
      if (errors.length > 0) throw new InputError(errors);
      const objects = loaded.sources.map((s) => s.object);
      const cluster = objects.find(
        (o): o is Cluster => (o as { kind?: string }).kind === 'Cluster',
      );
      const enforcement = policyEnforcement(
        cluster,
        world.policies.length + world.admin.length + (world.baseline ? 1 : 0),
      );
      if (enforcement.diagnostic) diagnostics.push(enforcement.diagnostic);
      let plan: TwinPlan | undefined;
      const p = progress(io);
      const ctx: CheckContext = {
        catalog: policyCatalog(world, objects),
        // The twin is planned only when a statement needs a trace; its loader reports the
        // input's warnings itself then.
        plan: () => (plan ??= loadPlan(fio, files, p)),
      };
      const dataPlane = expectations.some((f) =>
        f.statements.some(
          (s) => s.kind === 'keepsClientAddress' || ('via' in s && s.via === 'dataplane'),
        ),
      );
      const shown = dataPlane ? world.diagnostics : diagnostics;
      for (const d of shown) if (d.severity === 'warning') io.err(`${formatDiagnostic(d)}\n`);
      if (dataPlane && enforcement.diagnostic)
        io.err(`${formatDiagnostic(enforcement.diagnostic)}\n`);
      const n = expectations.reduce((a, f) => a + f.statements.length, 0);
      p.update(`checking ${n} expectation${n === 1 ? '' : 's'}…`);
      let report;
      try {
        report = evaluateExpectations(ctx, expectations);
      } finally {
        p.done();
      }
      if (output === 'json') io.out(`${JSON.stringify(checkJson(report), null, 2)}\n`);
      else if (output === 'yaml') io.out(toYaml(checkJson(report)));
      else if (output === 'junit') io.out(renderCheckJunit(report));
      else if (output === 'tap') io.out(renderCheckTap(report));
      else io.out(renderCheckText(report));
      if (report.results.some((r) => !r.holds)) throw new ExitStatus(EXIT_FAILED);
    });
}
