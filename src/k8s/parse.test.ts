import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  ItemSyntaxError,
  jsonElementLines,
  lineOf,
  parseFile,
  parseFileByItem,
  parseYamlSlow,
  type RawDocument,
} from './parse.js';

/** What a reader of `parseFile` sees, without the lazily built trees. */
function visible(r: ReturnType<typeof parseFile>) {
  return {
    documents: r.documents.map((d) => ({
      file: d.file,
      document: d.document,
      line: d.line,
      value: d.value,
    })),
    diagnostics: r.diagnostics,
  };
}

/** Lines of `items[i]` and of a field inside each item, as `load.ts` asks for them. */
function itemLines(d: RawDocument, field: string): (number | undefined)[][] {
  const items = (d.value as { items?: unknown }).items;
  if (!Array.isArray(items)) return [];
  return items.map((_, i) => {
    const src = d.itemSources?.[i];
    return [
      d.itemLines?.[i] ?? lineOf(d.source, ['items', i]),
      src ? lineOf(src, [field]) : lineOf(d.source, ['items', i, field]),
    ];
  });
}

function same(text: string): void {
  const fast = parseFile('f.yaml', text);
  const slow = parseYamlSlow('f.yaml', text);
  expect(visible(fast)).toEqual(visible(slow));
  fast.documents.forEach((d, i) => {
    const s = slow.documents[i];
    if (s) expect(itemLines(d, 'b')).toEqual(itemLines(s, 'b'));
  });
}

// Plain scalars whose reading differs between YAML 1.1 and 1.2, or between readers.
const PLAIN = [
  'yes',
  'no',
  'on',
  'off',
  'y',
  '010',
  '0o10',
  '0x1F',
  '0b11',
  '1_000',
  '2024-01-01',
  '2024-01-01T00:00:00Z',
  '12:30',
  '-0',
  '+12',
  '.5',
  '1.',
  '1e3',
  '-1.5E-3',
  '.inf',
  '-.Inf',
  '.NaN',
  '~',
  'null',
  'Null',
  'NULL',
  'true',
  'False',
  'TRUE',
  'abc',
  'a b',
  'k:{"x":1}',
  'x#y',
  '"q\\tx"',
  "'it''s'",
  '[1, two, {a: b}]',
  '{a: 1, b: [x]}',
  '{}',
  '[]',
  '',
  '12345678901234567890',
  '=',
  '!!str 1',
  '! 12',
];
const KEYS = ['a', 'b', 'name', 'k:{"x":1}', 'yes', 'on', '1', '010', 'true', 'f:spec', '.', 'x y'];

type Tree = string | { seq: Tree[] } | { map: [string, Tree][] };
const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...PLAIN),
    fc.record({ seq: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({
      map: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie('node')), {
        maxLength: 4,
        selector: (p) => p[0],
      }),
    }),
  ),
})).node;

/** Block YAML with plain scalars written as they are: both readers must resolve them alike. */
function emit(t: Tree, indent: string): string {
  if (typeof t === 'string') return ` ${t}\n`;
  if ('seq' in t) {
    if (t.seq.length === 0) return ' []\n';
    return `\n${t.seq.map((v) => `${indent}-${emit(v, `${indent}  `)}`).join('')}`;
  }
  if (t.map.length === 0) return ' {}\n';
  return `\n${t.map.map(([k, v]) => `${indent}${k}:${emit(v, `${indent}  `)}`).join('')}`;
}

