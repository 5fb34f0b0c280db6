/**
 * `reach -o html`: the Reachability document (render/reach-document.ts) as one
 * standalone page — no script, no network, a Content-Security-Policy that
 * allows only its own style. A matrix of groups (rows send, columns receive;
 * every cell names its ports and says all / none), then each group with its
 * members and what defines it (the policies selecting it, the peers matching
 * it), then the exceptions. A row's link opens its group (the browser
 * expands a closed <details> holding the link's target). Readable in light,
 * dark and print.
 */
import { createHash } from 'node:crypto';
import type { PortRanges } from '../policy/ports.js';
import { esc } from './html-path.js';
import type { ReachabilityDocument, ReachGroup } from './reach-document.js';

/** Above this many groups the matrix is not drawn (the groups and -o json still say it all). */
export const HTML_MATRIX_MAX_GROUPS = 150;

const CSS = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1c1d1f;--muted:#5d6168;--line:#d5d7db;--panel:#fff;--all:#d8f0df;--none:#f6dcda;--some:#fff1bf}
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e6e7ea;--muted:#a1a6b0;--line:#3a3e46;--panel:#1e2127;--all:#1d4a2c;--none:#552523;--some:#5a4a10}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:1400px;padding:1.25rem 1.25rem 3rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
code,.mono,td.cell{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
h1{font-size:1.45rem;margin:.2rem 0 .4rem}
h2{font-size:1.1rem;margin:1.8rem 0 .5rem}
.muted{color:var(--muted)}
.meta{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.2rem 0 .8rem;color:var(--muted)}
.meta dt{display:inline;font-weight:600}.meta dd{display:inline;margin:0 0 0 .3rem}
.scroll{overflow:auto;max-height:80vh;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid var(--line);padding:.25rem .4rem;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:var(--panel);z-index:1}
tbody th{position:sticky;left:0;background:var(--panel);font-weight:600;white-space:nowrap}
td.all{background:var(--all)}td.none{background:var(--none)}td.some{background:var(--some)}
.legend span{display:inline-block;padding:0 .5rem;margin-right:.5rem;border:1px solid var(--line)}
.legend .all{background:var(--all)}.legend .none{background:var(--none)}.legend .some{background:var(--some)}
details{margin:.3rem 0;padding:.4rem .6rem;background:var(--panel);border:1px solid var(--line);border-radius:8px}
summary{cursor:pointer}
ul.members{columns:3 18rem;margin:.4rem 0;padding-left:1.2rem}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
@media print{.scroll{max-height:none;overflow:visible}details{break-inside:avoid}}
`;

const ALL: PortRanges = { TCP: [[1, 65535]], UDP: [[1, 65535]], SCTP: [[1, 65535]] };

/** `TCP 80,8000-9000; UDP 53`, `all` or `none`. */
export function portsText(r: PortRanges): string {
  const parts = Object.entries(r).map(
    ([p, iv]) =>
      `${p} ${(iv as readonly (readonly [number, number])[]).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`,
  );
  if (parts.length === 0) return 'none';
  return JSON.stringify(r) === JSON.stringify(ALL) ? 'all' : parts.join('; ');
}

function groupName(g: ReachGroup, i: number): string {
  const first = g.members[0]!;
  return `G${i + 1} ${first}${g.members.length > 1 ? ` +${g.members.length - 1}` : ''}`;
}

function matrixHtml(doc: ReachabilityDocument): string {
  const n = doc.groups.length;
  if (n > HTML_MATRIX_MAX_GROUPS)
    return `<p>${n} groups: the matrix is not drawn above ${HTML_MATRIX_MAX_GROUPS}; every group is listed below, and <code>-o json</code> holds every cell.</p>`;
  const text = doc.portSets.map(portsText);
  const cls = text.map((t) => (t === 'all' ? 'all' : t === 'none' ? 'none' : 'some'));
  const label = (id: number) =>
    doc.port ? (text[id] === 'none' ? '✗' : '✓') : text[id] === 'none' ? '–' : text[id]!;
  const head = doc.groups
    .map((g, j) => `<th scope="col" title="${esc(g.members.join(', '))}">G${j + 1}</th>`)
    .join('');
  const rows = doc.groups
    .map((g, i) => {
      const cells = doc.allowed[i]!.map(
        (id, j) =>
          `<td class="cell ${cls[id]}" title="${esc(`${groupName(g, i)} → ${groupName(doc.groups[j]!, j)}: ${text[id]}`)}">${esc(label(id))}</td>`,
      ).join('');
      return `<tr><th scope="row"><a href="#g${i + 1}m">${esc(groupName(g, i))}</a></th>${cells}</tr>`;
    })
    .join('\n');
  return (
    `<p class="legend"><span class="all">all</span><span class="some">some ports</span><span class="none">none</span> ` +
    `Rows send, columns receive; a cell is what any member of the row's group may send to any other member of the column's.</p>` +
    `<div class="scroll"><table id="matrix"><thead><tr><th scope="col">from \\ to</th>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`
  );
}

function groupsHtml(doc: ReachabilityDocument): string {
  return doc.groups
    .map((g, i) => {
      const list = (xs: readonly string[], none: string) =>
        xs.length === 0
          ? `<span class="muted">${none}</span>`
          : xs.map((x) => `<code>${esc(x)}</code>`).join(', ');
      const host = g.hostNetwork?.length
        ? `<p>hostNetwork (their node's address): ${list(g.hostNetwork, '')}</p>`
        : '';
      const ext =
        g.kind === 'external'
          ? `<p>addresses <code>${esc(g.cidr)}</code>${g.except?.length ? ` except ${list(g.except, '')}` : ''}</p>`
          : '';
      return (
        `<details id="g${i + 1}"><summary><strong>G${i + 1}</strong> · ${g.members.length} ${g.kind === 'external' ? 'external range' : g.members.length === 1 ? 'pod' : 'pods'} · ${esc(g.members[0])}${g.members.length > 1 ? ' …' : ''}</summary>` +
        `${ext}<p>selected by: ${list(g.selectedBy, 'no policy')}</p><p>matched by: ${list(g.matchedBy, 'no rule peer')}</p>${host}` +
        `<ul class="members" id="g${i + 1}m">${g.members.map((m) => `<li><code>${esc(m)}</code></li>`).join('')}</ul></details>`
      );
    })
    .join('\n');
}

