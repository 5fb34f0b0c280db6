/**
 * `reach --explain FROM TO`: the policy engine's reasons for one pair and,
 * when it is denied, the checked edits that would allow it (check/suggest.ts).
 * Without --port the edits are for the destination pod's first declared port.
 */
import { suggestEdits, type Suggestion } from '../trace/check/suggest.js';
import type { PairResult } from '../policy/evaluate.js';
import { explainJson, explainPair, type PortQuery } from '../policy/explain.js';
import type { PolicyWorld, SourceObject } from '../policy/model.js';
import { renderSuggestionsText, suggestionsJson } from '../render/suggest.js';
import { policyCatalog, resolveTargets } from '../trace/check/targets.js';
import type { TracePolicy } from '../policy/trace-annotate.js';
import { buildPolicyWorld } from '../policy/world.js';
import { parsePortRef } from '../trace/check/expectations.js';
import type { Io } from './io.js';
import { toYaml } from './output.js';
import { loadSources } from './reach.js';

function portFor(pair: PairResult, q: PortQuery | undefined): PortQuery | undefined {
  if (q) return q;
  const to = pair.to;
  if (to.kind !== 'pod' || to.ports.length === 0) return undefined;
  return { protocol: to.ports[0]!.protocol, port: to.ports[0]!.port };
}

export function writeExplanation(
  io: Io,
  world: PolicyWorld,
  sources: readonly SourceObject[],
  pair: PairResult,
  q: PortQuery | undefined,
  format: string,
): void {
  const asked = portFor(pair, q);
  const suggestions: Suggestion[] =
    asked && !pair.allowed.has(asked.protocol, asked.port)
      ? suggestEdits(world, sources, pair.from, pair.to, asked)
      : [];
  if (format === 'json' || format === 'yaml') {
    const doc = {
      ...(explainJson(pair, q) as Record<string, unknown>),
      ...(asked && !pair.allowed.has(asked.protocol, asked.port)
        ? { suggestionsFor: asked, suggestions: suggestionsJson(suggestions) }
        : {}),
    };
    io.out(format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc));
    return;
  }
  const lines = explainPair(pair, q);
  if (asked && !pair.allowed.has(asked.protocol, asked.port)) {
    if (suggestions.length > 0) lines.push(...renderSuggestionsText(suggestions, asked));
    else
      lines.push(
        '',
        `no single edit packeteye can write would allow ${asked.protocol}/${asked.port}`,
      );
  } else if (!asked && pair.allowed.isEmpty())
    lines.push('', 'give --port PROTO/PORT for the edits that would allow it');
  io.out(`${lines.join('\n')}\n`);
}

/**
 * The end of a trace the policies deny: the checked edits that would allow it, as text
 * lines (empty when the policies allow it or the ends are not pods or addresses).
 */
export function traceSuggestions(io: Io, files: readonly string[], policy: TracePolicy): string[] {
  if (policy.allowedByPolicy || policy.port === undefined) return [];
  const q = parsePortRef(policy.port);
  if (!q) return [];
  const loaded = loadSources({ ...io, err: () => undefined }, files);
  const world = buildPolicyWorld(loaded.sources);
  const c = policyCatalog(
    world,
    loaded.sources.map((s) => s.object),
  );
  let from;
  let to;
  try {
    from = resolveTargets(c, policy.from)[0]?.endpoint;
    to = resolveTargets(c, policy.to)[0]?.endpoint;
  } catch {
    return [];
  }
  if (!from || !to) return [];
  const s = suggestEdits(world, loaded.sources, from, to, q);
  return s.length > 0
    ? renderSuggestionsText(s, q)
    : ['', `no single edit packeteye can write would allow ${q.protocol}/${q.port}`];
}
