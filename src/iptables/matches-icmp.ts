/** Match extensions: icmp and icmp6 matches (libipt_icmp.c, libip6t_icmp6.c). */

import type { Match } from '../kernel/netfilter/types.js';
import { err, find, okv, options, type ExtensionSpec } from './spec.js';
import { parseDecimal } from './values.js';
import { needProtocol } from './matches-l4.js';

type MatchSpec = ExtensionSpec<Match>;

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

export const icmp: MatchSpec = {
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

export const icmp6: MatchSpec = {
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
