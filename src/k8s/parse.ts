/**
 * Text to raw documents: YAML (any number of `---` documents) or JSON, with
 * the source positions kept so that later diagnostics can name the line of
 * the offending field, not only the document.
 *
 * YAML means the `yaml` package's reading (YAML 1.2 core schema, as
 * sigs.k8s.io/yaml's JSON-compatible reading mostly agrees with); a file
 * that looks like JSON and fails as YAML is retried with `JSON.parse`, whose
 * error position is translated to line and column.
 *
 * The `yaml` package keeps every node's position and reads about 1 MB/s; a
 * 20 MB `kubectl get -A -o yaml` dump would take 20 s. So documents are
 * read with `js-yaml` (no positions, ~10× faster) under a schema that
 * resolves plain scalars exactly as the `yaml` package's core schema does,
 * and the `yaml` package's tree is built only when a diagnostic asks for a
 * line — per List item, not for the whole dump. A document js-yaml rejects,
 * or that uses what the two readers treat differently (anchors and aliases:
 * the `yaml` package caps alias expansion; `<<` merge keys; null and
 * collection keys; directives), is read with the `yaml` package as before,
 * so errors and warnings keep their exact message, line and column.
 */
import type { Node as YamlNode } from 'yaml';
import type { Diagnostic } from '../diag.js';
import {
  type SourceRef,
  once,
  type RawDocument,
  type LazyItems,
  ItemSyntaxError,
  jsonElementLines,
  childSource,
  lazyTree,
  type Path,
} from './parse-source.js';
import { MAX_NESTING, deepestNesting, parseYamlSlow } from './parse-slow.js';
import { closing, parseYamlFast } from './parse-fast.js';
import { yaml } from './yaml-lib.js';

/** How a JSON text is read for lines: as before, the whole reading's options. */
const JSON_OPTIONS = { logLevel: 'error' } as const;

export {
  childSource,
  formatPath,
  isCheap,
  ItemSyntaxError,
  jsonElementLines,
  lineOf,
  parsePath,
  scalarSource,
  type LazyItems,
  type Path,
  type RawDocument,
  type SourceRef,
} from './parse-source.js';
export { MAX_NESTING, deepestNesting, parseYamlSlow } from './parse-slow.js';

/** A slice's document contents, the node its source stands for. */
const contents = (c: YamlNode | null): YamlNode | undefined => c ?? undefined;

/**
 * The whole JSON text's tree, read only when a diagnostic asks for a line.
 * Made here, not in parseFile: a closure made there would keep parseFile's
 * variables (the parsed value, every raw item) alive as long as the sources.
 */
function wholeTextSource(text: string): SourceRef {
  const root = once((): SourceRef => {
    const { LineCounter, parseAllDocuments } = yaml();
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, logLevel: 'error' });
    const first = Array.isArray(docs) ? docs[0] : undefined;
    return { node: (first?.contents as YamlNode | null) ?? undefined, lines: lc };
  });
  return { node: undefined, lines: undefined, lazy: root };
}

/** The items of a JSON List, each parsed from its own slice of the text. */
class JsonItems implements LazyItems {
  constructor(
    private readonly text: string,
    private readonly scan: JsonScan,
  ) {}

  get count(): number {
    return this.scan.starts.length;
  }

  value(i: number): unknown {
    const from = this.scan.starts[i]!;
    const to = this.scan.ends[i]!;
    // Deeper than packeteye reads: the whole reading says so, with its line.
    if (this.scan.depthKnown === false && itemDepth(this.text, from, to) > MAX_NESTING)
      throw new ItemSyntaxError('nested too deep');
    try {
      return JSON.parse(this.text.slice(from, to));
    } catch (e) {
      throw new ItemSyntaxError((e as Error).message);
    }
  }

  line(i: number): number {
    return this.scan.elements[i]!;
  }

  source(i: number): SourceRef {
    // A literal, not a class instance: one outlives the reading for each item, and V8
    // allocates a literal that survives in the old generation (no young copy).
    const src: ItemSource = {
      node: undefined,
      lines: undefined,
      lazy: itemTree,
      items: this,
      i,
      read: undefined,
    };
    return src;
  }

  /** Item `i`'s tree, read from its own text. */
  tree(i: number): SourceRef {
    const { starts, ends, elements } = this.scan;
    return lazyTree(this.text, starts[i]!, ends[i]!, elements[i]!, JSON_OPTIONS, contents).lazy!();
  }
}

/**
 * An item's source: its items and its index, nothing more (one for each of
 * 150,000 items), its tree read when a diagnostic asks for a line and kept.
 */
interface ItemSource extends SourceRef {
  readonly node: undefined;
  readonly lines: undefined;
  readonly items: JsonItems;
  readonly i: number;
  read: SourceRef | undefined;
}

/** An item source's `lazy`, called as its method (`resolve`). */
function itemTree(this: ItemSource): SourceRef {
  return (this.read ??= this.items.tree(this.i));
}

