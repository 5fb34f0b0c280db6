/**
 * A run of chains several tables hold alike (`SaveTableLines.block`, block.ts):
 * read once, then placed in each later table without a chain, a declaration or
 * a check of its own. Table after table, with the tables' own chains and rules
 * changing around the run, each reading equals reading the text — every chain
 * in order, each rule at its line, the same diagnostics — and where the run's
 * facts cannot decide the checks (a loop through it, a jump to a missing
 * chain, a place its rules may not stand in, nf_tables' depth limit, lines
 * that change it), the table is read chain by chain with the same result.
 */
import { describe, expect, it } from 'vitest';
import { placed } from './testing/placed.js';
import { parseIptablesSave } from './parse.js';
import {
  parseIptablesTables,
  saveTablesText,
  type SaveChainLines,
  type SaveTableLines,
  type SharedBlock,
} from './parse-tables.js';
import { BlockChains } from './block.js';

const chain = (name: string, rules: readonly string[], memo = false): SaveChainLines => ({
  name,
  policy: '-',
  rules,
  lines: rules.map((text) => ({ text })),
  ...(memo ? { memo: {} } : {}),
});

/** The run: two Services' chains (names sorted), made once and held by every table. */
function run(): SharedBlock {
  return {
    chains: [
      chain(
        'SEP-A',
        [
          '-A SEP-A -s 10.0.0.2/32 -j MARK-MASQ',
          '-A SEP-A -p tcp -j DNAT --to-destination 10.0.0.2:80',
        ],
        true,
      ),
      chain('SEP-B', ['-A SEP-B -p tcp -j DNAT --to-destination 10.0.0.3:80'], true),
      chain('SEP-C', [], true),
      chain(
        'SVC-A',
        ['-A SVC-A -m statistic --mode random --probability 0.5 -j SEP-A', '-A SVC-A -j SEP-B'],
        true,
      ),
      chain('SVC-B', ['-A SVC-B -j SEP-B'], true),
    ],
    memo: {},
  };
}

interface Own {
  /** PREROUTING's rules. */
  readonly pre?: readonly string[];
  readonly input?: readonly string[];
  /** Own chains, placed among the run's by name. */
  readonly extra?: readonly SaveChainLines[];
  readonly masq?: readonly string[];
  readonly other?: readonly string[];
}

/** A nat table: the run, MARK-MASQ and the built-in chains of the table's own, sorted by name. */
function natTable(block: SharedBlock, own: Own): SaveTableLines {
  const chains: SaveChainLines[] = [
    ...(block.chains as readonly SaveChainLines[]),
    chain('MARK-MASQ', own.masq ?? ['-A MARK-MASQ -j MARK --set-xmark 0x4000/0x4000']),
    ...(own.extra ?? []),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    name: 'nat',
    chains: [
      ...chains,
      { name: 'PREROUTING', policy: 'ACCEPT', rules: own.pre ?? ['-A PREROUTING -j SVC-A'] },
      ...(own.input ? [{ name: 'INPUT', policy: 'ACCEPT', rules: own.input }] : []),
    ],
    other: own.other ?? [],
    block,
  };
}

const filter: SaveTableLines = {
  name: 'filter',
  chains: [{ name: 'FORWARD', policy: 'DROP', rules: ['-A FORWARD -j ACCEPT'] }],
  other: [],
};

/** Own chains in rounds (nodes): what changes from one to the next. */
const ROUNDS: readonly Own[] = [
  {},
  { pre: ['-A PREROUTING -p udp -j RETURN', '-A PREROUTING -j SVC-A', '-A PREROUTING -j SVC-B'] },
  {
    extra: [
      chain('A', ['-A A -j RETURN']),
      chain('SEP-AB', ['-A SEP-AB -j MARK-MASQ', '-A SEP-AB -j RETURN']),
      chain('Z', []),
    ],
    pre: ['-A PREROUTING -j A', '-A PREROUTING -j SEP-AB', '-A PREROUTING -j SVC-B'],
  },
  {
    extra: [chain('SVC-AA', ['-A SVC-AA -j SEP-C', '-A SVC-AA -j SVC-A'])],
    pre: ['-A PREROUTING -j SVC-AA'],
  },
];

/** Reads each table set in turn through the same run: as the text reads; the kinds of reading. */
function readInTurn(block: SharedBlock, owns: readonly Own[]): boolean[] {
  const kinds: boolean[] = [];
  owns.forEach((own, i) => {
    const tables = [filter, natTable(block, own)];
    const file = `iptables-save@n${i}`;
    const viaTables = parseIptablesTables(tables, file, { family: 'ipv4' });
    const viaText = parseIptablesSave(saveTablesText(tables), file, { family: 'ipv4' });
    expect(viaTables.diagnostics).toEqual(viaText.diagnostics);
    expect(placed(viaTables.ruleset)).toEqual(placed(viaText.ruleset));
    const a = viaTables.ruleset.tables.get('nat')!.chains;
    const b = viaText.ruleset.tables.get('nat')!.chains;
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect(a.size).toBe(b.size);
    for (const name of [...b.keys(), 'NOWHERE']) {
      expect(a.has(name)).toBe(b.has(name));
      expect(a.get(name)?.source).toEqual(b.get(name)?.source);
    }
    const seen: string[] = [];
    a.forEach((c, k) => seen.push(`${k}=${c.name}`));
    expect(seen).toEqual([...b.keys()].map((k) => `${k}=${k}`));
    kinds.push(a instanceof BlockChains);
  });
  return kinds;
}

