/**
 * Rules compiled to closures, once per Ruleset (the table walk that runs
 * them, ipt_do_table, is walk.ts).
 *
 * A rule is an `ip_packet_match` (protocol, -s, -d, -i, -o, -f: checked first,
 * whatever order the text gives them, as the kernel does) followed by its
 * match extensions in order; the first failing match ends the rule, so a
 * later unsupported match is never reached. The walk is a small verdict
 * algebra: CONTINUE / ACCEPT / DROP / RETURN / jump / goto / REJECT /
 * UNSUPPORTED, with a call stack, a jump-depth limit, the built-in chain's
 * policy when it falls off its end (or RETURNs), and a user chain falling off
 * its end returning to its caller.
 *
 * Both families: an ip6tables ruleset (`Ruleset.family === 'ipv6'`) is
 * evaluated the same way (ip6t_do_table differs from ipt_do_table only in
 * ip6_packet_match's 128-bit address compare). IPv4 addresses compare as
 * signed 32-bit integers (the fast path, and the destination index's key);
 * IPv6 addresses as 128-bit BigInts, with a 32-bit fold of the address as
 * the index key (a fold collision only adds candidates: ip_packet_match still
 * compares the full address). The packet value carries IPv6 addresses as
 * text in `ip.src/ip.dst`; only this single-host evaluation understands them
 * (the byte-level wire emit and the cluster twin are IPv4-only).
 *
 * One file per match family and per target family, named after the kernel
 * module it stands for: match-ip.ts (ip_packet_match), match-l4.ts
 * (xt_tcpudp, xt_multiport, icmp), match-conntrack.ts (xt_conntrack,
 * xt_state), match-mark.ts (xt_mark, xt_connmark), match-host.ts
 * (xt_addrtype, xt_rpfilter, xt_physdev), match-rate.ts (xt_statistic,
 * xt_limit, xt_recent), match-set.ts (xt_set); target.ts (standard
 * verdicts, REJECT, LOG, NOTRACK), target-nat.ts (DNAT, SNAT, MASQUERADE,
 * REDIRECT: xt_nat, xt_MASQUERADE, xt_REDIRECT), target-mark.ts (MARK,
 * CONNMARK). eval.ts holds what a match or target sees of the packet.
 */
import type { RuleRef } from './env.js';
import { fold6, type CMatch, type EvalCtx, type TargetResult, type Test } from './eval.js';
import { parseNet, parseNet6 } from './match-ip.js';
import { compileMatch } from './match.js';
import { compileTarget } from './target.js';
import { CompiledNft } from './nft-walk.js';
import type { NftRuleset } from './nft-types.js';
import type { Chain, Rule, Ruleset, TableName, Target } from './types.js';
import { BUILTIN_CHAINS, ruleLine } from './types.js';

export interface CRule {
  readonly rule: Rule;
  /** The rule's line in the text it was read from (`ruleLine`), if known. */
  readonly line: number | undefined;
  /** `-d a.b.c.d/32` without `!`: the one destination this rule can match (for the chain index). */
  readonly dstHost: number | null;
  /** 1-based */
  readonly index: number;
  readonly ip: readonly Test[];
  readonly ems: readonly CMatch[];
  readonly target: ((c: EvalCtx, ref: RuleRef) => TargetResult) | null;
  readonly targetText: string;
}

export interface CChain {
  readonly name: string;
  readonly policy?: 'ACCEPT' | 'DROP';
  readonly builtin: boolean;
  readonly rules: readonly CRule[];
  /**
   * For long chains (kube-proxy's KUBE-SERVICES): rule positions by the one
   * destination they can match, and the positions of rules that can match
   * any destination. A rule whose `-d x/32` differs from the packet's
   * destination fails ip_packet_match before any extension runs, so skipping
   * it changes nothing but the time taken.
   */
  readonly index: {
    readonly byDst: ReadonlyMap<number, readonly number[]>;
    readonly others: readonly number[];
  } | null;
}

/** Chains at least this long get a destination index. */
export const INDEX_MIN_RULES = 32;

export function indexChain(rules: readonly CRule[]): CChain['index'] {
  if (rules.length < INDEX_MIN_RULES) return null;
  const byDst = new Map<number, number[]>();
  const others: number[] = [];
  rules.forEach((r, i) => {
    if (r.dstHost === null) others.push(i);
    else {
      const l = byDst.get(r.dstHost);
      if (l) l.push(i);
      else byDst.set(r.dstHost, [i]);
    }
  });
  // Worth it only when most rules are pinned to one destination.
  return others.length * 4 <= rules.length ? { byDst, others } : null;
}

