/**
 * Match extensions packeteye models (`-m NAME`), each normalised the way its
 * libxt_NAME.c parser fills the kernel's struct, so that two spellings of the
 * same match give the same value (and iptables-save prints one text for both).
 * Anything not listed here becomes an `unsupported` match in rule.ts.
 */

import type { AddrType, CtState, CtStatus, Match, PortRange } from '../kernel/netfilter/types.js';
import {
  err,
  find,
  okv,
  options,
  unsupportedOption,
  type BuildContext,
  type ExtensionSpec,
  type Given,
} from './spec.js';
import {
  formatCidrText,
  formatIpv4,
  formatProbability,
  maskToPrefix,
  parseAddrMask,
  parseAddrMask6,
  parseIpv6Text,
  formatCidrText6,
  mask6ToPrefix,
  parseDecimal,
  parseIfaceName,
  parseIpv4,
  parseMarkMask,
  parsePort,
  parsePortRange,
  parseUint,
  type Parsed,
} from './values.js';

type MatchSpec = ExtensionSpec<Match>;

/** The kernel refuses a protocol match unless `-p` names that protocol, not inverted (xt_check_match). */
function needProtocol(
  ctx: BuildContext,
  module: string,
  allowed: readonly string[],
): string | undefined {
  const p = ctx.protocol;
  if (p && !p.invert && allowed.includes(p.name)) return undefined;
  return `-m ${module} needs ${allowed.map((a) => `-p ${a}`).join(' or ')} in the same rule`;
}

// ---- tcp / udp / sctp (libxt_tcp.c, libxt_udp.c, libxt_sctp.c) ----

/** tcp_flag_names in libxt_tcp.c; print order is by bit (FIN first). */
const TCP_FLAGS: readonly (readonly [string, number])[] = [
  ['FIN', 0x01],
  ['SYN', 0x02],
  ['RST', 0x04],
  ['PSH', 0x08],
  ['ACK', 0x10],
  ['URG', 0x20],
];

function parseTcpFlags(s: string): Parsed<number> {
  let bits = 0;
  for (const raw of s.split(',')) {
    const f = raw.toUpperCase();
    if (f === 'ALL') bits |= 0x3f;
    else if (f === 'NONE') continue;
    else {
      const e = TCP_FLAGS.find(([n]) => n === f);
      if (!e)
        return err(
          `unknown TCP flag "${raw}" (expected FIN, SYN, RST, PSH, ACK, URG, ALL or NONE)`,
        );
      bits |= e[1];
    }
  }
  return okv(bits);
}

function flagNames(bits: number): string[] {
  return TCP_FLAGS.filter(([, b]) => (bits & b) !== 0).map(([n]) => n);
}

function l4Spec(proto: 'tcp' | 'udp' | 'sctp'): MatchSpec {
  const defs: [string | string[], 0 | 1 | 2, boolean][] = [
    [['--sport', '--source-port'], 1, true],
    [['--dport', '--destination-port'], 1, true],
  ];
  if (proto === 'tcp') {
    defs.push(['--tcp-flags', 2, true], ['--syn', 0, true]);
  }
  return {
    name: proto,
    options: options(defs),
    build(given, ctx) {
      const need = needProtocol(ctx, proto, [proto]);
      if (need) return err(need);
      const port = (opt: string): Parsed<(PortRange & { invert: boolean }) | undefined> => {
        const g = find(given, opt);
        if (!g) return okv(undefined);
        const r = parsePortRange(g.values[0]!);
        if (!r.ok) return err(`${opt}: ${r.error}`);
        // A full range that is not inverted matches everything; the kernel struct cannot tell it apart from none.
        if (r.value.from === 0 && r.value.to === 65535 && !g.invert) return okv(undefined);
        return okv({ ...r.value, invert: g.invert });
      };
      const sport = port('--sport');
      if (!sport.ok) return sport;
      const dport = port('--dport');
      if (!dport.ok) return dport;
      let tcpFlags: { mask: string[]; comp: string[]; invert: boolean } | undefined;
      const tf = find(given, '--tcp-flags');
      const syn = find(given, '--syn');
      if (tf && syn) return err('--syn and --tcp-flags cannot be used together');
      if (tf) {
        const mask = parseTcpFlags(tf.values[0]!);
        if (!mask.ok) return err(`--tcp-flags: ${mask.error}`);
        const comp = parseTcpFlags(tf.values[1]!);
        if (!comp.ok) return err(`--tcp-flags: ${comp.error}`);
        if (mask.value !== 0 || tf.invert) {
          tcpFlags = {
            mask: flagNames(mask.value),
            comp: flagNames(comp.value),
            invert: tf.invert,
          };
        }
      } else if (syn) {
        tcpFlags = { mask: ['FIN', 'SYN', 'RST', 'ACK'], comp: ['SYN'], invert: syn.invert };
      }
      return okv({
        kind: 'l4',
        protocol: proto,
        ...(sport.value ? { sport: sport.value } : {}),
        ...(dport.value ? { dport: dport.value } : {}),
        ...(tcpFlags ? { tcpFlags } : {}),
      });
    },
  };
}

