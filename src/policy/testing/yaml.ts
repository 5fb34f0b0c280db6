/**
 * Test helpers: decoded objects and worlds from YAML text (through `k8s/load`), and the
 * corpus fixture shape. Not used by the CLI.
 */
import { loadDocuments } from '../../k8s/load.js';
import type { PolicyWorld, SourceObject } from '../model.js';
import { buildPolicyWorld } from '../world.js';

/** Decoded objects from YAML text, with the decoder's diagnostics (errors included). */
export function loadYaml(
  text: string,
  file = 'test.yaml',
): { sources: SourceObject[]; diagnostics: PolicyWorld['diagnostics'] } {
  const loaded = loadDocuments([{ path: file, text }]);
  return {
    sources: loaded.objects.map((o) => ({
      object: o.object,
      origin: { file: o.origin.file, line: o.origin.line, document: o.origin.document },
    })),
    diagnostics: loaded.diagnostics,
  };
}

/** Decoded objects from YAML text (through `k8s/load`, as the CLI reads them). */
export function sourcesFromYaml(text: string, file = 'test.yaml'): SourceObject[] {
  return loadYaml(text, file).sources;
}

/** The policy world of YAML text; its diagnostics are the decoder's, then the world's. */
export function worldFromYaml(text: string, file = 'test.yaml'): PolicyWorld {
  const { sources, diagnostics } = loadYaml(text, file);
  const w = buildPolicyWorld(sources);
  return { ...w, diagnostics: [...diagnostics, ...w.diagnostics] };
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
