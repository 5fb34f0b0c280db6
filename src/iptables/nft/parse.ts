/**
 * Reads nftables text into the kernel model (`NftRuleset`): both what
 * `nft list ruleset` prints (`table ip kube-proxy { chain … { … } }`, with
 * `# handle N` from `nft -a`) and the command form `nft -f` loads and
 * kube-proxy writes (`add table ip kube-proxy`, `add chain …`, `add rule
 * …`, `add element …`, `flush …`). Commands apply in order, as one `nft -f`
 * transaction would.
 *
 * Diagnostics: text that cannot be read with one meaning is an error
 * naming its line; an expression packeteye does not model is a warning
 * (`nft-unsupported-expression`) naming its line, and the rule keeps it as
 * `unsupported` so a packet reaching it is UNSUPPORTED; a jump to a chain
 * that does not exist is an error, as nft refuses it.
 */
import type { Diagnostic } from '../../diag.js';
import type {
  NftBaseChain,
  NftChain,
  NftAtom,
  NftFamily,
  NftHook,
  NftRule,
  NftRuleset,
  NftSet,
  NftTable,
  NftType,
  Selector,
} from '../../kernel/netfilter/nft-types.js';
import { Cursor, parseElements, parseRuleExprs, parseSelectors, RuleError } from './rule.js';
import { tokenStatements, type Tok } from './tokenize.js';
import { Variables } from './vars.js';
import { parseDuration, PRIORITY_NAMES, TYPE_NAMES, typeOf } from './values.js';

