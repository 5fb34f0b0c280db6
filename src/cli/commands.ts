/**
 * The list of subcommands. Each module exports `register(program, io)`.
 *
 * A command's module (and what it imports: the cluster reader, the twin, the
 * renderers) is loaded only when the command line needs it: `loadCommands`
 * loads the modules `commandsFor(argv)` names, and `registerCommands`
 * registers the loaded ones. `packeteye --version` loads none, `packeteye
 * trace …` only trace's; help, completion, serve and anything unknown load
 * them all.
 */
import type { Command } from 'commander';
import type { Io } from './io.js';

type Register = (program: Command, io: Io) => void;

/** Each subcommand's name and module, in the order help lists them. */
const MODULES: readonly (readonly [string, () => Promise<{ register: Register }>])[] = [
  ['reach', () => import('./reach.js')],
  ['iptables', () => import('./iptables.js')],
  ['nft', () => import('./nft.js')],
  ['trace', () => import('./trace.js')],
  ['dns', () => import('./dns.js')],
  ['rules', () => import('./rules.js')],
  ['check', () => import('./check.js')],
  ['node', () => import('./node.js')],
  ['drift', () => import('./drift.js')],
  ['serve', () => import('./serve.js')],
  ['completion', () => import('./completion.js')],
];

export const COMMAND_NAMES: readonly string[] = MODULES.map(([name]) => name);

/** The commands that read the current kubectl context when -f is not given. */
const LIVE = new Set(['trace', 'dns', 'rules', 'reach', 'drift']);
/** The commands that take recorded node state (--node-state). */
const NODE_STATE = new Set(['trace', 'rules']);
/** Commands that need every other one registered (they list or run them). */
const NEED_ALL = new Set(['completion', 'serve']);

const loaded = new Map<string, Register>();
let live: typeof import('./live.js') | undefined;
let nodeState: typeof import('./node-state.js') | undefined;

/**
 * The commands a command line needs loaded: none for `--version` alone, the
 * named one for `packeteye NAME …`, every one otherwise (help lists them, an
 * unknown name is answered with the nearest, completion and serve use them).
 */
export function commandsFor(argv: readonly string[]): readonly string[] {
  const name = argv.find((a) => !a.startsWith('-'));
  if (name === undefined)
    return argv.length > 0 && argv.every((a) => a === '-V' || a === '--version')
      ? []
      : COMMAND_NAMES;
  return COMMAND_NAMES.includes(name) && !NEED_ALL.has(name) ? [name] : COMMAND_NAMES;
}

/** Loads the modules of `names` (every command by default); each once. */
export async function loadCommands(names: readonly string[] = COMMAND_NAMES): Promise<void> {
  await Promise.all(
    MODULES.filter(([name]) => names.includes(name) && !loaded.has(name)).map(
      async ([name, load]) => loaded.set(name, (await load()).register),
    ),
  );
  if (names.some((n) => LIVE.has(n))) live ??= await import('./live.js');
  if (names.some((n) => NODE_STATE.has(n))) nodeState ??= await import('./node-state.js');
}

/** Registers every loaded command (`loadCommands`), in help's order. */
export function registerCommands(program: Command, io: Io): void {
  for (const [name] of MODULES) loaded.get(name)?.(program, io);
  // The commands that read a cluster read the current kubectl context when -f is not given.
  for (const c of program.commands)
    if (LIVE.has(c.name()))
      live!.addLiveOptions(
        c,
        c.name() === 'reach'
          ? 'all namespaces (the default without -n)'
          : 'without -f: read every namespace (the default: the twin needs them all)',
      );
  for (const c of program.commands) if (NODE_STATE.has(c.name())) nodeState!.addNodeStateOption(c);
}
