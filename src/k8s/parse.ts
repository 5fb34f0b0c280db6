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

import { FAILSAFE_SCHEMA, Type, load as fastLoad } from 'js-yaml';
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  visit,
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
  /** YAML fast path: a source for each element of the top-level `items` list, parsed on demand from its own lines. */
  readonly itemSources?: readonly SourceRef[];
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
  const deep = deepestNesting(text);
  if (deep.depth > MAX_NESTING) {
    diagnostics.push({
      code: 'k8s-too-deep',
      severity: 'error',
      message: `nested more than ${MAX_NESTING} levels deep (line ${deep.line}): packeteye reads YAML and JSON nested at most ${MAX_NESTING} levels`,
      file,
      line: deep.line,
      hint: 'Kubernetes objects nest a few dozen levels; this is not a manifest or a kubectl dump',
    });
    return { documents, diagnostics };
  }
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
        const docs = parseAllDocuments(text, { lineCounter: lc, logLevel: 'error' });
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
  const fast = /^\s*[[{]/.test(text) ? undefined : parseYamlFast(file, text);
  return fast ?? parseYamlSlow(file, text);
}

/**
 * The deepest nesting parseFile reads. A Kubernetes object nests a few
 * dozen levels (a CRD's openAPIV3Schema under a hundred); the readers'
 * recursion overflows the stack somewhere past 500, so deeper input is
 * refused with this limit named instead of "Maximum call stack size exceeded".
 */
export const MAX_NESTING = 256;

/**
 * How deep `text` nests, and the line where it is deepest, in one linear
 * pass: JSON by its brackets (strings skipped); YAML by its indentation
 * levels, `- ` sequence entries and the flow brackets of each line. An
 * estimate that errs deeper, never shallower, by a few levels at most.
 */
export function deepestNesting(text: string): { depth: number; line: number } {
  const json = /^\s*[[{]/.test(text);
  let best = { depth: 0, line: 1 };
  let flow = 0;
  const indents: number[] = [];
  let line = 1;
  for (let i = 0; i <= text.length;) {
    const nl = text.indexOf('\n', i);
    const end = nl === -1 ? text.length : nl;
    let j = i;
    while (j < end && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
    let extra = 0;
    if (!json) {
      flow = 0;
      if (j < end && text[j] !== '#') {
        const ind = j - i;
        while (indents.length > 0 && indents[indents.length - 1]! >= ind) indents.pop();
        indents.push(ind);
        for (let k = j; text[k] === '-' && (text[k + 1] === ' ' || k + 1 === end); k += 2) extra++;
      }
    }
    for (let k = j; k < end; k++) {
      const c = text[k];
      if (c === '"' || (c === "'" && !json)) {
        // Skip the quoted string (on this line for YAML; JSON strings never span lines).
        for (k++; k < end && text[k] !== c; k++) if (c === '"' && text[k] === '\\') k++;
      } else if (c === '#' && !json && (k === j || text[k - 1] === ' ')) break;
      else if (c === '[' || c === '{') {
        flow++;
        const depth = (json ? 0 : indents.length) + flow + extra;
        if (depth > best.depth) best = { depth, line };
      } else if (c === ']' || c === '}') flow--;
    }
    const depth = (json ? 0 : indents.length) + Math.max(flow, 0) + extra;
    if (depth > best.depth) best = { depth, line };
    if (nl === -1) break;
    i = nl + 1;
    line++;
  }
  return best;
}

/** The parsers' stack overflow, said as what it is. */
function overflowMessage(message: string): string | undefined {
  return /Maximum call stack size exceeded/.test(message)
    ? `too deeply nested for the YAML reader (packeteye reads at most ${MAX_NESTING} levels)`
    : undefined;
}

/**
 * The whole file with the `yaml` package: the reference reading, used when
 * the fast path declines (directives, `...` markers, JSON-looking text) and
 * by the tests that check the fast path against it.
 */
export function parseYamlSlow(
  file: string,
  text: string,
): { documents: RawDocument[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: RawDocument[] = [];
  const lines = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    // kubectl (go-yaml via sigs.k8s.io/yaml) honours `<<` merge keys (YAML_OPTIONS.merge).
    docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter: lines });
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
  const warnings: Diagnostic[] = [];
  readYamlDocuments(file, list, lines, 0, documents, diagnostics, warnings);
  diagnostics.push(...warnings);
  return { documents, diagnostics };
}

/**
 * The `yaml` package's documents to raw documents and diagnostics, as
 * `parseFile` has always produced them; `base` is the number of documents
 * before these in the file. Warnings go to `warnings`, which the caller
 * appends after all errors.
 */
function readYamlDocuments(
  file: string,
  list: readonly ReturnType<typeof parseAllDocuments>[number][],
  lines: LineCounter,
  base: number,
  documents: RawDocument[],
  diagnostics: Diagnostic[],
  warnings: Diagnostic[],
): void {
  list.forEach((doc, i) => {
    const document = base + i + 1;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = err.linePos?.[0];
        const overflow = overflowMessage(err.message);
        diagnostics.push({
          code: overflow ? 'k8s-too-deep' : 'k8s-parse',
          severity: 'error',
          message: overflow ?? `malformed YAML: ${cleanYamlMessage(err.message)}`,
          file,
          document,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          hint: overflow
            ? 'Kubernetes objects nest a few dozen levels; this is not a manifest or a kubectl dump'
            : 'fix the YAML syntax there (indentation, a missing colon or an unclosed quote is the usual cause); the document was skipped',
        });
      }
      return;
    }
    const contents = doc.contents as YamlNode | null;
    if (contents === null) return; // an empty document (`---` at the end, comments only)
    visit(doc, {
      Pair(_, pair) {
        const key = pair.key as YamlNode | null;
        if (!isMap(key) && !isSeq(key)) return;
        const at = key.range?.[0];
        warnings.push({
          code: 'k8s-parse-warning',
          severity: 'warning',
          message: `YAML: a ${isMap(key) ? 'mapping' : 'sequence'} used as a key is read as its text, ${String(key)} (Kubernetes objects have string keys)`,
          file,
          document,
          ...(at !== undefined
            ? { line: lines.linePos(at).line, column: lines.linePos(at).col }
            : {}),
        });
      },
    });
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
    warnings.push({
      code: 'k8s-parse-warning',
      severity: 'warning',
      message: `YAML: ${cleanYamlMessage(w.message)}`,
      file,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    });
  }
}

// --- The fast path ---------------------------------------------------------

/** The `yaml` package's options, for the whole file and for one document alike. */
/**
 * `logLevel: 'error'`: the `yaml` package would print a Node.js warning for
 * a collection used as a key; readYamlDocuments says it as a diagnostic.
 */
const YAML_OPTIONS = {
  prettyErrors: true,
  uniqueKeys: true,
  merge: true,
  logLevel: 'error',
} as const;

function scalarType(
  tag: string,
  maybe: (s: string) => boolean,
  test: RegExp,
  construct: (s: string) => unknown,
): Type {
  return new Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    // `maybe` is a cheap first look: js-yaml asks every type about every plain scalar, keys included.
    resolve: (s: string | null) => s !== null && maybe(s) && test.test(s),
    construct: (s: string) => construct(s),
  });
}

