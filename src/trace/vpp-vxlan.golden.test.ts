/**
 * Contiv-VPP between nodes (examples/contiv-vpp-two-nodes.yaml): a pod to a
 * Service whose endpoint is on the other node, and a pod to a pod there,
 * through both vswitches and the VXLAN tunnel, there and back. The example
 * reuses the addresses and ports of Contiv's own packet-flow traces
 * (contiv/vpp docs/dev-guide/packet-flow/POD_TO_SERVICE_DIFFERENT_NODES.md
 * and POD_TO_POD_DIFFERENT_NODES.md); every value below that does not depend
 * on a MAC address or a pool index is checked against what those traces print.
 */
import { describe, expect, it } from 'vitest';
import { expectGolden, planExample } from '../render/testing/golden.js';
import { renderVppTrace } from '../render/vpp.js';
import { traceVppConnection, type VppConnectionTrace } from './vpp.js';

const model = () => planExample('contiv-vpp-two-nodes').model;
const nodes = (t: VppConnectionTrace, i: number) => t.hops[i]!.pass.trace.map((e) => e.record.node);

describe('contiv-vpp: a pod to a Service whose endpoint is on another node', () => {
  // POD_TO_SERVICE_DIFFERENT_NODES.md: 10.1.1.3:49710 → 10.97.193.160:80 → 10.1.2.4:8080.
  const t = traceVppConnection(model(), {
    from: 'default/client',
    to: 'svc/default/web:80',
    sport: 49710,
    seed: 1,
    packet: { id: 0x895a, seq: 0x27c7a68b, replySeq: 0xfc736553 },
  });
  const text = renderVppTrace(t);

  it('matches its golden', () => {
    expectGolden('contiv-vpp-two-nodes-service', { 'vpp.txt': text });
  });

  it('crosses both vswitches there and back', () => {
    expect(t.hops.map((h) => `${h.packet} ${h.node} ${h.via}`)).toEqual([
      'request k8s-master tap1',
      'request k8s-worker1 GigabitEthernet0/8/0',
      'reply k8s-worker1 tap1',
      'reply k8s-master GigabitEthernet0/8/0',
    ]);
    expect(t.reply?.fate).toMatchObject({ kind: 'transmit', ifName: 'tap1' });
  });

  it("walks the client's vswitch as Contiv's trace does: NAT44 picks the remote endpoint, loop0 into the bridge domain, vxlan4-encap, the NIC", () => {
    expect(nodes(t, 0)).toEqual([
      'virtio-input',
      'ethernet-input',
      'ip4-input',
      'acl-plugin-in-ip4-fa',
      'nat44-out2in',
      'ip4-lookup',
      'ip4-load-balance',
      'ip4-rewrite',
      'acl-plugin-out-ip4-fa',
      'loop0-output',
      'l2-input',
      'l2-input-classify',
      'acl-plugin-in-ip4-l2',
      'l2-fwd',
      'l2-output',
      'vxlan4-encap',
      'ip4-load-balance',
      'ip4-rewrite',
      'acl-plugin-out-ip4-fa',
      // Contiv's trace then shows nat44-in2out-output(-slowpath) (the NIC's
      // NAT output feature with the VXLAN identity mapping) and the DPDK TX node.
      'GigabitEthernet0/8/0-output',
    ]);
  });

  it("walks the server's vswitch as Contiv's trace does: dpdk-input, ip4-local, vxlan4-input, l2-fwd to the BVI, the pod's TAP", () => {
    expect(nodes(t, 1)).toEqual([
      'dpdk-input',
      'ip4-input',
      'ip4-lookup',
      'ip4-local',
      'ip4-udp-lookup',
      'vxlan4-input',
      'l2-input',
      'l2-fwd',
      'ip4-input',
      'nat44-in2out',
      'nat44-in2out-slowpath',
      'ip4-lookup',
      'ip4-rewrite',
      'acl-plugin-out-ip4-fa',
      'tap1-output',
    ]);
  });

  it("computes the header values Contiv's trace prints: checksums after NAT and each TTL decrement, the outer header, the VXLAN source port from VPP's flow hash", () => {
    const sum = (s: string) => s.match(/checksum 0x[0-9a-f]{4}/g)!.map((x) => x.slice(9));
    const client = t.hops[0]!.pass.trace.map((e) => e.record);
    const req = renderVppTrace({ ...t, hops: [t.hops[0]!] });
    // Before NAT, after NAT (and the TCP checksum with it), after ip4-rewrite.
    expect(sum(req)).toContain('0xda5c');
    expect(sum(req)).toContain('0x9a59');
    expect(sum(req)).toContain('0x9b59');
    expect(req).toContain(
      'UDP: 192.168.16.1 -> 192.168.16.2\n    tos 0x00, ttl 254, length 110, checksum 0x1b2b',
    );
    expect(req).toContain('UDP: 60039 -> 4789\n    length 90, checksum 0x0000');
    expect(req).toContain('VXLAN encap to vxlan_tunnel0 vni 10');
    expect(client.find((r) => r.node === 'ip4-rewrite')).toBeDefined();
    const server = renderVppTrace({ ...t, hops: [t.hops[1]!] });
    expect(server).toContain('ttl 253, length 110, checksum 0x1c2b');
    expect(server).toContain('VXLAN decap from vxlan_tunnel0 vni 10 next 1 error 0');
    expect(server).toContain('UDP: src-port 60039 dst-port 4789');
    expect(sum(server)).toContain('0x9c59'); // delivered with TTL 62
    // The SYN-ACK: IP id 0, its own flow hash for the way back.
    const back = renderVppTrace({ ...t, hops: [t.hops[2]!] });
    expect(sum(back)).toContain('0x23b4');
    expect(sum(back)).toContain('0x24b4');
    expect(back).toContain('UDP: 25569 -> 4789');
    expect(back).toContain('UDP: 192.168.16.2 -> 192.168.16.1');
  });

  it("un-DNATs the answer on the client's node, where the NAT44 session is (loop0 is NAT inside)", () => {
    const home = t.hops[3]!.pass.trace.map((e) => e.record);
    const slow = home.find((r) => r.node === 'nat44-in2out-slowpath');
    expect(slow).toMatchObject({ sessionIndex: 0 });
    const out = t.reply!.fate;
    expect(out.kind === 'transmit' && [...out.frame.subarray(26, 30)].join('.')).toBe(
      '10.97.193.160',
    );
  });
});

