/**
 * Chains read once and placed again (`SaveChainLines.memo`): tables whose
 * chains share a memo read, table after table, exactly as their text reads —
 * each rule at its line, the same diagnostics — whether the memo is being
 * filled or placed, when other lines change a placed chain after, and when
 * the tables have errors (read again rule by rule).
 */
import { describe, expect, it } from 'vitest';
import { placed } from './testing/placed.js';
import { ruleLine } from '../kernel/netfilter/types.js';
import { parseIptablesSave } from './parse.js';
import {
  parseIptablesTables,
  saveTablesText,
  type ChainMemo,
  type SaveChainLines,
  type SaveTableLines,
} from './parse-tables.js';

const SEP = [
  '-A SEP -s 10.0.0.2/32 -j MARK-MASQ',
  '-A SEP -p tcp -j DNAT --to-destination 10.0.0.2:80',
];
const SVC = ['-A SVC -m statistic --mode random --probability 0.5 -j SEP', '-A SVC -j SEP2'];
const SEP2 = ['-A SEP2 -p tcp -j DNAT --to-destination 10.0.0.3:80'];

/** A nat table: PREROUTING → SVC → SEP/SEP2 → MARK-MASQ, the shared chains with `memos`. */
function natTable(
  memos: Map<string, ChainMemo>,
  opts: {
    pre?: readonly string[];
    other?: readonly string[];
    extra?: readonly SaveChainLines[];
  } = {},
): SaveTableLines {
  const chain = (name: string, rules: readonly string[], shared = true): SaveChainLines => ({
    name,
    policy: '-',
    rules,
    lines: rules.map((text) => ({ text })),
    ...(shared ? { memo: memos.get(name) ?? memos.set(name, {}).get(name)! } : {}),
  });
  return {
    name: 'nat',
    chains: [
      { name: 'PREROUTING', policy: 'ACCEPT', rules: opts.pre ?? ['-A PREROUTING -j SVC'] },
      ...(opts.extra ?? []),
      chain('MARK-MASQ', ['-A MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'], false),
      chain('SEP', SEP),
      chain('SEP2', SEP2),
      chain('SVC', SVC),
    ],
    other: opts.other ?? [],
  };
}

describe('parseIptablesTables: chains read once and placed', () => {
  it.each([
    ['plain', {}],
    [
      'more chains before the shared ones',
      { extra: [{ name: 'X', policy: '-', rules: ['-A X -j RETURN', '-A X -j RETURN'] }] },
    ],
    ['more rules before them', { pre: ['-A PREROUTING -p udp -j RETURN', '-A PREROUTING -j SVC'] }],
    ['a rule appended to a placed chain after', { other: ['-A SEP -j RETURN'] }],
    ['a rule inserted into one', { other: ['-I SVC 1 -p udp -j RETURN'] }],
    ['a rule deleted from one', { other: ['-D SEP 1'] }],
    ['a placed chain flushed', { other: ['-F SEP2', '-A SEP2 -j RETURN'] }],
    ['a jump to a chain the table lacks (an error)', { other: ['-A SVC -j NOWHERE'] }],
    ['a loop through a placed chain (an error)', { other: ['-A SEP2 -j SVC'] }],
    [
      'a shared chain whose lines add to another chain',
      {
        extra: [
          { name: 'X', policy: '-', rules: ['-A X -j RETURN'] },
          {
            name: 'Y',
            policy: '-',
            rules: ['-A Y -j RETURN', '-A X -p udp -j RETURN', '-A Y -p tcp -j RETURN'],
            lines: [
              { text: '-A Y -j RETURN' },
              { text: '-A X -p udp -j RETURN' },
              { text: '-A Y -p tcp -j RETURN' },
            ],
            memo: {},
          },
        ],
      },
    ],
  ] as [string, Parameters<typeof natTable>[1]][])(
    '%s: each reading as the text reads',
    (_, opts) => {
      const memos = new Map<string, ChainMemo>();
      for (const round of [0, 1, 2]) {
        const tables = [natTable(memos, opts)];
        const file = `iptables-save@n${round}`;
        const viaTables = parseIptablesTables(tables, file, { family: 'ipv4' });
        const viaText = parseIptablesSave(saveTablesText(tables), file, { family: 'ipv4' });
        expect(viaTables.diagnostics).toEqual(viaText.diagnostics);
        expect(placed(viaTables.ruleset)).toEqual(placed(viaText.ruleset));
      }
    },
  );

  it('keeps the rules read once and places them in later tables at their lines', () => {
    const memos = new Map<string, ChainMemo>();
    const first = parseIptablesTables([natTable(memos)], 'a').ruleset.tables.get('nat')!;
    const moved = natTable(memos, {
      extra: [{ name: 'X', policy: '-', rules: ['-A X -j RETURN'] }],
    });
    const second = parseIptablesTables([moved], 'b').ruleset.tables.get('nat')!;
    expect(second.chains.get('SEP')!.rules).toBe(first.chains.get('SEP')!.rules);
    expect(second.chains.get('SEP')!.rules[0]!.source).toEqual({});
    // One more declaration and one more rule before it: two lines further down.
    expect(ruleLine(second.chains.get('SEP')!, 1)).toBe(ruleLine(first.chains.get('SEP')!, 1)! + 2);
    // A chain not shared keeps its rules' own lines.
    expect(second.chains.get('MARK-MASQ')!.rules[0]!.source.line).toBeDefined();
  });
});
