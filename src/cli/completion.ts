/**
 * `packeteye completion bash|zsh|fish`: a shell completion script generated
 * from the program's own commands and options when it runs, so it lists
 * exactly what the program accepts. zsh loads the bash function through
 * bashcompinit; fish gets its own `complete` lines, with each command's and
 * option's description.
 *
 *   source <(packeteye completion bash)
 *   packeteye completion fish | source
 */
import type { Command } from 'commander';
import { InputError } from '../diag.js';
import type { Io } from './io.js';

const SHELLS = ['bash', 'zsh', 'fish'];

/** Every command path (`''`, `trace`, `iptables trace`) with its subcommands and options. */
function table(cmd: Command, path = ''): { path: string; subs: string[]; opts: string[] }[] {
  const subs = cmd.commands.map((c) => c.name());
  const opts = cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
  const here = { path, subs, opts: [...opts, '--help'] };
  return [here, ...cmd.commands.flatMap((c) => table(c, path ? `${path} ${c.name()}` : c.name()))];
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The bash completion function for `program`, its name derived from the program's name. */
export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const rows = table(program);
  const steps = rows.flatMap((r) => r.subs.map((s) => quote(`${r.path}:${s}`))).join('|');
  const words = rows
    .map((r) => `    ${quote(r.path)}) words=${quote([...r.subs, ...r.opts].join(' '))} ;;`)
    .join('\n');
  return `# ${name} completion for bash (and zsh through bashcompinit)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" words="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$path:$w" in
      ${steps}) path="\${path:+$path }$w" ;;
    esac
  done
  case "$path" in
${words}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn} ${name.split(' ').at(-1)}
`;
}

/**
 * The fish completions for `program`: a function that finds the command path
 * typed so far, then per path its subcommands and its options (an option
 * that takes a value completes it as fish does, with files).
 */
export function fishCompletion(program: Command): string {
  const name = program.name().split(' ').at(-1)!;
  const fn = `__${name.replace(/[^A-Za-z0-9_]/g, '_')}_at`;
  const fq = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines: string[] = [];
  const walk = (cmd: Command, path: string): void => {
    const when = `-n ${fq(`${fn} ${fq(path)}`)}`;
    for (const c of cmd.commands)
      lines.push(`complete -c ${name} ${when} -f -a ${fq(c.name())} -d ${fq(c.description())}`);
    for (const o of cmd.options) {
      const flags = [
        o.short ? `-s ${o.short.slice(1)}` : '',
        o.long ? `-l ${o.long.slice(2)}` : '',
        o.required || o.optional ? '-r' : '',
      ].filter((x) => x !== '');
      lines.push(`complete -c ${name} ${when} ${flags.join(' ')} -d ${fq(o.description)}`);
    }
    lines.push(`complete -c ${name} ${when} -l help -d 'display help for command'`);
    for (const c of cmd.commands) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, '');
  const paths = table(program)
    .map((r) => r.path)
    .filter((p) => p !== '');
  return `# ${name} completion for fish: ${name} completion fish | source
# ${fn} PATH: whether the command typed so far is PATH ('' for ${name} itself)
function ${fn}
    set -l paths ${paths.map(fq).join(' ')}
    set -l path ''
    for w in (commandline -opc)[2..-1]
        set -l next (string join ' ' -- $path $w | string trim)
        contains -- $next $paths; and set path $next
    end
    test "$path" = "$argv[1]"
end
complete -c ${name} -e
${lines.join('\n')}
`;
}

export function register(program: Command, io: Io): void {
  program
    .command('completion')
    .description('Print a shell completion script: source <(packeteye completion bash)')
    .argument('<shell>', SHELLS.join(' | '))
    .addHelpText(
      'after',
      `
Examples:
  # Completion in this bash session (add the line to ~/.bashrc to keep it)
  source <(packeteye completion bash)

  # fish, kept (fish loads it by itself)
  packeteye completion fish > ~/.config/fish/completions/packeteye.fish
`,
    )
    .action((shell: string) => {
      if (!SHELLS.includes(shell))
        throw InputError.of(
          'bad-shell',
          `${JSON.stringify(shell)} is not one of ${SHELLS.join(', ')}`,
          { field: 'shell' },
          'e.g. packeteye completion bash',
        );
      if (shell === 'fish') {
        io.out(fishCompletion(program));
        return;
      }
      const bash = bashCompletion(program);
      io.out(shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${bash}` : bash);
    });
}