// ---- multiport (libxt_multiport.c, revision 1) ----

const MULTIPORT_PROTOS = ['tcp', 'udp', 'udplite', 'sctp', 'dccp'];

const multiport: MatchSpec = {
  name: 'multiport',
  options: options([
    [['--sports', '--source-ports'], 1, true],
    [['--dports', '--destination-ports'], 1, true],
    ['--ports', 1, true],
  ]),
  build(given, ctx) {
    if (given.length === 0) return err('-m multiport needs one of --sports, --dports or --ports');
    if (given.length > 1)
      return err('-m multiport takes only one of --sports, --dports or --ports');
    const need = needProtocol(ctx, 'multiport', MULTIPORT_PROTOS);
    if (need) return err(need);
    const g = given[0]!;
    const ports: PortRange[] = [];
    let slots = 0;
    for (const part of g.values[0]!.split(',')) {
      const colon = part.indexOf(':');
      if (colon < 0) {
        const p = parsePort(part);
        if (!p.ok) return err(`${g.opt}: ${p.error}`);
        ports.push({ from: p.value, to: p.value });
        slots += 1;
      } else {
        const a = parsePort(part.slice(0, colon));
        const b = parsePort(part.slice(colon + 1));
        if (!a.ok) return err(`${g.opt}: ${a.error}`);
        if (!b.ok) return err(`${g.opt}: ${b.error}`);
        // parse_multi_ports_v1: "invalid portrange specified" unless min < max.
        if (a.value >= b.value)
          return err(`${g.opt}: invalid port range "${part}" (min must be below max)`);
        ports.push({ from: a.value, to: b.value });
        slots += 2;
      }
    }
    if (slots > 15) return err(`${g.opt}: too many ports (at most 15, a range counts as two)`);
    const which = g.opt === '--sports' ? 'sports' : g.opt === '--dports' ? 'dports' : 'ports';
    return okv({ kind: 'multiport', which, ports, invert: g.invert });
  },
};

// ---- icmp (libipt_icmp.c icmp_codes) ----

/** name → [type, code | undefined (any code)] */
const ICMP_NAMES: ReadonlyMap<string, readonly [number, number | undefined]> = new Map([
  ['any', [255, undefined]],
  ['echo-reply', [0, undefined]],
  ['pong', [0, undefined]],
  ['destination-unreachable', [3, undefined]],
  ['network-unreachable', [3, 0]],
  ['host-unreachable', [3, 1]],
  ['protocol-unreachable', [3, 2]],
  ['port-unreachable', [3, 3]],
  ['fragmentation-needed', [3, 4]],
  ['source-route-failed', [3, 5]],
  ['network-unknown', [3, 6]],
  ['host-unknown', [3, 7]],
  ['network-prohibited', [3, 9]],
  ['host-prohibited', [3, 10]],
  ['tos-network-unreachable', [3, 11]],
  ['tos-host-unreachable', [3, 12]],
  ['communication-prohibited', [3, 13]],
  ['host-precedence-violation', [3, 14]],
  ['precedence-cutoff', [3, 15]],
  ['source-quench', [4, undefined]],
  ['redirect', [5, undefined]],
  ['network-redirect', [5, 0]],
  ['host-redirect', [5, 1]],
  ['tos-network-redirect', [5, 2]],
  ['tos-host-redirect', [5, 3]],
  ['echo-request', [8, undefined]],
  ['ping', [8, undefined]],
  ['router-advertisement', [9, undefined]],
  ['router-solicitation', [10, undefined]],
  ['time-exceeded', [11, undefined]],
  ['ttl-exceeded', [11, undefined]],
  ['ttl-zero-during-transit', [11, 0]],
  ['ttl-zero-during-reassembly', [11, 1]],
  ['parameter-problem', [12, undefined]],
  ['ip-header-bad', [12, 0]],
  ['required-option-missing', [12, 1]],
  ['timestamp-request', [13, undefined]],
  ['timestamp-reply', [14, undefined]],
  ['address-mask-request', [17, undefined]],
  ['address-mask-reply', [18, undefined]],
]);

