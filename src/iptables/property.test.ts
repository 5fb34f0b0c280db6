import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_CHAINS,
  TABLE_NAMES,
  type AddrType,
  type Chain,
  type CtState,
  type CtStatus,
  type Match,
  type PortRange,
  type Rule,
  type Ruleset,
  type Table,
  type TableName,
  type Target,
} from '../kernel/netfilter/types.js';
import { formatRule, parseIptablesSave, serializeRuleset } from './index.js';
import { intToIp as formatIpv4 } from '../wire/addr.js';
import { formatProbability, hex } from './values.js';
import { validateTable, type ValidChain } from './validate.js';

// ---------------------------------------------------------------------------
// Arbitrary models, canonical the way the parser normalises them.

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ip = u32.map(formatIpv4);
const prefixMask = (p: number): number => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0);
const cidr = fc
  .tuple(u32, fc.integer({ min: 0, max: 32 }))
  .map(([a, p]) => `${formatIpv4((a & prefixMask(p)) >>> 0)}/${p}`);
const ifname = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,9}$/), fc.boolean())
  .map(([name, wildcard]) => ({ name, wildcard }));
const port = fc.integer({ min: 0, max: 65535 });
const portRange: fc.Arbitrary<PortRange> = fc
  .tuple(port, port)
  .map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) }));

/** A sub-list of `all` in its canonical order, optionally non-empty. */
function subset<T>(all: readonly T[], minLength = 1): fc.Arbitrary<T[]> {
  return fc.subarray([...all], { minLength });
}

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];
const CT_STATES: CtState[] = [
  'INVALID',
  'NEW',
  'RELATED',
  'ESTABLISHED',
  'UNTRACKED',
  'SNAT',
  'DNAT',
];
const CT_STATUSES: CtStatus[] = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];
const ADDR_TYPES: AddrType[] = [
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
/** Printable ASCII, quotes and backslashes included (xtables_save_string escapes them). */
const text = (max: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: max,
  });

const l4Ports = (r: PortRange, invert: boolean): (PortRange & { invert: boolean }) | undefined =>
  r.from === 0 && r.to === 65535 && !invert ? undefined : { ...r, invert };

function l4(protocol: 'tcp' | 'udp' | 'sctp'): fc.Arbitrary<Match> {
  return fc
    .record({
      sport: fc.option(fc.tuple(portRange, fc.boolean())),
      dport: fc.option(fc.tuple(portRange, fc.boolean())),
      flags:
        protocol === 'tcp'
          ? fc.option(fc.tuple(subset(TCP_FLAGS, 0), subset(TCP_FLAGS, 0), fc.boolean()))
          : fc.constant(null),
    })
    .map(({ sport, dport, flags }) => {
      const sp = sport ? l4Ports(...sport) : undefined;
      const dp = dport ? l4Ports(...dport) : undefined;
      const tf =
        flags && (flags[0].length > 0 || flags[2])
          ? { mask: flags[0], comp: flags[1], invert: flags[2] }
          : undefined;
      return {
        kind: 'l4',
        protocol,
        ...(sp ? { sport: sp } : {}),
        ...(dp ? { dport: dp } : {}),
        ...(tf ? { tcpFlags: tf } : {}),
      } as Match;
    });
}

const multiport: fc.Arbitrary<Match> = fc
  .record({
    which: fc.constantFrom('sports' as const, 'dports' as const, 'ports' as const),
    entries: fc.array(
      fc.oneof(
        port.map((p) => ({ from: p, to: p })),
        portRange.filter((r) => r.from < r.to),
      ),
      { minLength: 1, maxLength: 7 },
    ),
    invert: fc.boolean(),
  })
  .map(({ which, entries, invert }) => ({ kind: 'multiport', which, ports: entries, invert }));

