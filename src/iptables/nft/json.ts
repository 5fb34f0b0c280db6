/**
 * Reads `nft -j list ruleset` (libnftables' JSON, schema version 1) into
 * the same model as the text reader: tables, chains (with `prio` numeric),
 * rules as expression lists, sets and maps with their elements. Literals
 * are typed by the selector or set type they meet, as in text (values.ts).
 * An expression the reader does not know becomes `unsupported` with a
 * warning naming the rule (JSON has no lines: the rule's position in the
 * array, `nftables[N]`, stands in the message).
 */
import type { Diagnostic } from '../../diag.js';
import type {
  NftAtom,
  NftElement,
  NftExpr,
  NftFamily,
  NftHook,
  NftRule,
  NftSet,
  NftTable,
  NftType,
  NftVerdict,
  Selector,
  SetRef,
} from '../../kernel/netfilter/nft-types.js';
import type { NftParseResult } from './parse.js';
import { byteUnit, FLAG_TYPES, parseAtom, TIME_UNITS, TYPE_NAMES, typeOf } from './values.js';

type J = unknown;
type O = Record<string, J>;

class JsonError extends Error {}

const isObj = (x: J): x is O => typeof x === 'object' && x !== null && !Array.isArray(x);

function only(x: J): [string, J] {
  if (!isObj(x)) throw new JsonError(`expected an object, found ${JSON.stringify(x)}`);
  const ks = Object.keys(x);
  if (ks.length !== 1) throw new JsonError(`expected one key, found ${ks.join(', ')}`);
  return [ks[0]!, x[ks[0]!]];
}

function selector(x: J): Selector {
  const [k, v] = only(x);
  const o = isObj(v) ? v : {};
  switch (k) {
    case 'payload':
      return {
        kind: 'payload',
        proto: String(o.protocol) as Extract<Selector, { kind: 'payload' }>['proto'],
        field: String(o.field),
      };
    case 'meta':
      return { kind: 'meta', key: String(o.key) };
    case 'ct': {
      const dir = o.dir === 'original' || o.dir === 'reply' ? o.dir : undefined;
      const family = o.family === 'ip' || o.family === 'ip6' ? o.family : undefined;
      return {
        kind: 'ct',
        key: String(o.key),
        ...(dir ? { dir } : {}),
        ...(family ? { family } : {}),
      };
    }
    case 'fib': {
      const flags = (Array.isArray(o.flags) ? o.flags : [o.flags]).map(String);
      return {
        kind: 'fib',
        flags: flags as ('saddr' | 'daddr')[],
        result: String(o.result) as 'type',
      };
    }
    case 'numgen':
      return {
        kind: 'numgen',
        mode: o.mode === 'inc' ? 'inc' : 'random',
        mod: Number(o.mod),
        offset: Number(o.offset ?? 0),
      };
    case '&':
    case '|':
    case '^': {
      const [inner, value] = Array.isArray(v) ? v : [];
      return {
        kind: 'bitwise',
        inner: selector(inner),
        op: k === '&' ? 'and' : k === '|' ? 'or' : 'xor',
        value: Number(value),
      };
    }
  }
  throw new JsonError(`"${k}" is not a selector packeteye reads`);
}

function selectors(x: J): Selector[] {
  if (isObj(x) && 'concat' in x && Array.isArray(x.concat)) return x.concat.map(selector);
  return [selector(x)];
}

function atom(v: J, type: NftType): NftAtom {
  if (isObj(v) && 'prefix' in v && isObj(v.prefix))
    return atom(`${String(v.prefix.addr)}/${String(v.prefix.len)}`, type);
  if (isObj(v) && 'range' in v && Array.isArray(v.range)) {
    const a = atom(v.range[0], type);
    const b = atom(v.range[1], type);
    if (a.kind !== 'value' || b.kind !== 'value') throw new JsonError('a range of ranges');
    return { kind: 'range', from: a.value, to: b.value };
  }
  const a = parseAtom(String(v), type);
  if (!a) throw new JsonError(`${JSON.stringify(v)} is not a value of type ${type}`);
  return a;
}

