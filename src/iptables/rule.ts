/**
 * One rule specification (`-s … -m tcp -p tcp --dport 80 -j ACCEPT`) into a
 * Rule, the way iptables' command parser (iptables/xshared.c,
 * do_parse/command_default) reads it: basic options anywhere, `-m NAME`
 * loading a match whose options follow, `-p tcp --dport` loading the
 * protocol's match implicitly, and `-j`/`-g` with the target's options.
 *
 * Errors stop the rule (one error per rule: after a bad token the rest is
 * noise). An unknown module, an unknown option of a known module or an
 * unknown target keeps the rule with an `unsupported` match/target and a
 * warning, so nothing is silently dropped or silently accepted.
 */

import type { Diagnostic } from '../diag.js';
import type { Match, Rule, SourceRef, Target } from '../kernel/netfilter/types.js';
import { formatRule } from './format.js';
import { IMPLICIT_BY_PROTOCOL, MATCHES } from './matches.js';
import type { BuildContext, ExtensionSpec, Given, OptSpec } from './spec.js';
import { KNOWN_UNMODELLED_TARGETS, TARGETS } from './targets.js';
import { tokenizeLine, type Token } from './tokenize.js';
import {
  formatCidrText,
  formatCidrText6,
  parseAddrMask,
  parseAddrMask6,
  parseIfaceName,
  parseProtocol,
} from './values.js';

export const CODE_SYNTAX = 'iptables-syntax';
export const CODE_VALUE = 'iptables-bad-value';
export const CODE_UNSUPPORTED = 'iptables-unsupported';

/** iptables' chain name limit: XT_EXTENSION_MAXNAMELEN (29) including the NUL. */
export const MAX_CHAIN_NAME = 28;

interface Instance {
  readonly module: string;
  readonly spec?: ExtensionSpec<Match>;
  readonly given: Given[];
  readonly raw: string[];
  /** The token that made a known module unsupported. */
  unsupported?: string;
}

interface TargetState {
  readonly name: string;
  /** jump/goto to a chain, a modelled extension, or an extension packeteye does not model. */
  readonly kind: 'chain' | 'goto' | 'extension' | 'unknown';
  readonly spec?: ExtensionSpec<Target>;
  readonly given: Given[];
  readonly raw: string[];
  unsupported?: string;
}

type Basic = 'source' | 'destination' | 'in-interface' | 'out-interface' | 'protocol' | 'fragment';

const BASIC: ReadonlyMap<string, Basic | 'match' | 'jump' | 'goto' | 'counters' | 'table'> =
  new Map([
    ['-s', 'source'],
    ['--source', 'source'],
    ['--src', 'source'],
    ['-d', 'destination'],
    ['--destination', 'destination'],
    ['--dst', 'destination'],
    ['-i', 'in-interface'],
    ['--in-interface', 'in-interface'],
    ['-o', 'out-interface'],
    ['--out-interface', 'out-interface'],
    ['-p', 'protocol'],
    ['--protocol', 'protocol'],
    ['-f', 'fragment'],
    ['--fragment', 'fragment'],
    ['-m', 'match'],
    ['--match', 'match'],
    ['-j', 'jump'],
    ['--jump', 'jump'],
    ['-g', 'goto'],
    ['--goto', 'goto'],
    ['-c', 'counters'],
    ['--set-counters', 'counters'],
    ['-t', 'table'],
    ['--table', 'table'],
  ]);

const BASIC_LETTER: Readonly<Record<Basic, string>> = {
  source: '-s',
  destination: '-d',
  'in-interface': '-i',
  'out-interface': '-o',
  protocol: '-p',
  fragment: '-f',
};

/** The outcome of parsing one rule's options. */
export interface RuleBody {
  readonly matches: readonly Match[];
  readonly target?: Target;
  readonly text: string;
}

/** Every option spelling of a modelled match, and of the protocol matches -p loads implicitly. */
const MATCH_OPTIONS: ReadonlySet<string> = new Set(
  [...MATCHES.values()].flatMap((m) => [...m.options.keys()]),
);
const IMPLICIT_OPTIONS: ReadonlySet<string> = new Set(
  [...IMPLICIT_BY_PROTOCOL.values()].flatMap((m) => [...m.options.keys()]),
);

class RuleError extends Error {
  constructor(
    message: string,
    readonly code: string = CODE_SYNTAX,
  ) {
    super(message);
  }
}

function looksLikeOption(t: Token): boolean {
  return !t.quoted && t.text.length > 1 && t.text[0] === '-';
}

