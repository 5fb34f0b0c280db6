import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { buildProgram, main } from './main.js';

async function script(shell: string) {
  const io = memoryIo();
  const code = await main(['completion', shell], io);
  return { code, out: io.stdout, err: io.stderr };
}

/** What bash completes after `words` (the last one being completed). */
function complete(bash: string, words: string[]): string[] {
  const run = spawnSync(
    'bash',
    [
      '-c',
      `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _packeteye; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\n').filter((l) => l !== '');
}

function allCommands(c: Command, path: string[] = []): string[][] {
  return c.commands.flatMap((s) => [[...path, s.name()], ...allCommands(s, [...path, s.name()])]);
}

describe('packeteye completion', () => {
  it('bash accepts the script (bash -n)', async () => {
    const r = await script('bash');
    expect(r.code).toBe(0);
    const n = spawnSync('bash', ['-n'], { input: r.out, encoding: 'utf8' });
    expect(n.status, n.stderr).toBe(0);
  });

  it('zsh: the same function, loaded through bashcompinit', async () => {
    const [b, z] = [await script('bash'), await script('zsh')];
    expect(z.out).toBe(`autoload -U +X bashcompinit && bashcompinit\n${b.out}`);
  });

  it('refuses another shell', async () => {
    const r = await script('tcsh');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"tcsh" is not one of bash, zsh/);
  });

  it("completes every command and each command's options, from the program itself", async () => {
    const bash = (await script('bash')).out;
    const program = buildProgram(memoryIo());
    const cmds = allCommands(program);
    expect(cmds.map((c) => c.join(' '))).toEqual(
      expect.arrayContaining(['trace', 'rules', 'reach', 'iptables trace', 'completion']),
    );
    for (const path of cmds) {
      const parent = path.slice(0, -1);
      expect(complete(bash, ['packeteye', ...parent, ''])).toContain(path.at(-1));
    }
    for (const [words, want] of [
      [['packeteye', 'tr'], ['trace']],
      [['packeteye', 'trace', '--fr'], ['--from']],
      [['packeteye', 'trace', '-f', 'x.yaml', '--all-p'], ['--all-paths']],
      [['packeteye', 'iptables', 'trace', '--rul'], ['--rules']],
    ] as const) {
      expect(complete(bash, [...words]), words.join(' ')).toEqual(want);
    }
  });
});
