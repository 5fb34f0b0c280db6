/**
 * Target extensions packeteye models (`-j NAME`), each normalised the way its
 * libxt_/libipt_ NAME.c parser fills the kernel's struct: every MARK spelling
 * becomes the xmark pair (libxt_MARK.c mark_tg_parse), REJECT names become
 * the reject_table name, LOG levels become numbers, and so on.
 */

import type { PortRange, Target } from '../kernel/netfilter/types.js';
import {
  err,
  find,
  okv,
  options,
  type BuildContext,
  type ExtensionSpec,
  type Given,
  type OptDef,
} from './spec.js';
import { intToIp, ipv6ToBigInt } from '../wire/addr.js';
import {
  hex,
  parseIpv4,
  parseDecimal,
  parseIpv6Text,
  parseMarkMask,
  parseUint,
  type Parsed,
} from './values.js';

type TargetSpec = ExtensionSpec<Target>;

/** Targets without options, and the built-in verdicts. */
function simple(name: 'ACCEPT' | 'DROP' | 'RETURN' | 'NOTRACK'): TargetSpec {
  return {
    name,
    options: new Map(),
    build: () => okv({ kind: name }),
  };
}

// ---- REJECT (libipt_REJECT.c reject_table) ----

const REJECT_WITH: readonly (readonly [name: string, alias: string])[] = [
  ['icmp-net-unreachable', 'net-unreach'],
  ['icmp-host-unreachable', 'host-unreach'],
  ['icmp-proto-unreachable', 'proto-unreach'],
  ['icmp-port-unreachable', 'port-unreach'],
  ['icmp-net-prohibited', 'net-prohib'],
  ['icmp-host-prohibited', 'host-prohib'],
  ['tcp-reset', 'tcp-rst'],
  ['icmp-admin-prohibited', 'admin-prohib'],
];

/** libip6t_REJECT.c reject_table: ip6tables' names (the default is icmp6-port-unreachable). */
const REJECT6_WITH: readonly (readonly [name: string, alias: string])[] = [
  ['icmp6-no-route', 'no-route'],
  ['icmp6-adm-prohibited', 'adm-prohibited'],
  ['icmp6-addr-unreachable', 'addr-unreach'],
  ['icmp6-port-unreachable', 'port-unreach'],
  ['tcp-reset', 'tcp-reset'],
  ['icmp6-policy-fail', 'policy-fail'],
  ['icmp6-reject-route', 'reject-route'],
];