/**
 * Parses `tokens[start…]` as a rule spec. Returns undefined after pushing an
 * error diagnostic; warnings (unsupported parts) are pushed as well.
 */
export function parseRuleTokens(
  tokens: readonly Token[],
  start: number,
  source: SourceRef,
  diagnostics: Diagnostic[],
  family: 'ipv4' | 'ipv6' = 'ipv4',
): RuleBody | undefined {
  const parser = new RuleParser(tokens, start, source, diagnostics, family);
  try {
    return parser.parse();
  } catch (e) {
    if (e instanceof RuleError) {
      diagnostics.push(withSource({ code: e.code, severity: 'error', message: e.message }, source));
      return undefined;
    }
    throw e;
  }
}

function withSource<T extends object>(d: T, source: SourceRef): T & SourceRef {
  const out: T & { file?: string; line?: number } = d;
  if (source.file !== undefined) out.file = source.file;
  if (source.line !== undefined) out.line = source.line;
  return out;
}

/** Slots of the basic matches, in the order iptables-save prints them (-s -d -i -o -p -f). */
const BASIC_INDEX: Readonly<Record<Basic, number>> = {
  source: 0,
  destination: 1,
  'in-interface': 2,
  'out-interface': 3,
  protocol: 4,
  fragment: 5,
};

