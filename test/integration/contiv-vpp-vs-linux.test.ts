/**
 * One cluster, two data planes: seed 004's example under Contiv-VPP (the
 * VPP vswitch, its ACL plugin rendering the policies) and under Calico (the
 * Linux kernel, Felix's iptables rules). Where NetworkPolicy decides, both
 * give the same answer; the traces say where each data plane decided.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { planExample } from '../../src/render/testing/golden.js';
import { traceConnection } from '../../src/trace/connection.js';
import { traceVppConnection } from '../../src/trace/vpp.js';

const EXAMPLE = 'contiv-vpp-host-endpoint';
const vppModel = () => planExample(EXAMPLE).model;
const linuxPlan = () =>
  planExample(EXAMPLE, (s) =>
    s.replace(
      'cni: {plugin: contiv-vpp, gateway: 192.168.16.100}',
      'cni: {plugin: calico}\n  networkPolicy: {enforcer: calico}',
    ),
  );

describe('contiv-vpp and calico agree on what the policies allow', () => {
  it.each([
    ['default/client', 'svc/default/web:80', true],
    ['default/busybox', 'svc/default/web:80', false],
  ] as const)('%s → %s: allowed %s under both', (from, to, allowed) => {
    const v = traceVppConnection(vppModel(), { from, to, sport: 40000, seed: 1 });
    const vppAllowed = v.request.fate.kind === 'transmit' && v.reply?.fate.kind === 'transmit';
    const l = traceConnection(linuxPlan(), { from, to, seed: 1, sport: 40000 });
    const linuxAllowed = l.request.disposition === 'delivered' && l.reply?.disposition === 'delivered';
    expect(vppAllowed).toBe(allowed);
    expect(linuxAllowed).toBe(allowed);
    if (!allowed) {
      // Where they differ: VPP drops at the node-global ACL on tap0's output,
      // after NAT44; Linux in the sending pod's cali veth's Felix chains.
      expect(v.request.fate).toMatchObject({ kind: 'drop', node: 'acl-plugin-out-ip4-fa' });
      expect(l.request.disposition).toBe('dropped');
    }
  });
});

/**
 * Between nodes (examples/contiv-vpp-two-nodes.yaml): every pod on one node
 * to every pod and Service on the other, through both vswitches and the
 * VXLAN tunnel under Contiv-VPP, through the kernels and Calico's tunnel
 * under Calico — and `reach`'s answer for the pair. A connection "reaches"
 * when the request gets to the destination's socket layer (a SYN-ACK, or a
 * RST where nothing listens).
 */
describe('contiv-vpp and calico agree across nodes, and with reach', () => {
  const TWO = 'contiv-vpp-two-nodes';
  const vpp = () => planExample(TWO).model;
  const linux = () =>
    planExample(TWO, (s) =>
      s.replace(
        'cni: {plugin: contiv-vpp, gateway: 192.168.16.100}',
        'cni: {plugin: calico}\n  networkPolicy: {enforcer: calico}',
      ),
    );
  const master = ['default/client', 'default/client2', 'default/intruder'];
  const worker = ['default/server', 'default/server2'];
  const pairs: [string, string, string][] = [
    ...master.flatMap((f) => worker.map((t) => [f, `${t}:8080`, t] as [string, string, string])),
    ...master.map((f) => [f, 'svc/default/web:80', 'default/server'] as [string, string, string]),
    ...worker.flatMap((f) => master.map((t) => [f, `${t}:8080`, t] as [string, string, string])),
  ];

  it.each(pairs)('%s → %s', async (from, to, dest) => {
    const v = traceVppConnection(vpp(), { from, to, sport: 40000, seed: 1 });
    const vppReaches = v.answer !== undefined;
    const l = traceConnection(linux(), { from, to, seed: 1, sport: 40000 });
    const linuxReaches =
      l.request.disposition === 'delivered' ||
      (l.request.disposition === 'rejected' && l.request.reason === 'no-listener');
    const io = memoryIo({
      'c.yaml': readFileSync(join(import.meta.dirname, `../../examples/${TWO}.yaml`), 'utf8'),
    });
    expect(await main(['reach', '-f', 'c.yaml', '-o', 'csv'], io)).toBe(0);
    const rows = io.stdout.trim().split('\n').map((r) => r.split(','));
    const cell = rows.find((r) => r[0] === from)![rows[0]!.indexOf(dest)]!;
    const reachSays = cell === 'all' || cell.includes('8080');
    expect(vppReaches).toBe(reachSays);
    expect(linuxReaches).toBe(reachSays);
    if (vppReaches) {
      // Crossed the tunnel: both vswitches walked the request.
      expect(new Set(v.hops.filter((h) => h.packet === 'request').map((h) => h.node)).size).toBe(2);
    }
  });
});
