/**
 * `-o html`: one connection trace (trace/connection.ts) as a single
 * self-contained HTML document — the browser rendering of the same model the
 * text, JSON and mermaid views render (DESIGN.md, "One trace model, many
 * views").
 *
 * What it holds, top to bottom:
 * - the question: from → to, protocol, the request's and the reply's fate;
 * - an SVG picture in the seeds' style (002/003): hosts as boxes — each node
 *   with its pods inside their namespaces and the node's root namespace, the
 *   underlay with its router/VPC, external hosts — the request and the reply
 *   drawn as numbered arrows, and beside them the packet on each wire with
 *   `src`/`dst`, rewritten fields struck through and highlighted
 *   (“~~dst: svc1~~ dst: pod99 DNAT”);
 * - hop by hop, every step in the kernel's words (route lookup with the
 *   matched route, ARP, bridge FDB, each netfilter hook and the rules that
 *   matched with their `iptables-save` file:line, conntrack, NAT before and
 *   after), one collapsible `<details>` per hop; ARP exchanges and flood
 *   copies the packet waited for sit, in order, inside the hop that waited;
 * - the rewrites, the `--all-paths` alternatives (switchable), the defaults
 *   the twin invented and the diagnostics.
 *
 * No external URL, no framework: inline CSS (light and dark via
 * prefers-color-scheme, print styles) and a small inline script that only
 * enhances (links between arrows and hops, expand/collapse, alternative
 * switching, opening everything for print). A Content-Security-Policy with the
 * hashes of exactly that style and script keeps anything else from running.
 * Every string that comes from input (names, rule text and comments, reasons)
 * goes through `esc`.
 *
 * Pure: trace in, string out.
 */
import { createHash } from 'node:crypto';
import { ep } from './trace.js';
import type { ConnectionTrace, Leg } from '../trace/model.js';
import { esc, pktLine, wiresOf } from './html-path.js';
import { renderSvg } from './html-svg.js';
import { hopBodies, legSection } from './html-hops.js';
import {
  rewritesTable,
  alternativesHtml,
  defaultsBody,
  defaultsHtml,
  policyHtml,
  diagnosticsHtml,
} from './html-tables.js';
import { CSS, SCRIPT } from './html-style.js';

export { esc, pathOf, wiresOf, type PathHop, type Wire } from './html-path.js';

// ------------------------------------------------------------------ the page

function fate(name: string, leg: Leg | null): string {
  if (!leg)
    return `<div class="fate none"><span class="lbl">reply</span> <strong>none</strong> <span class="muted">nothing answers a packet that never arrived</span></div>`;
  return (
    `<div class="fate ${esc(leg.disposition)}"><span class="lbl">${name}</span> <span class="what">${esc(leg.what)}</span> ` +
    `<strong class="disp">${esc(leg.disposition)}</strong>${leg.at ? ` at ${esc(leg.at)}` : ''}${leg.reason && leg.disposition !== 'delivered' ? ` <span class="muted">(${esc(leg.reason)})</span>` : ''}` +
    `${leg.received ? ` <span class="muted">— sees</span> <code>${esc(pktLine(leg.received))}</code>` : ''}</div>`
  );
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

/** The whole page for one connection trace. */
export function renderTraceHtml(t: ConnectionTrace): string {
  const title = `${t.from.ref} → ${t.to.ref}`;
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${sha256(CSS)}'`,
    `script-src 'sha256-${sha256(SCRIPT)}'`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const body =
    renderTraceFragment(t) +
    `<footer>Rendered by packeteye from one trace; the same trace as <code>-o json</code>. Step numbers match <code>-v</code>.</footer>`;
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark">` +
    `<title>${esc(`packeteye trace ${title}`)}</title><style>${CSS}</style></head>\n` +
    `<body>${body}<script>${SCRIPT}</script></body></html>\n`
  );
}

/**
 * The trace itself (its header and its main part), for a page that shows
 * several in turn (`packeteye serve`, render/html-app.ts). `brief` leaves
 * each hop's body out for the page to fetch when the hop is opened
 * (renderHopBodies), and the defaults' tables for when their section is
 * opened (renderDefaultsBody): with them put back it is the same view.
 */
export function renderTraceFragment(t: ConnectionTrace, opts: { brief?: boolean } = {}): string {
  const brief = opts.brief === true;
  const wires = [...wiresOf(t.request, 'request'), ...(t.reply ? wiresOf(t.reply, 'reply') : [])];
  const counter = { n: 0 };
  return (
    `<header><p class="muted">packeteye trace</p><h1>${esc(t.from.ref)} → ${esc(t.to.ref)}</h1>` +
    `<dl class="meta"><div><dt>from</dt><dd>${esc(t.from.kind)} ${esc(t.from.ip)}${t.from.host ? ` (${esc(t.from.host)})` : ''}</dd></div>` +
    `<div><dt>to</dt><dd>${esc(t.to.kind)} ${esc(ep(t.to.ip, t.to.port))}</dd></div>` +
    `<div><dt>protocol</dt><dd>${esc(t.proto)}</dd></div>` +
    `<div><dt>${t.proto === 'icmp' ? 'echo id' : 'source port'}</dt><dd>${esc(t.sport)}</dd></div>` +
    `<div><dt>seed</dt><dd>${esc(t.seed)}</dd></div></dl>` +
    `<div class="fates">${fate('request', t.request)}${fate('reply', t.reply)}</div></header>` +
    `<main><figure aria-labelledby="fig-cap"><figcaption id="fig-cap">The hosts and the packet's path: numbered arrows are the wires of the hop list below (solid: request, dashed: reply); next to them, the packet on each wire, rewritten fields struck through and highlighted.` +
    `<label><input type="checkbox" data-show="request" checked> request</label><label><input type="checkbox" data-show="reply" checked> reply</label></figcaption>` +
    `<div class="drawing">${renderSvg(t, wires)}</div>` +
    `</figure>` +
    legSection('request', t.request, counter, brief) +
    (t.reply
      ? legSection('reply', t.reply, counter, brief)
      : `<section class="leg reply" aria-labelledby="h-reply"><h2 id="h-reply">Reply</h2><p>None: nothing answers a packet that never arrived.</p></section>`) +
    `<section aria-labelledby="h-rewrites"><h2 id="h-rewrites">Rewrites</h2>${rewritesTable(t.rewrites, 'Every address rewrite, in order, with the packet before and after')}</section>` +
    policyHtml(t) +
    alternativesHtml(t) +
    defaultsHtml(t, brief) +
    diagnosticsHtml(t) +
    `</main>`
  );
}

/** The defaults' tables a brief renderTraceFragment left out ('' when it has no defaults section). */
export function renderDefaultsBody(t: ConnectionTrace): string {
  return defaultsBody(t, { omitted: false });
}

/** The hop bodies a brief renderTraceFragment left out, by hop element id (`reply-hop-3`). */
export function renderHopBodies(t: ConnectionTrace): Record<string, string> {
  const counter = { n: 0 };
  const out: Record<string, string> = {};
  hopBodies('request', t.request, counter, out);
  if (t.reply) hopBodies('reply', t.reply, counter, out);
  return out;
}
