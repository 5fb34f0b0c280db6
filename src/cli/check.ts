/**
 * `packeteye check -f CLUSTER… --expect FILE… [-o text|json|yaml|junit|tap]`:
 * connectivity expectations (check/expectations.ts) checked against the twin.
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

const OUTPUTS = ['text', 'json', 'yaml', 'junit', 'tap'] as const;
type Output = (typeof OUTPUTS)[number];

export const EXIT_FAILED = 1;

interface CheckOpts {
  file?: string[];
  expect?: string[];
  output?: string;
}

const EXAMPLES = `
Examples:
  # Every statement of the file, checked; exit 1 when one does not hold
  packeteye check -f examples/policy-calico.yaml --expect examples/expectations/store.yaml

  # In CI: JUnit XML for the test report
  packeteye check -f k8s/ --expect expectations/ -o junit > packeteye.xml

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
  program
    .command('check')
    .description('Check connectivity expectations against the twin: exit 1 when one does not hold')
    .requiredOption(
      '-f, --file <files...>',
      'cluster files or directories (YAML/JSON; - for stdin)',
    )
    .requiredOption('--expect <files...>', 'ConnectivityExpectations files or directories')
    .option('-o, --output <format>', 'text | json | yaml | junit | tap', 'text')
    .addHelpText('after', EXAMPLES)
    .action((opts: CheckOpts) => {
      const fio = readOnce(io);
      const output = (opts.output ?? 'text') as Output;
      if (!OUTPUTS.includes(output))
        throw InputError.of(
          'bad-output',
          `-o ${JSON.stringify(opts.output)} is not one of ${OUTPUTS.join(', ')}`,
          { field: '--output' },
          'e.g. -o junit for CI, -o json for a program',
        );
      const expectations = readExpectations(io, opts.expect ?? []);
      const loaded = loadSources(fio, opts.file ?? []);
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
        plan: () => (plan ??= loadPlan(fio, opts.file ?? [], p)),
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