const reject: TargetSpec = {
  name: 'REJECT',
  options: options([['--reject-with', 1, false]]),
  build(given, ctx) {
    const v6 = ctx.family === 'ipv6';
    const table = v6 ? REJECT6_WITH : REJECT_WITH;
    const g = find(given, '--reject-with');
    if (!g)
      return okv({ kind: 'REJECT', with: v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable' });
    // parse_reject_with (libipt_REJECT.c, libip6t_REJECT.c): the first name or alias that
    // starts with the argument, case-insensitively.
    const v = g.values[0]!.toLowerCase();
    const e = v === '' ? undefined : table.find(([n, a]) => n.startsWith(v) || a.startsWith(v));
    if (!e)
      return err(
        `--reject-with: unknown type "${g.values[0]!}"${v6 ? ' for ip6tables' : ''} (expected ${table.map(([n]) => n).join(', ')})`,
      );
    // reject_tg_check: tcp-reset only for -p tcp.
    if (e[0] === 'tcp-reset' && (ctx.protocol?.name !== 'tcp' || ctx.protocol.invert)) {
      return err('--reject-with tcp-reset needs -p tcp in the same rule');
    }
    return okv({ kind: 'REJECT', with: e[0] });
  },
};

// ---- MARK (libxt_MARK.c, revision 2) ----

/** The options MARK and CONNMARK share, each of which sets the mark as an xmark pair. */
const XMARK_OPTIONS: readonly OptDef[] = [
  ['--set-xmark', 1, false],
  ['--set-mark', 1, false],
  ['--and-mark', 1, false],
  ['--or-mark', 1, false],
  ['--xor-mark', 1, false],
];

/**
 * One of XMARK_OPTIONS as the value/mask pair the kernel applies as
 * `(mark & ~mask) ^ value` (mark_tg_parse, connmark_tg_parse).
 */
function parseXmark(g: Given): Parsed<{ value: number; mask: number }> {
  const v = g.values[0]!;
  if (g.opt === '--set-xmark' || g.opt === '--set-mark') {
    const r = parseMarkMask(v);
    if (!r.ok) return err(`${g.opt}: ${r.error}`);
    // --set-mark v/m means "zero m, then OR v", i.e. xmark v/(v|m).
    const mask = g.opt === '--set-mark' ? (r.value.value | r.value.mask) >>> 0 : r.value.mask;
    return okv({ value: r.value.value, mask });
  }
  const r = parseUint(v, 0xffffffff);
  if (!r.ok) return err(`${g.opt}: ${r.error}`);
  const n = r.value;
  if (g.opt === '--and-mark') return okv({ value: 0, mask: ~n >>> 0 });
  if (g.opt === '--or-mark') return okv({ value: n, mask: n });
  return okv({ value: n, mask: 0 });
}

const mark: TargetSpec = {
  name: 'MARK',
  options: options(XMARK_OPTIONS),
  build(given) {
    if (given.length !== 1)
      return err(
        'MARK needs exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark',
      );
    const r = parseXmark(given[0]!);
    if (!r.ok) return r;
    return okv({ kind: 'MARK', value: r.value.value, mask: r.value.mask });
  },
};

// ---- CONNMARK (libxt_CONNMARK.c, revision 1): args normalised to what iptables-save prints ----

const connmark: TargetSpec = {
  name: 'CONNMARK',
  options: options([
    ...XMARK_OPTIONS,
    ['--save-mark', 0, false],
    ['--restore-mark', 0, false],
    ['--nfmask', 1, false],
    ['--ctmask', 1, false],
    ['--mask', 1, false],
  ]),
  build(given) {
    const modes = given.filter((g) => !['--nfmask', '--ctmask', '--mask'].includes(g.opt));
    if (modes.length !== 1)
      return err(
        'CONNMARK needs exactly one of --set-xmark, --set-mark, --save-mark, --restore-mark, --and-mark, --or-mark, --xor-mark',
      );
    const g = modes[0]!;
    const num = (opt: string): Parsed<number | undefined> => {
      const x = find(given, opt);
      if (!x) return okv(undefined);
      const r = parseUint(x.values[0]!, 0xffffffff);
      return r.ok ? r : err(`${opt}: ${r.error}`);
    };
    const nf = num('--nfmask');
    const ct = num('--ctmask');
    const both = num('--mask');
    if (!nf.ok) return nf;
    if (!ct.ok) return ct;
    if (!both.ok) return both;
    const masks = nf.value !== undefined || ct.value !== undefined || both.value !== undefined;
    if (g.opt === '--save-mark' || g.opt === '--restore-mark') {
      const nfmask = nf.value ?? both.value ?? 0xffffffff;
      const ctmask = ct.value ?? both.value ?? 0xffffffff;
      return okv({
        kind: 'CONNMARK',
        args: [g.opt, '--nfmask', hex(nfmask), '--ctmask', hex(ctmask)],
      });
    }
    if (masks) return err(`${g.opt} does not take --nfmask, --ctmask or --mask`);
    const r = parseXmark(g);
    if (!r.ok) return r;
    const { value, mask } = r.value;
    return okv({ kind: 'CONNMARK', args: ['--set-xmark', `${hex(value)}/${hex(mask)}`] });
  },
};

// ---- NAT targets (libxt_DNAT.c, libxt_SNAT.c, libxt_MASQUERADE.c, libxt_REDIRECT.c) ----

const PORT_PROTOS = ['tcp', 'udp', 'sctp', 'dccp', 'udplite'];

function portsNeedProtocol(ctx: BuildContext, target: string): string | undefined {
  const p = ctx.protocol;
  if (p && !p.invert && PORT_PROTOS.includes(p.name)) return undefined;
  return `${target} with ports needs -p tcp, udp, sctp or dccp in the same rule`;
}

/** `p` or `p-q`, 1–65535 (a zero port is refused by parse_ports). */
function parseNatPorts(s: string): Parsed<PortRange> {
  const dash = s.indexOf('-');
  const a = parseUint(dash < 0 ? s : s.slice(0, dash), 65535);
  const b = dash < 0 ? a : parseUint(s.slice(dash + 1), 65535);
  if (!a.ok || !b.ok || !/^\d+(-\d+)?$/.test(s)) return err(`"${s}" is not a port or port range`);
  if (a.value === 0 || b.value === 0) return err(`port 0 in "${s}" is not valid`);
  if (a.value > b.value) return err(`port range "${s}" has min > max`);
  return okv({ from: a.value, to: b.value });
}

/** What a NAT target's `--to-destination`/`--to-source` names. */
type NatRange = { toAddr?: { from: string; to: string }; toPorts?: PortRange };

/** `a[-b][:p[-q]]` as parse_to in libxt_DNAT.c reads it. */
function parseNatRange(s: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Parsed<NatRange> {
  if (family === 'ipv6') return parseNatRange6(s);
  const colon = s.indexOf(':');
  const addrPart = colon < 0 ? s : s.slice(0, colon);
  const out: NatRange = {};
  if (colon >= 0) {
    const pr = parseNatPorts(s.slice(colon + 1));
    if (!pr.ok) return pr;
    out.toPorts = pr.value;
  }
  if (addrPart !== '') {
    const dash = addrPart.indexOf('-');
    const a = parseIpv4(dash < 0 ? addrPart : addrPart.slice(0, dash));
    const b = dash < 0 ? a : parseIpv4(addrPart.slice(dash + 1));
    if (!a.ok || !b.ok) return err(`"${addrPart}" is not an IPv4 address or address range`);
    if (a.value > b.value) return err(`address range "${addrPart}" has min > max`);
    out.toAddr = { from: intToIp(a.value), to: intToIp(b.value) };
  } else if (colon < 0) {
    return err('empty address');
  }
  return okv(out);
}

/**
 * ip6tables' `--to-destination`/`--to-source` (libxt_DNAT.c parse_to, IPv6):
 * `addr`, `addr-addr`, `[addr]:p[-q]`, `[addr-addr]:p[-q]` or `[]:p`-less
 * forms; a bare address has no port (its colons are the address's own).
 */
function parseNatRange6(s: string): Parsed<NatRange> {
  const out: NatRange = {};
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?:-\d+\.\d+\.\d+\.\d+)?(?::[\d-]+)?$/.exec(s);
  if (v4) return err(`"${s}" is an IPv4 address in an ip6tables (IPv6) dump`);
  let addrPart = s;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return err(`"${s}": missing "]"`);
    addrPart = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return err(`"${s}": expected ":PORT" after "]"`);
      const pr = parseNatPorts(rest.slice(1));
      if (!pr.ok) return pr;
      out.toPorts = pr.value;
    }
  }
  if (addrPart === '') return err('empty address');
  const dash = addrPart.indexOf('-');
  const a = parseIpv6Text(dash < 0 ? addrPart : addrPart.slice(0, dash));
  const b = dash < 0 ? a : parseIpv6Text(addrPart.slice(dash + 1));
  if (!a.ok) return a;
  if (!b.ok) return b;
  if (ipv6ToBigInt(a.value)! > ipv6ToBigInt(b.value)!)
    return err(`address range "${addrPart}" has min > max`);
  out.toAddr = { from: a.value, to: b.value };
  return okv(out);
}

