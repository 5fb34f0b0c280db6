/** The HTML view's SVG picture: hosts as boxes, the request and the reply as numbered arrows, the packet on each wire. */
import { dstOf, srcOf } from './trace.js';
import type { ConnectionTrace, PacketView } from '../trace/model.js';
import { esc, pathOf, type Mark, marksOf, type Wire } from './html-path.js';

// ------------------------------------------------------------------ the picture

const CH = 7.9; // width of one 13px monospace character
const POD_H = 46;
/** Room between a node's pods and its root namespace, for the veth arrows and their badges. */
const VETH = 64;
const GAP = 14;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Placed {
  readonly host: string;
  readonly role: string;
  /** Where arrows attach (for a node: its root network namespace). */
  readonly box: Box;
}

function textW(s: string): number {
  return s.length * CH;
}

/** Which node each pod hangs off: the node its packets enter or leave through (the veth's other end). */
function nodeOfPods(t: ConnectionTrace): Map<string, string> {
  const out = new Map<string, string>();
  for (const leg of [t.request, t.reply]) {
    const hops = leg?.hops ?? [];
    hops.forEach((h, i) => {
      if (h.role !== 'pod' || out.has(h.host)) return;
      const near = [hops[i - 1], hops[i + 1]].find((x) => x?.role === 'node');
      if (near) out.set(h.host, near.host);
    });
  }
  return out;
}

/** Addresses the trace tells for its end hosts (the sender's source, the receiver's destination). */
function addressesOf(t: ConnectionTrace): Map<string, string> {
  const out = new Map<string, string>();
  for (const leg of [t.request, t.reply]) {
    if (!leg) continue;
    if (leg.from && leg.sent.src !== '0.0.0.0') out.set(leg.from, leg.sent.src);
    if (leg.disposition === 'delivered' && leg.at && leg.received && !out.has(leg.at))
      out.set(leg.at, leg.received.dst);
  }
  return out;
}

function splitPod(host: string): { ns: string; name: string } {
  const i = host.indexOf('/');
  return i < 0 ? { ns: '', name: host } : { ns: host.slice(0, i), name: host.slice(i + 1) };
}

interface Layout {
  readonly width: number;
  readonly height: number;
  readonly places: Map<string, Placed>;
  readonly bandY?: number;
  readonly svg: string[];
}

