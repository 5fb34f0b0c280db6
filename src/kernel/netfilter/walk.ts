/**
 * The table walk (ipt_do_table, net/ipv4/netfilter/ip_tables.c): a small
 * verdict algebra — CONTINUE / ACCEPT / DROP / RETURN / jump / goto / REJECT
 * / UNSUPPORTED — with a call stack, a jump-depth limit, the built-in
 * chain's policy when it falls off its end (or RETURNs), and a user chain
 * falling off its end returning to its caller.
 */
import { CTable, candidates, hexMark, type CChain, type CRule } from './compile.js';
import type { RuleHit, RuleRef } from './env.js';
import { type EvalCtx } from './eval.js';

/**
 * The most rules one walk of a built-in chain evaluates. A table iptables
 * accepted has no loop reachable from a hook (iptables/validate.ts refuses
 * one at load, as the kernel does), so a walk evaluates each rule at most
 * once per way into its chain; the largest kube-proxy dumps (10,000
 * Services, about 60,000 rules) stay well under this. A walk past it is a
 * loop that reached the walker without that check, and stops UNSUPPORTED
 * instead of running forever. Nesting depth itself is not limited: legacy
 * iptables accepts any depth without a loop.
 */
export const MAX_WALK_RULES = 200_000;

export type WalkResult =
  | { readonly kind: 'ACCEPT' | 'DROP'; readonly by: WalkDecider; readonly reason?: string }
  | { readonly kind: 'REJECT'; readonly by: WalkDecider; readonly with: string }
  | { readonly kind: 'UNSUPPORTED'; readonly by: WalkDecider | null; readonly what: string };

export type WalkDecider =
  | { readonly kind: 'rule'; readonly ref: RuleRef; readonly target: string }
  | { readonly kind: 'policy'; readonly chain: string; readonly policy: 'ACCEPT' | 'DROP' };