/**
 * `--to-destination`/`--to-source` (opt) of DNAT/SNAT (target): the range,
 * which may carry ports only in a rule with a port protocol.
 */
function natTo(
  given: readonly Given[],
  ctx: BuildContext,
  opt: string,
  target: string,
): Parsed<NatRange | undefined> {
  const to = find(given, opt);
  if (!to) return okv(undefined);
  const r = parseNatRange(to.values[0]!, ctx.family);
  if (!r.ok) return err(`${opt}: ${r.error}`);
  if (r.value.toPorts) {
    const need = portsNeedProtocol(ctx, target);
    if (need) return err(need);
  }
  return r;
}

const dnat: TargetSpec = {
  name: 'DNAT',
  options: options([
    [['--to-destination', '--to'], 1, false],
    ['--random', 0, false],
    ['--persistent', 0, false],
  ]),
  build(given, ctx) {
    const r = natTo(given, ctx, '--to-destination', 'DNAT');
    if (!r.ok) return r;
    return okv({
      kind: 'DNAT',
      ...r.value,
      random: find(given, '--random') !== undefined,
      persistent: find(given, '--persistent') !== undefined,
    });
  },
};

const snat: TargetSpec = {
  name: 'SNAT',
  options: options([
    [['--to-source', '--to'], 1, false],
    ['--random', 0, false],
    ['--random-fully', 0, false],
    ['--persistent', 0, false],
  ]),
  build(given, ctx) {
    const r = natTo(given, ctx, '--to-source', 'SNAT');
    if (!r.ok) return r;
    if (!r.value) return err('SNAT needs --to-source');
    return okv({
      kind: 'SNAT',
      ...r.value,
      random: find(given, '--random') !== undefined,
      randomFully: find(given, '--random-fully') !== undefined,
      persistent: find(given, '--persistent') !== undefined,
    });
  },
};

