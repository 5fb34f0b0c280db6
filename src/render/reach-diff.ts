/**
 * Views of a reachability diff (check/diff.ts): text grouped by the policies
 * that cause each change, and the `ReachabilityDiff` JSON document; with the
 * data plane's diff (check/dataplane-diff.ts) when the change touched it.
 */
import type { ChangeGroup, PairChange, ReachDiff } from '../trace/check/diff.js';
import { count } from './count.js';
import { API_VERSION } from './document.js';
import type { DataplaneDiff, DataplaneScope } from '../trace/check/dataplane-diff.js';

export const DIFF_KIND = 'ReachabilityDiff';

/** At most this many endpoints of a block are named in text; the rest are counted. */
const NAMED = 4;

function endpoints(keys: readonly string[]): string {
  if (keys.length <= NAMED) return keys.join(', ');
  return `${keys.slice(0, NAMED).join(', ')} (+${keys.length - NAMED} more)`;
}

function pairs(c: PairChange): number {
  const self = c.from === c.to ? c.from.length : 0;
  return c.from.length * c.to.length - self;
}

function causeText(g: ChangeGroup): string {
  if (g.causes.length === 0) return `the endpoints changed: ${g.labels ?? ''}`;
  const also = g.alsoInvolved?.length
    ? ` [also involved, not needed for it: ${g.alsoInvolved.map((c) => `${c.policy} (${c.change})`).join(', ')}]`
    : '';
  return g.causes.map((c) => `${c.policy} (${c.change})`).join(', ') + also;
}

function plural(n: number, what: string): string {
  return `${count(n)} ${what}${n === 1 ? '' : 's'}`;
}

function scopeText(s: DataplaneScope): string {
  return [
    s.cluster.length ? `Cluster ${s.cluster.join(', ')}` : '',
    s.services.length ? `Services ${endpoints(s.services)}` : '',
    s.nodes.length ? `nodes ${endpoints(s.nodes)}` : '',
    s.pods.length ? `pods ${endpoints(s.pods)}` : '',
    s.externalHosts.length ? `ExternalHosts ${endpoints(s.externalHosts)}` : '',
  ]
    .filter((x) => x !== '')
    .join('; ');
}

/** The data plane's part of the diff, as text lines. */
export function renderDataplaneText(d: DataplaneDiff): string[] {
  const out = [
    '',
    `data plane: ${scopeText(d.scope)}`,
    `  traced ${plural(d.traced.length, 'connection')} in both twins${d.leftOut > 0 ? ` (the first ${d.traced.length} of ${d.candidates} the change can affect; raise --max-traces for the rest)` : ' (every one the change can affect)'}: ${d.changes.length} answer${d.changes.length === 1 ? 's' : ''} differently`,
  ];
  for (const c of d.changes) {
    const v = c.divergence;
    out.push(
      '',
      `  ${c.from} → ${c.to} (${c.why})`,
      `    before: ${c.before.summary}`,
      `    after:  ${c.after.summary}`,
      v.leg === 'paths'
        ? '    the seeded path is the same; the paths differ:'
        : `    the traces part at ${v.leg} hop ${v.hop! + 1} on ${v.host}:`,
      `      before: ${v.before ?? '(nothing)'}`,
      `      after:  ${v.after ?? '(nothing)'}`,
    );
  }
  for (const n of d.notes) out.push(`  ${n}`);
  return out;
}

/** The data plane's part of the JSON document. */
export function dataplaneJson(d: DataplaneDiff): unknown {
  return {
    scope: d.scope,
    candidates: d.candidates,
    traced: d.traced,
    leftOut: d.leftOut,
    changes: d.changes,
    notes: d.notes,
  };
}

export function renderDiffText(
  d: ReachDiff,
  files: { before: readonly string[]; after: readonly string[] },
  dataplane?: DataplaneDiff,
): string {
  const out: string[] = [
    `reach --diff: ${plural(d.opened, 'pair')} opened, ${plural(d.cut, 'pair')} cut`,
    `  before: ${files.before.join(' ')}`,
    `  after:  ${files.after.join(' ')}`,
  ];
  if (d.policies.size > 0)
    out.push(`  policies changed: ${[...d.policies].map(([p, c]) => `${p} (${c})`).join(', ')}`);
  else out.push('  no policy changed');
  if (d.podsAdded.length) out.push(`  pods only after (not compared): ${endpoints(d.podsAdded)}`);
  if (d.podsRemoved.length)
    out.push(`  pods only before (not compared): ${endpoints(d.podsRemoved)}`);
  for (const g of d.groups) {
    out.push('', `${causeText(g)}:`);
    for (const c of g.opened)
      out.push(
        `  opened  ${endpoints(c.from)} → ${endpoints(c.to)}: ${c.ports.toString()}${c.from.length * c.to.length > 1 ? ` (${plural(pairs(c), 'pair')})` : ''}`,
      );
    for (const c of g.cut)
      out.push(
        `  cut     ${endpoints(c.from)} → ${endpoints(c.to)}: ${c.ports.toString()}${c.from.length * c.to.length > 1 ? ` (${plural(pairs(c), 'pair')})` : ''}`,
      );
  }
  if (d.groups.length === 0) out.push('', 'no pair gains or loses a port');
  if (dataplane) out.push(...renderDataplaneText(dataplane));
  return `${out.join('\n')}\n`;
}

export function diffJson(
  d: ReachDiff,
  files: { before: readonly string[]; after: readonly string[] },
  dataplane?: DataplaneDiff,
): unknown {
  const block = (c: PairChange) => ({ from: c.from, to: c.to, ports: c.ports.toRanges() });
  return {
    apiVersion: API_VERSION,
    kind: DIFF_KIND,
    before: files.before,
    after: files.after,
    summary: { opened: d.opened, cut: d.cut },
    policies: [...d.policies].map(([policy, change]) => ({ policy, change })),
    podsAdded: d.podsAdded,
    podsRemoved: d.podsRemoved,
    changes: d.groups.map((g) => ({
      causes: g.causes,
      ...(g.alsoInvolved ? { alsoInvolved: g.alsoInvolved } : {}),
      ...(g.labels !== undefined ? { endpoints: g.labels } : {}),
      opened: g.opened.map(block),
      cut: g.cut.map(block),
    })),
    ...(dataplane ? { dataplane: dataplaneJson(dataplane) } : {}),
  };
}
