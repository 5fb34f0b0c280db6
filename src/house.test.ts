/**
 * The import graph against DESIGN.md's layer order: a folder of src/ imports
 * only folders below it (or itself), and no two folders import each other.
 * Every source file counts, type-only imports too, and so do the test
 * helpers under `testing/` folders (as the layer they sit in); the tests
 * themselves (`*.test.ts`) are not checked here.
 *
 * eslint.config.js holds the order (LAYER_RANK) and turns it into a
 * `no-restricted-imports` rule per folder, so an editor flags a wrong arrow
 * as it is typed; this test is the one a comment cannot switch off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** DESIGN.md's order, lowest first (one table, in eslint.config.js, for the lint rule and this test). */
const { LAYER_RANK } = (await import(
  pathToFileURL(path.resolve(import.meta.dirname, '../eslint.config.js')).href
)) as { LAYER_RANK: Readonly<Record<string, number>> };

/**
 * Arrows against the order that are known and owned elsewhere, each to be
 * removed when its file moves. An entry that no longer occurs fails the test,
 * so the list only shrinks.
 */
const KNOWN_BACK_ARROWS: readonly string[] = [];

const SRC = path.resolve(import.meta.dirname);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sourceFiles(p));
    } else if (/\.ts$/.test(e.name) && !/\.test\.ts$|\.d\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The top folder of src/ a path sits in (`kernel`, `trace`…), or a top-level file's name. */
function topOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!.replace(/\.js$/, '.ts');
}

interface Arrow {
  readonly from: string;
  readonly to: string;
}