function layoutHosts(t: ConnectionTrace, hosts: { host: string; role: string }[]): Layout {
  const svg: string[] = [];
  const places = new Map<string, Placed>();
  const podNode = nodeOfPods(t);
  const addr = addressesOf(t);
  const nodes = hosts.filter((h) => h.role === 'node').map((h) => h.host);
  const pods = hosts.filter((h) => h.role === 'pod');
  const lone = pods.filter((p) => !nodes.includes(podNode.get(p.host) ?? '')).map((p) => p.host);
  const bottom = hosts.filter((h) => h.role === 'router' || h.role === 'external');

  const podW = (p: string): number => {
    const { name } = splitPod(p);
    return Math.max(110, textW(name) + 20, textW(addr.get(p) ?? '') + 20);
  };
  const podBox = (p: string, x: number, y: number, label: string, cls: string): void => {
    const w = podW(p);
    const ip = addr.get(p);
    svg.push(
      `<g class="host ${cls}"><rect x="${x}" y="${y}" width="${w}" height="${POD_H}" rx="6"/>` +
        `<text x="${x + w / 2}" y="${y + 18}" text-anchor="middle" class="name">${esc(label)}</text>` +
        (ip
          ? `<text x="${x + w / 2}" y="${y + 34}" text-anchor="middle" class="ip">${esc(ip)}</text>`
          : '') +
        `</g>`,
    );
    places.set(p, { host: p, role: 'pod', box: { x, y, w, h: POD_H } });
  };

  // Nodes: a box per node with its pods grouped by namespace and the root namespace at the bottom.
  interface NodePlan {
    node: string;
    groups: { ns: string; pods: string[]; w: number }[];
    w: number;
  }
  const plans: NodePlan[] = nodes.map((node) => {
    const byNs = new Map<string, string[]>();
    for (const p of pods) {
      if (podNode.get(p.host) !== node) continue;
      const { ns } = splitPod(p.host);
      byNs.set(ns, [...(byNs.get(ns) ?? []), p.host]);
    }
    const groups = [...byNs].map(([ns, ps]) => ({
      ns,
      pods: ps,
      w: Math.max(
        textW(`namespace ${ns}`) + 16,
        ps.reduce((a, p) => a + podW(p), 0) + GAP * (ps.length - 1) + 20,
      ),
    }));
    const inner = groups.reduce((a, g) => a + g.w, 0) + GAP * Math.max(0, groups.length - 1);
    return { node, groups, w: Math.max(inner, textW(`root netns · ${node}`) + 24, 200) + 24 };
  });
  const anyPods = plans.some((p) => p.groups.length > 0);
  const nsH = 22 + POD_H + 12;
  const nodeH = 30 + (anyPods ? nsH + VETH : 0) + 40 + 12;
  const top = 16;
  let x = 16;
  for (const pl of plans) {
    svg.push(
      `<g class="host node"><rect class="frame" x="${x}" y="${top}" width="${pl.w}" height="${nodeH}" rx="10"/>` +
        `<text x="${x + 12}" y="${top + 20}" class="title">${esc(pl.node)}</text><text x="${x + pl.w - 12}" y="${top + 20}" text-anchor="end" class="role">node</text></g>`,
    );
    let gx = x + 12;
    const gy = top + 30;
    for (const g of pl.groups) {
      svg.push(
        `<g class="ns"><rect x="${gx}" y="${gy}" width="${g.w}" height="${nsH}" rx="8"/>` +
          `<text x="${gx + 8}" y="${gy + 15}" class="role">namespace ${esc(g.ns)}</text></g>`,
      );
      let px = gx + 10;
      for (const p of g.pods) {
        podBox(p, px, gy + 22, splitPod(p).name, 'pod');
        px += podW(p) + GAP;
      }
      gx += g.w + GAP;
    }
    const ry = top + nodeH - 52;
    const root: Box = { x: x + 12, y: ry, w: pl.w - 24, h: 40 };
    svg.push(
      `<g class="host root"><rect x="${root.x}" y="${root.y}" width="${root.w}" height="${root.h}" rx="6"/>` +
        `<text x="${root.x + root.w / 2}" y="${root.y + 17}" text-anchor="middle" class="name">root netns</text>` +
        `<text x="${root.x + root.w / 2}" y="${root.y + 32}" text-anchor="middle" class="ip">${esc(pl.node)}${addr.has(pl.node) ? ` ${esc(addr.get(pl.node))}` : ''}</text></g>`,
    );
    places.set(pl.node, { host: pl.node, role: 'node', box: root });
    x += pl.w + 40;
  }
  // Pods whose node the trace does not show: on their own in the top row.
  for (const p of lone) {
    podBox(p, x, top + 30, p, 'pod');
    x += podW(p) + 40;
  }
  const topW = x - 40 + 16;
  const topBottom = top + (plans.length > 0 ? nodeH : lone.length > 0 ? 30 + POD_H : 0);

  // The underlay (and what sits on it: the router/VPC, the world beyond).
  let bandY: number | undefined;
  let height = topBottom + 16;
  let width = topW;
  const needBand = bottom.length > 0 || plans.length > 1;
  if (needBand) {
    bandY = topBottom + 46;
    const by = bandY + 34;
    const boxW = (b: { host: string }): number =>
      Math.max(120, textW(b.host) + 24, textW(addr.get(b.host) ?? '') + 24);
    // The router and the world beyond sit on the underlay, centred under the nodes.
    const rowW = bottom.reduce((a, b) => a + boxW(b), 0) + 40 * Math.max(0, bottom.length - 1);
    let bx = Math.max(16, 16 + (topW - 32 - rowW) / 2);
    for (const b of bottom) {
      const label = b.host;
      const ip = addr.get(b.host);
      const w = boxW(b);
      svg.push(
        `<g class="host ${b.role === 'router' ? 'router' : 'external'}"><rect x="${bx}" y="${by}" width="${w}" height="${POD_H}" rx="${b.role === 'router' ? 22 : 6}"/>` +
          `<text x="${bx + w / 2}" y="${by + 18}" text-anchor="middle" class="name">${esc(label)}</text>` +
          `<text x="${bx + w / 2}" y="${by + 34}" text-anchor="middle" class="ip">${esc(ip ?? (b.role === 'router' ? 'router' : 'external'))}</text></g>`,
      );
      places.set(b.host, { host: b.host, role: b.role, box: { x: bx, y: by, w, h: POD_H } });
      bx += w + 40;
    }
    width = Math.max(topW, bx - 40 + 16, 240);
    svg.unshift(
      `<g class="band"><line x1="16" y1="${bandY}" x2="${width - 16}" y2="${bandY}"/>` +
        `<text x="${width - 16}" y="${bandY - 6}" text-anchor="end" class="role">underlay</text></g>`,
    );
    height = by + (bottom.length > 0 ? POD_H : 0) + 16;
  }
  return { width, height, places, ...(bandY !== undefined ? { bandY } : {}), svg };
}

