/**
 * A light line-level model of `iptables-restore` input (tables of chain
 * declarations and `-A` lines), used to assemble a node's dump and to order it
 * the way kube-proxy's own tests do (`sortIPTablesRules` in
 * `pkg/proxy/iptables/proxier_test.go`, over `iptablestest.ParseIPTablesDump`).
 * The full parser into the netfilter model lives in `iptables/parse.ts`.
 */

import { InternalError } from '../diag.js';
import type { ChainMemo, OwnChains, SharedBlock } from '../iptables/parse-tables.js';
import { saveTablesText } from '../iptables/parse-tables.js';
import type { RuleBody } from '../iptables/rule.js';
import { RestoreLine, type LineBuffer } from './proxier.js';

export interface DumpChain {
  readonly name: string;
  /** `ACCEPT`/`DROP` for built-in chains, `-` for user chains. */
  readonly policy: string;
  /** Whole lines, e.g. `-A KUBE-SERVICES -m comment ...`. */
  readonly rules: string[];
  /** The parsed form of `rules[i]` where the generator built it beside the text (rule-body.ts). */
  readonly parsed?: (RuleBody | undefined)[];
}

export interface DumpTable {
  readonly name: string;
  readonly chains: DumpChain[];
  /** Lines that are neither chain declarations nor `-A` (e.g. `-X CHAIN`). */
  readonly other: string[];
  /** Chains of `chains` other dumps hold too, read once (iptables/block.ts). */
  readonly block?: SharedBlock;
  /** With `block`: the other chains, in order, and how many of the block's stand before each. */
  readonly own?: OwnChains;
}

export interface Dump {
  readonly tables: DumpTable[];
}

/** Lines of one table into `t`: declarations, `-A` lines, the rest. */
function readTableLines(
  t: DumpTable,
  byName: Map<string, DumpChain>,
  lines: readonly string[],
): void {
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      const c: DumpChain = { name: name!, policy: policy ?? '-', rules: [] };
      t.chains.push(c);
      byName.set(c.name, c);
      continue;
    }
    const name = line.startsWith('-A ') ? chainOfRule(line) : undefined;
    if (name !== undefined) {
      let c = byName.get(name);
      if (!c) {
        // iptables-restore would reject this; keep it visible rather than drop it.
        c = { name, policy: '-', rules: [] };
        t.chains.push(c);
        byName.set(c.name, c);
      }
      if (c instanceof LineChain) c.lines.push(new RestoreLine(line, 'rule', name));
      else c.rules.push(line);
      continue;
    }
    t.other.push(line);
  }
}

/** The chain of a line that starts `-A `: the word after it (`^-A (\S+)`), or undefined. */
function chainOfRule(line: string): string | undefined {
  WORD.lastIndex = 3;
  const m = WORD.exec(line);
  return m ? m[0] : undefined;
}
const WORD = /\S+/y;

/**
 * A chain of the lines a sync wrote (`RestoreLine`s, kept as written: their
 * text is joined when first read, and a rule's parsed form rides along). A
 * shared port's chain may be counted before it is written (`count`): its
 * lines are written when first read (`fill`, which gives them with `hold`).
 */
