/**
 * `packeteye completion bash|zsh`: a shell completion script generated from
 * the program's own commands and options when it runs, so it lists exactly
 * what the program accepts. zsh loads the bash function through bashcompinit.
 *
 *   source <(packeteye completion bash)
 */
import type { Command } from 'commander';
import { InputError } from '../diag.js';
import type { Io } from './io.js';

const SHELLS = ['bash', 'zsh'];

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
  packeteye completion bash
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
      const bash = bashCompletion(program);
      io.out(shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${bash}` : bash);
    });
}