function key(v: J, types: readonly NftType[]): NftAtom[] {
  if (isObj(v) && 'concat' in v && Array.isArray(v.concat))
    return v.concat.map((c, i) => atom(c, types[Math.min(i, types.length - 1)]!));
  if (isObj(v) && 'elem' in v && isObj(v.elem)) return key(v.elem.val, types);
  return [atom(v, types[0]!)];
}

function verdict(x: J): NftVerdict | undefined {
  if (!isObj(x)) return undefined;
  for (const k of ['accept', 'drop', 'continue', 'return'] as const) if (k in x) return { kind: k };
  for (const k of ['jump', 'goto'] as const)
    if (k in x && isObj(x[k])) return { kind: k, chain: String((x[k] as O).target) };
  return undefined;
}

function elements(
  list: J,
  types: readonly NftType[],
  data: readonly NftType[] | undefined,
): NftElement[] {
  if (!Array.isArray(list)) return [];
  return list.map((e): NftElement => {
    if (Array.isArray(e) && e.length === 2) {
      const v = data?.[0] === 'verdict' ? verdict(e[1]) : undefined;
      const comment = isObj(e[0]) && isObj(e[0].elem) ? e[0].elem.comment : undefined;
      return {
        key: key(e[0], types),
        ...(v ? { verdict: v } : { data: key(e[1], data ?? ['integer']) }),
        ...(typeof comment === 'string' ? { comment } : {}),
      };
    }
    return { key: key(e, types) };
  });
}

function setRef(x: J, types: readonly NftType[], data?: readonly NftType[]): SetRef {
  if (typeof x === 'string' && x.startsWith('@')) return { kind: 'named', name: x.slice(1) };
  if (isObj(x) && 'set' in x) {
    const set: NftSet = {
      name: '',
      keyType: types,
      ...(data ? { dataType: data } : {}),
      flags: ['constant', 'anonymous'],
      elements: elements(x.set, types, data),
      source: {},
    };
    return { kind: 'anonymous', set };
  }
  throw new JsonError(`expected @set or an anonymous set, found ${JSON.stringify(x)}`);
}

const OPS: Readonly<Record<string, '==' | '!=' | '<' | '>' | '<=' | '>='>> = {
  '==': '==',
  '!=': '!=',
  '<': '<',
  '>': '>',
  '<=': '<=',
  '>=': '>=',
  in: '==',
};