function center(b: Box): { x: number; y: number } {
  return { x: b.x + b.w / 2, y: b.y + b.h / 2 };
}

/** Where the segment from the box's centre towards (tx, ty) leaves the box. */
function edge(b: Box, tx: number, ty: number): { x: number; y: number } {
  const c = center(b);
  const dx = tx - c.x;
  const dy = ty - c.y;
  if (dx === 0 && dy === 0) return c;
  const sx = dx === 0 ? Infinity : b.w / 2 / Math.abs(dx);
  const sy = dy === 0 ? Infinity : b.h / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return { x: c.x + dx * s, y: c.y + dy * s };
}

function r1(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/**
 * Lanes keep apart the arrows that share a pair of hosts (the request and the
 * reply, each way — four on a hairpin), and spread their badges along it.
 */
function lanes(wires: readonly Wire[], order: Map<string, number>): { off: number; t: number }[] {
  const forward = (w: Wire): boolean => (order.get(w.from) ?? 0) <= (order.get(w.to) ?? 0);
  const pairs = new Map<string, number[]>();
  wires.forEach((w, i) => {
    const key = [w.from, w.to].sort().join('\u0000');
    pairs.set(key, [...(pairs.get(key) ?? []), i]);
  });
  const out: { off: number; t: number }[] = wires.map(() => ({ off: 0, t: 0.5 }));
  for (const idx of pairs.values()) {
    const rank = (i: number): number =>
      (wires[i]!.leg === 'request' ? 0 : 2) + (forward(wires[i]!) ? 0 : 1);
    const sorted = [...idx].sort((a, b) => rank(a) - rank(b) || a - b);
    const m = sorted.length;
    sorted.forEach((i, k) => {
      out[i] = { off: (k - (m - 1) / 2) * 12, t: m === 1 ? 0.5 : 0.28 + (0.44 * k) / (m - 1) };
    });
  }
  return out;
}

function arrowPath(
  w: Wire,
  places: Map<string, Placed>,
  order: Map<string, number>,
  bandY: number | undefined,
  { off, t }: { off: number; t: number },
): { d: string; mid: { x: number; y: number } } | undefined {
  const a = places.get(w.from);
  const b = places.get(w.to);
  if (!a || !b) return undefined;
  if (a.role === 'node' && b.role === 'node' && bandY !== undefined && a.host !== b.host) {
    // Node to node crosses the underlay: down from one root namespace, along the wire, up into the other.
    const ax = center(a.box).x + off;
    const bx = center(b.box).x + off;
    const y0 = a.box.y + a.box.h;
    const y1 = b.box.y + b.box.h;
    const yb = bandY + off;
    return {
      d: `M${r1(ax)},${r1(y0)} V${r1(yb)} H${r1(bx)} V${r1(y1 + 2)}`,
      mid: { x: ax + (bx - ax) * t, y: yb },
    };
  }
  const ca = center(a.box);
  const cb = center(b.box);
  const len = Math.hypot(cb.x - ca.x, cb.y - ca.y) || 1;
  // The normal of the pair (the same whichever way the packet goes), so lanes stay apart.
  const flip = (order.get(w.from) ?? 0) <= (order.get(w.to) ?? 0) ? 1 : -1;
  const nx = (-(cb.y - ca.y) / len) * flip;
  const ny = ((cb.x - ca.x) / len) * flip;
  const pa = edge(a.box, cb.x + nx * off, cb.y + ny * off);
  const pb = edge(b.box, ca.x + nx * off, ca.y + ny * off);
  const x0 = pa.x + nx * off;
  const y0 = pa.y + ny * off;
  const x1 = pb.x + nx * off;
  const y1 = pb.y + ny * off;
  return {
    d: `M${r1(x0)},${r1(y0)} L${r1(x1)},${r1(y1)}`,
    mid: { x: x0 + (x1 - x0) * t, y: y0 + (y1 - y0) * t },
  };
}

function fieldText(field: 'src' | 'dst', p: PacketView, marks: readonly Mark[]): string {
  const value = field === 'src' ? srcOf(p) : dstOf(p);
  const ms = marks.filter((m) => m.field === field || m.field === 'src+dst');
  if (ms.length === 0) return `<tspan class="k">${field}</tspan> ${esc(value)}`;
  const nat = ms.filter((m) => m.field === field);
  if (nat.length === 0) {
    // Decapsulated: the inner header the packet had all along is back; nothing was rewritten.
    if (ms.every((m) => m.kind === 'DECAP'))
      return `<tspan class="k">${field}</tspan> ${esc(value)} <tspan class="why">decapsulated</tspan>`;
    // A tunnel header: both addresses are new.
    return `<tspan class="k">${field}</tspan> <tspan class="new">${esc(value)}</tspan> <tspan class="why">${esc(ms.map((m) => m.kind).join(', '))}</tspan>`;
  }
  return (
    `<tspan class="k">${field}</tspan> <tspan class="old">${esc(nat[0]!.from)}</tspan> → ` +
    `<tspan class="new">${esc(value)}</tspan> <tspan class="why">${esc(nat.map((m) => m.kind).join(', '))}</tspan>`
  );
}

/** The tunnel device that wrapped the packet (`flannel.1 vxlan vni 1`), for the inner line. */
function tunnelBy(w: Wire): string {
  const by = w.marks.find((m) => m.kind === 'ENCAP')?.by;
  return by ? ` (${esc(by)})` : '';
}

function wireLabel(w: Wire): string {
  const parts = [`${w.from} → ${w.to}`, `${srcOf(w.packet)} > ${dstOf(w.packet)}`];
  for (const m of w.marks) parts.push(`${m.kind} ${m.field} ${m.from} → ${m.to}`);
  if (w.inner) parts.push(`inner ${w.inner}`);
  return `${w.leg} hop ${w.n}: ${parts.join('; ')}`;
}

export function renderSvg(t: ConnectionTrace, wires: Wire[]): string {
  const hosts: { host: string; role: string }[] = [];
  const seen = new Set<string>();
  for (const [leg] of [[t.request], [t.reply]] as const) {
    for (const h of leg ? pathOf(leg) : []) {
      if (seen.has(h.host)) continue;
      seen.add(h.host);
      hosts.push({ host: h.host, role: h.role });
    }
  }
  const order = new Map(hosts.map((h, i) => [h.host, i]));
  const lay = layoutHosts(t, hosts);
  const arrows: string[] = [];
  const badges: string[] = [];
  // Where a leg died: a cross on that host's box.
  const deaths: string[] = [];
  for (const leg of [t.request, t.reply]) {
    if (!leg || (leg.disposition !== 'dropped' && leg.disposition !== 'rejected')) continue;
    const at = lay.places.get(leg.at ?? '');
    if (!at) continue;
    const x = at.box.x + at.box.w - 4;
    const y = at.box.y + 4;
    deaths.push(
      `<g class="death"><title>${esc(`${leg.what} ${leg.disposition} at ${leg.at} (${leg.reason ?? ''})`)}</title><circle cx="${x}" cy="${y}" r="10"/><path d="M${x - 4},${y - 4} L${x + 4},${y + 4} M${x + 4},${y - 4} L${x - 4},${y + 4}"/></g>`,
    );
  }
  const lane = lanes(wires, order);
  for (const [i, w] of wires.entries()) {
    const a = arrowPath(w, lay.places, order, lay.bandY, lane[i]!);
    if (!a) continue;
    const id = `${w.leg}-hop-${w.n}`;
    arrows.push(
      `<a class="arrow ${w.leg}" href="#${id}" data-leg="${w.leg}" data-hop="${w.n}" aria-label="${esc(wireLabel(w))}">` +
        `<title>${esc(wireLabel(w))}</title><path class="hit" d="${a.d}"/><path class="line" d="${a.d}" marker-end="url(#ah-${w.leg})"/></a>`,
    );
    badges.push(
      `<g class="badge ${w.leg}" aria-hidden="true"><circle cx="${r1(a.mid.x)}" cy="${r1(a.mid.y)}" r="9"/>` +
        `<text x="${r1(a.mid.x)}" y="${r1(a.mid.y + 4)}" text-anchor="middle">${w.n}</text></g>`,
    );
  }
  // The ledger: the packet on each wire, the seeds' "src: … dst: …" blocks.
  const lines: string[] = [];
  const lx = 8;
  let ly = 26;
  for (const leg of ['request', 'reply'] as const) {
    const ws = wires.filter((w) => w.leg === leg);
    const legv = leg === 'request' ? t.request : t.reply;
    if (!legv) continue;
    lines.push(
      `<g class="legend ${leg}"><line x1="${lx}" y1="${ly - 4}" x2="${lx + 26}" y2="${ly - 4}" marker-end="url(#ah-${leg})"/>` +
        `<text x="${lx + 34}" y="${ly}" class="title">${leg} · ${esc(legv.what)}</text></g>`,
    );
    ly += 20;
    if (ws.length === 0) {
      lines.push(
        `<text x="${lx}" y="${ly}" class="ip">no wire crossed: ${esc(legv.disposition)} at ${esc(legv.at ?? legv.from)}</text>`,
      );
      ly += 22;
    }
    for (const w of ws) {
      lines.push(
        `<g class="entry ${leg}" data-leg="${leg}" data-hop="${w.n}"><g class="badge ${leg}"><circle cx="${lx + 9}" cy="${ly - 4}" r="9"/><text x="${lx + 9}" y="${ly}" text-anchor="middle">${w.n}</text></g>` +
          `<text x="${lx + 26}" y="${ly}" class="name">${esc(w.from)} → ${esc(w.to)} <tspan class="ip">· ${esc(w.packet.proto)}${w.packet.flags ? ` ${esc(w.packet.flags)}` : ''}</tspan></text>` +
          `<text x="${lx + 26}" y="${ly + 16}">${fieldText('src', w.packet, w.marks)}</text>` +
          `<text x="${lx + 26}" y="${ly + 32}">${fieldText('dst', w.packet, w.marks)}</text>` +
          (w.inner
            ? `<text x="${lx + 26}" y="${ly + 48}" class="ip">inner ${esc(w.inner)}${tunnelBy(w)}</text>`
            : '') +
          `</g>`,
      );
      ly += w.inner ? 66 : 50;
    }
    // Where the leg ended, and what the receiver sees (the seeds' last frame: "src: svc1 dst: pod1"),
    // with what that host rewrote on the way in (the reply's un-DNAT when it lands on the node that did the DNAT).
    const path = pathOf(legv);
    const end = path[path.length - 1];
    if (end) {
      const marks = marksOf(end.steps);
      const bad = legv.disposition === 'dropped' || legv.disposition === 'rejected';
      lines.push(
        `<g class="entry end ${leg}${bad ? ' bad' : ''}"><text x="${lx + 9}" y="${ly}" text-anchor="middle" class="title">⇒</text>` +
          `<text x="${lx + 26}" y="${ly}" class="name">${esc(legv.disposition)} at ${esc(legv.at ?? end.host)}${legv.reason && !['delivered', 'left-model'].includes(legv.disposition) ? ` <tspan class="ip">(${esc(legv.reason)})</tspan>` : ''}</text>` +
          (legv.received
            ? `<text x="${lx + 26}" y="${ly + 16}">${fieldText('src', legv.received, marks)}</text>` +
              `<text x="${lx + 26}" y="${ly + 32}">${fieldText('dst', legv.received, marks)}</text>`
            : '') +
          `</g>`,
      );
      ly += legv.received ? 50 : 20;
    }
    ly += 8;
  }
  // The ledger is as wide as its widest line (measured on the text itself, entities counted once).
  const ledgerW = Math.max(
    300,
    ...[...lines.join('').matchAll(/<text x="([\d.]+)"[^>]*>(.*?)<\/text>/g)].map(
      (m) =>
        Number(m[1]) + textW((m[2] ?? '').replace(/<[^>]*>/g, '').replace(/&[#\w]+;/g, '_')) + 10,
    ),
  );
  const desc = wires.map(wireLabel).join('. ');
  // Both drawn a little larger than their units, so 13px text reads at about body size;
  // CSS shrinks them to fit, and on a narrow screen the ledger wraps under the picture.
  const svgOpen = (cls: string, w: number, h: number, label: string): string =>
    `<svg class="diagram ${cls}" viewBox="0 0 ${Math.ceil(w)} ${Math.ceil(h)}" width="${Math.ceil(w * 1.2)}" height="${Math.ceil(h * 1.2)}" ${label}>`;
  return (
    svgOpen('picture', lay.width, lay.height, 'role="group" aria-labelledby="dg-title dg-desc"') +
    `<title id="dg-title">${esc(`The path of ${t.from.ref} → ${t.to.ref}: hosts, the request and the reply`)}</title>` +
    `<desc id="dg-desc">${esc(desc || 'The packet did not leave its first host.')}</desc>` +
    `<defs>` +
    (['request', 'reply'] as const)
      .map(
        (l) =>
          `<marker id="ah-${l}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path class="head ${l}" d="M0,0 L10,5 L0,10 z"/></marker>`,
      )
      .join('') +
    `</defs>` +
    `<g class="hosts">${lay.svg.join('')}</g>` +
    `<g class="arrows">${arrows.join('')}</g>` +
    `<g class="badges">${badges.join('')}</g>` +
    `<g class="deaths">${deaths.join('')}</g>` +
    `</svg>` +
    svgOpen('wires', ledgerW + 8, ly, 'role="group" aria-labelledby="lg-title"') +
    `<title id="lg-title">The packet on each wire: src and dst, rewritten fields struck through and highlighted</title>` +
    `<g class="ledger">${lines.join('')}</g>` +
    `</svg>`
  );
}