function toPorts(
  given: readonly Given[],
  ctx: BuildContext,
  target: string,
): Parsed<PortRange | undefined> {
  const g = find(given, '--to-ports');
  if (!g) return okv(undefined);
  const r = parseNatPorts(g.values[0]!);
  if (!r.ok) return err(`--to-ports: ${r.error}`);
  const need = portsNeedProtocol(ctx, target);
  if (need) return err(need);
  return r;
}

const masquerade: TargetSpec = {
  name: 'MASQUERADE',
  options: options([
    ['--to-ports', 1, false],
    ['--random', 0, false],
    ['--random-fully', 0, false],
  ]),
  build(given, ctx) {
    const p = toPorts(given, ctx, 'MASQUERADE');
    if (!p.ok) return p;
    return okv({
      kind: 'MASQUERADE',
      ...(p.value ? { toPorts: p.value } : {}),
      random: find(given, '--random') !== undefined,
      randomFully: find(given, '--random-fully') !== undefined,
    });
  },
};

const redirect: TargetSpec = {
  name: 'REDIRECT',
  options: options([
    ['--to-ports', 1, false],
    ['--random', 0, false],
  ]),
  build(given, ctx) {
    const p = toPorts(given, ctx, 'REDIRECT');
    if (!p.ok) return p;
    return okv({
      kind: 'REDIRECT',
      ...(p.value ? { toPorts: p.value } : {}),
      random: find(given, '--random') !== undefined,
    });
  },
};

// ---- LOG (libxt_LOG.c) ----

const LOG_LEVELS: ReadonlyMap<string, number> = new Map([
  ['emerg', 0],
  ['panic', 0],
  ['alert', 1],
  ['crit', 2],
  ['err', 3],
  ['error', 3],
  ['warning', 4],
  ['warn', 4],
  ['notice', 5],
  ['info', 6],
  ['debug', 7],
]);

