/**
 * A light line-level model of `iptables-restore` input (tables of chain
 * declarations and `-A` lines), used to assemble a node's dump and to order it
 * the way kube-proxy's own tests do (`sortIPTablesRules` in
 * `pkg/proxy/iptables/proxier_test.go`, over `iptablestest.ParseIPTablesDump`).
 * The full parser into the netfilter model lives in `iptables/parse.ts`.
 */

import type { RuleBody } from '../iptables/rule.js';

export interface DumpChain {
  readonly name: string;
  /** `ACCEPT`/`DROP` for built-in chains, `-` for user chains. */
  readonly policy: string;
  /** Whole lines, e.g. `-A KUBE-SERVICES -m comment ...`. */
  readonly rules: string[];
  /** The parsed form of `rules[i]` where the generator built it beside the text (rule-body.ts). */
  readonly parsed?: (RuleBody | undefined)[];
}

export interface DumpTable {
  readonly name: string;
  readonly chains: DumpChain[];
  /** Lines that are neither chain declarations nor `-A` (e.g. `-X CHAIN`). */
  readonly other: string[];
}

export interface Dump {
  readonly tables: DumpTable[];
}

/** Lines of one table into `t`: declarations, `-A` lines (with their parsed forms), the rest. */
function readTableLines(
  t: DumpTable,
  byName: Map<string, DumpChain>,
  lines: readonly string[],
  parsed?: readonly (RuleBody | undefined)[],
): void {
  const fresh = () => (parsed ? { parsed: [] as (RuleBody | undefined)[] } : {});
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      const chain: DumpChain = { name: name!, policy: policy ?? '-', rules: [], ...fresh() };
      t.chains.push(chain);
      byName.set(chain.name, chain);
      return;
    }
    const m = /^-A (\S+)/.exec(line);
    if (m) {
      let chain = byName.get(m[1]!);
      if (!chain) {
        // iptables-restore would reject this; keep it visible rather than drop it.
        chain = { name: m[1]!, policy: '-', rules: [], ...fresh() };
        t.chains.push(chain);
        byName.set(chain.name, chain);
      }
      chain.rules.push(line);
      chain.parsed?.push(parsed?.[i]);
      return;
    }
    t.other.push(line);
  });
}

/**
 * One table from restore lines (chain declarations and `-A` lines, as a
 * sync writes them), keeping each line's parsed form: what `parseDump` gives
 * for `*name`, those lines and `COMMIT`, without the text.
 */
export function dumpTable(
  name: string,
  parts: readonly { lines: readonly string[]; parsed?: readonly (RuleBody | undefined)[] }[],
): DumpTable {
  const t: DumpTable = { name, chains: [], other: [] };
  const byName = new Map<string, DumpChain>();
  for (const p of parts) readTableLines(t, byName, p.lines, p.parsed);
  return t;
}

/** Parse restore-format text. Throws on structure it cannot place (a bug in the caller). */
export function parseDump(text: string): Dump {
  const tables: DumpTable[] = [];
  let cur: DumpTable | undefined;
  const byName = new Map<string, DumpChain>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), chains: [], other: [] };
      tables.push(cur);
      byName.clear();
      continue;
    }
    if (!cur) throw new Error(`line outside a table: ${line}`);
    if (line === 'COMMIT') {
      cur = undefined;
      continue;
    }
    readTableLines(cur, byName, [line]);
  }
  return { tables };
}

/** Print like `iptablestest.IPTablesDump.String()`: declarations, then rules, then COMMIT. */
export function formatDump(dump: Dump): string {
  let out = '';
  for (const t of dump.tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} ${c.policy} [0:0]\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${r}\n`;
    for (const o of t.other) out += `${o}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/** The value of `--comment`, unquoted, or undefined. */
export function ruleComment(rule: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
  if (!m) return undefined;
  return m[1] ?? m[2];
}

/**
 * `orderByCommentServiceName`: compare the service names in two rules'
 * comments (the comment up to the first space or colon); false if either
 * rule has no comment.
 */
function orderByCommentServiceName(a: string, b: string): boolean {
  const c1 = ruleComment(a);
  const c2 = ruleComment(b);
  if (c1 === undefined || c2 === undefined) return false;
  const cut = (s: string) => {
    const i = s.search(/[ :]/);
    return i === -1 ? s : s.slice(0, i);
  };
  return cut(c1) < cut(c2);
}

/** Stable sort with a Go-style `less` function; `along` (if given) is permuted the same way. */
function stableSortLess<T, U>(xs: T[], less: (a: T, b: T) => boolean, along?: U[]): void {
  const indexed = xs.map((x, i) => ({ x, i }));
  indexed.sort((p, q) => (less(p.x, q.x) ? -1 : less(q.x, p.x) ? 1 : p.i - q.i));
  const was = along ? [...along] : undefined;
  indexed.forEach((p, i) => {
    xs[i] = p.x;
    if (along) along[i] = was![p.i]!;
  });
}

function chainRank(name: string): number {
  if (name === 'KUBE-NODEPORTS') return 0;
  if (name === 'KUBE-SERVICES') return 1;
  if (name.startsWith('KUBE-')) return 2;
  return 3;
}

/**
 * kube-proxy's test sort (`sortIPTablesRules`): tables by name; chains
 * KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* alphabetically, then the rest
 * alphabetically; the rules of KUBE-NODEPORTS and KUBE-SERVICES (filter and
 * nat) stably by the service name in their comment, keeping the nat
 * KUBE-SERVICES "must be the last rule" rule(s) last. Other chains keep their
 * rule order. Returns a new dump.
 */
export function sortDump(dump: Dump): Dump {
  const tables = dump.tables.map((t) => ({
    name: t.name,
    chains: t.chains.map((c) => ({
      name: c.name,
      policy: c.policy,
      rules: [...c.rules],
      ...(c.parsed ? { parsed: [...c.parsed] } : {}),
    })),
    other: [...t.other],
  }));
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of tables) {
    t.chains.sort((a, b) => {
      const ra = chainRank(a.name);
      const rb = chainRank(b.name);
      if (ra !== rb) return ra - rb;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    for (const c of t.chains) {
      if (c.name === 'KUBE-NODEPORTS' && (t.name === 'filter' || t.name === 'nat')) {
        stableSortLess(c.rules, orderByCommentServiceName, c.parsed);
      } else if (c.name === 'KUBE-SERVICES' && t.name === 'filter') {
        stableSortLess(c.rules, orderByCommentServiceName, c.parsed);
      } else if (c.name === 'KUBE-SERVICES' && t.name === 'nat') {
        const last = (r: string) => (ruleComment(r) ?? '').includes('must be the last rule');
        stableSortLess(
          c.rules,
          (a, b) => {
            if (last(a)) return false;
            if (last(b)) return true;
            return orderByCommentServiceName(a, b);
          },
          c.parsed,
        );
      }
    }
  }
  return { tables };
}

/** `sortIPTablesRules` on text. */
export function sortIptablesText(text: string): string {
  return formatDump(sortDump(parseDump(text)));
}