describe('parseFile fast path reads YAML as the yaml package does', () => {
  it.each([
    ['1.1 booleans stay strings', 'a: yes\nb: on\nc: No\n'],
    ['octal and underscores', 'a: 010\nb: 0o10\nc: 1_000\nd: 0x1F\n'],
    ['timestamps stay strings', 'a: 2024-01-01\nb: 2024-01-01T10:00:00Z\n'],
    ['signed zero and infinities', 'a: -0\nb: -.inf\nc: .NaN\n'],
    ['merge keys', 'base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n'],
    ['anchors and aliases', 'a: &x [1, 2]\nb: *x\n'],
    [
      'excessive aliases',
      `a: &x [1]\nb: [${Array.from({ length: 120 }, () => '*x').join(', ')}]\n`,
    ],
    ['null keys', '~: a\nnull: b\n'],
    ['collection keys', '? [a, b]\n: c\n[x]: y\n'],
    ['duplicate keys', 'a: 1\nb: 2\na: 3\n'],
    ['quoted duplicate keys', 'a: 1\n"a": 2\n'],
    ['unclosed quote', 'kind: Pod\nmetadata:\n  name: "x\n'],
    ['bad indentation', 'kind: Pod\nmetadata:\n  name: x\n   labels: {}\n'],
    ['tab indentation', 'a:\n\tb: 1\n'],
    ['unknown tag', 'a: !foo 1\n'],
    ['binary tag', 'a: !!binary aGk=\n'],
    [
      'multi-document with an error in the middle',
      'a: 1\n---\nb: [\n---\n# comment\n---\nc: 3\n---\n',
    ],
    ['comments before the first marker', '# head\n\n---\na: 1\n---   # c\nb: 2\n'],
    ['content on the marker line', '--- {a: 1}\n--- |\n  text\n'],
    ['directives', '%YAML 1.2\n---\na: 1\n...\n'],
    ['document end marker', 'a: 1\n...\n---\nb: 2\n'],
    ['scalar document', 'just text\n---\n- 1\n'],
    ['empty', ''],
    ['comments only', '# nothing\n'],
    ['CRLF', 'a: 1\r\n---\r\nb: [1, 2]\r\n'],
    [
      'a kubectl List',
      'apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  b: 1\n-\n  kind: Service\n  b: 2\n- # c\n  kind: Node\n\n  b: 3\nkind: List\nmetadata:\n  resourceVersion: ""\n',
    ],
    [
      'an indented items list',
      'kind: List\nitems:\n  - b: |\n      - not an item\n    c: 1\n  - b: 2\n',
    ],
    ['items not in block style', 'kind: List\nitems: [{b: 1}, {b: 2}]\n'],
    ['a list item of a list item', 'kind: List\nitems:\n- - b\n- b: 1\n'],
  ])('%s', (_name, text) => {
    same(text);
  });

  it('on random block documents of plain scalars', () => {
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 3 }), (docs) => {
        same(docs.map((d) => `---${emit(d, '')}`).join(''));
      }),
      { numRuns: 400, seed: 20261123 },
    );
  });

  it('on random JSON values written by the yaml package', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 3 }), (values) => {
        same(values.map((v) => `---\n${stringify(v)}`).join(''));
        same(values.map((v) => stringify({ kind: 'List', items: [v, v] })).join('---\n'));
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

/** The lines of a JSON List's items and its nesting, read from the `yaml` package's tree. */
function elementLinesByTree(text: string): { elements: number[]; depth: number } {
  const src = parseYamlSlow('f.json', text).documents[0]!;
  const value = src.value;
  const items = Array.isArray(value) ? value : (value as { items?: unknown }).items;
  const path = (i: number) => (Array.isArray(value) ? [i] : ['items', i]);
  const depthOf = (v: unknown): number =>
    typeof v === 'object' && v !== null
      ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf))
      : 0;
  return {
    elements: Array.isArray(items) ? items.map((_, i) => lineOf(src.source, path(i))!) : [],
    depth: depthOf(value),
  };
}

