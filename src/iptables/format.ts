/**
 * Rule text exactly as `iptables-save` (1.8, legacy and nf_tables) prints it:
 * the basic matches first, in save_ipv4_addr/save_rule_details order
 * (`-s -d -i -o -p -f`), then each `-m` module in the order given with its
 * options in the order the module's `save` function prints them, then `-j`
 * or `-g` with the target's options.
 */

import type { Match, Rule, Target } from '../kernel/netfilter/types.js';
import { formatPortRange, formatProbability, hex, saveString } from './values.js';

const not = (invert: boolean): string => (invert ? ' !' : '');

/**
 * A raw argument of an unsupported extension, printed so that iptables-restore
 * (and parse.ts) read the same word back: bare unless it is empty or holds a
 * blank or a double quote (outside quotes, `\\` and `'` are ordinary).
 */
function rawArg(a: string): string {
  return a.length > 0 && !/[\s"]/.test(a) ? a : saveString(a);
}

function ports(p: { from: number; to: number }): string {
  return formatPortRange(p, ':');
}

function natRange(
  toAddr: { from: string; to: string } | undefined,
  toPorts: { from: number; to: number } | undefined,
): string {
  let s = '';
  if (toAddr) s += toAddr.from === toAddr.to ? toAddr.from : `${toAddr.from}-${toAddr.to}`;
  // libip6t_DNAT/SNAT print_range: an IPv6 range with ports is bracketed, `[a-b]:p-q`.
  if (toPorts && toAddr && toAddr.from.includes(':')) s = `[${s}]`;
  if (toPorts) s += `:${formatPortRange(toPorts, '-')}`;
  return s;
}

function iface(i: { name: string; wildcard: boolean }): string {
  return `${i.name}${i.wildcard ? '+' : ''}`;
}

/** Strips a `/32` the way xtables_ipmask_to_numeric does for conntrack addresses. */
function ctAddr(cidr: string): string {
  if (cidr.includes(':')) return cidr.endsWith('/128') ? cidr.slice(0, -4) : cidr;
  return cidr.endsWith('/32') ? cidr.slice(0, -3) : cidr;
}

/** One basic match (` -s …`) or one module (` -m name …`), with its leading space. */
export function formatMatch(m: Match): string {
  switch (m.kind) {
    case 'source':
      return `${not(m.invert)} -s ${m.cidr}`;
    case 'destination':
      return `${not(m.invert)} -d ${m.cidr}`;
    case 'in-interface':
      return `${not(m.invert)} -i ${iface(m)}`;
    case 'out-interface':
      return `${not(m.invert)} -o ${iface(m)}`;
    case 'protocol':
      return `${not(m.invert)} -p ${m.protocol}`;
    case 'fragment':
      return `${not(m.invert)} -f`;
    case 'l4': {
      let s = ` -m ${m.protocol}`;
      if (m.sport) s += `${not(m.sport.invert)} --sport ${ports(m.sport)}`;
      if (m.dport) s += `${not(m.dport.invert)} --dport ${ports(m.dport)}`;
      if (m.tcpFlags) {
        const names = (l: readonly string[]): string => (l.length ? l.join(',') : 'NONE');
        s += `${not(m.tcpFlags.invert)} --tcp-flags ${names(m.tcpFlags.mask)} ${names(m.tcpFlags.comp)}`;
      }
      return s;
    }
    case 'multiport':
      return ` -m multiport${not(m.invert)} --${m.which} ${m.ports.map(ports).join(',')}`;
    case 'icmp':
      if (m.type === 255) return ` -m icmp${not(m.invert)} --icmp-type any`;
      return ` -m icmp${not(m.invert)} --icmp-type ${m.type}${m.code !== undefined ? `/${m.code}` : ''}`;
    case 'icmp6':
      // libip6t_icmp6 print_icmpv6type: the number, `/code` when one code is matched.
      return ` -m icmp6${not(m.invert)} --icmpv6-type ${m.type}${m.code !== undefined ? `/${m.code}` : ''}`;
    case 'comment':
      return ` -m comment --comment ${saveString(m.text)}`;
    case 'nfacct':
      // libxt_nfacct's save prints two spaces before the name.
      return ` -m nfacct --nfacct-name  ${m.name}`;
    case 'conntrack': {
      let s = ' -m conntrack';
      if (m.ctstate) s += `${not(m.ctstate.invert)} --ctstate ${m.ctstate.states.join(',')}`;
      if (m.ctorigdst) s += `${not(m.ctorigdst.invert)} --ctorigdst ${ctAddr(m.ctorigdst.cidr)}`;
      if (m.ctorigdstport)
        s += `${not(m.ctorigdstport.invert)} --ctorigdstport ${ports(m.ctorigdstport)}`;
      if (m.ctstatus) {
        const list = m.ctstatus.statuses.length ? m.ctstatus.statuses.join(',') : 'NONE';
        s += `${not(m.ctstatus.invert)} --ctstatus ${list}`;
      }
      if (m.ctdir) s += ` --ctdir ${m.ctdir}`;
      return s;
    }
    case 'state':
      return ` -m state${not(m.invert)} --state ${m.states.join(',')}`;
    case 'mark':
    case 'connmark':
      return ` -m ${m.kind}${not(m.invert)} --mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`;
    case 'addrtype': {
      let s = ' -m addrtype';
      if (m.srcType) s += `${not(m.srcType.invert)} --src-type ${m.srcType.types.join(',')}`;
      if (m.dstType) s += `${not(m.dstType.invert)} --dst-type ${m.dstType.types.join(',')}`;
      if (m.limitIfaceIn) s += ' --limit-iface-in';
      if (m.limitIfaceOut) s += ' --limit-iface-out';
      return s;
    }
    case 'statistic':
      if (m.mode === 'random') {
        return ` -m statistic --mode random${not(m.invert)} --probability ${formatProbability(m.probability)}`;
      }
      return ` -m statistic --mode nth${not(m.invert)} --every ${m.every} --packet ${m.packet}`;
    case 'recent': {
      let s = ` -m recent${not(m.invert)} --${m.action}`;
      if (m.seconds !== undefined) s += ` --seconds ${m.seconds}`;
      if (m.reap) s += ' --reap';
      if (m.hitcount !== undefined) s += ` --hitcount ${m.hitcount}`;
      if (m.rttl) s += ' --rttl';
      s += ` --name ${m.name} --mask ${m.mask ?? '255.255.255.255'}`;
      s += m.side === 'dest' ? ' --rdest' : ' --rsource';
      return s;
    }
    case 'limit': {
      // limit_save: print_rate picks the largest unit that divides evenly enough.
      const rates: [string, number][] = [
        ['day', 10000 * 86400],
        ['hour', 10000 * 3600],
        ['min', 10000 * 60],
        ['sec', 10000],
      ];
      let i = 1;
      for (; i < rates.length; i++) {
        const mult = rates[i]![1];
        if (m.avg > mult || Math.floor(mult / m.avg) < mult % m.avg) break;
      }
      const [name, mult] = rates[i - 1]!;
      return ` -m limit${not(m.invert)} --limit ${Math.floor(mult / m.avg)}/${name}${m.burst !== 5 ? ` --limit-burst ${m.burst}` : ''}`;
    }
    case 'rpfilter':
      // rpfilter_print: loose, validmark, accept-local, invert.
      return ` -m rpfilter${m.loose ? ' --loose' : ''}${m.validmark ? ' --validmark' : ''}${m.acceptLocal ? ' --accept-local' : ''}${m.invert ? ' --invert' : ''}`;
    case 'set':
      // set_print_v4_matchinfo: [!] --match-set NAME FLAGS [--return-nomatch]
      return ` -m set${not(m.invert)} --match-set ${m.name} ${m.flags.join(',')}${m.returnNomatch ? ' --return-nomatch' : ''}`;
    case 'physdev': {
      // physdev_save order: is-in, in, is-out, out, is-bridged.
      let s = ' -m physdev';
      if (m.isIn) s += `${not(m.isIn.invert)} --physdev-is-in`;
      if (m.physdevIn) s += `${not(m.physdevIn.invert)} --physdev-in ${iface(m.physdevIn)}`;
      if (m.isOut) s += `${not(m.isOut.invert)} --physdev-is-out`;
      if (m.physdevOut) s += `${not(m.physdevOut.invert)} --physdev-out ${iface(m.physdevOut)}`;
      if (m.isBridged) s += `${not(m.isBridged.invert)} --physdev-is-bridged`;
      return s;
    }
    case 'unsupported':
      return formatUnsupportedMatch(m.module, m.args);
  }
}

function formatUnsupportedMatch(module: string, args: readonly string[]): string {
  const rest = args.map((a) => ` ${rawArg(a)}`).join('');
  // Basic options packeteye cannot model (e.g. a non-contiguous -s mask) keep their own spelling.
  return module.startsWith('-') ? rest : ` -m ${module}${rest}`;
}

export interface FormatTargetOptions {
  /** `-j CT --notrack` rather than `-j NOTRACK` (the same kernel action, printed as it was loaded). */
  readonly ctNotrack?: boolean;
}

/** ` -j NAME …` / ` -g CHAIN`, with its leading space. */
export function formatTarget(t: Target, opts: FormatTargetOptions = {}): string {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return ` -j ${t.kind}`;
    case 'NOTRACK':
      return opts.ctNotrack ? ' -j CT --notrack' : ' -j NOTRACK';
    case 'jump':
      return ` -j ${t.chain}`;
    case 'goto':
      return ` -g ${t.chain}`;
    case 'REJECT':
      return ` -j REJECT --reject-with ${t.with}`;
    case 'MARK':
      return ` -j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'CONNMARK':
      return ` -j CONNMARK${t.args.map((a) => ` ${rawArg(a)}`).join('')}`;
    case 'DNAT': {
      let s = ' -j DNAT';
      if (t.toAddr || t.toPorts) s += ` --to-destination ${natRange(t.toAddr, t.toPorts)}`;
      if (t.random) s += ' --random';
      if (t.persistent) s += ' --persistent';
      return s;
    }
    case 'SNAT': {
      let s = ' -j SNAT';
      if (t.toAddr || t.toPorts) s += ` --to-source ${natRange(t.toAddr, t.toPorts)}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      if (t.persistent) s += ' --persistent';
      return s;
    }
    case 'MASQUERADE': {
      let s = ' -j MASQUERADE';
      if (t.toPorts) s += ` --to-ports ${formatPortRange(t.toPorts, '-')}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      return s;
    }
    case 'REDIRECT': {
      let s = ' -j REDIRECT';
      if (t.toPorts) s += ` --to-ports ${formatPortRange(t.toPorts, '-')}`;
      if (t.random) s += ' --random';
      return s;
    }
    case 'NFLOG': {
      // nflog_print: prefix, group (when not 0), size, threshold (when not 1).
      let s = ' -j NFLOG';
      if (t.prefix !== undefined) s += ` --nflog-prefix ${saveString(t.prefix)}`;
      if (t.group !== 0) s += ` --nflog-group ${t.group}`;
      if (t.size !== undefined) s += ` --nflog-size ${t.size}`;
      if (t.threshold !== 1) s += ` --nflog-threshold ${t.threshold}`;
      return s;
    }
    case 'LOG': {
      let s = ' -j LOG';
      if (t.prefix !== undefined) s += ` --log-prefix ${saveString(t.prefix)}`;
      if (t.level !== undefined && t.level !== '4') s += ` --log-level ${t.level}`;
      return s;
    }
    case 'unsupported':
      return ` -j ${t.name}${t.args.map((a) => ` ${rawArg(a)}`).join('')}`;
  }
}

/** Order of the basic matches in iptables-save output; modules rank after them. */
function rank(kind: Match['kind']): number {
  switch (kind) {
    case 'source':
      return 0;
    case 'destination':
      return 1;
    case 'in-interface':
      return 2;
    case 'out-interface':
      return 3;
    case 'protocol':
      return 4;
    case 'fragment':
      return 5;
    default:
      return 6;
  }
}

/**
 * The canonical text of a rule without `-A CHAIN`: basics in save order,
 * then modules in the order given, then the target. No leading space.
 */
export function formatRule(
  rule: Pick<Rule, 'matches' | 'target'>,
  opts: FormatTargetOptions = {},
): string {
  const ms = rule.matches;
  let ordered = true;
  for (let k = 1; k < ms.length && ordered; k++)
    if (rank(ms[k - 1]!.kind) > rank(ms[k]!.kind)) ordered = false;
  // A stable sort by rank keeps modules in their given order (and is skipped when already in order).
  const list = ordered
    ? ms
    : [...ms].sort((a, b) => Math.min(rank(a.kind), 6) - Math.min(rank(b.kind), 6));
  let s = '';
  for (const m of list) s += formatMatch(m);
  if (rule.target) s += formatTarget(rule.target, opts);
  return s.length > 0 ? s.slice(1) : s;
}

/** `ruleText(rule)`: the canonical text computed from the model (equals `rule.text` for parsed rules). */
export const ruleText = formatRule;
