/**
 * cli/: the `packeteye` command, the only floor that touches the world
 * (files, stdin/stdout/stderr, the environment, kubectl). Below it nothing
 * reads a file or the clock; here the inputs are read, the models built,
 * and a view from render/ written.
 *
 *   main.ts      the program: wires the subcommands, maps outcomes to exit status
 *   commands.ts  the list of subcommands (each module exports register(program, io)),
 *                each loaded only when the command line needs it
 *   io.ts        the doors to the world: files in, text out (memoryIo for tests)
 *   cluster.ts   -f FILE|DIR|- read and modelled, shared by trace, rules, reach
 *   live.ts      without -f: the current kubectl context
 *   output.ts    -o yaml from the JSON document, progress on stderr
 *   exit.ts      exit statuses
 *   trace.ts, rules.ts, reach.ts, iptables.ts, check.ts, completion.ts: one subcommand each
 *
 * Exit status: 0 when the command ran (whatever the packet's fate), 2 for bad
 * input (with diagnostics naming file, object and field), 1 when `check`
 * finds an expectation that does not hold.
 */
import { Command, CommanderError } from 'commander';
import { InputError, InternalError, formatDiagnostic } from '../diag.js';
import { processIo, type Io } from './io.js';
import { commandsFor, loadCommands, registerCommands } from './commands.js';
import { ExitStatus } from './exit.js';

export const EXIT_OK = 0;
export const EXIT_INPUT = 2;

const EXAMPLES = `
Examples:
  packeteye trace -f examples/two-nodes.yaml --from frontend --to svc/store-be:80
  packeteye rules -f examples/two-nodes.yaml --node node-1 --only iptables
  packeteye reach -f examples/three-tier-policy.yaml --port TCP/80

-f takes files, directories (their *.yaml, *.yml, *.json) or - for stdin;
what kubectl get -A -o yaml writes is read as is. Run packeteye COMMAND --help for more.
`;

/** How the command was invoked: `packeteye`, or as kubectl's plugin (`kubectl packeteye`). */
export interface Invocation {
  readonly asKubectlPlugin?: boolean;
}

/** Help and usage say `kubectl packeteye …` when kubectl ran us as its plugin. */
export function pluginize(text: string): string {
  return text.replace(/(?<![\w-]|kubectl )packeteye(?= [a-zA-Z-]|\n|$)/gm, 'kubectl packeteye');
}

/**
 * The program with every loaded subcommand registered (`loadCommands` first:
 * `main` loads what its command line needs).
 */
export function buildProgram(io: Io, how: Invocation = {}): Command {
  const say = how.asKubectlPlugin ? pluginize : (s: string) => s;
  const program = new Command(how.asKubectlPlugin ? 'kubectl packeteye' : 'packeteye')
    .description('A digital twin of Kubernetes networking: follow a packet through real rules')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(say(s)), writeErr: (s) => io.err(say(s)) })
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText('after', EXAMPLES);
  registerCommands(program, io);
  return program;
}

export async function main(
  argv: readonly string[],
  io: Io = processIo(),
  how: Invocation = {},
): Promise<number> {
  await loadCommands(commandsFor(argv));
  const program = buildProgram(io, how);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof ExitStatus) return e.code;
    if (e instanceof InputError) {
      for (const d of e.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
      return EXIT_INPUT;
    }
    if (e instanceof CommanderError) {
      // Help and version are successful exits; everything else is a usage error.
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      ) {
        return EXIT_OK;
      }
      return EXIT_INPUT;
    }
    // The diagnostic's message and code, without its severity: "internal error" says it.
    const msg =
      e instanceof InternalError
        ? `${e.diagnostic.message} [${e.diagnostic.code}]`
        : e instanceof Error
          ? e.message
          : String(e);
    io.err(
      `packeteye: internal error: ${msg}\nThis is a bug in packeteye; please report it with the command line and input.\n`,
    );
    return 1;
  }
}
