/**
 * `trace -o vpp`: a Contiv-VPP connection (trace/vpp.ts) as VPP's `show
 * trace` prints it — the thread banner, then `Packet 1` (the request) and
 * `Packet 2` (the answer), each node with its trace lines (vpp/format.ts).
 * The time column is VPP's time since its main loop started; the twin has no
 * clock, so it is printed as 00:00:00:000000 for every node.
 */
import type { VppConnectionTrace } from '../trace/vpp.js';
import { formatPacketTrace } from '../vpp/index.js';

export function renderVppTrace(t: VppConnectionTrace): string {
  const out = ['------------------- Start of thread 0 vpp_main -------------------'];
  out.push('Packet 1', '', formatPacketTrace(t.request.trace), '');
  if (t.reply) out.push('Packet 2', '', formatPacketTrace(t.reply.trace), '');
  return `${out.join('\n')}\n`;
}

/** What goes to stderr beside it: where the packets went, and what the twin invented. */
export function renderVppNotes(t: VppConnectionTrace): string {
  const lines = [`vswitch of node ${t.node}:`, ...t.notes.map((n) => `  ${n}`)];
  lines.push(
    'timestamps: VPP prints the time since its main loop started; the twin has no clock (00:00:00:000000)',
  );
  lines.push('defaults:');
  for (const d of t.defaults) lines.push(`  ${d.object} ${d.field} = ${d.value} (${d.reason})`);
  return `${lines.join('\n')}\n`;
}