const icmp: fc.Arbitrary<Match> = fc
  .record({
    type: fc.integer({ min: 0, max: 255 }),
    code: fc.option(fc.integer({ min: 0, max: 255 })),
    invert: fc.boolean(),
  })
  .map(({ type, code, invert }) => ({
    kind: 'icmp',
    type,
    ...(code !== null && type !== 255 ? { code } : {}),
    invert,
  }));

const conntrack: fc.Arbitrary<Match> = fc
  .record({
    ctstate: fc.option(fc.record({ states: subset(CT_STATES), invert: fc.boolean() })),
    ctstatus: fc.option(fc.record({ statuses: subset(CT_STATUSES, 0), invert: fc.boolean() })),
    ctorigdst: fc.option(fc.record({ cidr, invert: fc.boolean() })),
    ctorigdstport: fc.option(
      fc.tuple(portRange, fc.boolean()).map(([r, invert]) => ({ ...r, invert })),
    ),
    ctdir: fc.option(fc.constantFrom('ORIGINAL' as const, 'REPLY' as const)),
  })
  .filter((r) => Object.values(r).some((v) => v !== null))
  .map((r) => {
    const m: Record<string, unknown> = { kind: 'conntrack' };
    for (const [k, v] of Object.entries(r)) if (v !== null) m[k] = v;
    return m as Match;
  });

const addrtype: fc.Arbitrary<Match> = fc
  .record({
    src: fc.option(fc.record({ types: subset(ADDR_TYPES), invert: fc.boolean() })),
    dst: fc.option(fc.record({ types: subset(ADDR_TYPES), invert: fc.boolean() })),
    limit: fc.constantFrom('none', 'in', 'out'),
  })
  .filter((r) => r.src !== null || r.dst !== null)
  .map(({ src, dst, limit }) => ({
    kind: 'addrtype',
    ...(src ? { srcType: src } : {}),
    ...(dst ? { dstType: dst } : {}),
    limitIfaceIn: limit === 'in',
    limitIfaceOut: limit === 'out',
  }));

const statistic: fc.Arbitrary<Match> = fc.oneof(
  fc
    .record({ k: fc.integer({ min: 0, max: 0x80000000 }), invert: fc.boolean() })
    .map(({ k, invert }) => ({
      kind: 'statistic',
      mode: 'random',
      probability: Number(formatProbability(k / 0x80000000)),
      invert,
    })),
  fc
    .record({ every: fc.integer({ min: 1, max: 1000 }), p: fc.nat(), invert: fc.boolean() })
    .map(({ every, p, invert }) => ({
      kind: 'statistic',
      mode: 'nth',
      every,
      packet: p % every,
      invert,
    })),
) as fc.Arbitrary<Match>;

const recent: fc.Arbitrary<Match> = fc
  .record({
    name: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    action: fc.constantFrom(
      'set' as const,
      'rcheck' as const,
      'update' as const,
      'remove' as const,
    ),
    seconds: fc.option(fc.integer({ min: 1, max: 100000 })),
    hitcount: fc.option(fc.integer({ min: 1, max: 255 })),
    reap: fc.boolean(),
    rttl: fc.boolean(),
    side: fc.constantFrom('source' as const, 'dest' as const),
    mask: ip,
    invert: fc.boolean(),
  })
  .map((r) => {
    const checks = r.action === 'rcheck' || r.action === 'update';
    const seconds = checks && r.seconds !== null ? r.seconds : undefined;
    const hitcount = checks && r.hitcount !== null ? r.hitcount : undefined;
    return {
      kind: 'recent',
      name: r.name,
      action: r.action,
      ...(seconds !== undefined ? { seconds } : {}),
      ...(hitcount !== undefined ? { hitcount } : {}),
      reap: seconds !== undefined && r.reap,
      rttl: r.rttl,
      side: r.side,
      mask: r.mask,
      invert: r.invert,
    };
  });

