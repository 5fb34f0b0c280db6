/**
 * Views of a name's resolution (trace/model-dns.ts DnsView):
 *
 * - `renderDnsText`: the `dns:` section of a trace by name — the pod's
 *   resolv.conf, one line per query (name, type, transport, the packet's way
 *   to the DNS pod, the answer) and the result; `wide` adds each query's hops.
 * - `renderDig`: the answer as dig prints it (`packeteye dns`), header,
 *   question, answer, authority and additional sections, and the server.
 */
import type { DnsQueryView, DnsRecordView, DnsView, Leg, PacketView } from '../trace/model.js';

const srcOf = (p: PacketView): string => (p.sport === undefined ? p.src : `${p.src}:${p.sport}`);
const dstOf = (p: PacketView): string => (p.dport === undefined ? p.dst : `${p.dst}:${p.dport}`);

/** Writes one leg's hops (render/trace.ts legText, handed in to keep the files acyclic). */
export type LegWriter = (title: string, leg: Leg, out: string[]) => void;

function rr(r: DnsRecordView): string {
  return `${r.name}\t${r.ttl}\tIN\t${r.type}\t${r.data}`;
}

/** The query packet's way: `10.11.0.2:41234 > 10.9.0.10:53 → 10.11.8.3:53 at node-1`. */
function path(q: DnsQueryView): string {
  const t = q.trace;
  const dnat = t.rewrites.find((r) => r.leg === 'request' && r.kind === 'DNAT');
  return `${srcOf(t.request.sent)} > ${dstOf(t.request.sent)}${dnat ? ` → ${dnat.to} (DNAT at ${dnat.host})` : ''}`;
}

function outcome(q: DnsQueryView): string {
  const a = q.answer;
  if (!a) return `no answer: ${q.timeout ?? '?'}${q.sends > 1 ? ` (sent ${q.sends} times)` : ''}`;
  const recs = a.answer.map((r) => `${r.type} ${r.data}`);
  const body =
    a.rcode === 'NOERROR'
      ? recs.length > 0
        ? recs.join(', ')
        : `no ${q.type} record (NODATA)`
      : recs.join(', ');
  return `${a.server}: ${a.rcode}${body ? ` ${body}` : ''}${a.tc ? ' (TC: truncated)' : ''}${q.sends > 1 ? ` (sent ${q.sends} times)` : ''}`;
}

export function renderDnsText(
  d: DnsView,
  opts: { wide?: boolean; leg?: LegWriter } = {},
): string[] {
  const out: string[] = [];
  out.push(
    `dns: ${d.name} from ${d.from}, ${d.types.join(' and ')}, ${d.libc} resolver (${d.libcFrom})`,
  );
  out.push(`  resolv.conf (dnsPolicy ${d.resolvConf.policy}):`);
  for (const l of d.resolvConf.text.trimEnd().split('\n')) out.push(`    ${l}`);
  for (const n of d.resolvConf.notes) out.push(`    # ${n}`);
  out.push(`  server: ${d.server.corefile}`);
  for (const n of d.server.notes) out.push(`    # ${n}`);
  if (d.result.fromHosts) out.push('  /etc/hosts has it: no query sent');
  const w = Math.max(0, ...d.queries.map((q) => q.name.length));
  d.queries.forEach((q, i) => {
    out.push(
      `  ${String(i + 1).padStart(2)}. ${q.type.padEnd(4)} ${q.name.padEnd(w)}  ${q.transport}  ${path(q)}`,
    );
    out.push(`      ${q.why} ⇒ ${outcome(q)}`);
    for (const n of q.answer?.notes ?? []) out.push(`      # ${n}`);
    if (q.forward)
      out.push(
        `      forwarded: ${srcOf(q.forward.request.sent)} > ${dstOf(q.forward.request.sent)} ⇒ ${q.forward.request.disposition}${q.forward.request.at ? ` at ${q.forward.request.at}` : ''}`,
      );
    if (opts.wide && opts.leg) {
      const lines: string[] = [];
      opts.leg('query', q.trace.request, lines);
      if (q.trace.reply) opts.leg('answer', q.trace.reply, lines);
      for (const l of lines) out.push(`      ${l}`);
    }
  });
  const r = d.result;
  const waited = r.waitedSeconds > 0 ? ` after ${r.waitedSeconds} s of timeouts` : '';
  out.push(
    r.status === 'ok'
      ? `  ⇒ ${r.results.join(', ')}${r.answeredName ? ` (${r.answeredName}${r.canonical ? `, canonical ${r.canonical}` : ''})` : ''}${waited}`
      : `  ⇒ ${r.status}: ${r.error ?? ''}${waited}`,
  );
  if (d.byAddress) out.push(`  ! ${d.byAddress.note}`);
  return out;
}

function flags(q: DnsQueryView): string {
  const a = q.answer!;
  return [
    'qr',
    ...(a.aa ? ['aa'] : []),
    ...(a.tc ? ['tc'] : []),
    'rd',
    ...(a.ra ? ['ra'] : []),
  ].join(' ');
}

/** The exchange that answered (the last query), as `dig` prints it. */
export function renderDig(d: DnsView): string {
  // The exchange that answered (the name that resolved, A before AAAA), else the last one sent.
  const q =
    d.queries.find((x) => x.name === d.result.answeredName && (x.answer?.answer.length ?? 0) > 0) ??
    d.queries[d.queries.length - 1];
  const out: string[] = [];
  out.push(
    `; <<>> packeteye dns <<>> ${d.name} ${d.types.join(' ')} (from ${d.from}, ${d.libc} search list)`,
  );
  if (!q) {
    out.push(
      `;; ${d.result.fromHosts ? `/etc/hosts: ${d.result.results.join(' ')}` : (d.result.error ?? 'no query sent')}`,
    );
    return `${out.join('\n')}\n`;
  }
  if (!q.answer) {
    out.push(`;; connection timed out; no servers could be reached (${q.timeout ?? ''})`);
    return `${out.join('\n')}\n`;
  }
  const a = q.answer;
  const extra = a.additional ?? [];
  out.push(';; Got answer:');
  out.push(`;; ->>HEADER<<- opcode: QUERY, status: ${a.rcode}, id: 0`);
  out.push(
    `;; flags: ${flags(q)}; QUERY: 1, ANSWER: ${a.answer.length}, AUTHORITY: ${a.authority.length}, ADDITIONAL: ${extra.length}`,
  );
  out.push('', ';; QUESTION SECTION:', `;${q.name}\t\tIN\t${q.type}`);
  if (a.answer.length > 0) out.push('', ';; ANSWER SECTION:', ...a.answer.map(rr));
  if (a.authority.length > 0) out.push('', ';; AUTHORITY SECTION:', ...a.authority.map(rr));
  if (extra.length > 0) out.push('', ';; ADDITIONAL SECTION:', ...extra.map(rr));
  out.push(
    '',
    `;; SERVER: ${q.nameserver}#53(${q.nameserver}) (${q.transport.toUpperCase()}), answered by ${a.server}`,
  );
  return `${out.join('\n')}\n`;
}
