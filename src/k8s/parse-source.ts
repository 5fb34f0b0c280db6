/** Paths to fields and the source positions of raw documents: a field's line, its scalar's text, a child's source. */
import type { DocumentOptions, LineCounter, ParseOptions, Node as YamlNode } from 'yaml';
import { yaml } from './yaml-lib.js';

export type Path = readonly (string | number)[];

/** `spec.ports[0].targetPort`; keys with dots or slashes as `labels["app.kubernetes.io/name"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Inverse of `formatPath`. */
export function parsePath(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

/**
 * Where a value came from: its node in the YAML tree, to find lines of
 * fields. JSON files are read with `JSON.parse` (fast) and their tree is
 * built only if a diagnostic asks for a line (`lazy`).
 */
export interface SourceRef {
  readonly node: YamlNode | undefined;
  readonly lines: LineCounter | undefined;
  /** The source with its tree read; called as a method (`resolve`), not detached. */
  readonly lazy?: () => SourceRef;
}

export function resolve(src: SourceRef): SourceRef {
  return src.node === undefined && src.lazy !== undefined ? src.lazy() : src;
}

export function once<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v;
  };
}

/**
 * A LineCounter for a lazily parsed slice starting at line `line`: `linePos`
 * adds the lines before it, in constant space (the tree is only asked for
 * lines; error messages come from `offsetLineCounter`).
 */
function shiftedLineCounter(line: number): LineCounter {
  const lc = new (yaml().LineCounter)();
  const own = lc.linePos;
  lc.linePos = (offset: number) => {
    const p = own(offset);
    return { line: p.line + line - 1, col: p.col };
  };
  return lc;
}

/**
 * The `yaml` package's tree of `text[from, to)`, which starts on line
 * `line`, read only when a diagnostic asks for a line (then kept); `pick`
 * chooses the node (the document's contents, or the one element of a list
 * slice). One small object per source: a 150,000-item list has one each.
 */
class SliceSource implements SourceRef {
  readonly node = undefined;
  readonly lines = undefined;
  private tree: SourceRef | undefined;
  constructor(
    private readonly text: string,
    private readonly from: number,
    private readonly to: number,
    private readonly line: number,
    private readonly options: ParseOptions & DocumentOptions,
    private readonly pick: (contents: YamlNode | null) => YamlNode | undefined,
  ) {}

  get lazy(): () => SourceRef {
    return () => (this.tree ??= this.read());
  }

  private read(): SourceRef {
    const lc = shiftedLineCounter(this.line);
    const docs = yaml().parseAllDocuments(this.text.slice(this.from, this.to), {
      ...this.options,
      lineCounter: lc,
    });
    const first = Array.isArray(docs) ? docs[0] : undefined;
    return { node: this.pick((first?.contents as YamlNode | null | undefined) ?? null), lines: lc };
  }
}

export function lazyTree(
  text: string,
  from: number,
  to: number,
  line: number,
  options: ParseOptions & DocumentOptions,
  pick: (contents: YamlNode | null) => YamlNode | undefined,
): SourceRef {
  return new SliceSource(text, from, to, line, options, pick);
}

export interface RawDocument {
  readonly file: string;
  /** 1-based document index in the file. */
  readonly document: number;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  readonly value: unknown;
  readonly source: SourceRef;
  /** JSON only: the line of each element of the top-level `items` list, found without a YAML parse. */
  readonly itemLines?: readonly number[];
  /** YAML fast path: a source for each element of the top-level `items` list, parsed on demand from its own lines. */
  readonly itemSources?: readonly SourceRef[];
  /**
   * A JSON List read item by item (`parseFileByItem`): `value.items` is empty
   * and each item is parsed from its own text when asked for, so the raw
   * items are never all alive at once.
   */
  readonly lazyItems?: LazyItems;
}

/** The items of a JSON List, each read from its own text on demand. */
export interface LazyItems {
  readonly count: number;
  /** Item `i` parsed; throws `ItemSyntaxError` when its text is not JSON (the file is then read whole). */
  value(i: number): unknown;
  /** The 1-based line where item `i` starts. */
  line(i: number): number;
  /** Item `i`'s source, for the lines of its fields. */
  source(i: number): SourceRef;
}

/** An item of a List read item by item is not JSON: the whole file's reading words the error. */
export class ItemSyntaxError extends Error {}

/** True when finding a line costs no parse. */
export function isCheap(src: SourceRef): boolean {
  return src.node !== undefined || src.lazy === undefined;
}

/**
 * Lines of the elements of the JSON text's top-level array, or of the
 * `items` array of its top-level object: one linear scan, no tree.
 */
