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
import { dstOf, ep, isCopy, srcOf, touchedBy } from './trace.js';
import type {
  Alternative,
  ConnectionTrace,
  Leg,
  PacketView,
  RewriteView,
  StepView,
} from '../trace/model.js';
import { detailOf, rewriteOf } from '../trace/model.js';

// ------------------------------------------------------------------ escaping

const ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML/SVG content and double- or single-quoted attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c] ?? c);
}

// ------------------------------------------------------------------ the path

type LegName = 'request' | 'reply';

/** One visit of the packet (or of frames it waited for) to a host: a hop of the trace. */
interface Visit {
  readonly host: string;
  readonly role: string;
  readonly steps: readonly StepView[];
  /** Why a visit off the packet's path is shown: an ARP exchange, or a flood copy a host ignored. */
  readonly side?: 'arp' | 'copy';
}

/**
 * A host on the packet's path: consecutive visits to it merged, with the
 * visits elsewhere that happened while the packet waited there (ARP, floods),
 * in order. Flattening `visits` gives the trace's hops in their original order.
 */
export interface PathHop {
  readonly host: string;
  readonly role: string;
  readonly visits: readonly Visit[];
  /** This host's own steps, in order. */
  readonly steps: readonly StepView[];
}

/** The hosts the packet itself went through, in order (the text view's hop lines). */
export function pathOf(leg: Leg): PathHop[] {
  const out: { host: string; role: string; visits: Visit[]; steps: StepView[] }[] = [];
  for (const h of leg.hops) {
    const open = out[out.length - 1];
    if (open && open.host === h.host) {
      open.visits.push({ host: h.host, role: h.role, steps: h.steps });
      open.steps.push(...h.steps);
      continue;
    }
    const carriesIp = h.steps.some((s) => s.packet !== undefined);
    if (open && (isCopy(h) || !carriesIp)) {
      open.visits.push({
        host: h.host,
        role: h.role,
        steps: h.steps,
        side: isCopy(h) ? 'copy' : 'arp',
      });
      continue;
    }
    out.push({
      host: h.host,
      role: h.role,
      visits: [{ host: h.host, role: h.role, steps: h.steps }],
      steps: [...h.steps],
    });
  }
  return out;
}

function pktLine(p: PacketView): string {
  return `${srcOf(p)} > ${dstOf(p)}`;
}

interface Mark {
  readonly field: string;
  readonly kind: string;
  readonly from: string;
  readonly to: string;
  readonly by: string;
}

/** The rewrites a host made, in order (the steps carrying `detail.rewrite`, as in `rewrites`). */
function marksOf(steps: readonly StepView[]): Mark[] {
  const out: Mark[] = [];
  for (const s of steps) {
    const d = rewriteOf(s);
    if (!d) continue;
    if (s.kind !== 'nat' && s.kind !== 'encap' && s.kind !== 'decap') continue;
    out.push({ field: d.field, kind: d.rewrite, from: d.from, to: d.to, by: d.by });
  }
  return out;
}

/** The packet as it left a host: its last transmit, else the last packet seen there. */
function leaving(h: PathHop): PacketView | undefined {
  const rev = [...h.steps].reverse();
  return (
    rev.find((s) => s.kind === 'transmit' && s.packet)?.packet ?? rev.find((s) => s.packet)?.packet
  );
}

/** An arrow of the picture: the packet on the wire from path hop `n` to path hop `n + 1`. */
export interface Wire {
  readonly leg: LegName;
  /** 1-based: the number of the hop it leaves (its badge, and the hop it links to). */
  readonly n: number;
  readonly from: string;
  readonly to: string;
  readonly packet: PacketView;
  readonly marks: readonly Mark[];
  /** The inner packet when this wire carries a tunnel's outer header. */
  readonly inner?: string;
}

export function wiresOf(leg: Leg, name: LegName): Wire[] {
  const path = pathOf(leg);
  const out: Wire[] = [];
  for (let i = 0; i + 1 < path.length; i++) {
    const a = path[i]!;
    const b = path[i + 1]!;
    const p = leaving(a);
    if (!p) continue;
    const marks = marksOf(a.steps);
    const encap = [...a.steps].reverse().find((s) => detailOf(s, 'encap')?.inner);
    const inner = encap ? detailOf(encap, 'encap')?.inner?.['packet'] : undefined;
    out.push({
      leg: name,
      n: i + 1,
      from: a.host,
      to: b.host,
      packet: p,
      marks,
      ...(typeof inner === 'string' ? { inner } : {}),
    });
  }
  return out;
}

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