const icmp: MatchSpec = {
  name: 'icmp',
  options: options([['--icmp-type', 1, true]]),
  build(given, ctx) {
    const need = needProtocol(ctx, 'icmp', ['icmp']);
    if (need) return err(need);
    const g = find(given, '--icmp-type');
    // libipt_icmp marks --icmp-type mandatory (XTOPT_MAND) in iptables 1.8.
    if (!g) return err('-m icmp needs --icmp-type');
    const v = g.values[0]!;
    const lower = v.toLowerCase();
    let named = ICMP_NAMES.get(lower);
    if (!named && /^[a-z]/.test(lower)) {
      // parse_icmp takes any unambiguous prefix of a name ("echo-req"), case-insensitively.
      const hits = [...ICMP_NAMES.keys()].filter((n) => n.startsWith(lower));
      if (hits.length > 1)
        return err(
          `--icmp-type: "${v}" is ambiguous (${hits.slice(0, 3).join(', ')}${hits.length > 3 ? ', …' : ''})`,
        );
      if (hits.length === 1) named = ICMP_NAMES.get(hits[0]!);
    }
    if (named) {
      const [type, code] = named;
      return okv({ kind: 'icmp', type, ...(code !== undefined ? { code } : {}), invert: g.invert });
    }
    const slash = v.indexOf('/');
    const t = parseDecimal(slash < 0 ? v : v.slice(0, slash), 0, 255);
    if (!t.ok) return err(`--icmp-type: "${v}" is not an ICMP type name, number or type/code`);
    if (slash < 0) return okv({ kind: 'icmp', type: t.value, invert: g.invert });
    const c = parseDecimal(v.slice(slash + 1), 0, 255);
    if (!c.ok) return err(`--icmp-type: bad code in "${v}"`);
    return okv({ kind: 'icmp', type: t.value, code: c.value, invert: g.invert });
  },
};

// ---- icmp6 (libip6t_icmp6.c icmpv6_codes) ----

/** name → [type, code | undefined (any code)] */
const ICMP6_NAMES: ReadonlyMap<string, readonly [number, number | undefined]> = new Map([
  ['destination-unreachable', [1, undefined]],
  ['no-route', [1, 0]],
  ['communication-prohibited', [1, 1]],
  ['beyond-scope', [1, 2]],
  ['address-unreachable', [1, 3]],
  ['port-unreachable', [1, 4]],
  ['failed-policy', [1, 5]],
  ['reject-route', [1, 6]],
  ['packet-too-big', [2, undefined]],
  ['time-exceeded', [3, undefined]],
  ['ttl-exceeded', [3, undefined]],
  ['ttl-zero-during-transit', [3, 0]],
  ['ttl-zero-during-reassembly', [3, 1]],
  ['parameter-problem', [4, undefined]],
  ['bad-header', [4, 0]],
  ['unknown-header-type', [4, 1]],
  ['unknown-option', [4, 2]],
  ['echo-request', [128, undefined]],
  ['ping', [128, undefined]],
  ['echo-reply', [129, undefined]],
  ['pong', [129, undefined]],
  ['router-solicitation', [133, undefined]],
  ['router-advertisement', [134, undefined]],
  ['neighbour-solicitation', [135, undefined]],
  ['neighbor-solicitation', [135, undefined]],
  ['neighbour-advertisement', [136, undefined]],
  ['neighbor-advertisement', [136, undefined]],
  ['redirect', [137, undefined]],
]);

