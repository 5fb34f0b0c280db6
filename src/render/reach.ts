/**
 * The views of a reachability matrix (policy/matrix.ts): the JSON document
 * behind `reach -o json|yaml`, written row by row so a 5,000-pod matrix never
 * has to be one string, and the grids (`table`, `wide`, `csv`, `md`). Rows are
 * the sources (pods, then external peers), columns the destinations.
 * hostNetwork pods are marked: `(hostNetwork)` after their name in the grids,
 * listed under `hostNetwork` in the JSON document.
 */
import { portMask, type ReachMatrix } from '../policy/matrix.js';
import type { PortQuery } from '../policy/explain.js';

/** The matrix's formats (`yaml` is the JSON document re-read, see cli/reach.ts). */
export type MatrixFormat = 'table' | 'wide' | 'json' | 'csv' | 'md';

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

  if (format === 'json') {
    const quoted = m.endpoints.map((e) => JSON.stringify(e.key));
    const cellJson: string[] = [];
    const cell = (a: number, b: number): string => {
      const id = m.allowedId(a, b);
      if (mask) return mask[id] ? 'true' : 'false';
      return (cellJson[id] ??= JSON.stringify(m.table.get(id).toJSON()));
    };
    const row = (a: number, cols: readonly number[]): string => {
      const parts = new Array<string>(cols.length);
      for (let k = 0; k < cols.length; k++) parts[k] = `${quoted[cols[k]!]}:${cell(a, cols[k]!)}`;
      return `${quoted[a]}:{${parts.join(',')}}`;
    };
    // Written row by row: a 5,000-pod matrix is too big for one JSON.stringify.
    const head = q ? `{"port":${JSON.stringify(q)},` : '{';
    const hosts = podIdx.filter(isHost).map(keyOf);
    const hostJson = hosts.length > 0 ? `"hostNetwork":${JSON.stringify(hosts)},` : '';
    out(`${head}"pods":${JSON.stringify(podIdx.map(keyOf))},${hostJson}"allowed":{`);
    podIdx.forEach((a, n) => out(`${n ? ',' : ''}\n${row(a, podIdx)}`));
    out('\n}');
    if (extIdx.length > 0) {
      const exts = extIdx.map((i) => {
        const e = m.endpoints[i]!;
        return e.kind === 'external'
          ? { name: e.key, cidr: e.cidr, except: e.except }
          : { name: e.key };
      });
      out(`,"externals":${JSON.stringify(exts)},"externalAllowed":{`);
      const rows = [...podIdx.map((a) => row(a, extIdx)), ...extIdx.map((a) => row(a, podIdx))];
      out(`${rows.map((r) => `\n${r}`).join(',')}\n}`);
    }
    out('}\n');
    return;
  }

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
  const grid = rows.map((a) => [
    labelOf(a),
    ...(wide ? [ipOf(a)] : []),
    ...cols.map((b) => text(a, b)),
  ]);
  const header = [corner, ...(wide ? ['IP'] : []), ...cols.map(labelOf)];
  if (format === 'csv') {
    out(`${[header, ...grid].map((r) => r.map(csvCell).join(',')).join('\n')}\n`);
    return;
  }
  if (format === 'md') {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    out(`| ${header.map(esc).join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|\n`);
    for (const r of grid) out(`| ${r.map(esc).join(' | ')} |\n`);
    return;
  }
  const widths = header.map((h, c) =>
    Math.max([...h].length, ...grid.map((r) => [...r[c]!].length)),
  );
  const line = (r: string[]) =>
    r
      .map((s, c) => pad(s, widths[c]!))
      .join('  ')
      .trimEnd();
  out(`${line(header)}\n`);
  for (const r of grid) out(`${line(r)}\n`);
}