export class LineChain implements DumpChain {
  private held: RestoreLine[] = [];
  private fill: (() => void) | undefined;
  private text: string[] | undefined;
  private bodies: (RuleBody | undefined)[] | undefined;
  constructor(
    readonly name: string,
    readonly policy: string,
    /**
     * Set on a chain whose lines are shared by several dumps (`groupFragment`):
     * they are not changed after, and a reader keeps its reading of them here.
     */
    readonly memo?: ChainMemo,
    /** How many lines it has, known before they are written (port-plan.ts). */
    readonly count?: number,
    fill?: () => void,
  ) {
    this.fill = fill;
  }
  /** Its lines, written now if they were not. */
  get lines(): RestoreLine[] {
    const fill = this.fill;
    if (fill) {
      this.fill = undefined;
      fill();
    }
    return this.held;
  }
  /** Whether its lines are written. */
  get written(): boolean {
    return this.fill === undefined;
  }
  /** The lines of a chain counted before: written (they must be `count`). */
  hold(lines: RestoreLine[]): void {
    if (lines.length !== this.count)
      throw new InternalError(
        `kube-proxy chain ${this.name}: ${lines.length} rules written, ${this.count} counted`,
      );
    this.fill = undefined;
    this.held = lines;
  }
  get rules(): string[] {
    return (this.text ??= this.lines.map((l) => l.text.trimEnd()));
  }
  get parsed(): (RuleBody | undefined)[] {
    return (this.bodies ??= this.lines.map((l) => l.body));
  }
  /** The lines put in a new order (the sort). */
  reorder(lines: readonly RestoreLine[]): void {
    for (let i = 0; i < lines.length; i++) this.held[i] = lines[i]!;
    this.text = undefined;
    this.bodies = undefined;
  }
}

/**
 * A service port's nat lines as shared by the dumps it is in: the chains it
 * declares, each whole with its rules (`LineChain`s with a memo, not changed
 * after), and its lines for the other chains (KUBE-SERVICES,
 * KUBE-NODEPORTS), in order. Undefined when its declarations are not all
 * distinct chain declarations of chains of its own (the chains the dump sort
 * reorders are everyone's).
 */
export function groupFragment(
  declared: LineBuffer,
  rules: LineBuffer,
): { readonly chains: readonly LineChain[]; readonly others: readonly RestoreLine[] } | undefined {
  const byName = new Map<string, LineChain>();
  let ok = true;
  declared.each((l) => {
    if (l.kind !== 'declare' || l.chain === undefined || byName.has(l.chain) || SORTED.has(l.chain))
      ok = false;
    else byName.set(l.chain, new LineChain(l.chain, '-', {}));
  });
  if (!ok) return undefined;
  const others: RestoreLine[] = [];
  rules.each((l) => {
    const c = l.kind === 'rule' && l.chain !== undefined ? byName.get(l.chain) : undefined;
    if (c) c.lines.push(l);
    else others.push(l);
  });
  return { chains: [...byName.values()], others };
}

/**
 * One table from the lines a sync wrote (chain declarations and `-A` lines):
 * what `parseDump` gives for `*name`, those lines and `COMMIT`, each rule
 * with its parsed form, without joining the text. `whole`: the names of
 * chains written whole (`groupFragment`), which the caller adds to the table
 * (`mergeSorted`) — undefined when a line names one of them (the table is
 * then not what the lines would give: the caller writes it unshared).
 */
export function dumpTable(
  name: string,
  parts: readonly LineBuffer[],
  whole?: ReadonlySet<string>,
): DumpTable | undefined {
  const t: DumpTable = { name, chains: [], other: [] };
  const byName = new Map<string, DumpChain>();
  let clash = false;
  const add = (l: RestoreLine): void => {
    const chain = l.chain;
    if (chain !== undefined && whole?.has(chain)) clash = true;
    if (l.kind === 'declare' && chain !== undefined) {
      const c = new LineChain(chain, '-');
      t.chains.push(c);
      byName.set(chain, c);
      return;
    }
    if (l.kind === 'rule' && chain !== undefined) {
      let c = byName.get(chain);
      if (!c) {
        // iptables-restore would reject this; keep it visible rather than drop it.
        c = new LineChain(chain, '-');
        t.chains.push(c);
        byName.set(chain, c);
      }
      if (c instanceof LineChain) c.lines.push(l);
      else c.rules.push(l.text.trimEnd());
      return;
    }
    // Anything else is read as its text is.
    readTableLines(t, byName, [l.text]);
  };
  for (const p of parts) p.each(add);
  return clash ? undefined : t;
}

/** Chains ordered as `sortChains` orders them (rank, then name). */
function chainBefore(a: string, b: string): boolean {
  const ra = chainRank(a);
  const rb = chainRank(b);
  return ra !== rb ? ra < rb : a < b;
}

