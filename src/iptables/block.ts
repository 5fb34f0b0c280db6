/**
 * A run of chains several tables hold alike (kube-proxy's Service chains,
 * the same on every node but for the chains that read the node), read once
 * and placed in each table without a chain object, a declaration or a check
 * of its own per table:
 *
 * - the run's rules are those the first table read (`ChainMemo`), its chain
 *   names indexed and its rule counts summed once (`BlockReading`);
 * - a table holding the run reads only its own chains, and notes where each
 *   stands among the run's (`Placement`): a run chain's declaration line and
 *   first rule line are its place in the run plus the own chains and rules
 *   before it, as in the text the tables print as;
 * - its checks at COMMIT read the run's facts, worked out once
 *   (validate.ts `blockFacts`, `validateWithBlock`);
 * - `Table.chains` is a `BlockChains` map: a run chain becomes a `Chain` when
 *   looked up (a packet's walk, the `rules` listing), in declaration order
 *   when iterated.
 *
 * parse.ts reads a table this way only when the result is exactly the one
 * reading it chain by chain gives (`parse-block.test.ts`).
 */
import { InternalError, type Diagnostic } from '../diag.js';
import type { Chain, Rule, SourceRef, TableName } from '../kernel/netfilter/types.js';
import { BUILTIN_CHAINS } from '../kernel/netfilter/types.js';
import { isChainName, ruleAt } from './restore.js';
import { parseRuleTokens, type RuleBody } from './rule.js';
import { tokenizeLine } from './tokenize.js';
import { blockFacts, type BlockFacts } from './validate.js';

/** Where a reader keeps one chain's rules as read, for the next tables that hold the same chain. */
export interface ChainMemo {
  rules?: readonly Rule[];
}

/** What a run's chains give the reader: their name, their lines, and their memo. */
export interface BlockChainLines {
  readonly name: string;
  readonly policy: string;
  readonly rules: readonly string[];
  readonly lines?: readonly { readonly text: string; readonly body?: RuleBody | undefined }[];
  readonly memo?: ChainMemo;
  /**
   * How many rules it has, known before its lines are written (a writer that writes them
   * when first read: `lines` and `rules` write them).
   */
  readonly count?: number;
}

/** A run that can never be placed in a table of the name (BlockReading.of). */
export const NEVER = 'never';

/** A run chain's rules not read yet (BlockReading.of). */
const NOT_READ: readonly Rule[] = [];

/** The source of a rule read once for several tables (or kept in a memo): its file and line are each table's. */
export const PLACED: SourceRef = {};

/**
 * A chain's lines read without a table, each as the reader would append it to
 * the chain (`ruleAt` of its parsed form, or of its text's reading), no line of
 * its own; undefined where a line is not plainly `-A CHAIN …` or gives any
 * diagnostic (the chain is then read in its table).
 */
function readAlone(c: BlockChainLines, family: 'ipv4' | 'ipv6'): readonly Rule[] | undefined {
  const lines = c.lines;
  if (!lines) return undefined;
  const out: Rule[] = new Array<Rule>(lines.length);
  const head = `-A ${c.name} `;
  const diagnostics: Diagnostic[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let body = l.body;
    if (body === undefined) {
      const text = l.text;
      if (!text.startsWith(head) || text.trim() !== text) return undefined;
      const tk = tokenizeLine(text);
      if (!tk.ok || tk.tokens[0]!.quoted || tk.tokens[1]!.quoted) return undefined;
      body = parseRuleTokens(tk.tokens, 2, PLACED, diagnostics, family);
      if (!body || diagnostics.length > 0) return undefined;
    }
    out[i] = ruleAt(body, PLACED);
  }
  return out;
}

/**
 * A run of a table's chains shared with other tables: the same chain objects,
 * in the table's order (a subsequence of its `chains`), and where the reader
 * keeps what it read of them.
 */
