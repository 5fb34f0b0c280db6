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
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import { formatRoute } from '../kernel/fib.js';
import type { IpipHeaders } from '../kernel/ipip.js';
import { readPcap } from '../render/pcap.js';
import { traceConnectionWithTwin } from '../trace/connection.js';
import { planTwin, type Twin } from '../twin/index.js';
import { parseEthernet, parsePacket } from '../wire/index.js';
import { ipipDecapsulate } from '../wire/vxlan.js';

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
const tools =
  process.platform === 'linux' &&
  typeof process.getuid === 'function' &&
  process.getuid() === 0 &&
  ['ip', 'tcpdump', 'python3', 'ethtool'].every(has) &&
  spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;

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

const CLUSTER = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: ipip}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: {plugin: calico, encapsulation: IPIP}
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

const PREFIX = `pe-ipip-${process.pid}`;
const created: string[] = [];
const NODES = ['node1', 'node2'];

function sh(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0)
    throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

function nsOf(host: string): string {
  return `${PREFIX}-${host.replace(/^.*\//, '')}`;
}

/** Links of twin host `h` as `ip link add` commands (tunl0 comes with the module). */
function linkCommands(h: Host, peerNs: (host: string) => string | undefined, done: Set<string>) {
  const ns = nsOf(h.name);
  const cmds: string[][] = [];
  for (const l of h.linkList()) {
    const key = `${h.name}/${l.name}`;
    if (l.kind === 'loopback' || done.has(key)) continue;
    if (l.kind === 'ipip') {
      if (l.name !== 'tunl0') throw new Error(`${key}: only the fallback tunl0 is reproduced`);
      continue;
    }
    if (l.kind === 'veth' && l.peer) {
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
    } else if (l.kind === 'ether' && l.name === 'eth0') {
      // The underlay: node1's and node2's eth0 as one veth pair (the twin's segment, without its router).
      const other = NODES.find((n) => n !== h.name)!;
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
    } else {
      throw new Error(`${key}: link kind ${l.kind} is not reproduced by this test`);
    }
  }
  return cmds;
}

/** Addresses, MTUs, routes, sysctls and permanent neighbours of twin host `h`. */
function settingsFor(h: Host): string[][] {
  const ns = nsOf(h.name);
  const cmds: string[][] = [];
  const ip = (...a: string[]) => cmds.push(['ip', '-n', ns, ...a]);
  const sysctl = (kv: string) => cmds.push(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', kv]);
  for (const l of h.linkList()) {
    if (l.kind === 'loopback') {
      if (l.adminUp) ip('link', 'set', 'lo', 'up');
      continue;
    }
    // tunl0 has no Ethernet address (ARPHRD_TUNNEL): only its MTU is set.
    if (l.kind === 'ipip') ip('link', 'set', l.name, 'mtu', String(l.mtu));
    else ip('link', 'set', l.name, 'address', l.mac, 'mtu', String(l.mtu));
  }
  for (const l of h.linkList()) {
    if (l.kind === 'loopback') continue;
    for (const a of h.addressesOf(l.name))
      ip('addr', 'add', `${a.local}/${a.prefix}`, 'dev', l.name);
    if (l.adminUp) ip('link', 'set', l.name, 'up');
  }
  const routes = h.route.list('main').filter((r) => r.proto !== 'kernel');
  for (const r of [
    ...routes.filter((x) => x.via === undefined),
    ...routes.filter((x) => x.via !== undefined),
  ]) {
    ip('route', 'add', ...formatRoute(r).split(' '));
  }
  for (const l of h.linkList()) {
    for (const k of ['proxy_arp', 'route_localnet', 'rp_filter']) {
      const v = h.sysctl.number(`net.ipv4.conf.${l.name}.${k}`);
      if (v !== 0) sysctl(`net.ipv4.conf.${l.name}.${k}=${v}`);
    }
  }
  for (const n of h.neigh.list()) {
    if (n.state === 'PERMANENT' && n.mac)
      ip('neigh', 'add', n.ip, 'lladdr', n.mac, 'dev', n.dev, 'nud', 'permanent');
  }
  sysctl(`net.ipv4.ip_forward=${h.sysctl.number('net.ipv4.ip_forward')}`);
  return cmds;
}

afterAll(() => {
  for (const ns of created) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
});

describe.skipIf(!canRun)('Calico IPIP on a real kernel', () => {
  it("a real pod1 → pod4 datagram on the underlay equals the twin's ipip ENCAP step, field for field", async () => {
    const loaded = loadDocuments([{ path: 'ipip.yaml', text: CLUSTER }]);
    const built = buildModel(loaded.objects);
    const plan = planTwin(built.model);
    const { trace } = traceConnectionWithTwin(plan, {
      from: 'default/pod1',
      to: '10.244.2.7:5353',
      proto: 'udp',
      sport: 40000,
    });
    const fresh: Twin = plan.instantiate();
    const hosts = ['node1', 'node2', 'default/pod1', 'default/pod4'];
    const dir = mkdtempSync(join(tmpdir(), 'pe-ipip-'));
    try {
      for (const h of hosts) {
        sh(['ip', 'netns', 'add', nsOf(h)]);
        created.push(nsOf(h));
      }
      const done = new Set<string>();
      const peerNs = (host: string) => (hosts.includes(host) ? nsOf(host) : undefined);
      const cmds: string[][] = [];
      for (const h of hosts) cmds.push(...linkCommands(fresh.host(h), peerNs, done));
      for (const h of hosts) cmds.push(...settingsFor(fresh.host(h)));
      for (const c of cmds) sh(c);
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
          'ip proto 4',
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
        (s) => s.kind === 'transmit' && s.detail?.['dev'] === 'eth0' && s.packet?.proto === 'ipip',
      )!;
      expect({ src: eth.value.header.src, dst: eth.value.header.dst }).toEqual({
        src: tx.detail!['src'],
        dst: tx.detail!['dst'],
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
      for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
    }
  }, 30_000);
});
