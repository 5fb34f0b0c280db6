/**
 * `packeteye iptables trace`: follow one packet through a node's own
 * `iptables-save` dump (see src/trace/iptables-trace.ts for the semantics).
 *
 *   packeteye iptables trace --rules DUMP --src IP --dst IP --dport N [--sport N]
 *     [--proto tcp|udp|sctp|icmp] [--local-ip IP[/PREFIX][@IFACE]]... [--in-iface IF]
 *     [--out-iface IF] [--tcp-flags FLAGS] [--sysctl KEY=V]... [--reply] [--all-paths]
 *     [--ipsets FILE] [--routes FILE] [--seed N] [-o text|json|yaml]
 *
 * Exit status 0 whatever the packet's fate; 2 for bad input (a dump with
 * syntax errors prints `DUMP:LINE: error: …`). Warnings about the dump
 * (constructs packeteye does not model) go to stderr and tracing proceeds;
 * a packet that reaches such a rule gets the verdict UNSUPPORTED.
 *
 * JSON contract (`-o json`), stable (`-o yaml` is the same document as YAML):
 * ```
 * { "input": { src, dst, sport, dport, proto, localIps: [..], inIface, outIface,
 *              start: "PREROUTING"|"OUTPUT", allPaths, seed, rules: DUMP,
 *              ipsets?: FILE, routes?: FILE },
 *   "alternatives": [ {
 *       "probability": 0.5,
 *       "decisions": [ { label, p, taken } ],          // statistic rules met
 *       "path": ["PREROUTING", "FORWARD", "POSTROUTING"],
 *       "verdict": "ACCEPT"|"DROP"|"REJECT"|"UNSUPPORTED",
 *       "decidedBy": { kind: "rule", hook, table, chain, index, file, line, rule, target }
 *                  | { kind: "policy", hook, table, chain, policy }
 *                  | { kind: "kernel", hook, reason } | null,
 *       "dnat": "IP:PORT" | null,
 *       "snat": { kind: "SNAT"|"MASQUERADE", to: "IP:PORT", source?: "out-iface address"|"first --local-ip" } | null,
 *       "masqueradeMark": boolean,      // the skb carried kube-proxy's 0x4000 mark at some point
 *       "mark": "0x…",                  // skb mark at the end
 *       "reject"?: { with, response: "…" | null },
 *       "unsupported"?: { what, file, line, rule },
 *       "hits": [ { hook, table, chain, index, file, line, rule, target } ],
 *       "rewrites": [ { hook, kind: "DNAT"|"SNAT"|"MASQUERADE"|"un-DNAT"|"un-SNAT"|…, before: PKT, after: PKT } ],
 *       "ctstate": "NEW"|"ESTABLISHED_REPLY"|…|"INVALID"|"UNTRACKED",  // conntrack's view at the end
 *       "packetIn": PKT,                // { src, dst, sport, dport, proto } as it arrived
 *       "packet": PKT,                  // … and at the end
 *       "events": [ { kind, summary } ], // every step, in order
 *       "reply": null | { path, verdict, decidedBy, ctstate, mark, reject?, unsupported?,
 *                         hits, rewrites, packetIn, packet, events }   // with --reply
 *   } ],
 *   "warnings": [ { code, severity, message, file, line } ] }
 * ```
 * For an ACCEPTed packet `decidedBy` is the filter table's last decision on
 * the path (the rule or policy that let it through), else the last table's.
 *
 * IPv6: give an ip6tables-save dump and IPv6 `--src/--dst` (any spelling;
 * JSON carries the canonical RFC 5952 text). IPv6 endpoints print as
 * `[2001:db8::1]:80` in `dnat`/`snat.to`. `--src` and `--dst` of different
 * families, or a packet whose family is not the dump's, exit 2. The dump's
 * family is detected from its first IPv6-only construct (an IPv6 address,
 * `-m icmp6`, …); a dump without any is read in the packet's family.
 */
