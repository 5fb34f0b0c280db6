import { describe, expect, it } from 'vitest';
import { main, pluginize } from './main.js';
import { memoryIo } from './io.js';

describe('as kubectl packeteye', () => {
  it.each([
    [
      '  packeteye trace -f x.yaml --from a --to b',
      '  kubectl packeteye trace -f x.yaml --from a --to b',
    ],
    ['Usage: packeteye rules [options]', 'Usage: kubectl packeteye rules [options]'],
    ['  cat x.yaml | packeteye reach -f -', '  cat x.yaml | kubectl packeteye reach -f -'],
    ['  kubectl packeteye trace --from a', '  kubectl packeteye trace --from a'],
    ['Run packeteye COMMAND --help', 'Run kubectl packeteye COMMAND --help'],
    ['a bug in packeteye; please', 'a bug in packeteye; please'],
    ['kubectl-packeteye on PATH', 'kubectl-packeteye on PATH'],
  ])('%s', (text, want) => expect(pluginize(text)).toBe(want));

  it('every example in the help of every command is spelled for kubectl', async () => {
    for (const cmd of [[], ['trace'], ['rules'], ['reach'], ['iptables', 'trace']]) {
      const io = memoryIo();
      expect(await main([...cmd, '--help'], io, { asKubectlPlugin: true })).toBe(0);
      expect(io.stdout).toMatch(/^Usage: kubectl packeteye /);
      for (const line of io.stdout.split('\n'))
        if (/^\s+(cat \S+ \| )?(kubectl )?packeteye [a-z]/.test(line))
          expect(line).toMatch(/kubectl packeteye [a-z]/);
    }
  });
});
