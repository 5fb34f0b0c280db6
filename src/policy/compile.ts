/**
 * What compiling NetworkPolicy and AdminNetworkPolicy objects shares: the
 * diagnostics reporter, protocols and port names as the API validates them,
 * CIDR peers (ipBlock, ANP networks) as address ranges, and selector text.
 */
import type { Diagnostic, Location } from '../diag.js';
import { validateSelector } from '../k8s/selector.js';
import type { LabelSelector } from '../k8s/types.js';
import { isCidr, parseCidr } from '../wire/addr.js';
import { cidrRange, type AddrRange, type PeerMatcher } from './model.js';
import { PROTOCOLS, type L4Protocol } from './ports.js';

export interface Ctx {
  readonly diagnostics: Diagnostic[];
  readonly cidrs: Map<string, AddrRange>;
}

export function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function refOf(kind: string, meta: Record<string, unknown>): string {
  const name = typeof meta.name === 'string' ? meta.name : '<unnamed>';
  const ns = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}

export class Reporter {
  ok = true;
  constructor(
    private readonly ctx: Ctx,
    private readonly origin: Location | undefined,
    private readonly object: string,
  ) {}
  error(code: string, field: string, message: string, hint?: string): void {
    this.ok = false;
    this.push('error', code, field, message, hint);
  }
  warn(code: string, field: string, message: string, hint?: string): void {
    this.push('warning', code, field, message, hint);
  }
  info(code: string, field: string, message: string): void {
    this.push('info', code, field, message);
  }
  private push(
    severity: Diagnostic['severity'],
    code: string,
    field: string,
    message: string,
    hint?: string,
  ): void {
    this.ctx.diagnostics.push({
      ...(this.origin ?? {}),
      object: this.object,
      ...(field ? { field } : {}),
      code,
      severity,
      message,
      ...(hint ? { hint } : {}),
    });
  }
  selector(sel: unknown, field: string): LabelSelector | undefined {
    if (sel === undefined || sel === null) return undefined;
    const problems = validateSelector(sel as LabelSelector);
    for (const p of problems)
      this.error('policy-bad-selector', p.field ? `${field}.${p.field}` : field, p.message);
    return problems.length === 0 ? (sel as LabelSelector) : undefined;
  }
}

export function protocolOf(r: Reporter, v: unknown, field: string): L4Protocol | undefined {
  if (v === undefined || v === null) return 'TCP';
  if (typeof v === 'string' && (PROTOCOLS as readonly string[]).includes(v)) return v as L4Protocol;
  const upper = typeof v === 'string' ? v.toUpperCase() : '';
  r.error(
    'policy-bad-protocol',
    field,
    `protocol ${JSON.stringify(v)} is not one of TCP, UDP, SCTP`,
    (PROTOCOLS as readonly string[]).includes(upper)
      ? `protocols are upper case: write ${upper}`
      : undefined,
  );
  return undefined;
}

// IANA_SVC_NAME (k8s.io/apimachinery validation.IsValidPortName): 1-15 chars,
// lower-case alphanumerics and '-', at least one letter, no leading/trailing
// or double '-'.
export function isPortName(s: string): boolean {
  return (
    s.length >= 1 &&
    s.length <= 15 &&
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) &&
    /[a-z]/.test(s) &&
    !s.includes('--')
  );
}

export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

export function ipMatcher(
  r: Reporter,
  ctx: Ctx,
  cidrs: unknown[],
  excepts: unknown[],
  field: string,
  exceptField: string,
): PeerMatcher | undefined {
  const include: AddrRange[] = [];
  const exclude: AddrRange[] = [];
  let ok = true;
  cidrs.forEach((c, i) => {
    const f = cidrs.length > 1 || field.endsWith('networks') ? `${field}[${i}]` : field;
    if (typeof c === 'string' && c.includes(':')) {
      r.info('policy-ipv6-ignored', f, `IPv6 CIDR ${c} matches nothing in the twin's IPv4 world`);
      return;
    }
    if (typeof c !== 'string' || !isCidr(c)) {
      r.error('policy-bad-cidr', f, `${JSON.stringify(c)} is not an IPv4 CIDR like 10.0.0.0/8`);
      ok = false;
      return;
    }
    include.push(cidrRange(c));
  });
  excepts.forEach((c, i) => {
    const f = `${exceptField}[${i}]`;
    if (typeof c === 'string' && c.includes(':')) return;
    if (typeof c !== 'string' || !isCidr(c)) {
      r.error('policy-bad-cidr', f, `${JSON.stringify(c)} is not an IPv4 CIDR like 10.0.0.0/8`);
      ok = false;
      return;
    }
    const e = cidrRange(c);
    // ValidateIPBlock: each except must be a strict subset of cidr.
    const outer = include[0];
    if (
      outer &&
      !(e.lo >= outer.lo && e.hi <= outer.hi && (e.lo !== outer.lo || e.hi !== outer.hi))
    ) {
      r.error('policy-bad-except', f, `except ${c} must be strictly inside cidr ${outer.text}`);
      ok = false;
      return;
    }
    exclude.push(e);
  });
  if (!ok) return undefined;
  for (const x of [...include, ...exclude]) ctx.cidrs.set(x.text, canonicalRange(x));
  const text =
    include.map((x) => x.text).join(',') +
    (exclude.length ? ` except ${exclude.map((x) => x.text).join(',')}` : '');
  return { kind: 'ip', include, exclude, text: include.length ? text : 'no IPv4 addresses' };
}

function canonicalRange(x: AddrRange): AddrRange {
  // Name external ranges by their canonical network (10.0.1.7/24 -> 10.0.1.0/24).
  const c = parseCidr(x.text);
  return { ...x, text: `${c.network}/${c.prefix}` };
}

export function fmt(sel: LabelSelector | undefined): string {
  if (sel === undefined) return '<none>';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vs = (e.values ?? []).join(',');
    parts.push(
      e.operator === 'In'
        ? `${e.key} in (${vs})`
        : e.operator === 'NotIn'
          ? `${e.key} notin (${vs})`
          : e.operator === 'Exists'
            ? e.key
            : `!${e.key}`,
    );
  }
  return parts.length ? `{${parts.join(',')}}` : '{} (all)';
}