import type { Command } from 'commander';
import { InputError, formatDiagnostic, hasErrors, type Diagnostic } from '../diag.js';
import { detectIptablesFamily, firstIpv4Line, parseIptablesSave } from '../iptables/parse.js';
import type { Rule, Ruleset } from '../kernel/netfilter/index.js';
import { compileRuleset } from '../kernel/netfilter/index.js';
import { DEFAULT_SPORT, traceIptables, type LocalIp } from '../trace/iptables-trace.js';
import {
  ROUTING_CONF_KEYS,
  routingSysctlKey,
  type RoutingSysctl,
} from '../trace/iptables-route.js';
import type { IptablesTraceResult } from '../trace/model.js';
import { iptablesTraceDocument } from '../render/document.js';
import { renderIptablesTraceText } from '../render/iptables-trace.js';
import { canonicalIpv6, ipFamilyOf, isIpv4, isIpv6, type IpFamily } from '../wire/addr.js';
import type { ConntrackSysctls } from '../kernel/netfilter/index.js';
import type { L4Proto } from '../wire/packet.js';
import type { Io } from './io.js';
import { toYaml } from './output.js';
import { parseIpsetSave } from '../iptables/ipset.js';
import { readIpDump } from '../kernel/ip-read.js';
import type { PolicyRule, Route } from '../kernel/fib.js';
import type { IpSets } from '../kernel/netfilter/ipset.js';
import type { NftRuleset } from '../kernel/netfilter/nft-types.js';

export interface TraceOptions {
  /** iptables-save dump; optional for `nft trace` (a host with nftables only). */
  rules?: string;
  /** `nft trace`: the host's `nft list ruleset`. */
  ruleset?: string;
  src: string;
  dst: string;
  dport?: string;
  sport?: string;
  proto: string;
  localIp: string[];
  inIface?: string;
  outIface?: string;
  allPaths?: boolean;
  seed: string;
  output: string;
  tcpFlags: string;
  sysctl: string[];
  reply?: boolean;
  ipsets?: string;
  routes?: string;
}

const SYSCTLS: Readonly<Record<string, 'tcpLoose' | 'tcpBeLiberal'>> = {
  'net.netfilter.nf_conntrack_tcp_loose': 'tcpLoose',
  nf_conntrack_tcp_loose: 'tcpLoose',
  'net.netfilter.nf_conntrack_tcp_be_liberal': 'tcpBeLiberal',
  nf_conntrack_tcp_be_liberal: 'tcpBeLiberal',
};

/** Every key `--sysctl` accepts, for the help and the error message. */
export const SYSCTL_KEYS: readonly string[] = [
  'net.ipv4.ip_forward (ip_forward)',
  ...ROUTING_CONF_KEYS.map((k) => `net.ipv4.conf.{all,default,DEV}.${k} (${k} = all)`),
  'net.netfilter.nf_conntrack_tcp_loose (nf_conntrack_tcp_loose)',
  'net.netfilter.nf_conntrack_tcp_be_liberal (nf_conntrack_tcp_be_liberal)',
];

/**
 * `--sysctl KEY=VALUE`: the conntrack sysctls that change verdicts, and the
 * routing sysctls the input-route decision reads (0|1; rp_filter 0|1|2).
 */
export function parseSysctls(items: readonly string[]): {
  conntrack: Partial<ConntrackSysctls>;
  routing: RoutingSysctl[];
} {
  const out: { tcpLoose?: boolean; tcpBeLiberal?: boolean } = {};
  const routing: RoutingSysctl[] = [];
  for (const item of items) {
    const m = /^([\w./-]+)=(\d+)$/.exec(item.trim());
    const ct = m ? SYSCTLS[m[1]!] : undefined;
    const rkey = m && !ct ? routingSysctlKey(m[1]!) : undefined;
    const max = rkey?.endsWith('.rp_filter') ? 2 : 1;
    if (!m || (!ct && !rkey) || Number(m[2]) > max) {
      throw bad(
        'iptables-trace-bad-sysctl',
        '--sysctl',
        `--sysctl ${JSON.stringify(item)}: expected KEY=0|1 (rp_filter 0|1|2) with KEY one of: ${SYSCTL_KEYS.join(', ')}`,
      );
    }
    if (ct) out[ct] = m[2] === '1';
    else routing.push({ key: rkey!, value: Number(m[2]) });
  }
  return { conntrack: out, routing };
}

function bad(code: string, field: string, message: string, hint?: string): InputError {
  return InputError.of(code, message, { field }, hint);
}

