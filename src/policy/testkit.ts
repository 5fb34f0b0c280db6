/**
 * Test helpers: objects from YAML text (through `k8s/parse`), and the
 * corpus fixture shape. Not used by the CLI.
 */
import { parseFile } from '../k8s/parse.js';
import type { SourceObject } from './model.js';

export function sourcesFromYaml(text: string, file = 'test.yaml'): SourceObject[] {
  const { documents } = parseFile(file, text);
  const out: SourceObject[] = [];
  for (const d of documents) {
    const v = d.value as { kind?: unknown; items?: unknown } | null;
    const origin = { file: d.file, document: d.document, line: d.line };
    if (v && v.kind === 'List' && Array.isArray(v.items))
      for (const item of v.items) out.push({ object: item, origin });
    else out.push({ object: v, origin });
  }
  return out;
}

export interface CorpusMatrix {
  readonly kind: 'matrix';
  readonly port: { readonly protocol: 'TCP' | 'UDP' | 'SCTP'; readonly port: number };
  readonly allowed: Record<string, Record<string, boolean | null>>;
}

export interface CorpusCase {
  readonly name: string;
  readonly source: string;
  readonly commit: string;
  readonly objects: string;
  readonly expected: readonly CorpusMatrix[];
}