describe('parseIptablesTables: a run of chains read once and placed', () => {
  it('places the run in every table, its own chains and rules changing around it', () => {
    const block = run();
    expect(readInTurn(block, [...ROUNDS, ...ROUNDS])).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it('shares the run’s rules and gives each its line in each table', () => {
    const block = run();
    const read = (own: Own) =>
      parseIptablesTables([natTable(block, own)], 'f').ruleset.tables.get('nat')!.chains;
    const first = read({});
    const second = read(ROUNDS[2]!);
    expect(second.get('SVC-A')!.rules).toBe(first.get('SVC-A')!.rules);
    // Three more declarations (A, SEP-AB, Z) and A's rule before SEP-A's rules; SEP-AB's two
    // rules too before SVC-A's.
    expect(second.get('SEP-A')!.firstLine).toBe(first.get('SEP-A')!.firstLine! + 4);
    expect(second.get('SVC-A')!.firstLine).toBe(first.get('SVC-A')!.firstLine! + 6);
    expect(second.get('SEP-C')!.firstLine).toBeUndefined();
  });

  it.each([
    ['a rule appended to a run chain after', { other: ['-A SEP-B -j RETURN'] }],
    ['a run chain flushed', { other: ['-F SEP-B'] }],
    ['an own chain jumping to a missing chain', { pre: ['-A PREROUTING -j NOWHERE'] }],
    [
      'an own chain jumping to a built-in chain',
      { pre: ['-A PREROUTING -j SVC-A'], masq: ['-A MARK-MASQ -j INPUT'] },
    ],
    ['a loop through the run (its target jumps back)', { masq: ['-A MARK-MASQ -j SVC-B'] }],
    [
      'a target of the run that jumps on (no loop)',
      { masq: ['-A MARK-MASQ -j Z'], extra: [chain('Z', [])] },
    ],
    ['the run entered from a hook its DNAT may not stand in', { input: ['-A INPUT -j SVC-B'] }],
    ['an own chain of a run chain’s name', { extra: [chain('SVC-B', ['-A SVC-B -j RETURN'])] }],
    [
      'the run entered 14 jumps down (nf_tables depth)',
      {
        pre: ['-A PREROUTING -j D00'],
        extra: Array.from({ length: 14 }, (_, i) =>
          chain(`D${String(i).padStart(2, '0')}`, [
            i === 13
              ? `-A D13 -j SVC-A`
              : `-A D${String(i).padStart(2, '0')} -j D${String(i + 1).padStart(2, '0')}`,
          ]),
        ),
      },
    ],
    [
      'the run entered 11 jumps down (within the limit)',
      {
        pre: ['-A PREROUTING -j D00'],
        extra: Array.from({ length: 11 }, (_, i) =>
          chain(`D${String(i).padStart(2, '0')}`, [
            i === 10
              ? `-A D10 -j SVC-A`
              : `-A D${String(i).padStart(2, '0')} -j D${String(i + 1).padStart(2, '0')}`,
          ]),
        ),
      },
    ],
    ['a bad rule in an own chain', { pre: ['-A PREROUTING -m nosuchmatch -j SVC-A'] }],
  ] as [string, Own][])('%s: read chain by chain where it must be, as the text reads', (_, own) => {
    const block = run();
    readInTurn(block, [{}, own, ROUNDS[2]!, own, {}]);
  });

  it('places a run first read in a table refused at COMMIT (its lines read without errors)', () => {
    const block = run();
    const kinds = readInTurn(block, [{ masq: ['-A MARK-MASQ -j SVC-B'] }, {}, {}]);
    expect(kinds).toEqual([false, true, true]);
  });

  it.each([
    [
      'a line with a match no module has (an error)',
      '-A SVC-B -m nosuchmatch -j SEP-B',
      [false, false, false],
    ],
    [
      'a line with spaces after it (read in its table, then placed)',
      '-A SVC-B -j SEP-B  ',
      [false, true, true],
    ],
    ['a line of another chain (read line by line)', '-A SEP-C -j SEP-B', [false, false, false]],
    ['a line with two spaces between its words', '-A SVC-B  -p tcp  -j SEP-B', [true, true, true]],
  ] as [string, string, boolean[]][])(
    'a run whose lines read alone or not: %s',
    (_, line, want) => {
      const base = run();
      const block: SharedBlock = {
        chains: base.chains.map((c) => (c.name === 'SVC-B' ? chain('SVC-B', [line], true) : c)),
        memo: {},
      };
      expect(readInTurn(block, [{}, ROUNDS[2]!, {}])).toEqual(want);
    },
  );

  it('places a run with a loop of its own nowhere', () => {
    const looped: SharedBlock = {
      chains: [chain('L1', ['-A L1 -j L2'], true), chain('L2', ['-A L2 -j L1'], true)],
      memo: {},
    };
    const kinds = readInTurn(looped, [{ pre: [] }, { pre: [] }, { pre: ['-A PREROUTING -j L1'] }]);
    expect(kinds).toEqual([false, false, false]);
    expect(looped.memo.reading).toBeUndefined();
  });
});

describe('parseIptablesTables: a line without its parsed form, in several tables', () => {
  it('is read from its text once where it adds its rule without an error, as the text reads each time', () => {
    // The same line objects in each table (a writer's shared lines), around and in the run.
    const pre = chain('PREROUTING', [
      '-A PREROUTING -p tcp -m tcp --dport 80 -j SVC-A',
      '-A PREROUTING -m nosuchmatch -j RETURN',
      '-I PREROUTING 1 -p udp -j RETURN',
      '-A OTHER -j RETURN',
      '-A PREROUTING -d 2001:db8::1/128 -j RETURN',
    ]);
    const block = run();
    const table = (extra: readonly SaveChainLines[]): SaveTableLines => {
      const t = natTable(block, { extra: [...extra, chain('OTHER', [])] });
      return {
        ...t,
        chains: [...t.chains.filter((c) => c.name !== 'PREROUTING'), { ...pre, policy: 'ACCEPT' }],
      };
    };
    const rounds = [[], [chain('A', ['-A A -j RETURN'])], []].map(table);
    for (const family of ['ipv4', 'ipv6', 'ipv4'] as const)
      rounds.forEach((t, i) => {
        const file = `f${i}`;
        const viaTables = parseIptablesTables([filter, t], file, { family });
        const viaText = parseIptablesSave(saveTablesText([filter, t]), file, { family });
        expect(viaTables.diagnostics).toEqual(viaText.diagnostics);
        expect(placed(viaTables.ruleset)).toEqual(placed(viaText.ruleset));
      });
  });
});

/** A small seeded generator (tests only): the same tables on every run. */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe('parseIptablesTables: random runs and own chains around them', () => {
  it.each(Array.from({ length: 40 }, (_, i) => [i]))(
    'seed %i: each table as its text reads',
    (seed) => {
      const rnd = lcg(seed + 1);
      const targets = [
        'RETURN',
        'ACCEPT',
        'MARK --set-xmark 0x4000/0x4000',
        'DNAT --to-destination 10.0.0.9:80',
      ];
      const runNames = Array.from(
        { length: 3 + rnd(6) },
        (_, i) => `R${String(i).padStart(2, '0')}`,
      );
      // Run chains jump only to later run chains (a loop now and then) or to OUT.
      const runRules = (i: number): string[] =>
        Array.from({ length: rnd(4) }, () => {
          const k = rnd(10);
          const to =
            k < 4 && i + 1 < runNames.length
              ? runNames[i + 1 + rnd(runNames.length - i - 1)]!
              : k === 4 && seed % 5 === 0
                ? runNames[rnd(i + 1)]!
                : k === 5
                  ? 'OUT'
                  : `${targets[rnd(targets.length)]!}`;
          return `-A ${runNames[i]!} ${rnd(8) ? '-p tcp ' : ''}-j ${to}`;
        });
      const block: SharedBlock = {
        chains: runNames.map((n, i) => chain(n, runRules(i), true)),
        memo: {},
      };
      for (let round = 0; round < 3; round++) {
        const own = Array.from({ length: rnd(5) }, (_, i) => `O${rnd(9)}${i}`).filter(
          (n, i, all) => all.indexOf(n) === i,
        );
        const ownNames = [...own, 'OUT'];
        const into = (): string =>
          rnd(3) === 0 ? ownNames[rnd(ownNames.length)]! : runNames[rnd(runNames.length)]!;
        const extra = [
          ...own.map((n) =>
            chain(
              n,
              Array.from({ length: rnd(3) }, () => `-A ${n} -j ${into()}`),
            ),
          ),
          chain('OUT', rnd(8) === 0 ? [`-A OUT -j ${runNames[0]!}`] : ['-A OUT -j RETURN']),
        ];
        const t = natTable(block, {
          pre: Array.from({ length: 1 + rnd(3) }, () => `-A PREROUTING -j ${into()}`),
          ...(rnd(3) === 0 ? { input: [`-A INPUT -j ${into()}`] } : {}),
          extra,
        });
        const tables = [filter, t];
        const file = `f${round}`;
        const viaTables = parseIptablesTables(tables, file, { family: 'ipv4' });
        const viaText = parseIptablesSave(saveTablesText(tables), file, { family: 'ipv4' });
        expect(viaTables.diagnostics).toEqual(viaText.diagnostics);
        expect(placed(viaTables.ruleset)).toEqual(placed(viaText.ruleset));
      }
    },
  );
});