/**
 * Sorted chains (`sortChains`) and sorted chains of other names, in the order
 * `sortChains` gives all of them: merged.
 */
export function mergeSorted(sorted: readonly DumpChain[], more: readonly DumpChain[]): DumpChain[] {
  const out = new Array<DumpChain>(sorted.length + more.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < sorted.length && j < more.length)
    out[k++] = chainBefore(more[j]!.name, sorted[i]!.name) ? more[j++]! : sorted[i++]!;
  while (i < sorted.length) out[k++] = sorted[i++]!;
  while (j < more.length) out[k++] = more[j++]!;
  return out;
}

/**
 * For each of `more` (sorted, other names), how many of `sorted` stand before
 * it in `mergeSorted`'s order (searches by halves).
 */
export function sortedBefore(sorted: readonly DumpChain[], more: readonly DumpChain[]): Int32Array {
  const out = new Int32Array(more.length);
  more.forEach((c, i) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chainBefore(sorted[mid]!.name, c.name)) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  });
  return out;
}

/** Whether a chain of this name is among the sorted chains (a search by halves). */
export function hasSorted(sorted: readonly DumpChain[], name: string): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const n = sorted[mid]!.name;
    if (n === name) return true;
    if (chainBefore(n, name)) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** Parse restore-format text. Throws on structure it cannot place (a bug in the caller). */
export function parseDump(text: string): Dump {
  const tables: DumpTable[] = [];
  let cur: DumpTable | undefined;
  const byName = new Map<string, DumpChain>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), chains: [], other: [] };
      tables.push(cur);
      byName.clear();
      continue;
    }
    if (!cur) throw new Error(`line outside a table: ${line}`);
    if (line === 'COMMIT') {
      cur = undefined;
      continue;
    }
    readTableLines(cur, byName, [line]);
  }
  return { tables };
}

/** Print like `iptablestest.IPTablesDump.String()`: declarations, then rules, then COMMIT. */
export function formatDump(dump: Dump): string {
  return saveTablesText(dump.tables);
}

/** The value of `--comment`, unquoted, or undefined. */
export function ruleComment(rule: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
  if (!m) return undefined;
  return m[1] ?? m[2];
}

/**
 * `orderByCommentServiceName`: compare the service names in two rules'
 * comments (the comment up to the first space or colon); false if either
 * rule has no comment.
 */
function orderByCommentServiceName(a: SortKey, b: SortKey): boolean {
  return a.service !== undefined && b.service !== undefined && a.service < b.service;
}

/** What the sort reads of a rule, read once: its comment's service name, and whether it must stay last. */
interface SortKey {
  /** The comment up to the first space or colon; undefined without a comment. */
  readonly service: string | undefined;
  readonly last: boolean;
}

function sortKey(rule: string): SortKey {
  const c = ruleComment(rule);
  if (c === undefined) return { service: undefined, last: false };
  const i = c.search(/[ :]/);
  return { service: i === -1 ? c : c.slice(0, i), last: c.includes('must be the last rule') };
}

const LINE_KEYS = new WeakMap<RestoreLine, SortKey>();

/** `sortKey` of a written line, kept with the line. */
function lineKey(l: RestoreLine): SortKey {
  let k = LINE_KEYS.get(l);
  if (!k) LINE_KEYS.set(l, (k = sortKey(l.text.trimEnd())));
  return k;
}

/**
 * Stable sort of a chain's rules with a Go-style `less` over their sort keys
 * (the parsed forms and written lines move with their text).
 */
