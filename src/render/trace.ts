/**
 * Views of a connection trace (trace/connection.ts). One trace model, many
 * renderings:
 *
 * - `renderTraceText`: the seeds' picture — one line per hop with `src` and
 *   `dst`, rewritten fields marked (`dst 10.9.3.76:80 → 10.11.8.67:80 (DNAT,
 *   KUBE-SEP-…)`), the reply under it, then the rewrites, the alternatives
 *   and what the twin invented. ARP exchanges show under the hop that waited
 *   for them; frames that only reached a host to be ignored (a flood's other
 *   copies) are left to `-v`.
 * - `renderTraceVerbose` (`-v`): every step, host by host, in the spirit of
 *   VPP's `show trace` (seed 004): a numbered stage line and its detail lines.
 * - `renderTraceMermaid`: a sequence diagram of the hops.
 */
import type { ConnectionTrace, Hop, Leg, PacketView, StepView } from '../trace/model.js';
import { detailOf, formatPercent, rewriteOf } from '../trace/model.js';
import { renderDnsText } from './dns.js';
import { beginsWith } from '../k8s/model/defaults.js';

/** `ip:port`, or the bare address when there is no port. */
export function ep(ip: string, port: number | undefined): string {
  return port === undefined ? ip : `${ip}:${port}`;
}

/** ICMP has no ports: its echo id (kept in `sport`) is shown once, in the header. */
export function srcOf(p: PacketView): string {
  return p.proto === 'icmp' ? p.src : ep(p.src, p.sport);
}

export function dstOf(p: PacketView): string {
  return p.proto === 'icmp' ? p.dst : ep(p.dst, p.dport);
}

function header(t: ConnectionTrace): string {
  return `trace ${t.from.ref} → ${t.to.ref} (${t.proto}, ${t.proto === 'icmp' ? 'echo id' : 'sport'} ${t.sport}, seed ${t.seed})`;
}

/** A frame that reached a host only to be ignored (a broadcast's other copies). */
export function isCopy(h: Hop): boolean {
  const dropped = h.steps.some(
    (s) =>
      s.kind === 'drop' &&
      (s.detail?.reason === 'not-for-us' || s.detail?.reason === 'arp-ignored'),
  );
  const moved = h.steps.some((s) => (s.kind === 'transmit' && s.packet) || s.kind === 'socket');
  return dropped && !moved;
}

function isArpLine(s: StepView): boolean {
  return s.kind === 'arp' && /^arp (who-has|reply|proxy reply)/.test(s.summary);
}

interface MergedHop {
  host: string;
  role: string;
  steps: StepView[];
  arp: string[];
}

/** IP-carrying hops, consecutive visits to the same host merged, ARP exchanges attached. */
function mergeHops(leg: Leg): MergedHop[] {
  const out: MergedHop[] = [];
  let pendingArp: string[] = [];
  for (const h of leg.hops) {
    if (isCopy(h)) continue;
    const arp = h.steps.filter(isArpLine).map((s) => `${h.host}: ${s.summary}`);
    const hasIp = h.steps.some((s) => s.packet !== undefined);
    const open = out[out.length - 1];
    if (!hasIp) {
      if (open) open.arp.push(...arp);
      else pendingArp.push(...arp);
      continue;
    }
    if (open && open.host === h.host) {
      open.steps.push(...h.steps);
      open.arp.push(...arp);
      continue;
    }
    out.push({ host: h.host, role: h.role, steps: [...h.steps], arp: [...pendingArp, ...arp] });
    pendingArp = [];
  }
  return out;
}

function rewriteMark(s: StepView): { field: string; text: string } | undefined {
  const d = rewriteOf(s);
  if ((s.kind === 'encap' || s.kind === 'decap') && d && s.before && s.packet) {
    // A tunnel changes both addresses at once (seed 003: "src: pod1 → src: node1, encapsulated").
    return {
      field: 'src+dst',
      text: `${d.rewrite} ${d.by}: ${srcOf(s.before)} > ${dstOf(s.before)} → ${srcOf(s.packet)} > ${dstOf(s.packet)}`,
    };
  }
  if ((s.kind !== 'nat' && s.kind !== 'fabric') || !d) return undefined;
  // A fabric rewrite (the cloud's 1:1 NAT) names its stage instead of a rule or conntrack.
  const by = d.rule ? d.rule.chain : s.kind === 'fabric' ? (d.label ?? d.by) : 'conntrack';
  return { field: d.field, text: `${d.from} → ${d.to} (${d.rewrite}, ${by})` };
}

