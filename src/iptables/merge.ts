/**
 * Several components write into one node's netfilter tables, each on its own
 * schedule: kubelet, kube-proxy, the CNI plugins (portmap), flannel,
 * ip-masq-agent, Calico's Felix. The edge compilers (cni/portmap.ts,
 * cni/flannel-masq.ts, cni/calico-nat.ts, fabric/ip-masq-agent.ts,
 * fabric/klipper-lb.ts) each return an {@link IptablesFragment}: the
 * `iptables-restore --noflush` input that stands for what that component
 * does, in the order it does it — `:CHAIN` for the chains it creates, `-A` for
 * rules it appends, `-I CHAIN N` for rules it inserts (portmap's
 * `CNI-HOSTPORT-MASQ` jump, Felix's top-of-chain jumps, klipper-lb's `-I`).
 *
 * {@link mergeIptablesSave} replays full or partial dumps and fragments in the
 * order the components started and returns one iptables-save text. The order
 * packeteye assumes on a fresh node ({@link START_ORDER}):
 *
 *   1. kubelet        — KUBE-FIREWALL / KUBE-KUBELET-CANARY (`EnsureRule`)
 *   2. kube-proxy     — its jumps are `EnsureRule(Prepend)`ed, its chains restored
 *   3. CNI / portmap  — at the first pod with a hostPort (CNI ADD): chains,
 *                       `-I POSTROUTING 1` CNI-HOSTPORT-MASQ, `-A PREROUTING/OUTPUT`
 *                       CNI-HOSTPORT-DNAT, then one `-A CNI-HOSTPORT-DNAT` per pod
 *   4. flannel        — `-A POSTROUTING` FLANNEL-POSTRTG, `-A FORWARD` FLANNEL-FWD
 *   5. ip-masq-agent  — `EnsureRule(Append)` POSTROUTING → IP-MASQ-AGENT
 *
 * Calico's Felix inserts its jumps at the top of the built-in chains and
 * re-inserts them whenever something else gets above them, so its fragment
 * goes LAST in the list (its `-I … 1` then lands on top, where Felix keeps
 * it). klipper-lb's rules live in the svclb pod's own namespace: merge them
 * alone (an empty namespace has nothing else).
 *
 * Merge rules, each what the real tools do:
 * - A rule identical (after normalisation to iptables-save text) to one an
 *   EARLIER text already put in the same chain is skipped: every component
 *   uses check-then-add (`iptables -C`, go-iptables `AppendUnique`/
 *   `InsertUnique`, k8s utiliptables `EnsureRule`), so a jump two components
 *   both ensure (kubelet's and kube-proxy's KUBE-FIREWALL) exists once.
 *   Duplicates inside one text are kept, as `iptables-restore` keeps them.
 * - `-I CHAIN N` inserts before the N-th rule (default 1) of the chain as it
 *   stands at that moment (iptables `-I`); `-A` appends.
 * - A chain declared by several texts is one chain whose rules are the union
 *   in text order: the texts are separate components' views, not a sequence
 *   of flushing restores. A built-in chain's policy is the first one
 *   declared; a later text changes it only with an explicit `-P`.
 * - Output is iptables-save order (iptables 1.8 nft: tables mangle, security,
 *   raw, filter, nat; in each, built-in chains in hook order, then user chains
 *   sorted by name; counters `[0:0]`; no `#` lines) — `iptables/serialize.ts`
 *   prints the same order.
 */

import type { Diagnostic } from '../diag.js';
import { parseRule } from './parse.js';
import { KNOWN_UNMODELLED_TARGETS, TARGETS } from './targets.js';
import { BUILTIN_CHAINS, type TableName } from '../kernel/netfilter/types.js';

function isTargetExtension(name: string): boolean {
  return TARGETS.has(name) || KNOWN_UNMODELLED_TARGETS.has(name) || name === 'QUEUE';
}

/** What an edge compiler returns. */
export interface IptablesFragment {
  /**
   * `iptables-restore --noflush` input in the component's own order: per
   * table, `:CHAIN - [0:0]` for the chains it creates, then its `-A` and
   * `-I CHAIN N` commands in issue order.
   */
  readonly text: string;
  /** The same rules as `iptables-save` prints them on an otherwise empty namespace. */
  readonly saveText: string;
  /** `ipset restore` text of the IP sets the rules match on, if any. */
  readonly ipsetSave?: string;
  readonly diagnostics: Diagnostic[];
}