function parsePort(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 0 || Number(text) > 65535) {
    throw bad(
      'iptables-trace-bad-port',
      field,
      `${field} ${JSON.stringify(text)} is not a port (0-65535)`,
      `give ${field} a number, e.g. ${field} 80`,
    );
  }
  return Number(text);
}

/** `IP`, `IP/PREFIX`, `IP@IFACE` or `IP/PREFIX@IFACE`; IP of either family (IPv6 canonicalised). */
export function parseLocalIp(text: string): LocalIp {
  const m = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?(?:@([^\s@/]+))?$/.exec(text.trim());
  const v6 = m !== null && m[1]!.includes(':');
  if (
    !m ||
    !(v6 ? isIpv6(m[1]!) : isIpv4(m[1]!)) ||
    (m[2] !== undefined && Number(m[2]) > (v6 ? 128 : 32))
  ) {
    throw bad(
      'iptables-trace-bad-local-ip',
      '--local-ip',
      `--local-ip ${JSON.stringify(text)} is not IP[/PREFIX][@IFACE]`,
      'e.g. --local-ip 192.168.0.2, --local-ip 10.0.0.11/24@eth0 or --local-ip 2001:db8::1/64@eth0',
    );
  }
  return {
    ip: v6 ? canonicalIpv6(m[1]!) : m[1]!,
    ...(m[2] !== undefined ? { prefix: Number(m[2]) } : {}),
    ...(m[3] !== undefined ? { iface: m[3] } : {}),
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const EXAMPLES = `
Examples:
  # A pod's SYN to store/store-be's ClusterIP through a real kube-proxy node's dump, every branch
  packeteye iptables trace --rules examples/iptables/kube-proxy-node.rules --src 10.244.1.9 --dst 10.96.12.34 --dport 80 --local-ip 192.168.1.10 --all-paths

  # The same packet and its reply as YAML, the dump on stdin
  packeteye iptables trace --rules - --src 10.244.1.9 --dst 10.96.12.34 --dport 80 --local-ip 192.168.1.10 --reply -o yaml < examples/iptables/kube-proxy-node.rules
`;

export function register(program: Command, io: Io): void {
  const ipt = program
    .command('iptables')
    .description("Work with a node's own iptables-save dump")
    .addHelpText('after', EXAMPLES);
  const trace = ipt
    .command('trace')
    .description(
      'Trace one packet through an iptables-save dump: every hook, table, chain and rule it hits, ' +
        'the verdict and who gave it, DNAT/SNAT/MASQUERADE rewrites',
    )
    .requiredOption('--rules <DUMP>', 'iptables-save output of the host ("-" for stdin)');
  addTraceOptions(trace)
    .addHelpText('after', EXAMPLES)
    .action((opts: TraceOptions) => runTrace(io, opts));
}

/** The packet, host and output options `iptables trace` and `nft trace` share. */
export function addTraceOptions(cmd: Command): Command {
  return cmd
    .option('--ipsets <FILE>', 'ipset save output of the host, for rules with -m set')
    .option(
      '--routes <FILE>',
      'routes of the host, for rules with -m rpfilter (Calico, anti-spoofing): ip route show table all, ' +
        'optionally with ip rule show, as text or ip -j JSON (detected)',
    )
    .requiredOption('--src <IP>', 'source address')
    .requiredOption('--dst <IP>', 'destination address')
    .option('--dport <N>', 'destination port (required except for --proto icmp)')
    .option(
      '--sport <N>',
      `source port (default ${DEFAULT_SPORT}, a fixed ephemeral port); ICMP echo id`,
    )
    .option('--proto <P>', 'tcp|udp|sctp|icmp (tcp: a SYN; icmp: an echo request)', 'tcp')
    .option(
      '--local-ip <IP[/PREFIX][@IFACE]>',
      "the host's addresses (repeatable; 127.0.0.0/8 is always local). A packet from one starts at OUTPUT",
      collect,
      [],
    )
    .option('--in-iface <IF>', 'the device the packet arrives on (what -i matches)')
    .option('--out-iface <IF>', 'the device it leaves through (what -o matches, MASQUERADE source)')
    .option(
      '--tcp-flags <FLAGS>',
      'TCP flags of the packet: letters of S A F R P U (default S, a SYN)',
      'S',
    )
    .option(
      '--sysctl <KEY=VALUE>',
      'sysctl, repeatable: ip_forward (default 1 here), rp_filter, route_localnet, accept_local, src_valid_mark, send_redirects, forwarding (short = conf.all, or net.ipv4.conf.DEV.NAME), nf_conntrack_tcp_loose, nf_conntrack_tcp_be_liberal',
      collect,
      [],
    )
    .option('--reply', "also trace the receiver's answer back through the host (conntrack un-NAT)")
    .option('--all-paths', 'enumerate every statistic branch with its probability')
    .option('--seed <N>', 'seed for the one branch taken without --all-paths', '1')
    .option('-o, --output <FORMAT>', 'text|json|yaml', 'text');
}

/** The packet and output options of `iptables trace`, checked; each bad one an error naming its flag. */
function readPacketOptions(opts: TraceOptions): {
  format: 'text' | 'json' | 'yaml';
  proto: L4Proto;
  family: IpFamily;
  dport: number | undefined;
  sport: number | undefined;
  localIps: LocalIp[];
  sysctls: Partial<ConntrackSysctls>;
  routing: RoutingSysctl[];
} {
  const format = opts.output;
  if (format !== 'text' && format !== 'json' && format !== 'yaml') {
    throw bad(
      'iptables-trace-bad-format',
      '--output',
      `-o ${JSON.stringify(format)}: expected text, json or yaml`,
      'e.g. -o json',
    );
  }
  const proto = opts.proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp', 'icmp'].includes(proto)) {
    throw bad(
      'iptables-trace-bad-proto',
      '--proto',
      `--proto ${JSON.stringify(opts.proto)}: expected tcp, udp, sctp or icmp`,
    );
  }
  const families: IpFamily[] = [];
  for (const [field, v] of [
    ['--src', opts.src],
    ['--dst', opts.dst],
  ] as const) {
    const f = ipFamilyOf(v);
    if (f === null)
      throw bad(
        'iptables-trace-bad-address',
        field,
        `${field} ${JSON.stringify(v)} is not an IPv4 or IPv6 address`,
      );
    families.push(f);
  }
  const family = families[0]!;
  if (families[1] !== family) {
    throw bad(
      'iptables-trace-mixed-families',
      '--dst',
      `--src ${opts.src} is ${family === 'ipv4' ? 'IPv4' : 'IPv6'} but --dst ${opts.dst} is not: a packet has one address family`,
    );
  }
  const dport = parsePort(opts.dport, '--dport');
  if (dport === undefined && proto !== 'icmp') {
    throw bad(
      'iptables-trace-missing-dport',
      '--dport',
      `--dport is required for --proto ${proto}`,
    );
  }
  const sport = parsePort(opts.sport, '--sport');
  if (!/^\d+$/.test(opts.seed))
    throw bad(
      'iptables-trace-bad-seed',
      '--seed',
      `--seed ${JSON.stringify(opts.seed)} is not a number`,
    );
  const localIps = opts.localIp.map(parseLocalIp);
  const { conntrack: sysctls, routing } = parseSysctls(opts.sysctl);
  if (!/^[SAFRPU]+$/i.test(opts.tcpFlags)) {
    throw bad(
      'iptables-trace-bad-flags',
      '--tcp-flags',
      `--tcp-flags ${JSON.stringify(opts.tcpFlags)}: expected letters of S A F R P U`,
    );
  }
  return { format, proto: proto as L4Proto, family, dport, sport, localIps, sysctls, routing };
}

/**
 * `iptables trace` and `nft trace`: read the options and the host's files,
 * trace, print. `nft` is the host's nftables ruleset, read by `nft trace`,
 * with or without an iptables-save dump beside it.
 */
export function runTrace(
  io: Io,
  opts: TraceOptions,
  nft?: { readonly ruleset: NftRuleset; readonly warnings: readonly Diagnostic[] },
): void {
  const {
    format,
    proto,
    family,
    dport,
    sport,
    localIps,
    sysctls,
    routing: routingSysctls,
  } = readPacketOptions(opts);
  const { parsed, detected } =
    opts.rules !== undefined
      ? readRules(io, opts.rules, family)
      : { parsed: { ruleset: { tables: new Map(), family }, diagnostics: [] }, detected: null };
  const rulesName = opts.rules ?? opts.ruleset ?? '-';
  const routing = opts.routes !== undefined ? readRouting(io, opts.routes) : undefined;
  const warnings = [
    ...(nft?.warnings ?? []),
    ...parsed.diagnostics.filter((d) => d.severity !== 'error'),
    ...deviceWarnings(parsed.ruleset, rulesName, opts.inIface, opts.outIface),
    ...(routing?.warnings ?? []),
  ];
  for (const w of warnings) io.err(`${formatDiagnostic(w)}\n`);
  const ipsets = readIpsets(
    io,
    opts.ipsets,
    parsed.ruleset,
    rulesName,
    detected !== null || family === 'ipv6',
  );

  const result = traceOrExplain({
    ruleset: compileRuleset(parsed.ruleset, nft?.ruleset),
    src: opts.src,
    dst: opts.dst,
    proto: proto as L4Proto,
    dport: dport ?? 0,
    ...(sport !== undefined ? { sport } : {}),
    localIps,
    ...(opts.inIface !== undefined ? { inIface: opts.inIface } : {}),
    ...(opts.outIface !== undefined ? { outIface: opts.outIface } : {}),
    allPaths: opts.allPaths === true,
    seed: Number(opts.seed),
    tcpFlags: opts.tcpFlags.toUpperCase(),
    sysctls,
    routing: routingSysctls,
    reply: opts.reply === true,
    ipsets,
    ...(routing ? { routes: routing.routes } : {}),
    ...(routing?.rules ? { ipRules: routing.rules } : {}),
  });
  const rules = opts.rules ?? null;
  if (format === 'json')
    io.out(`${JSON.stringify(iptablesTraceDocument(result, rules, warnings, opts), null, 2)}\n`);
  else if (format === 'yaml') io.out(toYaml(iptablesTraceDocument(result, rules, warnings, opts)));
  else io.out(renderIptablesTraceText(result, rulesName, opts));
}

/**
 * The host's IP sets from `--ipsets`, checked against the rules: like
 * iptables-restore, a rule naming a set that does not exist is an error.
 */
function readIpsets(
  io: Io,
  file: string | undefined,
  ruleset: Ruleset,
  rulesFile: string,
  ipv6: boolean,
): IpSets {
  let sets: IpSets = new Map();
  if (file !== undefined) {
    const parsed = parseIpsetSave(io.readFile(file), file);
    if (hasErrors(parsed.diagnostics))
      throw new InputError(parsed.diagnostics.filter((d) => d.severity === 'error'));
    sets = parsed.sets;
  }
  const missing: Diagnostic[] = [];
  for (const table of ruleset.tables.values()) {
    for (const chain of table.chains.values()) {
      for (const rule of chain.rules) {
        for (const m of rule.matches) {
          if (m.kind !== 'set' || (sets.has(m.name) && !ipv6)) continue;
          missing.push({
            code: 'iptables-unknown-set',
            severity: 'error',
            message: ipv6
              ? `-m set --match-set ${m.name}: IPv6 IP sets are not modelled`
              : `-m set --match-set ${m.name}: no such set${file === undefined ? ' (no --ipsets given)' : ` in ${file}`}`,
            file: rule.source.file ?? rulesFile,
            line: rule.source.line,
            hint: "pass the host's sets: ipset save > sets.txt, then --ipsets sets.txt",
          });
        }
      }
    }
  }
  if (missing.length > 0) throw new InputError(missing);
  return sets;
}

/**
 * The host's routing from `--routes`: `ip route show table all` and
 * optionally `ip rule show`, as text or `ip -j` JSON (detected). Errors name
 * FILE:LINE; a file with no IPv4 route is refused, not read as an empty FIB.
 */
function readRouting(
  io: Io,
  file: string,
): { routes: Route[]; rules?: PolicyRule[]; warnings: Diagnostic[] } {
  const parsed = readIpDump(io.readFile(file), file);
  if (hasErrors(parsed.diagnostics))
    throw new InputError(parsed.diagnostics.filter((d) => d.severity === 'error'));
  return {
    routes: parsed.routes,
    ...(parsed.rules ? { rules: [...parsed.rules].sort((a, b) => a.priority - b.priority) } : {}),
    warnings: parsed.diagnostics,
  };
}

/**
 * The `--rules` dump, parsed in its family: refused when it holds no table
 * (empty, or not iptables-save output), when it mixes IPv4 and IPv6
 * addresses (iptables-save prints one family), or when its family is not
 * the packet's.
 */
function readRules(
  io: Io,
  file: string,
  family: IpFamily,
): { parsed: ReturnType<typeof parseIptablesSave>; detected: { line: number } | null } {
  const text = io.readFile(file);
  const detected = detectIptablesFamily(text);
  const v4 = detected ? firstIpv4Line(text) : null;
  if (detected && v4 !== null) {
    const [blame, other] = family === 'ipv4' ? [detected.line, v4] : [v4, detected.line];
    throw InputError.of(
      'iptables-mixed-families',
      `an ${family === 'ipv4' ? 'IPv6' : 'IPv4'} address in a dump whose line ${other} has ${family === 'ipv4' ? 'IPv4' : 'IPv6'} ones: iptables-save and ip6tables-save each print one family`,
      { file, line: blame },
      'give the iptables-save (IPv4) or the ip6tables-save (IPv6) dump alone',
    );
  }
  if (detected && family === 'ipv4') {
    throw InputError.of(
      'iptables-trace-family-mismatch',
      'this is an ip6tables (IPv6) dump, but --src/--dst are IPv4 addresses',
      { file, line: detected.line },
      'trace an IPv4 packet through the iptables-save dump, or give IPv6 --src/--dst',
    );
  }
  // A dump with nothing IPv6-only in it is read in the packet's family
  // (an IPv4 address in it is then an error naming its line).
  const parsed = parseIptablesSave(text, file, { family: detected ? 'ipv6' : family });
  if (hasErrors(parsed.diagnostics))
    throw new InputError(parsed.diagnostics.filter((d) => d.severity === 'error'));
  if (parsed.ruleset.tables.size === 0) {
    throw InputError.of(
      'iptables-empty-dump',
      text.trim() === ''
        ? 'the file is empty: expected iptables-save output (*filter … COMMIT)'
        : 'no table in the file: expected iptables-save output (*filter … COMMIT)',
      { file },
      "save the host's rules with iptables-save > rules.txt (ip6tables-save for IPv6)",
    );
  }
  return { parsed, detected };
}

/** traceIptables, with the one way it can refuse (too many branches) as a diagnostic. */
function traceOrExplain(input: Parameters<typeof traceIptables>[0]): IptablesTraceResult {
  try {
    return traceIptables(input);
  } catch (e) {
    if (e instanceof RangeError && /branches/.test(e.message)) {
      throw bad(
        'iptables-trace-too-many-branches',
        '--all-paths',
        `--all-paths: the packet meets too many statistic rules (${e.message})`,
        'drop --all-paths and pick one branch with --seed N',
      );
    }
    throw e;
  }
}

/**
 * Rules that test `-i`/`-o` see an empty device name when the packet's
 * device is not given; say so once per option, naming the first such rule.
 */
export function deviceWarnings(
  rs: Ruleset,
  file: string,
  inIface?: string,
  outIface?: string,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const need = [
    ['in-interface', '--in-iface', '-i', inIface],
    ['out-interface', '--out-iface', '-o', outIface],
  ] as const;
  for (const [kind, option, flag, given] of need) {
    if (given !== undefined) continue;
    let first: Rule | undefined;
    for (const t of rs.tables.values()) {
      for (const ch of t.chains.values()) {
        first = ch.rules.find((r) => r.matches.some((m) => m.kind === kind));
        if (first) break;
      }
      if (first) break;
    }
    if (first) {
      out.push({
        code: 'iptables-trace-no-device',
        severity: 'warning',
        message: `rules match on ${flag} but ${option} was not given: they see no device (e.g. ${first.text})`,
        file: first.source.file ?? file,
        ...(first.source.line !== undefined ? { line: first.source.line } : {}),
        hint: `pass ${option} IF for the device the packet ${kind === 'in-interface' ? 'arrives on' : 'leaves through'}`,
      });
    }
  }
  return out;
}
