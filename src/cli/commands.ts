/**
 * The list of subcommands. Each module exports `register(program, io)`.
 */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { register as reach } from './reach.js';
import { register as iptables } from './iptables.js';
import { register as nft } from './nft.js';
import { register as trace } from './trace.js';
import { register as rules } from './rules.js';
import { register as node } from './node.js';
import { register as drift } from './drift.js';
import { addLiveOptions } from './live.js';
import { addNodeStateOption } from './node-state.js';
import { register as check } from './check.js';
import { register as completion } from './completion.js';
import { register as serve } from './serve.js';
import { register as dns } from './dns.js';

type Register = (program: Command, io: Io) => void;

const commands: Register[] = [
  reach,
  iptables,
  nft,
  trace,
  dns,
  rules,
  check,
  node,
  drift,
  serve,
  completion,
];

export function registerCommands(program: Command, io: Io): void {
  for (const register of commands) register(program, io);
  // The commands that read a cluster read the current kubectl context when -f is not given.
  for (const c of program.commands)
    if (['trace', 'dns', 'rules', 'reach', 'drift'].includes(c.name()))
      addLiveOptions(
        c,
        c.name() === 'reach'
          ? 'all namespaces (the default without -n)'
          : 'without -f: read every namespace (the default: the twin needs them all)',
      );
  for (const c of program.commands)
    if (['trace', 'rules'].includes(c.name())) addNodeStateOption(c);
}