function pathOf(h: MergedHop): string {
  const parts: string[] = [];
  const rx = h.steps.find((s) => s.kind === 'receive' && s.packet);
  const tx = [...h.steps].reverse().find((s) => s.kind === 'transmit' && s.packet);
  const bridged = h.steps.find(
    (s) =>
      s.kind === 'bridge' &&
      s.packet === undefined &&
      /fdb .* → |flood/.test(s.summary) &&
      s.detail?.action === 'forward',
  );
  const via: string[] = [];
  // Tunnel devices sit between the underlay device and the bridge (flannel.1, vxlan.calico, tunl0).
  const encapAt = h.steps.findIndex((s) => s.kind === 'encap');
  const tunnelOf = (kind: 'encap' | 'decap'): string | undefined => {
    for (const s of h.steps) {
      const device = detailOf(s, kind)?.device;
      if (device !== undefined) return device;
    }
    return undefined;
  };
  if (rx) via.push(detailOf(rx, 'receive')?.dev ?? '?');
  const decapDev = tunnelOf('decap');
  if (decapDev !== undefined) via.push(decapDev);
  const brName = h.steps.map((s) => detailOf(s, 'bridge')?.bridge).find((b) => b);
  if (brName !== undefined && (bridged || h.steps.some((s) => s.kind === 'bridge')))
    via.push(brName);
  const encapDev = tunnelOf('encap');
  if (encapDev !== undefined) via.push(encapDev);
  if (tx) via.push(detailOf(tx, 'transmit')?.dev ?? '?');
  const uniq = via.filter((v, i) => i === 0 || via[i - 1] !== v);
  if (uniq.length > 0) parts.push(uniq.join(' → '));
  // With an ENCAP, the route that chose the tunnel (the inner packet's), not the outer packet's.
  const route = [...(encapAt >= 0 ? h.steps.slice(0, encapAt) : h.steps)]
    .reverse()
    .map((s) => detailOf(s, 'route'))
    .find((d) => d?.route !== undefined && d.result !== 'local');
  if (route?.route !== undefined && tx) {
    const r = route.route;
    // The podCIDR routes the cloud (or the operator) gave the router are what makes cross-node traffic work.
    const note =
      h.role === 'router' && /proto static/.test(r)
        ? h.host === 'vpc'
          ? ' (VPC route)'
          : ' (gateway route)'
        : '';
    parts.push(`route ${r}${note}`);
  }
  const cts = h.steps
    .filter((s) => s.kind === 'conntrack')
    .map((s) => s.summary.replace(/^conntrack: /, ''));
  const ct = cts
    .map(
      (c) =>
        /\b(NEW|ESTABLISHED_REPLY|ESTABLISHED|RELATED_REPLY|RELATED|INVALID|UNTRACKED)\b/.exec(
          c,
        )?.[1],
    )
    .find((c) => c !== undefined);
  if (ct) parts.push(`ct ${ct}`);
  const sock = h.steps.find((s) => s.kind === 'socket');
  if (sock) parts.push(sock.summary.replace(/; kernel answers .*$/, ''));
  return parts.join(' · ');
}

function hopLine(h: MergedHop, width: number): string {
  const ps = h.steps.filter((s) => s.packet);
  const first = ps[0]!.before ?? ps[0]!.packet!;
  const marks = h.steps
    .map(rewriteMark)
    .filter((m): m is { field: string; text: string } => m !== undefined);
  const srcMark = marks.filter((m) => m.field === 'src').map((m) => m.text);
  const dstMark = marks.filter((m) => m.field === 'dst').map((m) => m.text);
  // An unmarked field shows as it entered the hop.
  const src = srcMark.length > 0 ? srcMark.join(', then ') : srcOf(first);
  const dst = dstMark.length > 0 ? dstMark.join(', then ') : dstOf(first);
  const path = pathOf(h);
  const tunnel = marks
    .filter((m) => m.field === 'src+dst')
    .map((m) => `\n  ${''.padEnd(width)}    ${m.text}`);
  return `  ${h.host.padEnd(width)}  src ${src}  dst ${dst}${path ? `   [${path}]` : ''}${tunnel.join('')}`;
}