export interface SharedBlock {
  readonly chains: readonly BlockChainLines[];
  readonly memo: BlockMemo;
  /**
   * What the checks read of the chains, as their writer declares it (then, where every chain
   * has its `count`, none is read before it is looked up); else worked out from their rules.
   */
  readonly facts?: BlockFacts;
}

/** See `SharedBlock`. */
export interface BlockMemo {
  reading?: BlockReading;
  /** The table and family (`nat ipv4`) it cannot be placed for. */
  failed?: string;
}

/** A run of chains as read once: names, rules, rule counts summed, facts for the checks. */
export class BlockReading {
  private constructor(
    /** The chains it was read from (the run is placed only where a table holds these). */
    readonly of: readonly BlockChainLines[],
    readonly family: 'ipv4' | 'ipv6',
    readonly names: readonly string[],
    readonly index: ReadonlyMap<string, number>,
    /** Chain k's rules where read (all, or, for a run with declared facts, those looked up). */
    private readonly rules: (readonly Rule[] | undefined)[],
    /** Rules of the chains before chain k: `ruleStart[k]`; all of them: `ruleStart[n]`. */
    readonly ruleStart: Int32Array,
    readonly facts: BlockFacts,
  ) {}

  /**
   * Chain k's rules, read when first asked for where the run was placed from its counts and
   * declared facts. Its lines then read alone as counted: `port-plan.test.ts` holds every
   * writer's; one that does not is a writer's bug, thrown.
   */
  rulesAt(k: number): readonly Rule[] {
    const known = this.rules[k];
    if (known) return known;
    const c = this.of[k]!;
    const count = this.ruleStart[k + 1]! - this.ruleStart[k]!;
    const read = c.memo?.rules ?? readAlone(c, this.family);
    if (read?.length !== count)
      throw new InternalError(
        `chain ${c.name} of a shared run: its lines do not read alone as its ${count} counted rules`,
      );
    this.rules[k] = read;
    if (c.memo && count > 0) c.memo.rules = read;
    return read;
  }

  /**
   * The run as a table read it (each chain's memo holds its rules, read
   * without errors), or, where no table has, read now without one
   * (`readAlone`, each chain's memo then given its rules); undefined when it
   * cannot be yet (a line not read so: a table reading it line by line may
   * give its memo the rules), `NEVER` when it cannot be placed in a table of
   * this name (a name twice, a built-in chain's or one no chain may have, a
   * loop).
   */
  static of(
    table: TableName,
    block: SharedBlock,
    family: 'ipv4' | 'ipv6',
  ): BlockReading | typeof NEVER | undefined {
    const chains = block.chains;
    const n = chains.length;
    const names: string[] = new Array<string>(n);
    const index = new Map<string, number>();
    const rules: (readonly Rule[] | undefined)[] = new Array<readonly Rule[] | undefined>(n);
    const ruleStart = new Int32Array(n + 1);
    const builtin = BUILTIN_CHAINS[table] as readonly string[];
    // Declared facts and every chain counted: nothing read until looked up.
    const later = block.facts !== undefined && chains.every((c) => c.count !== undefined);
    for (let k = 0; k < n; k++) {
      const c = chains[k]!;
      const count = later ? c.count! : (c.lines ?? c.rules).length;
      const read = count === 0 ? [] : later ? NOT_READ : (c.memo?.rules ?? readAlone(c, family));
      if (c.policy !== '-' || index.has(c.name) || builtin.includes(c.name) || !isChainName(c.name))
        return NEVER;
      if (read !== NOT_READ && read?.length !== count) return undefined;
      names[k] = c.name;
      index.set(c.name, k);
      if (read !== NOT_READ) rules[k] = read;
      ruleStart[k + 1] = ruleStart[k]! + count;
    }
    const facts = later
      ? block.facts!
      : blockFacts(
          rules.map((r, k) => ({ name: names[k]!, builtin: false, rules: r as Rule[] })),
          index,
        );
    if (!facts) return NEVER;
    // Kept for the tables read chain by chain too (parse-tables.ts places a memo's rules).
    chains.forEach((c, k) => {
      const r = rules[k];
      if (c.memo && r && r.length > 0) c.memo.rules = r;
    });
    return new BlockReading(chains, family, names, index, rules, ruleStart, facts);
  }
}

