/**
 * VXLAN overlays against a real kernel — flannel's (flannel.1, VNI 1, port
 * 8472, pods behind cni0) and Calico's (vxlan.calico, VNI 4096, port 4789,
 * pods behind cali veths answering 169.254.1.1 by proxy ARP): the twin builds
 * a two-node cluster; its kernel state (links with their MACs and MTUs,
 * the VXLAN devices' parameters, addresses, routes, permanent neighbours,
 * the VXLAN FDB) is turned into `ip` / `bridge` commands in namespaces
 * `pe-vx-<pid>-…`: node1 and node2 joined by a veth underlay (their eth0s),
 * each with a real `type vxlan id … dstport … nolearning` device, one pod on
 * each node. A real UDP datagram from pod1 to pod4 is
 * captured on node1's eth0 with `tcpdump -w`, the pcap parsed with src/wire,
 * and the outer and inner headers compared with the twin's ENCAP step (and
 * its underlay transmit step for the outer MACs), field for field.
 *
 * The outer UDP source port is not compared: Linux derives it from the skb
 * flow hash, keyed with a random per-boot seed (udp_flow_src_port), so no
 * model can predict it; the test checks it lies in the range the kernel uses
 * (32768–60999). The outer IP id is not compared either (ip_select_ident
 * hashes with a random key); everything else is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canRunKernelTests, deleteNamespaces, sh } from '../emulate/testing/kernel.js';
import {
  buildOverlay,
  captureOne,
  namespaceNamer,
  overlayCluster,
  OVERLAY_HOSTS,
  sendUdp,
  traceOverlayDatagram,
} from '../emulate/testing/overlay.js';
import type { VxlanHeaders } from '../kernel/vxlan.js';
import { readPcap } from '../render/pcap.js';
import { parseFrame } from '../wire/index.js';
import { vxlanDecapsulate } from '../wire/vxlan.js';
import { detailOf } from '../trace/model.js';

const canRun = canRunKernelTests(['ip', 'bridge', 'tcpdump', 'python3', 'ethtool']);

const nsOf = namespaceNamer(`pe-vx-${process.pid}`);
const created: string[] = [];

afterAll(() => deleteNamespaces(created));

const CASES = [
  {
    name: 'flannel vxlan',
    cni: '{plugin: flannel, backend: vxlan}',
    dev: 'flannel.1',
    vni: 1,
    port: 8472,
    route: /via 10\.244\.2\.0 dev flannel\.1 onlink/,
  },
  {
    name: 'calico VXLAN',
    cni: '{plugin: calico, encapsulation: VXLAN}',
    dev: 'vxlan.calico',
    vni: 4096,
    port: 4789,
    route: /via 10\.244\.2\.0 dev vxlan\.calico proto 80 onlink/,
  },
] as const;

describe.skipIf(!canRun).each(CASES)('$name on a real kernel', (c) => {
  it("a real pod1 → pod4 datagram on the underlay equals the twin's ENCAP step, field for field", async () => {
    const { trace, twin, fresh } = traceOverlayDatagram('vx.yaml', overlayCluster('vx', c.cni));
    const dir = mkdtempSync(join(tmpdir(), 'pe-vx-'));
    try {
      buildOverlay(fresh, OVERLAY_HOSTS, nsOf, created);
      // Checksum offload off where the datagram is built and encapsulated, so the capture holds the
      // kernel's own checksums (with offload a veth carries CHECKSUM_PARTIAL and tcpdump sees a stub).
      for (const [h, dev] of [
        ['default/pod1', 'eth0'],
        ['node1', c.dev],
        ['node1', 'eth0'],
      ] as const) {
        sh(['ip', 'netns', 'exec', nsOf(h), 'ethtool', '-K', dev, 'tx', 'off']);
      }
      // The commands came from the twin's state; the real devices now say the same.
      expect(sh(['ip', '-n', nsOf('node1'), '-d', 'link', 'show', c.dev])).toMatch(
        new RegExp(
          `vxlan id ${c.vni} local 10\\.0\\.0\\.11 dev eth0 .*dstport ${c.port} nolearning`,
        ),
      );
      expect(sh(['ip', '-n', nsOf('node1'), 'route', 'show'])).toMatch(c.route);

      const pcap = join(dir, 'underlay.pcap');
      const bytes = await captureOne(nsOf('node1'), 'eth0', `udp port ${c.port}`, pcap, () =>
        sendUdp(nsOf('default/pod1'), '10.244.1.5', 40000, '10.244.2.7', 5353),
      );
      const file = readPcap(bytes);
      expect(file.ok).toBe(true);
      if (!file.ok) return;
      expect(file.value.records.length).toBe(1);
      const real = vxlanDecapsulate(file.value.records[0]!.frame);
      expect(real.ok ? 'ok' : real.error).toBe('ok');
      if (!real.ok) return;
      const inner = parseFrame(real.value.inner);
      expect(inner.ok ? 'ok' : inner.error).toBe('ok');
      if (!inner.ok || inner.value.kind !== 'ipv4') return;

      // The twin's ENCAP step and its underlay transmit of the outer packet.
      const node1 = trace.request.hops.filter((h) => h.host === 'node1').flatMap((h) => h.steps);
      const encap = node1.find((s) => s.kind === 'encap')!.detail as unknown as VxlanHeaders;
      const tx = node1.find(
        (s) => detailOf(s, 'transmit')?.dev === 'eth0' && s.packet?.dport === c.port,
      )!;
      const t = real.value.tunnel;
      expect({ src: t.outerSrcMac, dst: t.outerDstMac }).toEqual({
        src: detailOf(tx, 'transmit')!.src,
        dst: detailOf(tx, 'transmit')!.dst,
      });
      expect({ src: t.ip.src, dst: t.ip.dst, ttl: t.ip.ttl, tos: t.ip.tos, df: t.ip.df }).toEqual({
        src: encap.outer.ip.src,
        dst: encap.outer.ip.dst,
        ttl: encap.outer.ip.ttl,
        tos: encap.outer.ip.tos,
        df: encap.outer.ip.df,
      });
      expect(file.value.records[0]!.frame.length - 14).toBe(encap.outer.ip.totalLength);
      expect({ dport: t.dport, vni: t.vni, checksum: t.udpChecksum }).toEqual({
        dport: encap.outer.udp.dport,
        vni: encap.outer.vxlan.vni,
        checksum: encap.outer.udp.checksum,
      });
      expect(t.sport).toBeGreaterThanOrEqual(32768);
      expect(t.sport).toBeLessThan(61000);
      const f = inner.value;
      const p = f.packet;
      expect({ src: f.src, dst: f.dst }).toEqual({ src: encap.inner.src, dst: encap.inner.dst });
      expect({ src: p.ip.src, dst: p.ip.dst, ttl: p.ip.ttl }).toEqual({
        src: encap.inner.ip.src,
        dst: encap.inner.ip.dst,
        ttl: encap.inner.ip.ttl,
      });
      expect(inner.length - 14).toBe(encap.inner.ip.totalLength);
      expect(p.l4).toMatchObject({ kind: 'udp', sport: 40000, dport: 5353 });
      // The twin's own MACs are the real devices' (the commands set them), so this is no tautology:
      // the kernel chose which MACs go where (flannel.1's as inner source, the permanent neighbour as inner destination).
      expect(encap.inner.src).toBe(twin.host('node1').getLink(c.dev)!.mac);
      expect(encap.inner.dst).toBe(twin.host('node2').getLink(c.dev)!.mac);
      expect(t.vni).toBe(c.vni);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      deleteNamespaces(created);
    }
  }, 30_000);
});