const icmp6: MatchSpec = {
  name: 'icmp6',
  options: options([['--icmpv6-type', 1, true]]),
  build(given, ctx) {
    const need = needProtocol(ctx, 'icmp6', ['ipv6-icmp']);
    if (need) return err(need);
    const g = find(given, '--icmpv6-type');
    if (!g) return err('-m icmp6 needs --icmpv6-type');
    const v = g.values[0]!;
    const lower = v.toLowerCase();
    let named = ICMP6_NAMES.get(lower);
    if (!named && /^[a-z]/.test(lower)) {
      // parse_icmpv6 takes any unambiguous prefix of a name, case-insensitively.
      const hits = [...ICMP6_NAMES.keys()].filter((n) => n.startsWith(lower));
      if (hits.length > 1)
        return err(`--icmpv6-type: "${v}" is ambiguous (${hits.slice(0, 3).join(', ')})`);
      if (hits.length === 1) named = ICMP6_NAMES.get(hits[0]!);
    }
    if (named) {
      const [type, code] = named;
      return okv({
        kind: 'icmp6',
        type,
        ...(code !== undefined ? { code } : {}),
        invert: g.invert,
      });
    }
    const slash = v.indexOf('/');
    const t = parseDecimal(slash < 0 ? v : v.slice(0, slash), 0, 255);
    if (!t.ok) return err(`--icmpv6-type: "${v}" is not an ICMPv6 type name, number or type/code`);
    if (slash < 0) return okv({ kind: 'icmp6', type: t.value, invert: g.invert });
    const c = parseDecimal(v.slice(slash + 1), 0, 255);
    if (!c.ok) return err(`--icmpv6-type: bad code in "${v}"`);
    return okv({ kind: 'icmp6', type: t.value, code: c.value, invert: g.invert });
  },
};

// ---- comment (libxt_comment.c) ----