const log: TargetSpec = {
  name: 'LOG',
  options: options([
    ['--log-prefix', 1, false, 'any'],
    ['--log-level', 1, false],
  ]),
  build(given) {
    const p = find(given, '--log-prefix');
    const l = find(given, '--log-level');
    let prefix: string | undefined;
    if (p) {
      // log_tg_parse: "Maximum prefix length 29"; an empty prefix is not printed.
      if (Buffer.byteLength(p.values[0]!, 'utf8') > 29)
        return err('--log-prefix is longer than 29 characters');
      if (p.values[0] !== '') prefix = p.values[0]!;
    }
    let level: string | undefined;
    if (l) {
      const v = l.values[0]!;
      const named = LOG_LEVELS.get(v.toLowerCase());
      const n = named ?? (/^[0-7]$/.test(v) ? Number(v) : undefined);
      if (n === undefined)
        return err(`--log-level: "${v}" is not a level 0–7 or a syslog level name`);
      // LOG_DEFAULT_LEVEL (4, warning) is not printed by iptables-save, so it is not kept either.
      if (n !== 4) level = `${n}`;
    }
    return okv({
      kind: 'LOG',
      ...(prefix !== undefined ? { prefix } : {}),
      ...(level !== undefined ? { level } : {}),
    });
  },
};

// ---- NFLOG (libxt_NFLOG.c) ----

const nflog: TargetSpec = {
  name: 'NFLOG',
  options: options([
    ['--nflog-group', 1, false],
    ['--nflog-prefix', 1, false, 'any'],
    ['--nflog-range', 1, false],
    ['--nflog-size', 1, false],
    ['--nflog-threshold', 1, false],
  ]),
  build(given) {
    const values: Record<string, number | undefined> = {};
    for (const [opt, max] of [
      ['--nflog-group', 65535],
      ['--nflog-range', 0xffffffff],
      ['--nflog-size', 0xffffffff],
      ['--nflog-threshold', 65535],
    ] as const) {
      const g = find(given, opt);
      if (!g) continue;
      const r = parseDecimal(g.values[0]!, 0, max);
      if (!r.ok) return err(`${opt}: ${r.error}`);
      values[opt] = r.value;
    }
    const p = find(given, '--nflog-prefix');
    // xtables' string option check: 1 to 63 characters.
    if (p && p.values[0] === '') return err('--nflog-prefix must not be empty');
    if (p && Buffer.byteLength(p.values[0]!, 'utf8') > 63)
      return err('--nflog-prefix is longer than 63 characters');
    const size = values['--nflog-size'];
    // iptables 1.8 accepts --nflog-range and ignores it ("has never worked"): it is not kept.
    return okv({
      kind: 'NFLOG',
      group: values['--nflog-group'] ?? 0,
      ...(p ? { prefix: p.values[0]! } : {}),
      ...(size !== undefined ? { size } : {}),
      threshold: values['--nflog-threshold'] ?? 1,
    });
  },
};

// ---- CT (libxt_CT.c): only --notrack is modelled ----

const ct: TargetSpec = {
  name: 'CT',
  options: options([['--notrack', 0, false]]),
  build(given) {
    if (!find(given, '--notrack')) return err('-j CT is modelled only with --notrack');
    return okv({ kind: 'NOTRACK' });
  },
};

export const TARGETS: ReadonlyMap<string, TargetSpec> = new Map(
  [
    simple('ACCEPT'),
    simple('DROP'),
    simple('RETURN'),
    simple('NOTRACK'),
    reject,
    mark,
    connmark,
    dnat,
    snat,
    masquerade,
    redirect,
    log,
    nflog,
    ct,
  ].map((s) => [s.name, s]),
);

/**
 * Target extensions that exist in iptables but are not modelled: a `-j` to
 * one of these is unsupported (warning), not an unknown chain (error).
 */
export const KNOWN_UNMODELLED_TARGETS: ReadonlySet<string> = new Set([
  'AUDIT',
  'CHECKSUM',
  'CLASSIFY',
  'CLUSTERIP',
  'CONNSECMARK',
  'DSCP',
  'ECN',
  'HMARK',
  'IDLETIMER',
  'LED',
  'MIRROR',
  'NETMAP',
  'NFQUEUE',
  'QUEUE',
  'RATEEST',
  'SAME',
  'SECMARK',
  'SET',
  'SYNPROXY',
  'TCPMSS',
  'TCPOPTSTRIP',
  'TEE',
  'TOS',
  'TPROXY',
  'TRACE',
  'TTL',
  'ULOG',
]);
