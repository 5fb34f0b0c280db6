/**
 * What compiling NetworkPolicy and AdminNetworkPolicy objects shares: the
 * notes compiling adds (lints and what the twin cannot model; the objects'
 * validity is `k8s/decode`'s, checked once as they are read), CIDR peers
 * (ipBlock, ANP networks) as address ranges, port texts, and selector text.
 */
import type { Diagnostic, Location } from '../diag.js';
import type { LabelSelector } from '../k8s/types.js';
import { isCidr, parseCidr } from '../wire/addr.js';
import { cidrRange, type AddrRange, type PeerMatcher } from './model.js';

export interface Ctx {
  readonly diagnostics: Diagnostic[];
  readonly cidrs: Map<string, AddrRange>;
}

/** Adds one object's notes (warnings and infos; never errors: the decoder refused what is invalid). */
export class Notes {
  constructor(
    private readonly ctx: Ctx,
    private readonly origin: Location | undefined,
    readonly object: string,
  ) {}
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
}

/**
 * Addresses in any of `cidrs` and none of `excepts` (ipBlock, ANP networks).
 * IPv6 prefixes match nothing in the twin's IPv4 world, and are said so.
 * Anything else that is not a CIDR was refused by the decoder; it is skipped.
 */
export function ipMatcher(
  n: Notes,
  ctx: Ctx,
  cidrs: readonly string[],
  excepts: readonly string[],
  field: string,
): PeerMatcher {
  const include: AddrRange[] = [];
  const exclude: AddrRange[] = [];
  cidrs.forEach((c, i) => {
    const f = cidrs.length > 1 || field.endsWith('networks') ? `${field}[${i}]` : field;
    if (c.includes(':')) {
      n.info('policy-ipv6-ignored', f, `IPv6 CIDR ${c} matches nothing in the twin's IPv4 world`);
      return;
    }
    if (isCidr(c)) include.push(cidrRange(c));
  });
  for (const c of excepts) if (isCidr(c)) exclude.push(cidrRange(c));
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
