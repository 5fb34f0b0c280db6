/**
 * `iptables-save` output and `iptables-restore` input into a Ruleset.
 *
 * Follows iptables-restore (iptables/iptables-restore.c, xtables-restore.c):
 * `*table` opens a table, `:CHAIN POLICY [pkts:bytes]` declares a chain,
 * command lines (`-A`, `-I`, `-N`, `-X`, `-F`, `-P`, `-D`, `-R`, `-Z`) change
 * it, `COMMIT` closes it; `#` lines are comments. Built-in chains exist
 * without a declaration (kube-proxy's restore input relies on that). Jump
 * targets are checked against the table's chains at COMMIT.
 *
 * Never throws on bad input: every problem is a diagnostic with FILE:LINE,
 * and parsing goes on to report more.
 */

import type { Diagnostic } from '../diag.js';
import {
  BUILTIN_CHAINS,
  TABLE_NAMES,
  type Chain,
  type Rule,
  type Ruleset,
  type SourceRef,
  type Table,
  type TableName,
} from '../kernel/netfilter/types.js';
import { CODE_SYNTAX, type RuleBody } from './rule.js';
import { tokenizeLine } from './tokenize.js';
import {
  CODE_UNKNOWN_CHAIN,
  command,
  declareChain,
  declareNamed,
  ownRules,
  ruleAt,
  type ChainState,
  type Reader,
  type TableState,
} from './restore.js';
import {
  detectBackend,
  jumpTargets,
  ruleDiagnostic,
  validateTable,
  type Backend,
} from './validate.js';

export { parseRule } from './rule.js';
export { CODE_UNKNOWN_CHAIN } from './restore.js';

export const CODE_NO_COMMIT = 'iptables-missing-commit';
export const CODE_LEGACY_TABLES = 'iptables-legacy-tables';
export const CODE_TABLE_REPLACED = 'iptables-table-replaced';

export interface ParseOptions {
  /**
   * Input for `iptables-restore --noflush`: a repeated `*table` adds to the
   * table instead of replacing it, and declaring an existing user chain
   * flushes it (as the real tool does). Default false: a full save.
   */
  readonly noflush?: boolean;
  /**
   * The dump's family: `ipv4` for iptables-save, `ipv6` for ip6tables-save.
   * Absent: detected from the text (see detectIptablesFamily), IPv4 when
   * nothing in it is IPv6-only. Addresses of the other family are errors.
   */
  readonly family?: 'ipv4' | 'ipv6';
}

