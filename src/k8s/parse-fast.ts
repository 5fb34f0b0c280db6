/** The fast path: documents read with js-yaml under the `yaml` package's core-schema resolution, the `yaml` package's tree built only when a line is asked for. */
import type { Schema, Type } from 'js-yaml';
import type { LineCounter, parseAllDocuments, Node as YamlNode } from 'yaml';
import type { Diagnostic } from '../diag.js';
import { type SourceRef, resolve, type RawDocument, lazyTree } from './parse-source.js';
import { YAML_OPTIONS, readYamlDocuments } from './parse-slow.js';
import { jsYaml, yaml } from './yaml-lib.js';

// --- The fast path ---------------------------------------------------------

function scalarType(
  tag: string,
  maybe: (s: string) => boolean,
  test: RegExp,
  construct: (s: string) => unknown,
): Type {
  return new (jsYaml().Type)(`tag:yaml.org,2002:${tag}`, {
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
let coreSchema: Schema | undefined;
const CORE_SCHEMA = (): Schema =>
  (coreSchema ??= jsYaml().FAILSAFE_SCHEMA.extend({
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
  }));

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
export function closing(text: string, at: number): number {
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

/** A line terminator as a multiline `^` and `$` see one. */
function isLineBreak(c: number): boolean {
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/**
 * Directives and document-end markers, which the reader of the whole file
 * handles: a `%` or a `...` marker at a line's start (what the multiline
 * pattern `/^(?:%|\.\.\.(?:[ \t\r\n]|$))/m` finds), found from the `%`
 * and `...` in the text (indexOf's native scan), not by trying a pattern at
 * every line start of a 20 MB dump.
 */
export function hasStreamSyntax(text: string): boolean {
  const atLineStart = (i: number): boolean => i === 0 || isLineBreak(text.charCodeAt(i - 1));
  for (let i = text.indexOf('%'); i !== -1; i = text.indexOf('%', i + 1))
    if (atLineStart(i)) return true;
  for (let i = text.indexOf('...'); i !== -1; i = text.indexOf('...', i + 1)) {
    const c = text.charCodeAt(i + 3);
    if (atLineStart(i) && (i + 3 === text.length || c === 32 || c === 9 || isLineBreak(c)))
      return true;
  }
  return false;
}

const DOCUMENT_START = /^---(?=[ \t\r\n]|$)/gm;

/**
 * A LineCounter whose offset 0 is the start of line `line` (1-based) of the
 * file, with real line starts before it, so that the `yaml` package's
 * error excerpts read the right line.
 */
function offsetLineCounter(line: number): LineCounter {
  const lc = new (yaml().LineCounter)();
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

// The nodes a lazily read slice stands for. Module-level: a closure made in
// parseYamlFast would keep its variables (every document's value) alive as
// long as the sources.
const documentContents = (c: YamlNode | null): YamlNode | undefined => c ?? undefined;
const firstEntry = (c: YamlNode | null): YamlNode | undefined =>
  yaml().isSeq(c) ? ((c.items[0] as YamlNode | null | undefined) ?? undefined) : undefined;

/**
 * The fast reading of a YAML file (see the module comment), or undefined
 * when the whole file must go to the `yaml` package (directives, `...`,
 * a byte-order mark). Each `---` document that js-yaml rejects or that
 * `DIVERGENT` flags is read by the `yaml` package on its own, with its
 * lines offset to where it sits in the file: the same diagnostics as a
 * reading of the whole file.
 */
export function parseYamlFast(
  file: string,
  text: string,
): { documents: RawDocument[]; diagnostics: Diagnostic[] } | undefined {
  if (text.charCodeAt(0) === 0xfeff || hasStreamSyntax(text)) return undefined;
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
        docs = yaml().parseAllDocuments(chunk, { ...YAML_OPTIONS, lineCounter: lc });
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
      value = jsYaml().load(chunk, { schema: CORE_SCHEMA(), filename: file });
    } catch {
      slow(); // the `yaml` package words the error, with its line and column
      continue;
    }
    if (value === null || value === undefined) continue;
    const contentLine = lineAt(lineStarts, start);
    let source = lazyTree(text, from, to, line, YAML_OPTIONS, documentContents);
    let itemLines: number[] | undefined;
    let itemSources: SourceRef[] | undefined;
    const items = (value as { items?: unknown }).items;
    if (typeof value === 'object' && !Array.isArray(value) && Array.isArray(items)) {
      const found = yamlItemStarts(text, bodyFrom, to);
      if (found && found.starts.length === items.length) {
        itemLines = found.starts.map((o) => lineAt(lineStarts, o));
        itemSources = found.spans.map(([a, b]) =>
          lazyTree(text, a, b, lineAt(lineStarts, a), YAML_OPTIONS, firstEntry),
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