/** One rule's parse: state in fields, so a 40,000-rule dump allocates no closures per rule. */
class RuleParser {
  private i: number;
  private readonly n: number;
  private readonly basics: (Match | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  private seenBasic = 0;
  private readonly instances: Instance[] = [];
  private target: TargetState | undefined;
  private protocol: BuildContext['protocol'];
  private invert = false;

  constructor(
    private readonly tokens: readonly Token[],
    start: number,
    private readonly source: SourceRef,
    private readonly diagnostics: Diagnostic[],
    private readonly family: 'ipv4' | 'ipv6' = 'ipv4',
  ) {
    this.i = start;
    this.n = tokens.length;
  }

  parse(): RuleBody {
    const tokens = this.tokens;
    while (this.i < this.n) {
      const tok = tokens[this.i]!;
      const t = tok.text;
      if (tok.quoted || !(t === '!' || (t.length > 1 && t.charCodeAt(0) === 45))) {
        throw new RuleError(
          `unexpected argument "${t}"${tok.quoted ? ' (a quoted word where an option was expected)' : ''}`,
        );
      }
      if (t === '!') {
        if (this.invert) throw new RuleError('"!" given twice');
        this.invert = true;
        this.i++;
        continue;
      }
      let basic = BASIC.get(t);
      if (basic === undefined && t.startsWith('--')) {
        const full = this.unabbreviate(t);
        basic = BASIC.get(full);
        if (basic === undefined) this.extensionOption(full);
        else if (basic === 'match') this.match(full);
        else if (basic === 'jump' || basic === 'goto') this.jump(full, basic);
        else if (basic === 'counters' || basic === 'table')
          throw new RuleError(`${full} cannot be abbreviated here`);
        else this.parseBasic(basic, full);
        this.i++;
        continue;
      }
      if (basic === undefined) this.extensionOption(t);
      else if (basic === 'match') this.match(t);
      else if (basic === 'jump' || basic === 'goto') this.jump(t, basic);
      else if (basic === 'counters') {
        this.takeInvert(t, false);
        const p = this.value(t).text;
        const b = this.value(t).text;
        if (!/^\d+$/.test(p) || !/^\d+$/.test(b))
          throw new RuleError(`${t} needs two numbers (packets bytes)`, CODE_VALUE);
      } else if (basic === 'table')
        throw new RuleError('-t cannot be used in iptables-restore input (use a *table line)');
      else this.parseBasic(basic, t);
      this.i++;
    }
    if (this.invert) throw new RuleError('"!" at the end of the rule, with nothing to negate');
    return this.finish();
  }

  /**
   * getopt_long takes any unambiguous prefix of a long option (`--to-dest`
   * for `--to-destination`), over every option the rule has loaded so far:
   * the basic ones, the target's, the matches' and the protocol's implicit
   * match. An exact spelling, or one that matches nothing, is returned as is.
   */
  private unabbreviate(opt: string): string {
    const owners: ReadonlyMap<string, unknown>[] = [BASIC];
    if (this.target?.spec) owners.push(this.target.spec.options);
    for (const inst of this.instances) if (inst.spec) owners.push(inst.spec.options);
    const p = this.protocol;
    const implicit = p && !p.invert ? IMPLICIT_BY_PROTOCOL.get(p.name) : undefined;
    if (implicit && !this.instances.some((x) => x.module === implicit.name))
      owners.push(implicit.options);
    for (const o of owners) if (o.has(opt)) return opt;
    if (opt.length <= 3) return opt;
    const hits = new Map<unknown, string>();
    for (const o of owners) {
      for (const [spelling, entry] of o) {
        // Aliases of one option (one OptSpec, or one basic kind) are one getopt entry.
        const id = o === BASIC ? `basic:${String(entry)}` : entry;
        if (spelling.startsWith(opt) && !hits.has(id)) hits.set(id, spelling);
      }
    }
    if (hits.size > 1)
      throw new RuleError(`option ${opt} is ambiguous (${[...hits.values()].join(', ')})`);
    return hits.size === 1 ? [...hits.values()][0]! : opt;
  }

  private value(opt: string, any = false): Token {
    const v = this.tokens[this.i + 1];
    if (v === undefined || (!any && (looksLikeOption(v) || (!v.quoted && v.text === '!')))) {
      throw new RuleError(`option ${opt} needs a value`);
    }
    this.i++;
    return v;
  }

  private takeInvert(opt: string, allowed: boolean): boolean {
    const was = this.invert;
    if (was && !allowed) throw new RuleError(`"!" cannot be used before ${opt}`);
    this.invert = false;
    return was;
  }

  private match(t: string): void {
    this.takeInvert(t, false);
    const name = this.value(t).text;
    // Extension names are file names (libxt_NAME.so) of at most 28 characters.
    if (!MODULE_NAME.test(name)) throw new RuleError(`invalid match module name "${name}"`);
    const spec = MATCHES.get(name);
    this.instances.push(
      spec ? { module: name, spec, given: [], raw: [] } : { module: name, given: [], raw: [] },
    );
  }

  private jump(t: string, basic: 'jump' | 'goto'): void {
    this.takeInvert(t, false);
    const name = this.value(t).text;
    if (this.target)
      throw new RuleError(`only one -j or -g per rule (already have ${this.target.name})`);
    if (name.length === 0) throw new RuleError(`${t} needs a target name`);
    if (BAD_NAME.test(name) || name[0] === '-' || name[0] === '!')
      throw new RuleError(`invalid target or chain name "${name}"`);
    let target: TargetState;
    if (basic === 'goto') {
      if (TARGETS.has(name) || KNOWN_UNMODELLED_TARGETS.has(name)) {
        throw new RuleError(`-g needs a user-defined chain, not the target ${name}`);
      }
      target = { name, kind: 'goto', given: [], raw: [] };
    } else {
      const spec = TARGETS.get(name);
      if (spec) target = { name, kind: 'extension', spec, given: [], raw: [] };
      else if (KNOWN_UNMODELLED_TARGETS.has(name))
        target = { name, kind: 'unknown', given: [], raw: [] };
      else target = { name, kind: 'chain', given: [], raw: [] };
    }
    if (name.length > MAX_CHAIN_NAME && target.kind !== 'extension') {
      throw new RuleError(`target name "${name}" is longer than ${MAX_CHAIN_NAME} characters`);
    }
    this.target = target;
  }

  private parseBasic(b: Basic, opt: string): void {
    const inv = this.takeInvert(opt, true);
    const bit = 1 << BASIC_INDEX[b];
    if (this.seenBasic & bit)
      throw new RuleError(`multiple ${BASIC_LETTER[b]} options are not allowed`);
    this.seenBasic |= bit;
    const slot = BASIC_INDEX[b];
    if (b === 'fragment') {
      this.basics[slot] = { kind: 'fragment', invert: inv };
      return;
    }
    const v = this.value(opt).text;
    switch (b) {
      case 'source':
      case 'destination': {
        if (this.family === 'ipv6') {
          // ip6tables: save_ipv6_addr prints nothing for ::/0 unless inverted; a host is /128.
          const r6 = parseAddrMask6(v);
          if (!r6.ok) throw new RuleError(`${opt}: ${r6.error}`, CODE_VALUE);
          if (r6.value.mask === 0n && !inv) return;
          this.basics[slot] = { kind: b, cidr: formatCidrText6(r6.value), invert: inv };
          return;
        }
        const r = parseAddrMask(v);
        if (!r.ok) throw new RuleError(`${opt}: ${r.error}`, CODE_VALUE);
        // save_ipv4_addr prints nothing for 0.0.0.0/0 unless it is inverted.
        if (r.value.mask === 0 && !inv) return;
        // A non-contiguous mask stays a dotted mask (`10.0.0.0/255.0.255.0`), as iptables-save prints it.
        this.basics[slot] = { kind: b, cidr: formatCidrText(r.value), invert: inv };
        return;
      }
      case 'in-interface':
      case 'out-interface': {
        const r = parseIfaceName(v);
        if (!r.ok) throw new RuleError(`${opt}: ${r.error}`, CODE_VALUE);
        this.basics[slot] = {
          kind: b,
          name: r.value.name,
          wildcard: r.value.wildcard,
          invert: inv,
        };
        return;
      }
      case 'protocol': {
        const r = parseProtocol(v, this.family);
        if (!r.ok) throw new RuleError(`${opt}: ${r.error}`, CODE_VALUE);
        this.protocol = { name: r.value, invert: inv };
        if (r.value === 'all' && !inv) return;
        this.basics[slot] = { kind: 'protocol', protocol: r.value, invert: inv };
        return;
      }
    }
  }

  private warn(message: string, token: string): void {
    this.diagnostics.push(
      withSource(
        {
          code: CODE_UNSUPPORTED,
          severity: 'warning' as const,
          message,
          hint: `packeteye keeps the rule but reports any packet that reaches it as unsupported (token "${token}")`,
        },
        this.source,
      ),
    );
  }

  private extensionOption(opt: string): void {
    const target = this.target;
    const instances = this.instances;
    // 1. The target's own options, once -j is given.
    const tspec = target?.spec?.options.get(opt);
    if (tspec) return this.giveKnown(target!, tspec, opt);
    // 2. Options of a loaded match, latest first.
    for (let k = instances.length - 1; k >= 0; k--) {
      const inst = instances[k]!;
      const spec = inst.spec?.options.get(opt);
      if (spec) return this.giveKnown(inst, spec, opt);
    }
    // 3. `-p tcp --dport 80`: the protocol's match is loaded implicitly.
    const protocol = this.protocol;
    if (protocol && !protocol.invert) {
      const implicit = IMPLICIT_BY_PROTOCOL.get(protocol.name);
      const spec = implicit?.options.get(opt);
      if (implicit && spec && !instances.some((x) => x.module === implicit.name)) {
        const inst: Instance = { module: implicit.name, spec: implicit, given: [], raw: [] };
        instances.push(inst);
        return this.giveKnown(inst, spec, opt);
      }
    }
    // 4. An option nobody here knows: it belongs to the target after -j, else to the last -m.
    const owner: Instance | TargetState | undefined = target ?? instances[instances.length - 1];
    if (!owner || (owner === target && target.kind !== 'extension' && target.kind !== 'unknown')) {
      throw new RuleError(
        `unknown option ${opt}${target ? ` for -${target.kind === 'goto' ? 'g' : 'j'} ${target.name}` : ''}`,
      );
    }
    // An option of a modelled match that no loaded match claims is an error, as in iptables
    // ("unknown option"), not an unmodelled option: e.g. `--dport` before any `-p tcp`.
    if (MATCH_OPTIONS.has(opt)) {
      if (owner === target || owner.spec !== undefined) {
        const where = owner === target ? `-j ${target.name}` : `-m ${(owner as Instance).module}`;
        throw new RuleError(
          `unknown option ${opt} for ${where}${IMPLICIT_OPTIONS.has(opt) ? ' (it needs -p tcp, udp, sctp or icmp before it)' : ''}`,
        );
      }
      if (!protocol) throw new RuleError(`option ${opt} needs a -p before it`);
    }
    if (owner.unsupported === undefined) owner.unsupported = opt;
    if (this.invert) owner.raw.push('!');
    this.invert = false;
    owner.raw.push(opt);
    const tokens = this.tokens;
    while (this.i + 1 < this.n) {
      const next = tokens[this.i + 1]!;
      if (!next.quoted && (next.text === '!' || (next.text.length > 1 && next.text[0] === '-')))
        break;
      owner.raw.push(next.text);
      this.i++;
    }
  }

  private giveKnown(owner: Instance | TargetState, spec: OptSpec, written: string): void {
    const inv = this.takeInvert(written, spec.invertible);
    for (const g of owner.given) {
      if (g.opt === spec.canon) {
        throw new RuleError(
          `${spec.canon} given twice${'module' in owner ? ` in -m ${owner.module}` : ` for -j ${owner.name}`}`,
        );
      }
    }
    const values: string[] = [];
    const any = spec.anyValue === true;
    if (spec.arity === 1) values.push(this.value(written, any).text);
    else if (spec.arity === 2) values.push(this.value(written).text, this.value(written).text);
    else if (spec.arity === 'words') {
      const first = this.value(written, any);
      values.push(first.text);
      // kube-proxy's test fixtures write multi-word comments unquoted: take words up to the next option.
      if (!first.quoted) {
        const tokens = this.tokens;
        while (this.i + 1 < this.n) {
          const next = tokens[this.i + 1]!;
          if (next.quoted || next.text === '!' || next.text.startsWith('-')) break;
          values.push(next.text);
          this.i++;
        }
      }
    }
    owner.given.push({ opt: spec.canon, values, invert: inv });
    if (inv) owner.raw.push('!');
    owner.raw.push(written);
    for (const v of values) owner.raw.push(v);
  }

  private finish(): RuleBody {
    const ctx: BuildContext = {
      ...(this.protocol ? { protocol: this.protocol } : {}),
      ...(this.family === 'ipv6' ? { family: 'ipv6' as const } : {}),
    };
    const matches: Match[] = [];
    for (const m of this.basics) if (m) matches.push(m);
    for (const inst of this.instances) {
      if (!inst.spec) {
        matches.push({ kind: 'unsupported', module: inst.module, args: inst.raw });
        this.warn(`-m ${inst.module}: match module not modelled`, `-m ${inst.module}`);
        continue;
      }
      if (inst.unsupported !== undefined) {
        matches.push({ kind: 'unsupported', module: inst.module, args: inst.raw });
        this.warn(
          `-m ${inst.module}: option ${inst.unsupported} is not modelled`,
          inst.unsupported,
        );
        continue;
      }
      const r = inst.spec.build(inst.given, ctx);
      if (!r.ok && r.unsupported !== undefined) {
        matches.push({ kind: 'unsupported', module: inst.module, args: inst.raw });
        this.warn(`-m ${inst.module}: ${r.error} is not modelled`, r.unsupported);
        continue;
      }
      if (!r.ok) throw new RuleError(`-m ${inst.module}: ${r.error}`, CODE_VALUE);
      matches.push(r.value);
    }

    const target = this.target;
    let tgt: Target | undefined;
    let ctNotrack = false;
    if (target) {
      if (target.kind === 'chain') tgt = { kind: 'jump', chain: target.name };
      else if (target.kind === 'goto') tgt = { kind: 'goto', chain: target.name };
      else if (
        target.kind === 'unknown' ||
        target.unsupported !== undefined ||
        (target.name === 'CT' && !target.given.some((g) => g.opt === '--notrack'))
      ) {
        tgt = { kind: 'unsupported', name: target.name, args: target.raw };
        this.warn(
          target.unsupported !== undefined
            ? `-j ${target.name}: option ${target.unsupported} is not modelled`
            : `-j ${target.name}${target.raw.length ? ` ${target.raw.join(' ')}` : ''}: target not modelled`,
          target.unsupported ?? `-j ${target.name}`,
        );
      } else {
        const r = target.spec!.build(target.given, ctx);
        if (!r.ok) throw new RuleError(`-j ${target.name}: ${r.error}`, CODE_VALUE);
        tgt = r.value;
        ctNotrack = target.name === 'CT';
      }
    }
    if (tgt) {
      const body = { matches, target: tgt };
      return { matches, target: tgt, text: formatRule(body, ctNotrack ? CT_NOTRACK : NO_OPTS) };
    }
    return { matches, text: formatRule({ matches }, NO_OPTS) };
  }
}

const MODULE_NAME = /^[A-Za-z0-9_.-]{1,28}$/;
const BAD_NAME = /[\s"]/;
const CT_NOTRACK = { ctNotrack: true };
const NO_OPTS = {};

/**
 * One rule spec, e.g. `-m tcp -p tcp -d 10.96.0.1 --dport 443 -j KUBE-SVC-X`
 * (no `-A CHAIN`), for code that builds rules programmatically. Jump targets
 * are not checked against any table. On an error the rule is empty and the
 * diagnostics say why.
 */
export function parseRule(
  args: string,
  source: SourceRef = {},
): { rule: Rule; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const where = {
    ...(source.file !== undefined ? { file: source.file } : {}),
    ...(source.line !== undefined ? { line: source.line } : {}),
  };
  const tk = tokenizeLine(args);
  if (!tk.ok) {
    diagnostics.push({ code: CODE_SYNTAX, severity: 'error', message: tk.error, ...where });
    return { rule: { matches: [], text: '', source }, diagnostics };
  }
  const body = parseRuleTokens(tk.tokens, 0, source, diagnostics);
  if (!body) return { rule: { matches: [], text: '', source }, diagnostics };
  return { rule: { ...body, source }, diagnostics };
}