function renderSvg(t: ConnectionTrace, wires: Wire[]): string {
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

// ------------------------------------------------------------------ the hops

const FIELDS: readonly (keyof PacketView)[] = ['src', 'sport', 'dst', 'dport', 'proto', 'flags'];

/** A packet with the fields that differ from `other` highlighted. */
function pktDiff(p: PacketView, other: PacketView | undefined, cls: 'old' | 'new'): string {
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

function legSection(name: LegName, leg: Leg, counter: { n: number }): string {
  const path = pathOf(leg);
  const last = { text: '' };
  const items = path.map((h, i) => {
    const visits = h.visits
      .map((v) => {
        if (!v.side) return `<ol class="steps">${stepsHtml(v.steps, counter, last)}</ol>`;
        const what = v.side === 'arp' ? 'ARP exchange' : 'a flood copy, ignored';
        return (
          `<details class="side"><summary>meanwhile at <span class="host">${esc(v.host)}</span> <span class="role">${esc(v.role)}</span> · ${what} · ${v.steps.length} step${v.steps.length === 1 ? '' : 's'}</summary>` +
          `<ol class="steps">${stepsHtml(v.steps, counter, { text: '' })}</ol></details>`
        );
      })
      .join('');
    const n = i + 1;
    return (
      `<li class="hop" id="${name}-hop-${n}" data-leg="${name}" data-hop="${n}"><details><summary>` +
      `<span class="badge ${name}" aria-hidden="true">${n}</span><span class="sr">${name} hop ${n}:</span> <span class="host">${esc(h.host)}</span> <span class="role">${esc(h.role)}</span> ` +
      `${hopSummary(h)}</summary><div class="hopbody">${visits}</div></details></li>`
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

// ------------------------------------------------------------------ tables

function rewritesTable(rs: readonly RewriteView[], caption: string): string {
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

function pct(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

function legSum(l: Alternative['request'] | undefined): string {
  if (!l) return 'no reply';
  const seen = l.received ? ` — sees <code>${esc(pktLine(l.received))}</code>` : '';
  return `<strong>${esc(l.disposition)}</strong>${l.at ? ` at ${esc(l.at)}` : ''}${l.reason ? ` (${esc(l.reason)})` : ''}${seen}`;
}

function alternativesHtml(t: ConnectionTrace): string {
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
      `<span class="p">${pct(a.probability)}</span> ${a.dnat ? `DNAT → ${esc(a.dnat)}` : 'no DNAT'} · ${esc(a.request.disposition)}${isMain(a) ? ' <span class="chip">drawn above</span>' : ''}</label>`,
  );
  const panels = alts.map(
    (a, i) =>
      `<div class="alt-panel" id="alt-${i}" data-alt="${i}"${i === chosen ? '' : ' hidden'}>` +
      `<h3>Alternative ${i + 1}: ${pct(a.probability)}</h3>` +
      `<ul class="decisions">${a.decisions.map((d) => `<li><code>${esc(d.label)}</code>: ${d.value ? 'taken' : 'not taken'} (p ${esc(d.p.toFixed(4))})</li>`).join('') || '<li>no chance decision</li>'}</ul>` +
      `<p>request: ${legSum(a.request)}</p><p>reply: ${legSum(a.reply)}</p>` +
      rewritesTable(a.rewrites, `Rewrites in alternative ${i + 1}`) +
      `</div>`,
  );
  const total = alts.reduce((s, a) => s + a.probability, 0);
  return (
    `<section aria-labelledby="h-alts"><h2 id="h-alts">Alternatives (--all-paths): ${alts.length}, total ${pct(total)}</h2>` +
    `<fieldset class="alts"><legend>Show the alternative</legend>${radios.join('')}</fieldset>${panels.join('')}</section>`
  );
}

function defaultsHtml(t: ConnectionTrace): string {
  if (t.defaults.length === 0) return '';
  const relevant = (o: string): boolean => touchedBy(t, o);
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
    `<section aria-labelledby="h-defaults"><h2 id="h-defaults">Defaults the twin invented</h2>` +
    table(mine, 'For the objects this connection touched') +
    (rest.length > 0
      ? `<details class="more"><summary>${rest.length} more, about objects this connection did not touch</summary>${table(rest, 'Other defaults')}</details>`
      : '') +
    `</section>`
  );
}

function policyHtml(t: ConnectionTrace): string {
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

function diagnosticsHtml(t: ConnectionTrace): string {
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

const CSS = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1c1d1f;--muted:#5d6168;--line:#d5d7db;--panel:#fff;--panel2:#f1f2f4;
--req:#1f5fd6;--rep:#b84a0e;--rw-bg:#ffe58a;--rw-fg:#3b2a00;--old:#8a3a3a;--good:#1b7a3a;--bad:#b3261e;--ns:#eef3fb;--node:#f7f7f8;--root:#e8ecf2;--focus:#7a4cff}
@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e6e7ea;--muted:#a1a6b0;--line:#3a3e46;--panel:#1e2127;--panel2:#262a31;
--req:#6ea8ff;--rep:#ff9a5c;--rw-bg:#6b5200;--rw-fg:#fff3c4;--old:#f08a8a;--good:#5fd38a;--bad:#ff8078;--ns:#1f2a3a;--node:#1b1e23;--root:#2a313c;--focus:#b69cff}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:1200px;padding:1.25rem 1.25rem 3rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
code,.mono,.steps,.diagram text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code{font-size:.92em}
h1{font-size:1.45rem;margin:.2rem 0 .4rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.8rem 0 .5rem;overflow-wrap:anywhere}
h3{font-size:1rem;margin:.8rem 0 .3rem}
.muted{color:var(--muted)}
[hidden]{display:none!important}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
a{color:var(--req)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.meta{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.2rem 0 .8rem;color:var(--muted)}
.meta dt{display:inline;font-weight:600}.meta dd{display:inline;margin:0 0 0 .3rem}
.fates{display:grid;gap:.35rem;margin:.4rem 0 1rem}
.fate{padding:.45rem .7rem;border-radius:8px;background:var(--panel);border:1px solid var(--line);border-left:6px solid var(--muted);overflow-wrap:anywhere}
.fate.delivered{border-left-color:var(--good)}.fate.dropped,.fate.rejected{border-left-color:var(--bad)}
.fate .lbl{font-weight:700;text-transform:uppercase;font-size:.75rem;letter-spacing:.05em;margin-right:.4rem}
.fate.delivered .disp{color:var(--good)}.fate.dropped .disp,.fate.rejected .disp{color:var(--bad)}
figure{margin:0;padding:.6rem;background:var(--panel);border:1px solid var(--line);border-radius:10px;overflow-x:auto}
.drawing{display:flex;flex-wrap:wrap;gap:1rem 2rem;align-items:flex-start}
.drawing svg{flex:0 1 auto;min-width:0}
@media (min-width:900px){.drawing{flex-wrap:nowrap}}
figcaption{font-size:.85rem;color:var(--muted);margin:.2rem .2rem .4rem}
figcaption label{margin-left:1rem;white-space:nowrap}
.diagram{display:block;max-width:100%;height:auto}
.diagram text{font-size:13px;fill:var(--fg)}
.diagram .title{font-weight:700;font-size:14px}
.diagram .role,.diagram .ip{fill:var(--muted)}
.diagram .k{fill:var(--muted)}
.diagram .old{fill:var(--old);text-decoration:line-through}
.diagram .new{fill:var(--fg);font-weight:700}
.diagram .why{fill:var(--muted);font-style:italic}
.diagram .host rect{fill:var(--panel);stroke:var(--muted);stroke-width:1.2}
.diagram .node rect.frame{fill:var(--node);stroke:var(--line);stroke-width:1.5}
.diagram .ns rect{fill:var(--ns);stroke:var(--line);stroke-dasharray:4 3}
.diagram .root rect{fill:var(--root)}
.diagram .router rect{fill:var(--panel2)}
.diagram .external rect{fill:var(--panel2);stroke-dasharray:6 3}
.diagram .band line{stroke:var(--muted);stroke-width:3;stroke-linecap:round;opacity:.5}
.diagram .arrow .line{fill:none;stroke-width:2.2}
.diagram .arrow .hit{fill:none;stroke:transparent;stroke-width:12}
.diagram .arrow.request .line,.diagram .legend.request line{stroke:var(--req)}
.diagram .arrow.reply .line,.diagram .legend.reply line{stroke:var(--rep)}
.diagram .legend line{stroke-width:2.2}
.diagram .arrow.reply .line{stroke-dasharray:7 4}
.diagram .legend.reply line{stroke-dasharray:7 4}
.diagram .head.request{fill:var(--req)}.diagram .head.reply{fill:var(--rep)}
.diagram .badge circle{stroke:var(--panel);stroke-width:2}
.diagram .badge.request circle{fill:var(--req)}.diagram .badge.reply circle{fill:var(--rep)}
.diagram .badge text{fill:#fff;font-weight:700;font-size:11px}
.diagram .death circle{fill:var(--bad)}.diagram .death path{stroke:#fff;stroke-width:2.4;stroke-linecap:round}
.diagram .arrow:hover .line,.diagram .arrow:focus .line,.diagram .arrow.hl .line{stroke-width:4.5}
.diagram .arrow:focus{outline:none}.diagram .arrow:focus-visible .hit{stroke:var(--focus);stroke-opacity:.35}
.diagram .entry.hl .name{text-decoration:underline}
.diagram .entry.end .name{font-weight:700}
.diagram .entry.end.bad .name{fill:var(--bad)}
.hide-request .arrow.request,.hide-request .badges .request,.hide-reply .arrow.reply,.hide-reply .badges .reply{display:none}
.tools{margin:.2rem 0 .5rem}
button{font:inherit;font-size:.85rem;padding:.2rem .6rem;border-radius:6px;border:1px solid var(--line);background:var(--panel);color:var(--fg);cursor:pointer}
button:hover{background:var(--panel2)}
ol.hops{list-style:none;margin:0;padding:0}
.hop{margin:.35rem 0;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
.hop.flash{box-shadow:0 0 0 3px var(--focus)}
.leg.request .hop{border-left:5px solid var(--req)}.leg.reply .hop{border-left:5px solid var(--rep)}
.hop>details>summary{padding:.45rem .6rem;cursor:pointer;overflow-wrap:anywhere}
.hop .host{font-weight:700}
.role{color:var(--muted);font-size:.8rem}
.badge{display:inline-block;min-width:1.4rem;text-align:center;border-radius:1rem;color:#fff;font-weight:700;font-size:.8rem;padding:0 .35rem}
.badge.request{background:var(--req)}.badge.reply{background:var(--rep)}
.addr{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;margin-left:.4rem}
.k{color:var(--muted)}
.old{color:var(--old);text-decoration:line-through}
.new,.rw .body .sum{background:var(--rw-bg);color:var(--rw-fg);border-radius:3px;padding:0 .15rem}
.why{font-style:italic;color:var(--muted)}
.chip{display:inline-block;font-size:.78rem;padding:0 .4rem;border-radius:.6rem;background:var(--panel2);border:1px solid var(--line);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.chip.good{color:var(--good)}.chip.bad{color:var(--bad)}
.hopbody{padding:0 .6rem .6rem}
ol.steps{list-style:none;margin:0;padding:0;font-size:.82rem}
.step{display:grid;grid-template-columns:3.2rem 5.6rem 1fr;gap:.5rem;padding:.18rem 0;border-top:1px dashed var(--line)}
.step .n{color:var(--muted)}
.step .kind{font-weight:700;text-transform:uppercase;font-size:.72rem;letter-spacing:.04em;padding-top:.1rem}
.step .body{overflow-wrap:anywhere;min-width:0}
.step .body>span{display:block}
.step .body .chip,.step .body .loc{display:inline-block}
.d1 .body{padding-left:1rem}.d2 .body{padding-left:2rem}.d3 .body{padding-left:3rem}.d4 .body{padding-left:4rem}.d5 .body,.d6 .body{padding-left:5rem}
.k-hook .body{font-weight:700}
.k-rule .kind{color:var(--req)}.k-nat .kind,.k-encap .kind,.k-decap .kind{color:var(--rep)}
.k-drop .kind,.k-drop .sum{color:var(--bad)}.k-socket .kind{color:var(--good)}
.k-policy .kind,.k-note .kind,.k-arp .kind,.k-bridge .kind,.k-transmit .kind,.k-receive .kind{color:var(--muted)}
.loc{color:var(--muted);font-size:.9em}
code.rule{display:block;white-space:pre-wrap}
.match,.pkt,.ba{color:var(--muted)}
.lbl{display:inline-block;min-width:3.2rem;color:var(--muted)}
details.side{margin:.25rem 0 .25rem 1rem;border-left:2px solid var(--line);padding-left:.5rem}
details.side>summary{cursor:pointer;color:var(--muted);font-size:.82rem}
.outcome{font-weight:500;overflow-wrap:anywhere}
.outcome.delivered strong{color:var(--good)}.outcome.dropped strong,.outcome.rejected strong{color:var(--bad)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:var(--panel)}
caption{text-align:left;color:var(--muted);padding:.3rem 0}
th,td{border:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--panel2);white-space:nowrap}
table.rw td:nth-child(-n+3),table.rw td:nth-child(5){white-space:nowrap;overflow-wrap:normal}
fieldset.alts{border:1px solid var(--line);border-radius:8px;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
fieldset.alts label{cursor:pointer}
.p{font-weight:700}
.alt-panel{margin-top:.5rem}
.diags .error strong{color:var(--bad)}
pre.explain{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.5rem .7rem;font-size:.82rem;white-space:pre-wrap;overflow-wrap:anywhere}
footer{margin-top:2rem;color:var(--muted);font-size:.8rem}
@media print{
:root{--bg:#fff;--fg:#000;--panel:#fff;--panel2:#f3f3f3;--muted:#444;--line:#bbb;--node:#fafafa;--ns:#f2f6fc;--root:#eef1f5;--rw-bg:#ffe58a;--rw-fg:#000;--req:#1f5fd6;--rep:#b84a0e}
body{max-width:none;padding:0;font-size:11pt}
.tools,figcaption label{display:none}
.alt-panel[hidden]{display:block!important}
.hop,tr,figure{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
`;

const SCRIPT = `(function(){
var d=document;
function hopsOf(leg){return d.querySelectorAll('.hop[data-leg="'+leg+'"] > details');}
function openHop(id){var li=d.getElementById(id);if(!li)return;var det=li.querySelector('details');if(det)det.open=true;
li.classList.add('flash');setTimeout(function(){li.classList.remove('flash');},1200);}
d.addEventListener('click',function(e){var t=e.target;if(!(t instanceof Element))return;
var a=t.closest('a.arrow');if(a){var id=(a.getAttribute('href')||'').slice(1);openHop(id);return;}
var b=t.closest('button[data-leg]');if(b){var open=b.classList.contains('expand');hopsOf(b.getAttribute('data-leg')).forEach(function(x){x.open=open;});}});
function hl(el,on){var leg=el.getAttribute('data-leg'),n=el.getAttribute('data-hop');
d.querySelectorAll('.diagram [data-leg="'+leg+'"][data-hop="'+n+'"]').forEach(function(x){x.classList.toggle('hl',on);});}
d.querySelectorAll('.hop').forEach(function(li){['mouseenter','focusin'].forEach(function(ev){li.addEventListener(ev,function(){hl(li,true);});});
['mouseleave','focusout'].forEach(function(ev){li.addEventListener(ev,function(){hl(li,false);});});});
d.querySelectorAll('input[name="alt"]').forEach(function(r){r.addEventListener('change',function(){
d.querySelectorAll('.alt-panel').forEach(function(p){p.hidden=p.getAttribute('data-alt')!==r.value;});});});
d.querySelectorAll('input[data-show]').forEach(function(c){c.addEventListener('change',function(){
d.querySelector('figure').classList.toggle('hide-'+c.getAttribute('data-show'),!c.checked);});});
if(location.hash)openHop(location.hash.slice(1));
var closed=[];addEventListener('beforeprint',function(){closed=[];d.querySelectorAll('details:not([open])').forEach(function(x){closed.push(x);x.open=true;});});
addEventListener('afterprint',function(){closed.forEach(function(x){x.open=false;});});
})();`;

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

/** The whole page for one connection trace. */
export function renderTraceHtml(t: ConnectionTrace): string {
  const wires = [...wiresOf(t.request, 'request'), ...(t.reply ? wiresOf(t.reply, 'reply') : [])];
  const counter = { n: 0 };
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
    legSection('request', t.request, counter) +
    (t.reply
      ? legSection('reply', t.reply, counter)
      : `<section class="leg reply" aria-labelledby="h-reply"><h2 id="h-reply">Reply</h2><p>None: nothing answers a packet that never arrived.</p></section>`) +
    `<section aria-labelledby="h-rewrites"><h2 id="h-rewrites">Rewrites</h2>${rewritesTable(t.rewrites, 'Every address rewrite, in order, with the packet before and after')}</section>` +
    policyHtml(t) +
    alternativesHtml(t) +
    defaultsHtml(t) +
    diagnosticsHtml(t) +
    `</main><footer>Rendered by packeteye from one trace; the same trace as <code>-o json</code>. Step numbers match <code>-v</code>.</footer>`;
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark">` +
    `<title>${esc(`packeteye trace ${title}`)}</title><style>${CSS}</style></head>\n` +
    `<body>${body}<script>${SCRIPT}</script></body></html>\n`
  );
}
