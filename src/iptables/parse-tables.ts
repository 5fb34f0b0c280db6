/**
 * The tables a writer built (kube-proxy's, `proxy/iptables.ts`) read into a
 * Ruleset without their text: what `parseIptablesSave` gives for the text
 * they print as, each rule at its line of that text. A rule line that comes
 * with its parsed form is not read again; a chain whose lines several tables
 * share (`SaveChainLines.memo`) is read once and placed in each; a chain whose
 * every line is known (its parsed form, or read before) is placed from rules
 * made once per line, for every table that holds the line; a run of
 * such chains (`SaveTableLines.block`, block.ts) is placed without a chain,
 * a declaration or a check of its own per table.
 */
import type { Diagnostic } from '../diag.js';
import type { Rule, Ruleset, TableName } from '../kernel/netfilter/types.js';
import { TABLE_NAMES } from '../kernel/netfilter/types.js';
import {
  BlockReading,
  NEVER,
  PLACED,
  type ChainMemo,
  type Placement,
  type SharedBlock,
} from './block.js';
import { saveReader, type ParseOptions, type SaveReader } from './parse.js';
import { ruleAt } from './restore.js';
import type { RuleBody } from './rule.js';

/** One table as `iptables-save` text would hold it, a rule line possibly with its parsed form. */
export interface SaveTableLines {
  readonly name: string;
  /** In declaration order: `:NAME POLICY [0:0]`, then each chain's rules in that order. */
  readonly chains: readonly SaveChainLines[];
  /** Other command lines after the rules (e.g. `-X CHAIN`). */
  readonly other: readonly string[];
  /**
   * A run of `chains` other tables hold too (with memos, read once: block.ts), placed in this
   * table without being read again where the result is the same.
   */
  readonly block?: SharedBlock;
  /**
   * With `block`: the table's other chains in declaration order, and how many of the run's
   * are declared before each (so the run is placed without going through `chains`).
   */
  readonly own?: OwnChains;
}

/**
 * The `iptables-save` text of tables: per table `*name`, the declarations, the
 * rules chain by chain, the other lines, `COMMIT` — what `parseIptablesTables`
 * reads them as.
 */
export function saveTablesText(tables: readonly SaveTableLines[]): string {
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} ${c.policy} [0:0]\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${r}\n`;
    for (const o of t.other) out += `${o}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/** See `SaveTableLines.own`. */
export interface OwnChains {
  readonly chains: readonly SaveChainLines[];
  /** Per own chain: the run chains declared before it (not decreasing). */
  readonly at: Int32Array;
}

/** One chain of `SaveTableLines`. */
export interface SaveChainLines {
  readonly name: string;
  readonly policy: string;
  /** Whole `-A CHAIN …` lines. */
  readonly rules: readonly string[];
  /**
   * `parsed[i]`: what the rule of `rules[i]` parses to, where the writer built it (else it is
   * parsed).
   */
  readonly parsed?: readonly (RuleBody | undefined)[];
  /** The same rules as lines with their parsed forms (read instead of `rules` and `parsed`). */
  readonly lines?: readonly { readonly text: string; readonly body?: RuleBody | undefined }[];
  /**
   * Where the reader keeps these lines' rules as read, for the next tables
   * that hold the same chain (a writer that shares a chain's lines between
   * dumps gives each such chain one memo): read without errors, they are kept
   * without lines of their own and placed in each ruleset by its
   * `Chain.firstLine`.
   */
  readonly memo?: ChainMemo;
}

export type { ChainMemo, SharedBlock } from './block.js';

/**
 * The Ruleset `parseIptablesSave` gives for the text these tables print as
 * (per table `*name`, the declarations, the rules, the other lines, `COMMIT`:
 * the line numbers of that text), without the text: a rule line that comes
 * with its parsed form is not read again. `family` is the dump's (no text to
 * detect it from); the backend is unknown, as for text without a header.
 */
export function parseIptablesTables(
  tables: readonly SaveTableLines[],
  file?: string,
  opts: ParseOptions = {},
): { ruleset: Ruleset; diagnostics: Diagnostic[] } {
  const memos = { used: false, misplaced: false };
  const r = readTables(tables, file, opts, memos);
  // A diagnostic names a rule by its own line, and a refused rule moves the ones after it:
  // tables with any are read again rule by rule.
  if (memos.misplaced || (memos.used && r.diagnostics.length > 0))
    return readTables(tables, file, opts, undefined);
  return r;
}