export function refOf(c: EvalCtx, chain: string, r: CRule): RuleRef {
  return refWith(c, chain, r);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The rule's reference, written field by field (a spread with added keys
 * takes V8's slow path, and a walk makes three of these per matching rule).
 */
function refWith(c: EvalCtx, chain: string, r: CRule): Mutable<RuleRef> {
  const ref = { hook: c.hook, table: c.table, chain, index: r.index } as Mutable<RuleRef>;
  const file = c.file ?? r.rule.source.file;
  if (file !== undefined) ref.file = file;
  if (r.line !== undefined) ref.line = r.line;
  ref.text = r.rule.text;
  return ref;
}

/** A user chain's rules ran out: the walk goes back to the chain that jumped to it (an iptables or nft chain). */
export function recordChainEnd(
  c: EvalCtx,
  table: string,
  chain: string,
  returnTo: string,
  depth: number,
): void {
  c.rec.record({
    kind: 'note',
    host: c.env.host,
    summary: `${table} ${chain}: end of chain, back to ${returnTo}`,
    detail: { table, chain, returnTo, depth },
  });
}

/**
 * ipt_do_table for one built-in chain. Only matching rules are recorded
 * (as hits and `rule` steps); the walk itself is linear, like the kernel's.
 */
export function walk(table: CTable, chainName: string, c: EvalCtx): WalkResult {
  const start = table.chain(chainName);
  if (!start) {
    // A table without this built-in chain behaves like an empty one (policy ACCEPT).
    return { kind: 'ACCEPT', by: { kind: 'policy', chain: chainName, policy: 'ACCEPT' } };
  }
  // A frame walks its chain's rules in order, or only the candidates its
  // destination index allows (same order, same result).
  type Frame = { readonly chain: CChain; readonly cands: readonly number[] | null; k: number };
  const frame = (ch: CChain): Frame => ({ chain: ch, cands: candidates(ch, c.dst), k: 0 });
  const stack: Frame[] = [];
  let f = frame(start);
  let budget = MAX_WALK_RULES;
  for (;;) {
    const n = f.cands ? f.cands.length : f.chain.rules.length;
    if (f.k >= n) {
      // Fell off the end: a user chain returns; the built-in chain's policy decides.
      const top = stack.pop();
      if (top) {
        recordChainEnd(c, c.table, f.chain.name, top.chain.name, stack.length + 1);
        f = top;
        continue;
      }
      const policy = start.policy ?? 'ACCEPT';
      return { kind: policy, by: { kind: 'policy', chain: start.name, policy } };
    }
    const chain = f.chain;
    const r = chain.rules[f.cands ? f.cands[f.k]! : f.k]!;
    f.k++;
    if (--budget < 0) {
      return {
        kind: 'UNSUPPORTED',
        by: { kind: 'rule', ref: refOf(c, chain.name, r), target: r.targetText },
        what: `the walk evaluated ${MAX_WALK_RULES} rules without a verdict: a jump or goto loop (iptables-restore refuses one)`,
      };
    }
    let ok = true;
    const ip = r.ip;
    for (let q = 0; q < ip.length; q++) {
      if (!ip[q]!(c)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (r.ems.length > 0) {
      c.label = `${c.table}/${chain.name} rule ${r.index}${r.line !== undefined ? ` (line ${r.line})` : ''}`;
      for (const m of r.ems) {
        const what = m.unsupported !== undefined ? m.unsupported : m.undecided?.(c);
        if (what !== undefined || m.unsupported !== undefined) {
          const ref = refOf(c, chain.name, r);
          return {
            kind: 'UNSUPPORTED',
            by: { kind: 'rule', ref, target: r.targetText },
            what: what ?? '',
          };
        }
        if (!m.test(c)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    const ref = refOf(c, chain.name, r);
    const hit = refWith(c, chain.name, r) as Mutable<RuleHit>;
    hit.target = r.targetText;
    c.hits.push(hit);
    const detail = refWith(c, chain.name, r) as Mutable<RuleHit & { mark: string; depth: number }>;
    detail.target = r.targetText;
    detail.mark = hexMark(c.mark);
    detail.depth = stack.length;
    c.rec.record({
      kind: 'rule',
      host: c.env.host,
      summary: `${c.table} ${chain.name} #${r.index}${ref.line !== undefined ? ` (${ref.file ?? ''}:${ref.line})` : ''}: -A ${chain.name} ${r.rule.text}`,
      packet: c.packet,
      detail,
    });
    if (!r.target) continue;
    const res = r.target(c, ref);
    switch (res.kind) {
      case 'CONTINUE':
        continue;
      case 'ACCEPT':
        return { kind: 'ACCEPT', by: { kind: 'rule', ref, target: r.targetText } };
      case 'DROP':
        return {
          kind: 'DROP',
          by: { kind: 'rule', ref, target: r.targetText },
          ...(res.reason ? { reason: res.reason } : {}),
        };
      case 'REJECT':
        return { kind: 'REJECT', by: { kind: 'rule', ref, target: r.targetText }, with: res.with };
      case 'UNSUPPORTED':
        return {
          kind: 'UNSUPPORTED',
          by: { kind: 'rule', ref, target: r.targetText },
          what: res.what,
        };
      case 'RETURN': {
        const top = stack.pop();
        if (top) {
          f = top;
          continue;
        }
        // RETURN in a built-in chain: the policy (the chain's underflow).
        const policy = start.policy ?? 'ACCEPT';
        return { kind: policy, by: { kind: 'policy', chain: start.name, policy } };
      }
      case 'jump':
      case 'goto': {
        const next = table.chain(res.chain);
        if (!next || next.builtin) {
          return {
            kind: 'UNSUPPORTED',
            by: { kind: 'rule', ref, target: r.targetText },
            what: `${res.kind} to ${next ? 'built-in' : 'undefined'} chain ${res.chain} (iptables-restore would refuse the rule)`,
          };
        }
        // -j pushes a return point; -g does not (it replaces the current chain).
        if (res.kind === 'jump') stack.push(f);
        f = frame(next);
        continue;
      }
    }
  }
}
