/**
 * nft_do_chain: one base chain walked for one packet — rules in order,
 * each rule's expressions left to right; `jump` pushes a return point,
 * `goto` replaces the chain, `return` (or falling off a regular chain's
 * end) goes back to the caller, falling off the base chain's end applies
 * its policy. `accept` ends this base chain only: the hook goes on with the
 * next hook function by priority (another table's chain, iptables' tables).
 *
 * `CompiledNft` holds a ruleset's base chains by hook, in priority order,
 * and compiles chains to closures on first use (a trace visits a few of a
 * kube-proxy table's thousands of chains).
 */
import type { NftTableLabel, RuleRef } from './env.js';
import type { EvalCtx } from './eval.js';
import {
  compileExpr,
  NftState,
  SetIndex,
  verdictText,
  type CExpr,
  type NftCtx,
} from './nft-eval.js';
import type {
  NftBaseChain,
  NftChain,
  NftHook,
  NftRule,
  NftRuleset,
  NftTable,
} from './nft-types.js';
import type { HookName } from './types.js';
import { MAX_WALK_RULES, recordChainEnd, type WalkResult } from './walk.js';

const HOOKS: Readonly<Record<string, HookName>> = {
  prerouting: 'PREROUTING',
  input: 'INPUT',
  forward: 'FORWARD',
  output: 'OUTPUT',
  postrouting: 'POSTROUTING',
};

/** The netfilter hook an nft hook name stands for (ingress/egress: none the model runs). */
export function hookOf(h: NftHook): HookName | undefined {
  return HOOKS[h];
}

/** One base chain registered at a hook. */
export interface NftStage {
  readonly table: CNftTable;
  readonly chain: NftChain;
  readonly base: NftBaseChain;
  readonly priority: number;
}

interface CNftRule {
  readonly rule: NftRule;
  readonly index: number;
  readonly exprs: readonly CExpr[];
}

/** A table: its chains compiled on first use, its sets indexed once. */
export class CNftTable {
  readonly label: NftTableLabel;
  private readonly chains = new Map<string, CNftRule[]>();
  private readonly sets = new Map<string, SetIndex>();

  constructor(readonly table: NftTable) {
    this.label = `${table.family} ${table.name}`;
  }

  set(name: string): SetIndex | undefined {
    let ix = this.sets.get(name);
    if (ix) return ix;
    const s = this.table.sets.get(name);
    if (!s) return undefined;
    ix = new SetIndex(s);
    this.sets.set(name, ix);
    return ix;
  }

  rules(ch: NftChain): readonly CNftRule[] {
    let rs = this.chains.get(ch.name);
    if (rs) return rs;
    const resolve = (n: string) => this.set(n);
    rs = ch.rules.map((rule, i) => ({
      rule,
      index: i + 1,
      exprs: rule.exprs.map((e) => compileExpr(e, resolve)),
    }));
    this.chains.set(ch.name, rs);
    return rs;
  }

  /** Whether the table runs for a packet of this family (inet: both). */
  runsFor(v6: boolean): boolean {
    const f = this.table.family;
    return f === 'inet' || f === (v6 ? 'ip6' : 'ip');
  }
}

/** An nftables ruleset prepared for evaluation. */
export class CompiledNft {
  readonly tables: readonly CNftTable[];
  private readonly byHook = new Map<HookName, NftStage[]>();

  constructor(readonly source: NftRuleset) {
    this.tables = source.tables.map((t) => new CNftTable(t));
    for (const t of this.tables) {
      for (const ch of t.table.chains.values()) {
        const b = ch.base;
        const hook = b ? hookOf(b.hook) : undefined;
        if (
          !b ||
          !hook ||
          t.table.family === 'bridge' ||
          t.table.family === 'netdev' ||
          t.table.family === 'arp'
        )
          continue;
        const list = this.byHook.get(hook) ?? [];
        list.push({ table: t, chain: ch, base: b, priority: b.priority });
        this.byHook.set(hook, list);
      }
    }
    // Stable: chains of equal priority keep the order they were declared in.
    for (const l of this.byHook.values()) l.sort((a, b) => a.priority - b.priority);
  }

  /** Whether a nat chain of the family is registered at some hook (the NAT core then runs at all four). */
  hasNat(v6: boolean): boolean {
    for (const l of this.byHook.values())
      if (l.some((s) => s.base.type === 'nat' && s.table.runsFor(v6))) return true;
    return false;
  }

  /** Base chains at `hook` for a packet of this family, by priority. */
  stages(hook: HookName, v6: boolean): readonly NftStage[] {
    return (this.byHook.get(hook) ?? []).filter((s) => s.table.runsFor(v6));
  }
}

function refOf(c: EvalCtx, t: CNftTable, chain: string, r: CNftRule): RuleRef {
  return {
    hook: c.hook,
    table: t.label,
    chain,
    index: r.index,
    ...(r.rule.handle !== undefined ? { handle: r.rule.handle } : {}),
    ...(r.rule.source.file !== undefined ? { file: r.rule.source.file } : {}),
    ...(r.rule.source.line !== undefined ? { line: r.rule.source.line } : {}),
    text: r.rule.text,
  };
}

