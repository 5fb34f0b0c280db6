/**
 * `ip -j` and `bridge -j` output, read back: routes and policy rules through
 * the kernel model's reader of iproute2 output (kernel/ip-read.ts), the
 * neighbour and FDB entries as plain records for drift. Pure.
 */
import type { Diagnostic } from '../diag.js';
import type { PolicyRule, Route } from '../kernel/fib.js';
import { readIpDump } from '../kernel/ip-read.js';

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

/**
 * The bundle's routes and policy rules (`ip -j route show table all`, `ip -j
 * rule show`) through the kernel model's reader of iproute2 output. A
 * multipath route is left out with a warning: the node holds it, the model
 * cannot route by it.
 */
export function readBundleRoutes(
  files: ReadonlyMap<string, string>,
  dir: string,
): { routes?: Route[]; rules?: PolicyRule[]; diagnostics: Diagnostic[] } {
  const routes = files.get('ip-route.json');
  if (routes === undefined) return { diagnostics: [] };
  const rules = files.get('ip-rule.json');
  const text = rules !== undefined && rules.trim() !== '' ? `${routes}\n${rules}` : routes;
  const r = readIpDump(text, `${dir}/ip-route.json${rules !== undefined ? ' + ip-rule.json' : ''}`);
  const diagnostics = r.diagnostics.map((d) =>
    /multipath/.test(d.message)
      ? { ...d, severity: 'warning' as const, message: `${d.message}; that route is left out` }
      : d,
  );
  return { routes: r.routes, ...(r.rules ? { rules: r.rules } : {}), diagnostics };
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