export function jsonElementLines(
  text: string,
  /** Stop at the first element (its line and start): the text before it is all that is read. */
  firstOnly = false,
): {
  top: number;
  elements: number[];
  /** Where each element's text starts and ends (offsets, end exclusive): its own reading for a diagnostic's line. */
  starts: number[];
  ends: number[];
  /** How deep the brackets nest (strings skipped), and the first line that deep: deepestNesting's JSON reading. */
  depth: number;
  deepestLine: number;
} {
  const elements: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let open = false; // an element is started and not yet ended
  let maxDepth = 0;
  let deepestLine = 1;
  let line = 1;
  let depth = 0;
  let top = 0;
  let lastKey: string | undefined;
  let pendingKey: string | undefined;
  let targetDepth = -1; // depth of the array whose elements we record
  let expectElement = false;
  let topIsArray = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (expectElement && c !== 93) {
      elements.push(line);
      starts.push(i);
      if (firstOnly) return { top: top || 1, elements, starts, ends, depth: maxDepth, deepestLine };
      open = true;
      expectElement = false;
    }
    switch (c) {
      case 34: {
        // A string holds no raw newline (JSON.parse read the text): jump to its closing quote,
        // one not preceded by an odd run of backslashes.
        const start = i;
        let end = text.indexOf('"', i + 1);
        for (;;) {
          if (end === -1) {
            end = text.length;
            break;
          }
          let b = end - 1;
          while (text.charCodeAt(b) === 92) b--;
          if ((end - 1 - b) % 2 === 0) break;
          end = text.indexOf('"', end + 1);
        }
        i = end;
        if (depth === 1 && !topIsArray) pendingKey = text.slice(start + 1, end);
        break;
      }
      case 58: // ':'
        if (depth === 1) lastKey = pendingKey;
        break;
      case 123: // '{'
      case 91: // '['
        if (depth === 0) {
          top = line;
          topIsArray = c === 91;
          if (topIsArray) {
            targetDepth = 1;
            expectElement = true;
          }
        } else if (c === 91 && depth === 1 && !topIsArray && lastKey === 'items') {
          // A second `items` key wins, as it does for JSON.parse.
          elements.length = 0;
          starts.length = 0;
          ends.length = 0;
          targetDepth = 2;
          expectElement = true;
        }
        depth++;
        if (depth > maxDepth) {
          maxDepth = depth;
          deepestLine = line;
        }
        break;
      case 125: // '}'
      case 93: // ']'
        if (c === 93 && depth === targetDepth) {
          // The list ends: so does its last element, and no later array is the list.
          if (open) ends.push(i);
          open = false;
          targetDepth = -1;
        }
        depth--;
        expectElement = false;
        break;
      case 44: // ','
        if (depth === targetDepth) {
          if (open) ends.push(i);
          open = false;
          expectElement = true;
        }
        if (depth === 1) lastKey = undefined;
        break;
      default:
        break;
    }
  }
  return { top: top || 1, elements, starts, ends, depth: maxDepth, deepestLine };
}

/** The 1-based line of `path` below `src`, or of the deepest ancestor that exists. */
export function lineOf(source: SourceRef, path: Path): number | undefined {
  const src = resolve(source);
  if (src.node === undefined || src.lines === undefined) return undefined;
  const { isMap, isScalar, isSeq } = yaml();
  let node: unknown = src.node;
  let offset = (src.node.range ?? [undefined])[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === seg);
      if (pair === undefined) break;
      const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
      if (keyRange) offset = keyRange[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined || item === null) break;
      const r = (item as YamlNode).range;
      if (r) offset = r[0];
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : src.lines.linePos(offset).line;
}

/** The source text of the scalar at `path` (e.g. `1.30` as written, not 1.3). */
export function scalarSource(src: SourceRef, path: Path): string | undefined {
  let node: unknown = resolve(src).node;
  const { isMap, isScalar, isSeq } = yaml();
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === seg);
      node = pair?.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return undefined;
    }
  }
  return isScalar(node) ? node.source : undefined;
}

/** A child source: the node at `path` below `src`. */
export function childSource(source: SourceRef, path: Path): SourceRef {
  if (source.node === undefined && source.lazy !== undefined) {
    // `lazy` is called as the source's method (an item source's reads its own fields).
    return {
      node: undefined,
      lines: undefined,
      lazy: once(() => childSource(resolve(source), path)),
    };
  }
  const src = source;
  let node: unknown = src.node;
  const { isMap, isScalar, isSeq } = yaml();
  for (const seg of path) {
    if (isMap(node)) {
      node = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === seg)?.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      node = undefined;
    }
    if (node === undefined || node === null) return { node: undefined, lines: src.lines };
  }
  return { node: node as YamlNode, lines: src.lines };
}
