/**
 * The list of subcommands. Each module exports `register(program, io)`.
 */
import type { Command } from 'commander';
import type { Io } from './io.js';
import { register as reach } from './reach.js';
import { register as iptables } from './iptables.js';
import { register as trace } from './trace.js';
import { register as rules } from './rules.js';

type Register = (program: Command, io: Io) => void;

const commands: Register[] = [reach, iptables, trace, rules];

export function registerCommands(program: Command, io: Io): void {
  for (const register of commands) register(program, io);
}
