/** Match extensions: statistic, recent and limit matches (libxt_statistic.c, libxt_recent.c, libxt_limit.c). */

import type { Match } from '../kernel/netfilter/types.js';
import { intToIp } from '../wire/addr.js';
import { err, find, okv, options, type ExtensionSpec } from './spec.js';
import {
  formatProbability,
  parseIpv6Text,
  parseDecimal,
  parseIpv4,
  type Parsed,
} from './values.js';

type MatchSpec = ExtensionSpec<Match>;

// ---- statistic (libxt_statistic.c) ----

export const statistic: MatchSpec = {
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

export const recent: MatchSpec = {
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
      mask = intToIp(r.value);
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

export const limit: MatchSpec = {
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
