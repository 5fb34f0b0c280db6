/**
 * `reach --explain FROM TO`: the policy engine's reasons for one pair and,
 * when it is denied, the checked edits that would allow it (check/suggest.ts).
 * Without --port the edits are for the destination pod's first declared port.
 */
import { suggestEdits, withSuggestions, type Suggestion } from '../trace/check/suggest.js';
import { evaluatePair, type PairResult } from '../policy/evaluate.js';
import { explainJson, explainPair, type PortQuery } from '../policy/explain.js';
import type { PolicyWorld, SourceObject } from '../policy/model.js';
import { renderSuggestionsText, suggestionsJson } from '../render/suggest.js';
import type { ConnectionTrace, TracePolicyView } from '../trace/model.js';
import { buildPolicyWorld } from '../policy/world.js';
import { parsePortRef } from '../trace/check/expectations.js';
import { document } from '../render/document.js';
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
    const doc = document('ReachabilityExplanation', {
      ...(explainJson(pair, q) as Record<string, unknown>),
      ...(asked && !pair.allowed.has(asked.protocol, asked.port)
        ? { suggestionsFor: asked, suggestions: suggestionsJson(suggestions) }
        : {}),
    });
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
  if (asked && pair.allowed.has(asked.protocol, asked.port))
    lines.push(...byNameLines(world, pair));
  io.out(`${lines.join('\n')}\n`);
}

/**
 * Allowed by address is not allowed by name: a name needs the pod's resolver to reach the
 * cluster DNS pods (`k8s-app: kube-dns`) on UDP/53 first, under the same policies.
 */
export function byNameLines(world: PolicyWorld, pair: PairResult): string[] {
  if (pair.from.kind !== 'pod') return [];
  const dns = world.pods.filter((p) => p.labels['k8s-app'] === 'kube-dns');
  const denied = dns.filter((d) => !evaluatePair(world, pair.from, d).allowed.has('UDP', 53));
  if (dns.length === 0 || denied.length === 0) return [];
  return [
    '',
    `by name it is not: ${pair.from.key}'s DNS queries to ${denied.map((d) => d.key).join(', ')} on UDP/53 are denied, so a connection by name never starts (packeteye trace --to NAME:PORT shows the query dropped); allow egress to the cluster DNS pods on UDP and TCP 53`,
  ];
}

/**
 * The policy world of the trace's cluster files, for the suggestions at the end of a
 * trace the policies deny (the reading's warnings were written by the trace's own read).
 */
export function policySources(
  io: Io,
  files: readonly string[],
): { world: PolicyWorld; sources: readonly SourceObject[] } {
  const loaded = loadSources({ ...io, err: () => undefined }, files);
  return { world: buildPolicyWorld(loaded.sources), sources: loaded.sources };
}

/** The trace with the checked edits that would allow it when the policies deny it (else unchanged). */
export function suggested<T extends ConnectionTrace>(io: Io, files: readonly string[], t: T): T {
  if (!t.policy || t.policy.allowedByPolicy) return t;
  const { world, sources } = policySources(io, files);
  return withSuggestions(t, world, sources);
}

/** The text lines of a trace's suggestions (`policy.suggestions`); empty when it has none. */
export function traceSuggestionLines(policy: TracePolicyView | undefined): string[] {
  const s = policy?.suggestions;
  const q = policy?.port !== undefined ? parsePortRef(policy.port) : undefined;
  if (s === undefined || !q) return [];
  return s.length > 0
    ? renderSuggestionsText(s, q)
    : ['', `no single edit packeteye can write would allow ${q.protocol}/${q.port}`];
}
