/**
 * Reading a host's routing state as iproute2 prints it, in whichever form it
 * was saved, detected from the text and named in every message:
 *
 * - `ip route show table all` text (ip-route.ts reads each line), and
 *   `ip rule show` text (`PRIO:<tab>from … lookup TABLE`) in the same file
 *   (`{ ip rule; ip route show table all; } > host.txt`);
 * - `ip -j route show table all` and `ip -j rule show` JSON: one array per
 *   command, several arrays one after another.
 *
 * What is not IPv4 routing is said, not swallowed: `ip -6 route` lines are
 * counted into one warning (the model looks up IPv4 routes), and a file with
 * no IPv4 route at all — empty, only IPv6, or not iproute2 output — is an
 * error, never an empty FIB that would silently fail every rpfilter check.
 * Policy rules given replace the kernel's three default rules, as a dump of
 * `ip rule` is the whole list.
 */
import type { Diagnostic } from '../diag.js';
import { parseCidr } from '../wire/addr.js';
import { parseTable, type PolicyRule, type Route, type RuleAction } from './fib.js';
import { parseIpRoutes } from './ip-route.js';

export const CODE_ROUTES_FORMAT = 'ip-route-format';
export const CODE_ROUTES_IPV6 = 'ip-route-ipv6-not-modelled';
export const CODE_RULE_SYNTAX = 'ip-rule-syntax';

export interface IpDump {
  /** `ip route text`, `ip -j route JSON`, with `+ ip rule` when rules were read. */
  readonly format: string;
  readonly routes: Route[];
  /** The policy rules, when the dump has them (else the kernel's defaults apply). */
  readonly rules?: PolicyRule[];
  readonly diagnostics: Diagnostic[];
}

const EXPECTED =
  'expected the output of `ip route show table all` (text, or `ip -j route show table all` JSON), optionally with `ip rule show`';

/** Reads routes and policy rules from iproute2 output, detecting text or JSON. */
export function readIpDump(text: string, file?: string): IpDump {
  const at = text.search(/\S/);
  if (at < 0) {
    return {
      format: 'empty',
      routes: [],
      diagnostics: [diag(CODE_ROUTES_FORMAT, 'error', `the file is empty: ${EXPECTED}`, file)],
    };
  }
  const json = text[at] === '[' || text[at] === '{';
  const r = json ? readJson(text, file) : readText(text, file);
  const diagnostics = [...r.diagnostics];
  const format =
    `${json ? 'ip -j route JSON' : 'ip route text'}` + (r.rules.length > 0 ? ' + ip rule' : '');
  if (r.v6 > 0) {
    diagnostics.push(
      diag(
        CODE_ROUTES_IPV6,
        r.routes.length > 0 ? 'warning' : 'error',
        `${r.v6} IPv6 route${r.v6 === 1 ? '' : 's'} (ip -6 route) ${r.routes.length > 0 ? 'not used' : 'and no IPv4 route'}: ` +
          '--routes models IPv4 routing (what -m rpfilter looks up for an IPv4 packet)',
        file,
        r.v6Line,
        r.routes.length > 0 ? undefined : 'give `ip route show table all` (IPv4) output',
      ),
    );
  }
  if (r.routes.length === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push(
      diag(
        CODE_ROUTES_FORMAT,
        'error',
        `no IPv4 route in the file${r.rules.length > 0 ? ' (only `ip rule` lines)' : ''}: ${EXPECTED}`,
        file,
      ),
    );
  }
  return {
    format,
    routes: r.routes,
    ...(r.rules.length > 0 ? { rules: r.rules } : {}),
    diagnostics,
  };
}

interface Read {
  routes: Route[];
  rules: PolicyRule[];
  diagnostics: Diagnostic[];
  v6: number;
  v6Line?: number;
}

function diag(
  code: string,
  severity: 'error' | 'warning',
  message: string,
  file: string | undefined,
  line?: number,
  hint?: string,
): Diagnostic {
  return {
    code,
    severity,
    message,
    ...(file !== undefined ? { file } : {}),
    ...(line !== undefined ? { line } : {}),
    ...(hint !== undefined ? { hint } : {}),
  };
}