/** An IPv6 address (two colons within a few hex digits) as the value of an address option. */
const V6_ADDRESS_OPTION =
  /(?:^|[ \t])(?:-s|-d|--source|--destination|--src|--dst|--to-destination|--to-source|--to|--ctorigdst|--ctorigsrc|--ctrepldst|--ctreplsrc)[ \t]+\[?[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:/m;
/** Options only ip6tables has. */
const V6_ONLY_OPTION =
  /(?:^|[ \t])(?:-m[ \t]+icmp6|--icmpv6-type|-p[ \t]+(?:ipv6-icmp|icmpv6)|--reject-with[ \t]+icmp6-[a-z-]+)(?=[ \t\n]|$)/m;

/**
 * Which tool printed a dump, from its first IPv6-only construct (an IPv6
 * address in `-s`/`-d`/`--to-destination`…, `-m icmp6`, `-p ipv6-icmp`,
 * `--reject-with icmp6-…`): `ipv6` with that line, or null when nothing in
 * the text is IPv6-only (an iptables-save dump, or one without addresses).
 */
export function detectIptablesFamily(text: string): { family: 'ipv6'; line: number } | null {
  const a = V6_ADDRESS_OPTION.exec(text);
  const b = V6_ONLY_OPTION.exec(text);
  const at = Math.min(a ? a.index : Infinity, b ? b.index : Infinity);
  if (at === Infinity) return null;
  let line = 1;
  // The match may begin with the newline before the option.
  const end = text[at] === '\n' ? at + 1 : at;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return { family: 'ipv6', line };
}

/** An IPv4 address as the value of an address option. */
const V4_ADDRESS_OPTION =
  /(?:^|[ \t])(?:-s|-d|--source|--destination|--src|--dst|--to-destination|--to-source|--to)[ \t]+(?:![ \t]+)?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?=[/: \t\n-]|$)/m;

/** The line of the first IPv4 address in an address option, or null. */
export function firstIpv4Line(text: string): number | null {
  const m = V4_ADDRESS_OPTION.exec(text);
  if (!m) return null;
  const end = text[m.index] === '\n' ? m.index + 1 : m.index;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function isTableName(s: string): s is TableName {
  return (TABLE_NAMES as readonly string[]).includes(s);
}

function newTable(name: TableName, line: number, file: string | undefined): TableState {
  const chains = new Map<string, ChainState>();
  for (const c of BUILTIN_CHAINS[name]) {
    // A fresh table's built-in chains start with policy ACCEPT (xt_alloc_initial_table).
    chains.set(c, {
      name: c,
      builtin: true,
      policy: 'ACCEPT',
      rules: [],
      source: { ...(file !== undefined ? { file } : {}), line },
    });
  }
  return { name, chains, openedAt: line };
}

/**
 * `*table`: a fresh table, or (with --noflush) the one already read; a
 * repeated table replaces the first in a full restore. Undefined for a name
 * that is no table (its lines are then skipped to COMMIT).
 */
function openTable(
  reader: Reader,
  tables: ReadonlyMap<TableName, TableState>,
  name: string,
  lineNo: number,
  file: string | undefined,
): TableState | undefined {
  if (!isTableName(name)) {
    reader.error(lineNo, `unknown table "${name}" (expected one of ${TABLE_NAMES.join(', ')})`);
    return undefined;
  }
  const existing = tables.get(name);
  if (existing && reader.opts.noflush) return { name, chains: existing.chains, openedAt: lineNo };
  if (existing) {
    reader.diagnostics.push({
      code: CODE_TABLE_REPLACED,
      severity: 'warning',
      message: `table ${name} appears again; iptables-restore flushes it, so the table opened at line ${existing.openedAt} is replaced`,
      ...(file !== undefined ? { file } : {}),
      line: lineNo,
      hint: 'for partial (iptables-restore --noflush) input, parse with { noflush: true }',
    });
  }
  return newTable(name, lineNo, file);
}

/**
 * COMMIT: jump targets must name a chain of the table, then the kernel's
 * checks (validate.ts); the table replaces an earlier one of its name.
 */
function commitTable(
  reader: Reader,
  tables: Map<TableName, TableState>,
  t: TableState,
  backend: Backend,
): void {
  const { diagnostics } = reader;
  const error = reader.error.bind(reader);
  // Jump targets must name a chain of this table (iptables-restore: "Couldn't load target").
  // A rule with a bad target is dropped, like any rule with an error.
  for (const chain of t.chains.values()) {
    let bad = false;
    for (const name of jumpTargets(chain)) {
      const to = t.chains.get(name);
      if (!to || to.builtin) bad = true;
    }
    if (!bad) continue;
    chain.rules = chain.rules.filter((rule) => {
      const tg = rule.target;
      if (!tg || (tg.kind !== 'jump' && tg.kind !== 'goto')) return true;
      const to = t.chains.get(tg.chain);
      if (!to) {
        error(
          rule.source.line ?? t.openedAt,
          `-${tg.kind === 'goto' ? 'g' : 'j'} ${tg.chain}: no chain ${tg.chain} in table ${t.name}, and no target of that name`,
          CODE_UNKNOWN_CHAIN,
          `declare it with ":${tg.chain} - [0:0]" or check the spelling`,
        );
        return false;
      }
      if (to.builtin) {
        error(
          rule.source.line ?? t.openedAt,
          `-j ${tg.chain}: cannot jump to the built-in chain ${tg.chain}`,
          CODE_SYNTAX,
        );
        return false;
      }
      return true;
    });
  }
  // What the kernel checks when the table is committed: loops, depth, places.
  validateTable(t.name, t.chains, backend, (rule, message, code, hint) =>
    diagnostics.push(ruleDiagnostic(rule, t.openedAt, message, code, hint)),
  );
  // A repeated table replaces the earlier one (a full restore flushes it), or,
  // with noflush, `t` already shares the earlier table's chains (see `*`).
  tables.set(t.name, t);
}

/**
 * Parses iptables-save/iptables-restore text. `file` names the input in
 * every diagnostic and in each rule's `source`.
 */
export function parseIptablesSave(
  text: string,
  file?: string,
  opts: ParseOptions = {},
): { ruleset: Ruleset; diagnostics: Diagnostic[] } {
  const family = opts.family ?? (detectIptablesFamily(text) ? 'ipv6' : 'ipv4');
  const rd = saveReader(file, opts, family, detectBackend(text));
  const lines = text.split('\n');
  for (let idx = 0; idx < lines.length; idx++) rd.line(idx + 1, lines[idx]!);
  return rd.end();
}

/** One table as `iptables-save` text would hold it, a rule line possibly with its parsed form. */
export interface SaveTableLines {
  readonly name: string;
  /** In declaration order: `:NAME POLICY [0:0]`, then each chain's rules in that order. */
  readonly chains: readonly SaveChainLines[];
  /** Other command lines after the rules (e.g. `-X CHAIN`). */
  readonly other: readonly string[];
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

/** See `SaveChainLines.memo`. */
export interface ChainMemo {
  rules?: readonly Rule[];
}

/** The source of a rule kept in a memo: its file and line are those of each ruleset it is placed in. */
const PLACED: SourceRef = {};

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
  memos: { used: boolean; misplaced: boolean } | undefined,
): { ruleset: Ruleset; diagnostics: Diagnostic[] } {
  const rd = saveReader(file, opts, opts.family ?? 'ipv4', 'unknown');
  let n = 0;
  for (const t of tables) {
    rd.line(++n, `*${t.name}`);
    for (const c of t.chains) rd.declare(++n, c.name, c.policy);
    for (const c of t.chains) {
      const memo = memos ? c.memo : undefined;
      if (memo?.rules && placeRules(rd, n + 1, c.name, memo.rules)) {
        memos!.used = true;
        n += memo.rules.length;
        continue;
      }
      // A rule's text is read only where it comes without its parsed form.
      const lines = c.lines;
      if (lines && memo) {
        // Read to be kept: without lines of their own (an error reads the tables again).
        const kept = readPlaced(rd, n + 1, c.name, lines);
        if (kept !== undefined) {
          n += lines.length;
          memos!.used = true;
          if (kept !== false) memo.rules = kept;
          else memos!.misplaced = true;
          continue;
        }
      }
      if (lines) {
        for (const l of lines) {
          if (l.body === undefined) rd.line(++n, l.text);
          else rd.parsedRule(++n, c.name, l.body, l.text);
        }
        continue;
      }
      const parsed = c.parsed;
      if (!parsed) {
        for (const r of c.rules) rd.line(++n, r);
        continue;
      }
      for (let i = 0; i < parsed.length; i++) {
        const body = parsed[i];
        if (body === undefined) rd.line(++n, c.rules[i]!);
        else rd.parsedRule(++n, c.name, body, c.rules[i]!);
      }
    }
    for (const o of t.other) rd.line(++n, o);
    rd.line(++n, 'COMMIT');
  }
  return rd.end();
}

/** The line-by-line reader both entry points drive (`saveReader`). */
interface SaveReader {
  readonly diagnostics: readonly Diagnostic[];
  line(lineNo: number, raw: string): void;
  parsedRule(lineNo: number, chain: string, body: RuleBody, raw: string): void;
  declare(lineNo: number, name: string, policy: string): void;
  /** A chain of the open table, fresh (declared, no rules, no built-in), read through `to`. */
  freshChain(name: string, to: number): ChainState | undefined;
  end(): { ruleset: Ruleset; diagnostics: Diagnostic[] };
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

/** The committed tables as a Ruleset. */
function rulesetOf(tables: ReadonlyMap<TableName, TableState>, family: 'ipv4' | 'ipv6'): Ruleset {
  const out = new Map<TableName, Table>();
  for (const [name, t] of tables) {
    const chains = new Map<string, Chain>();
    for (const [cn, c] of t.chains) {
      const chain: { -readonly [K in keyof Chain]: Chain[K] } = c.builtin
        ? { name: c.name, policy: c.policy ?? 'ACCEPT', rules: c.rules, source: c.source }
        : { name: c.name, rules: c.rules, source: c.source };
      if (c.firstLine !== undefined) chain.firstLine = c.firstLine;
      chains.set(cn, chain);
    }
    out.set(name, { name, chains });
  }
  return { tables: out, family };
}

/** An error with FILE:LINE, as every reader reports one. */
function errorSink(
  diagnostics: Diagnostic[],
  fileRef: { file?: string },
): (line: number, message: string, code?: string, hint?: string) => void {
  return (line, message, code = CODE_SYNTAX, hint) => {
    diagnostics.push({
      code,
      severity: 'error',
      message,
      ...fileRef,
      line,
      ...(hint ? { hint } : {}),
    });
  };
}

/** iptables-nft-save's note that legacy tables exist too (a `#` line), as a diagnostic; else undefined. */
function legacyTablesNote(
  line: string,
  lineNo: number,
  fileRef: { file?: string },
): Diagnostic | undefined {
  if (!line.includes('iptables-legacy tables present')) return undefined;
  return {
    code: CODE_LEGACY_TABLES,
    severity: 'info',
    message:
      'the dump says iptables-legacy tables are present too; their rules are not in this dump',
    ...fileRef,
    line: lineNo,
    hint: 'run iptables-legacy-save on the node and check those rules as well',
  };
}

/** The line-by-line reader both entry points drive. */
function saveReader(
  file: string | undefined,
  opts: ParseOptions,
  family: 'ipv4' | 'ipv6',
  backend: Backend,
): SaveReader {
  const diagnostics: Diagnostic[] = [];
  const tables = new Map<TableName, TableState>();
  const fileRef = file !== undefined ? { file } : {};
  let current: TableState | undefined;
  /** A `*table` we refused: skip its lines quietly until COMMIT. */
  let skipping = false;
  let sawLegacyWarning = false;

  const error = errorSink(diagnostics, fileRef);
  const reader: Reader = { diagnostics, opts, family, error };
  const commit = (t: TableState): void => commitTable(reader, tables, t, backend);

  let lastLine = 0;
  /** The chain the last parsed rule went to (parsedRule); any other line forgets it. */
  let last: ChainState | undefined;
  const line = (lineNo: number, raw: string): void => {
    last = undefined;
    let line = raw;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let p = 0;
    while (p < line.length && (line[p] === ' ' || line[p] === '\t')) p++;
    if (p === line.length) return;
    lastLine = lineNo;
    const c0 = line[p]!;
    if (c0 === '#') {
      const note = sawLegacyWarning ? undefined : legacyTablesNote(line, lineNo, fileRef);
      if (note) diagnostics.push(note);
      sawLegacyWarning ||= note !== undefined;
      return;
    }
    let end = line.length;
    while (end > p && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
    const body = p === 0 && end === line.length ? line : line.slice(p, end);

    if (c0 === '*') {
      const name = body.slice(1);
      if (current) {
        error(
          lineNo,
          `COMMIT expected before "*${name}": table ${current.name} opened at line ${current.openedAt} is not committed`,
          CODE_NO_COMMIT,
        );
        commit(current);
        current = undefined;
      }
      current = openTable(reader, tables, name, lineNo, file);
      skipping = current === undefined;
      return;
    }

    if (body === 'COMMIT') {
      if (!current) {
        if (!skipping) error(lineNo, 'COMMIT without a table (expected a "*table" line before it)');
        skipping = false;
        return;
      }
      commit(current);
      current = undefined;
      return;
    }

    if (skipping) return;
    if (!current) {
      error(
        lineNo,
        `"${body.length > 40 ? `${body.slice(0, 40)}…` : body}" outside a table (expected a "*table" line first)`,
      );
      return;
    }
    const table = current;
    const src: SourceRef = file !== undefined ? { file, line: lineNo } : { line: lineNo };

    if (c0 === ':') {
      declareChain(reader, table, body.slice(1), lineNo, src);
      return;
    }

    // A rule line, optionally prefixed with [pkts:bytes] (iptables-save -c).
    let ruleText = body;
    if (c0 === '[') {
      const close = body.indexOf(']');
      if (close < 0 || !/^\[\d+:\d+\]$/.test(body.slice(0, close + 1))) {
        error(
          lineNo,
          `bad counters "${body.slice(0, close < 0 ? body.length : close + 1)}" (expected [packets:bytes])`,
        );
        return;
      }
      ruleText = body.slice(close + 1);
    }
    const tk = tokenizeLine(ruleText);
    if (!tk.ok) {
      error(lineNo, `${tk.error} (a double quote opened and never closed)`);
      return;
    }
    command(reader, table, tk.tokens, lineNo, src);
  };

  /** `-A chain …` whose parse is `body`: appended as `command` would append it. */
  const parsedRule = (lineNo: number, chain: string, body: RuleBody, raw: string): void => {
    // A chain's rules come one after another: its state is looked up once for them.
    const ch =
      skipping || !current
        ? undefined
        : last?.name === chain
          ? last
          : (last = current.chains.get(chain));
    if (!ch) return line(lineNo, raw);
    if (ch.firstLine !== undefined) ownRules(ch);
    lastLine = lineNo;
    const source: SourceRef = file !== undefined ? { file, line: lineNo } : { line: lineNo };
    ch.rules.push(ruleAt(body, source));
  };

  /** `:NAME POLICY [0:0]` from its words: what `line` does with that text, without reading it. */
  const declare = (lineNo: number, name: string, policy: string): void => {
    last = undefined;
    if (skipping || !current || name === '' || /[\s"]/.test(name) || /\s/.test(policy))
      return line(lineNo, `:${name} ${policy} [0:0]`);
    lastLine = lineNo;
    const src: SourceRef = file !== undefined ? { file, line: lineNo } : { line: lineNo };
    declareNamed(reader, current, name, policy, lineNo, src);
  };

  const freshChain = (name: string, to: number): ChainState | undefined => {
    last = undefined;
    const ch = skipping || !current ? undefined : current.chains.get(name);
    if (!ch || ch.builtin || ch.rules.length > 0) return undefined;
    lastLine = to;
    return ch;
  };

  const end = (): { ruleset: Ruleset; diagnostics: Diagnostic[] } => {
    if (current) {
      error(
        lastLine,
        `COMMIT missing at end of input: table ${current.name} opened at line ${current.openedAt} is not committed`,
        CODE_NO_COMMIT,
      );
      commit(current);
    }
    return { ruleset: rulesetOf(tables, family), diagnostics };
  };
  return { diagnostics, line, parsedRule, declare, freshChain, end };
}