function expr(x: J): NftExpr | null {
  const [k, v] = only(x);
  const vd = verdict(x);
  if (vd) return { kind: 'verdict', verdict: vd };
  const o = isObj(v) ? v : {};
  switch (k) {
    case 'match': {
      const left = selectors(o.left);
      const types = left.map(typeOf);
      const op = OPS[String(o.op)];
      if (!op) throw new JsonError(`match op ${String(o.op)}`);
      const r = o.right;
      if ((typeof r === 'string' && r.startsWith('@')) || (isObj(r) && 'set' in r)) {
        const set = setRef(r, types);
        if (FLAG_TYPES.has(types[0]!) && set.kind === 'anonymous')
          return {
            kind: 'cmp',
            left,
            op,
            right: set.set.elements.map((e) => e.key[0]!),
            flags: true,
          };
        return { kind: 'lookup', left, set, invert: op === '!=' };
      }
      if (FLAG_TYPES.has(types[0]!) && types.length === 1) {
        const list = Array.isArray(r) ? r : [r];
        return {
          kind: 'cmp',
          left,
          op: op === '!=' ? '!=' : '==',
          right: list.map((a) => atom(a, types[0]!)),
          flags: true,
        };
      }
      if (typeof r === 'boolean' && left.length === 1 && left[0]!.kind === 'fib') {
        // `fib … oif missing` is `== false`, `exists` `== true`.
        const none = !r === (op !== '!=');
        return {
          kind: 'cmp',
          left,
          op: none ? '==' : '!=',
          right: [{ kind: 'value', value: '' }],
          flags: false,
        };
      }
      return { kind: 'cmp', left, op, right: key(r, types), flags: false };
    }
    case 'vmap': {
      const left = selectors(o.key);
      return { kind: 'vmap', left, map: setRef(o.data, left.map(typeOf), ['verdict']) };
    }
    case 'counter':
      return { kind: 'counter' };
    case 'notrack':
      return { kind: 'notrack' };
    case 'log':
      return { kind: 'log', ...(typeof o.prefix === 'string' ? { prefix: o.prefix } : {}) };
    case 'reject':
      if (o.type === 'tcp reset')
        return { kind: 'reject', with: { type: 'tcp-reset', code: 'reset' } };
      return o.type === undefined
        ? { kind: 'reject' }
        : { kind: 'reject', with: { type: String(o.type) as 'icmp', code: String(o.expr) } };
    case 'mangle': {
      const target = selector(o.key);
      if (target.kind !== 'meta' && target.kind !== 'ct')
        throw new JsonError('mangle of a payload');
      if (target.key !== 'mark') throw new JsonError(`${target.kind} ${target.key} set`);
      const value =
        typeof o.value === 'number'
          ? { kind: 'const' as const, value: o.value }
          : { kind: 'expr' as const, from: selector(o.value) };
      return { kind: 'set-mark', target: target.kind, value };
    }
    case 'masquerade':
    case 'dnat':
    case 'snat':
    case 'redirect': {
      const flags = (Array.isArray(o.flags) ? o.flags : o.flags === undefined ? [] : [o.flags]).map(
        String,
      );
      const addr = typeof o.addr === 'string' ? { from: o.addr, to: o.addr } : undefined;
      if (o.addr !== undefined && !addr) throw new JsonError(`${k} to a mapped address`);
      const port = typeof o.port === 'number' ? { from: o.port, to: o.port } : undefined;
      return { kind: 'nat', type: k, ...(addr ? { addr } : {}), ...(port ? { port } : {}), flags };
    }
    case 'set': {
      const name = String(o.set);
      if (!name.startsWith('@') || (o.op !== 'update' && o.op !== 'add'))
        throw new JsonError(`set ${String(o.op)}`);
      return { kind: 'set-update', op: o.op, set: name.slice(1), key: selectors(o.elem) };
    }
    case 'limit': {
      const per = TIME_UNITS[String(o.per ?? 'second')];
      if (!per) throw new JsonError(`limit per ${String(o.per)}`);
      const over = o.inv === true;
      if (o.rate_unit === undefined || o.rate_unit === 'packets')
        return { kind: 'limit', rate: Number(o.rate), per, burst: Number(o.burst ?? 5), over };
      const unit = byteUnit(String(o.rate_unit));
      const burstUnit = byteUnit(String(o.burst_unit ?? 'bytes'));
      if (unit === undefined || burstUnit === undefined)
        throw new JsonError(`limit in ${String(o.rate_unit)}`);
      const burst = Number(o.burst ?? 0) * burstUnit;
      return { kind: 'limit', rate: Number(o.rate) * unit, per, burst, over, bytes: true };
    }
    case 'quota': {
      const unit = byteUnit(String(o.val_unit ?? 'bytes'));
      const usedUnit = byteUnit(String(o.used_unit ?? 'bytes'));
      if (unit === undefined || usedUnit === undefined)
        throw new JsonError(`quota in ${String(o.val_unit)}`);
      const used = Number(o.used ?? 0) * usedUnit;
      return { kind: 'quota', bytes: Number(o.val) * unit, used, over: o.inv === true };
    }
  }
  throw new JsonError(`"${k}" is not an expression packeteye models`);
}

function types(x: J): NftType[] {
  const list = Array.isArray(x) ? x : [x];
  return list.map((t) => {
    const ty = Object.prototype.hasOwnProperty.call(TYPE_NAMES, String(t))
      ? TYPE_NAMES[String(t)]
      : undefined;
    if (!ty) throw new JsonError(`type ${String(t)} is not modelled`);
    return ty;
  });
}