/** The start-up order {@link mergeIptablesSave}'s callers should follow (see the module doc). */
export const START_ORDER = [
  'kubelet',
  'kube-proxy',
  'cni-portmap',
  'flannel',
  'ip-masq-agent',
] as const;

/** iptables-nft-save's table order (iptables 1.8 nft.c `enum nft_table_type`). */
const SAVE_TABLE_ORDER: readonly TableName[] = ['mangle', 'security', 'raw', 'filter', 'nat'];

export const CODE_MERGE_SYNTAX = 'iptables-merge-syntax';
export const CODE_MERGE_UNKNOWN_CHAIN = 'iptables-merge-unknown-chain';

interface MChain {
  readonly name: string;
  policy: string;
  rules: string[];
  /** Canonical rule text -> index of the text (input) that first added it. */
  readonly firstBy: Map<string, number>;
}

interface MTable {
  readonly name: TableName;
  readonly chains: Map<string, MChain>;
}

function isTableName(s: string): s is TableName {
  return (SAVE_TABLE_ORDER as readonly string[]).includes(s);
}

function newTable(name: TableName): MTable {
  const chains = new Map<string, MChain>();
  for (const b of BUILTIN_CHAINS[name]) {
    chains.set(b, { name: b, policy: '', rules: [], firstBy: new Map() });
  }
  return { name, chains };
}

/**
 * A rule body in iptables-save form: `parseRule` normalises it the way the
 * kernel stores it (`-s 10.0.0.1` → `-s 10.0.0.1/32`, option order). When
 * the parser cannot read it the trimmed input is kept (and reported).
 */
/**
 * Normalised bodies already seen: the nodes of one cluster share most of
 * kube-proxy's rules, so merging node after node hits it. Bounded; only
 * bodies that parsed without any diagnostic are kept, so a cache hit never
 * hides a diagnostic.
 */
const CANONICAL_CACHE = new Map<string, string>();
const CANONICAL_CACHE_MAX = 200_000;

function canonical(
  body: string,
  where: { file: string; line: number },
  diagnostics: Diagnostic[],
): string {
  const hit = CANONICAL_CACHE.get(body);
  if (hit !== undefined) return hit;
  const { rule, diagnostics: ds } = parseRule(body, where);
  if (ds.some((d) => d.severity === 'error') || (rule.text === '' && body.trim() !== '')) {
    diagnostics.push({
      code: CODE_MERGE_SYNTAX,
      severity: 'warning',
      message: `rule kept as written (not normalised): ${ds.map((d) => d.message).join('; ') || body}`,
      ...where,
    });
    return body.trim().replace(/\s+/g, ' ');
  }
  if (ds.length === 0) {
    if (CANONICAL_CACHE.size >= CANONICAL_CACHE_MAX) CANONICAL_CACHE.clear();
    CANONICAL_CACHE.set(body, rule.text);
  }
  return rule.text;
}

/** Splits `-I CHAIN [N] rest` / `-A CHAIN rest` into its parts. */
function splitCommand(
  line: string,
): { cmd: string; chain: string; pos?: number; body: string } | undefined {
  const m =
    /^(-[AINPFXD]|--append|--insert|--new-chain|--policy|--flush|--delete-chain)\s+(\S+)(?:\s+(.*))?$/.exec(
      line,
    );
  if (!m) return undefined;
  const longToShort: Record<string, string> = {
    '--append': '-A',
    '--insert': '-I',
    '--new-chain': '-N',
    '--policy': '-P',
    '--flush': '-F',
    '--delete-chain': '-X',
  };
  const cmd = longToShort[m[1]!] ?? m[1]!;
  let body = m[3] ?? '';
  let pos: number | undefined;
  if (cmd === '-I') {
    const n = /^(\d+)(?:\s+(.*))?$/.exec(body);
    if (n) {
      pos = Number(n[1]);
      body = n[2] ?? '';
    }
  }
  return { cmd, chain: m[2]!, ...(pos !== undefined ? { pos } : {}), body };
}

function ensureChain(table: MTable, name: string): MChain {
  let c = table.chains.get(name);
  if (!c) {
    c = { name, policy: '-', rules: [], firstBy: new Map() };
    table.chains.set(name, c);
  }
  return c;
}