const physdev: fc.Arbitrary<Match> = fc
  .record({
    physdevIn: fc.option(fc.tuple(ifname, fc.boolean()).map(([i, invert]) => ({ ...i, invert }))),
    physdevOut: fc.option(fc.tuple(ifname, fc.boolean()).map(([i, invert]) => ({ ...i, invert }))),
    isIn: fc.option(fc.record({ invert: fc.boolean() })),
    isOut: fc.option(fc.record({ invert: fc.boolean() })),
    isBridged: fc.option(fc.record({ invert: fc.boolean() })),
  })
  .filter((r) => Object.values(r).some((v) => v !== null))
  .map((r) => {
    const m: Record<string, unknown> = { kind: 'physdev' };
    for (const [k, v] of Object.entries(r)) if (v !== null) m[k] = v;
    return m as Match;
  });

const anyProtoModule: fc.Arbitrary<Match> = fc.oneof(
  text(255).map((t) => ({ kind: 'comment', text: t }) as Match),
  conntrack,
  fc
    .record({ states: subset(CT_STATES), invert: fc.boolean() })
    .map((s) => ({ kind: 'state', ...s }) as Match),
  fc.record({
    kind: fc.constantFrom('mark' as const, 'connmark' as const),
    value: u32,
    mask: u32,
    invert: fc.boolean(),
  }) as fc.Arbitrary<Match>,
  addrtype,
  statistic,
  recent,
  physdev,
);

type Proto = { name: string; invert: boolean } | null;
const protocolArb: fc.Arbitrary<Proto> = fc.option(
  fc.record({
    name: fc.constantFrom('tcp', 'udp', 'sctp', 'icmp', 'gre', 'esp', '253'),
    invert: fc.boolean(),
  }),
);

function modulesFor(proto: Proto): fc.Arbitrary<Match[]> {
  const opts: fc.Arbitrary<Match>[] = [anyProtoModule];
  if (proto && !proto.invert) {
    if (proto.name === 'tcp' || proto.name === 'udp' || proto.name === 'sctp')
      opts.push(l4(proto.name), multiport);
    if (proto.name === 'icmp') opts.push(icmp);
  }
  return fc.array(fc.oneof(...opts), { maxLength: 4 });
}

function natRange(withPorts: boolean) {
  return fc
    .record({
      a: u32,
      span: fc.integer({ min: 0, max: 10 }),
      p: fc.option(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 100 }))),
    })
    .map(({ a, span, p }) => {
      const to = Math.min(a + span, 0xffffffff);
      const ports = withPorts && p ? { from: p[0], to: Math.min(p[0] + p[1], 65535) } : undefined;
      return {
        toAddr: { from: formatIpv4(a), to: formatIpv4(to) },
        ...(ports ? { toPorts: ports } : {}),
      };
    });
}

