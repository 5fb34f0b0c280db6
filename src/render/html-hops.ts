/** The HTML view's hop panels: one collapsible section per hop, every step in the kernel's words. */
import { dstOf, srcOf } from './trace.js';
import { type Leg, type PacketView, type StepView, detailOf } from '../trace/model.js';
import { esc, type LegName, type PathHop, pathOf, pktLine, marksOf, leaving } from './html-path.js';

// ------------------------------------------------------------------ the hops

const FIELDS: readonly (keyof PacketView)[] = ['src', 'sport', 'dst', 'dport', 'proto', 'flags'];

/** A packet with the fields that differ from `other` highlighted. */
export function pktDiff(p: PacketView, other: PacketView | undefined, cls: 'old' | 'new'): string {
  const changed = new Set(FIELDS.filter((f) => other !== undefined && p[f] !== other[f]));
  const part = (v: string, f: keyof PacketView | (keyof PacketView)[]): string => {
    const fs = Array.isArray(f) ? f : [f];
    return fs.some((x) => changed.has(x)) ? `<span class="${cls}">${esc(v)}</span>` : esc(v);
  };
  const src = p.proto === 'icmp' ? part(p.src, 'src') : part(srcOf(p), ['src', 'sport']);
  const dst = p.proto === 'icmp' ? part(p.dst, 'dst') : part(dstOf(p), ['dst', 'dport']);
  const rest = p.text.replace(/^\S+ > \S+/, '');
  return `${src} &gt; ${dst}${esc(rest)}`;
}

function num(n: number): string {
  return String(n).padStart(4, '0');
}

function stepBody(s: StepView): string {
  switch (s.kind) {
    case 'rule': {
      const d = s.detail;
      if (typeof d?.text !== 'string' || typeof d.chain !== 'string') break;
      const loc =
        typeof d.file === 'string'
          ? `<span class="loc">${esc(d.file)}${d.line !== undefined ? `:${esc(d.line)}` : ''}</span> `
          : '';
      return (
        `<span class="chip">${esc(d.table ?? '')} ${esc(d.chain)} #${esc(d.index ?? '?')}</span> ${loc}` +
        `<code class="rule">-A ${esc(d.chain)} ${esc(d.text)}</code>`
      );
    }
    case 'route': {
      const d = s.detail;
      const route = typeof d?.route === 'string' ? d.route : undefined;
      return (
        `<span class="sum">${esc(s.summary)}</span>` +
        (route
          ? `<span class="match">matched <code>${esc(route)}</code>${d?.table !== undefined ? ` in table ${esc(d.table)}` : ''}</span>`
          : '')
      );
    }
    default:
      break;
  }
  let body = `<span class="sum">${esc(s.summary)}</span>`;
  if (s.before && s.packet) {
    body +=
      `<span class="ba"><span class="lbl">before</span> <code>${pktDiff(s.before, s.packet, 'old')}</code></span>` +
      `<span class="ba"><span class="lbl">after</span> <code>${pktDiff(s.packet, s.before, 'new')}</code></span>`;
  }
  return body;
}

function depthOf(s: StepView): number {
  const d = s.detail && 'depth' in s.detail ? s.detail.depth : undefined;
  if (s.kind === 'hook') return 0;
  if (s.kind === 'rule' || s.kind === 'policy' || s.kind === 'note')
    return Math.min(6, 1 + (typeof d === 'number' ? d : 0));
  return 0;
}

function stepsHtml(
  steps: readonly StepView[],
  counter: { n: number },
  last: { text: string },
): string {
  const rows: string[] = [];
  for (const s of steps) {
    counter.n++;
    let pkt = '';
    if (s.packet && !s.before && s.packet.text !== last.text)
      pkt = `<span class="pkt"><span class="lbl">packet</span> <code>${esc(s.packet.text)}</code></span>`;
    if (s.packet) last.text = s.packet.text;
    const rewrite =
      s.detail && 'rewrite' in s.detail && typeof s.detail.rewrite === 'string' ? ' rw' : '';
    rows.push(
      `<li class="step k-${esc(s.kind)} d${depthOf(s)}${rewrite}"><span class="n">${num(counter.n)}</span>` +
        `<span class="kind">${esc(s.kind)}</span><div class="body">${stepBody(s)}${pkt}</div></li>`,
    );
  }
  return rows.join('');
}

