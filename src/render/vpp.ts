/**
 * `trace -o vpp`: a Contiv-VPP connection (trace/vpp.ts) as VPP's `show
 * trace` prints it — the thread banner, then `Packet 1` (the request) and
 * `Packet 2` (the answer), each node with its trace lines (vpp/format.ts).
 * A connection between nodes crosses several vswitches, each with its own
 * `show trace`: one block per node, in the order the request reached them,
 * headed by the node's name, its packets numbered as that vswitch counted
 * them. The time column is VPP's time since its main loop started; the twin
 * has no clock, so it is printed as 00:00:00:000000 for every node.
 */
import type { VppConnectionTrace } from '../trace/vpp.js';
import { formatPacketTrace } from '../vpp/index.js';

const BANNER = '------------------- Start of thread 0 vpp_main -------------------';

export function renderVppTrace(t: VppConnectionTrace): string {
  const nodes = [...new Set(t.hops.map((h) => h.node))];
  const out: string[] = [];
  for (const node of nodes) {
    if (nodes.length > 1) out.push(`# node ${node}: vppctl show trace`);
    out.push(BANNER);
    const mine = t.hops.filter((h) => h.node === node);
    for (const [i, h] of mine.entries())
      out.push(`Packet ${i + 1}`, '', formatPacketTrace(h.pass.trace), '');
  }
  return `${out.join('\n')}\n`;
}

/** What goes to stderr beside it: where the packets went, and what the twin invented. */
export function renderVppNotes(t: VppConnectionTrace): string {
  const lines = [`vswitch of node ${t.node}:`, ...t.notes.map((n) => `  ${n}`)];
  lines.push(
    'timestamps: VPP prints the time since its main loop started; the twin has no clock (00:00:00:000000)',
  );
  if (t.hops.some((h) => h.pass.trace.some((e) => e.record.node === 'dpdk-input')))
    lines.push(
      "dpdk-input: the buffer index and the mbuf's physical address are VPP buffer-pool addresses the twin does not have (0x0)",
    );
  lines.push('defaults:');
  for (const d of t.defaults) lines.push(`  ${d.object} ${d.field} = ${d.value} (${d.reason})`);
  return `${lines.join('\n')}\n`;
}
