/** Match extensions: addrtype, rpfilter and physdev matches (libxt_addrtype.c, libxt_rpfilter.c, libxt_physdev.c). */

import type { AddrType, Match } from '../kernel/netfilter/types.js';
import { err, find, okv, options, type ExtensionSpec } from './spec.js';
import { parseIfaceName, type Parsed } from './values.js';
import { parseNameList } from './matches-conntrack.js';

type MatchSpec = ExtensionSpec<Match>;

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

export const addrtype: MatchSpec = {
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

// ---- rpfilter (libxt_rpfilter.c) ----

export const rpfilter: MatchSpec = {
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

// ---- physdev (libxt_physdev.c) ----

export const physdev: MatchSpec = {
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
