import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { buildProgram, main } from './main.js';
import { loadCommands } from './commands.js';

// buildProgram registers the loaded commands; main loads what its command line needs.
await loadCommands();

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
    expect(r.err).toMatch(/"tcsh" is not one of bash, zsh, fish/);
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

  it('fish: the script parses, and real fish completes every command and its options', async () => {
    const fish = (await script('fish')).out;
    // fish -n FILE: a syntax error is a non-zero status (with -c it is not).
    const file = join(mkdtempSync(join(tmpdir(), 'pe-fish-')), 'packeteye.fish');
    writeFileSync(file, fish);
    const n = spawnSync('fish', ['--no-config', '-n', file], { encoding: 'utf8' });
    expect(n.status, n.stderr).toBe(0);
    writeFileSync(file, `${fish}\nif true\n`);
    expect(spawnSync('fish', ['--no-config', '-n', file]).status).not.toBe(0);
    rmSync(dirname(file), { recursive: true });
    const program = buildProgram(memoryIo());
    // One fish process answers every line asked: `complete -C LINE` per line, separated.
    const asks: { line: string; want: string; path: string[] }[] = [];
    for (const path of allCommands(program)) {
      asks.push({
        line: ['packeteye', ...path.slice(0, -1), ''].join(' '),
        want: path.at(-1)!,
        path,
      });
      let c: Command = program;
      for (const p of path) c = c.commands.find((x) => x.name() === p)!;
      for (const o of c.options)
        if (o.long)
          asks.push({
            line: ['packeteye', ...path, o.long.slice(0, 4)].join(' '),
            want: o.long,
            path,
          });
    }
    const body = asks.map((a) => `complete -C ${JSON.stringify(a.line)}; echo '@@'`).join('\n');
    const run = spawnSync('fish', ['--no-config', '-c', `${fish}\n${body}`], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const answers = run.stdout.split('@@\n');
    asks.forEach((a, i) => {
      const got = (answers[i] ?? '').split('\n').map((l) => l.split('\t')[0]);
      expect(got, `${a.line} → ${a.want}`).toContain(a.want);
    });
    expect(asks.length).toBeGreaterThan(50);
    // Options of one command are not offered under another.
    const other = spawnSync(
      'fish',
      ['--no-config', '-c', `${fish}\ncomplete -C 'packeteye reach --dpo'`],
      { encoding: 'utf8' },
    );
    expect(other.stdout).toBe('');
  });
});
