/** Match extensions: conntrack, state, mark and connmark matches (libxt_conntrack.c, libxt_mark.c, libxt_connmark.c). */

import type { CtState, CtStatus, Match, PortRange } from '../kernel/netfilter/types.js';
import { err, find, okv, options, unsupportedOption, type ExtensionSpec } from './spec.js';
import {
  formatCidrText,
  maskToPrefix,
  parseAddrMask,
  parseAddrMask6,
  formatCidrText6,
  mask6ToPrefix,
  parseMarkMask,
  parsePortRange,
  type Parsed,
} from './values.js';

type MatchSpec = ExtensionSpec<Match>;

// ---- conntrack / state (libxt_conntrack.c) ----

const CT_STATES: readonly CtState[] = [
  'INVALID',
  'NEW',
  'RELATED',
  'ESTABLISHED',
  'UNTRACKED',
  'SNAT',
  'DNAT',
];
const CT_STATUSES: readonly CtStatus[] = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];

/** Comma lists of names, returned in the order libxt_conntrack's print_state/print_status print them. */
export function parseNameList<T extends string>(
  s: string,
  all: readonly T[],
  what: string,
): Parsed<T[]> {
  const seen = new Set<string>();
  for (const raw of s.split(',')) {
    const u = raw.toUpperCase();
    if (what === 'status' && u === 'NONE') continue;
    if (!(all as readonly string[]).includes(u)) {
      return err(`unknown ${what} "${raw}" (expected ${all.join(', ')})`);
    }
    seen.add(u);
  }
  return okv(all.filter((x) => seen.has(x)));
}

export const conntrack: MatchSpec = {
  name: 'conntrack',
  options: options([
    ['--ctstate', 1, true],
    ['--ctstatus', 1, true],
    ['--ctorigdst', 1, true],
    ['--ctorigdstport', 1, true],
    ['--ctdir', 1, false],
  ]),
  build(given, ctx) {
    if (given.length === 0) return err('-m conntrack needs at least one option');
    const m: {
      kind: 'conntrack';
      ctstate?: { states: CtState[]; invert: boolean };
      ctstatus?: { statuses: CtStatus[]; invert: boolean };
      ctorigdst?: { cidr: string; invert: boolean };
      ctorigdstport?: PortRange & { invert: boolean };
      ctdir?: 'ORIGINAL' | 'REPLY';
    } = { kind: 'conntrack' };
    for (const g of given) {
      const v = g.values[0]!;
      switch (g.opt) {
        case '--ctstate': {
          const r = parseNameList(v, CT_STATES, 'state');
          if (!r.ok) return err(`--ctstate: ${r.error}`);
          m.ctstate = { states: r.value, invert: g.invert };
          break;
        }
        case '--ctstatus': {
          const r = parseNameList(v, CT_STATUSES, 'status');
          if (!r.ok) return err(`--ctstatus: ${r.error}`);
          m.ctstatus = { statuses: r.value, invert: g.invert };
          break;
        }
        case '--ctorigdst': {
          // libxt_conntrack keeps the address as written (host bits too: the kernel
          // compares under the mask), and iptables 1.8.9 prints a non-contiguous mask
          // as if there were none, so what the kernel holds then is not known here.
          if (ctx.family === 'ipv6') {
            const r6 = parseAddrMask6(v, false);
            if (!r6.ok) return err(`--ctorigdst: ${r6.error}`);
            if (mask6ToPrefix(r6.value.mask) < 0)
              return unsupportedOption('--ctorigdst', `non-contiguous mask in "${v}"`);
            m.ctorigdst = { cidr: formatCidrText6(r6.value), invert: g.invert };
            break;
          }
          const r = parseAddrMask(v, false);
          if (!r.ok) return err(`--ctorigdst: ${r.error}`);
          if (maskToPrefix(r.value.mask) < 0)
            return unsupportedOption('--ctorigdst', `non-contiguous mask in "${v}"`);
          m.ctorigdst = { cidr: formatCidrText(r.value), invert: g.invert };
          break;
        }
        case '--ctorigdstport': {
          const r = parsePortRange(v);
          if (!r.ok) return err(`--ctorigdstport: ${r.error}`);
          m.ctorigdstport = { ...r.value, invert: g.invert };
          break;
        }
        case '--ctdir': {
          const u = v.toUpperCase();
          if (u !== 'ORIGINAL' && u !== 'REPLY')
            return err(`--ctdir: expected ORIGINAL or REPLY, got "${v}"`);
          m.ctdir = u;
          break;
        }
      }
    }
    return okv(m);
  },
};

export const state: MatchSpec = {
  name: 'state',
  options: options([['--state', 1, true]]),
  build(given) {
    const g = find(given, '--state');
    if (!g) return err('-m state needs --state');
    const r = parseNameList(g.values[0]!, CT_STATES, 'state');
    if (!r.ok) return err(`--state: ${r.error}`);
    return okv({ kind: 'state', states: r.value, invert: g.invert });
  },
};

// ---- mark / connmark (libxt_mark.c, libxt_connmark.c) ----

export function markSpec(kind: 'mark' | 'connmark'): MatchSpec {
  return {
    name: kind,
    options: options([['--mark', 1, true]]),
    build(given) {
      const g = find(given, '--mark');
      if (!g) return err(`-m ${kind} needs --mark`);
      const r = parseMarkMask(g.values[0]!);
      if (!r.ok) return err(`--mark: ${r.error}`);
      return okv({ kind, value: r.value.value, mask: r.value.mask, invert: g.invert });
    },
  };
}
