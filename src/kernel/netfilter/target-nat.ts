/**
 * NAT targets: DNAT and SNAT (xt_nat), MASQUERADE (xt_MASQUERADE:
 * inet_select_addr on the output device), REDIRECT (xt_REDIRECT) — each
 * binds the connection's NAT in conntrack (nf_nat_setup_info) once, on its
 * first packet.
 */
import { formatHostPort, type Ipv4 } from '../../wire/addr.js';
import { setupInfo, type ManipType, type NatRange } from '../conntrack/nat.js';
import { formatTuple, invertTuple } from '../conntrack/tuple.js';
import type { RuleRef } from './env.js';
import { ACCEPT, type EvalCtx, type TargetResult } from './eval.js';
import type { HookName, Target } from './types.js';

export const NAT_HOOKS: Readonly<Record<string, readonly HookName[]>> = {
  DNAT: ['PREROUTING', 'OUTPUT'],
  REDIRECT: ['PREROUTING', 'OUTPUT'],
  SNAT: ['POSTROUTING', 'INPUT'],
  MASQUERADE: ['POSTROUTING'],
};

export function natApplicable(c: EvalCtx, kind: string): string | null {
  if (c.table !== 'nat')
    return `${kind} is only valid in the nat table (iptables-restore would refuse the rule)`;
  if (!NAT_HOOKS[kind]!.includes(c.hook)) {
    return `${kind} is not valid in ${c.hook} (iptables-restore would refuse the rule)`;
  }
  return null;
}

/** Runs a NAT target: nf_nat_setup_info on the packet's (new) connection. */
export function doNat(
  c: EvalCtx,
  ref: RuleRef,
  range: NatRange,
  manip: ManipType,
  kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT',
  masqIface?: string,
): TargetResult {
  if (c.ct.kind !== 'tracked' || (c.ct.ctinfo !== 'NEW' && c.ct.ctinfo !== 'RELATED')) {
    // The nat table is only walked for new connections; nothing to bind to.
    return ACCEPT;
  }
  const before = c.ct.entry;
  let e = setupInfo(before, range, manip, {
    table: c.conntrack,
    chooser: c.chooser,
    now: c.now,
    label: `${ref.table}/${ref.chain} rule ${ref.index}${ref.line !== undefined ? ` (line ${ref.line})` : ''}`,
  });
  if (masqIface !== undefined) e = { ...e, masqIface };
  c.ct = { ...c.ct, entry: e };
  const mapped = invertTuple(e.reply);
  // `[2001:db8::1]:80` for IPv6, as kube-proxy writes endpoints.
  const to =
    manip === 'DST'
      ? formatHostPort(mapped.dst, mapped.proto === 'icmp' ? mapped.sport : mapped.dport)
      : formatHostPort(mapped.src, mapped.sport);
  c.notes.push({
    ref,
    text: `${kind} binding ${manip === 'DST' ? 'destination' : 'source'} ${to} (ct ${e.id} reply tuple ${formatTuple(e.reply)})`,
    nat: { kind, to },
  });
  return ACCEPT;
}

export function addrRange(
  a: { from: string; to: string } | undefined,
): Pick<NatRange, 'minAddr' | 'maxAddr'> {
  return a ? { minAddr: a.from, maxAddr: a.to } : {};
}

export function portRange(
  p: { from: number; to: number } | undefined,
): Pick<NatRange, 'minPort' | 'maxPort'> {
  return p ? { minPort: p.from, maxPort: p.to } : {};
}

export function compileNat(
  t: Extract<Target, { kind: 'DNAT' | 'SNAT' }>,
): (c: EvalCtx, ref: RuleRef) => TargetResult {
  // xt_nat.c: DNAT manipulates the destination, SNAT the source; only SNAT has --random-fully.
  const range = {
    ...addrRange(t.toAddr),
    ...portRange(t.toPorts),
    random: t.random,
    ...(t.kind === 'SNAT' ? { randomFully: t.randomFully } : {}),
    persistent: t.persistent,
  };
  const manip = t.kind === 'DNAT' ? 'DST' : 'SRC';
  return (c, ref) => {
    const bad = natApplicable(c, t.kind);
    if (bad) return { kind: 'UNSUPPORTED', what: bad };
    return doNat(c, ref, range, manip, t.kind);
  };
}

export function compileMasquerade(
  t: Extract<Target, { kind: 'MASQUERADE' }>,
): (c: EvalCtx, ref: RuleRef) => TargetResult {
  return (c, ref) => {
    const bad = natApplicable(c, 'MASQUERADE');
    if (bad) return { kind: 'UNSUPPORTED', what: bad };
    return masqueradeTo(c, ref, {
      ...portRange(t.toPorts),
      random: t.random,
      randomFully: t.randomFully,
    });
  };
}

/**
 * nf_nat_masquerade_ipv4 (xt_MASQUERADE and nft's `masquerade`): the source
 * becomes the output device's address towards the next hop.
 */
export function masqueradeTo(
  c: EvalCtx,
  ref: RuleRef,
  opts: Pick<NatRange, 'minPort' | 'maxPort' | 'random' | 'randomFully'>,
): TargetResult {
  if (c.ct.kind !== 'tracked') return ACCEPT;
  // nf_nat_masquerade_ipv4: 0.0.0.0 sources (DHCP) are left alone
  // (nf_nat_masquerade_ipv6 has no such case; :: is never a source here).
  if (c.ct.entry.original.src === '0.0.0.0') return ACCEPT;
  const out = c.outIface;
  const nexthop: Ipv4 = c.hctx.nexthop ?? c.packet.ip.dst;
  const src = c.env.masqueradeSource(out, nexthop);
  if (src === null)
    return {
      kind: 'DROP',
      reason: `MASQUERADE: ${out || 'the output device'} has no usable address ("ate my IP address")`,
    };
  return doNat(c, ref, { minAddr: src, maxAddr: src, ...opts }, 'SRC', 'MASQUERADE', out);
}

export function compileRedirect(
  t: Extract<Target, { kind: 'REDIRECT' }>,
): (c: EvalCtx, ref: RuleRef) => TargetResult {
  return (c, ref) => {
    const bad = natApplicable(c, 'REDIRECT');
    if (bad) return { kind: 'UNSUPPORTED', what: bad };
    return redirectTo(c, ref, { ...portRange(t.toPorts), random: t.random });
  };
}

/** nf_nat_redirect (xt_REDIRECT and nft's `redirect`): the destination becomes this host. */
export function redirectTo(
  c: EvalCtx,
  ref: RuleRef,
  opts: Pick<NatRange, 'minPort' | 'maxPort' | 'random'>,
): TargetResult {
  // nf_nat_redirect_ipv4: 127.0.0.1 for local output, else the incoming device's first
  // address; nf_nat_redirect_ipv6: ::1 (loopback_addr), else the device's first address.
  const dst =
    c.hook === 'OUTPUT'
      ? c.v6
        ? '::1'
        : '127.0.0.1'
      : c.env.primaryAddress(c.inIface, c.v6 ? 'ipv6' : 'ipv4');
  if (dst === null)
    return {
      kind: 'DROP',
      reason: `REDIRECT: ${c.inIface || 'the input device'} has no address`,
    };
  return doNat(c, ref, { minAddr: dst, maxAddr: dst, ...opts }, 'DST', 'REDIRECT');
}