/** Is this `ip route` line (or its destination) IPv6? */
function isV6Route(words: readonly string[]): boolean {
  const dst =
    /^(?:unicast|local|broadcast|blackhole|unreachable|prohibit|throw|multicast|anycast)$/.test(
      words[0] ?? '',
    )
      ? words[1]
      : words[0];
  return (
    /^[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*(?:\/\d{1,3})?$/.test(dst ?? '') ||
    words.includes('inet6')
  );
}

function readText(text: string, file: string | undefined): Read {
  const lines = text.split('\n');
  const routeLines: string[] = [];
  const out: Read = { routes: [], rules: [], diagnostics: [], v6: 0 };
  let routeCount = 0;
  const foreign: Diagnostic[] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    routeLines.push('');
    if (line === '' || line.startsWith('#')) return;
    if (/^\d+:\s/.test(line)) {
      const r = parseRuleLine(line);
      if (typeof r === 'string')
        out.diagnostics.push(
          diag(
            CODE_RULE_SYNTAX,
            'error',
            `${r}: ${line}`,
            file,
            i + 1,
            'give the output of `ip rule show`',
          ),
        );
      else out.rules.push(r);
      return;
    }
    const words = line.split(/\s+/);
    if (isV6Route(words)) {
      if (out.v6++ === 0) out.v6Line = i + 1;
      return;
    }
    routeCount++;
    if (words.some((x) => x.includes(':'))) {
      // ip-route.ts passes over a destination with a colon as IPv6; this one is not.
      const what = words.find((x) => x.includes(':'))!;
      foreign.push(
        diag(
          'ip-route-syntax',
          'error',
          `"${what}" is not part of an IPv4 route: ${line}`,
          file,
          i + 1,
        ),
      );
      return;
    }
    routeLines[i] = line;
  });
  const parsed = parseIpRoutes(routeLines.join('\n'), file);
  out.routes = parsed.routes;
  parsed.diagnostics.push(...foreign);
  parsed.diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (routeCount > 0 && errors.length === routeCount && out.rules.length === 0) {
    // Nothing in the file read as a route: it is not `ip route` output at all.
    const first = errors[0]!;
    out.diagnostics.push(
      diag(
        CODE_ROUTES_FORMAT,
        'error',
        `not \`ip route\` output (line ${first.line ?? '?'}: ${first.message}): ${EXPECTED}`,
        file,
        first.line,
      ),
    );
  } else out.diagnostics.push(...parsed.diagnostics);
  return out;
}

/** The JSON values in `text`: one document, or several arrays one after another (one per command). */
function jsonValues(text: string): { value: unknown; line: number }[] | string {
  try {
    return [{ value: JSON.parse(text), line: 1 }];
  } catch {
    // Several documents: each starts on a line of its own.
  }
  const out: { value: unknown; line: number }[] = [];
  const lines = text.split('\n');
  let start = -1;
  for (let i = 0; i <= lines.length; i++) {
    const l = i < lines.length ? lines[i]! : '[';
    if (/^\s*[[{]/.test(l) || i === lines.length) {
      if (start >= 0) {
        const chunk = lines.slice(start, i).join('\n');
        try {
          out.push({ value: JSON.parse(chunk), line: start + 1 });
        } catch (e) {
          return `line ${start + 1}: not JSON (${(e as Error).message})`;
        }
      }
      start = i;
    } else if (start < 0 && l.trim() !== '') return `line ${i + 1}: not JSON`;
  }
  return out;
}

function readJson(text: string, file: string | undefined): Read {
  const out: Read = { routes: [], rules: [], diagnostics: [], v6: 0 };
  const values = jsonValues(text);
  if (typeof values === 'string') {
    out.diagnostics.push(diag(CODE_ROUTES_FORMAT, 'error', `${values}: ${EXPECTED}`, file));
    return out;
  }
  const routeText: { text: string; line: number; element: number }[] = [];
  for (const { value, line } of values) {
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item: unknown, k) => {
      const bad = (message: string, code = CODE_ROUTES_FORMAT): void => {
        out.diagnostics.push(diag(code, 'error', `element ${k + 1}: ${message}`, file, line));
      };
      if (item === null || typeof item !== 'object' || Array.isArray(item))
        return bad(`expected an object, got ${JSON.stringify(item)?.slice(0, 40)}: ${EXPECTED}`);
      const o = item as Record<string, unknown>;
      if ('priority' in o) {
        const r = parseRuleLine(jsonRuleText(o));
        if (typeof r === 'string') bad(r, CODE_RULE_SYNTAX);
        else out.rules.push(r);
        return;
      }
      if (!('dst' in o))
        return bad(
          `neither an \`ip -j route\` object (no "dst") nor an \`ip -j rule\` one (no "priority"): ${EXPECTED}`,
        );
      if (String(o['dst']).includes(':')) {
        if (out.v6++ === 0) out.v6Line = line;
        return;
      }
      if ('nexthops' in o) return bad('multipath routes (nexthops) are not modelled');
      routeText.push({ text: jsonRouteText(o), line, element: k + 1 });
    });
  }
  for (const r of routeText) {
    const p = parseIpRoutes(r.text, file);
    for (const d of p.diagnostics)
      out.diagnostics.push({ ...d, line: r.line, message: `element ${r.element}: ${d.message}` });
    for (const route of p.routes) out.routes.push({ ...route, seq: out.routes.length });
  }
  return out;
}

const str = (v: unknown): string => String(v);