function outcomeLine(leg: Leg): string {
  const seen = leg.received ? ` — sees ${srcOf(leg.received)} > ${dstOf(leg.received)}` : '';
  switch (leg.disposition) {
    case 'delivered':
      return `  ⇒ delivered at ${leg.at}: ${leg.socket}${seen}`;
    case 'left-model':
      return `  ⇒ left the model at ${leg.at}: ${leg.detail}${seen}`;
    default:
      return `  ⇒ ${leg.disposition} at ${leg.at ?? '?'} (${leg.reason}): ${leg.detail ?? ''}`;
  }
}

/** A chain name cut for a one-line path: kube-proxy's hashed chains keep their first 8 hash characters. */
function shortChain(chain: string): string {
  const m = /^(KUBE-(?:SVC|SEP|EXT|FW|SVL|XLB)-|cali-[a-z]+-)(\S{9,})$/.exec(chain);
  return m ? `${m[1]}${m[2]!.slice(0, 8)}…` : chain;
}

/**
 * `-o wide`: per hook and table, the rules the packet matched, as a path
 * (`nat: PREROUTING#1 → KUBE-SERVICES#2 → … → DNAT`), ending in the verdict
 * or the chain policy; tables that only passed it by policy ACCEPT are left
 * out. Then the frame as each device received and sent it.
 */
function wideLines(h: MergedHop): string[] {
  const lines: string[] = [];
  const groups: { key: string; parts: string[] }[] = [];
  for (const st of h.steps) {
    if (st.kind !== 'rule' && st.kind !== 'policy') continue;
    const d = st.detail;
    const key = `${String(d?.hook)} ${String(d?.table)}`;
    let g = groups[groups.length - 1];
    if (!g || g.key !== key) groups.push((g = { key, parts: [] }));
    if (st.kind === 'rule') {
      const r = st.detail;
      // A verdict or a rewrite ends the entry (`DNAT`, `ACCEPT`); a jump shows by the next hit's chain.
      const word = /^[A-Z]+\b/.exec(r?.target ?? '')?.[0] ?? '';
      const shown = /^(ACCEPT|DROP|REJECT|DNAT|SNAT|MASQUERADE|REDIRECT|NOTRACK)$/.test(word);
      g.parts.push(`${shortChain(String(r?.chain))}#${String(r?.index)}${shown ? ` ${word}` : ''}`);
    } else g.parts.push(`policy ${String(st.detail?.policy)}`);
  }
  for (const g of groups) {
    if (g.parts.length === 1 && g.parts[0] === 'policy ACCEPT') continue;
    const [hook, table] = g.key.split(' ');
    lines.push(`nf    ${hook!.padEnd(11)} ${table}: ${g.parts.join(' → ')}`);
  }
  for (const st of h.steps) {
    if ((st.kind !== 'receive' && st.kind !== 'transmit') || !st.packet) continue;
    const d = st.detail;
    lines.push(
      `${st.kind === 'receive' ? 'rx' : 'tx'}    ${String(d?.dev).padEnd(11)} ${String(d?.src)} > ${String(d?.dst)}`,
    );
  }
  return lines;
}

function legText(title: string, leg: Leg, out: string[], wide = false): void {
  out.push(`${title}: ${leg.what} ${srcOf(leg.sent)} > ${dstOf(leg.sent)} from ${leg.from}`);
  const hops = mergeHops(leg);
  const width = Math.max(8, ...hops.map((h) => h.host.length));
  for (const h of hops) {
    out.push(hopLine(h, width));
    if (wide) for (const l of wideLines(h)) out.push(`  ${''.padEnd(width)}    ${l}`);
    for (const a of h.arp) out.push(`  ${''.padEnd(width)}    arp  ${a}`);
    // NetworkPolicy notes (policy/trace-annotate.ts): where a policy applied, or would have.
    for (const s of h.steps)
      if (s.kind === 'note' && s.detail && 'policy' in s.detail)
        out.push(`  ${''.padEnd(width)}    policy  ${s.summary}`);
  }
  out.push(outcomeLine(leg));
}

/** The seeds' picture; `wide` adds each hop's netfilter path and frames (`-o wide`). */
/**
 * Whether the object a default is about (`Kind ns/name`) took part in the
 * connection: a host it crossed, the Service it was for (and that Service's
 * slices), or the Cluster itself.
 */
export function touchedBy(t: ConnectionTrace, object: string): boolean {
  return touchedTest(t)(object);
}

