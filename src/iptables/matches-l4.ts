/** Match extensions: tcp, udp, sctp and multiport matches (libxt_tcp.c, libxt_udp.c, libxt_sctp.c, libxt_multiport.c). */

import type { Match, PortRange } from '../kernel/netfilter/types.js';
import { err, find, okv, options, type BuildContext, type ExtensionSpec } from './spec.js';
import { parsePort, parsePortRange, type Parsed } from './values.js';

type MatchSpec = ExtensionSpec<Match>;

/** The kernel refuses a protocol match unless `-p` names that protocol, not inverted (xt_check_match). */
export function needProtocol(
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

export function l4Spec(proto: 'tcp' | 'udp' | 'sctp'): MatchSpec {
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

export const multiport: MatchSpec = {
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
