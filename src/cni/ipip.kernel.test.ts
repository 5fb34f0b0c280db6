/**
 * Calico IPIP against a real kernel: the twin builds a two-node Calico
 * cluster in IPIP mode; its kernel state (links with MACs and MTUs, tunl0's
 * MTU and address, the cali veths with proxy_arp, routes — BIRD's
 * `10.244.2.0/26 via 10.0.0.12 dev tunl0 proto bird onlink` among them —
 * and permanent neighbours) becomes `ip` commands in namespaces
 * `pe-ipip-<pid>-…`: node1 and node2 joined by a veth underlay (their eth0s),
 * one pod on each node. tunl0 is not created by a command: loading ipip.ko
 * gives every namespace its fallback `tunl0` (ipip_init_net), which is what
 * Calico configures. A real UDP datagram from pod1 to pod4 is captured on
 * node1's eth0 (`tcpdump -w … ip proto 4`), the pcap parsed with src/wire,
 * and the outer and inner headers compared with the twin's ENCAP step (and
 * its underlay transmit step for the outer MACs), field for field — except
 * the outer IP id (__ip_select_ident hashes with a random key).
 *
 * The kernel must be able to make IP-in-IP devices. That is probed first in a
 * scratch namespace (`tunl0` present, or `ip link add … type ipip` accepted,
 * after `modprobe ipip`); a kernel without the ipip module skips the suite
 * and prints why.
 */
import { spawnSync } from 'node:child_process';
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
import type { IpipHeaders } from '../kernel/ipip.js';
import { readPcap } from '../render/pcap.js';
import { parseEthernet, parsePacket } from '../wire/index.js';
import { ipipDecapsulate } from '../wire/vxlan.js';
import { detailOf } from '../trace/model.js';

const tools = canRunKernelTests(['ip', 'tcpdump', 'python3', 'ethtool']);

/** Can this kernel make IP-in-IP devices? Probed in a scratch namespace; the reason when not. */
function probeIpip(): string | undefined {
  const ns = `pe-ipip-probe-${process.pid}`;
  spawnSync('modprobe', ['ipip'], { stdio: 'ignore', timeout: 5000 });
  if (spawnSync('ip', ['netns', 'add', ns], { timeout: 5000 }).status !== 0)
    return 'cannot create a network namespace';
  try {
    if (spawnSync('ip', ['-n', ns, 'link', 'show', 'tunl0'], { timeout: 5000 }).status === 0)
      return undefined;
    const r = spawnSync('ip', ['-n', ns, 'link', 'add', 'pe-tunl', 'type', 'ipip'], {
      encoding: 'utf8',
      timeout: 5000,
    });
    if (r.status === 0) return undefined;
    return `this kernel cannot create IP-in-IP devices (\`ip link add … type ipip\`: ${r.stderr.trim()}; \`modprobe ipip\` found no module), so tunl0 cannot exist here`;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
  }
}

const noIpip = tools ? probeIpip() : undefined;
if (tools && noIpip !== undefined) console.warn(`ipip.kernel.test.ts: skipped: ${noIpip}`);
const canRun = tools && noIpip === undefined;

const CLUSTER = overlayCluster('ipip', '{plugin: calico, encapsulation: IPIP}');

const nsOf = namespaceNamer(`pe-ipip-${process.pid}`);
const created: string[] = [];

afterAll(() => deleteNamespaces(created));

describe.skipIf(!canRun)('Calico IPIP on a real kernel', () => {
  it("a real pod1 → pod4 datagram on the underlay equals the twin's ipip ENCAP step, field for field", async () => {
    const { trace, fresh } = traceOverlayDatagram('ipip.yaml', CLUSTER);
    const dir = mkdtempSync(join(tmpdir(), 'pe-ipip-'));
    try {
      buildOverlay(fresh, OVERLAY_HOSTS, nsOf, created);
      for (const [h, dev] of [
        ['default/pod1', 'eth0'],
        ['node1', 'eth0'],
      ] as const) {
        sh(['ip', 'netns', 'exec', nsOf(h), 'ethtool', '-K', dev, 'tx', 'off']);
      }
      // The commands came from the twin's state; the real devices now say the same.
      expect(sh(['ip', '-n', nsOf('node1'), '-d', 'link', 'show', 'tunl0'])).toMatch(
        /ipip any remote any local any ttl inherit nopmtudisc/,
      );
      expect(sh(['ip', '-n', nsOf('node1'), 'route', 'show'])).toMatch(
        /10\.244\.2\.0\/26 via 10\.0\.0\.12 dev tunl0 proto bird onlink/,
      );

      const pcap = join(dir, 'underlay.pcap');
      const bytes = await captureOne(nsOf('node1'), 'eth0', 'ip proto 4', pcap, () =>
        sendUdp(nsOf('default/pod1'), '10.244.1.5', 40000, '10.244.2.7', 5353),
      );
      const file = readPcap(bytes);
      expect(file.ok).toBe(true);
      if (!file.ok) return;
      expect(file.value.records.length).toBe(1);
      const frame = file.value.records[0]!.frame;
      const eth = parseEthernet(frame);
      expect(eth.ok).toBe(true);
      if (!eth.ok) return;
      const real = ipipDecapsulate(frame.subarray(14));
      expect(real.ok ? 'ok' : real.error).toBe('ok');
      if (!real.ok) return;
      const inner = parsePacket(real.value.inner);
      expect(inner.ok ? 'ok' : inner.error).toBe('ok');
      if (!inner.ok) return;

      const node1 = trace.request.hops.filter((h) => h.host === 'node1').flatMap((h) => h.steps);
      const encap = node1.find((s) => s.kind === 'encap')!.detail as unknown as IpipHeaders;
      const tx = node1.find(
        (s) => detailOf(s, 'transmit')?.dev === 'eth0' && s.packet?.proto === 'ipip',
      )!;
      expect({ src: eth.value.header.src, dst: eth.value.header.dst }).toEqual({
        src: detailOf(tx, 'transmit')!.src,
        dst: detailOf(tx, 'transmit')!.dst,
      });
      const t = real.value.tunnel;
      expect({ src: t.src, dst: t.dst, ttl: t.ttl, tos: t.tos, df: t.df }).toEqual({
        src: encap.outer.ip.src,
        dst: encap.outer.ip.dst,
        ttl: encap.outer.ip.ttl,
        tos: encap.outer.ip.tos,
        df: encap.outer.ip.df,
      });
      expect(frame.length - 14).toBe(encap.outer.ip.totalLength);
      const p = inner.value;
      expect({
        src: p.ip.src,
        dst: p.ip.dst,
        ttl: p.ip.ttl,
        tos: p.ip.tos,
        df: p.ip.df,
      }).toEqual({
        src: encap.inner.ip.src,
        dst: encap.inner.ip.dst,
        ttl: encap.inner.ip.ttl,
        tos: encap.inner.ip.tos,
        df: encap.inner.ip.df,
      });
      expect(inner.length).toBe(encap.inner.ip.totalLength);
      expect(p.l4).toMatchObject({ kind: 'udp', sport: 40000, dport: 5353 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      deleteNamespaces(created);
    }
  }, 30_000);
});