type JsonScan = ReturnType<typeof jsonElementLines> & {
  /** False when `depth` was not found (jsonItemsByLine): each item's is checked as it is read. */
  readonly depthKnown?: boolean;
};

/** Space, tab, CR or LF. */
function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * The items of a JSON List laid out by lines — one item a line, or indented
 * as `kubectl get -o json` and JSON.stringify write it — found without
 * reading every character (jsonElementLines reads them all): the text up to
 * the first item is scanned, each later item starts on a line indented as
 * the first and opening with `{`, and ends at the comma before the next; the
 * last ends at its closing bracket, which the items' `]` follows. Undefined
 * when the text is not laid out so. A wrong guess is an item whose text is
 * not one JSON value: reading it throws ItemSyntaxError and the file is read
 * whole (jsonListByItem says why a guess that parses is right).
 */
function jsonItemsByLine(text: string): JsonScan | undefined {
  const head = jsonElementLines(text, true);
  const s0 = head.starts[0];
  const line0 = head.elements[0];
  if (s0 === undefined || line0 === undefined || text.charCodeAt(s0) !== 123) return undefined;
  const indent = text.slice(text.lastIndexOf('\n', s0) + 1, s0);
  if (!/^[ \t]*$/.test(indent)) return undefined;
  const starts = [s0];
  const elements = [line0];
  let line = line0;
  for (let nl = text.indexOf('\n', s0); nl !== -1; nl = text.indexOf('\n', nl + 1)) {
    line++;
    const at = nl + 1 + indent.length;
    if (text.charCodeAt(at) === 123 && (indent === '' || text.startsWith(indent, nl + 1))) {
      starts.push(at);
      elements.push(line);
    }
  }
  const ends: number[] = [];
  for (let i = 1; i < starts.length; i++) {
    let e = starts[i]! - 1;
    while (e > starts[i - 1]! && isSpace(text.charCodeAt(e))) e--;
    if (text.charCodeAt(e) !== 44) return undefined; // not `},` before the next item
    ends.push(e);
  }
  const close = closing(text, starts[starts.length - 1]!);
  if (close === -1) return undefined;
  let end = close + 1;
  while (end < text.length && isSpace(text.charCodeAt(end))) end++;
  if (text.charCodeAt(end) !== 93 || text.includes('"items"', end)) return undefined;
  ends.push(end);
  return { top: head.top, elements, starts, ends, depth: 0, deepestLine: 1, depthKnown: false };
}

/** How many of `c` are in `text[from, to)`, counted up to `max + 1`: indexOf's native scan, not a loop over every character. */
function countUpTo(text: string, c: string, from: number, to: number, max: number): number {
  let n = 0;
  for (let i = text.indexOf(c, from); i !== -1 && i < to && n <= max; i = text.indexOf(c, i + 1))
    n++;
  return n;
}

/**
 * How deep an item nests, counted from the document's top (the List and its
 * items are two levels), or a bound of it when that bound is within the limit.
 * Only an item that JSON.parse then reads needs the answer (one it rejects
 * sends the file to the whole reading, which finds the depth itself).
 */
function itemDepth(text: string, from: number, to: number): number {
  const max = MAX_NESTING - 2;
  // Cheapest bound, from the length and the few `[` (not every `{`): in JSON each of d levels
  // but the innermost takes its two brackets, and an object's the key and colon (`"":`) of the
  // member holding the next level. With a of them arrays, that is at least 5(d - 1 - a) + 2a + 2
  // characters, so d <= (length + 3a + 3) / 5, and a is at most the `[` in the text.
  const squares = countUpTo(text, '[', from, to, max);
  if (squares <= max) {
    const bound = Math.floor((to - from + 3 * squares + 3) / 5);
    if (bound <= max) return 2 + bound;
  }
  // Then: no deeper than its opening brackets.
  const brackets =
    squares > max ? squares : squares + countUpTo(text, '{', from, to, max - squares);
  return 2 + (brackets <= max ? brackets : jsonElementLines(text.slice(from, to)).depth);
}

/**
 * A JSON `*List` object as its envelope (every field but the items, read
 * with `JSON.parse` on the text without them) and its items, each read on
 * its own when asked for; undefined when the text is not laid out so (no
 * items, a kind that is not a List, nesting past the limit, an envelope
 * that is not JSON): the whole text is then read at once.
 *
 * The same values as a reading of the whole text: the scan found the items'
 * array as the top-level object's last `items` field, and the text between
 * two items is a comma and white space; when the envelope is JSON and each
 * item is JSON, so is the whole, and JSON's grammar has one reading of it.
 */
