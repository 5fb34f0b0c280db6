/**
 * `ip -j` and `bridge -j` output, read back: routes as `ip route` lines for
 * the kernel model's own reader (kernel/ip-route.ts parseIpRoutes), and the
 * neighbour and FDB entries and addresses as plain records for drift. Pure.
 */
import type { Diagnostic } from '../diag.js';
import { parseIpRoutes } from '../kernel/ip-route.js';
import type { Route } from '../kernel/fib.js';

interface RouteJson {
  type?: string;
  dst?: string;
  gateway?: string;
  via?: { family?: string; host?: string };
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  tos?: string;
  flags?: string[];
  nexthops?: unknown[];
}

function parseJsonArray(text: string, file: string, diagnostics: Diagnostic[]): unknown[] {
  if (text.trim() === '') return [];
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return v;
  } catch {
    // reported below
  }
  diagnostics.push({
    code: 'node-state-json',
    severity: 'error',
    message: 'not the JSON array `ip -j` prints',
    file,
    hint: 'collect the bundle again with packeteye node collect',
  });
  return [];
}

/** One `ip -j route` entry as the line `ip route show table all` prints. */
export function routeLine(r: RouteJson): string | undefined {
  if (r.dst === undefined) return undefined;
  const w: string[] = [];
  if (r.type !== undefined && r.type !== 'unicast') w.push(r.type);
  w.push(r.dst);
  const gw = r.gateway ?? (r.via?.family === 'inet' ? r.via.host : undefined);
  if (gw !== undefined) w.push('via', gw);
  if (r.dev !== undefined) w.push('dev', r.dev);
  if (r.table !== undefined && r.table !== 'main') w.push('table', r.table);
  if (r.protocol !== undefined) w.push('proto', r.protocol);
  if (r.scope !== undefined) w.push('scope', r.scope);
  if (r.prefsrc !== undefined) w.push('src', r.prefsrc);
  if (r.metric !== undefined) w.push('metric', String(r.metric));
  if (r.tos !== undefined && r.tos !== '0') w.push('tos', r.tos);
  if (r.flags?.includes('onlink')) w.push('onlink');
  return w.join(' ');
}

/** The IPv4 routes of `ip -j route show table all`; multipath routes are reported, not loaded. */
export function parseRoutesJson(
  text: string,
  file: string,
): { routes: Route[]; lines: string[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const lines: string[] = [];
  for (const e of parseJsonArray(text, file, diagnostics) as RouteJson[]) {
    if (e.nexthops !== undefined) {
      diagnostics.push({
        code: 'node-state-multipath',
        severity: 'warning',
        message: `route ${e.dst} has ${e.nexthops.length} nexthops: multipath routes are not modelled, it is left out`,
        file,
      });
      continue;
    }
    const line = routeLine(e);
    if (line !== undefined) lines.push(line);
  }
  const parsed = parseIpRoutes(lines.join('\n'), file);
  return { routes: parsed.routes, lines, diagnostics: [...diagnostics, ...parsed.diagnostics] };
}

export interface NeighEntry {
  readonly dst: string;
  readonly dev: string;
  readonly lladdr?: string;
  readonly state: readonly string[];
}

/** `ip -j neigh show`: IPv4 entries (IPv6 ones are not modelled). */
export function parseNeighJson(
  text: string,
  file: string,
): { entries: NeighEntry[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const entries: NeighEntry[] = [];
  for (const e of parseJsonArray(text, file, diagnostics) as {
    dst?: string;
    dev?: string;
    lladdr?: string;
    state?: string[];
  }[]) {
    if (e.dst === undefined || e.dev === undefined || e.dst.includes(':')) continue;
    entries.push({
      dst: e.dst,
      dev: e.dev,
      ...(e.lladdr !== undefined ? { lladdr: e.lladdr } : {}),
      state: e.state ?? [],
    });
  }
  return { entries, diagnostics };
}

export interface FdbEntry {
  readonly mac: string;
  readonly dev: string;
  readonly dst?: string;
  readonly master?: string;
  readonly vlan?: number;
  readonly flags: readonly string[];
  readonly state: string;
}

/** `bridge -j fdb show`. */
export function parseFdbJson(
  text: string,
  file: string,
): { entries: FdbEntry[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const entries: FdbEntry[] = [];
  for (const e of parseJsonArray(text, file, diagnostics) as {
    mac?: string;
    ifname?: string;
    dst?: string;
    master?: string;
    vlan?: number;
    flags?: string[];
    state?: string;
  }[]) {
    if (e.mac === undefined || e.ifname === undefined) continue;
    entries.push({
      mac: e.mac,
      dev: e.ifname,
      ...(e.dst !== undefined ? { dst: e.dst } : {}),
      ...(e.master !== undefined ? { master: e.master } : {}),
      ...(e.vlan !== undefined ? { vlan: e.vlan } : {}),
      flags: e.flags ?? [],
      state: e.state ?? '',
    });
  }
  return { entries, diagnostics };
}