function readTables(
  tables: readonly SaveTableLines[],
  file: string | undefined,
  opts: ParseOptions,
  memos: Memos | undefined,
): { ruleset: Ruleset; diagnostics: Diagnostic[] } {
  const rd = saveReader(file, opts, opts.family ?? 'ipv4', 'unknown');
  const placed: Placement[] = [];
  let n = 0;
  for (const t of tables) {
    // What reading a line depends on besides its text.
    const where = `${opts.family ?? 'ipv4'} ${t.name}`;
    const reading =
      memos && !opts.noflush && t.block ? readingOf(t, opts.family ?? 'ipv4') : undefined;
    const p = reading && placeBlock(rd, t, reading, n, { file, memos: memos!, where });
    if (p) {
      placed.push(p);
      n = p.tableLine + p.chainCount + reading.ruleStart[reading.names.length]!;
      n += p.ownRuleStart[p.ownRuleStart.length - 1]!;
      rd.line(++n, 'COMMIT');
      continue;
    }
    rd.line(++n, `*${t.name}`);
    for (const c of t.chains) rd.declare(++n, c.name, c.policy);
    for (const c of t.chains) n = readChain(rd, n, c, memos, where);
    for (const o of t.other) rd.line(++n, o);
    rd.line(++n, 'COMMIT');
  }
  const r = rd.end();
  if (memos && placed.some((p) => p.failed)) memos.misplaced = true;
  return r;
}

/** What `readTables` notes of the memos it used. */
interface Memos {
  used: boolean;
  misplaced: boolean;
}

/** A table's shared run as read before (made on the second table that holds it), or undefined. */
function readingOf(t: SaveTableLines, family: 'ipv4' | 'ipv6'): BlockReading | undefined {
  const b = t.block!;
  const known = b.memo.reading;
  if (known?.of === b.chains && known.family === family) return known;
  // A run that cannot be placed is not tried again for the next tables.
  const key = `${t.name} ${family}`;
  if (b.memo.failed === key || !TABLE_NAMES.includes(t.name as TableName)) return undefined;
  const r = BlockReading.of(t.name as TableName, b, family);
  if (r === NEVER) {
    b.memo.failed = key;
    return undefined;
  }
  if (r) b.memo.reading = r;
  return r;
}

/**
 * A table holding a run read before: its own chains declared and read at the
 * lines they stand at, the run's placed (`BlockChains`); undefined, nothing
 * read, where the table is not its own chains and the run's, in order.
 */
function placeBlock(
  rd: SaveReader,
  t: SaveTableLines,
  reading: BlockReading,
  n: number,
  { file, memos, where }: { file: string | undefined; memos: Memos; where: string },
): Placement | undefined {
  const run = reading.of;
  if (t.other.length > 0) return undefined;
  const split = ownChains(t, reading);
  if (!split) return undefined;
  const { chains: own, at } = split;
  const tableLine = n + 1;
  const ownRuleStart = new Int32Array(own.length + 1);
  const p: Placement = {
    reading,
    file,
    tableLine,
    chainCount: own.length + run.length,
    ownNames: own.map((c) => c.name),
    ownAt: at,
    ownRuleStart,
    failed: false,
  };
  rd.line(tableLine, `*${t.name}`);
  if (!rd.placeBlock(p)) {
    p.failed = true;
    return p;
  }
  for (let i = 0; i < own.length; i++)
    rd.declare(tableLine + 1 + i + at[i]!, own[i]!.name, own[i]!.policy);
  const rulesFrom = tableLine + p.chainCount + 1;
  for (let i = 0; i < own.length; i++) {
    const c = own[i]!;
    const first = rulesFrom + reading.ruleStart[at[i]!]! + ownRuleStart[i]!;
    const count = readChain(rd, first - 1, c, memos, where) - (first - 1);
    ownRuleStart[i + 1] = ownRuleStart[i]! + count;
  }
  memos.used = true;
  return p;
}

/**
 * A table's chains that are not the run's, and how many of the run's stand
 * before each: as the table gives them (`own`, its run being this one), or
 * found going through its chains; undefined where the table does not hold
 * the run's chains, in order, and others of other names.
 */
function ownChains(t: SaveTableLines, reading: BlockReading): OwnChains | undefined {
  const run = reading.of;
  if (t.own && t.block?.chains === run) {
    const { chains, at } = t.own;
    return at.length === chains.length && chains.every((c) => !reading.index.has(c.name))
      ? t.own
      : undefined;
  }
  const own: SaveChainLines[] = [];
  const at: number[] = [];
  let j = 0;
  for (const c of t.chains) {
    if (j < run.length && c === run[j]) j++;
    else if (reading.index.has(c.name)) return undefined;
    else {
      own.push(c);
      at.push(j);
    }
  }
  return j === run.length ? { chains: own, at: Int32Array.from(at) } : undefined;
}

/**
 * Lines read from their text before (each a line object a writer may give several tables:
 * kube-proxy's lines for KUBE-SERVICES and KUBE-NODEPORTS), each with the rule it gave.
 */
const READ = new WeakMap<object, { readonly where: string; readonly rule: RuleBody }>();

/** Lines' rules as placed (no line of their own), made once per line object (and `where`). */
const PLACED_RULE = new WeakMap<object, { readonly where: string; readonly rule: Rule }>();

/**
 * The rules of lines that each come with their parsed form or were read from their text
 * before (`READ`), each without a line of its own (a chain places them); undefined where a
 * line is not known so.
 */