describe('contiv-vpp: a pod to a pod on another node', () => {
  // POD_TO_POD_DIFFERENT_NODES.md: 10.1.1.12:60996 → 10.1.2.13:8080.
  const t = traceVppConnection(model(), {
    from: 'default/client2',
    to: 'default/server2:8080',
    sport: 60996,
    seed: 1,
    packet: { id: 0x309f, seq: 0xd26ce551 },
  });
  const text = renderVppTrace(t);

  it('matches its golden', () => {
    expectGolden('contiv-vpp-two-nodes-pod', { 'vpp.txt': text });
  });

  it("passes nat44-out2in untranslated (session index -1) and prints Contiv's checksums and source port", () => {
    expect(text).toContain('NAT44_OUT2IN: sw_if_index 6, next index 1, session index -1');
    for (const c of ['0xf302', '0xf402', '0xf502', '0x1b2b', '0x1c2b'])
      expect(text).toContain(`checksum ${c}`);
    expect(text).toContain('UDP: 50038 -> 4789');
    expect(t.reply?.fate.kind).toBe('transmit');
  });

  it('is dropped on the server node by its policy when the client is not allowed, after crossing the tunnel', () => {
    const d = traceVppConnection(model(), {
      from: 'default/intruder',
      to: 'default/server2:8080',
      sport: 40000,
      seed: 1,
    });
    expect(d.hops.map((h) => h.node)).toEqual(['k8s-master', 'k8s-worker1']);
    expect(d.hops[1]!.pass.fate).toMatchObject({ kind: 'drop', node: 'acl-plugin-out-ip4-fa' });
    expect(d.reply).toBeUndefined();
  });
});

describe('contiv-vpp: from the host stack (a node, a hostNetwork pod) to a pod on another node', () => {
  it('leaves through vpp1 into tap0 from the vpp1 address, crosses the tunnel, and the RST comes back to the host', () => {
    const t = traceVppConnection(model(), {
      from: 'node/k8s-worker1',
      to: 'default/client2:8080',
      sport: 32966,
      seed: 1,
    });
    expect(t.hops.map((h) => `${h.packet} ${h.node} ${h.via}`)).toEqual([
      'request k8s-worker1 tap0',
      'request k8s-master GigabitEthernet0/8/0',
      'reply k8s-master tap2',
      'reply k8s-worker1 GigabitEthernet0/8/0',
    ]);
    const first = t.hops[0]!.pass.trace.find((e) => e.record.node === 'ip4-input')!.record;
    expect(first.node === 'ip4-input' && [...first.data.subarray(12, 16)].join('.')).toBe(
      '172.30.2.2',
    );
    expect(t.answer).toMatchObject({ host: 'default/client2', flags: 'RA' });
    expect(t.reply?.fate).toMatchObject({ kind: 'transmit', ifName: 'tap0' });
  });

  it("is dropped by the server's local table: Contiv's ACLs do not exempt the host stack", () => {
    const t = traceVppConnection(model(), {
      from: 'k8s-master',
      to: 'default/server2:8080',
      sport: 32966,
      seed: 1,
    });
    expect(t.fromKind).toBe('node');
    expect(t.hops.map((h) => h.node)).toEqual(['k8s-master', 'k8s-worker1']);
    expect(t.hops[1]!.pass.fate).toMatchObject({ kind: 'drop', node: 'acl-plugin-out-ip4-fa' });
  });
});