function targetFor(proto: Proto, chains: readonly string[]): fc.Arbitrary<Target | null> {
  const ports = proto !== null && !proto.invert && ['tcp', 'udp', 'sctp'].includes(proto.name);
  const nat = (r: fc.Arbitrary<PortRange | null>) =>
    r.map((p) => (ports && p ? { toPorts: p } : {}));
  const portsArb = fc.option(
    fc
      .tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 100 }))
      .map(([a, n]) => ({ from: a, to: Math.min(a + n, 65535) })),
  );
  const opts: fc.Arbitrary<Target | null>[] = [
    fc.constant(null),
    fc.constantFrom<Target>(
      { kind: 'ACCEPT' },
      { kind: 'DROP' },
      { kind: 'RETURN' },
      { kind: 'NOTRACK' },
    ),
    fc
      .constantFrom(
        'icmp-net-unreachable',
        'icmp-host-unreachable',
        'icmp-proto-unreachable',
        'icmp-port-unreachable',
        'icmp-net-prohibited',
        'icmp-host-prohibited',
        'icmp-admin-prohibited',
        ...(proto?.name === 'tcp' && !proto.invert ? ['tcp-reset'] : []),
      )
      .map((w) => ({ kind: 'REJECT', with: w }) as Target),
    fc.record({ value: u32, mask: u32 }).map((m) => ({ kind: 'MARK', ...m }) as Target),
    fc
      .record({ value: u32, mask: u32 })
      .map(
        ({ value, mask }) =>
          ({ kind: 'CONNMARK', args: ['--set-xmark', `${hex(value)}/${hex(mask)}`] }) as Target,
      ),
    fc
      .record({ mode: fc.constantFrom('--save-mark', '--restore-mark'), nf: u32, ct: u32 })
      .map(
        ({ mode, nf, ct }) =>
          ({ kind: 'CONNMARK', args: [mode, '--nfmask', hex(nf), '--ctmask', hex(ct)] }) as Target,
      ),
    fc
      .record({ r: natRange(ports), random: fc.boolean(), persistent: fc.boolean() })
      .map(({ r, random, persistent }) => ({ kind: 'DNAT', ...r, random, persistent }) as Target),
    fc
      .record({
        r: natRange(ports),
        random: fc.boolean(),
        randomFully: fc.boolean(),
        persistent: fc.boolean(),
      })
      .map(({ r, ...f }) => ({ kind: 'SNAT', ...r, ...f }) as Target),
    fc
      .record({ p: nat(portsArb), random: fc.boolean(), randomFully: fc.boolean() })
      .map(({ p, ...f }) => ({ kind: 'MASQUERADE', ...p, ...f }) as Target),
    fc
      .record({ p: nat(portsArb), random: fc.boolean() })
      .map(({ p, random }) => ({ kind: 'REDIRECT', ...p, random }) as Target),
    fc
      .record({
        prefix: fc.option(text(29).filter((s) => s.length > 0)),
        level: fc.option(fc.constantFrom('0', '1', '2', '3', '5', '6', '7')),
      })
      .map(
        ({ prefix, level }) =>
          ({
            kind: 'LOG',
            ...(prefix !== null ? { prefix } : {}),
            ...(level !== null ? { level } : {}),
          }) as Target,
      ),
  ];
  if (chains.length > 0) {
    opts.push(
      fc.record({
        kind: fc.constantFrom('jump' as const, 'goto' as const),
        chain: fc.constantFrom(...chains),
      }) as fc.Arbitrary<Target>,
    );
  }
  return fc.oneof(...opts);
}

function ruleArb(chains: readonly string[]): fc.Arbitrary<Rule> {
  return protocolArb.chain((proto) =>
    fc
      .record({
        src: fc.option(fc.record({ cidr, invert: fc.boolean() })),
        dst: fc.option(fc.record({ cidr, invert: fc.boolean() })),
        inIf: fc.option(fc.tuple(ifname, fc.boolean())),
        outIf: fc.option(fc.tuple(ifname, fc.boolean())),
        frag: fc.option(fc.boolean()),
        modules: modulesFor(proto),
        target: targetFor(proto, chains),
      })
      .map((r) => {
        const matches: Match[] = [];
        const addr = (
          kind: 'source' | 'destination',
          v: { cidr: string; invert: boolean } | null,
        ): void => {
          if (v && (v.invert || !v.cidr.endsWith('/0'))) matches.push({ kind, ...v });
        };
        addr('source', r.src);
        addr('destination', r.dst);
        if (r.inIf) matches.push({ kind: 'in-interface', ...r.inIf[0], invert: r.inIf[1] });
        if (r.outIf) matches.push({ kind: 'out-interface', ...r.outIf[0], invert: r.outIf[1] });
        if (proto) matches.push({ kind: 'protocol', protocol: proto.name, invert: proto.invert });
        if (r.frag !== null) matches.push({ kind: 'fragment', invert: r.frag });
        matches.push(...r.modules);
        const body = { matches, ...(r.target ? { target: r.target } : {}) };
        return { ...body, text: formatRule(body), source: {} };
      }),
  );
}

