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
import { CODE_SYNTAX, MAX_CHAIN_NAME, parseRuleTokens } from './rule.js';
import { tokenizeLine, type Token } from './tokenize.js';
import { detectBackend, ruleDiagnostic, validateTable } from './validate.js';

export { parseRule } from './rule.js';

export const CODE_UNKNOWN_CHAIN = 'iptables-unknown-chain';
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

interface ChainState {
  readonly name: string;
  readonly builtin: boolean;
  policy?: 'ACCEPT' | 'DROP';
  rules: Rule[];
  source: SourceRef;
  /** Line of the `:CHAIN` / `-N` declaration, for duplicate reports. */
  declaredAt?: number;
}

interface TableState {
  readonly name: TableName;
  readonly chains: Map<string, ChainState>;
  readonly openedAt: number;
}

const COMMANDS: ReadonlyMap<string, string> = new Map([
  ['-A', 'A'],
  ['--append', 'A'],
  ['-I', 'I'],
  ['--insert', 'I'],
  ['-N', 'N'],
  ['--new-chain', 'N'],
  ['--new', 'N'],
  ['-X', 'X'],
  ['--delete-chain', 'X'],
  ['-F', 'F'],
  ['--flush', 'F'],
  ['-P', 'P'],
  ['--policy', 'P'],
  ['-D', 'D'],
  ['--delete', 'D'],
  ['-R', 'R'],
  ['--replace', 'R'],
  ['-Z', 'Z'],
  ['--zero', 'Z'],
  ['-E', 'E'],
  ['--rename-chain', 'E'],
]);

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
 * Parses iptables-save/iptables-restore text. `file` names the input in
 * every diagnostic and in each rule's `source`.
 */