/** An `ip -j route` object as the `ip route` line it stands for. */
function jsonRouteText(o: Record<string, unknown>): string {
  const w: string[] = [];
  if (o['type'] !== undefined && o['type'] !== 'unicast') w.push(str(o['type']));
  w.push(str(o['dst']));
  if (o['tos'] !== undefined) w.push('tos', str(o['tos']));
  if (o['gateway'] !== undefined) w.push('via', str(o['gateway']));
  if (o['dev'] !== undefined) w.push('dev', str(o['dev']));
  if (o['table'] !== undefined) w.push('table', str(o['table']));
  if (o['protocol'] !== undefined) w.push('proto', str(o['protocol']));
  if (o['scope'] !== undefined) w.push('scope', str(o['scope']));
  if (o['prefsrc'] !== undefined) w.push('src', str(o['prefsrc']));
  if (o['metric'] !== undefined) w.push('metric', str(o['metric']));
  const flags = Array.isArray(o['flags']) ? (o['flags'] as unknown[]).map(str) : [];
  if (flags.includes('onlink')) w.push('onlink');
  return w.join(' ');
}

/** An `ip -j rule` object as the `ip rule` line it stands for. */
function jsonRuleText(o: Record<string, unknown>): string {
  const w: string[] = [`${str(o['priority'])}:`];
  if ('not' in o) w.push('not');
  const addr = (v: unknown, len: unknown): string =>
    v === undefined || v === 'all' ? 'all' : len !== undefined ? `${str(v)}/${str(len)}` : str(v);
  w.push('from', addr(o['src'], o['srclen']));
  if (o['dst'] !== undefined) w.push('to', addr(o['dst'], o['dstlen']));
  if (o['tos'] !== undefined) w.push('tos', str(o['tos']));
  if (o['fwmark'] !== undefined)
    w.push(
      'fwmark',
      o['fwmask'] !== undefined ? `${str(o['fwmark'])}/${str(o['fwmask'])}` : str(o['fwmark']),
    );
  if (o['iif'] !== undefined) w.push('iif', str(o['iif']));
  if (o['oif'] !== undefined) w.push('oif', str(o['oif']));
  for (const k of [
    'goto',
    'suppress_prefixlen',
    'uid_start',
    'ipproto',
    'sport',
    'dport',
    'l3mdev',
    'realms',
  ])
    if (o[k] !== undefined) w.push(k === 'uid_start' ? 'uidrange' : k, str(o[k]));
  if (o['table'] !== undefined) w.push('lookup', str(o['table']));
  else if (o['action'] !== undefined) w.push(str(o['action']));
  return w.join(' ');
}

const ACTIONS: Readonly<Record<string, RuleAction>> = {
  blackhole: { kind: 'blackhole' },
  unreachable: { kind: 'unreachable' },
  prohibit: { kind: 'prohibit' },
};

/** One `ip rule show` line (fib_rules.c / iproute2 iprule.c print order), or what is wrong with it. */
export function parseRuleLine(line: string): PolicyRule | string {
  const m = /^(\d+):\s*(.*)$/.exec(line.trim());
  if (!m) return 'expected PRIORITY: from … lookup TABLE';
  const w = m[2]!.split(/\s+/).filter((x) => x !== '' && x !== '[detached]');
  let invert = false;
  let from: PolicyRule['from'];
  let to: PolicyRule['to'];
  let iif: string | undefined;
  let oif: string | undefined;
  let fwmark: PolicyRule['fwmark'];
  let action: RuleAction | undefined;
  const cidr = (v: string): PolicyRule['from'] =>
    v === 'all' ? undefined : parseCidr(v.includes('/') ? v : `${v}/32`);
  try {
    for (let k = 0; k < w.length; k++) {
      const key = w[k]!;
      if (key === 'not') {
        invert = true;
        continue;
      }
      if (ACTIONS[key]) {
        action = ACTIONS[key];
        continue;
      }
      const val = w[++k];
      if (val === undefined) return `"${key}" without a value`;
      switch (key) {
        case 'from':
          if (val.includes(':')) return 'an IPv6 rule (ip -6 rule) is not modelled';
          from = cidr(val);
          break;
        case 'to':
          if (val.includes(':')) return 'an IPv6 rule (ip -6 rule) is not modelled';
          to = cidr(val);
          break;
        case 'iif':
          iif = val;
          break;
        case 'oif':
          oif = val;
          break;
        case 'fwmark': {
          const [v, mk] = val.split('/');
          const value = Number(v);
          const mask = mk === undefined ? 0xffffffff : Number(mk);
          if (!Number.isInteger(value) || !Number.isInteger(mask))
            return `fwmark "${val}" is not a number`;
          fwmark = { value: value >>> 0, mask: mask >>> 0 };
          break;
        }
        case 'lookup':
        case 'table':
          action = { kind: 'lookup', table: parseTable(val) };
          break;
        case 'proto':
        case 'protocol':
          break;
        case 'tos':
        case 'dsfield':
          if (Number(val) !== 0) return `${key} ${val} is not modelled`;
          break;
        default:
          return `"${key}" is not modelled`;
      }
    }
  } catch (e) {
    return (e as Error).message;
  }
  if (!action) return 'no action (lookup TABLE, blackhole, unreachable or prohibit)';
  return {
    priority: Number(m[1]),
    invert,
    action,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(iif !== undefined ? { iif } : {}),
    ...(oif !== undefined ? { oif } : {}),
    ...(fwmark ? { fwmark } : {}),
  };
}