const chainName = fc.stringMatching(/^[A-Z][A-Z0-9_-]{0,27}$/);

const tableArb = (name: TableName): fc.Arbitrary<Table> =>
  fc
    .uniqueArray(
      chainName.filter((c) => !(BUILTIN_CHAINS[name] as readonly string[]).includes(c)),
      { maxLength: 4 },
    )
    .chain((users) => {
      const all = [...BUILTIN_CHAINS[name], ...users];
      return fc
        .tuple(
          fc.array(fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP'), {
            minLength: BUILTIN_CHAINS[name].length,
            maxLength: BUILTIN_CHAINS[name].length,
          }),
          fc.array(fc.array(ruleArb(users), { maxLength: 5 }), {
            minLength: all.length,
            maxLength: all.length,
          }),
        )
        .map(([policies, rules]) => {
          const chains = new Map<string, Chain>();
          all.forEach((c, k) => {
            const builtin = k < BUILTIN_CHAINS[name].length;
            chains.set(c, {
              name: c,
              ...(builtin ? { policy: policies[k]! } : {}),
              rules: rules[k]!,
              source: {},
            });
          });
          return { name, chains };
        });
    });

/**
 * The rules of a table the kernel accepts: the generator puts any target in
 * any table and jumps anywhere, so what validate.ts refuses (loops, DNAT in
 * filter, …) is left out, as iptables-restore would refuse it.
 */
function kernelAccepted(t: Table): Table {
  const chains = new Map<string, ValidChain>(
    [...t.chains.values()].map((c) => [
      c.name,
      { name: c.name, builtin: c.policy !== undefined, rules: [...c.rules] },
    ]),
  );
  validateTable(t.name, chains, 'unknown', () => {});
  return {
    name: t.name,
    chains: new Map(
      [...t.chains.values()].map((c) => [c.name, { ...c, rules: chains.get(c.name)!.rules }]),
    ),
  };
}

const rulesetArb: fc.Arbitrary<Ruleset> = fc
  .shuffledSubarray([...TABLE_NAMES], { minLength: 1 })
  .chain((names) => fc.tuple(...names.map(tableArb)))
  .map((tables) => ({ tables: new Map(tables.map((t) => [t.name, kernelAccepted(t)])) }));

/** What survives a trip through text: everything but `source`, chains keyed by name. */
function comparable(rs: Ruleset): unknown {
  return [...rs.tables.values()].map((t) => ({
    name: t.name,
    chains: Object.fromEntries(
      [...t.chains.values()].map((c) => [
        c.name,
        {
          policy: c.policy,
          rules: c.rules.map((r) => ({ matches: r.matches, target: r.target, text: r.text })),
        },
      ]),
    ),
  }));
}

describe('property: serialize then parse gives the ruleset back', () => {
  it('for random rulesets over every modelled match and target', () => {
    fc.assert(
      fc.property(rulesetArb, (rs) => {
        const text = serializeRuleset(rs);
        const back = parseIptablesSave(text, 'gen');
        expect(back.diagnostics).toEqual([]);
        expect(comparable(back.ruleset)).toEqual(comparable(rs));
        // And the text is a fixed point.
        expect(serializeRuleset(back.ruleset)).toBe(text);
      }),
      { numRuns: 200, seed: 20261123 },
    );
  });
});

// ---------------------------------------------------------------------------
// Mutated and random dumps: only diagnostics, never a throw.

const seeds = [
  readFileSync(new URL('../../test/fixtures/iptables/battery.rules', import.meta.url), 'utf8'),
  readFileSync(new URL('../../test/fixtures/iptables/battery.saved', import.meta.url), 'utf8'),
  (
    JSON.parse(
      readFileSync(
        new URL('../../test/fixtures/kube-proxy/v13x_TestTracePacket.json', import.meta.url),
        'utf8',
      ),
    ) as { iptablesSave: string }
  ).iptablesSave,
];

