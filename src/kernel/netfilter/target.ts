/**
 * compileTarget: a rule's target to what it does — the standard verdicts
 * (ACCEPT, DROP, RETURN, jump, goto), REJECT (ipt_REJECT), LOG/NFLOG and
 * NOTRACK here; NAT and marks in their own files.
 */
import type { RuleRef } from './env.js';
import { ACCEPT, CONTINUE, DROP, RETURN, type EvalCtx, type TargetResult } from './eval.js';
import { compileConnmark, compileMark } from './target-mark.js';
import { compileMasquerade, compileNat, compileRedirect } from './target-nat.js';
import type { Target } from './types.js';

export function compileTarget(t: Target): (c: EvalCtx, ref: RuleRef) => TargetResult {
  switch (t.kind) {
    case 'ACCEPT':
      return () => ACCEPT;
    case 'DROP':
      return () => DROP;
    case 'RETURN':
      return () => RETURN;
    case 'jump': {
      const r: TargetResult = { kind: 'jump', chain: t.chain };
      return () => r;
    }
    case 'goto': {
      const r: TargetResult = { kind: 'goto', chain: t.chain };
      return () => r;
    }
    case 'REJECT':
      return compileReject(t);
    case 'MARK':
      return compileMark(t);
    case 'CONNMARK':
      return compileConnmark(t.args);
    case 'NFLOG':
      return (c, ref) => {
        c.notes.push({
          ref,
          text: `NFLOG group ${t.group}${t.prefix !== undefined ? ` prefix "${t.prefix}"` : ''}`,
        });
        return CONTINUE;
      };
    case 'LOG':
      return (c, ref) => {
        c.notes.push({ ref, text: `LOG${t.prefix !== undefined ? ` prefix "${t.prefix}"` : ''}` });
        return CONTINUE;
      };
    case 'NOTRACK':
      return (c) => {
        if (c.table !== 'raw')
          return { kind: 'UNSUPPORTED', what: 'NOTRACK is only valid in the raw table' };
        // xt_CT notrack_tg: nf_ct_set(skb, NULL, IP_CT_UNTRACKED)
        c.ct = { kind: 'untracked' };
        return CONTINUE;
      };
    case 'DNAT':
    case 'SNAT':
      return compileNat(t);
    case 'MASQUERADE':
      return compileMasquerade(t);
    case 'REDIRECT':
      return compileRedirect(t);
    case 'unsupported':
      return () => ({ kind: 'UNSUPPORTED', what: `target -j ${[t.name, ...t.args].join(' ')}` });
  }
}

export function compileReject(
  t: Extract<Target, { kind: 'REJECT' }>,
): (c: EvalCtx, ref: RuleRef) => TargetResult {
  const r: TargetResult = { kind: 'REJECT', with: t.with };
  return (c) => {
    // ipt_REJECT hooks: INPUT, FORWARD, OUTPUT only.
    if (c.hook === 'PREROUTING' || c.hook === 'POSTROUTING') {
      return {
        kind: 'UNSUPPORTED',
        what: `REJECT is not valid in ${c.hook} (iptables-restore would refuse the rule)`,
      };
    }
    return r;
  };
}