export function parseIptablesSave(
  text: string,
  file?: string,
  opts: ParseOptions = {},
): { ruleset: Ruleset; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const family = opts.family ?? (detectIptablesFamily(text) ? 'ipv6' : 'ipv4');
  const tables = new Map<TableName, TableState>();
  const fileRef = file !== undefined ? { file } : {};
  let current: TableState | undefined;
  /** A `*table` we refused: skip its lines quietly until COMMIT. */
  let skipping = false;
  let sawLegacyWarning = false;
  const backend = detectBackend(text);

  const error = (line: number, message: string, code = CODE_SYNTAX, hint?: string): void => {
    diagnostics.push({
      code,
      severity: 'error',
      message,
      ...fileRef,
      line,
      ...(hint ? { hint } : {}),
    });
  };

  const commit = (t: TableState): void => {
    // Jump targets must name a chain of this table (iptables-restore: "Couldn't load target").
    // A rule with a bad target is dropped, like any rule with an error.
    for (const chain of t.chains.values()) {
      let bad = false;
      for (const rule of chain.rules) {
        const tg = rule.target;
        if (tg && (tg.kind === 'jump' || tg.kind === 'goto')) {
          const to = t.chains.get(tg.chain);
          if (!to || to.builtin) bad = true;
        }
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
  };

  const lines = text.split('\n');
  let lastLine = 0;
  for (let idx = 0; idx < lines.length; idx++) {
    const lineNo = idx + 1;
    let line = lines[idx]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let p = 0;
    while (p < line.length && (line[p] === ' ' || line[p] === '\t')) p++;
    if (p === line.length) continue;
    lastLine = lineNo;
    const c0 = line[p]!;
    if (c0 === '#') {
      if (!sawLegacyWarning && line.includes('iptables-legacy tables present')) {
        sawLegacyWarning = true;
        diagnostics.push({
          code: CODE_LEGACY_TABLES,
          severity: 'info',
          message:
            'the dump says iptables-legacy tables are present too; their rules are not in this dump',
          ...fileRef,
          line: lineNo,
          hint: 'run iptables-legacy-save on the node and check those rules as well',
        });
      }
      continue;
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
      skipping = false;
      if (!isTableName(name)) {
        error(lineNo, `unknown table "${name}" (expected one of ${TABLE_NAMES.join(', ')})`);
        skipping = true;
        continue;
      }
      const existing = tables.get(name);
      if (existing && opts.noflush) {
        current = { name, chains: existing.chains, openedAt: lineNo };
      } else {
        if (existing) {
          diagnostics.push({
            code: CODE_TABLE_REPLACED,
            severity: 'warning',
            message: `table ${name} appears again; iptables-restore flushes it, so the table opened at line ${existing.openedAt} is replaced`,
            ...fileRef,
            line: lineNo,
            hint: 'for partial (iptables-restore --noflush) input, parse with { noflush: true }',
          });
        }
        current = newTable(name, lineNo, file);
      }
      continue;
    }

    if (body === 'COMMIT') {
      if (!current) {
        if (!skipping) error(lineNo, 'COMMIT without a table (expected a "*table" line before it)');
        skipping = false;
        continue;
      }
      commit(current);
      current = undefined;
      continue;
    }

    if (skipping) continue;
    if (!current) {
      error(
        lineNo,
        `"${body.length > 40 ? `${body.slice(0, 40)}…` : body}" outside a table (expected a "*table" line first)`,
      );
      continue;
    }
    const table = current;
    const src: SourceRef = file !== undefined ? { file, line: lineNo } : { line: lineNo };

    if (c0 === ':') {
      declareChain(table, body.slice(1), lineNo, src);
      continue;
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
        continue;
      }
      ruleText = body.slice(close + 1);
    }
    const tk = tokenizeLine(ruleText);
    if (!tk.ok) {
      error(lineNo, `${tk.error} (a double quote opened and never closed)`);
      continue;
    }
    command(table, tk.tokens, lineNo, src);
  }

  if (current) {
    error(
      lastLine,
      `COMMIT missing at end of input: table ${current.name} opened at line ${current.openedAt} is not committed`,
      CODE_NO_COMMIT,
    );
    commit(current);
  }

  function declareChain(table: TableState, rest: string, lineNo: number, src: SourceRef): void {
    const parts =
      rest.includes('\t') || rest.includes('  ') || rest.startsWith(' ')
        ? rest.split(/[ \t]+/).filter((s) => s.length > 0)
        : rest.split(' ');
    const name = parts[0];
    const policy = parts[1];
    const counters = parts[2];
    const extra = parts.slice(3);
    if (name === undefined || name.length === 0)
      return error(lineNo, 'chain declaration without a name');
    if (policy === undefined)
      return error(lineNo, `chain ${name}: policy missing (expected ACCEPT, DROP or -)`);
    if (extra.length > 0)
      return error(lineNo, `chain ${name}: unexpected "${extra.join(' ')}" after the counters`);
    if (counters !== undefined && !/^\[\d+:\d+\]$/.test(counters)) {
      return error(lineNo, `chain ${name}: bad counters "${counters}" (expected [packets:bytes])`);
    }
    const existing = table.chains.get(name);
    const builtin = (BUILTIN_CHAINS[table.name] as readonly string[]).includes(name);
    if (builtin) {
      if (policy !== 'ACCEPT' && policy !== 'DROP' && policy !== '-') {
        return error(
          lineNo,
          `chain ${name}: bad policy "${policy}" (a built-in chain takes ACCEPT or DROP)`,
        );
      }
      const ch = existing!;
      if (ch.declaredAt !== undefined && !opts.noflush) {
        return error(lineNo, `chain ${name} declared twice (first at line ${ch.declaredAt})`);
      }
      ch.declaredAt = lineNo;
      ch.source = src;
      // "-" keeps the current policy (iptables-restore); a fresh chain's is ACCEPT.
      if (policy !== '-') ch.policy = policy;
      return;
    }
    if (policy !== '-') {
      return error(
        lineNo,
        `chain ${name}: a user-defined chain cannot have a policy ("${policy}"); write "-"`,
      );
    }
    if (!validChainName(name, lineNo)) return;
    if (existing) {
      if (!opts.noflush)
        return error(
          lineNo,
          `chain ${name} declared twice (first at line ${existing.declaredAt ?? '?'})`,
        );
      // --noflush: declaring an existing chain flushes it.
      existing.rules = [];
      existing.declaredAt = lineNo;
      return;
    }
    table.chains.set(name, { name, builtin: false, rules: [], source: src, declaredAt: lineNo });
  }

  function validChainName(name: string, lineNo: number): boolean {
    if (name.length > MAX_CHAIN_NAME) {
      error(lineNo, `chain name "${name}" is longer than ${MAX_CHAIN_NAME} characters`);
      return false;
    }
    if (name.startsWith('-') || name.startsWith('!') || name === '' || /[\s"]/.test(name)) {
      error(lineNo, `invalid chain name "${name}"`);
      return false;
    }
    return true;
  }

  function chainOrError(
    table: TableState,
    name: string | undefined,
    cmd: string,
    lineNo: number,
  ): ChainState | undefined {
    if (name === undefined) {
      error(lineNo, `${cmd} needs a chain name`);
      return undefined;
    }
    const ch = table.chains.get(name);
    if (!ch) {
      error(
        lineNo,
        `${cmd} ${name}: no chain ${name} in table ${table.name}`,
        CODE_UNKNOWN_CHAIN,
        `declare it first with ":${name} - [0:0]" (or -N ${name})`,
      );
    }
    return ch;
  }

  function command(table: TableState, tokens: Token[], lineNo: number, src: SourceRef): void {
    const first = tokens[0];
    if (first === undefined) return error(lineNo, 'counters with no command after them');
    const cmd = first.quoted ? undefined : COMMANDS.get(first.text);
    if (cmd === undefined) {
      return error(
        lineNo,
        `expected a command (-A, -I, -N, -X, -F, -P, -D, -R) at the start of the line, got "${first.text}"`,
      );
    }
    const chainName = tokens[1]?.text;
    switch (cmd) {
      case 'A':
      case 'I':
      case 'R':
      case 'D': {
        const ch = chainOrError(table, chainName, first.text, lineNo);
        let start = 2;
        let pos: number | undefined;
        const numTok = tokens[2];
        if (
          (cmd === 'I' || cmd === 'R' || cmd === 'D') &&
          numTok &&
          !numTok.quoted &&
          /^\d+$/.test(numTok.text)
        ) {
          pos = Number(numTok.text);
          start = 3;
          if (pos < 1)
            return error(lineNo, `${first.text} ${chainName ?? ''}: rule number must be 1 or more`);
        }
        if ((cmd === 'D' && pos !== undefined) || cmd === 'R') {
          if (cmd === 'R' && pos === undefined)
            return error(lineNo, `-R ${chainName ?? ''}: needs a rule number`);
        }
        const parsed =
          cmd === 'D' && pos !== undefined
            ? undefined
            : parseRuleTokens(tokens, start, src, diagnostics, family);
        if (!ch) return;
        if (cmd === 'D') {
          if (pos !== undefined) {
            if (tokens.length > 3)
              return error(
                lineNo,
                `-D ${ch.name} ${pos}: unexpected arguments after the rule number`,
              );
            if (pos > ch.rules.length)
              return error(lineNo, `-D ${ch.name} ${pos}: chain has only ${ch.rules.length} rules`);
            ch.rules.splice(pos - 1, 1);
            return;
          }
          if (!parsed) return;
          const at = ch.rules.findIndex((r) => r.text === parsed.text);
          if (at < 0) return error(lineNo, `-D ${ch.name}: no rule "${parsed.text}" in the chain`);
          ch.rules.splice(at, 1);
          return;
        }
        if (!parsed) return;
        const rule: Rule = parsed.target
          ? { matches: parsed.matches, target: parsed.target, text: parsed.text, source: src }
          : { matches: parsed.matches, text: parsed.text, source: src };
        if (cmd === 'A') ch.rules.push(rule);
        else if (cmd === 'I') {
          const at = pos ?? 1;
          if (at > ch.rules.length + 1) {
            return error(
              lineNo,
              `-I ${ch.name} ${at}: index of insertion too big (chain has ${ch.rules.length} rules)`,
            );
          }
          ch.rules.splice(at - 1, 0, rule);
        } else {
          if (pos! > ch.rules.length)
            return error(lineNo, `-R ${ch.name} ${pos!}: chain has only ${ch.rules.length} rules`);
          ch.rules[pos! - 1] = rule;
        }
        return;
      }
      case 'N': {
        if (chainName === undefined) return error(lineNo, '-N needs a chain name');
        if (tokens.length > 2)
          return error(lineNo, `-N ${chainName}: unexpected "${tokens[2]!.text}"`);
        if (!validChainName(chainName, lineNo)) return;
        if (table.chains.has(chainName))
          return error(lineNo, `-N ${chainName}: chain already exists`);
        table.chains.set(chainName, {
          name: chainName,
          builtin: false,
          rules: [],
          source: src,
          declaredAt: lineNo,
        });
        return;
      }
      case 'X': {
        if (tokens.length > 2) return error(lineNo, `-X: unexpected "${tokens[2]!.text}"`);
        const victims =
          chainName === undefined
            ? [...table.chains.values()].filter((c) => !c.builtin)
            : [chainOrError(table, chainName, '-X', lineNo)].filter(
                (c): c is ChainState => c !== undefined,
              );
        for (const v of victims) {
          if (v.builtin) return error(lineNo, `-X ${v.name}: cannot delete a built-in chain`);
          if (v.rules.length > 0)
            return error(lineNo, `-X ${v.name}: chain is not empty (flush it with -F first)`);
          const refs = countReferences(table, v.name);
          if (refs > 0)
            return error(lineNo, `-X ${v.name}: chain is still referenced by ${refs} rule(s)`);
        }
        for (const v of victims) table.chains.delete(v.name);
        return;
      }
      case 'F': {
        if (tokens.length > 2) return error(lineNo, `-F: unexpected "${tokens[2]!.text}"`);
        if (chainName === undefined) {
          for (const c of table.chains.values()) c.rules = [];
          return;
        }
        const ch = chainOrError(table, chainName, '-F', lineNo);
        if (ch) ch.rules = [];
        return;
      }
      case 'P': {
        const policy = tokens[2]?.text;
        const ch = chainOrError(table, chainName, '-P', lineNo);
        if (!ch) return;
        if (!ch.builtin) return error(lineNo, `-P ${ch.name}: only built-in chains have a policy`);
        if (policy !== 'ACCEPT' && policy !== 'DROP')
          return error(lineNo, `-P ${ch.name}: expected ACCEPT or DROP, got "${policy ?? ''}"`);
        if (tokens.length > 3)
          return error(lineNo, `-P ${ch.name}: unexpected "${tokens[3]!.text}"`);
        ch.policy = policy;
        return;
      }
      case 'Z':
        // Counters are not modelled; zeroing them changes nothing packeteye knows.
        return;
      case 'E': {
        const to = tokens[2]?.text;
        const ch = chainOrError(table, chainName, '-E', lineNo);
        if (!ch) return;
        if (to === undefined) return error(lineNo, `-E ${ch.name}: needs the new name`);
        if (ch.builtin) return error(lineNo, `-E ${ch.name}: cannot rename a built-in chain`);
        if (!validChainName(to, lineNo)) return;
        if (table.chains.has(to))
          return error(lineNo, `-E ${ch.name} ${to}: chain ${to} already exists`);
        if (countReferences(table, ch.name) > 0)
          return error(lineNo, `-E ${ch.name}: renaming a referenced chain is not modelled`);
        const renamed: ChainState = { ...ch, name: to };
        const entries = [...table.chains.entries()].map(([k, v]): [string, ChainState] =>
          k === ch.name ? [to, renamed] : [k, v],
        );
        table.chains.clear();
        for (const [k, v] of entries) table.chains.set(k, v);
        return;
      }
    }
  }

  const out = new Map<TableName, Table>();
  for (const [name, t] of tables) {
    const chains = new Map<string, Chain>();
    for (const [cn, c] of t.chains) {
      chains.set(cn, {
        name: c.name,
        ...(c.builtin ? { policy: c.policy ?? 'ACCEPT' } : {}),
        rules: c.rules,
        source: c.source,
      });
    }
    out.set(name, { name, chains });
  }
  return { ruleset: { tables: out, family }, diagnostics };
}

function countReferences(table: TableState, chain: string): number {
  let n = 0;
  for (const c of table.chains.values()) {
    for (const r of c.rules) {
      const t = r.target;
      if (t && (t.kind === 'jump' || t.kind === 'goto') && t.chain === chain) n++;
    }
  }
  return n;
}
