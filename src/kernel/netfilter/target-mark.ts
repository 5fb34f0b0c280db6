/**
 * Mark targets: MARK (xt_mark's target: --set-xmark, --set-mark, --and/--or)
 * and CONNMARK (xt_connmark: set, save, restore between packet and
 * connection).
 */
import { IPS } from '../conntrack/entry.js';
import type { RuleRef } from './env.js';
import { CONTINUE, type EvalCtx, type TargetResult } from './eval.js';
import type { Target } from './types.js';

export function compileMark(
  t: Extract<Target, { kind: 'MARK' }>,
): (c: EvalCtx, ref: RuleRef) => TargetResult {
  const { value, mask } = t;
  return (c) => {
    // mark_tg: skb->mark = (skb->mark & ~mask) ^ value
    c.mark = ((c.mark & ~mask) ^ value) >>> 0;
    return CONTINUE;
  };
}

export function compileConnmark(
  args: readonly string[],
): (c: EvalCtx, ref: RuleRef) => TargetResult {
  const num = (s: string | undefined) =>
    s !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(s) ? Number(s) >>> 0 : undefined;
  const mode = args[0];
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? num(args[i + 1]) : undefined;
  };
  if (mode === '--set-xmark' && args[1] !== undefined) {
    const [v, m] = args[1].split('/');
    const value = num(v);
    const mask = m === undefined ? 0xffffffff : num(m);
    if (value !== undefined && mask !== undefined) {
      return (c) => {
        // connmark_tg_shift XT_CONNMARK_SET: ct->mark = (ct->mark & ~ctmask) ^ ctmark
        if (c.ct.kind === 'tracked') setCtMark(c, ((c.ct.entry.mark & ~mask) ^ value) >>> 0);
        return CONTINUE;
      };
    }
  }
  if (mode === '--save-mark' || mode === '--restore-mark') {
    const nf = opt('--nfmask') ?? 0xffffffff;
    const ctm = opt('--ctmask') ?? 0xffffffff;
    if (mode === '--save-mark') {
      return (c) => {
        if (c.ct.kind === 'tracked') setCtMark(c, ((c.ct.entry.mark & ~ctm) ^ (c.mark & nf)) >>> 0);
        return CONTINUE;
      };
    }
    return (c) => {
      if (c.ct.kind === 'tracked') c.mark = ((c.mark & ~nf) ^ (c.ct.entry.mark & ctm)) >>> 0;
      return CONTINUE;
    };
  }
  return () => ({ kind: 'UNSUPPORTED', what: `target -j CONNMARK ${args.join(' ')}` });
}

export function setCtMark(c: EvalCtx, mark: number): void {
  if (c.ct.kind !== 'tracked') return;
  const e = { ...c.ct.entry, mark };
  c.ct = { ...c.ct, entry: e };
  if (e.status & IPS.CONFIRMED) c.conntrack.update(e);
}

// The walk.