describe('jsonElementLines finds what the yaml package finds, in one scan', () => {
  it.each([
    ['a List', '{"kind": "List",\n "items": [\n  {"a": 1},\n\n  {"b": [2]}\n]}'],
    ['a top-level array', '[\n1,\n "x",\n {"y": []}\n]'],
    [
      'escaped quotes and backslashes',
      '{"items": [\n"a\\"", "b\\\\",\n"c\\\\\\"]"\n, {"\\"items": 1}]}',
    ],
    ['brackets and commas in strings', '{"k": "[{,", "items": [\n"]}",\n"{[,"]}'],
    ['items below the top', '{"spec": {"items": [\n1,\n2]}, "items": [\n3]}'],
    ['items before other keys', '{"items": [\n{}\n,\n[]], "kind": "List"}'],
    ['empty items', '{"items": [ ]}'],
    ['CRLF', '{"items": [\r\n1,\r\n2\r\n]}'],
  ])('%s', (_name, text) => {
    const scan = jsonElementLines(text);
    expect({ elements: scan.elements, depth: scan.depth }).toEqual(elementLinesByTree(text));
  });

  it('on random JSON written with and without indentation', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 5 }), fc.nat(4), (items, indent) => {
        // Indented as JSON.stringify writes it, or compact with one item a line (as kubectl's
        // and the scale bench's Lists are).
        const lines = `[\n${items.map((v) => JSON.stringify(v)).join(',\n')}\n]`;
        const texts =
          indent === 0
            ? [`{"kind":"List","items":${lines}}`, lines]
            : [
                JSON.stringify({ kind: 'List', items }, null, indent),
                JSON.stringify(items, null, indent),
              ];
        for (const text of texts) {
          const scan = jsonElementLines(text);
          expect({ elements: scan.elements, depth: scan.depth }).toEqual(elementLinesByTree(text));
        }
      }),
      { numRuns: 300, seed: 17 },
    );
  });
});

/** Every path to a value inside `v`. */
function pathsIn(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsIn(x, [...at, i])));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) out.push(...pathsIn(x, [...at, k]));
  return out;
}

describe('a JSON element read on its own gives the lines a reading of the whole file gives', () => {
  it('on random Lists and arrays, indented and one element a line', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(3),
        (items, indent) => {
          const lines = `[\n${items.map((v) => JSON.stringify(v)).join(',\n')}\n]`;
          const texts =
            indent === 0
              ? [`{"kind":"List","items":${lines}}`, lines]
              : [
                  JSON.stringify({ kind: 'List', items }, null, indent),
                  JSON.stringify(items, null, indent),
                ];
          for (const text of texts) {
            const whole = parseYamlSlow('f.json', text).documents[0]!.source;
            const read = parseFile('f.json', text).documents;
            const list = text.startsWith('{');
            items.forEach((item, i) => {
              const own = list ? read[0]!.itemSources![i]! : read[i]!.source;
              for (const p of pathsIn(item)) {
                expect(lineOf(own, p)).toBe(lineOf(whole, list ? ['items', i, ...p] : [i, ...p]));
              }
            });
          }
        },
      ),
      { numRuns: 200, seed: 23 },
    );
  });
});

describe('the sources kept for diagnostics do not keep the parsed values alive', () => {
  // A collection on demand (the flag set after start is honoured for a new context's `gc`).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  it.each([
    ['a JSON List', `{"kind":"List","items":[\n{"a":{"b":1}},\n{"a":{"b":2}}\n]}`],
    ['a JSON array', `[\n{"a":{"b":1}},\n{"a":{"b":2}}\n]`],
    ['a YAML List', `kind: List\nitems:\n- a:\n    b: 1\n- a:\n    b: 2\n`],
    ['YAML documents', `a:\n  b: 1\n---\na:\n  b: 2\n`],
  ])('%s', async (_name, text) => {
    const read = (): { sources: unknown[]; values: WeakRef<object>[] } => {
      const { documents } = parseFile('f', text);
      const values: WeakRef<object>[] = [];
      const sources: unknown[] = [];
      for (const d of documents) {
        values.push(new WeakRef(d.value as object));
        sources.push(d.source, ...(d.itemSources ?? []));
        for (const item of (d.value as { items?: object[] }).items ?? [])
          values.push(new WeakRef(item));
      }
      return { sources, values };
    };
    const { sources, values } = read();
    await new Promise((r) => setTimeout(r, 0)); // a WeakRef holds its target until the job ends
    gc();
    expect(sources.length).toBeGreaterThan(0);
    expect(values.map((v) => v.deref())).toEqual(values.map(() => undefined));
  });
});

