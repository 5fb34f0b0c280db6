/**
 * Reading a Reachability document back in the tests (render/reach-document.ts):
 * validates it against its schema and answers per pair, whatever its grouping.
 */
import type { PortRanges } from '../../policy/ports.js';
import type { ReachabilityDocument } from '../reach-document.js';
import { expectDocument } from './schema.js';

const ALL: PortRanges = { TCP: [[1, 65535]], UDP: [[1, 65535]], SCTP: [[1, 65535]] };

/** `{TCP: [[1, 79], [81, 65535]]}` → `{TCP: '1-79,81-65535'}`: compact to compare. */
export function rangesText(r: PortRanges): Record<string, string> {
  return Object.fromEntries(
    Object.entries(r).map(([p, iv]) => [
      p,
      (iv as readonly (readonly [number, number])[])
        .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`))
        .join(','),
    ]),
  );
}

export interface ReachReader {
  readonly doc: ReachabilityDocument;
  /** Pod keys, in the document's order. */
  readonly pods: readonly string[];
  /** External range names. */
  readonly externals: readonly string[];
  readonly hostNetwork: readonly string[];
  /** What `from` may send to `to`. */
  cell(from: string, to: string): PortRanges;
  /** The same as text per protocol (`{TCP: '80'}`). */
  text(from: string, to: string): Record<string, string>;
  /** Whether anything at all is allowed (with `--port`: that port). */
  allows(from: string, to: string): boolean;
}

export function readReach(json: string): ReachReader {
  const doc = expectDocument<ReachabilityDocument>(json, 'Reachability');
  const groupOf = new Map<string, number>();
  doc.groups.forEach((g, i) => g.members.forEach((k) => groupOf.set(k, i)));
  const exceptions = new Map(doc.exceptions.map((e) => [`${e.from}\u0000${e.to}`, e.portSet]));
  const pods = doc.groups.filter((g) => g.kind === 'pods').flatMap((g) => g.members);
  const cell = (from: string, to: string): PortRanges => {
    const a = groupOf.get(from);
    const b = groupOf.get(to);
    if (a === undefined || b === undefined)
      throw new Error(`${from} -> ${to}: not in the document`);
    if (from === to && doc.groups[a]!.kind === 'pods') return ALL;
    const e = exceptions.get(`${from}\u0000${to}`);
    return doc.portSets[e ?? doc.allowed[a]![b]!]!;
  };
  return {
    doc,
    pods,
    externals: doc.groups.filter((g) => g.kind === 'external').flatMap((g) => g.members),
    hostNetwork: doc.groups.flatMap((g) => g.hostNetwork ?? []),
    cell,
    text: (from, to) => rangesText(cell(from, to)),
    allows: (from, to) => Object.keys(cell(from, to)).length > 0,
  };
}