function hopSummary(h: PathHop): string {
  const ps = h.steps.filter((s) => s.packet);
  const first = ps[0]?.before ?? ps[0]?.packet;
  const out = leaving(h);
  const marks = marksOf(h.steps);
  const parts: string[] = [];
  if (first) {
    const f = (field: 'src' | 'dst'): string => {
      const ms = marks.filter((m) => m.field === field);
      const v = field === 'src' ? srcOf(first) : dstOf(first);
      if (ms.length === 0) return `<span class="k">${field}</span> ${esc(v)}`;
      const now = out ? (field === 'src' ? srcOf(out) : dstOf(out)) : ms[ms.length - 1]!.to;
      return `<span class="k">${field}</span> <span class="old">${esc(v)}</span> → <span class="new">${esc(now)}</span> <span class="why">${esc(ms.map((m) => m.kind).join(', '))}</span>`;
    };
    parts.push(`<span class="addr">${f('src')} ${f('dst')}</span>`);
  }
  const tun = marks.filter((m) => m.field === 'src+dst');
  for (const m of tun)
    parts.push(
      `<span class="why">${esc(m.kind)}</span> <span class="addr">${esc(m.from)} → ${esc(m.to)}</span>`,
    );
  const ct = h.steps
    .filter((s) => s.kind === 'conntrack')
    .map((s) => detailOf(s, 'conntrack')?.ctinfo)
    .find((c) => c !== undefined);
  if (ct) parts.push(`<span class="chip">ct ${esc(ct)}</span>`);
  const drop = h.steps.find((s) => s.kind === 'drop' && !isSideDrop(s));
  if (drop) parts.push(`<span class="chip bad">${esc(drop.summary)}</span>`);
  const sock = h.steps.find((s) => s.kind === 'socket');
  if (sock)
    parts.push(
      `<span class="chip good">${esc(sock.summary.replace(/; kernel answers .*$/, ''))}</span>`,
    );
  return parts.join(' ');
}

function isSideDrop(s: StepView): boolean {
  const reason = s.detail && 'reason' in s.detail ? s.detail.reason : undefined;
  return reason === 'not-for-us' || reason === 'arp-ignored';
}

/** A hop's body: its steps, and the ARP exchanges and flood copies it waited for, in order. */
function hopBody(h: PathHop, counter: { n: number }, last: { text: string }): string {
  return h.visits
    .map((v) => {
      if (!v.side) return `<ol class="steps">${stepsHtml(v.steps, counter, last)}</ol>`;
      const what = v.side === 'arp' ? 'ARP exchange' : 'a flood copy, ignored';
      return (
        `<details class="side"><summary>meanwhile at <span class="host">${esc(v.host)}</span> <span class="role">${esc(v.role)}</span> · ${what} · ${v.steps.length} step${v.steps.length === 1 ? '' : 's'}</summary>` +
        `<ol class="steps">${stepsHtml(v.steps, counter, { text: '' })}</ol></details>`
      );
    })
    .join('');
}

/** Where a brief view's hop body goes until the page has fetched it (hopBodies). */
export const LATER_BODY = '<p class="muted">the steps are being fetched…</p>';

/**
 * A leg's section. `brief` leaves each hop's body out (a placeholder marked
 * `data-later`): `packeteye serve`'s page fetches the bodies (hopBodies) when
 * a hop is first opened, since at scale they are most of the view.
 */
export function legSection(name: LegName, leg: Leg, counter: { n: number }, brief = false): string {
  const path = pathOf(leg);
  const last = { text: '' };
  const items = path.map((h, i) => {
    const n = i + 1;
    const body = brief
      ? `<div class="hopbody" data-later="">${LATER_BODY}</div>`
      : `<div class="hopbody">${hopBody(h, counter, last)}</div>`;
    return (
      `<li class="hop" id="${name}-hop-${n}" data-leg="${name}" data-hop="${n}"><details><summary>` +
      `<span class="badge ${name}" aria-hidden="true">${n}</span><span class="sr">${name} hop ${n}:</span> <span class="host">${esc(h.host)}</span> <span class="role">${esc(h.role)}</span> ` +
      `${hopSummary(h)}</summary>${body}</details></li>`
    );
  });
  return (
    `<section class="leg ${name}" aria-labelledby="h-${name}"><h2 id="h-${name}">${name === 'request' ? 'Request' : 'Reply'}: ${esc(leg.what)} <code>${esc(pktLine(leg.sent))}</code> from ${esc(leg.from)}</h2>` +
    `<div class="tools"><button type="button" class="expand" data-leg="${name}" aria-label="Expand every ${name} hop">Expand all</button> ` +
    `<button type="button" class="collapse" data-leg="${name}" aria-label="Collapse every ${name} hop">Collapse all</button></div>` +
    `<ol class="hops">${items.join('')}</ol>` +
    `<p class="outcome ${esc(leg.disposition)}">${outcomeHtml(leg)}</p></section>`
  );
}

/**
 * The bodies a brief legSection left out, by hop element id
 * (`request-hop-2`), numbered as the whole view numbers them: what the page
 * puts in place of each placeholder.
 */
export function hopBodies(
  name: LegName,
  leg: Leg,
  counter: { n: number },
  into: Record<string, string>,
): void {
  const last = { text: '' };
  pathOf(leg).forEach((h, i) => {
    into[`${name}-hop-${i + 1}`] = hopBody(h, counter, last);
  });
}

function outcomeHtml(leg: Leg): string {
  const seen = leg.received ? ` — sees <code>${esc(pktLine(leg.received))}</code>` : '';
  switch (leg.disposition) {
    case 'delivered':
      return `⇒ <strong>delivered</strong> at ${esc(leg.at ?? '?')}: ${esc(leg.socket ?? '')}${leg.detail ? ` (${esc(leg.detail)})` : ''}${seen}`;
    case 'left-model':
      return `⇒ <strong>left the model</strong> at ${esc(leg.at ?? '?')}: ${esc(leg.detail ?? '')}${seen}`;
    default:
      return `⇒ <strong>${esc(leg.disposition)}</strong> at ${esc(leg.at ?? '?')} (${esc(leg.reason ?? '')}): ${esc(leg.detail ?? '')}`;
  }
}