const GARBAGE = [
  '"',
  '!',
  '-',
  '--',
  '-A',
  '-j',
  '-m',
  '*filter',
  '*nat',
  'COMMIT',
  ':X - [0:0]',
  '[1:2]',
  '\\',
  '\t',
  '',
  '0/0',
  '-p tcp',
  '--dport',
  '-m tcp',
  ' ! ',
  '"unterminated',
  ':',
  '*',
  '#',
  '\u00e9\u4e2d',
  '\0',
];

type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'dup'; at: number }
  | { op: 'swapTokens'; at: number; i: number; j: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'truncate'; at: number; len: number }
  | { op: 'splice'; at: number; pos: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swapTokens' as const), at: fc.nat(), i: fc.nat(), j: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...GARBAGE), fc.string(), fc.string({ unit: 'binary' })),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), len: fc.nat() }),
  fc.record({
    op: fc.constant('splice' as const),
    at: fc.nat(),
    pos: fc.nat(),
    text: fc.oneof(fc.constantFrom(...GARBAGE), fc.string()),
  }),
);

function mutate(text: string, ms: readonly Mutation[]): string {
  const lines = text.split('\n');
  for (const m of ms) {
    const at = lines.length === 0 ? 0 : m.at % lines.length;
    const line = lines[at] ?? '';
    switch (m.op) {
      case 'drop':
        lines.splice(at, 1);
        break;
      case 'dup':
        lines.splice(at, 0, line);
        break;
      case 'swapTokens': {
        const toks = line.split(' ');
        if (toks.length > 1) {
          const i = m.i % toks.length;
          const j = m.j % toks.length;
          [toks[i], toks[j]] = [toks[j]!, toks[i]!];
          lines[at] = toks.join(' ');
        }
        break;
      }
      case 'insert':
        lines.splice(at, 0, m.text);
        break;
      case 'truncate':
        lines[at] = line.slice(0, m.len % (line.length + 1));
        break;
      case 'splice': {
        const pos = m.pos % (line.length + 1);
        lines[at] = line.slice(0, pos) + m.text + line.slice(pos);
        break;
      }
    }
  }
  return lines.join('\n');
}

function checkDiagnostics(text: string): void {
  const { ruleset, diagnostics } = parseIptablesSave(text, 'DUMP');
  const lineCount = text.split('\n').length;
  for (const d of diagnostics) {
    expect(d.file).toBe('DUMP');
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.line).toBeLessThanOrEqual(lineCount);
    expect(d.code).toMatch(/^iptables-[a-z-]+$/);
    expect(d.message.length).toBeGreaterThan(0);
  }
  // Whatever was accepted serialises and reads back without errors of its own making.
  const again = parseIptablesSave(serializeRuleset(ruleset), 'again');
  expect(again.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
}

describe('property: malformed dumps give diagnostics, never a throw', () => {
  it('mutated real dumps (lines dropped or duplicated, tokens swapped, garbage inserted)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(mutation, { minLength: 1, maxLength: 8 }),
        (seed, ms) => {
          checkDiagnostics(mutate(seed, ms));
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => checkDiagnostics(s)),
      { numRuns: 300, seed: 7 },
    );
  });

  it('random lines built from iptables words', () => {
    const word = fc.oneof(
      fc.constantFrom(
        ...GARBAGE,
        '-s',
        '10.0.0.1',
        '--comment',
        'x y',
        '-g',
        'ACCEPT',
        'KUBE-X',
        '--to-destination',
        '1.2.3.4:80',
        '-p',
        'udp',
        '--set-xmark',
        '0x1/0x1',
      ),
      fc.string({ maxLength: 6 }),
    );
    const line = fc.array(word, { maxLength: 10 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (ls) =>
        checkDiagnostics(['*filter', ':X - [0:0]', ...ls, 'COMMIT'].join('\n')),
      ),
      { numRuns: 300, seed: 99 },
    );
  });
});
