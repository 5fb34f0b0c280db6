/**
 * `packeteye drift [-f FILE…] --node-state [NODE=]DIR… [-o text|json|yaml]`:
 * per node, what the twin would install (kube-proxy, the CNI, the cloud
 * agent) against what the node holds (a bundle from packeteye node collect):
 * missing and extra rules, chains, routes, permanent neighbours, tunnel FDB
 * entries and IP sets, each with its owner and the Service or pod it serves.
 */
import type { Command } from 'commander';
import { formatDiagnostic, InputError } from '../diag.js';
import { driftNode, type DriftItem, type NodeDrift } from '../live/drift.js';
import { TWIN_KINDS } from '../live/kubectl.js';
import { loadPlan } from './cluster.js';
import { document } from '../render/document.js';
import type { Io } from './io.js';
import { clusterSources, FILE_HELP, type LiveOpts } from './live.js';
import { readNodeStateArg } from './node-state.js';
import { progress, toYaml } from './output.js';

interface DriftOpts extends LiveOpts {
  nodeState: string[];
  output: string;
  namespace?: string;
}

const OUTPUTS = ['text', 'json', 'yaml'];

const EXAMPLES = `
Examples:
  # What worker-1 holds against what its components should have written (the current context)
  kubectl packeteye node collect worker-1 -o worker-1.state
  kubectl packeteye drift --node-state worker-1.state

  # A bundle collected on the node, against the cluster as files
  packeteye drift -f cluster.yaml --node-state node-1=./node-1.state -o yaml
`;

const KIND_TITLES: Record<DriftItem['kind'], string> = {
  chain: 'iptables chains',
  rule: 'iptables rules',
  route: 'routes',
  neigh: 'neighbours (permanent)',
  fdb: 'FDB (tunnel entries)',
  ipset: 'IP sets',
  'ipset-entry': 'IP set members',
};

export function renderDrift(d: NodeDrift, dir: string): string {
  const out: string[] = [];
  out.push(
    d.items.length === 0
      ? `node ${d.node} (${dir}): no drift`
      : `node ${d.node} (${dir}): ${d.items.length} difference${d.items.length === 1 ? '' : 's'} (missing: the twin has it, the node does not; extra: the node has it, the twin does not)`,
  );
  for (const kind of Object.keys(KIND_TITLES) as DriftItem['kind'][]) {
    const items = d.items.filter((i) => i.kind === kind);
    if (items.length === 0) continue;
    out.push(`  ${KIND_TITLES[kind]}`);
    for (const i of items) {
      const where = i.table !== undefined ? `${i.table} ` : '';
      const who = `[${i.owner}${i.serves ? `; ${i.serves}` : ''}]`;
      out.push(`    ${i.change.padEnd(7)} ${where}${i.text}  ${who}`);
    }
  }
  const byOwner = new Map<string, { missing: number; extra: number }>();
  for (const i of d.items) {
    const c = byOwner.get(i.owner) ?? { missing: 0, extra: 0 };
    c[i.change]++;
    byOwner.set(i.owner, c);
  }
  if (byOwner.size > 0)
    out.push(
      `  by owner: ${[...byOwner].map(([o, c]) => `${o} ${c.missing} missing, ${c.extra} extra`).join('; ')}`,
    );
  for (const n of d.notes) out.push(`  note: ${n}`);
  return `${out.join('\n')}\n`;
}

export function register(program: Command, io: Io): void {
  program
    .command('drift')
    .description(
      "Compare nodes' collected state with what the twin would install: missing and extra rules, chains, routes, neighbours, FDB entries, IP sets, by owner",
    )
    .option('-f, --file <files...>', FILE_HELP)
    .requiredOption('--node-state <dirs...>', '[NODE=]DIR: a bundle from packeteye node collect')
    .option('-n, --namespace <ns>', 'without -f: where to read kinds refused at cluster scope')
    .option('-o, --output <format>', 'text | json | yaml', 'text')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: DriftOpts) => {
      if (!OUTPUTS.includes(opts.output))
        throw InputError.of(
          'bad-output',
          `-o ${JSON.stringify(opts.output)} is not one of ${OUTPUTS.join(', ')}`,
          {
            field: '--output',
          },
        );
      const p = progress(io);
      const src = await clusterSources(io, opts, TWIN_KINDS, opts.namespace);
      const plan = loadPlan(src.io, src.files, p);
      const bundles = opts.nodeState.map((arg) => readNodeStateArg(plan, arg));
      const twin = plan.instantiate({ nodes: bundles.map((b) => b.node) });
      const drifts = bundles.map((b) => ({
        dir: b.dir,
        drift: driftNode(twin, b.node, b.bundle, b.dir),
      }));
      for (const { drift } of drifts) {
        const errors = drift.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length > 0) throw new InputError(errors);
        for (const d of drift.diagnostics)
          if (d.severity === 'warning') io.err(`${formatDiagnostic(d)}\n`);
      }
      if (opts.output === 'json' || opts.output === 'yaml') {
        const doc = document('NodeDrift', {
          nodes: drifts.map(({ dir, drift }) => ({
            node: drift.node,
            bundle: dir,
            items: drift.items,
            notes: drift.notes,
          })),
        });
        io.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc));
      } else io.out(drifts.map(({ dir, drift }) => renderDrift(drift, dir)).join('\n'));
    });
}
