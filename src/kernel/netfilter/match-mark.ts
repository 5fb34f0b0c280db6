/**
 * Mark matches: xt_mark (`-m mark --mark`, the packet's skb->mark) and
 * xt_connmark (`-m connmark`, the connection's mark).
 */
import { type CMatch } from './eval.js';
import type { Match } from './types.js';

export function compileMarkMatch(m: Extract<Match, { kind: 'mark' }>): CMatch {
  const { value, mask, invert } = m;
  return { test: (c) => ((c.mark & mask) >>> 0 === value >>> 0) !== invert };
}

export function compileConnmarkMatch(m: Extract<Match, { kind: 'connmark' }>): CMatch {
  const { value, mask, invert } = m;
  return {
    test: (c) => {
      if (c.ct.kind !== 'tracked') return false;
      return ((c.ct.entry.mark & mask) >>> 0 === value >>> 0) !== invert;
    },
  };
}