/** Reads `nft -j list ruleset` output. */
export function parseNftJson(text: string, file?: string): NftParseResult {
  const diagnostics: Diagnostic[] = [];
  const where = (i: number) => ({
    ...(file !== undefined ? { file } : {}),
    field: `nftables[${i}]`,
  });
  let doc: J;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    diagnostics.push({
      code: 'nft-json',
      severity: 'error',
      message: `not JSON: ${(e as Error).message}`,
      ...(file !== undefined ? { file } : {}),
    });
    return { ruleset: { tables: [] }, diagnostics };
  }
  const items = isObj(doc) && Array.isArray(doc.nftables) ? doc.nftables : null;
  if (!items) {
    diagnostics.push({
      code: 'nft-json',
      severity: 'error',
      message: 'expected {"nftables": [...]} (nft -j list ruleset)',
      ...(file !== undefined ? { file } : {}),
    });
    return { ruleset: { tables: [] }, diagnostics };
  }
  const src = file !== undefined ? { file } : {};
  const tables = new Map<string, NftTable>();
  const tableOf = (o: O) => tables.get(`${String(o.family)} ${String(o.table)}`);
  items.forEach((item, i) => {
    try {
      const [k, v] = only(item);
      if (!isObj(v)) return;
      if (k === 'table') {
        tables.set(`${String(v.family)} ${String(v.name)}`, {
          family: String(v.family) as NftFamily,
          name: String(v.name),
          chains: new Map(),
          sets: new Map(),
          ...(typeof v.handle === 'number' ? { handle: v.handle } : {}),
          source: src,
        });
      } else if (k === 'chain') {
        const t = tableOf(v);
        if (!t) throw new JsonError(`chain of an unknown table ${String(v.table)}`);
        const base =
          v.hook !== undefined
            ? {
                base: {
                  type: String(v.type) as 'filter',
                  hook: String(v.hook) as NftHook,
                  priority: Number(v.prio),
                  policy: v.policy === 'drop' ? ('drop' as const) : ('accept' as const),
                },
              }
            : {};
        t.chains.set(String(v.name), {
          name: String(v.name),
          rules: [],
          ...base,
          source: src,
        });
      } else if (k === 'set' || k === 'map') {
        const t = tableOf(v);
        if (!t) throw new JsonError(`set of an unknown table ${String(v.table)}`);
        const keyType = types(v.type);
        const dataType = k === 'map' ? types(v.map) : undefined;
        const flags = (
          Array.isArray(v.flags) ? v.flags : v.flags === undefined ? [] : [v.flags]
        ).map(String);
        const timeout = typeof v.timeout === 'number' ? v.timeout : undefined;
        t.sets.set(String(v.name), {
          name: String(v.name),
          keyType,
          ...(dataType ? { dataType } : {}),
          flags,
          ...(timeout !== undefined ? { timeout } : {}),
          elements: elements(v.elem, keyType, dataType),
          source: src,
        });
      } else if (k === 'rule') {
        const t = tableOf(v);
        const ch = t?.chains.get(String(v.chain));
        if (!ch) throw new JsonError(`rule of an unknown chain ${String(v.chain)}`);
        const exprs: NftExpr[] = [];
        const list = Array.isArray(v.expr) ? v.expr : [];
        for (const e of list) {
          try {
            const x = expr(e);
            if (x) exprs.push(x);
          } catch (err) {
            if (!(err instanceof JsonError)) throw err;
            exprs.push({ kind: 'unsupported', text: JSON.stringify(e) });
            diagnostics.push({
              code: 'nft-unsupported-expression',
              severity: 'warning',
              message: `${err.message} (in ${JSON.stringify(e)})`,
              ...where(i),
            });
            break;
          }
        }
        const rule: NftRule = {
          exprs,
          // nft -j prints one line: a rule is named by its handle and its place in the array.
          text: typeof v.comment === 'string' ? `nftables[${i}] (${v.comment})` : `nftables[${i}]`,
          ...(typeof v.handle === 'number' ? { handle: v.handle } : {}),
          source: src,
        };
        ch.rules.push(rule);
      }
    } catch (err) {
      if (!(err instanceof JsonError)) throw err;
      diagnostics.push({ code: 'nft-json', severity: 'error', message: err.message, ...where(i) });
    }
  });
  return { ruleset: { tables: [...tables.values()] }, diagnostics };
}
