/**
 * Reading the kernel's answers: parsers for `iptables-save -c` (which rules
 * and chain policies packets took), `conntrack -L` (original and reply
 * tuples, `[UNREPLIED]`, `[ASSURED]`) and `nstat -a` (SNMP counters). Pure
 * functions over the tools' text, so they are tested without root.
 */

export interface RulePosition {
  readonly table: string;
  readonly chain: string;
  /** 1-based position within the chain, as `iptables -L --line-numbers` counts. */
  readonly index: number;
  /** 1-based line in the dump text. */
  readonly line: number;
}

export interface RuleCounter extends RulePosition {
  /** The rule as iptables-save printed it, after `-A CHAIN `. */
  readonly spec: string;
  readonly packets: number;
  readonly bytes: number;
}

export interface ChainCounter {
  readonly table: string;
  readonly chain: string;
  /** `ACCEPT`/`DROP` for built-in chains, `-` for user chains. */
  readonly policy: string;
  /** For built-in chains: packets that fell off the end and took the policy. */
  readonly packets: number;
  readonly bytes: number;
}

export interface Counters {
  readonly rules: readonly RuleCounter[];
  readonly chains: readonly ChainCounter[];
}

const COUNTER = /^\[(\d+):(\d+)\]$/;

/**
 * Positions of every `-A` rule in a dump: the same dump text loaded with
 * iptables-restore and read back with iptables-save keeps each chain's rule
 * order, so (table, chain, index) identifies a dump line's rule in the
 * kernel even though iptables-save rewrites the rule's text.
 */
export function rulePositions(dump: string): RulePosition[] {
  return parseSave(dump).rules.map(({ table, chain, index, line }) => ({
    table,
    chain,
    index,
    line,
  }));
}

/** Parses `iptables-save [-c]` output (counters are 0 when absent). */
export function parseSave(text: string): Counters {
  const rules: RuleCounter[] = [];
  const chains: ChainCounter[] = [];
  const perChain = new Map<string, number>();
  let table = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = line.slice(1);
      continue;
    }
    if (line === 'COMMIT') continue;
    if (line.startsWith(':')) {
      const [name = '', policy = '-', counter = '[0:0]'] = line.slice(1).split(/\s+/);
      const m = COUNTER.exec(counter);
      chains.push({
        table,
        chain: name,
        policy,
        packets: Number(m?.[1] ?? 0),
        bytes: Number(m?.[2] ?? 0),
      });
      continue;
    }
    let rest = line;
    let packets = 0;
    let bytes = 0;
    const lead = /^\[(\d+):(\d+)\]\s+/.exec(rest);
    if (lead !== null) {
      packets = Number(lead[1]);
      bytes = Number(lead[2]);
      rest = rest.slice(lead[0].length);
    }
    const a = /^-A\s+(\S+)\s*(.*)$/.exec(rest);
    if (a === null) continue;
    const chain = a[1] as string;
    const key = `${table}\0${chain}`;
    const index = (perChain.get(key) ?? 0) + 1;
    perChain.set(key, index);
    rules.push({ table, chain, index, line: i + 1, spec: a[2] as string, packets, bytes });
  }
  return { rules, chains };
}

/** The counter of the rule at `pos` (table, chain, index); throws if the kernel has no such rule. */
export function counterAt(
  c: Counters,
  pos: Pick<RulePosition, 'table' | 'chain' | 'index'>,
): RuleCounter {
  const r = c.rules.find(
    (x) => x.table === pos.table && x.chain === pos.chain && x.index === pos.index,
  );
  if (r === undefined) throw new Error(`kernel has no rule ${pos.table}/${pos.chain}#${pos.index}`);
  return r;
}

export function chainCounter(c: Counters, table: string, chain: string): ChainCounter {
  const r = c.chains.find((x) => x.table === table && x.chain === chain);
  if (r === undefined) throw new Error(`kernel has no chain ${table}/${chain}`);
  return r;
}

export interface CtTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
}

export interface CtEntry {
  /** `tcp`, `udp`, `icmp`… */
  readonly proto: string;
  /** TCP state (`SYN_SENT`, `ESTABLISHED`, `TIME_WAIT`…), absent for other protocols. */
  readonly state?: string;
  readonly original: CtTuple;
  readonly reply: CtTuple;
  /** SEEN_REPLY not set. */
  readonly unreplied: boolean;
  readonly assured: boolean;
  readonly mark?: number;
  readonly raw: string;
}

/**
 * Parses `conntrack -L` lines, e.g.
 * `tcp 6 119 TIME_WAIT src=A dst=B sport=1 dport=2 src=B dst=A sport=2 dport=1 [ASSURED] mark=0 use=1`.
 * The second `src=` starts the reply tuple; `[UNREPLIED]` sits between them.
 */
export function parseConntrack(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  for (const raw of text.split('\n')) {
    const tok = raw.trim().split(/\s+/);
    if (tok.length < 4 || !/^\d+$/.test(tok[1] ?? '')) continue;
    const proto = tok[0] as string;
    let i = 3;
    let state: string | undefined;
    if (!(tok[i] ?? '').includes('=') && !(tok[i] ?? '').startsWith('[')) state = tok[i++];
    const tuples: Record<string, string>[] = [{}, {}];
    let which = 0;
    let unreplied = false;
    let assured = false;
    let mark: number | undefined;
    for (; i < tok.length; i++) {
      const t = tok[i] as string;
      if (t === '[UNREPLIED]') unreplied = true;
      else if (t === '[ASSURED]') assured = true;
      else {
        const eq = t.indexOf('=');
        if (eq < 0) continue;
        const k = t.slice(0, eq);
        const v = t.slice(eq + 1);
        if (k === 'mark') mark = Number(v);
        else if (['src', 'dst', 'sport', 'dport', 'type', 'code', 'id'].includes(k)) {
          if (k === 'src' && tuples[which]?.src !== undefined) which = 1;
          (tuples[which] as Record<string, string>)[k] = v;
        }
      }
    }
    const tuple = (t: Record<string, string>): CtTuple => ({
      src: t.src ?? '',
      dst: t.dst ?? '',
      ...(t.sport !== undefined ? { sport: Number(t.sport) } : {}),
      ...(t.dport !== undefined ? { dport: Number(t.dport) } : {}),
    });
    out.push({
      proto,
      ...(state !== undefined ? { state } : {}),
      original: tuple(tuples[0] as Record<string, string>),
      reply: tuple(tuples[1] as Record<string, string>),
      unreplied,
      assured,
      ...(mark !== undefined ? { mark } : {}),
      raw: raw.trim(),
    });
  }
  return out;
}

/** Parses `nstat -a` output into counter name → value. */
export function parseNstat(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === undefined || value === undefined || name.startsWith('#')) continue;
    if (/^\d+$/.test(value)) m.set(name, Number(value));
  }
  return m;
}