function knownRules(
  lines: NonNullable<SaveChainLines['lines']>,
  where: string,
): Rule[] | undefined {
  const out = new Array<Rule>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let p = PLACED_RULE.get(l);
    if (p?.where !== where) {
      const read = l.body === undefined ? READ.get(l) : undefined;
      const body = l.body ?? (read?.where === where ? read.rule : undefined);
      if (body === undefined) return undefined;
      PLACED_RULE.set(l, (p = { where, rule: ruleAt(body, PLACED) }));
    }
    out[i] = p.rule;
  }
  return out;
}

/** A line of `chain` read from its text; its rule kept when it added one rule to the chain, and no error. */
function readOnce(
  rd: SaveReader,
  lineNo: number,
  chain: string,
  l: { readonly text: string },
  where: string,
): void {
  const errors = rd.diagnostics.length;
  const before = rd.rulesOf(chain)?.length;
  rd.line(lineNo, l.text);
  const rules = rd.rulesOf(chain);
  const r = rules?.[rules.length - 1];
  if (
    rd.diagnostics.length === errors &&
    rules?.length === (before ?? -2) + 1 &&
    r?.source.line === lineNo
  )
    READ.set(l, { where, rule: r });
}

/** A chain's rules read from line n + 1 on; the last line read. */
function readChain(
  rd: SaveReader,
  n: number,
  c: SaveChainLines,
  memos: Memos | undefined,
  where: string,
): number {
  const memo = memos ? c.memo : undefined;
  if (memo?.rules && placeRules(rd, n + 1, c.name, memo.rules)) {
    memos!.used = true;
    return n + memo.rules.length;
  }
  // A rule's text is read only where it comes without its parsed form.
  const lines = c.lines;
  if (lines && memo) {
    // Read to be kept: without lines of their own (an error reads the tables again).
    const kept = readPlaced(rd, n + 1, c.name, lines);
    if (kept !== undefined) {
      memos!.used = true;
      if (kept !== false) memo.rules = kept;
      else memos!.misplaced = true;
      return n + lines.length;
    }
  }
  // Every line with its rule known (its parsed form, or read before): placed, read no more.
  const known = lines && memos && lines.length > 0 ? knownRules(lines, where) : undefined;
  if (known && placeRules(rd, n + 1, c.name, known)) {
    memos!.used = true;
    return n + known.length;
  }
  if (lines) {
    for (const l of lines) {
      const known = l.body === undefined ? READ.get(l) : undefined;
      const body = l.body ?? (known?.where === where ? known.rule : undefined);
      if (body !== undefined) rd.parsedRule(++n, c.name, body, l.text);
      else readOnce(rd, ++n, c.name, l, where);
    }
    return n;
  }
  const parsed = c.parsed;
  if (!parsed) {
    for (const r of c.rules) rd.line(++n, r);
    return n;
  }
  for (let i = 0; i < parsed.length; i++) {
    const body = parsed[i];
    if (body === undefined) rd.line(++n, c.rules[i]!);
    else rd.parsedRule(++n, c.name, body, c.rules[i]!);
  }
  return n;
}

/**
 * A chain just declared given rules read before (`SaveChainLines.memo`), placed from
 * `firstLine` on; false (nothing done) where the chain is not fresh.
 */
function placeRules(
  rd: SaveReader,
  firstLine: number,
  chain: string,
  rules: readonly Rule[],
): boolean {
  const ch = rules.length === 0 ? undefined : rd.freshChain(chain, firstLine + rules.length - 1);
  if (!ch) return false;
  ch.rules = rules as Rule[];
  ch.firstLine = firstLine;
  return true;
}

/**
 * A chain's lines read into it, just declared, each rule without a line of its own, the
 * chain placing them from `firstLine` on: the rules (to be kept); false when a line gave
 * an error or did not add one rule to the chain (the chain's lines are then misplaced:
 * the caller reads the tables again); undefined (nothing read) when the chain is not
 * fresh.
 */
function readPlaced(
  rd: SaveReader,
  firstLine: number,
  chain: string,
  lines: NonNullable<SaveChainLines['lines']>,
): readonly Rule[] | false | undefined {
  const ch = lines.length === 0 ? undefined : rd.freshChain(chain, firstLine + lines.length - 1);
  if (!ch) return undefined;
  const errors = rd.diagnostics.length;
  const rules = ch.rules;
  let ok = true;
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k]!;
    if (l.body !== undefined) {
      rules.push(ruleAt(l.body, PLACED));
      continue;
    }
    rd.line(firstLine + k, l.text);
    const r = ch.rules === rules && rules.length === k + 1 ? rules[k]! : undefined;
    if (r?.source.line !== firstLine + k) ok = false;
    else rules[k] = ruleAt(r, PLACED);
  }
  ch.firstLine = firstLine;
  return ok &&
    rd.diagnostics.length === errors &&
    ch.rules === rules &&
    rules.length === lines.length
    ? rules
    : false;
}