function stableSortLess(c: DumpChain, less: (a: SortKey, b: SortKey) => boolean): void {
  if (c instanceof LineChain) {
    // A written line's key is read once (the lines of shared fragments are in every sync).
    const was = c.lines;
    const indexed = was.map((l, i) => ({ k: lineKey(l), i }));
    indexed.sort((p, q) => (less(p.k, q.k) ? -1 : less(q.k, p.k) ? 1 : p.i - q.i));
    if (indexed.every((p, i) => p.i === i)) return;
    c.reorder(indexed.map((p) => was[p.i]!));
    return;
  }
  const xs = c.rules;
  const indexed = xs.map((x, i) => ({ x, k: sortKey(x), i }));
  indexed.sort((p, q) => (less(p.k, q.k) ? -1 : less(q.k, p.k) ? 1 : p.i - q.i));
  if (indexed.every((p, i) => p.i === i)) return;
  const along = c.parsed;
  const was = along ? [...along] : undefined;
  indexed.forEach((p, i) => {
    xs[i] = p.x;
    if (along) along[i] = was![p.i]!;
  });
}

function chainRank(name: string): number {
  if (name === 'KUBE-NODEPORTS') return 0;
  if (name === 'KUBE-SERVICES') return 1;
  if (name.startsWith('KUBE-')) return 2;
  return 3;
}

/** The chains whose rules the dump sort reorders (`sortDumpInPlace`). */
const SORTED: ReadonlySet<string> = new Set(['KUBE-NODEPORTS', 'KUBE-SERVICES']);

/** Chains by rank, then by name (stable: chains of one name keep their order). */
export function sortChains(chains: DumpChain[]): void {
  const byName = new Map<string, DumpChain>();
  for (const c of chains) byName.set(c.name, c);
  if (byName.size === chains.length) {
    // Distinct names: the engine's own string sort per rank (the order `<` gives).
    const groups: string[][] = [[], [], [], []];
    for (const c of chains) groups[chainRank(c.name)]!.push(c.name);
    let i = 0;
    for (const g of groups) for (const n of g.sort()) chains[i++] = byName.get(n)!;
    return;
  }
  const ranked = chains.map((c) => ({ c, rank: chainRank(c.name) }));
  ranked.sort((a, b) => {
    if (a.rank !== b.rank) return a.rank - b.rank;
    return a.c.name < b.c.name ? -1 : a.c.name > b.c.name ? 1 : 0;
  });
  ranked.forEach((r, i) => (chains[i] = r.c));
}

/**
 * kube-proxy's test sort (`sortIPTablesRules`): tables by name; chains
 * KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* alphabetically, then the rest
 * alphabetically; the rules of KUBE-NODEPORTS and KUBE-SERVICES (filter and
 * nat) stably by the service name in their comment, keeping the nat
 * KUBE-SERVICES "must be the last rule" rule(s) last. Other chains keep their
 * rule order. Returns a new dump.
 */
export function sortDump(dump: Dump): Dump {
  return sortDumpInPlace({
    tables: dump.tables.map((t) => ({
      name: t.name,
      chains: t.chains.map((c) => ({
        name: c.name,
        policy: c.policy,
        rules: [...c.rules],
        ...(c.parsed ? { parsed: [...c.parsed] } : {}),
      })),
      other: [...t.other],
    })),
  });
}

/** `sortDump` of a dump nobody else holds: sorted where it stands (no copy of its lines). */
export function sortDumpInPlace(dump: Dump): Dump {
  const tables = dump.tables;
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of tables) {
    sortChains(t.chains);
    for (const c of t.chains) {
      if (c.name === 'KUBE-NODEPORTS' && (t.name === 'filter' || t.name === 'nat')) {
        stableSortLess(c, orderByCommentServiceName);
      } else if (c.name === 'KUBE-SERVICES' && t.name === 'filter') {
        stableSortLess(c, orderByCommentServiceName);
      } else if (c.name === 'KUBE-SERVICES' && t.name === 'nat') {
        stableSortLess(c, (a, b) => {
          if (a.last) return false;
          if (b.last) return true;
          return orderByCommentServiceName(a, b);
        });
      }
    }
  }
  return dump;
}

/** `sortIPTablesRules` on text. */
export function sortIptablesText(text: string): string {
  return formatDump(sortDump(parseDump(text)));
}
