/**
 * The grids of a reachability matrix (policy/matrix.ts): `table`, `wide`,
 * `csv`, `md`, written row by row so a 5,000-pod matrix never has to be one
 * string (the JSON document is render/reach-document.ts). Rows are
 * the sources (pods, then external peers), columns the destinations.
 * hostNetwork pods are marked: `(hostNetwork)` after their name in the grids,
 * listed under `hostNetwork` in the JSON document's groups.
 */
import { portMask, type ReachMatrix } from '../policy/matrix.js';
import type { PortQuery } from '../policy/explain.js';

/** The matrix's grid formats. */
export type MatrixFormat = 'table' | 'wide' | 'csv' | 'md';

function pad(s: string, w: number): string {
  // Width in code points (✓/✗ are one column each).
  const len = [...s].length;
  return s + ' '.repeat(Math.max(0, w - len));
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes matrix `m` in `format` through `out`; `q` narrows every cell to one port, `ns` the rows and columns to one namespace. */
export function renderMatrix(
  out: (text: string) => void,
  m: ReachMatrix,
  format: MatrixFormat,
  q: PortQuery | undefined,
  ns: string | undefined,
  withExternals: boolean,
): void {
  const podIdx: number[] = [];
  m.endpoints.forEach((e, i) => {
    if (e.kind === 'pod' && (ns === undefined || e.namespace === ns)) podIdx.push(i);
  });
  const extIdx: number[] = [];
  if (withExternals) m.endpoints.forEach((e, i) => e.kind === 'external' && extIdx.push(i));
  const mask = q ? portMask(m, q.protocol, q.port) : undefined;
  const keyOf = (i: number) => m.endpoints[i]!.key;
  // hostNetwork pods are marked in every view: they are their node's address, not a pod's own.
  const isHost = (i: number) => {
    const e = m.endpoints[i]!;
    return e.kind === 'pod' && e.hostNetwork === true;
  };
  const labelOf = (i: number) => (isHost(i) ? `${keyOf(i)} (hostNetwork)` : keyOf(i));

  // Grid formats: rows = from (pods, then externals), columns = to.
  const rows = [...podIdx, ...extIdx];
  const cols = [...podIdx, ...extIdx];
  const text = (a: number, b: number): string => {
    if (m.endpoints[a]!.kind === 'external' && m.endpoints[b]!.kind === 'external') return '';
    const id = m.allowedId(a, b);
    if (mask) {
      if (format === 'csv') return mask[id] ? 'true' : 'false';
      return mask[id] ? '✓' : '✗';
    }
    const s = m.table.get(id);
    return s.isAll() ? 'all' : s.isEmpty() ? (format === 'csv' ? 'none' : '-') : s.key;
  };
  const corner = q ? `${q.protocol}/${q.port} from\\to` : 'from\\to';
  if (rows.length === 0) {
    out(ns !== undefined ? `no pods in namespace ${ns}\n` : 'no pods in the input\n');
    return;
  }
  // -o wide: each row's address beside its name, as kubectl's wide adds columns.
  const wide = format === 'wide';
  const ipOf = (a: number): string => {
    const e = m.endpoints[a]!;
    return e.kind === 'pod' ? (e.ip ?? '<none>') : '';
  };
  // Rows are made one at a time and written: a 5,000-pod grid is never held whole.
  const rowOf = (a: number): string[] => [
    labelOf(a),
    ...(wide ? [ipOf(a)] : []),
    ...cols.map((b) => text(a, b)),
  ];
  const header = [corner, ...(wide ? ['IP'] : []), ...cols.map(labelOf)];
  if (format === 'csv') {
    out(`${header.map(csvCell).join(',')}\n`);
    for (const a of rows) out(`${rowOf(a).map(csvCell).join(',')}\n`);
    return;
  }
  if (format === 'md') {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    out(`| ${header.map(esc).join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|\n`);
    for (const a of rows) out(`| ${rowOf(a).map(esc).join(' | ')} |\n`);
    return;
  }
  // The table: a first pass for the column widths, a second to write.
  const widths = header.map((h) => [...h].length);
  for (const a of rows)
    rowOf(a).forEach((c, k) => (widths[k] = Math.max(widths[k]!, [...c].length)));
  const line = (r: string[]) =>
    r
      .map((s, c) => pad(s, widths[c]!))
      .join('  ')
      .trimEnd();
  out(`${line(header)}\n`);
  for (const a of rows) out(`${line(rowOf(a))}\n`);
}
