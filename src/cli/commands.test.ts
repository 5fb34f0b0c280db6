import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, commandsFor, loadCommands } from './commands.js';
import { memoryIo } from './io.js';
import { buildProgram } from './main.js';

describe('the subcommands a command line loads', () => {
  const ALL = COMMAND_NAMES;
  it.each<[string[], readonly string[]]>([
    [['--version'], []],
    [['-V'], []],
    [['-V', '--version'], []],
    [[], ALL],
    [['--help'], ALL],
    [['-h'], ALL],
    [['--version', '--help'], ALL],
    [['reach', '-f', 'x.yaml', '--port', 'TCP/80'], ['reach']],
    [['trace', '--help'], ['trace']],
    [['iptables', 'trace', '-f', 'x.rules'], ['iptables']],
    [['help', 'trace'], ALL],
    [['completion', 'bash'], ALL],
    [['serve', '-f', 'x.yaml'], ALL],
    [['reac'], ALL],
  ])('%j loads %j', (argv, want) => {
    expect(commandsFor(argv)).toEqual(want);
  });

  it('names each command as its module registers it, in help order', async () => {
    await loadCommands();
    const program = buildProgram(memoryIo());
    expect(program.commands.map((c) => c.name())).toEqual(COMMAND_NAMES);
  });
});