/** One command line of input `ti` applied to its table (`-N`, `-P`, `-F`, `-X`, `-A`, `-I`). */
function applyCommand(
  table: MTable,
  cmd: NonNullable<ReturnType<typeof splitCommand>>,
  ti: number,
  where: { file: string; line: number },
  diagnostics: Diagnostic[],
): void {
  switch (cmd.cmd) {
    case '-N':
      ensureChain(table, cmd.chain);
      return;
    case '-P': {
      const c = table.chains.get(cmd.chain);
      if (!c || c.policy === '-') {
        diagnostics.push({
          code: CODE_MERGE_SYNTAX,
          severity: 'error',
          message: `-P on a chain that is not built in: ${cmd.chain}`,
          ...where,
        });
        return;
      }
      c.policy = cmd.body.trim();
      return;
    }
    case '-F': {
      const c = table.chains.get(cmd.chain);
      if (c) {
        c.rules = [];
        c.firstBy.clear();
      }
      return;
    }
    case '-X': {
      const c = table.chains.get(cmd.chain);
      if (c && c.policy === '-') table.chains.delete(cmd.chain);
      return;
    }
    case '-D':
      diagnostics.push({
        code: CODE_MERGE_SYNTAX,
        severity: 'error',
        message: `-D is not supported in merge input`,
        ...where,
      });
      return;
    case '-A':
    case '-I': {
      const c = table.chains.get(cmd.chain);
      if (!c) {
        diagnostics.push({
          code: CODE_MERGE_UNKNOWN_CHAIN,
          severity: 'error',
          message: `chain ${cmd.chain} is not declared in table ${table.name}`,
          ...where,
        });
        return;
      }
      const rule = canonical(cmd.body, where, diagnostics);
      const first = c.firstBy.get(rule);
      if (first !== undefined && first !== ti) return; // ensured by an earlier component
      if (first === undefined) c.firstBy.set(rule, ti);
      if (cmd.cmd === '-A') {
        c.rules.push(rule);
      } else {
        const pos = cmd.pos ?? 1;
        if (pos < 1 || pos > c.rules.length + 1) {
          diagnostics.push({
            code: CODE_MERGE_SYNTAX,
            severity: 'error',
            message: `-I ${cmd.chain} ${pos}: index of insertion too big (chain has ${c.rules.length} rules)`,
            ...where,
          });
          return;
        }
        c.rules.splice(pos - 1, 0, rule);
      }
      return;
    }
    default:
      diagnostics.push({
        code: CODE_MERGE_SYNTAX,
        severity: 'error',
        message: `unsupported command ${cmd.cmd}`,
        ...where,
      });
  }
}

/** Jump targets must exist in the merged table (iptables-restore would refuse the rule). */
function checkJumpTargets(tables: ReadonlyMap<TableName, MTable>, diagnostics: Diagnostic[]): void {
  for (const t of tables.values()) {
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        const m = /(?:^| )-[jg] (\S+)/.exec(r);
        const target = m?.[1];
        if (target !== undefined && !isTargetExtension(target) && !t.chains.has(target)) {
          diagnostics.push({
            code: CODE_MERGE_UNKNOWN_CHAIN,
            severity: 'error',
            message: `rule in ${t.name} ${c.name} jumps to ${target}, which no input declares`,
          });
        }
      }
    }
  }
}

