/**
 * The restore parser's command lines and chain declarations: `:CHAIN
 * POLICY [counters]` (declareChain) and `-A`/`-I`/`-R`/`-D` (rules),
 * `-N`/`-X`/`-F`/`-P`/`-Z`/`-E` (chains), as iptables-restore applies them
 * to the table being built (iptables/xshared.c do_parse, iptables-restore.c).
 * parse.ts reads the lines and opens and commits the tables.
 */
import type { Diagnostic } from '../diag.js';
import {
  BUILTIN_CHAINS,
  type Rule,
  type SourceRef,
  type TableName,
} from '../kernel/netfilter/types.js';
import type { Placement } from './block.js';
import { MAX_CHAIN_NAME, parseRuleTokens, type RuleBody } from './rule.js';
import type { Token } from './tokenize.js';

export const CODE_UNKNOWN_CHAIN = 'iptables-unknown-chain';

export interface ChainState {
  readonly name: string;
  readonly builtin: boolean;
  policy?: 'ACCEPT' | 'DROP';
  /** Not changed in place while `firstLine` is set (the array is shared): see `ownRules`. */
  rules: Rule[];
  source: SourceRef;
  /** Line of the `:CHAIN` / `-N` declaration, for duplicate reports. */
  declaredAt?: number;
  /** Set when the rules are a shared reading without lines of their own (kernel `Chain.firstLine`). */
  firstLine?: number;
}

/**
 * The chain's rules as its own array, each with its line, before the chain
 * changes (a shared reading, placed by `firstLine`, is copied first).
 */
export function ownRules(ch: ChainState): Rule[] {
  const first = ch.firstLine;
  if (first === undefined) return ch.rules;
  ch.firstLine = undefined;
  return (ch.rules = ch.rules.map((r, i) => {
    if (r.source.line !== undefined) return r;
    return ruleAt(r, { ...r.source, line: first + i });
  }));
}

/** A rule from its parsed body, read at `source` (no `target` key when the body has none). */
export function ruleAt(body: RuleBody, source: SourceRef): Rule {
  return body.target
    ? { matches: body.matches, target: body.target, text: body.text, source }
    : { matches: body.matches, text: body.text, source };
}

/** The chain emptied (a flush). */
function flush(ch: ChainState): void {
  ch.rules = [];
  ch.firstLine = undefined;
}

export interface TableState {
  readonly name: TableName;
  /** With `block`: the table's own chains only. */
  readonly chains: Map<string, ChainState>;
  readonly openedAt: number;
  /** A run of chains read once and placed here (block.ts). */
  block?: Placement;
}

