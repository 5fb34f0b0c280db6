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
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import { formatRoute } from '../kernel/fib.js';
import { vxlanDriverOf, type VxlanHeaders } from '../kernel/vxlan.js';
import { readPcap } from '../render/pcap.js';
import { traceConnectionWithTwin } from '../trace/connection.js';
import { planTwin, type Twin } from '../twin/index.js';
import { parseFrame } from '../wire/index.js';
import { vxlanDecapsulate } from '../wire/vxlan.js';

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
const canRun =
  process.platform === 'linux' &&
  typeof process.getuid === 'function' &&
  process.getuid() === 0 &&
  ['ip', 'bridge', 'tcpdump', 'python3', 'ethtool'].every(has) &&
  spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;

const cluster = (cni: string): string => `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: vx}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: ${cni}
  underlay: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, mtu: 1500}
---
apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.12}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pod1, namespace: default}
spec: {nodeName: node1, containers: [{name: c, image: busybox}]}
status: {podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: pod4, namespace: default}
spec: {nodeName: node2, containers: [{name: c, image: busybox, ports: [{containerPort: 5353, protocol: UDP}]}]}
status: {podIP: 10.244.2.7}
`;

const PREFIX = `pe-vx-${process.pid}`;
const created: string[] = [];

function sh(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0)
    throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

function nsOf(host: string): string {
  return `${PREFIX}-${host.replace(/^.*\//, '')}`;
}

/**
 * The commands that give namespace `ns` the kernel state of twin host `h`.
 * `peerNs` maps a twin host to its namespace; the node's eth0 pair is the
 * underlay (created once, from node1's side).
 */
function commandsFor(
  h: Host,
  peerNs: (host: string) => string | undefined,
  done: Set<string>,
): string[][] {
  const ns = nsOf(h.name);
  const cmds: string[][] = [];
  const late: string[][] = [];
  for (const l of h.linkList()) {
    const key = `${h.name}/${l.name}`;
    if (l.kind === 'loopback') continue;
    if (l.kind === 'bridge') cmds.push(['ip', '-n', ns, 'link', 'add', l.name, 'type', 'bridge']);
    else if (l.kind === 'veth' && l.peer && !done.has(key)) {
      const other = peerNs(l.peer.host);
      if (other === undefined) throw new Error(`veth ${key}: peer host ${l.peer.host} not built`);
      cmds.push([
        'ip',
        '-n',
        ns,
        'link',
        'add',
        l.name,
        'type',
        'veth',
        'peer',
        'name',
        l.peer.name,
        'netns',
        other,
      ]);
      done.add(`${l.peer.host}/${l.peer.name}`);
    } else if (l.kind === 'ether' && l.name === 'eth0' && !done.has(key)) {
      // The underlay: node1's eth0 and node2's eth0 as one veth pair (the twin's segment, without its router).
      const others = [...nodes].filter((n) => n !== h.name);
      const other = others[0]!;
      cmds.push([
        'ip',
        '-n',
        ns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        nsOf(other),
      ]);
      done.add(`${other}/eth0`);
    } else if (l.kind === 'vxlan') {
      const d = vxlanDriverOf(l)!;
      late.push([
        'ip',
        '-n',
        ns,
        'link',
        'add',
        l.name,
        'type',
        'vxlan',
        'id',
        String(d.vni),
        'dstport',
        String(d.dstport),
        ...(d.local ? ['local', d.local] : []),
        ...(d.dev ? ['dev', d.dev] : []),
        'nolearning',
        ...(d.udpCsum ? [] : ['noudpcsum']),
      ]);
    }
  }
  cmds.push(...late);
  return cmds;
}

const nodes = new Set(['node1', 'node2']);