function importArrows(): Arrow[] {
  const arrows: Arrow[] = [];
  for (const f of sourceFiles(SRC)) {
    const sf = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, false);
    const visit = (n: ts.Node): void => {
      const spec =
        (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) &&
        n.moduleSpecifier &&
        ts.isStringLiteral(n.moduleSpecifier)
          ? n.moduleSpecifier.text
          : ts.isImportTypeNode(n) &&
              ts.isLiteralTypeNode(n.argument) &&
              ts.isStringLiteral(n.argument.literal)
            ? n.argument.literal.text
            : // A dynamic import (`import('./reach.js')`, a subcommand loaded when asked for).
              ts.isCallExpression(n) &&
                n.expression.kind === ts.SyntaxKind.ImportKeyword &&
                n.arguments[0] !== undefined &&
                ts.isStringLiteral(n.arguments[0])
              ? n.arguments[0].text
              : undefined;
      if (spec?.startsWith('.')) {
        const to = path.resolve(path.dirname(f), spec);
        if (to.startsWith(SRC + path.sep))
          arrows.push({ from: path.relative(SRC, f), to: path.relative(SRC, to) });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return arrows;
}

const arrows = importArrows();
const rank = (file: string): number | undefined => LAYER_RANK[topOf(path.join(SRC, file))];

describe('the house: imports follow the layer order', () => {
  it('reads the arrows (value, type-only and testing/ helpers alike)', () => {
    const has = (from: string, to: RegExp): boolean =>
      arrows.some((a) => a.from === from && to.test(a.to));
    expect(has('twin/index.ts', /^kernel\//)).toBe(true);
    expect(has('kernel/stack/path.ts', /^kernel\/host\.js$/)).toBe(true); // import type
    expect(arrows.some((a) => a.from.includes('/testing/'))).toBe(true);
  });

  it('every folder of src/ has a place in the order', () => {
    const folders = fs
      .readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')))
      .map((e) => e.name);
    expect(folders.filter((f) => LAYER_RANK[f] === undefined)).toEqual([]);
  });

  it('no arrow points up or sideways between folders', () => {
    const back = arrows
      .filter((a) => {
        const from = topOf(path.join(SRC, a.from));
        const to = topOf(path.join(SRC, a.to));
        return from !== to && (rank(a.from) ?? 99) <= (rank(a.to) ?? 99);
      })
      .map((a) => `${a.from} -> ${a.to}`);
    expect(back.filter((b) => !KNOWN_BACK_ARROWS.includes(b))).toEqual([]);
    expect(KNOWN_BACK_ARROWS.filter((k) => !back.includes(k))).toEqual([]);
  });

  it('no two folders import each other', () => {
    const edges = new Set(
      arrows
        .map((a) => [topOf(path.join(SRC, a.from)), topOf(path.join(SRC, a.to))] as const)
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => `${a}>${b}`),
    );
    const cycles = [...edges]
      .map((e) => e.split('>') as [string, string])
      .filter(([a, b]) => a < b && edges.has(`${b}>${a}`))
      .map(([a, b]) => `${a}<->${b}`);
    expect(cycles).toEqual([]);
  });

  it('the stages of kernel/stack import no stage above them (no cycle)', () => {
    // A call upward (br_dev_xmit, netif_receive_skb from a bridge, IP output
    // for a driver) goes through stack/path.ts `upcalls`, as the kernel's
    // own calls go through device and protocol pointers.
    const stage = /^kernel\/stack\/(?!index\.)/;
    const next = new Map<string, string[]>();
    for (const a of arrows) {
      const to = a.to.replace(/\.js$/, '.ts');
      if (stage.test(a.from) && stage.test(to)) next.set(a.from, [...(next.get(a.from) ?? []), to]);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of next.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of next.keys()) visit(f, []);
    expect(next.size).toBeGreaterThan(5);
    expect(cycles).toEqual([]);
  });

  it('the namespace state in kernel/ does not import the packet path', () => {
    // kernel/stack/* and network.ts walk packets through hosts; host, links,
    // routing, neighbours, sockets and netfilter are what they walk through.
    const path_ = /^kernel\/(stack\/|network\.ts$|ipip\.ts$|vxlan\.ts$|tunnel\.ts$|testing\/)/;
    const up = arrows
      .filter(
        (a) =>
          a.from.startsWith('kernel/') &&
          !path_.test(a.from) &&
          a.from !== 'kernel/index.ts' &&
          a.from !== 'kernel/netfilter/install.ts' &&
          path_.test(a.to.replace(/\.js$/, '.ts')),
      )
      .map((a) => `${a.from} -> ${a.to}`);
    expect(up).toEqual([]);
  });
});

describe('the house: test helpers live in testing/ folders', () => {
  // What ships is what the entry points reach: the library and CLI entries,
  // every folder's index.ts (its face to the floors above, whether or not a
  // command uses it yet), the benchmarks and the fuzzers (package.json
  // `files` leaves out `dist/**/testing`, `dist/bench` and `dist/cli/fuzz`).
  // A source file none of them reaches is used by tests alone, so it
  // belongs in a testing/ folder.
  const ENTRIES = [
    'index.ts',
    'cli/main.ts',
    'bench/run.ts',
    'cli/fuzz/run.ts',
    ...sourceFiles(SRC)
      .map((f) => path.relative(SRC, f))
      .filter((f) => path.basename(f) === 'index.ts' && !f.split(path.sep).includes('testing')),
  ];

  it('every source file outside testing/ is reached from an entry point', () => {
    const out = new Map<string, string[]>();
    for (const a of arrows) {
      const to = a.to.replace(/\.js$/, '.ts');
      out.set(a.from, [...(out.get(a.from) ?? []), to]);
    }
    const seen = new Set<string>();
    const todo = [...ENTRIES];
    for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...(out.get(f) ?? []));
    }
    expect(ENTRIES.filter((e) => !fs.existsSync(path.join(SRC, e)))).toEqual([]);
    const stray = sourceFiles(SRC)
      .map((f) => path.relative(SRC, f))
      .filter((f) => !seen.has(f) && !f.split(path.sep).includes('testing'));
    expect(stray).toEqual([]);
  });
});