/** Positions of the rules of `ch` that can match destination `dst`, in order. */
export function candidates(ch: CChain, dst: number): readonly number[] | null {
  const ix = ch.index;
  if (!ix) return null;
  const a = ix.byDst.get(dst);
  if (!a) return ix.others;
  const b = ix.others;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * A table whose chains are compiled on first use and kept: a trace visits a
 * handful of a kube-proxy dump's thousands of chains, so compiling lazily
 * keeps the first trace of a 40,000-rule dump cheap.
 */
export class CTable {
  private readonly cache = new Map<string, CChain>();
  private readonly builtins: ReadonlySet<string>;

  constructor(
    readonly name: TableName,
    private readonly raw: ReadonlyMap<string, Chain>,
  ) {
    this.builtins = new Set<string>(BUILTIN_CHAINS[name] ?? []);
  }

  chain(name: string): CChain | undefined {
    let c = this.cache.get(name);
    if (c) return c;
    const ch = this.raw.get(name);
    if (!ch) return undefined;
    c = compileChain(ch, this.builtins.has(name));
    this.cache.set(name, c);
    return c;
  }

  /** Compiles every chain now (for callers that want the cost up front). */
  compileAll(): void {
    for (const name of this.raw.keys()) this.chain(name);
  }
}

export interface CompiledRuleset {
  readonly source: Ruleset;
  readonly tables: ReadonlyMap<TableName, CTable>;
  /** Native nftables tables of the same host, run at their hooks by priority with these. */
  readonly nft?: CompiledNft;
  /**
   * The file this host's rule steps name, when the rules were parsed (and their chains
   * compiled) once under another host's file: hosts with the same rule text share one
   * compilation, each naming its own dump.
   */
  readonly file?: string;
}

/**
 * Prepares a ruleset for evaluation; chains compile to closures on first use.
 * `nft` adds the host's native nftables tables (`nft list ruleset`).
 */
export function compileRuleset(rs: Ruleset, nft?: NftRuleset): CompiledRuleset {
  const tables = new Map<TableName, CTable>();
  for (const [name, t] of rs.tables) tables.set(name, new CTable(name, t.chains));
  return {
    source: rs,
    tables,
    ...(nft && nft.tables.length > 0 ? { nft: new CompiledNft(nft) } : {}),
  };
}

export function compileChain(ch: Chain, builtin: boolean): CChain {
  const rules = ch.rules.map((r, i) => compileRule(r, i + 1, ruleLine(ch, i)));
  return {
    name: ch.name,
    builtin,
    ...(ch.policy ? { policy: ch.policy } : {}),
    rules,
    index: indexChain(rules),
  };
}

export const IP_KINDS = new Set([
  'protocol',
  'source',
  'destination',
  'in-interface',
  'out-interface',
  'fragment',
]);

export function compileRule(
  rule: Rule,
  index: number,
  line: number | undefined = rule.source.line,
): CRule {
  const ip: Test[] = [];
  const ems: CMatch[] = [];
  let dstHost: number | null = null;
  for (const m of rule.matches) {
    const cm = compileMatch(m);
    if (IP_KINDS.has(m.kind)) {
      // ip_packet_match runs before any extension; a bad value here is unsupported up front.
      if (cm.unsupported !== undefined) ems.unshift(cm);
      else ip.push(cm.test);
      if (m.kind === 'destination' && !m.invert) {
        if (m.cidr.indexOf(':') >= 0) {
          const n6 = parseNet6(m.cidr);
          if (n6?.host) dstHost = fold6(n6.net);
        } else {
          const n = parseNet(m.cidr);
          if (n?.host) dstHost = n.net;
        }
      }
    } else if (m.kind !== 'comment') {
      ems.push(cm);
    }
  }
  return {
    rule,
    line,
    index,
    dstHost,
    ip,
    ems,
    target: rule.target ? compileTarget(rule.target) : null,
    targetText: targetText(rule),
  };
}

/** The target part of the rule text (`DNAT --to-destination …`), or '' without one. */
export function targetText(rule: Rule): string {
  const t = rule.text;
  const j = Math.max(t.lastIndexOf(' -j '), t.startsWith('-j ') ? -1 : -2);
  const g = Math.max(t.lastIndexOf(' -g '), t.startsWith('-g ') ? -1 : -2);
  if (!rule.target) return '';
  if (j >= -1 && j >= g) return t.slice(j + 4);
  if (g >= -1) return `goto ${t.slice(g + 4)}`;
  return describeTarget(rule.target);
}

export function describeTarget(t: Target): string {
  switch (t.kind) {
    case 'jump':
      return t.chain;
    case 'goto':
      return `goto ${t.chain}`;
    case 'unsupported':
      return [t.name, ...t.args].join(' ');
    default:
      return t.kind;
  }
}

// Matches.

export function hexMark(m: number): string {
  return `0x${(m >>> 0).toString(16)}`;
}
