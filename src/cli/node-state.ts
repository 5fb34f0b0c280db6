/**
 * `--node-state [NODE=]DIR...` on `trace` and `rules`: nodes run on the state
 * collected from them (packeteye node collect) instead of the state the twin
 * generated. The bundle names its node (manifest metadata.name, the node's
 * hostname); NODE= says which node when the hostname is not the Node's name.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatDiagnostic, InputError } from '../diag.js';
import { closeMatches } from '../trace/refs.js';
import type { TwinPlan } from '../twin/index.js';
import { loadState, readBundle, withNodeStates, type LoadedState } from '../live/state.js';
import type { Io } from './io.js';

export const NODE_STATE_HELP =
  "[NODE=]DIR: run NODE on the state collected from it (packeteye node collect) instead of the twin's";

export function addNodeStateOption(cmd: Command): Command {
  return cmd.option('--node-state <dirs...>', NODE_STATE_HELP);
}

/** A bundle directory's files, name → text. */
export function readBundleDir(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  try {
    if (!statSync(dir).isDirectory())
      throw InputError.of(
        'node-state-not-dir',
        'not a directory',
        { file: dir },
        'give the directory packeteye node collect wrote',
      );
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isFile()) files.set(e.name, readFileSync(join(dir, e.name), 'utf8'));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw InputError.of(
      'file-unreadable',
      `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: dir },
    );
  }
  return files;
}

/**
 * One --node-state argument (`DIR` or `NODE=DIR`): the bundle read, and the
 * Node of the model it belongs to (named, or the bundle's own node name).
 */
export function readNodeStateArg(
  plan: TwinPlan,
  arg: string,
): { node: string; dir: string; bundle: NonNullable<ReturnType<typeof readBundle>['bundle']> } {
  const eq = arg.indexOf('=');
  const named = eq > 0 && !arg.slice(0, eq).includes('/') ? arg.slice(0, eq) : undefined;
  const dir = named !== undefined ? arg.slice(eq + 1) : arg;
  const r = readBundle(dir, readBundleDir(dir));
  if (!r.bundle) throw new InputError(r.diagnostics);
  const node = named ?? r.bundle.manifest.metadata.name;
  if (!plan.model.nodes.has(node)) {
    const near = closeMatches(node, [...plan.model.nodes.keys()]);
    throw InputError.of(
      'node-state-unknown-node',
      `the bundle is of ${node}, which is not a Node of the cluster`,
      { file: dir, field: '--node-state' },
      `say which node it is: --node-state NODE=${dir}${near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : ''}`,
    );
  }
  return { node, dir, bundle: r.bundle };
}

/** The bundles behind --node-state, each matched to a Node of the model. */
export function loadNodeStates(io: Io, plan: TwinPlan, args: readonly string[]): LoadedState[] {
  const out: LoadedState[] = [];
  for (const arg of args) {
    const { node, dir, bundle } = readNodeStateArg(plan, arg);
    if (out.some((s) => s.node === node))
      throw InputError.of('node-state-twice', `two bundles for node ${node}`, {
        file: dir,
        field: '--node-state',
      });
    out.push(loadState(node, { dir, bundle }));
  }
  void io;
  return out;
}

/** The plan with --node-state applied; its diagnostics printed (errors: exit 2). */
export function applyNodeStates(
  io: Io,
  plan: TwinPlan,
  args: readonly string[] | undefined,
): TwinPlan {
  if (args === undefined || args.length === 0) return plan;
  const states = loadNodeStates(io, plan, args);
  const r = withNodeStates(plan, states);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new InputError(errors);
  for (const d of r.diagnostics) if (d.severity === 'warning') io.err(`${formatDiagnostic(d)}\n`);
  for (const s of states)
    io.err(
      `packeteye: ${s.node} runs on the state collected in ${s.dir}${s.iptables ? ` (${s.iptables.file}` : ' ('}${s.routes ? ', ip-route.json' : ''}${s.ipsetSave !== '' ? ', ipset.save' : ''}${s.iptables?.compiled.nft && s.iptables.file !== 'nft.ruleset' ? ', nft.ruleset' : ''})\n`,
    );
  return r.plan;
}
