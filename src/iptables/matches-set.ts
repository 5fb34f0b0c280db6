/** Match extensions: set match (libxt_set.c, revision 4). */

import type { Match } from '../kernel/netfilter/types.js';
import { err, find, okv, options, unsupportedOption, type ExtensionSpec } from './spec.js';

type MatchSpec = ExtensionSpec<Match>;

// ---- set (libxt_set.c, revision 4) ----

export const set: MatchSpec = {
  name: 'set',
  options: options([
    [['--match-set', '--set'], 2, true, 'any'],
    ['--return-nomatch', 0, false],
    ['--update-counters', 0, true],
    ['--update-subcounters', 0, true],
    ['--packets-eq', 1, true],
    ['--packets-lt', 1, false],
    ['--packets-gt', 1, false],
    ['--bytes-eq', 1, true],
    ['--bytes-lt', 1, false],
    ['--bytes-gt', 1, false],
  ]),
  build(given) {
    const ms = find(given, '--match-set');
    if (!ms) return err('-m set needs --match-set NAME src|dst[,src|dst…]');
    const [name, flagText] = ms.values as [string, string];
    if (name.length === 0 || name.length > 31)
      return err('--match-set: a set name has 1–31 characters');
    const flags = flagText.split(',');
    if (flags.length > 6 || !flags.every((f) => f === 'src' || f === 'dst'))
      return err(
        `--match-set ${name} ${flagText}: flags are src or dst, one per dimension (at most 6)`,
      );
    for (const g of given) {
      if (g.opt.startsWith('--packets-') || g.opt.startsWith('--bytes-'))
        return unsupportedOption(g.opt, 'set element counters are not modelled');
    }
    // ! --update-counters / ! --update-subcounters only stop counting: no effect on the match.
    return okv({
      kind: 'set',
      name,
      flags: flags as ('src' | 'dst')[],
      returnNomatch: find(given, '--return-nomatch') !== undefined,
      invert: ms.invert,
    });
  },
};