function settingsFor(h: Host): string[][] {
  const ns = nsOf(h.name);
  const cmds: string[][] = [];
  const ip = (...a: string[]) => cmds.push(['ip', '-n', ns, ...a]);
  for (const l of h.linkList()) {
    if (l.kind === 'loopback') {
      if (l.adminUp) ip('link', 'set', 'lo', 'up');
      continue;
    }
    ip('link', 'set', l.name, 'address', l.mac, 'mtu', String(l.mtu));
  }
  for (const l of h.linkList()) {
    if (l.master) ip('link', 'set', l.name, 'master', l.master);
    if (l.port?.hairpin)
      cmds.push([
        'ip',
        'netns',
        'exec',
        ns,
        'bridge',
        'link',
        'set',
        'dev',
        l.name,
        'hairpin',
        'on',
      ]);
  }
  for (const l of h.linkList()) {
    if (l.kind === 'loopback') continue;
    for (const a of h.addressesOf(l.name))
      ip('addr', 'add', `${a.local}/${a.prefix}`, 'dev', l.name);
    if (l.adminUp) ip('link', 'set', l.name, 'up');
  }
  // Routes without a gateway first: `default via 169.254.1.1` needs `169.254.1.1 dev eth0 scope link`.
  const routes = h.route.list('main').filter((r) => r.proto !== 'kernel');
  for (const r of [
    ...routes.filter((x) => x.via === undefined),
    ...routes.filter((x) => x.via !== undefined),
  ]) {
    ip('route', 'add', ...formatRoute(r).split(' '));
  }
  // Per-device sysctls the plugins set (Calico: proxy_arp on the cali veths).
  for (const l of h.linkList()) {
    for (const k of ['proxy_arp', 'route_localnet']) {
      const v = h.sysctl.number(`net.ipv4.conf.${l.name}.${k}`);
      if (v !== 0)
        cmds.push([
          'ip',
          'netns',
          'exec',
          ns,
          'sysctl',
          '-qw',
          `net.ipv4.conf.${l.name}.${k}=${v}`,
        ]);
    }
  }
  for (const n of h.neigh.list()) {
    if (n.state === 'PERMANENT' && n.mac)
      ip('neigh', 'add', n.ip, 'lladdr', n.mac, 'dev', n.dev, 'nud', 'permanent');
  }
  for (const l of h.linkList()) {
    const d = vxlanDriverOf(l);
    for (const e of d?.fdb.values() ?? []) {
      cmds.push([
        'ip',
        'netns',
        'exec',
        ns,
        'bridge',
        'fdb',
        'append',
        e.mac,
        'dev',
        l.name,
        'dst',
        e.dst,
        'self',
        ...(e.permanent ? ['permanent'] : []),
      ]);
    }
  }
  cmds.push([
    'ip',
    'netns',
    'exec',
    ns,
    'sysctl',
    '-qw',
    `net.ipv4.ip_forward=${h.sysctl.number('net.ipv4.ip_forward')}`,
  ]);
  return cmds;
}

afterAll(() => {
  for (const ns of created) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
});

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
    const loaded = loadDocuments([{ path: 'vx.yaml', text: cluster(c.cni) }]);
    const built = buildModel(loaded.objects);
    const plan = planTwin(built.model);
    const { trace, twin } = traceConnectionWithTwin(plan, {
      from: 'default/pod1',
      to: '10.244.2.7:5353',
      proto: 'udp',
      sport: 40000,
    });
    const fresh: Twin = plan.instantiate();
    const hosts = ['node1', 'node2', 'default/pod1', 'default/pod4'];
    const dir = mkdtempSync(join(tmpdir(), 'pe-vx-'));
    try {
      for (const h of hosts) {
        sh(['ip', 'netns', 'add', nsOf(h)]);
        created.push(nsOf(h));
      }
      const done = new Set<string>();
      const peerNs = (host: string) => (hosts.includes(host) ? nsOf(host) : undefined);
      const cmds: string[][] = [];
      for (const h of hosts) cmds.push(...commandsFor(fresh.host(h), peerNs, done));
      for (const h of hosts) cmds.push(...settingsFor(fresh.host(h)));
      for (const c of cmds) sh(c);
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
      const dump = spawn(
        'ip',
        [
          'netns',
          'exec',
          nsOf('node1'),
          'tcpdump',
          '-i',
          'eth0',
          '-U',
          '-c',
          '1',
          '-w',
          pcap,
          `udp port ${c.port}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const killer = setTimeout(() => dump.kill('SIGKILL'), 4000);
      await new Promise<void>((resolve) => {
        dump.stderr.on('data', (b: Buffer) => {
          if (b.toString().includes('listening on')) resolve();
        });
        dump.on('exit', () => resolve());
      });
      sh([
        'ip',
        'netns',
        'exec',
        nsOf('default/pod1'),
        'python3',
        '-c',
        "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.244.1.5', 40000)); s.sendto(b'', ('10.244.2.7', 5353))",
      ]);
      await new Promise<void>((resolve) =>
        dump.exitCode !== null ? resolve() : dump.on('exit', () => resolve()),
      );
      clearTimeout(killer);

      const file = readPcap(new Uint8Array(readFileSync(pcap)));
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
        (s) => s.kind === 'transmit' && s.detail?.['dev'] === 'eth0' && s.packet?.dport === c.port,
      )!;
      const t = real.value.tunnel;
      expect({ src: t.outerSrcMac, dst: t.outerDstMac }).toEqual({
        src: tx.detail!['src'],
        dst: tx.detail!['dst'],
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
      for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
    }
  }, 30_000);
});