const FAMILIES = new Set<NftFamily>(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS = new Set<NftHook>([
  'prerouting',
  'input',
  'forward',
  'output',
  'postrouting',
  'ingress',
  'egress',
]);

export interface NftParseResult {
  readonly ruleset: NftRuleset;
  readonly diagnostics: Diagnostic[];
}

/** Splits tokens into statements: ends at a line end or `;` outside braces. */
function statements(toks: readonly Tok[]): Tok[][] {
  const out: Tok[][] = [];
  let cur: Tok[] = [];
  let depth = 0;
  for (const t of toks) {
    if (t.kind === 'punct' && t.text === '{') depth++;
    if (t.kind === 'punct' && t.text === '}') depth--;
    if (depth <= 0 && (t.kind === 'nl' || (t.kind === 'punct' && t.text === ';'))) {
      if (cur.length > 0) out.push(cur);
      cur = [];
      depth = Math.max(0, depth);
      continue;
    }
    cur.push(t);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

class Reader {
  readonly tables = new Map<string, NftTable>();
  readonly diagnostics: Diagnostic[] = [];
  private readonly vars = new Variables();
  constructor(
    readonly src: string,
    readonly file: string | undefined,
  ) {}

  private ref(line: number): { file?: string; line: number } {
    return this.file !== undefined ? { file: this.file, line } : { line };
  }

  error(message: string, line: number, code = 'nft-syntax'): void {
    this.diagnostics.push({ code, severity: 'error', message, ...this.ref(line) });
  }

  warn(code: string, message: string, line: number): void {
    this.diagnostics.push({ code, severity: 'warning', message, ...this.ref(line) });
  }

  table(family: NftFamily, name: string, line: number, handle?: number): NftTable {
    const k = `${family} ${name}`;
    let t = this.tables.get(k);
    if (!t) {
      t = {
        family,
        name,
        chains: new Map(),
        sets: new Map(),
        ...(handle !== undefined ? { handle } : {}),
        source: this.ref(line),
      };
      this.tables.set(k, t);
    }
    return t;
  }

  /** `[FAMILY] NAME`: the family defaults to ip. */
  private last: { family: string; name: string; table: NftTable } | undefined;

  /** The table `family name` (the last one found is kept: commands run table by table). */
  find(family: string, name: string): NftTable | undefined {
    const l = this.last;
    if (l && l.family === family && l.name === name) return l.table;
    const table = this.tables.get(`${family} ${name}`);
    if (table) this.last = { family, name, table };
    return table;
  }

  familyAndName(c: Cursor): { family: NftFamily; name: string } {
    const w = c.next().text;
    if (FAMILIES.has(w as NftFamily) && c.peek() && c.peek()!.kind !== 'punct')
      return { family: w as NftFamily, name: c.next().text };
    return { family: 'ip', name: w };
  }

  run(): void {
    for (const raw of tokenStatements(this.src)) {
      const first = raw[0]!;
      try {
        if (Variables.isCommand(raw)) {
          this.vars.command(withoutLineEnds(raw));
          continue;
        }
        const st = this.vars.expand(raw);
        this.command(new Cursor(withoutLineEnds(st)), st);
      } catch (e) {
        if (!(e instanceof RuleError)) throw e;
        this.error(e.message, e.tok?.line ?? first.line);
      }
    }
    this.checkJumps();
  }

  private command(c: Cursor, st: readonly Tok[]): void {
    const first = c.peek()!;
    if (first.kind === 'handle') return;
    const w = c.next().text;
    switch (w) {
      case 'table': {
        const { family, name } = this.familyAndName(c);
        const h = c.peek()?.kind === 'handle' ? Number(c.next().text) : undefined;
        const t = this.table(family, name, first.line, h);
        if (c.is('{')) this.tableBody(t, st, c);
        return;
      }
      case 'add':
      case 'create':
      case 'insert':
      case 'replace':
        return this.addCommand(w, c, st);
      case 'flush':
        return this.flush(c, first.line);
      case 'delete':
      case 'destroy':
        return this.remove(w, c, first.line);
      case 'reset':
        this.warn(
          'nft-unsupported-command',
          `"${w} …" is not modelled: the command is ignored`,
          first.line,
        );
        return;
      default:
        throw new RuleError(
          `"${w}": expected table, add, insert, flush or an nft list ruleset block`,
          first,
        );
    }
  }

  /**
   * `delete`/`destroy` of a table, chain, set, map, element or rule (by
   * handle). nft refuses to delete what does not exist; destroy does not.
   */
  private remove(verb: string, c: Cursor, line: number): void {
    const what = c.next().text;
    const { family, name } = this.familyAndName(c);
    const t = this.tables.get(`${family} ${name}`);
    const missing = (thing: string) => {
      if (verb === 'delete') throw new RuleError(`delete ${what}: no ${thing}`, c.peek(-1));
    };
    if (!t) return missing(`table ${family} ${name}`);
    if (what === 'table') {
      this.tables.delete(`${family} ${name}`);
      this.last = undefined;
      return;
    }
    const obj = c.next().text;
    if (what === 'chain') {
      if (!t.chains.delete(obj)) missing(`chain ${obj} in table ${family} ${name}`);
    } else if (what === 'set' || what === 'map') {
      if (!t.sets.delete(obj)) missing(`${what} ${obj} in table ${family} ${name}`);
    } else if (what === 'element') {
      const s = t.sets.get(obj);
      if (!s) return missing(`set ${obj} in table ${family} ${name}`);
      const gone = new Set(
        parseElements(c, s.keyType, s.dataType, this.file).map((e) => keyText(e.key)),
      );
      const kept = s.elements.filter((e) => !gone.has(keyText(e.key)));
      if (kept.length + gone.size > s.elements.length) missing(`such element in set ${obj}`);
      s.elements.splice(0, s.elements.length, ...kept);
    } else if (what === 'rule') {
      const ch = t.chains.get(obj);
      if (!ch) return missing(`chain ${obj} in table ${family} ${name}`);
      c.expect('handle');
      const h = Number(c.next().text);
      const at = ch.rules.findIndex((r) => r.handle === h);
      if (at >= 0) ch.rules.splice(at, 1);
      else
        this.warn(
          'nft-unsupported-command',
          `${verb} rule … handle ${h}: no rule read here has that handle (the kernel numbers the rules of a script as it loads them): the rule is kept`,
          line,
        );
    } else
      throw new RuleError(
        `${verb} ${what}: expected table, chain, set, map, element or rule`,
        c.peek(-1),
      );
  }

  private flush(c: Cursor, line: number): void {
    const what = c.next().text;
    if (what === 'ruleset') {
      this.tables.clear();
      this.last = undefined;
      return;
    }
    const { family, name } = this.familyAndName(c);
    const t = this.tables.get(`${family} ${name}`);
    if (!t) throw new RuleError(`flush ${what}: no table ${family} ${name}`, c.peek(-1));
    if (what === 'table') {
      for (const ch of t.chains.values()) ch.rules.length = 0;
      for (const s of t.sets.values()) s.elements.length = 0;
      return;
    }
    const obj = c.next().text;
    if (what === 'chain') t.chains.get(obj)?.rules.splice(0);
    else if (what === 'set' || what === 'map') t.sets.get(obj)?.elements.splice(0);
    else this.warn('nft-unsupported-command', `flush ${what} is not modelled`, line);
  }

  private addCommand(verb: string, c: Cursor, st: readonly Tok[]): void {
    const first = st[0]!;
    const what = c.next().text;
    if (what === 'table') {
      const { family, name } = this.familyAndName(c);
      this.table(family, name, first.line);
      return;
    }
    if (
      what === 'chain' ||
      what === 'set' ||
      what === 'map' ||
      what === 'rule' ||
      what === 'element'
    ) {
      const { family, name } = this.familyAndName(c);
      const t = this.find(family, name);
      if (!t)
        throw new RuleError(
          `${verb} ${what}: no table ${family} ${name} (add the table first)`,
          c.peek(-1),
        );
      const obj = c.next().text;
      if (what === 'chain') {
        const ch = this.chain(t, obj, first.line);
        if (c.is('{')) {
          c.next();
          this.chainBody(t, ch, this.innerTokens(c));
        }
      } else if (what === 'set' || what === 'map') {
        if (!c.is('{'))
          throw new RuleError(`${verb} ${what} ${obj}: expected { type … }`, c.peek());
        c.next();
        this.setBody(t, obj, what === 'map', this.innerTokens(c), first.line);
      } else if (what === 'rule') {
        const ch = t.chains.get(obj);
        if (!ch)
          throw new RuleError(
            `${verb} rule: no chain ${obj} in table ${family} ${name}`,
            c.peek(-1),
          );
        let at = c.i;
        if (c.is('position') || c.is('index') || c.is('handle')) {
          this.warn(
            'nft-unsupported-command',
            `${verb} rule … ${c.word()} N: the rule is placed at the ${verb === 'insert' ? 'start' : 'end'} of the chain`,
            first.line,
          );
          at += 2;
        }
        const rule = this.rule(at === 0 ? c.toks : c.toks.slice(at));
        if (rule) {
          if (verb === 'insert') ch.rules.unshift(rule);
          else ch.rules.push(rule);
        }
      } else {
        const s = t.sets.get(obj);
        if (!s)
          throw new RuleError(`add element: no set ${obj} in table ${family} ${name}`, c.peek(-1));
        s.elements.push(...parseElements(c, s.keyType, s.dataType, this.file));
      }
      return;
    }
    throw new RuleError(`${verb} ${what}: expected table, chain, set, map, rule or element`, first);
  }

  /** The tokens up to the `}` matching an already consumed `{`. */
  private innerTokens(c: Cursor): Tok[] {
    const out: Tok[] = [];
    let depth = 1;
    while (!c.done()) {
      const t = c.next();
      if (t.kind === 'punct' && t.text === '{') depth++;
      if (t.kind === 'punct' && t.text === '}' && --depth === 0) return out;
      out.push(t);
    }
    throw new RuleError('missing }', c.toks[c.toks.length - 1]);
  }

  private chain(t: NftTable, name: string, line: number, handle?: number): NftChain {
    let ch = t.chains.get(name);
    if (!ch) {
      ch = { name, rules: [], ...(handle !== undefined ? { handle } : {}), source: this.ref(line) };
      t.chains.set(name, ch);
    }
    return ch;
  }

  /** `table … { … }` as nft list ruleset prints it; `st` holds the whole block with its line ends. */
  private tableBody(t: NftTable, st: readonly Tok[], c: Cursor): void {
    // Re-slice with line ends kept: rules end at them.
    const open = st.indexOf(c.peek()!);
    const body = st.slice(open + 1, st.length - (st[st.length - 1]!.text === '}' ? 1 : 0));
    for (const item of blocks(body)) {
      const ic = new Cursor(item.filter((x) => x.kind !== 'nl'));
      const kw = ic.word();
      if (kw === undefined) continue;
      const line = item[0]!.line;
      try {
        if (kw === 'chain' || kw === 'set' || kw === 'map') {
          ic.next();
          const name = ic.next().text;
          const h = ic.peek()?.kind === 'handle' ? Number(ic.next().text) : undefined;
          const braceAt = item.findIndex((x) => x.kind === 'punct' && x.text === '{');
          const inner = braceAt >= 0 ? item.slice(braceAt + 1, lastBrace(item)) : [];
          if (kw === 'chain') this.chainBody(t, this.chain(t, name, line, h), inner);
          else this.setBody(t, name, kw === 'map', inner, line);
        } else if (kw === 'comment' || kw === 'flags') {
          continue;
        } else {
          this.warn(
            'nft-unsupported-object',
            `table ${t.family} ${t.name}: "${kw}" objects are not modelled`,
            line,
          );
        }
      } catch (e) {
        if (!(e instanceof RuleError)) throw e;
        this.error(e.message, e.tok?.line ?? line);
      }
    }
  }

  private chainBody(t: NftTable, ch: NftChain, inner: readonly Tok[]): void {
    let base: { -readonly [K in keyof NftBaseChain]?: NftBaseChain[K] } | undefined;
    const lines = statements(inner);
    for (const l of lines) {
      const c = new Cursor(l);
      const w = c.word();
      if (l[0]!.kind === 'handle') {
        continue;
      }
      if (w === 'type') {
        c.next();
        base = { ...base, type: c.next().text as NftBaseChain['type'] };
        while (!c.done()) {
          const k2 = c.next().text;
          if (k2 === 'hook') {
            const h = c.next().text;
            if (!HOOKS.has(h as NftHook)) throw new RuleError(`hook ${h}: not a hook`, c.peek(-1));
            base.hook = h as NftHook;
          } else if (k2 === 'device') base = { ...base, device: c.next().text };
          else if (k2 === 'priority') base.priority = priority(c);
        }
        if (base.type !== 'filter' && base.type !== 'nat' && base.type !== 'route')
          throw new RuleError(
            `chain ${ch.name}: type ${String(base.type)} is not filter, nat or route`,
            l[0],
          );
        continue;
      }
      if (w === 'policy') {
        c.next();
        const p = c.next().text;
        if (p !== 'accept' && p !== 'drop')
          throw new RuleError(`policy ${p}: expected accept or drop`, l[1]);
        base = { ...base, policy: p };
        continue;
      }
      if (w === 'comment' && l.length === 2) continue;
      if (w === 'devices') continue;
      const handleTok = l.find((x) => x.kind === 'handle');
      const rule = this.rule(
        l.filter((x) => x.kind !== 'handle'),
        handleTok ? Number(handleTok.text) : undefined,
      );
      if (rule) ch.rules.push(rule);
    }
    if (base) {
      if (base.hook === undefined || base.priority === undefined || base.type === undefined)
        throw new RuleError(
          `chain ${ch.name}: a base chain needs type, hook and priority`,
          inner[0],
        );
      (ch as { base?: NftBaseChain }).base = {
        type: base.type,
        hook: base.hook,
        priority: base.priority,
        policy: base.policy ?? 'accept',
        ...(base.device !== undefined ? { device: base.device } : {}),
      };
      if (t.family !== 'ip' && t.family !== 'ip6' && t.family !== 'inet')
        this.warn(
          'nft-unsupported-family',
          `chain ${t.family} ${t.name} ${ch.name}: ${t.family} tables are read but not evaluated`,
          ch.source.line ?? 0,
        );
      if (base.hook === 'ingress' || base.hook === 'egress')
        this.warn(
          'nft-unsupported-hook',
          `chain ${ch.name}: the ${base.hook} hook is not evaluated`,
          ch.source.line ?? 0,
        );
    }
  }

  private setBody(
    t: NftTable,
    name: string,
    isMap: boolean,
    inner: readonly Tok[],
    line: number,
  ): void {
    let keyType: NftType[] = [];
    let dataType: NftType[] | undefined;
    let flags: string[] = [];
    let timeout: number | undefined;
    let comment: string | undefined;
    let pending: Tok[] | undefined;
    for (const l of statements(inner)) {
      const c = new Cursor(l.filter((x) => x.kind !== 'handle'));
      const w = c.word();
      if (w === undefined) continue;
      c.next();
      if (w === 'type') {
        [keyType, dataType] = typeClause(c);
      } else if (w === 'typeof') {
        const key = parseSelectors(c);
        keyType = key.map(typeOf);
        if (c.is(':')) {
          c.next();
          dataType = c.is('verdict')
            ? ['verdict']
            : parseSelectors(c).map((s: Selector) => typeOf(s));
        }
      } else if (w === 'flags') {
        flags = [];
        while (!c.done()) {
          const f = c.next();
          if (f.text !== ',') flags.push(f.text);
        }
      } else if (w === 'timeout') timeout = parseDuration(c.next().text) ?? undefined;
      else if (w === 'comment') comment = c.next().text;
      else if (w === 'elements') pending = l.slice(l.findIndex((x) => x.text === '{'));
    }
    if (keyType.length === 0)
      throw new RuleError(`${isMap ? 'map' : 'set'} ${name}: no type`, inner[0]);
    if (isMap && !dataType)
      throw new RuleError(`map ${name}: no data type (type KEY : DATA)`, inner[0]);
    const set: NftSet = {
      name,
      keyType,
      ...(dataType ? { dataType } : {}),
      flags,
      ...(timeout !== undefined ? { timeout } : {}),
      elements: [],
      ...(comment !== undefined ? { comment } : {}),
      source: this.ref(line),
    };
    if (pending)
      set.elements.push(
        ...parseElements(
          new Cursor(pending.filter((x) => x.kind !== 'nl' && x.kind !== 'handle')),
          keyType,
          dataType,
          this.file,
        ),
      );
    if (!t.sets.has(name)) t.sets.set(name, set);
    else t.sets.get(name)!.elements.push(...set.elements);
  }

  private rule(toks: readonly Tok[], handle?: number): NftRule | null {
    const body = toks.some((x) => x.kind === 'nl' || x.kind === 'handle')
      ? toks.filter((x) => x.kind !== 'nl' && x.kind !== 'handle')
      : toks;
    if (body.length === 0) return null;
    const { exprs, problem } = parseRuleExprs(body, this.src, this.file);
    if (problem) this.warn('nft-unsupported-expression', problem.message, problem.line);
    const text = oneSpaced(this.src.slice(body[0]!.start, body[body.length - 1]!.end));
    return {
      exprs,
      text,
      ...(handle !== undefined ? { handle } : {}),
      source: this.ref(body[0]!.line),
    };
  }

  /** nft refuses a jump, goto or verdict-map target that is not a chain of the table. */
  private checkJumps(): void {
    for (const t of this.tables.values()) {
      const bad = (chain: string, line: number | undefined) => {
        if (!t.chains.has(chain))
          this.error(
            `jump or goto to chain ${chain}, which table ${t.family} ${t.name} does not have`,
            line ?? 0,
            'nft-unknown-chain',
          );
      };
      for (const ch of t.chains.values()) {
        for (const r of ch.rules) {
          for (const e of r.exprs) {
            if (e.kind === 'verdict' && (e.verdict.kind === 'jump' || e.verdict.kind === 'goto'))
              bad(e.verdict.chain, r.source.line);
            if (e.kind === 'vmap' && e.map.kind === 'anonymous')
              for (const el of e.map.set.elements)
                if (el.verdict && 'chain' in el.verdict) bad(el.verdict.chain, r.source.line);
          }
        }
      }
      for (const s of t.sets.values())
        for (const el of s.elements)
          if (el.verdict && 'chain' in el.verdict) bad(el.verdict.chain, el.source?.line);
    }
  }
}

/** An element's key as text, to find it again. */
function keyText(key: readonly NftAtom[]): string {
  return JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** The tokens without line ends (the same array when it has none). */
function withoutLineEnds(st: Tok[]): Tok[] {
  for (const t of st) if (t.kind === 'nl') return st.filter((x) => x.kind !== 'nl');
  return st;
}

/** Runs of white space as one space; most rule texts have none to fold. */
export function oneSpaced(text: string): string {
  return /[^\S ]| \s/.test(text) ? text.replace(/\s+/g, ' ') : text;
}

function lastBrace(item: readonly Tok[]): number {
  for (let k = item.length - 1; k >= 0; k--)
    if (item[k]!.kind === 'punct' && item[k]!.text === '}') return k;
  return item.length;
}

/** A table body's items: `chain X { … }` blocks and one-line items. */
function blocks(body: readonly Tok[]): Tok[][] {
  const out: Tok[][] = [];
  let cur: Tok[] = [];
  let depth = 0;
  for (const t of body) {
    if (t.kind === 'punct' && t.text === '{') depth++;
    if (t.kind === 'punct' && t.text === '}') {
      depth--;
      cur.push(t);
      if (depth === 0) {
        out.push(cur);
        cur = [];
      }
      continue;
    }
    if (depth === 0 && (t.kind === 'nl' || (t.kind === 'punct' && t.text === ';'))) {
      if (cur.length > 0 && !cur.some((x) => x.kind === 'punct' && x.text === '{')) {
        out.push(cur);
        cur = [];
      }
      continue;
    }
    cur.push(t);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function typeClause(c: Cursor): [NftType[], NftType[] | undefined] {
  const key: NftType[] = [];
  let data: NftType[] | undefined;
  let into = key;
  while (!c.done()) {
    const t = c.next();
    if (t.text === '.') continue;
    if (t.text === ':') {
      data = [];
      into = data;
      continue;
    }
    const ty = Object.prototype.hasOwnProperty.call(TYPE_NAMES, t.text)
      ? TYPE_NAMES[t.text]
      : undefined;
    if (!ty) throw new RuleError(`type ${t.text} is not modelled`, t);
    into.push(ty);
  }
  return [key, data];
}

/** `-110`, `dstnat`, `dstnat - 10`, `filter + 5`. */
function priority(c: Cursor): number {
  const t = c.next();
  let p: number;
  if (/^-?\d+$/.test(t.text)) p = Number(t.text);
  else if (Object.prototype.hasOwnProperty.call(PRIORITY_NAMES, t.text))
    p = PRIORITY_NAMES[t.text]!;
  else {
    const m = /^([a-z]+)([+-]\d+)$/.exec(t.text);
    if (!m || !Object.prototype.hasOwnProperty.call(PRIORITY_NAMES, m[1]!))
      throw new RuleError(
        `priority ${t.text}: expected a number or raw, mangle, dstnat, filter, security, srcnat`,
        t,
      );
    return PRIORITY_NAMES[m[1]!]! + Number(m[2]);
  }
  if (c.is('+') || c.is('-')) {
    const sign = c.next().text === '+' ? 1 : -1;
    p += sign * Number(c.next().text);
  }
  return p;
}

const IPTABLES_TABLES = new Set(['raw', 'mangle', 'nat', 'filter', 'security']);
const IPTABLES_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/**
 * The tables iptables-nft manages (`FAMILY NAME`): those `nft list ruleset`
 * marks "# Warning: table ip nat is managed by iptables-nft", and, in text
 * without the marks, ip/ip6 tables with iptables' table names whose base
 * chains are all iptables' built-in chains. Their rules are what
 * `iptables-save` prints; `nft trace --rules` reads them from there.
 */
export function iptablesNftTables(text: string, rs: NftRuleset): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# Warning: table (\S+) (\S+) is managed by iptables-nft/gm))
    out.add(`${m[1]} ${m[2]}`);
  for (const t of rs.tables) {
    if ((t.family !== 'ip' && t.family !== 'ip6') || !IPTABLES_TABLES.has(t.name)) continue;
    const bases = [...t.chains.values()].filter((c) => c.base);
    if (bases.length > 0 && bases.every((c) => IPTABLES_CHAINS.has(c.name)))
      out.add(`${t.family} ${t.name}`);
  }
  return out;
}

/** Reads `nft list ruleset` text or an `nft -f` script. `file` names it in diagnostics and rules. */
export function parseNft(text: string, file?: string): NftParseResult {
  const r = new Reader(text, file);
  r.run();
  return { ruleset: { tables: [...r.tables.values()] }, diagnostics: r.diagnostics };
}