/** touchedBy for one trace, its hosts gathered once (for a trace's thousands of defaults). */
export function touchedTest(t: ConnectionTrace): (object: string) => boolean {
  const involved = involvedHosts(t);
  const svc = serviceOf(t);
  const svcPrefix = svc === undefined ? undefined : `${svc}-`;
  return (object) => {
    const name = objectName(object);
    return (
      involved.has(name) ||
      (svc !== undefined && (name === svc || name.startsWith(svcPrefix!))) ||
      object.startsWith('Cluster ')
    );
  };
}

/** The hosts the connection crossed. */
function involvedHosts(t: ConnectionTrace): Set<string> {
  const involved = new Set<string>();
  for (const leg of [t.request, t.reply]) for (const h of leg?.hops ?? []) involved.add(h.host);
  return involved;
}

/** The Service (`NS/NAME`) the connection was for, if it named one. */
function serviceOf(t: ConnectionTrace): string | undefined {
  return t.to.kind === 'service' && t.to.ref.startsWith('svc/')
    ? t.to.ref.slice(4).replace(/:[^:]*$/, '')
    : undefined;
}

/** `KIND NAME` → `NAME` (what `object.replace(/^\S+ /, '')` gives, without a regex per default). */
function objectName(object: string): string {
  let name = objectNames.get(object);
  if (name === undefined) {
    if (objectNames.size >= 1 << 20) objectNames.clear();
    objectNames.set(object, (name = nameOf(object)));
  }
  return name;
}

/** The names of the objects defaults were about, kept: the same strings recur in every trace. */
const objectNames = new Map<string, string>();

function nameOf(object: string): string {
  const i = object.indexOf(' ');
  if (i <= 0) return object;
  for (let k = 0; k < i; k++) {
    const c = object.charCodeAt(k);
    if ((c >= 9 && c <= 13) || (c >= 160 && /\s/.test(object[k]!))) return object;
  }
  return object.slice(i + 1);
}

/**
 * The trace with only the defaults about objects the connection touched
 * (`trace --defaults touched`), and how many it leaves out: at scale a trace
 * carries a default for every Service of the cluster. `known`: defaults the
 * trace's list may begin with (the model's, the same objects in the same
 * order in every trace of it), looked up by name in an index made once
 * instead of read one by one.
 */
export function withTouchedDefaults<T extends ConnectionTrace>(
  t: T,
  known?: readonly TraceDefault[],
): T {
  const all = t.defaults;
  const touched = touchedTest(t);
  let from = 0;
  const defaults: TraceDefault[] = [];
  if (known && known.length > 0 && beginsWith(all, known)) {
    for (const i of touchedIndexes(t, known)) defaults.push(known[i]!);
    from = known.length;
  }
  for (let i = from; i < all.length; i++) if (touched(all[i]!.object)) defaults.push(all[i]!);
  return {
    ...t,
    defaults,
    defaultsOmitted: (t.defaultsOmitted ?? 0) + all.length - defaults.length,
  };
}

type TraceDefault = ConnectionTrace['defaults'][number];

/** Per list of defaults: the positions of each object name's, the names sorted, the Cluster's. */
interface DefaultsIndex {
  readonly byName: ReadonlyMap<string, readonly number[]>;
  readonly names: readonly string[];
  readonly cluster: readonly number[];
}

const defaultIndexes = new WeakMap<readonly TraceDefault[], DefaultsIndex>();

function defaultsIndex(list: readonly TraceDefault[]): DefaultsIndex {
  let ix = defaultIndexes.get(list);
  if (ix) return ix;
  const byName = new Map<string, number[]>();
  const cluster: number[] = [];
  list.forEach((d, i) => {
    if (d.object.startsWith('Cluster ')) cluster.push(i);
    const name = nameOf(d.object);
    const at = byName.get(name);
    if (at) at.push(i);
    else byName.set(name, [i]);
  });
  ix = { byName, names: [...byName.keys()].sort(), cluster };
  defaultIndexes.set(list, ix);
  return ix;
}

/** The positions in `list` of the defaults touchedTest(t) keeps, in order. */
function touchedIndexes(t: ConnectionTrace, list: readonly TraceDefault[]): number[] {
  const ix = defaultsIndex(list);
  const at = new Set<number>(ix.cluster);
  const add = (name: string): void => {
    for (const i of ix.byName.get(name) ?? []) at.add(i);
  };
  for (const name of involvedHosts(t)) add(name);
  const svc = serviceOf(t);
  if (svc !== undefined) {
    add(svc);
    // The names starting `svc-`: a run of the sorted names, from the first not below it.
    const prefix = `${svc}-`;
    let lo = 0;
    let hi = ix.names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ix.names[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < ix.names.length && ix.names[k]!.startsWith(prefix); k++) add(ix.names[k]!);
  }
  return [...at].sort((a, b) => a - b);
}

