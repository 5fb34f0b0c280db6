/** The reference reading with the `yaml` package: positions, errors and warnings word for word, and the nesting limit both readers share. */
import type { LineCounter, parseAllDocuments, Node as YamlNode } from 'yaml';
import { yaml } from './yaml-lib.js';
import type { Diagnostic } from '../diag.js';
import type { RawDocument } from './parse-source.js';

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
 * The deepest nesting parseFile reads. A Kubernetes object nests a few
 * dozen levels (a CRD's openAPIV3Schema under a hundred); the readers'
 * recursion overflows the stack somewhere past 500, so deeper input is
 * refused with this limit named instead of "Maximum call stack size exceeded".
 */
export const MAX_NESTING = 256;

/**
 * What deepestNesting's line scan counts or stops at: flow brackets and a
 * comment's `#` (quotes only hide these, so a line without them is skipped).
 */
const SPECIAL = /[#[\]{}]/g;

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
  // Where the next bracket or `#` is: a line without one is not scanned.
  SPECIAL.lastIndex = 0;
  let special = -1;
  for (let i = 0; i <= text.length;) {
    const nl = text.indexOf('\n', i);
    const end = nl === -1 ? text.length : nl;
    let j = i;
    while (j < end && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
    let extra = 0;
    if (!json) {
      flow = 0;
      if (j < end && text.charCodeAt(j) !== 35 /* # */) {
        const ind = j - i;
        while (indents.length > 0 && indents[indents.length - 1]! >= ind) indents.pop();
        indents.push(ind);
        // '-' followed by ' ' or the line's end (character codes: this loop reads every byte).
        for (
          let k = j;
          text.charCodeAt(k) === 45 && (text.charCodeAt(k + 1) === 32 || k + 1 === end);
          k += 2
        )
          extra++;
      }
    }
    if (special < j) {
      SPECIAL.lastIndex = j;
      special = SPECIAL.test(text) ? SPECIAL.lastIndex - 1 : text.length;
    }
    for (let k = special < end ? j : end; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c === 34 /* " */ || (c === 39 /* ' */ && !json)) {
        // Skip the quoted string (on this line for YAML; JSON strings never span lines).
        for (k++; k < end && text.charCodeAt(k) !== c; k++)
          if (c === 34 && text.charCodeAt(k) === 92 /* \ */) k++;
      } else if (c === 35 /* # */ && !json && (k === j || text.charCodeAt(k - 1) === 32)) break;
      else if (c === 91 /* [ */ || c === 123 /* { */) {
        flow++;
        const depth = (json ? 0 : indents.length) + flow + extra;
        if (depth > best.depth) best = { depth, line };
      } else if (c === 93 /* ] */ || c === 125 /* } */) flow--;
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
  const { LineCounter, parseAllDocuments } = yaml();
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
export function readYamlDocuments(
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
    const { isMap, isSeq, visit } = yaml();
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

/** The `yaml` package's options, for the whole file and for one document alike. */
/**
 * `logLevel: 'error'`: the `yaml` package would print a Node.js warning for
 * a collection used as a key; readYamlDocuments says it as a diagnostic.
 */
export const YAML_OPTIONS = {
  prettyErrors: true,
  uniqueKeys: true,
  merge: true,
  logLevel: 'error',
} as const;
