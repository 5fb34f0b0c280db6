/**
 * xt_set: `-m set --match-set NAME src,dst` against the host's IP sets
 * (ipset.ts).
 */
import { type CMatch } from './eval.js';
import { setMatches } from './ipset.js';
import type { Match } from './types.js';

export function compileSetMatch(m: Extract<Match, { kind: 'set' }>): CMatch {
  const { name, flags, returnNomatch, invert } = m;
  // IPv4 sets only (ipset.ts); the rule compiles once, the sets are the host's.
  return {
    test: (c) => !c.v6 && setMatches(c.state.ipsets, name, flags, returnNomatch, c) !== invert,
  };
}