/** The merged tables as one iptables-save text: built-in chains first, then user chains by name. */
function renderMerged(tables: ReadonlyMap<TableName, MTable>): string {
  let out = '';
  for (const tname of SAVE_TABLE_ORDER) {
    const t = tables.get(tname);
    if (!t) continue;
    const builtins = BUILTIN_CHAINS[tname] as readonly string[];
    const chains: MChain[] = builtins.map((b) => t.chains.get(b)!);
    const users = [...t.chains.values()].filter((c) => !builtins.includes(c.name));
    users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    chains.push(...users);
    out += `*${tname}\n`;
    for (const c of chains) out += `:${c.name} ${c.policy === '' ? 'ACCEPT' : c.policy} [0:0]\n`;
    for (const c of chains)
      for (const r of c.rules) out += r === '' ? `-A ${c.name}\n` : `-A ${c.name} ${r}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/**
 * Merges full or partial dumps / fragments, given in component start-up
 * order, into one iptables-save text. See the module doc for the rules.
 * `names` label each input in diagnostics (default `input[i]`).
 */
export function mergeIptablesSaveWithDiagnostics(
  texts: readonly string[],
  names: readonly string[] = [],
): { text: string; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const tables = new Map<TableName, MTable>();

  texts.forEach((text, ti) => {
    const file = names[ti] ?? `input[${ti}]`;
    let cur: MTable | undefined;
    const lines = text.split('\n');
    lines.forEach((raw, li) => {
      const line = raw.trim();
      const where = { file, line: li + 1 };
      if (line === '' || line.startsWith('#')) return;
      if (line.startsWith('*')) {
        const name = line.slice(1).trim();
        if (!isTableName(name)) {
          diagnostics.push({
            code: CODE_MERGE_SYNTAX,
            severity: 'error',
            message: `unknown table "${name}"`,
            ...where,
          });
          cur = undefined;
          return;
        }
        cur = tables.get(name);
        if (!cur) {
          cur = newTable(name);
          tables.set(name, cur);
        }
        return;
      }
      if (line === 'COMMIT') {
        cur = undefined;
        return;
      }
      if (!cur) {
        diagnostics.push({
          code: CODE_MERGE_SYNTAX,
          severity: 'error',
          message: `line outside a table: ${line}`,
          ...where,
        });
        return;
      }
      const table = cur;
      if (line.startsWith(':')) {
        const [name, policy] = line.slice(1).split(/\s+/);
        if (!name) {
          diagnostics.push({
            code: CODE_MERGE_SYNTAX,
            severity: 'error',
            message: `empty chain declaration`,
            ...where,
          });
          return;
        }
        const c = ensureChain(table, name);
        if (c.policy === '' && policy !== undefined && policy !== '-') c.policy = policy;
        return;
      }
      const cmd = splitCommand(line);
      if (!cmd) {
        diagnostics.push({
          code: CODE_MERGE_SYNTAX,
          severity: 'error',
          message: `unsupported line: ${line}`,
          ...where,
        });
        return;
      }
      applyCommand(table, cmd, ti, where, diagnostics);
    });
  });

  checkJumpTargets(tables, diagnostics);
  return { text: renderMerged(tables), diagnostics };
}

/** {@link mergeIptablesSaveWithDiagnostics} without the diagnostics. */
export function mergeIptablesSave(texts: readonly string[]): string {
  return mergeIptablesSaveWithDiagnostics(texts).text;
}

/**
 * Builds a fragment the way a component issues its commands: chains it
 * creates (declared once, in creation order) and `-A` / `-I N` commands in
 * issue order, per table.
 */
export class FragmentBuilder {
  private readonly tables = new Map<TableName, { chains: string[]; ops: string[] }>();

  private table(name: TableName): { chains: string[]; ops: string[] } {
    let t = this.tables.get(name);
    if (!t) {
      t = { chains: [], ops: [] };
      this.tables.set(name, t);
    }
    return t;
  }

  /** `iptables -N` / `EnsureChain` (idempotent). */
  chain(table: TableName, name: string): this {
    const t = this.table(table);
    if (!t.chains.includes(name)) t.chains.push(name);
    return this;
  }

  /** `-A chain body`; `body` is iptables-save text (no leading `-A CHAIN`). */
  append(table: TableName, chain: string, body: string): this {
    this.table(table).ops.push(`-A ${chain} ${body}`);
    return this;
  }

  /** `-I chain pos body`. */
  insert(table: TableName, chain: string, body: string, pos = 1): this {
    this.table(table).ops.push(`-I ${chain} ${pos} ${body}`);
    return this;
  }

  isEmpty(): boolean {
    return [...this.tables.values()].every((t) => t.chains.length === 0 && t.ops.length === 0);
  }

  text(): string {
    let out = '';
    for (const tname of SAVE_TABLE_ORDER) {
      const t = this.tables.get(tname);
      if (!t) continue;
      out += `*${tname}\n`;
      for (const c of t.chains) out += `:${c} - [0:0]\n`;
      for (const o of t.ops) out += `${o}\n`;
      out += 'COMMIT\n';
    }
    return out;
  }

  fragment(diagnostics: Diagnostic[]): IptablesFragment {
    const text = this.text();
    return { text, saveText: text === '' ? '' : mergeIptablesSave([text]), diagnostics };
  }
}