/** The page for a Reachability document. */
export function renderReachHtml(doc: ReachabilityDocument): string {
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}'`,
    "script-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const pods = doc.groups
    .filter((g) => g.kind === 'pods')
    .reduce((n, g) => n + g.members.length, 0);
  const meta = [
    ['pods', String(pods)],
    ['groups', String(doc.groups.length)],
    ...(doc.port ? [['port', `${doc.port.protocol}/${doc.port.port}`]] : []),
    ...(doc.namespace !== undefined ? [['namespace', doc.namespace]] : []),
  ]
    .map(([k, v]) => `<div><dt>${k}</dt><dd>${esc(v)}</dd></div>`)
    .join('');
  const exceptions =
    doc.exceptions.length === 0
      ? ''
      : `<h2>Exceptions</h2><p>Pairs whose answer is not their groups' cell (a hostNetwork pod towards the pods of its own node):</p><ul>${doc.exceptions
          .map(
            (e) =>
              `<li><code>${esc(e.from)}</code> → <code>${esc(e.to)}</code>: ${esc(portsText(doc.portSets[e.portSet]!))}</li>`,
          )
          .join('')}</ul>`;
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark">` +
    `<title>packeteye reach${doc.namespace !== undefined ? ` -n ${esc(doc.namespace)}` : ''}</title><style>${CSS}</style></head>\n` +
    `<body><header><h1>Who may reach whom</h1><dl class="meta">${meta}</dl>` +
    `<p class="muted">Under NetworkPolicy and AdminNetworkPolicy. Pods the policies treat alike form one group; a pod always reaches itself.</p></header>` +
    `<main><h2>Matrix</h2>${matrixHtml(doc)}<h2>Groups</h2>${groupsHtml(doc)}${exceptions}</main>` +
    `<footer>Rendered by packeteye from the Reachability document; the same document as <code>-o json</code>.</footer></body></html>\n`
  );
}