const comment: MatchSpec = {
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

const nfacct: MatchSpec = {
  name: 'nfacct',
  options: options([['--nfacct-name', 1, false]]),
  build(given) {
    const g = find(given, '--nfacct-name');
    if (!g) return err('-m nfacct needs --nfacct-name');
    return okv({ kind: 'nfacct', name: g.values[0]! });
  },
};

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
function parseNameList<T extends string>(s: string, all: readonly T[], what: string): Parsed<T[]> {
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

const conntrack: MatchSpec = {
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

const state: MatchSpec = {
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

function markSpec(kind: 'mark' | 'connmark'): MatchSpec {
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

// ---- addrtype (libxt_addrtype.c, revision 1) ----

const ADDR_TYPES: readonly AddrType[] = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
];

const addrtype: MatchSpec = {
  name: 'addrtype',
  options: options([
    ['--src-type', 1, true],
    ['--dst-type', 1, true],
    ['--limit-iface-in', 0, false],
    ['--limit-iface-out', 0, false],
  ]),
  build(given) {
    const types = (opt: string): Parsed<{ types: AddrType[]; invert: boolean } | undefined> => {
      const g = find(given, opt);
      if (!g) return okv(undefined);
      const r = parseNameList(g.values[0]!, ADDR_TYPES, 'address type');
      if (!r.ok) return err(`${opt}: ${r.error}`);
      return okv({ types: r.value, invert: g.invert });
    };
    const src = types('--src-type');
    if (!src.ok) return src;
    const dst = types('--dst-type');
    if (!dst.ok) return dst;
    const limitIfaceIn = find(given, '--limit-iface-in') !== undefined;
    const limitIfaceOut = find(given, '--limit-iface-out') !== undefined;
    if (limitIfaceIn && limitIfaceOut)
      return err('--limit-iface-in and --limit-iface-out cannot be used together');
    return okv({
      kind: 'addrtype',
      ...(src.value ? { srcType: src.value } : {}),
      ...(dst.value ? { dstType: dst.value } : {}),
      limitIfaceIn,
      limitIfaceOut,
    });
  },
};

// ---- statistic (libxt_statistic.c) ----

const statistic: MatchSpec = {
  name: 'statistic',
  options: options([
    ['--mode', 1, false],
    ['--probability', 1, true],
    ['--every', 1, true],
    ['--packet', 1, false],
  ]),
  build(given) {
    const mode = find(given, '--mode');
    if (!mode) return err('-m statistic needs --mode random or --mode nth');
    const prob = find(given, '--probability');
    const every = find(given, '--every');
    const packet = find(given, '--packet');
    const invert = (prob?.invert ?? false) || (every?.invert ?? false);
    if (mode.values[0] === 'random') {
      if (every || packet) return err('--every and --packet go with --mode nth, not --mode random');
      if (!prob) return err('--mode random needs --probability');
      const v = prob.values[0]!;
      if (!/^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v))
        return err(`--probability: "${v}" is not a number`);
      const p = Number(v);
      if (!(p >= 0 && p <= 1)) return err(`--probability: ${v} is not between 0 and 1`);
      // The kernel holds lround(p * 2^31); keep the value iptables-save prints back.
      return okv({
        kind: 'statistic',
        mode: 'random',
        probability: Number(formatProbability(p)),
        invert,
      });
    }
    if (mode.values[0] === 'nth') {
      if (prob) return err('--probability goes with --mode random, not --mode nth');
      if (!every) return err('--mode nth needs --every');
      const e = parseDecimal(every.values[0]!, 1, 0xffffffff);
      if (!e.ok) return err(`--every: ${e.error}`);
      // iptables 1.8: 'option "--every" also requires "--packet"'.
      if (!packet) return err('--every needs --packet');
      const r = parseDecimal(packet.values[0]!, 0, e.value - 1);
      if (!r.ok) return err(`--packet: ${r.error} (must be below --every)`);
      return okv({ kind: 'statistic', mode: 'nth', every: e.value, packet: r.value, invert });
    }
    return err(`--mode: expected random or nth, got "${mode.values[0]!}"`);
  },
};

// ---- recent (libxt_recent.c) ----

const recent: MatchSpec = {
  name: 'recent',
  options: options([
    ['--set', 0, true],
    ['--rcheck', 0, true],
    ['--update', 0, true],
    ['--remove', 0, true],
    ['--seconds', 1, false],
    ['--reap', 0, false],
    ['--hitcount', 1, false],
    ['--rttl', 0, false],
    ['--name', 1, false, 'any'],
    ['--mask', 1, false],
    ['--rsource', 0, false],
    ['--rdest', 0, false],
  ]),
  build(given, ctx) {
    const actions = given.filter((g) =>
      ['--set', '--rcheck', '--update', '--remove'].includes(g.opt),
    );
    if (actions.length !== 1)
      return err('-m recent needs exactly one of --set, --rcheck, --update or --remove');
    const a = actions[0]!;
    const action = a.opt.slice(2) as 'set' | 'rcheck' | 'update' | 'remove';
    const sec = find(given, '--seconds');
    const hit = find(given, '--hitcount');
    let seconds: number | undefined;
    let hitcount: number | undefined;
    if (sec) {
      const r = parseDecimal(sec.values[0]!, 0, 0xffffffff);
      if (!r.ok) return err(`--seconds: ${r.error}`);
      if (r.value !== 0) seconds = r.value;
    }
    if (hit) {
      const r = parseDecimal(hit.values[0]!, 0, 0xffffffff);
      if (!r.ok) return err(`--hitcount: ${r.error}`);
      if (r.value !== 0) hitcount = r.value;
    }
    const reap = find(given, '--reap') !== undefined;
    if (reap && seconds === undefined) return err('--reap needs --seconds');
    if (
      (seconds !== undefined || hitcount !== undefined || reap) &&
      (action === 'set' || action === 'remove')
    ) {
      return err(`--seconds, --hitcount and --reap go with --rcheck or --update, not --${action}`);
    }
    const nameG = find(given, '--name');
    const name = nameG ? nameG.values[0]! : 'DEFAULT';
    if (name.length === 0 || name.length > 200) return err('--name must be 1–200 characters');
    // libxt_recent keeps a mask of the rule's family; all ones when not given.
    let mask =
      ctx.family === 'ipv6' ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255';
    const maskG = find(given, '--mask');
    if (maskG && ctx.family === 'ipv6') {
      const r = parseIpv6Text(maskG.values[0]!);
      if (!r.ok) return err(`--mask: ${r.error}`);
      mask = r.value;
    } else if (maskG) {
      const r = parseIpv4(maskG.values[0]!);
      if (!r.ok) return err(`--mask: ${r.error}`);
      mask = formatIpv4(r.value);
    }
    const rs = find(given, '--rsource');
    const rd = find(given, '--rdest');
    if (rs && rd) return err('--rsource and --rdest cannot be used together');
    return okv({
      kind: 'recent',
      name,
      action,
      ...(seconds !== undefined ? { seconds } : {}),
      ...(hitcount !== undefined ? { hitcount } : {}),
      reap,
      rttl: find(given, '--rttl') !== undefined,
      side: rd ? 'dest' : 'source',
      mask,
      invert: a.invert,
    });
  },
};

// ---- limit (libxt_limit.c) ----

/** XT_LIMIT_SCALE: `avg` is in 1/10000 s. */
const LIMIT_SCALE = 10000;

/** parse_rate: `N[/second|/minute|/hour|/day]` (any prefix of the unit) → avg. */
function parseRate(s: string): Parsed<number> {
  const m = /^(\d+)(?:\/([a-zA-Z]+))?$/.exec(s);
  if (!m) return err(`bad rate "${s}": expected N/sec, N/min, N/hour or N/day`);
  let mult = 1;
  if (m[2] !== undefined) {
    const u = m[2].toLowerCase();
    const unit = [
      ['second', 1],
      ['minute', 60],
      ['hour', 3600],
      ['day', 86400],
    ].find(([name]) => (name as string).startsWith(u));
    if (!unit) return err(`bad rate "${s}": unknown unit "${m[2]}"`);
    mult = unit[1] as number;
  }
  const r = Number(m[1]);
  if (r === 0) return err(`bad rate "${s}": zero`);
  const avg = Math.floor((LIMIT_SCALE * mult) / r);
  if (avg === 0) return err(`rate "${s}" too fast`);
  return okv(avg);
}

const limit: MatchSpec = {
  name: 'limit',
  options: options([
    ['--limit', 1, false],
    ['--limit-burst', 1, false],
  ]),
  build(given) {
    const l = find(given, '--limit');
    const b = find(given, '--limit-burst');
    // XT_LIMIT_AVG "3/hour", XT_LIMIT_BURST 5.
    let avg = (LIMIT_SCALE * 3600) / 3;
    if (l) {
      const r = parseRate(l.values[0]!);
      if (!r.ok) return err(`--limit: ${r.error}`);
      avg = r.value;
    }
    let burst = 5;
    if (b) {
      const r = parseDecimal(b.values[0]!, 0, 10000);
      if (!r.ok) return err(`--limit-burst: ${r.error}`);
      burst = r.value;
    }
    // libxt_limit refuses `!` ("limit does not support invert").
    return okv({ kind: 'limit', avg, burst, invert: false });
  },
};

// ---- rpfilter (libxt_rpfilter.c) ----

const rpfilter: MatchSpec = {
  name: 'rpfilter',
  options: options([
    ['--loose', 0, false],
    ['--validmark', 0, false],
    ['--accept-local', 0, false],
    ['--invert', 0, false],
  ]),
  build(given) {
    const has = (o: string) => find(given, o) !== undefined;
    return okv({
      kind: 'rpfilter',
      loose: has('--loose'),
      validmark: has('--validmark'),
      acceptLocal: has('--accept-local'),
      invert: has('--invert'),
    });
  },
};

// ---- set (libxt_set.c, revision 4) ----

const set: MatchSpec = {
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

// ---- physdev (libxt_physdev.c) ----

const physdev: MatchSpec = {
  name: 'physdev',
  options: options([
    ['--physdev-in', 1, true],
    ['--physdev-out', 1, true],
    ['--physdev-is-in', 0, true],
    ['--physdev-is-out', 0, true],
    ['--physdev-is-bridged', 0, true],
  ]),
  build(given) {
    if (given.length === 0) return err('-m physdev needs at least one option');
    const m: {
      kind: 'physdev';
      physdevIn?: { name: string; wildcard: boolean; invert: boolean };
      physdevOut?: { name: string; wildcard: boolean; invert: boolean };
      isIn?: { invert: boolean };
      isOut?: { invert: boolean };
      isBridged?: { invert: boolean };
    } = { kind: 'physdev' };
    for (const g of given) {
      if (g.opt === '--physdev-in' || g.opt === '--physdev-out') {
        const r = parseIfaceName(g.values[0]!);
        if (!r.ok) return err(`${g.opt}: ${r.error}`);
        const v = { ...r.value, invert: g.invert };
        if (g.opt === '--physdev-in') m.physdevIn = v;
        else m.physdevOut = v;
      } else if (g.opt === '--physdev-is-in') m.isIn = { invert: g.invert };
      else if (g.opt === '--physdev-is-out') m.isOut = { invert: g.invert };
      else m.isBridged = { invert: g.invert };
    }
    return okv(m);
  },
};

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
