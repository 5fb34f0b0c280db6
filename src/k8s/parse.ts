/**
 * Text to raw documents: YAML (any number of `---` documents) or JSON, with
 * the source positions kept so that later diagnostics can name the line of
 * the offending field, not only the document.
 *
 * YAML is parsed with the `yaml` package (YAML 1.2 core schema, as
 * sigs.k8s.io/yaml's JSON-compatible reading mostly agrees with); a file
 * that looks like JSON and fails as YAML is retried with `JSON.parse`, whose
 * error position is translated to line and column.
 */

import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Node as YamlNode,
} from 'yaml';
import type { Diagnostic } from '../diag.js';

/** A path to a field: keys and list indexes. */
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
  readonly lazy?: () => SourceRef;
}

function resolve(src: SourceRef): SourceRef {
  return src.node === undefined && src.lazy !== undefined ? src.lazy() : src;
}

function once<T>(f: () => T): () => T {
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
}

/** True when finding a line costs no parse. */
export function isCheap(src: SourceRef): boolean {
  return src.node !== undefined || src.lazy === undefined;
}

/**
 * Lines of the elements of the JSON text's top-level array, or of the
 * `items` array of its top-level object: one linear scan, no tree.
 */
export function jsonElementLines(text: string): { top: number; elements: number[] } {
  const elements: number[] = [];
  let line = 1;
  let depth = 0;
  let top = 0;
  let inString = false;
  let stringStart = 0;
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
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) {
        inString = false;
        if (depth === 1 && !topIsArray) pendingKey = text.slice(stringStart + 1, i);
      }
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (expectElement && c !== 93) {
      elements.push(line);
      expectElement = false;
    }
    switch (c) {
      case 34:
        inString = true;
        stringStart = i;
        break;
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
          targetDepth = 2;
          expectElement = true;
        }
        depth++;
        break;
      case 125: // '}'
      case 93: // ']'
        depth--;
        expectElement = false;
        break;
      case 44: // ','
        if (depth === targetDepth) expectElement = true;
        if (depth === 1) lastKey = undefined;
        break;
      default:
        break;
    }
  }
  return { top: top || 1, elements };
}

/** The 1-based line of `path` below `src`, or of the deepest ancestor that exists. */
export function lineOf(source: SourceRef, path: Path): number | undefined {
  const src = resolve(source);
  if (src.node === undefined || src.lines === undefined) return undefined;
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
    const lazy = source.lazy;
    return { node: undefined, lines: undefined, lazy: once(() => childSource(lazy(), path)) };
  }
  const src = source;
  let node: unknown = src.node;
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

const MAX_ALIASES = 100;

/** Strips the `at line L, column C:` tail and the source excerpt the yaml package appends. */
function cleanYamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?\s*$/, '').replace(/:\s*$/, '');
}

function jsonPosition(text: string, message: string): { line: number; column: number } | undefined {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  if (!pos) return undefined;
  const offset = Number(pos[1]);
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
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
  const diagnostics: Diagnostic[] = [];
  const documents: RawDocument[] = [];
  if (/^\s*[[{]/.test(text)) {
    // JSON (kubectl get -o json): JSON.parse is two orders of magnitude
    // faster than a YAML parse; the YAML tree is built only for diagnostics.
    let value: unknown;
    let ok = true;
    try {
      value = JSON.parse(text);
    } catch {
      ok = false; // maybe YAML flow style; fall through to the YAML parser
    }
    if (ok) {
      const root = once((): SourceRef => {
        const lc = new LineCounter();
        const docs = parseAllDocuments(text, { lineCounter: lc });
        const first = Array.isArray(docs) ? docs[0] : undefined;
        return { node: (first?.contents as YamlNode | null) ?? undefined, lines: lc };
      });
      const rootRef: SourceRef = { node: undefined, lines: undefined, lazy: root };
      const { top, elements } = jsonElementLines(text);
      if (Array.isArray(value)) {
        value.forEach((v, i) =>
          documents.push({
            file,
            document: i + 1,
            line: elements[i] ?? top,
            value: v,
            source: childSource(rootRef, [i]),
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
        });
      }
      return { documents, diagnostics };
    }
  }
  const lines = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, {
      lineCounter: lines,
      prettyErrors: true,
      uniqueKeys: true,
      // kubectl (go-yaml via sigs.k8s.io/yaml) honours `<<` merge keys.
      merge: true,
    });
  } catch (e) {
    diagnostics.push({
      code: 'k8s-parse',
      severity: 'error',
      message: `cannot parse: ${(e as Error).message}`,
      file,
    });
    return { documents, diagnostics };
  }
  const list = Array.isArray(docs) ? docs : [];
  const looksJson = /^\s*[[{]/.test(text);
  const yamlFailed = list.some((d) => d.errors.length > 0);
  if (looksJson && yamlFailed) {
    // JSON is (nearly) YAML, but tabs and some escapes are not; JSON.parse decides.
    try {
      const value: unknown = JSON.parse(text);
      const values = Array.isArray(value) ? value : [value];
      values.forEach((v, i) =>
        documents.push({
          file,
          document: i + 1,
          line: 1,
          value: v,
          source: { node: undefined, lines: undefined },
        }),
      );
      return { documents, diagnostics };
    } catch (e) {
      const msg = (e as Error).message;
      const pos = jsonPosition(text, msg);
      diagnostics.push({
        code: 'k8s-parse',
        severity: 'error',
        message: `malformed JSON: ${msg.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '')}`,
        file,
        ...(pos ? { line: pos.line, column: pos.column } : {}),
        hint: 'fix the JSON syntax at that position (a missing comma, quote or bracket is the usual cause)',
      });
      return { documents, diagnostics };
    }
  }
  list.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = err.linePos?.[0];
        diagnostics.push({
          code: 'k8s-parse',
          severity: 'error',
          message: `malformed YAML: ${cleanYamlMessage(err.message)}`,
          file,
          document,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          hint: 'fix the YAML syntax there (indentation, a missing colon or an unclosed quote is the usual cause); the document was skipped',
        });
      }
      return;
    }
    const contents = doc.contents as YamlNode | null;
    if (contents === null) return; // an empty document (`---` at the end, comments only)
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      const start = contents.range?.[0];
      diagnostics.push({
        code: 'k8s-parse',
        severity: 'error',
        message: `cannot read document: ${(e as Error).message}`,
        file,
        document,
        ...(start !== undefined ? { line: lines.linePos(start).line } : {}),
      });
      return;
    }
    if (value === null || value === undefined) return;
    const start = contents.range?.[0] ?? 0;
    documents.push({
      file,
      document,
      line: lines.linePos(start).line,
      value,
      source: { node: contents, lines },
    });
  });
  for (const w of list.flatMap((d) => d.warnings)) {
    const pos = w.linePos?.[0];
    diagnostics.push({
      code: 'k8s-parse-warning',
      severity: 'warning',
      message: `YAML: ${cleanYamlMessage(w.message)}`,
      file,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    });
  }
  return { documents, diagnostics };
}
