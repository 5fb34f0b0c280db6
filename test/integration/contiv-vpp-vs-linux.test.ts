/**
 * One cluster, two data planes: seed 004's example under Contiv-VPP (the
 * VPP vswitch, its ACL plugin rendering the policies) and under Calico (the
 * Linux kernel, Felix's iptables rules). Where NetworkPolicy decides, both
 * give the same answer; the traces say where each data plane decided.
 */
import { describe, expect, it } from 'vitest';
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
