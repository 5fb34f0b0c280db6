/**
 * Views of suggested edits (check/suggest.ts): text, each edit with the
 * YAML patch that makes it — a kustomize `patches:` entry (an RFC 6902 JSON
 * patch on the target) or the new object — and the JSON form.
 */
import { yaml } from '../k8s/yaml-lib.js';
import type { Edit, Suggestion } from '../trace/check/suggest.js';
import type { PortQuery } from '../policy/explain.js';

/** The YAML patch of one edit: a kustomize patches entry, or the object to create. */
export function editYaml(e: Edit): string {
  const doc = e.create
    ? e.create
    : {
        target: {
          ...(e.target.apiVersion.includes('/')
            ? {
                group: e.target.apiVersion.split('/')[0],
                version: e.target.apiVersion.split('/')[1],
              }
            : { version: e.target.apiVersion }),
          kind: e.target.kind,
          ...(e.target.namespace !== undefined ? { namespace: e.target.namespace } : {}),
          name: e.target.name,
        },
        patch: yaml().stringify(e.patch, { lineWidth: 0, flowCollectionPadding: false }).trimEnd(),
      };
  return yaml().stringify(doc, { lineWidth: 0 });
}

export function renderSuggestionsText(s: readonly Suggestion[], q: PortQuery): string[] {
  if (s.length === 0) return [];
  const lines = [
    '',
    `to allow ${q.protocol}/${q.port}, each checked by the policy engine on the edited objects:`,
  ];
  s.forEach((sug, i) => {
    const also = [
      sug.alsoOpens === 0
        ? 'opens nothing else'
        : `also opens ${sug.alsoOpens} other pair${sug.alsoOpens === 1 ? '' : 's'}`,
      ...(sug.cuts > 0 ? [`cuts ${sug.cuts} pair${sug.cuts === 1 ? '' : 's'}`] : []),
    ].join(', ');
    lines.push(`  ${i + 1}. ${sug.edits.map((e) => e.summary).join('; and ')} (${also})`);
    for (const e of sug.edits) {
      lines.push(
        `     # ${e.create ? `new ${e.target.kind}` : `patch ${e.target.kind} ${e.target.namespace ? `${e.target.namespace}/` : ''}${e.target.name}`}`,
      );
      for (const l of editYaml(e).trimEnd().split('\n')) lines.push(`     ${l}`);
    }
  });
  return lines;
}

export function suggestionsJson(s: readonly Suggestion[]): unknown {
  return s.map((sug) => ({
    alsoOpens: sug.alsoOpens,
    cuts: sug.cuts,
    edits: sug.edits.map((e) => ({
      kind: e.kind,
      summary: e.summary,
      target: e.target,
      ...(e.patch ? { patch: e.patch } : {}),
      ...(e.create ? { create: e.create } : {}),
    })),
  }));
}
