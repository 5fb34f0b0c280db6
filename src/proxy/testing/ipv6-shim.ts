/**
 * Test-only bridge for ip6tables text while `iptables/parse.ts` reads IPv4
 * addresses only: every IPv6 address (or prefix, or `[addr]:port`) outside
 * quoted comments is swapped for a unique placeholder in 240.0.0.0/4 (never
 * used by kube-proxy rules), the text is parsed by the real parser, and the
 * placeholders in the resulting model (`-s`/`-d` CIDR strings, DNAT
 * addresses, rule text) are swapped back. Everything but the address parsing
 * is therefore the real parser's work. Remove when parse.ts learns IPv6.
 */

import type { Diagnostic } from '../../diag.js';
import { parseIptablesSave } from '../../iptables/parse.js';
import type { Chain, Match, Rule, Ruleset, Table, Target } from '../../kernel/netfilter/types.js';
import { familyOfIp } from '../ipaddr.js';

export function parseIp6tablesSaveViaShim(
  text: string,
  file?: string,
): { ruleset: Ruleset; diagnostics: Diagnostic[] } {
  const back = new Map<string, string>();
  let n = 0;
  const placeholder = (orig: string): string => {
    n++;
    const p = `240.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    back.set(p, orig);
    return p;
  };
  if (/\b240\.\d+\.\d+\.\d+/.test(text))
    throw new Error('ipv6 shim: text already uses 240.0.0.0/4');
  const lines = text.split('\n').map((line) => {
    let inQuote = false;
    return line
      .split(' ')
      .map((tok) => {
        const quotes = (tok.match(/"/g) ?? []).length;
        const wasInQuote = inQuote;
        if (quotes % 2 === 1) inQuote = !inQuote;
        if (wasInQuote || quotes > 0 || !tok.includes(':')) return tok;
        let m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(tok);
        if (m && familyOfIp(m[1]!) === 'IPv6') return `${placeholder(m[1]!)}:${m[2]}`;
        m = /^([0-9a-fA-F:.]+)\/(\d+)$/.exec(tok);
        if (m && familyOfIp(m[1]!) === 'IPv6') return `${placeholder(tok)}/32`;
        if (familyOfIp(tok) === 'IPv6') return placeholder(tok);
        return tok;
      })
      .join(' ');
  });
  const parsed = parseIptablesSave(lines.join('\n'), file);
  /** ip6tables-save prints `-s`/`-d` always with a prefix (/128 for a host). */
  const withPrefix = (orig: string): string => (orig.includes('/') ? orig : `${orig}/128`);
  const unCidr = (cidr: string): string => {
    const orig = back.get(cidr.split('/')[0]!);
    return orig === undefined ? cidr : withPrefix(orig);
  };
  const unText = (s: string): string =>
    s.replace(/240\.\d+\.\d+\.\d+(\/32)?(:\d+)?/g, (whole, prefix?: string, port?: string) => {
      const host = whole.split(/[/:]/)[0]!;
      const orig = back.get(host);
      if (orig === undefined) return whole;
      if (prefix) return withPrefix(orig);
      if (port) return `[${orig}]${port}`;
      return orig;
    });
  const mapMatch = (m: Match): Match => {
    if (m.kind === 'source' || m.kind === 'destination') return { ...m, cidr: unCidr(m.cidr) };
    return m;
  };
  const mapTarget = (t: Target | undefined): Target | undefined => {
    if (t && t.kind === 'DNAT' && t.toAddr) {
      return {
        ...t,
        toAddr: {
          from: back.get(t.toAddr.from) ?? t.toAddr.from,
          to: back.get(t.toAddr.to) ?? t.toAddr.to,
        },
      };
    }
    return t;
  };
  const tables = new Map<Table['name'], Table>();
  for (const [name, table] of parsed.ruleset.tables) {
    const chains = new Map<string, Chain>();
    for (const [cname, chain] of table.chains) {
      const rules: Rule[] = chain.rules.map((r) => {
        const target = mapTarget(r.target);
        return {
          ...r,
          matches: r.matches.map(mapMatch),
          ...(target ? { target } : {}),
          text: unText(r.text),
        };
      });
      chains.set(cname, { ...chain, rules });
    }
    tables.set(name, { ...table, chains });
  }
  return { ruleset: { tables }, diagnostics: parsed.diagnostics };
}
