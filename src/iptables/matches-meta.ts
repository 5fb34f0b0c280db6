/** Match extensions: comment and nfacct matches (libxt_comment.c, libxt_nfacct.c). */

import type { Match } from '../kernel/netfilter/types.js';
import { err, find, okv, options, type ExtensionSpec } from './spec.js';

type MatchSpec = ExtensionSpec<Match>;

// ---- comment (libxt_comment.c) ----

export const comment: MatchSpec = {
  name: 'comment',
  options: options([['--comment', 'words', false, 'any']]),
  build(given) {
    const g = find(given, '--comment');
    if (!g) return err('-m comment needs --comment');
    const text = g.values.join(' ');
    // XT_MAX_COMMENT_LEN is 256 including the terminating NUL.
    if (Buffer.byteLength(text, 'utf8') > 255)
      return err('--comment must be shorter than 256 characters');
    return okv({ kind: 'comment', text });
  },
};

// ---- nfacct (libxt_nfacct.c) ----

export const nfacct: MatchSpec = {
  name: 'nfacct',
  options: options([['--nfacct-name', 1, false]]),
  build(given) {
    const g = find(given, '--nfacct-name');
    if (!g) return err('-m nfacct needs --nfacct-name');
    return okv({ kind: 'nfacct', name: g.values[0]! });
  },
};
