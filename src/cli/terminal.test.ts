/**
 * Terminal habits of the real tools: `conntrack -L` prints its summary line
 * on stderr, so `rules --only conntrack` does too and stdout is the listing
 * alone (a script can count its lines). The closed-pipe case (`… | head -1`)
 * needs a real process: the package test (test/package.test.ts) runs it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';

const FILES = { 'examples/two-nodes.yaml': readFileSync('examples/two-nodes.yaml', 'utf8') };

async function cli(args: string[]) {
  const io = memoryIo(FILES);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

const RULES = ['rules', '-f', 'examples/two-nodes.yaml', '--node', 'node-1'];

describe('rules: conntrack -L summary on stderr', () => {
  it.each([
    {
      name: 'after a trace',
      extra: ['--after-trace', '--from', 'frontend', '--to', 'svc/store-be:80'],
      n: 1,
    },
    { name: 'on a fresh twin', extra: [], n: 0 },
  ])('$name', async ({ extra, n }) => {
    const r = await cli([...RULES, '--only', 'conntrack', ...extra]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been shown.\n`,
    );
    expect(r.out).not.toContain('flow entries');
    expect(r.out.split('\n').filter((l) => l !== '')).toHaveLength(n);
  });
  it('the full report keeps it at the end of its section, stderr quiet', async () => {
    const r = await cli(RULES);
    expect(r.out).toContain(
      '# conntrack -L (node-1)\nconntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n',
    );
    expect(r.err).toBe('');
  });
});
