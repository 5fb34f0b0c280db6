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
import { BlockChains, type Placement } from './block.js';
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
  validateWithBlock,
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
  if (existing && reader.opts.noflush) {
    // Its chains' rules added to from here on are new arrays: an array the checks read at a
    // COMMIT (validate.ts keeps what they read of it), or one shared with other tables, does
    // not change.
    for (const c of existing.chains.values()) c.rules = c.rules.slice();
    return { name, chains: existing.chains, openedAt: lineNo };
  }
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
  const b = t.block;
  if (b) {
    // Own chains and a placed run: what the checks find is decided from the run's facts, or the
    // tables are read again chain by chain (readTables).
    const run = b.reading;
    b.failed ||= !validateWithBlock(t.name, t.chains, run.facts, (c) => run.index.has(c), backend);
    tables.set(t.name, t);
    return;
  }
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

/** The line-by-line reader both entry points drive (`saveReader`). */
export interface SaveReader {
  readonly diagnostics: readonly Diagnostic[];
  line(lineNo: number, raw: string): void;
  parsedRule(lineNo: number, chain: string, body: RuleBody, raw: string): void;
  declare(lineNo: number, name: string, policy: string): void;
  /** A chain of the open table, fresh (declared, no rules, no built-in), read through `to`. */
  freshChain(name: string, to: number): ChainState | undefined;
  /** The open table holds this placed run (block.ts); false when no table is open. */
  placeBlock(p: Placement): boolean;
  /** The rules of a chain of the open table, as they stand. */
  rulesOf(chain: string): readonly Rule[] | undefined;
  end(): { ruleset: Ruleset; diagnostics: Diagnostic[] };
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
    out.set(name, { name, chains: t.block ? new BlockChains(chains, t.block) : chains });
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

/** A rule line without its `[packets:bytes]` prefix; undefined (an error) when they are bad. */
function withoutCounters(
  body: string,
  lineNo: number,
  error: (line: number, message: string) => void,
): string | undefined {
  const close = body.indexOf(']');
  if (close >= 0 && /^\[\d+:\d+\]$/.test(body.slice(0, close + 1))) return body.slice(close + 1);
  error(
    lineNo,
    `bad counters "${body.slice(0, close < 0 ? body.length : close + 1)}" (expected [packets:bytes])`,
  );
  return undefined;
}

/** The line-by-line reader both entry points drive. */
export function saveReader(
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
    const ruleText = c0 === '[' ? withoutCounters(body, lineNo, error) : body;
    if (ruleText === undefined) return;
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

  const placeBlock = (p: Placement): boolean => !skipping && !!current && !!(current.block = p);
  const rulesOf = (name: string) => (skipping ? undefined : current?.chains.get(name)?.rules);

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
  return { diagnostics, line, parsedRule, declare, freshChain, placeBlock, rulesOf, end };
}
