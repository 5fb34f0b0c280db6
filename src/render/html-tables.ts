/** The HTML view's tables: rewrites, alternatives, invented defaults, policy and diagnostics. */
import { touchedTest } from './trace.js';
import {
  formatPercent,
  type Alternative,
  type ConnectionTrace,
  type RewriteView,
} from '../trace/model.js';
import { esc, pktLine } from './html-path.js';
import { pktDiff } from './html-hops.js';

// ------------------------------------------------------------------ tables

export function rewritesTable(rs: readonly RewriteView[], caption: string): string {
  if (rs.length === 0) return `<p class="muted">No rewrites: the packet kept its addresses.</p>`;
  const rows = rs.map(
    (r) =>
      `<tr><td>${esc(r.leg)}</td><td><span class="why">${esc(r.kind)}</span></td><td>${esc(r.field)}</td>` +
      `<td><code><span class="old">${esc(r.from)}</span> → <span class="new">${esc(r.to)}</span></code></td>` +
      `<td>${esc(r.host)} <span class="muted">${esc(r.hook)}</span></td>` +
      `<td>${r.rule ? `<span class="chip">${esc(r.rule.table)} ${esc(r.rule.chain)} #${esc(r.rule.index)}</span> <code class="rule">${esc(r.rule.text)}</code>` : esc(r.by)}</td>` +
      `<td><code>${pktDiff(r.before, r.after, 'old')}</code><br><code>${pktDiff(r.after, r.before, 'new')}</code></td></tr>`,
  );
  return (
    `<div class="scroll"><table class="rw"><caption>${esc(caption)}</caption><thead><tr><th scope="col">leg</th><th scope="col">kind</th><th scope="col">field</th>` +
    `<th scope="col">from → to</th><th scope="col">where</th><th scope="col">by</th><th scope="col">packet before / after</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

function legSum(l: Alternative['request'] | undefined): string {
  if (!l) return 'no reply';
  const seen = l.received ? ` — sees <code>${esc(pktLine(l.received))}</code>` : '';
  return `<strong>${esc(l.disposition)}</strong>${l.at ? ` at ${esc(l.at)}` : ''}${l.reason ? ` (${esc(l.reason)})` : ''}${seen}`;
}

export function alternativesHtml(t: ConnectionTrace): string {
  const alts = t.alternatives;
  if (!alts) return '';
  const mainDnat = t.rewrites.find((r) => r.leg === 'request' && r.kind === 'DNAT')?.to;
  const isMain = (a: Alternative): boolean =>
    a.dnat === mainDnat &&
    a.request.at === t.request.at &&
    a.request.disposition === t.request.disposition;
  let chosen = alts.findIndex(isMain);
  if (chosen < 0) chosen = 0;
  const radios = alts.map(
    (a, i) =>
      `<label><input type="radio" name="alt" value="${i}"${i === chosen ? ' checked' : ''}> ` +
      `<span class="p">${formatPercent(a.probability, 1)}</span> ${a.dnat ? `DNAT → ${esc(a.dnat)}` : 'no DNAT'} · ${esc(a.request.disposition)}${isMain(a) ? ' <span class="chip">drawn above</span>' : ''}</label>`,
  );
  const panels = alts.map(
    (a, i) =>
      `<div class="alt-panel" id="alt-${i}" data-alt="${i}"${i === chosen ? '' : ' hidden'}>` +
      `<h3>Alternative ${i + 1}: ${formatPercent(a.probability, 1)}</h3>` +
      `<ul class="decisions">${a.decisions.map((d) => `<li><code>${esc(d.label)}</code>: ${d.value ? 'taken' : 'not taken'} (p ${esc(d.p.toFixed(4))})</li>`).join('') || '<li>no chance decision</li>'}</ul>` +
      `<p>request: ${legSum(a.request)}</p><p>reply: ${legSum(a.reply)}</p>` +
      rewritesTable(a.rewrites, `Rewrites in alternative ${i + 1}`) +
      `</div>`,
  );
  const total = alts.reduce((s, a) => s + a.probability, 0);
  return (
    `<section aria-labelledby="h-alts"><h2 id="h-alts">Alternatives (--all-paths): ${alts.length}, total ${formatPercent(total, 1)}</h2>` +
    `<fieldset class="alts"><legend>Show the alternative</legend>${radios.join('')}</fieldset>${panels.join('')}</section>`
  );
}

/**
 * The section of the defaults the twin invented. `brief` leaves its tables
 * out (a placeholder marked `data-later` in a closed `details`): `packeteye
 * serve`'s page fetches them (defaultsBody) when the section is opened. With
 * none in the answer but some left out (`defaults=touched`), the section
 * says how many, and has nothing to fetch.
 */
export function defaultsHtml(t: ConnectionTrace, brief = false): string {
  if (t.defaults.length === 0 && !t.defaultsOmitted) return '';
  return (
    `<section aria-labelledby="h-defaults"><h2 id="h-defaults">Defaults the twin invented</h2>` +
    (brief && t.defaults.length > 0 ? laterDefaults(t) : defaultsBody(t)) +
    `</section>`
  );
}

/** Where a brief view's defaults go until the page has fetched them (defaultsBody). */
export const LATER_DEFAULTS = '<p class="muted">the defaults are being fetched…</p>';

/** A brief view's closed stand-in for the defaults' tables, saying how many there are. */
export function laterDefaults(t: ConnectionTrace): string {
  const n = t.defaults.length;
  const omitted = t.defaultsOmitted
    ? ` (${t.defaultsOmitted} more, about objects this connection did not touch, left out of this answer)`
    : '';
  return (
    `<details class="later-defaults"><summary>${n} default${n === 1 ? '' : 's'} in this answer${omitted}</summary>` +
    `<div class="defaultsbody" data-later="">${LATER_DEFAULTS}</div></details>`
  );
}

/**
 * What the defaults' section holds under its heading: what the page puts in
 * a brief view's placeholder, whose summary already says how many were left
 * out (`omitted: false` then leaves that line out).
 */
export function defaultsBody(t: ConnectionTrace, opts: { omitted?: boolean } = {}): string {
  const omitted =
    t.defaultsOmitted && opts.omitted !== false
      ? `<p>${t.defaultsOmitted} more, about objects this connection did not touch, left out of this answer.</p>`
      : '';
  if (t.defaults.length === 0) return omitted;
  const relevant = touchedTest(t);
  const table = (ds: typeof t.defaults, caption: string): string =>
    `<div class="scroll"><table><caption>${esc(caption)}</caption><thead><tr><th scope="col">object</th><th scope="col">field</th><th scope="col">value</th><th scope="col">why</th></tr></thead><tbody>` +
    ds
      .map(
        (d) =>
          `<tr><td>${esc(d.object)}</td><td><code>${esc(d.field)}</code></td><td><code>${esc(d.value)}</code></td><td>${esc(d.reason)}</td></tr>`,
      )
      .join('') +
    `</tbody></table></div>`;
  const mine = t.defaults.filter((d) => relevant(d.object));
  const rest = t.defaults.filter((d) => !relevant(d.object));
  return (
    table(mine, 'For the objects this connection touched') +
    (rest.length > 0
      ? `<details class="more"><summary>${rest.length} more, about objects this connection did not touch</summary>${table(rest, 'Other defaults')}</details>`
      : '') +
    omitted
  );
}

export function policyHtml(t: ConnectionTrace): string {
  const p = t.policy;
  if (!p) return '';
  const verdict = p.allowedByPolicy ? 'allowed' : 'denied';
  const enforced = p.enforced
    ? `enforced by ${esc(p.enforcer)}`
    : `<strong>not enforced</strong> (${p.enforcer === 'none' ? 'no enforcer' : esc(p.enforcer)})`;
  const dir = (name: string, d: typeof p.egress): string =>
    `<li>${name}: ${d.isolatedBy.length > 0 ? `isolated by ${d.isolatedBy.map((x) => `<code>${esc(x)}</code>`).join(', ')}` : 'not isolated'}` +
    `${d.allowedBy.length > 0 ? `; allowed by ${d.allowedBy.map((x) => `<code>${esc(x)}</code>`).join(', ')}` : ''}</li>`;
  return (
    `<section aria-labelledby="h-policy"><h2 id="h-policy">NetworkPolicy</h2>` +
    `<p class="fate ${p.allowedByPolicy ? 'delivered' : 'dropped'}"><code>${esc(p.from)}</code> → <code>${esc(p.to)}</code>${p.port ? ` <code>${esc(p.port)}</code>` : ''}: ` +
    `<strong class="disp">${verdict}</strong> by the policies; ${enforced}</p>` +
    `<ul>${dir('egress from the source', p.egress)}${dir('ingress to the destination', p.ingress)}</ul>` +
    (p.explanation.length > 0
      ? `<pre class="explain">${p.explanation.map((l) => esc(l)).join('\n')}</pre>`
      : '') +
    `</section>`
  );
}

export function diagnosticsHtml(t: ConnectionTrace): string {
  if (t.diagnostics.length === 0) return '';
  return (
    `<section aria-labelledby="h-diags"><h2 id="h-diags">Diagnostics</h2><ul class="diags">` +
    t.diagnostics
      .map(
        (d) =>
          `<li class="${esc(d.severity)}"><strong>${esc(d.severity)}</strong> ${d.object ? `${esc(d.object)}: ` : ''}${esc(d.message)} <code>[${esc(d.code)}]</code>${d.hint ? ` <span class="muted">— ${esc(d.hint)}</span>` : ''}</li>`,
      )
      .join('') +
    `</ul></section>`
  );
}