const ACCEPT_POLICY = 'ACCEPT' as const;

/** nft_do_chain for one base chain. */
export function walkNft(stage: NftStage, c: EvalCtx, state: NftState): WalkResult {
  const t = stage.table;
  const start = stage.chain;
  const policy = stage.base.policy === 'drop' ? 'DROP' : ACCEPT_POLICY;
  const atPolicy = (): WalkResult => ({
    kind: policy,
    by: { kind: 'policy', chain: start.name, policy },
  });
  type Frame = { chain: NftChain; rules: readonly CNftRule[]; k: number };
  const stack: Frame[] = [];
  let f: Frame = { chain: start, rules: t.rules(start), k: 0 };
  let budget = MAX_WALK_RULES;
  for (;;) {
    if (f.k >= f.rules.length) {
      const top = stack.pop();
      if (!top) return atPolicy();
      recordChainEnd(c, t.label, f.chain.name, top.chain.name, stack.length + 1);
      f = top;
      continue;
    }
    const r = f.rules[f.k++]!;
    const chain = f.chain;
    const ref = refOf(c, t, chain.name, r);
    if (--budget < 0) {
      return {
        kind: 'UNSUPPORTED',
        by: { kind: 'rule', ref, target: '' },
        what: `the walk evaluated ${MAX_WALK_RULES} rules without a verdict: a jump or goto loop (nft refuses one)`,
      };
    }
    c.label = `${t.label} ${chain.name} rule ${r.index}${ref.line !== undefined ? ` (line ${ref.line})` : ''}`;
    const x: NftCtx = { c, ref, state, chainType: stage.base.type };
    let outcome: ReturnType<CExpr> | null = null;
    let broke = false;
    for (const e of r.exprs) {
      const res = e(x);
      if (res.kind === 'NEXT') continue;
      if (res.kind === 'BREAK') broke = true;
      else outcome = res;
      break;
    }
    if (broke) continue;
    const target =
      outcome === null
        ? statementsText(r.rule)
        : outcome.kind === 'verdict'
          ? (outcome.via ?? verdictText(outcome.verdict))
          : outcome.kind === 'result'
            ? outcome.via
            : '';
    if (outcome?.kind === 'result' && outcome.result.kind === 'UNSUPPORTED') {
      // Reached something packeteye does not model: no verdict is guessed.
      return { kind: 'UNSUPPORTED', by: { kind: 'rule', ref, target }, what: outcome.result.what };
    }
    c.hits.push({ ...ref, target });
    c.rec.record({
      kind: 'rule',
      host: c.env.host,
      summary: `${t.label} ${chain.name} #${r.index}${ref.line !== undefined ? ` (${ref.file ?? ''}:${ref.line})` : ''}: ${r.rule.text}`,
      packet: c.packet,
      detail: { ...ref, target, mark: `0x${(c.mark >>> 0).toString(16)}`, depth: stack.length },
    });
    if (outcome === null) continue;
    if (outcome.kind === 'result') {
      const res = outcome.result;
      switch (res.kind) {
        case 'ACCEPT':
          return { kind: 'ACCEPT', by: { kind: 'rule', ref, target } };
        case 'DROP':
          return {
            kind: 'DROP',
            by: { kind: 'rule', ref, target },
            ...(res.reason ? { reason: res.reason } : {}),
          };
        case 'REJECT':
          return { kind: 'REJECT', by: { kind: 'rule', ref, target }, with: res.with };
        case 'UNSUPPORTED':
          return { kind: 'UNSUPPORTED', by: { kind: 'rule', ref, target }, what: res.what };
        default:
          continue;
      }
    }
    const v = outcome.verdict;
    switch (v.kind) {
      case 'accept':
        return { kind: 'ACCEPT', by: { kind: 'rule', ref, target } };
      case 'drop':
        return { kind: 'DROP', by: { kind: 'rule', ref, target } };
      case 'continue':
        continue;
      case 'return': {
        const top = stack.pop();
        if (!top) return atPolicy();
        f = top;
        continue;
      }
      case 'jump':
      case 'goto': {
        const next = t.table.chains.get(v.chain);
        if (!next || next.base) {
          return {
            kind: 'UNSUPPORTED',
            by: { kind: 'rule', ref, target },
            what: `${v.kind} to ${next ? 'base' : 'undefined'} chain ${v.chain} (nft would refuse the rule)`,
          };
        }
        if (v.kind === 'jump') stack.push(f);
        f = { chain: next, rules: t.rules(next), k: 0 };
        continue;
      }
    }
  }
}

/** What a rule without a verdict did: its statements, named as nft writes them. */
function statementsText(rule: NftRule): string {
  const out: string[] = [];
  for (const e of rule.exprs) {
    if (e.kind === 'set-mark') out.push(`${e.target} mark set`);
    else if (e.kind === 'set-update') out.push(`${e.op} @${e.set}`);
    else if (e.kind === 'counter' || e.kind === 'log' || e.kind === 'notrack') out.push(e.kind);
  }
  return out.join(' ');
}

export { NftState };