/** A List read item by item, its items parsed: what `parseFile` gives for the same text. */
function byItem(text: string) {
  const r = parseFileByItem('f.json', text);
  const d = r.documents[0];
  const lazy = d?.lazyItems;
  if (!d || !lazy) return undefined;
  const items = Array.from({ length: lazy.count }, (_, i) => lazy.value(i));
  return {
    value: { ...(d.value as object), items },
    line: d.line,
    itemLines: Array.from({ length: lazy.count }, (_, i) => lazy.line(i)),
    sources: Array.from({ length: lazy.count }, (_, i) => lazy.source(i)),
  };
}

describe('a JSON List read item by item reads as the whole text does', () => {
  const list = fc.array(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 })), {
    minLength: 1,
    maxLength: 4,
  });
  const write = (items: unknown[], indent: number, kind = 'List'): string =>
    indent === 0
      ? `{"kind":"${kind}","items":[\n${items.map((v) => JSON.stringify(v)).join(',\n')}\n]}`
      : JSON.stringify({ apiVersion: 'v1', items, kind, metadata: {} }, null, indent);

  it('values, lines and the lines of every field, on random Lists', () => {
    fc.assert(
      fc.property(list, fc.nat(3), (items, indent) => {
        const text = write(items, indent, indent === 2 ? 'PodList' : 'List');
        const whole = parseFile('f.json', text).documents[0]!;
        const read = byItem(text)!;
        expect(read.value).toEqual(whole.value);
        expect(read.line).toBe(whole.line);
        expect(read.itemLines).toEqual(whole.itemLines);
        items.forEach((item, i) => {
          for (const p of pathsIn(item))
            expect(lineOf(read.sources[i]!, p)).toBe(lineOf(whole.itemSources![i]!, p));
        });
      }),
      { numRuns: 200, seed: 29 },
    );
  });

  it('items that all parse are the items of the whole text, on random edits of a List', () => {
    // Newlines and a `{` at a line's start fool the reading by lines: an item that does not parse.
    const edit = fc.tuple(
      fc.nat(),
      fc.constantFrom('', ',', '"', '[', ']', '{', '}', ':', 'x', '\\', '\n', '\n{', '\n{"b":{'),
    );
    fc.assert(
      fc.property(
        list,
        fc.nat(2),
        fc.array(edit, { minLength: 1, maxLength: 2 }),
        (items, indent, edits) => {
          let text = write(items, indent);
          for (const [at, c] of edits) {
            const i = at % text.length;
            // Insert c, or delete the character when c is empty.
            text =
              c === ''
                ? text.slice(0, i) + text.slice(i + 1)
                : text.slice(0, i) + c + text.slice(i);
          }
          let whole: unknown;
          try {
            whole = JSON.parse(text);
          } catch {
            whole = undefined;
          }
          let read: ReturnType<typeof byItem>;
          try {
            read = byItem(text);
          } catch (e) {
            // An item that is not one JSON value: loadDocuments reads the file whole.
            expect(e).toBeInstanceOf(ItemSyntaxError);
            return;
          }
          if (read === undefined) return; // not read item by item: parseFile reads it
          expect(whole).toBeDefined();
          expect(read.value).toEqual(whole);
        },
      ),
      { numRuns: 1000, seed: 31 },
    );
  });

  it.each([
    ['a kind that is not a List', '{"kind":"Pod","items":[\n{"a":1}\n]}'],
    ['no items', '{"kind":"List","items":[]}'],
    ['a later items field that is not a list', '{"kind":"List","items":[\n{"a":1}\n],"items":5}'],
    ['a top-level array', '[\n{"a":1}\n]'],
    ['YAML', 'kind: List\nitems:\n- a: 1\n'],
    ['an envelope that is not JSON', '{"kind":"List",,"items":[\n{"a":1}\n]}'],
    [
      'a later items field spelled with escapes',
      '{"kind":"List","items":[\n{"a":1}\n],"\\u0069tems":[]}',
    ],
  ])('%s is read whole', (_name, text) => {
    const read = parseFileByItem('f', text);
    expect(read.documents.some((d) => d.lazyItems !== undefined)).toBe(false);
    expect(visible(read)).toEqual(visible(parseFile('f', text)));
  });
});