export function renderTraceText(t: ConnectionTrace, opts: { wide?: boolean } = {}): string {
  const wide = opts.wide === true;
  const out: string[] = [];
  out.push(header(t));
  out.push('');
  if (t.dns) {
    out.push(...renderDnsText(t.dns, { wide, leg: (ti, l, o) => legText(ti, l, o) }));
    out.push('');
    if (t.to.kind === 'name')
      out.push(`${t.dns.name} did not resolve: no connection; the last query's packet:`, '');
  }
  legText('request', t.request, out, wide);
  out.push('');
  if (t.reply) legText('reply', t.reply, out, wide);
  else out.push('reply: none (nothing answers a packet that never arrived)');
  if (t.rewrites.length > 0) {
    out.push('');
    out.push('rewrites:');
    for (const r of t.rewrites)
      out.push(
        `  ${r.leg.padEnd(7)} ${r.kind.padEnd(10)} ${r.field} ${r.from} → ${r.to} at ${r.host} ${r.hook} (${r.by})`,
      );
  }
  if (t.policy) {
    const p = t.policy;
    out.push('');
    out.push(
      `policy: ${p.from} → ${p.to}${p.port ? ` ${p.port}` : ''} ${p.allowedByPolicy ? 'allowed' : 'denied'} by the policies; ${p.enforced ? `enforced by ${p.enforcer}` : `NOT enforced (${p.enforcer === 'none' ? 'no enforcer' : p.enforcer})`}`,
    );
    for (const l of p.explanation) out.push(`  ${l}`);
  }
  if (t.alternatives) {
    out.push('');
    out.push(`alternatives (--all-paths, ${t.alternatives.length}):`);
    for (const a of t.alternatives) {
      const req =
        a.request.disposition === 'delivered'
          ? `delivered at ${a.request.at}`
          : `${a.request.disposition} at ${a.request.at ?? '?'} (${a.request.reason})`;
      const rep = a.reply
        ? a.reply.disposition === 'delivered'
          ? `reply delivered${a.reply.received ? `, client sees ${srcOf(a.reply.received)}` : ''}`
          : `reply ${a.reply.disposition} (${a.reply.reason})`
        : 'no reply';
      out.push(
        `  ${formatPercent(a.probability, 1).padStart(6)}  ${a.dnat ? `DNAT → ${a.dnat}` : 'no DNAT'}: request ${req}; ${rep}`,
      );
    }
  }
  const touched = touchedTest(t);
  const relevant = t.defaults.filter((d) => touched(d.object));
  const omitted = t.defaultsOmitted ?? 0;
  if (t.defaults.length + omitted > 0) {
    out.push('');
    out.push('defaults (what the twin invented):');
    for (const d of relevant) out.push(`  ${d.object} ${d.field} = ${d.value}: ${d.reason}`);
    const more = t.defaults.length + omitted - relevant.length;
    if (more > 0)
      out.push(
        `  … and ${more} more about objects this connection did not touch (-o json, packeteye rules)`,
      );
  }
  if (t.diagnostics.length > 0) {
    out.push('');
    out.push('diagnostics:');
    for (const d of t.diagnostics)
      out.push(`  ${d.severity}: ${d.object ? `${d.object}: ` : ''}${d.message} [${d.code}]`);
  }
  return `${out.join('\n')}\n`;
}

function verboseLeg(title: string, leg: Leg, out: string[], counter: { n: number }): void {
  out.push(`${title}: ${leg.what} ${srcOf(leg.sent)} > ${dstOf(leg.sent)} from ${leg.from}`);
  for (const h of leg.hops) {
    out.push('');
    out.push(`${h.host} (${h.role})`);
    let last = '';
    for (const s of h.steps) {
      counter.n++;
      out.push(`  ${String(counter.n).padStart(4, '0')}: ${s.kind}`);
      out.push(`    ${s.summary}`);
      if (s.before && s.packet) {
        out.push(`    before: ${s.before.text}`);
        out.push(`    after:  ${s.packet.text}`);
        last = s.packet.text;
      } else if (s.packet && s.packet.text !== last) {
        out.push(`    packet: ${s.packet.text}`);
        last = s.packet.text;
      }
    }
  }
  out.push('');
  out.push(outcomeLine(leg));
}