/**
 * Where one table placed a run: its own chains in declaration order, how
 * many run chains stand before each, and how many own rules.
 */
export interface Placement {
  readonly reading: BlockReading;
  readonly file: string | undefined;
  /** The line of `*table`. */
  readonly tableLine: number;
  /** Chains the table declares, its own and the run's. */
  readonly chainCount: number;
  /** The own chains' names in declaration order. */
  readonly ownNames: readonly string[];
  /** Per own chain (declaration order): the run chains declared before it. */
  readonly ownAt: Int32Array;
  /** Own rules before own chain i: `ownRuleStart[i]`. */
  readonly ownRuleStart: Int32Array;
  /** Set at COMMIT when the checks could not be decided from the run's facts. */
  failed: boolean;
}

/** Own chains standing before run chain k (ownAt is sorted): a search by halves. */
function ownBefore(p: Placement, k: number): number {
  let lo = 0;
  let hi = p.ownAt.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p.ownAt[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A table's chains: its own (a map in the order the reader made them:
 * built-in chains first, then the declared ones) and a placed run's, each
 * made a `Chain` when first looked up.
 */
export class BlockChains implements ReadonlyMap<string, Chain> {
  private readonly made = new Map<number, Chain>();

  constructor(
    private readonly own: ReadonlyMap<string, Chain>,
    private readonly p: Placement,
  ) {}

  get size(): number {
    return this.own.size + this.p.reading.names.length;
  }

  get(name: string): Chain | undefined {
    const c = this.own.get(name);
    if (c) return c;
    const k = this.p.reading.index.get(name);
    return k === undefined ? undefined : this.at(k);
  }

  has(name: string): boolean {
    return this.own.has(name) || this.p.reading.index.has(name);
  }

  /** Run chain k as the reader would have made it: declared at its line, its rules placed. */
  private at(k: number): Chain {
    let c = this.made.get(k);
    if (c) return c;
    const { reading, file, tableLine, chainCount, ownRuleStart } = this.p;
    const before = ownBefore(this.p, k);
    const line = tableLine + 1 + k + before;
    const rules = reading.rulesAt(k) as Rule[];
    c =
      rules.length === 0
        ? { name: reading.names[k]!, rules, source: file !== undefined ? { file, line } : { line } }
        : {
            name: reading.names[k]!,
            rules,
            source: file !== undefined ? { file, line } : { line },
            firstLine: tableLine + 1 + chainCount + reading.ruleStart[k]! + ownRuleStart[before]!,
          };
    this.made.set(k, c);
    return c;
  }

  *entries(): MapIterator<[string, Chain]> {
    // Built-in chains first (the reader makes them when it opens the table), then in declaration order.
    const rest: Chain[] = [];
    for (const c of this.own.values()) {
      if (c.policy !== undefined) yield [c.name, c];
      else rest.push(c);
    }
    const n = this.p.reading.names.length;
    const { ownAt } = this.p;
    // The own chains that are no built-in ones, with their places (built-ins declared among them skipped).
    let i = 0;
    let r = 0;
    const builtin = (j: number): boolean => this.own.get(this.ownName(j))?.policy !== undefined;
    for (let k = 0; k <= n; k++) {
      for (; i < ownAt.length && ownAt[i]! <= k; i++) {
        if (builtin(i)) continue;
        const c = rest[r++]!;
        yield [c.name, c];
      }
      if (k < n) {
        const c = this.at(k);
        yield [c.name, c];
      }
    }
  }

  /** The name of own chain i in declaration order. */
  private ownName(i: number): string {
    return this.p.ownNames[i]!;
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<Chain> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, Chain]> {
    return this.entries();
  }

  forEach(fn: (value: Chain, key: string, map: ReadonlyMap<string, Chain>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}
