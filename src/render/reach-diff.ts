/**
 * Views of a reachability diff (check/diff.ts): text grouped by the policies
 * that cause each change, and the `ReachabilityDiff` JSON document.
 */
import type { ChangeGroup, PairChange, ReachDiff } from '../trace/check/diff.js';
import { API_VERSION } from './document.js';

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
  return g.causes.map((c) => `${c.policy} (${c.change})`).join(', ');
}

function plural(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

export function renderDiffText(
  d: ReachDiff,
  files: { before: readonly string[]; after: readonly string[] },
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
  return `${out.join('\n')}\n`;
}

export function diffJson(
  d: ReachDiff,
  files: { before: readonly string[]; after: readonly string[] },
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
      ...(g.labels !== undefined ? { endpoints: g.labels } : {}),
      opened: g.opened.map(block),
      cut: g.cut.map(block),
    })),
  };
}
