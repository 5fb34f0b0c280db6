import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NftRuleset } from '../../kernel/netfilter/nft-types.js';
import { parseNftJson } from './json.js';
import { parseNft } from './parse.js';

const FIX = 'test/fixtures/nftables';
const read = (f: string) => readFileSync(`${FIX}/${f}`, 'utf8');

/** The model without where it came from (lines, handles, rule text): what both spellings must agree on. */
function semantic(rs: NftRuleset): unknown {
  return JSON.parse(
    JSON.stringify(rs, (k, v: unknown) => {
      if (k === 'source' || k === 'handle' || k === 'text' || k === 'comment') return undefined;
      if (typeof v === 'bigint') return `${v}n`;
      if (v instanceof Map)
        return Object.fromEntries([...v.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
      return v;
    }),
  );
}

/** Elements compared as a set: the kernel lists a set's elements in its own order. */
function sortElements(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sortElements);
  if (x && typeof x === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      o[k] =
        k === 'elements' && Array.isArray(v)
          ? v.map(sortElements).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
          : sortElements(v);
    }
    return o;
  }
  return x;
}

describe('parseNft', () => {
  it("reads kube-proxy's nft -f script and the kernel's nft -a list ruleset of it to the same model", () => {
    const script = parseNft(read('kube-proxy-overall.nft'), 'script.nft');
    const listed = parseNft(read('kube-proxy-overall.list.nft'), 'list.nft');
    expect(script.diagnostics).toEqual([]);
    expect(listed.diagnostics).toEqual([]);
    expect(sortElements(semantic(listed.ruleset))).toEqual(sortElements(semantic(script.ruleset)));
    const t = listed.ruleset.tables[0]!;
    expect([t.family, t.name, t.chains.size, t.sets.size]).toEqual(['ip', 'kube-proxy', 32, 8]);
    // nft -a prints handles; the list form names its lines.
    const r = t.chains.get('services')!.rules[1]!;
    expect([r.handle, r.source.line, r.text]).toEqual([
      62,
      139,
      'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports',
    ]);
  });

  it('reads nft -j list ruleset to the model the text gives', () => {
    const json = parseNftJson(read('kube-proxy-overall.list.json'), 'list.json');
    const listed = parseNft(read('kube-proxy-overall.list.nft'), 'list.nft');
    expect(json.diagnostics).toEqual([]);
    // JSON spells out what `reject` means in an ip table (icmp port-unreachable), and nft 1.0.6's
    // JSON leaves the `dynamic` flag out of a set's flags (flags do not change evaluation).
    const same = (x: unknown) =>
      JSON.parse(
        JSON.stringify(sortElements(semantic(x as NftRuleset)), (k, v: unknown) =>
          k === 'flags' && Array.isArray(v) ? undefined : v,
        ).replaceAll(
          '"kind":"reject","with":{"type":"icmp","code":"port-unreachable"}',
          '"kind":"reject"',
        ),
      ) as unknown;
    expect(same(json.ruleset)).toEqual(same(listed.ruleset));
    const r = json.ruleset.tables[0]!.chains.get('services')!.rules[1]!;
    expect([r.handle, r.source]).toEqual([62, { file: 'list.json' }]);
  });

  it.each([
    ['not json', 'not JSON'],
    ['{"x": 1}', 'expected {"nftables"'],
  ])('refuses %j as nft -j output', (text, msg) => {
    const { diagnostics } = parseNftJson(text, 'x.json');
    expect(diagnostics).toMatchObject([{ code: 'nft-json', severity: 'error' }]);
    expect(diagnostics[0]!.message).toContain(msg);
  });

  it.each([
    ['priority -110', -110],
    ['priority dstnat', -100],
    ['priority dstnat - 10', -110],
    ['priority filter', 0],
    ['priority srcnat', 100],
    ['priority mangle + 5', -145],
    ['priority raw', -300],
    ['priority security', 50],
  ])('base chain %s is priority %d', (prio, want) => {
    const { ruleset, diagnostics } = parseNft(
      `table inet t {\n\tchain c {\n\t\ttype filter hook input ${prio}; policy drop;\n\t}\n}\n`,
    );
    expect(diagnostics).toEqual([]);
    expect(ruleset.tables[0]!.chains.get('c')!.base).toEqual({
      type: 'filter',
      hook: 'input',
      priority: want,
      policy: 'drop',
    });
  });

  it.each([
    ['ip saddr 10.0.0.0/8', { kind: 'range', from: 0x0a000000, to: 0x0affffff }],
    ['tcp dport 80-90', { kind: 'range', from: 80, to: 90 }],
    ['tcp dport https', { kind: 'value', value: 443 }],
    ['meta l4proto udp', { kind: 'value', value: 17 }],
    ['iifname "cali*"', { kind: 'wildcard', prefix: 'cali' }],
    ['meta mark 0x00004000', { kind: 'value', value: 0x4000 }],
    ['ip6 daddr ::1', { kind: 'value', value: 1n }],
  ])('types the literal of %s', (rule, atom) => {
    const { ruleset, diagnostics } = parseNft(
      `add table ip t\nadd chain ip t c\nadd rule ip t c ${rule} accept\n`,
    );
    expect(diagnostics).toEqual([]);
    const e = ruleset.tables[0]!.chains.get('c')!.rules[0]!.exprs[0]!;
    expect(e.kind === 'cmp' ? e.right[0] : e).toEqual(atom);
  });

  it('reads ct state flag lists as any-of', () => {
    const { ruleset } = parseNft(
      'add table ip t\nadd chain ip t c\nadd rule ip t c ct state established,related accept\n',
    );
    const e = ruleset.tables[0]!.chains.get('c')!.rules[0]!.exprs[0]!;
    expect(e).toMatchObject({ kind: 'cmp', flags: true, op: '==' });
    expect(e.kind === 'cmp' && e.right.map((a) => (a.kind === 'value' ? a.value : null))).toEqual([
      2, 4,
    ]);
  });

  it('keeps an expression it does not model as unsupported, with a warning naming its line', () => {
    const { ruleset, diagnostics } = parseNft(
      'add table ip t\nadd chain ip t c\n\nadd rule ip t c tcp dport 22 queue num 3\n',
      'q.nft',
    );
    expect(diagnostics).toMatchObject([
      { code: 'nft-unsupported-expression', severity: 'warning', file: 'q.nft', line: 4 },
    ]);
    const exprs = ruleset.tables[0]!.chains.get('c')!.rules[0]!.exprs;
    expect(exprs.map((e) => e.kind)).toEqual(['cmp', 'unsupported']);
  });

  it.each([
    ['add rule ip t c jump nowhere\n', 'nft-unknown-chain', 3],
    ['add rule ip t nochain accept\n', 'nft-syntax', 3],
    ['add chain ip t d { type filter hook sideways priority 0 ; }\n', 'nft-syntax', 3],
    ['add set ip t s { comment "no type" ; }\n', 'nft-syntax', 3],
    ['bogus ip t\n', 'nft-syntax', 3],
  ])('refuses %j with %s at line %d', (line, code, at) => {
    const { diagnostics } = parseNft(`add table ip t\nadd chain ip t c\n${line}`, 'x.nft');
    expect(diagnostics).toMatchObject([{ code, severity: 'error', file: 'x.nft', line: at }]);
  });

  it.each([
    ['a vertical tab', 'add rule ip t c\vip daddr 10.0.0.1 accept\n'],
    ['a form feed', 'add rule ip t c ip daddr 10.0.0.1\faccept\n'],
    ['runs of blanks', 'add rule ip t c  ip daddr\t10.0.0.1   accept\n'],
  ])('reads a rule separated by %s as white space, its text one-spaced', (_what, line) => {
    const { ruleset, diagnostics } = parseNft(`add table ip t\nadd chain ip t c\n${line}`);
    expect(diagnostics).toEqual([]);
    const rule = ruleset.tables[0]!.chains.get('c')!.rules[0]!;
    expect(rule.text).toBe('ip daddr 10.0.0.1 accept');
    expect(rule.exprs.map((e) => e.kind)).toEqual(['cmp', 'verdict']);
  });

  it('expands define variables where they are used, the rule keeping its own text and line', () => {
    const { ruleset, diagnostics } = parseNft(
      [
        'define S = { 10.0.0.1, 10.0.0.2 }',
        'define P = { 80, 443 }',
        'define C = $S',
        'add table ip t',
        'add chain ip t c',
        'add rule ip t c ip daddr $C tcp dport $P accept',
        'table ip t {',
        '  chain d {',
        '    ip saddr $S drop',
        '  }',
        '}',
        'undefine P',
        'redefine S = 10.1.1.1',
        'add rule ip t c ip saddr $S drop',
      ].join('\n'),
      'v.nft',
    );
    expect(diagnostics).toEqual([]);
    const t = ruleset.tables[0]!;
    const [r1, r2] = t.chains.get('c')!.rules;
    expect(r1!.text).toBe('ip daddr $C tcp dport $P accept');
    expect(r1!.source).toEqual({ file: 'v.nft', line: 6 });
    expect(r1!.exprs.map((e) => e.kind)).toEqual(['lookup', 'lookup', 'verdict']);
    const ports = r1!.exprs[1]!;
    expect(
      ports.kind === 'lookup' && ports.set.kind === 'anonymous'
        ? ports.set.set.elements.map((e) => e.key[0])
        : null,
    ).toEqual([
      { kind: 'value', value: 80 },
      { kind: 'value', value: 443 },
    ]);
    expect(t.chains.get('d')!.rules[0]!.exprs[0]!.kind).toBe('lookup');
    expect(r2!.exprs[0]).toMatchObject({
      kind: 'cmp',
      right: [{ kind: 'value', value: 0x0a010101 }],
    });
  });

  it.each([
    ['define X = 1\ndefine X = 2\n', 2, "redefinition of symbol 'X'"],
    ['add rule ip t c tcp dport $Q accept\n', 1, "unknown identifier 'Q'"],
    [
      'define X = 1\nundefine X\nadd rule ip t c tcp dport $X accept\n',
      3,
      "unknown identifier 'X'",
    ],
  ])('refuses variables nft refuses: %j', (text, line, message) => {
    const { diagnostics } = parseNft(`add table ip t\nadd chain ip t c\n${text}`, 'x.nft');
    expect(diagnostics).toMatchObject([
      { code: 'nft-syntax', severity: 'error', line: line + 2, message },
    ]);
  });

  it('applies delete and destroy in order, as one nft -f transaction would', () => {
    const { ruleset, diagnostics } = parseNft(
      [
        'add table ip t',
        'add chain ip t c',
        'add chain ip t gone',
        'add set ip t s { type ipv4_addr ; }',
        'add element ip t s { 1.1.1.1, 1.1.1.2, 10.0.0.0/8 }',
        'delete element ip t s { 1.1.1.1, 10.0.0.0/8 }',
        'delete chain ip t gone',
        'destroy chain ip t never',
        'add table ip u',
        'delete table ip u',
        'add set ip t s2 { type ipv4_addr ; }',
        'delete set ip t s2',
      ].join('\n'),
    );
    expect(diagnostics).toEqual([]);
    expect(ruleset.tables.map((t) => t.name)).toEqual(['t']);
    const t = ruleset.tables[0]!;
    expect([...t.chains.keys()]).toEqual(['c']);
    expect([...t.sets.keys()]).toEqual(['s']);
    expect(t.sets.get('s')!.elements.map((e) => e.key)).toEqual([
      [{ kind: 'value', value: 0x01010102 }],
    ]);
  });

  it('deletes a rule by the handle the listing gives it, and says when no rule read has it', () => {
    const listing = `table ip t { # handle 1\n\tchain c { # handle 1\n\t\tip saddr 1.1.1.1 accept # handle 4\n\t\tip saddr 1.1.1.2 accept # handle 5\n\t}\n}\n`;
    const { ruleset, diagnostics } = parseNft(
      `${listing}delete rule ip t c handle 4\ndelete rule ip t c handle 9\n`,
      'd.nft',
    );
    expect(ruleset.tables[0]!.chains.get('c')!.rules.map((r) => r.handle)).toEqual([5]);
    expect(diagnostics).toMatchObject([
      { code: 'nft-unsupported-command', severity: 'warning', line: 8 },
    ]);
  });

  it.each([
    ['delete chain ip t nochain\n', 'delete chain: no chain nochain in table ip t'],
    ['delete table ip nothere\n', 'delete table: no table ip nothere'],
    ['delete element ip t s { 9.9.9.9 }\n', 'delete element: no such element in set s'],
  ])('refuses %j as nft does', (line, message) => {
    const { diagnostics } = parseNft(
      `add table ip t\nadd chain ip t c\nadd set ip t s { type ipv4_addr ; }\n${line}`,
    );
    expect(diagnostics).toMatchObject([
      { code: 'nft-syntax', severity: 'error', line: 4, message },
    ]);
  });

  it('reads quota and byte limits alike from text and from nft -j (as nft 1.0.6 prints them)', () => {
    const rules = [
      ['quota 84 bytes', { quota: { val: 84, val_unit: 'bytes' } }],
      [
        'quota over 2 kbytes used 100 bytes',
        { quota: { val: 2, val_unit: 'kbytes', inv: true, used: 100, used_unit: 'bytes' } },
      ],
      [
        'limit rate 100 bytes/second burst 100 bytes',
        {
          limit: { rate: 100, burst: 100, per: 'second', rate_unit: 'bytes', burst_unit: 'bytes' },
        },
      ],
      [
        'limit rate over 2 mbytes/second',
        {
          limit: {
            rate: 2,
            burst: 0,
            per: 'second',
            inv: true,
            rate_unit: 'mbytes',
            burst_unit: 'bytes',
          },
        },
      ],
      ['limit rate 10/minute burst 3 packets', { limit: { rate: 10, burst: 3, per: 'minute' } }],
    ] as const;
    const text = parseNft(
      `table ip t {\n\tchain c {\n${rules.map(([r]) => `\t\t${r}\n`).join('')}\t}\n}\n`,
    );
    const json = parseNftJson(
      JSON.stringify({
        nftables: [
          { table: { family: 'ip', name: 't', handle: 1 } },
          { chain: { family: 'ip', table: 't', name: 'c', handle: 1 } },
          ...rules.map(([, e], i) => ({
            rule: { family: 'ip', table: 't', chain: 'c', handle: i + 2, expr: [e] },
          })),
        ],
      }),
    );
    expect(text.diagnostics).toEqual([]);
    expect(json.diagnostics).toEqual([]);
    const exprs = (rs: NftRuleset) => rs.tables[0]!.chains.get('c')!.rules.map((r) => r.exprs);
    expect(exprs(json.ruleset)).toEqual(exprs(text.ruleset));
    expect(exprs(text.ruleset).map((e) => e[0])).toEqual([
      { kind: 'quota', bytes: 84, used: 0, over: false },
      { kind: 'quota', bytes: 2048, used: 100, over: true },
      { kind: 'limit', rate: 100, per: 1, burst: 100, over: false, bytes: true },
      { kind: 'limit', rate: 2 * 1024 * 1024, per: 1, burst: 0, over: true, bytes: true },
      { kind: 'limit', rate: 10, per: 60, burst: 3, over: false },
    ]);
  });
});
