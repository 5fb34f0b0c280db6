import { describe, expect, it, vi } from 'vitest';
import { loadDocuments } from './load.js';

// What the `yaml` package is asked to read, to see that a diagnostic reads one element, not the file.
const read = vi.hoisted(() => [] as number[]);
vi.mock('./yaml-lib.js', async (importOriginal) => {
  const lib = await importOriginal<typeof import('./yaml-lib.js')>();
  const yaml = lib.yaml();
  const spied = {
    ...yaml,
    parseAllDocuments: (text: string, ...rest: unknown[]) => {
      read.push(text.length);
      return (yaml.parseAllDocuments as (...a: unknown[]) => unknown)(text, ...rest);
    },
  };
  return { ...lib, yaml: () => spied };
});

const pod = (i: number, extra: object = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'default' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ...extra }] },
  });

describe('a diagnostic in a large JSON dump reads only its own element for the line', () => {
  it.each([
    [
      'a List',
      (items: string[]) => `{"kind":"List","apiVersion":"v1","items":[\n${items.join(',\n')}\n]}`,
      7002,
    ],
    ['a top-level array', (items: string[]) => `[\n${items.join(',\n')}\n]`, 7002],
  ])('%s', (_name, write, line) => {
    const items = Array.from({ length: 20000 }, (_, i) => pod(i, i === 7000 ? { bogus: 1 } : {}));
    const text = write(items);
    read.length = 0;
    const r = loadDocuments([{ path: 'big.json', text }]);
    expect(r.diagnostics.map((d) => [d.code, d.line, d.field])).toEqual([
      ['k8s-unknown-field', line, 'spec.containers[0].bogus'],
    ]);
    expect(read).toEqual([items[7000]!.length]);
  });
});
