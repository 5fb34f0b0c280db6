/**
 * Match extensions packeteye models (`-m NAME`), each normalised the way its
 * libxt_NAME.c parser fills the kernel's struct, so that two spellings of the
 * same match give the same value (and iptables-save prints one text for both).
 * Anything not listed here becomes an `unsupported` match in rule.ts.
 */

import type { Match } from '../kernel/netfilter/types.js';
import { find, type ExtensionSpec, type Given } from './spec.js';
import { parseUint } from './values.js';
import { l4Spec, multiport } from './matches-l4.js';
import { icmp, icmp6 } from './matches-icmp.js';
import { comment, nfacct } from './matches-meta.js';
import { conntrack, markSpec, state } from './matches-conntrack.js';
import { addrtype, physdev, rpfilter } from './matches-ip.js';
import { limit, recent, statistic } from './matches-rate.js';
import { set } from './matches-set.js';

type MatchSpec = ExtensionSpec<Match>;

export const MATCHES: ReadonlyMap<string, MatchSpec> = new Map(
  [
    l4Spec('tcp'),
    l4Spec('udp'),
    l4Spec('sctp'),
    multiport,
    icmp,
    icmp6,
    comment,
    nfacct,
    conntrack,
    state,
    markSpec('mark'),
    markSpec('connmark'),
    addrtype,
    statistic,
    recent,
    limit,
    rpfilter,
    set,
    physdev,
  ].map((s) => [s.name, s]),
);

/** `-p tcp --dport 80` loads the protocol's match implicitly (xtables find_proto / load_proto). */
export const IMPLICIT_BY_PROTOCOL: ReadonlyMap<string, MatchSpec> = new Map([
  ['tcp', MATCHES.get('tcp')!],
  ['udp', MATCHES.get('udp')!],
  ['sctp', MATCHES.get('sctp')!],
  ['icmp', MATCHES.get('icmp')!],
  ['ipv6-icmp', MATCHES.get('icmp6')!],
]);

export function isGiven(given: readonly Given[], opt: string): boolean {
  return find(given, opt) !== undefined;
}

/** Used by targets for their numbers too. */
export { parseUint };