function jsonListByItem(file: string, text: string, scan: JsonScan): RawDocument | undefined {
  const { starts, ends } = scan;
  const n = starts.length;
  if (n === 0 || ends.length !== n || scan.depth > MAX_NESTING) return undefined;
  // A later key spelled with escapes (`"\u0069tems"`) is an `items` field the scan does not
  // see, and it would win: after the items, no escapes.
  if (text.indexOf('\\', ends[n - 1]) !== -1) return undefined;
  let envelope: unknown;
  const envelopeText = text.slice(0, starts[0]) + text.slice(ends[n - 1]);
  try {
    envelope = JSON.parse(envelopeText);
  } catch {
    return undefined;
  }
  if (scan.depthKnown === false && jsonElementLines(envelopeText).depth > MAX_NESTING)
    return undefined;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope))
    return undefined;
  const { kind, items } = envelope as { kind?: unknown; items?: unknown };
  if (typeof kind !== 'string' || !kind.endsWith('List')) return undefined;
  if (!Array.isArray(items) || items.length !== 0) return undefined;
  return {
    file,
    document: 1,
    line: scan.top,
    value: envelope,
    source: wholeTextSource(text),
    lazyItems: new JsonItems(text, scan),
  };
}

/**
 * `parseFile`, except that a JSON `*List` (kubectl get -o json) comes back
 * with its items read one at a time (`RawDocument.lazyItems`): a reader that
 * decodes each item and drops it never holds the whole raw tree. When an
 * item turns out not to be JSON, `lazyItems.value` throws `ItemSyntaxError`
 * and the caller reads the file with `parseFile`, which words the error.
 */
export function parseFileByItem(
  file: string,
  text: string,
): { documents: RawDocument[]; diagnostics: Diagnostic[] } {
  if (/^\s*\{/.test(text)) {
    const byLine = jsonItemsByLine(text);
    const byLineDoc = byLine && jsonListByItem(file, text, byLine);
    if (byLineDoc) return { documents: [byLineDoc], diagnostics: [] };
    const scan = jsonElementLines(text);
    const doc = jsonListByItem(file, text, scan);
    if (doc) return { documents: [doc], diagnostics: [] };
    return parseText(file, text, scan);
  }
  return parseText(file, text, undefined);
}

/**
 * Parses one file into raw documents. Never throws: malformed input becomes
 * `k8s-parse` diagnostics with file, line and column and the parser's
 * message; the documents that did parse are still returned.
 */
export function parseFile(
  file: string,
  text: string,
): { documents: RawDocument[]; diagnostics: Diagnostic[] } {
  return parseText(file, text, undefined);
}

function parseText(
  file: string,
  text: string,
  scanned: JsonScan | undefined,
): { documents: RawDocument[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: RawDocument[] = [];
  const tooDeep = (deep: { depth: number; line: number }): boolean => {
    if (deep.depth <= MAX_NESTING) return false;
    diagnostics.push({
      code: 'k8s-too-deep',
      severity: 'error',
      message: `nested more than ${MAX_NESTING} levels deep (line ${deep.line}): packeteye reads YAML and JSON nested at most ${MAX_NESTING} levels`,
      file,
      line: deep.line,
      hint: 'Kubernetes objects nest a few dozen levels; this is not a manifest or a kubectl dump',
    });
    return true;
  };
  if (/^\s*[[{]/.test(text)) {
    // JSON (kubectl get -o json): JSON.parse is two orders of magnitude
    // faster than a YAML parse; the YAML tree is built only for diagnostics.
    // For JSON, JSON.parse (which does not recurse) reads first and one scan of
    // the text gives both the items' lines and how deep it nests.
    let value: unknown;
    let ok = true;
    try {
      value = JSON.parse(text);
    } catch {
      ok = false; // maybe YAML flow style; fall through to the YAML parser
    }
    if (ok) {
      const { top, elements, starts, ends, depth, deepestLine } = scanned ?? jsonElementLines(text);
      if (tooDeep({ depth, line: deepestLine })) return { documents, diagnostics };
      const rootRef = wholeTextSource(text);
      // Each element is read on its own when a diagnostic asks for a line in it: one
      // element's text, not the whole file (a YAML reading of 100 MB takes minutes).
      const list = Array.isArray(value) ? value : (value as { items?: unknown } | null)?.items;
      const element = (i: number, path: Path): SourceRef =>
        Array.isArray(list) && starts.length === list.length && ends.length === list.length
          ? lazyTree(text, starts[i]!, ends[i]!, elements[i]!, JSON_OPTIONS, contents)
          : childSource(rootRef, path);
      if (Array.isArray(value)) {
        value.forEach((v, i) =>
          documents.push({
            file,
            document: i + 1,
            line: elements[i] ?? top,
            value: v,
            source: element(i, [i]),
          }),
        );
      } else {
        documents.push({
          file,
          document: 1,
          line: top,
          value,
          source: rootRef,
          itemLines: elements,
          ...(Array.isArray(list)
            ? { itemSources: list.map((_, i) => element(i, ['items', i])) }
            : {}),
        });
      }
      return { documents, diagnostics };
    }
  }
  if (tooDeep(deepestNesting(text))) return { documents, diagnostics };
  const fast = /^\s*[[{]/.test(text) ? undefined : parseYamlFast(file, text);
  return fast ?? parseYamlSlow(file, text);
}