export function renderTraceVerbose(t: ConnectionTrace): string {
  const out: string[] = [];
  out.push(header(t));
  out.push('');
  const counter = { n: 0 };
  verboseLeg('request', t.request, out, counter);
  out.push('');
  if (t.reply) verboseLeg('reply', t.reply, out, counter);
  const summary = renderTraceText(t).split('\n');
  const from = summary.findIndex(
    (l) => l === 'rewrites:' || l.startsWith('alternatives') || l.startsWith('defaults'),
  );
  if (from >= 0) {
    out.push('');
    out.push(...summary.slice(from).filter((l, i, a) => !(i === a.length - 1 && l === '')));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Text Mermaid reads as text: `;` ends a statement and `#…;` is an entity
 * code, so both are written as entity codes; a line break ends the text.
 */
function mermaidText(s: string): string {
  return s
    .replace(/#/g, '#35;')
    .replace(/;/g, '#59;')
    .replace(/[\r\n]+/g, ' ');
}

/**
 * `-o mermaid`: a sequence diagram, one lifeline per host. Lifelines get
 * generated ids (`h1`, `h2`, … in order of appearance) and the host's name
 * as their label, so any Kubernetes name works — one that is a Mermaid
 * keyword (`end`, `box`, `alt`, `loop`), and names that differ only in
 * punctuation (`c/a-b`, `c-a/b`). With --all-paths, each alternative is a
 * branch of an `alt` block.
 */
export function renderTraceMermaid(t: ConnectionTrace): string {
  const out: string[] = ['sequenceDiagram'];
  const ids = new Map<string, string>();
  const id = (host: string): string => ids.get(host) ?? '';
  const legs: [string, Leg | null][] = [
    ['request', t.request],
    ['reply', t.reply],
  ];
  for (const [, leg] of legs) {
    for (const h of leg ? mergeHops(leg) : []) {
      if (ids.has(h.host)) continue;
      ids.set(h.host, `h${ids.size + 1}`);
      out.push(`  participant ${id(h.host)} as ${mermaidText(h.host)}`);
    }
  }
  if (!ids.has(t.request.from)) {
    ids.set(t.request.from, `h${ids.size + 1}`);
    out.push(`  participant ${id(t.request.from)} as ${mermaidText(t.request.from)}`);
  }
  const note = (host: string, text: string) =>
    out.push(`  Note over ${id(host)}: ${mermaidText(text)}`);
  for (const [name, leg] of legs) {
    if (!leg) continue;
    const hops = mergeHops(leg);
    note(hops[0]?.host ?? leg.from, `${name}: ${leg.what}`);
    for (let i = 0; i + 1 < hops.length; i++) {
      const a = hops[i]!;
      const b = hops[i + 1]!;
      const p = [...a.steps].reverse().find((s) => s.packet)!.packet!;
      out.push(`  ${id(a.host)}->>${id(b.host)}: ${mermaidText(`${srcOf(p)} > ${dstOf(p)}`)}`);
      for (const s of b.steps) {
        const m = rewriteMark(s);
        if (m) note(b.host, `${m.field} ${m.text}`);
      }
    }
    const last = hops[hops.length - 1];
    if (last) note(last.host, `${leg.disposition}${leg.reason ? ` (${leg.reason})` : ''}`);
  }
  const alts = t.alternatives ?? [];
  if (alts.length > 1) {
    const client = hopsClient(t);
    alts.forEach((a, i) => {
      const end = (l: { disposition: string; at?: string }) =>
        `${l.disposition}${l.at ? ` at ${l.at}` : ''}`;
      out.push(
        `  ${i === 0 ? 'alt' : 'else'} ${mermaidText(`alternative ${i + 1} of ${alts.length}, ${formatPercent(a.probability, 1)}${a.dnat ? `, DNAT to ${a.dnat}` : ''}`)}`,
      );
      note(client, `request ${end(a.request)}${a.reply ? `, reply ${end(a.reply)}` : ''}`);
    });
    out.push('  end');
  }
  return `${out.join('\n')}\n`;
}

/** The lifeline the alternatives hang from: the sender's. */
function hopsClient(t: ConnectionTrace): string {
  return mergeHops(t.request)[0]?.host ?? t.request.from;
}