/** Could `s` be a number: does it start with a digit, sign or dot? */
function numeric(s: string): boolean {
  const c = s.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

/**
 * js-yaml schema that resolves plain scalars as the `yaml` package's YAML 1.2
 * core schema does (yaml/dist/schema/core/*.js, same tests, same
 * conversions): `yes`/`on` and `2024-01-01` stay strings, `010` is ten,
 * `0o10` eight, `1_000` a string, `-0` minus zero.
 */
const CORE_SCHEMA = FAILSAFE_SCHEMA.extend({
  implicit: [
    scalarType(
      'null',
      (s) => s.length <= 4,
      /^(?:~|[Nn]ull|NULL)?$/,
      () => null,
    ),
    scalarType(
      'bool',
      (s) => s.length === 4 || s.length === 5,
      /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
      (s) => s[0] === 't' || s[0] === 'T',
    ),
    scalarType('int', numeric, /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (s) =>
      s.startsWith('0o')
        ? parseInt(s.slice(2), 8)
        : s.startsWith('0x')
          ? parseInt(s.slice(2), 16)
          : parseInt(s, 10),
    ),
    scalarType(
      'float',
      numeric,
      /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/,
      (s) =>
        /nan$/i.test(s)
          ? NaN
          : /inf$/i.test(s)
            ? s[0] === '-'
              ? Number.NEGATIVE_INFINITY
              : Number.POSITIVE_INFINITY
            : parseFloat(s),
    ),
  ],
});

/**
 * What js-yaml and the `yaml` package read differently, found in the text
 * (each pattern starts with a literal so the scan is quick). Anchors at a
 * node's place (after indentation, `- `, `? `, `: `, `[`, `{` or `,`): the
 * `yaml` package caps alias expansion (MAX_ALIASES). `<<:` merge keys.
 * Null or empty keys (`~:`, `null:`, `: x`), which the `yaml` package names
 * "" and js-yaml "null". Explicit `? ` keys and flow collections used as
 * keys, which the two stringify differently. A `-` with nothing after it
 * (js-yaml 4 moves the next, less indented, entry into the inner list when
 * the empty entry ends a nested list). A match where none of these is
 * meant (in a string) only costs the slow reading.
 */
const DIVERGENT: readonly RegExp[] = [
  /&/,
  /<<[ \t]*:/,
  /(?:~|null|Null|NULL)[ \t]*:(?=[ \t\r\n]|$)/,
  /\n[ \t]*(?:-[ \t]+)*[:?](?=[ \t\r\n]|$)/,
  /[{,][ \t]*:(?=[ \t\r\n]|$)/,
  /[\]}][ \t]*:(?=[ \t\r\n]|$)/,
  /\n[ \t]*(?:-[ \t]+)*-[ \t]*(?:#[^\n]*)?\r?(?=\n|$)/,
];
const ANCHOR = /(?:^[ \t]*(?:[-?:][ \t]+)*|:[ \t]+|[[{,][ \t]*)&/m;
const NULL_KEY = /(?:^[ \t]*(?:-[ \t]+)*|[{,][ \t]*)(?:~|null|Null|NULL)[ \t]*:(?=[ \t\r\n]|$)/m;
const FLOW_KEY = /(?:^[ \t]*(?:[-?][ \t]+)*|[{,][ \t]*)[[{][^\n]*[\]}][ \t]*:(?=[ \t\r\n]|$)/m;

/** End of the quoted scalar or flow collection that opens at `text[at]`, or -1 if the text ends first. */
function closing(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) {
        if (text.charCodeAt(i) === 92 /* \ */) i++;
      }
    } else if (c === 39 /* ' */) {
      for (i++; i < text.length; i++) {
        if (text.charCodeAt(i) === 39) {
          if (text.charCodeAt(i + 1) === 39) i++;
          else break;
        }
      }
    } else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) depth--;
    if (depth <= 0) return i < text.length ? i : -1;
  }
  return -1;
}

/** A value that opens with a quote or bracket after a key, a `- ` or indentation. */
const OPENER = /(?:^([ \t]*(?:-[ \t]+)*)(?:[^\s#"'[{][^\n#]*?[ \t]*:[ \t]+)?|:[ \t]+)(["'[{])/gm;

/**
 * True when a quoted scalar or flow collection runs onto lines not
 * indented past the line it opens on, or an implicit key is longer than
 * 1024 characters: the `yaml` package rejects both, js-yaml 4 reads them.
 */
function looseLayout(text: string): boolean {
  // Line by line, not /^[^\n]{1025,}/gm: that regex overflows V8's stack on a multi-MB line.
  for (let from = 0; from < text.length;) {
    const nl = text.indexOf('\n', from);
    const to = nl === -1 ? text.length : nl;
    if (to - from > 1024) {
      const colon = text.slice(from, to).search(/:(?:[ \t]|$)/);
      if (colon > 1000) return true;
    }
    from = to + 1;
  }
  OPENER.lastIndex = 0;
  for (let m = OPENER.exec(text); m !== null; m = OPENER.exec(text)) {
    const at = m.index + m[0].length - 1;
    const nl = text.indexOf('\n', at);
    const end = closing(text, at);
    if (end !== -1 && (nl === -1 || end < nl)) continue; // closed on its own line
    // Multi-line: every following line up to the end must be indented past this line's indentation.
    const lineStart = text.lastIndexOf('\n', at) + 1;
    const indent = /^[ \t]*/.exec(text.slice(lineStart, at))?.[0].length ?? 0;
    const stop = end === -1 ? text.length : end;
    for (let i = nl; i !== -1 && i < stop; i = text.indexOf('\n', i + 1)) {
      let j = i + 1;
      while (text.charCodeAt(j) === 32) j++;
      const c = text.charCodeAt(j);
      if (j >= stop || c === 10 || c === 13) continue; // blank
      if (j - (i + 1) <= indent) return true;
    }
    if (end === -1) return true;
    OPENER.lastIndex = Math.max(OPENER.lastIndex, stop);
  }
  return false;
}

/** The line of `text` around `at`. */
function lineAround(text: string, at: number): string {
  const from = text.lastIndexOf('\n', at) + 1;
  const nl = text.indexOf('\n', at);
  return text.slice(from, nl === -1 ? text.length : nl);
}

/** True when `chunk` may be read differently by js-yaml and the `yaml` package. */
function divergent(chunk: string): boolean {
  // A document's first line is preceded by no newline: look at it as if it were.
  const text = `\n${chunk}`;
  const refine = [ANCHOR, undefined, NULL_KEY, undefined, undefined, FLOW_KEY, undefined];
  for (let k = 0; k < DIVERGENT.length; k++) {
    const re = DIVERGENT[k];
    if (re === undefined) continue;
    const fine = refine[k];
    if (fine === undefined) {
      if (re.test(text)) return true;
      continue;
    }
    // The coarse pattern finds candidates; the line-anchored one decides.
    const g = new RegExp(re.source, 'g');
    for (let m = g.exec(text); m !== null; m = g.exec(text)) {
      if (fine.test(lineAround(text, m.index))) return true;
    }
  }
  return false;
}

/** Directives and document-end markers: the reader of the whole file handles those. */
const STREAM_SYNTAX = /^(?:%|\.\.\.(?:[ \t\r\n]|$))/m;

const DOCUMENT_START = /^---(?=[ \t\r\n]|$)/gm;

/**
 * A LineCounter for a lazily parsed slice starting at line `line`: `linePos`
 * adds the lines before it, in constant space (the tree is only asked for
 * lines; error messages come from `offsetLineCounter`).
 */
function shiftedLineCounter(line: number): LineCounter {
  const lc = new LineCounter();
  const own = lc.linePos;
  lc.linePos = (offset: number) => {
    const p = own(offset);
    return { line: p.line + line - 1, col: p.col };
  };
  return lc;
}

/**
 * A LineCounter whose offset 0 is the start of line `line` (1-based) of the
 * file, with real line starts before it, so that the `yaml` package's
 * error excerpts read the right line.
 */
function offsetLineCounter(line: number): LineCounter {
  const lc = new LineCounter();
  for (let k = line - 1; k >= 1; k--) lc.addNewLine(-k);
  return lc;
}

/** 1-based line of `offset` given the sorted line-start offsets. */
function lineAt(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Offset of the first line at or after `from` that is neither blank nor a comment, or -1. */
function contentStart(text: string, from: number, end: number): number {
  let at = from;
  while (at < end) {
    let nl = text.indexOf('\n', at);
    if (nl === -1 || nl > end) nl = end;
    const m = /^[ \t\r]*(?:#|$)/.exec(text.slice(at, nl));
    if (!m) return at;
    at = nl + 1;
  }
  return -1;
}

/**
 * Where the elements of a document's top-level `items:` list start, as
 * offsets of the lines holding their first content, and where the list
 * ends: a scan of lines by indentation (the block sequence's entries are
 * the `-` lines at its indentation). Undefined when the document is not
 * laid out that way; the caller checks the count against the parsed list.
 */
function yamlItemStarts(
  text: string,
  from: number,
  end: number,
): { starts: number[]; spans: [number, number][] } | undefined {
  const m = /^items:[ \t]*(?:#[^\n]*)?\r?$/m.exec(text.slice(from, end));
  if (!m) return undefined;
  let at = from + m.index + m[0].length + 1;
  let indent = -1;
  const starts: number[] = [];
  const spans: [number, number][] = [];
  let pendingItem = false; // a `-` with nothing after it: the item starts on a later line
  let itemFrom = 0;
  while (at < end) {
    let nl = text.indexOf('\n', at);
    if (nl === -1 || nl > end) nl = end;
    let i = at;
    while (i < nl && text.charCodeAt(i) === 32) i++;
    const c = text.charCodeAt(i);
    const blank = i >= nl || c === 35 /* # */ || c === 13;
    if (!blank) {
      const col = i - at;
      const dash = c === 45 && (i + 1 >= nl || /[ \t\r]/.test(text[i + 1] ?? ''));
      if (indent === -1) {
        if (!dash) return undefined;
        indent = col;
      }
      if (col < indent || (col === indent && !dash)) break;
      if (col === indent) {
        if (starts.length > 0) spans.push([itemFrom, at]);
        itemFrom = at;
        // `-` alone on its line: the element starts on the next content line.
        pendingItem = /^[ \t\r]*(?:#.*)?$/.test(text.slice(i + 1, nl));
        starts.push(pendingItem ? -1 : at);
      } else if (pendingItem) {
        starts[starts.length - 1] = at;
        pendingItem = false;
      }
    }
    at = nl + 1;
  }
  if (indent === -1 || starts.includes(-1)) return undefined;
  if (starts.length > 0) spans.push([itemFrom, Math.min(at, end)]);
  return { starts, spans };
}

/**
 * Lazily parsed `yaml` package tree of `text[from, to)`, which starts at
 * the beginning of line `line`; `pick` chooses the node (the document's
 * contents, or the one element of a list slice).
 */
function lazyTree(
  text: string,
  from: number,
  to: number,
  line: number,
  pick: (contents: YamlNode | null) => YamlNode | undefined,
): SourceRef {
  return {
    node: undefined,
    lines: undefined,
    lazy: once((): SourceRef => {
      const lc = shiftedLineCounter(line);
      const docs = parseAllDocuments(text.slice(from, to), { ...YAML_OPTIONS, lineCounter: lc });
      const first = Array.isArray(docs) ? docs[0] : undefined;
      return { node: pick((first?.contents as YamlNode | null | undefined) ?? null), lines: lc };
    }),
  };
}

/**
 * The fast reading of a YAML file (see the module comment), or undefined
 * when the whole file must go to the `yaml` package (directives, `...`,
 * a byte-order mark). Each `---` document that js-yaml rejects or that
 * `DIVERGENT` flags is read by the `yaml` package on its own, with its
 * lines offset to where it sits in the file: the same diagnostics as a
 * reading of the whole file.
 */
function parseYamlFast(
  file: string,
  text: string,
): { documents: RawDocument[]; diagnostics: Diagnostic[] } | undefined {
  if (text.charCodeAt(0) === 0xfeff || STREAM_SYNTAX.test(text)) return undefined;
  const diagnostics: Diagnostic[] = [];
  const documents: RawDocument[] = [];
  const warnings: Diagnostic[] = [];
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  // Document chunks: each starts at its `---` line (or the file's start).
  const bounds: number[] = [];
  DOCUMENT_START.lastIndex = 0;
  for (let m = DOCUMENT_START.exec(text); m !== null; m = DOCUMENT_START.exec(text)) {
    bounds.push(m.index);
  }
  // Text before the first `---` is a document only if it holds content.
  if (bounds[0] !== 0 && contentStart(text, 0, bounds[0] ?? text.length) !== -1) bounds.unshift(0);
  let document = 0;
  for (let k = 0; k < bounds.length; k++) {
    const from = bounds[k] ?? 0;
    const to = bounds[k + 1] ?? text.length;
    document++;
    const chunk = text.slice(from, to);
    const line = lineAt(lineStarts, from);
    const slow = (): void => {
      let docs: ReturnType<typeof parseAllDocuments>;
      const lc = offsetLineCounter(line);
      try {
        docs = parseAllDocuments(chunk, { ...YAML_OPTIONS, lineCounter: lc });
      } catch (e) {
        diagnostics.push({
          code: 'k8s-parse',
          severity: 'error',
          message: `cannot parse: ${(e as Error).message}`,
          file,
        });
        return;
      }
      const list = Array.isArray(docs) ? docs : [];
      readYamlDocuments(file, list, lc, document - 1, documents, diagnostics, warnings);
    };
    // The `---` line itself must carry nothing but a comment.
    const isMarker = text.startsWith('---', from);
    const bodyFrom = isMarker ? text.indexOf('\n', from) + 1 || to : from;
    if (
      isMarker &&
      !/^---[ \t]*(?:#.*)?\r?$/.test(text.slice(from, bodyFrom || to).replace(/\n$/, ''))
    ) {
      slow();
      continue;
    }
    const start = contentStart(text, bodyFrom, to);
    if (start === -1) continue; // an empty document
    const first = text.charCodeAt(
      start + (/^[ \t]*/.exec(text.slice(start, start + 64))?.[0].length ?? 0),
    );
    if (
      first === 33 /* ! */ ||
      first === 38 /* & */ ||
      first === 42 /* * */ ||
      divergent(chunk) ||
      looseLayout(chunk)
    ) {
      slow();
      continue;
    }
    let value: unknown;
    try {
      value = fastLoad(chunk, { schema: CORE_SCHEMA, filename: file });
    } catch {
      slow(); // the `yaml` package words the error, with its line and column
      continue;
    }
    if (value === null || value === undefined) continue;
    const contentLine = lineAt(lineStarts, start);
    let source = lazyTree(text, from, to, line, (c) => c ?? undefined);
    let itemLines: number[] | undefined;
    let itemSources: SourceRef[] | undefined;
    const items = (value as { items?: unknown }).items;
    if (typeof value === 'object' && !Array.isArray(value) && Array.isArray(items)) {
      const found = yamlItemStarts(text, bodyFrom, to);
      if (found && found.starts.length === items.length) {
        itemLines = found.starts.map((o) => lineAt(lineStarts, o));
        itemSources = found.spans.map(([a, b]) =>
          lazyTree(text, a, b, lineAt(lineStarts, a), (c) =>
            isSeq(c) ? ((c.items[0] as YamlNode | null | undefined) ?? undefined) : undefined,
          ),
        );
      } else {
        // Not laid out as expected: find the elements' lines in the tree, as before.
        const resolved = resolve(source);
        source = resolved;
      }
    }
    documents.push({
      file,
      document,
      line: contentLine,
      value,
      source,
      ...(itemLines ? { itemLines } : {}),
      ...(itemSources ? { itemSources } : {}),
    });
  }
  diagnostics.push(...warnings);
  return { documents, diagnostics };
}