/** What the line readers share: where diagnostics go and how the input is read. */
export interface Reader {
  readonly diagnostics: Diagnostic[];
  readonly opts: { readonly noflush?: boolean };
  readonly family: 'ipv4' | 'ipv6';
  error(line: number, message: string, code?: string, hint?: string): void;
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

export function declareChain(
  r: Reader,
  table: TableState,
  rest: string,
  lineNo: number,
  src: SourceRef,
): void {
  const parts =
    rest.includes('\t') || rest.includes('  ') || rest.startsWith(' ')
      ? rest.split(/[ \t]+/).filter((s) => s.length > 0)
      : rest.split(' ');
  const name = parts[0];
  const policy = parts[1];
  const counters = parts[2];
  const extra = parts.slice(3);
  if (name === undefined || name.length === 0)
    return r.error(lineNo, 'chain declaration without a name');
  if (policy === undefined)
    return r.error(lineNo, `chain ${name}: policy missing (expected ACCEPT, DROP or -)`);
  if (extra.length > 0)
    return r.error(lineNo, `chain ${name}: unexpected "${extra.join(' ')}" after the counters`);
  if (counters !== undefined && !/^\[\d+:\d+\]$/.test(counters)) {
    return r.error(lineNo, `chain ${name}: bad counters "${counters}" (expected [packets:bytes])`);
  }
  declareNamed(r, table, name, policy, lineNo, src);
}

/** `:NAME POLICY [0:0]` once its words are read: the chain declared (or its policy set). */
export function declareNamed(
  r: Reader,
  table: TableState,
  name: string,
  policy: string,
  lineNo: number,
  src: SourceRef,
): void {
  const existing = table.chains.get(name);
  const builtin = (BUILTIN_CHAINS[table.name] as readonly string[]).includes(name);
  if (builtin) {
    if (policy !== 'ACCEPT' && policy !== 'DROP' && policy !== '-') {
      return r.error(
        lineNo,
        `chain ${name}: bad policy "${policy}" (a built-in chain takes ACCEPT or DROP)`,
      );
    }
    const ch = existing!;
    if (ch.declaredAt !== undefined && !r.opts.noflush) {
      return r.error(lineNo, `chain ${name} declared twice (first at line ${ch.declaredAt})`);
    }
    ch.declaredAt = lineNo;
    ch.source = src;
    // "-" keeps the current policy (iptables-restore); a fresh chain's is ACCEPT.
    if (policy !== '-') ch.policy = policy;
    return;
  }
  if (policy !== '-') {
    return r.error(
      lineNo,
      `chain ${name}: a user-defined chain cannot have a policy ("${policy}"); write "-"`,
    );
  }
  if (!validChainName(r, name, lineNo)) return;
  if (existing) {
    if (!r.opts.noflush)
      return r.error(
        lineNo,
        `chain ${name} declared twice (first at line ${existing.declaredAt ?? '?'})`,
      );
    // --noflush: declaring an existing chain flushes it.
    flush(existing);
    existing.declaredAt = lineNo;
    return;
  }
  table.chains.set(name, { name, builtin: false, rules: [], source: src, declaredAt: lineNo });
}

function validChainName(r: Reader, name: string, lineNo: number): boolean {
  if (name.length > MAX_CHAIN_NAME) {
    r.error(lineNo, `chain name "${name}" is longer than ${MAX_CHAIN_NAME} characters`);
    return false;
  }
  if (!wellFormedChainName(name)) {
    r.error(lineNo, `invalid chain name "${name}"`);
    return false;
  }
  return true;
}

/** A name a user chain may be declared with (`validChainName` without its messages). */
export function isChainName(name: string): boolean {
  return name.length <= MAX_CHAIN_NAME && wellFormedChainName(name);
}

function wellFormedChainName(name: string): boolean {
  return !(name.startsWith('-') || name.startsWith('!') || name === '' || /[\s"]/.test(name));
}

function chainOrError(
  r: Reader,
  table: TableState,
  name: string | undefined,
  cmd: string,
  lineNo: number,
): ChainState | undefined {
  if (name === undefined) {
    r.error(lineNo, `${cmd} needs a chain name`);
    return undefined;
  }
  const ch = table.chains.get(name);
  if (!ch) {
    r.error(
      lineNo,
      `${cmd} ${name}: no chain ${name} in table ${table.name}`,
      CODE_UNKNOWN_CHAIN,
      `declare it first with ":${name} - [0:0]" (or -N ${name})`,
    );
  }
  return ch;
}

export function command(
  r: Reader,
  table: TableState,
  tokens: Token[],
  lineNo: number,
  src: SourceRef,
): void {
  const first = tokens[0];
  if (first === undefined) return r.error(lineNo, 'counters with no command after them');
  const cmd = first.quoted ? undefined : COMMANDS.get(first.text);
  if (cmd === undefined) {
    return r.error(
      lineNo,
      `expected a command (-A, -I, -N, -X, -F, -P, -D, -R) at the start of the line, got "${first.text}"`,
    );
  }
  if (cmd === 'A' || cmd === 'I' || cmd === 'R' || cmd === 'D')
    return ruleCommand(r, table, tokens, lineNo, src, cmd);
  chainCommand(r, table, tokens, lineNo, src, cmd);
}

/** `-A`, `-I [N]`, `-R N`, `-D [N|RULE]`: a rule appended, inserted, replaced or deleted. */
function ruleCommand(
  r: Reader,
  table: TableState,
  tokens: Token[],
  lineNo: number,
  src: SourceRef,
  cmd: 'A' | 'I' | 'R' | 'D',
): void {
  const first = tokens[0]!;
  const chainName = tokens[1]?.text;
  const ch = chainOrError(r, table, chainName, first.text, lineNo);
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
      return r.error(lineNo, `${first.text} ${chainName ?? ''}: rule number must be 1 or more`);
  }
  if ((cmd === 'D' && pos !== undefined) || cmd === 'R') {
    if (cmd === 'R' && pos === undefined)
      return r.error(lineNo, `-R ${chainName ?? ''}: needs a rule number`);
  }
  const parsed =
    cmd === 'D' && pos !== undefined
      ? undefined
      : parseRuleTokens(tokens, start, src, r.diagnostics, r.family);
  if (!ch) return;
  if (ch.firstLine !== undefined) ownRules(ch);
  if (cmd === 'D') {
    if (pos !== undefined) {
      if (tokens.length > 3)
        return r.error(lineNo, `-D ${ch.name} ${pos}: unexpected arguments after the rule number`);
      if (pos > ch.rules.length)
        return r.error(lineNo, `-D ${ch.name} ${pos}: chain has only ${ch.rules.length} rules`);
      ch.rules.splice(pos - 1, 1);
      return;
    }
    if (!parsed) return;
    const at = ch.rules.findIndex((r) => r.text === parsed.text);
    if (at < 0) return r.error(lineNo, `-D ${ch.name}: no rule "${parsed.text}" in the chain`);
    ch.rules.splice(at, 1);
    return;
  }
  if (!parsed) return;
  const rule = ruleAt(parsed, src);
  if (cmd === 'A') ch.rules.push(rule);
  else if (cmd === 'I') {
    const at = pos ?? 1;
    if (at > ch.rules.length + 1) {
      return r.error(
        lineNo,
        `-I ${ch.name} ${at}: index of insertion too big (chain has ${ch.rules.length} rules)`,
      );
    }
    ch.rules.splice(at - 1, 0, rule);
  } else {
    if (pos! > ch.rules.length)
      return r.error(lineNo, `-R ${ch.name} ${pos!}: chain has only ${ch.rules.length} rules`);
    ch.rules[pos! - 1] = rule;
  }
  return;
}

/** `-N`, `-X`, `-F`, `-P`, `-Z`, `-E`: chains created, deleted, flushed, given a policy, renamed. */
function chainCommand(
  r: Reader,
  table: TableState,
  tokens: Token[],
  lineNo: number,
  src: SourceRef,
  cmd: string,
): void {
  const chainName = tokens[1]?.text;
  switch (cmd) {
    case 'N': {
      if (chainName === undefined) return r.error(lineNo, '-N needs a chain name');
      if (tokens.length > 2)
        return r.error(lineNo, `-N ${chainName}: unexpected "${tokens[2]!.text}"`);
      if (!validChainName(r, chainName, lineNo)) return;
      if (table.chains.has(chainName))
        return r.error(lineNo, `-N ${chainName}: chain already exists`);
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
      if (tokens.length > 2) return r.error(lineNo, `-X: unexpected "${tokens[2]!.text}"`);
      const victims =
        chainName === undefined
          ? [...table.chains.values()].filter((c) => !c.builtin)
          : [chainOrError(r, table, chainName, '-X', lineNo)].filter(
              (c): c is ChainState => c !== undefined,
            );
      for (const v of victims) {
        if (v.builtin) return r.error(lineNo, `-X ${v.name}: cannot delete a built-in chain`);
        if (v.rules.length > 0)
          return r.error(lineNo, `-X ${v.name}: chain is not empty (flush it with -F first)`);
        const refs = countReferences(table, v.name);
        if (refs > 0)
          return r.error(lineNo, `-X ${v.name}: chain is still referenced by ${refs} rule(s)`);
      }
      for (const v of victims) table.chains.delete(v.name);
      return;
    }
    case 'F': {
      if (tokens.length > 2) return r.error(lineNo, `-F: unexpected "${tokens[2]!.text}"`);
      if (chainName === undefined) {
        for (const c of table.chains.values()) flush(c);
        return;
      }
      const ch = chainOrError(r, table, chainName, '-F', lineNo);
      if (ch) flush(ch);
      return;
    }
    case 'P': {
      const policy = tokens[2]?.text;
      const ch = chainOrError(r, table, chainName, '-P', lineNo);
      if (!ch) return;
      if (!ch.builtin) return r.error(lineNo, `-P ${ch.name}: only built-in chains have a policy`);
      if (policy !== 'ACCEPT' && policy !== 'DROP')
        return r.error(lineNo, `-P ${ch.name}: expected ACCEPT or DROP, got "${policy ?? ''}"`);
      if (tokens.length > 3)
        return r.error(lineNo, `-P ${ch.name}: unexpected "${tokens[3]!.text}"`);
      ch.policy = policy;
      return;
    }
    case 'Z':
      // Counters are not modelled; zeroing them changes nothing packeteye knows.
      return;
    case 'E': {
      const to = tokens[2]?.text;
      const ch = chainOrError(r, table, chainName, '-E', lineNo);
      if (!ch) return;
      if (to === undefined) return r.error(lineNo, `-E ${ch.name}: needs the new name`);
      if (ch.builtin) return r.error(lineNo, `-E ${ch.name}: cannot rename a built-in chain`);
      if (!validChainName(r, to, lineNo)) return;
      if (table.chains.has(to))
        return r.error(lineNo, `-E ${ch.name} ${to}: chain ${to} already exists`);
      if (countReferences(table, ch.name) > 0)
        return r.error(lineNo, `-E ${ch.name}: renaming a referenced chain is not modelled`);
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
