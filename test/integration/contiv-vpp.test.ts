/**
 * Contiv-VPP's vswitch planned from the seed 004 example: the ACLs Contiv's
 * renderer makes of its two policies, and a denied connection.
 */
import { describe, expect, it } from 'vitest';
import { planExample } from '../../src/render/testing/golden.js';
import { traceVppConnection } from '../../src/trace/vpp.js';
import { planContiv } from '../../src/cni/contiv-vpp.js';

const model = () => planExample('contiv-vpp-host-endpoint').model;

describe('contiv-vpp vswitch', () => {
  it("numbers interfaces, adjacencies and ACLs in Contiv's configuration order", () => {
    const vs = planContiv(model(), { integer: (f) => f }).nodes.get('k8s-master')!.vswitch;
    expect(vs.interfaces.map((i) => `${i.swIfIndex} ${i.name}`)).toEqual([
      '0 local0',
      '1 GigabitEthernet0/8/0',
      '2 tap0',
      '3 loop0',
      '4 vxlan_tunnel0',
      '5 tap1',
      '6 tap2',
    ]);
    expect(vs.adjacencies.map((a) => `${a.index} ${a.kind} ${a.nextHop}`)).toEqual([
      '0 glean 0.0.0.0',
      '1 nbr 192.168.16.100',
      '2 glean 0.0.0.0',
      '3 nbr 172.30.1.2',
      '4 glean 0.0.0.0',
      '5 nbr 192.168.16.2',
      '6 nbr 192.168.30.2',
      '7 nbr 10.1.1.2',
      '8 nbr 10.1.1.3',
    ]);
    expect([0, 1, 2, 3].map((i) => vs.acl.get(i)!.tag)).toEqual([
      'contiv/vpp-policy-LOCAL-default/busybox',
      'contiv/vpp-policy-LOCAL-default/client',
      'contiv/vpp-policy-NODE-GLOBAL',
      'contiv/vpp-policy-REFLECTION',
    ]);
    // The global table: busybox's DNS then its deny, the client's DNS, web, deny, then permit-all.
    expect(
      vs.acl
        .get(2)!
        .rules.map(
          (r) =>
            `${r.isPermit} ${r.src.addr}/${r.src.len} ${r.dst.addr}/${r.dst.len} ${r.proto} ${r.dstPorts.join('-')}`,
        ),
    ).toEqual([
      '1 10.1.1.2/32 10.96.0.10/32 17 53-53',
      '0 10.1.1.2/32 0.0.0.0/0 0 0-65535',
      '1 10.1.1.3/32 10.96.0.10/32 17 53-53',
      '1 10.1.1.3/32 10.20.0.0/24 6 8080-8080',
      '0 10.1.1.3/32 0.0.0.0/0 0 0-65535',
      '1 0.0.0.0/0 0.0.0.0/0 0 0-65535',
    ]);
    expect(vs.acl.aclsOn(2, true)).toEqual([3]);
    expect(vs.acl.aclsOn(2, false)).toEqual([2]);
    expect(vs.acl.aclsOn(6, true)).toEqual([3]);
    expect(vs.acl.aclsOn(6, false)).toEqual([1]);
  });

  it("drops busybox's connection to the Service at the global table (its egress allows only DNS)", () => {
    const t = traceVppConnection(model(), {
      from: 'default/busybox',
      to: 'svc/default/web:80',
      sport: 40000,
      seed: 1,
    });
    expect(t.reply).toBeUndefined();
    expect(t.request.fate).toMatchObject({ kind: 'drop', node: 'acl-plugin-out-ip4-fa' });
    const acl = t.request.trace.find((e) => e.record.node === 'acl-plugin-out-ip4-fa')!.record;
    expect(acl).toMatchObject({ action: 0, matchAcl: 2, matchRule: 1, swIfIndex: 2 });
  });
});
