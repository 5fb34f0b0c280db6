/** The HTML view's reading of a trace: escaping, the hosts a leg went through and the wires between them. */
import { dstOf, isCopy, srcOf } from './trace.js';
import { type Leg, type PacketView, type StepView, detailOf, rewriteOf } from '../trace/model.js';

// ------------------------------------------------------------------ escaping

const SPECIAL = /[&<>"']/;

/** Escapes text for HTML/SVG content and double- or single-quoted attribute values. */
export function esc(s: unknown): string {
  const t = String(s);
  // Most texts need nothing; the others are copied in runs between the characters replaced.
  if (!SPECIAL.test(t)) return t;
  let out = '';
  let from = 0;
  for (let i = 0; i < t.length; i++) {
    const r = escapeOf(t.charCodeAt(i));
    if (r === undefined) continue;
    out += t.slice(from, i) + r;
    from = i + 1;
  }
  return out + t.slice(from);
}

function escapeOf(c: number): string | undefined {
  switch (c) {
    case 38:
      return '&amp;';
    case 60:
      return '&lt;';
    case 62:
      return '&gt;';
    case 34:
      return '&quot;';
    case 39:
      return '&#39;';
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------ the path

export type LegName = 'request' | 'reply';

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

export function pktLine(p: PacketView): string {
  return `${srcOf(p)} > ${dstOf(p)}`;
}

export interface Mark {
  readonly field: string;
  readonly kind: string;
  readonly from: string;
  readonly to: string;
  readonly by: string;
}

/** The rewrites a host made, in order (the steps carrying `detail.rewrite`, as in `rewrites`). */
export function marksOf(steps: readonly StepView[]): Mark[] {
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
export function leaving(h: PathHop): PacketView | undefined {
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
