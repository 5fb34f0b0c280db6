/**
 * Connection tracking matches: xt_conntrack (--ctstate, --ctstatus,
 * --ctorigsrc and the other tuple fields, --ctdir) and xt_state.
 */
import { ipToInt, ipv6ToBigInt, parseCidr, parseIpCidr } from '../../wire/addr.js';
import type { SkbCt } from '../conntrack/core.js';
import { IPS } from '../conntrack/entry.js';
import { type CMatch } from './eval.js';
import type { CtState, Match } from './types.js';

export const CT_STATE_BIT: Readonly<Record<CtState, number>> = {
  INVALID: 1 << 0,
  ESTABLISHED: 1 << 1,
  RELATED: 1 << 2,
  NEW: 1 << 3,
  UNTRACKED: 1 << 4,
  SNAT: 1 << 5,
  DNAT: 1 << 6,
};

/** XT_CONNTRACK_STATE_BIT(ctinfo) (+ the virtual SNAT/DNAT bits for ctstate). */
export function stateBits(ct: SkbCt, virtual: boolean): number {
  if (ct.kind === 'none') return CT_STATE_BIT.INVALID;
  if (ct.kind === 'untracked') return CT_STATE_BIT.UNTRACKED;
  let bits: number;
  switch (ct.ctinfo) {
    case 'ESTABLISHED':
    case 'ESTABLISHED_REPLY':
      bits = CT_STATE_BIT.ESTABLISHED;
      break;
    case 'RELATED':
    case 'RELATED_REPLY':
      bits = CT_STATE_BIT.RELATED;
      break;
    case 'NEW':
      bits = CT_STATE_BIT.NEW;
      break;
  }
  if (virtual) {
    if (ct.entry.status & IPS.SRC_NAT) bits |= CT_STATE_BIT.SNAT;
    if (ct.entry.status & IPS.DST_NAT) bits |= CT_STATE_BIT.DNAT;
  }
  return bits;
}

export const CT_STATUS_BIT: Readonly<Record<string, number>> = {
  EXPECTED: IPS.EXPECTED,
  SEEN_REPLY: IPS.SEEN_REPLY,
  ASSURED: IPS.ASSURED,
  CONFIRMED: IPS.CONFIRMED,
};

export function compileState(m: Extract<Match, { kind: 'state' }>): CMatch {
  // xt_state: the inversion is folded into the mask by iptables.
  let mask = 0;
  for (const s of m.states) mask |= CT_STATE_BIT[s];
  const inv = m.invert;
  return { test: (c) => ((stateBits(c.ct, false) & mask) !== 0) !== inv };
}

export function compileConntrack(m: Extract<Match, { kind: 'conntrack' }>): CMatch {
  let stateMask = 0;
  if (m.ctstate) for (const s of m.ctstate.states) stateMask |= CT_STATE_BIT[s];
  let statusMask = 0;
  if (m.ctstatus) {
    for (const s of m.ctstatus.statuses) {
      const b = CT_STATUS_BIT[s];
      if (b === undefined) return { unsupported: `--ctstatus ${s}` };
      statusMask |= b;
    }
  }
  let od: CMatch | null = null;
  let odNet = 0;
  let odMask = 0;
  let od6: { net: bigint; mask: bigint } | null = null;
  if (m.ctorigdst && m.ctorigdst.cidr.indexOf(':') >= 0) {
    try {
      const c6 = parseIpCidr(m.ctorigdst.cidr);
      const all = (1n << 128n) - 1n;
      od6 = { net: c6.value, mask: c6.prefix === 0 ? 0n : (all << BigInt(128 - c6.prefix)) & all };
      od = { test: () => true };
    } catch {
      return { unsupported: `--ctorigdst ${m.ctorigdst.cidr}` };
    }
  } else if (m.ctorigdst) {
    try {
      const cidr = parseCidr(m.ctorigdst.cidr);
      odNet = ipToInt(cidr.network);
      odMask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
      od = { test: () => true };
    } catch {
      return { unsupported: `--ctorigdst ${m.ctorigdst.cidr}` };
    }
  }
  const hasState = m.ctstate !== undefined;
  return {
    test: (c) => {
      // conntrack_mt, in the kernel's order.
      if (m.ctstate && ((stateBits(c.ct, true) & stateMask) !== 0) === m.ctstate.invert)
        return false;
      if (c.ct.kind !== 'tracked') return hasState;
      const e = c.ct.entry;
      if (m.ctdir) {
        const isOrig =
          c.ct.ctinfo === 'NEW' || c.ct.ctinfo === 'ESTABLISHED' || c.ct.ctinfo === 'RELATED';
        if (isOrig !== (m.ctdir === 'ORIGINAL')) return false;
      }
      if (od && m.ctorigdst) {
        const dst = e.original.dst;
        const ok = od6
          ? ((ipv6ToBigInt(dst) ?? -1n) & od6.mask) === od6.net
          : dst.indexOf(':') < 0 && (ipToInt(dst) & odMask) >>> 0 === odNet;
        if (ok === m.ctorigdst.invert) return false;
      }
      if (m.ctorigdstport) {
        const p = e.original.dport;
        if ((p >= m.ctorigdstport.from && p <= m.ctorigdstport.to) === m.ctorigdstport.invert)
          return false;
      }
      if (m.ctstatus && ((statusMask & e.status) !== 0) === m.ctstatus.invert) return false;
      return true;
    },
  };
}
