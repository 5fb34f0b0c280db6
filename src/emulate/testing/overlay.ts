/**
 * What the overlay kernel tests (src/cni/ipip.kernel.test.ts,
 * src/cni/vxlan.kernel.test.ts) share: a two-node overlay cluster with one
 * pod on each node; building the twin's hosts in namespaces `<prefix>-<name>`
 * FROM the twin's kernel state (links with MACs and MTUs, bridges and their
 * ports, VXLAN devices with their FDB, addresses, routes, per-device sysctls,
 * permanent neighbours; the nodes' eth0s joined as one veth pair, the
 * underlay segment without its router; tunl0 comes with the ipip module,
 * ipip_init_net); sending one UDP datagram from a pod; and capturing one
 * frame with tcpdump. Test-only (tsconfig.build.json leaves `testing/` out of
 * the build).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { formatRoute } from '../../kernel/fib.js';
import type { Host } from '../../kernel/host.js';
import { vxlanDriverOf } from '../../kernel/vxlan.js';
import { loadDocuments } from '../../k8s/load.js';
import { buildModel } from '../../k8s/model.js';
import { traceConnectionWithTwin } from '../../trace/connection.js';
import type { ConnectionTrace } from '../../trace/model.js';
import { planTwin, type Twin } from '../../twin/index.js';
import { sh } from './kernel.js';

/**
 * Cluster `name` with CNI `cni` (a YAML flow mapping) on underlay
 * 10.0.0.0/24: node1 (10.0.0.11, 10.244.1.0/24) with pod default/pod1
 * (10.244.1.5), node2 (10.0.0.12, 10.244.2.0/24) with default/pod4
 * (10.244.2.7, UDP 5353).
 */
export const overlayCluster = (name: string, cni: string): string => `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: ${name}}
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

/** The hosts of overlayCluster that the kernel tests build: both nodes and both pods. */
export const OVERLAY_HOSTS: readonly string[] = ['node1', 'node2', 'default/pod1', 'default/pod4'];

/**
 * The cluster in `text` planned, the twin's trace of one UDP datagram
 * pod1 (10.244.1.5:40000) → pod4 (10.244.2.7:5353) with the twin it ran in,
 * and a fresh (cold) instance to build the namespaces from.
 */
export function traceOverlayDatagram(
  path: string,
  text: string,
): { trace: ConnectionTrace; twin: Twin; fresh: Twin } {
  const loaded = loadDocuments([{ path, text }]);
  const built = buildModel(loaded.objects);
  const plan = planTwin(built.model);
  const { trace, twin } = traceConnectionWithTwin(plan, {
    from: 'default/pod1',
    to: '10.244.2.7:5353',
    proto: 'udp',
    sport: 40000,
  });
  return { trace, twin, fresh: plan.instantiate() };
}

/** The namespace of twin host `host` (its name without the Kubernetes namespace). */
export const namespaceNamer =
  (prefix: string) =>
  (host: string): string =>
    `${prefix}-${host.replace(/^.*\//, '')}`;

/**
 * The commands that create the links of twin host `h` in `nsOf(h.name)`.
 * Veth pairs are created once (the peer end goes into `done`); a node's eth0
 * is paired with the other node's eth0 (the underlay). VXLAN devices come
 * last (they name eth0 as their device). Any other kind is refused.
 */
function linkCommands(
  h: Host,
  nsOf: (host: string) => string,
  peerNs: (host: string) => string | undefined,
  nodes: readonly string[],
  done: Set<string>,
): string[][] {
  const ns = nsOf(h.name);
  const cmds: string[][] = [];
  const late: string[][] = [];
  for (const l of h.linkList()) {
    const key = `${h.name}/${l.name}`;
    if (l.kind === 'loopback' || done.has(key)) continue;
    if (l.kind === 'bridge') cmds.push(['ip', '-n', ns, 'link', 'add', l.name, 'type', 'bridge']);
    else if (l.kind === 'ipip') {
      if (l.name !== 'tunl0') throw new Error(`${key}: only the fallback tunl0 is reproduced`);
    } else if (l.kind === 'veth' && l.peer) {
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
      // The underlay: the nodes' eth0s as one veth pair (the twin's segment, without its router).
      const other = nodes.find((n) => n !== h.name)!;
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
    } else {
      throw new Error(`${key}: link kind ${l.kind} is not reproduced`);
    }
  }
  cmds.push(...late);
  return cmds;
}

/** MACs, MTUs, masters, hairpin, addresses, routes, sysctls, permanent neighbours and FDB of twin host `h`. */
function settingsFor(h: Host, ns: string): string[][] {
  const cmds: string[][] = [];
  const ip = (...a: string[]) => cmds.push(['ip', '-n', ns, ...a]);
  const inNs = (...a: string[]) => cmds.push(['ip', 'netns', 'exec', ns, ...a]);
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
    if (l.master) ip('link', 'set', l.name, 'master', l.master);
    if (l.port?.hairpin) inNs('bridge', 'link', 'set', 'dev', l.name, 'hairpin', 'on');
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
    for (const k of ['proxy_arp', 'route_localnet', 'rp_filter']) {
      const v = h.sysctl.number(`net.ipv4.conf.${l.name}.${k}`);
      if (v !== 0) inNs('sysctl', '-qw', `net.ipv4.conf.${l.name}.${k}=${v}`);
    }
  }
  for (const n of h.neigh.list()) {
    if (n.state === 'PERMANENT' && n.mac)
      ip('neigh', 'add', n.ip, 'lladdr', n.mac, 'dev', n.dev, 'nud', 'permanent');
  }
  for (const l of h.linkList()) {
    for (const e of vxlanDriverOf(l)?.fdb.values() ?? []) {
      inNs(
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
      );
    }
  }
  inNs('sysctl', '-qw', `net.ipv4.ip_forward=${h.sysctl.number('net.ipv4.ip_forward')}`);
  return cmds;
}

/**
 * Creates a namespace per twin host in `hosts` (each recorded in `created`,
 * for the caller to delete) and gives it that host's kernel state. Hosts
 * without a `/` are the nodes (their eth0s make the underlay).
 */
export function buildOverlay(
  twin: Twin,
  hosts: readonly string[],
  nsOf: (host: string) => string,
  created: string[],
): void {
  for (const h of hosts) {
    sh(['ip', 'netns', 'add', nsOf(h)]);
    created.push(nsOf(h));
  }
  const nodes = hosts.filter((h) => !h.includes('/'));
  const done = new Set<string>();
  const peerNs = (host: string) => (hosts.includes(host) ? nsOf(host) : undefined);
  const cmds: string[][] = [];
  for (const h of hosts) cmds.push(...linkCommands(twin.host(h), nsOf, peerNs, nodes, done));
  for (const h of hosts) cmds.push(...settingsFor(twin.host(h), nsOf(h)));
  for (const c of cmds) sh(c);
}

/** One UDP datagram (empty) from src:sport in namespace `ns` to dst:dport, sent by python3. */
export function sendUdp(ns: string, src: string, sport: number, dst: string, dport: number): void {
  sh([
    'ip',
    'netns',
    'exec',
    ns,
    'python3',
    '-c',
    `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${src}', ${sport})); s.sendto(b'', ('${dst}', ${dport}))`,
  ]);
}

/**
 * Captures one frame matching `filter` on `dev` in namespace `ns` into
 * `pcap` (tcpdump, killed after 4 s), while `send` runs once tcpdump
 * listens; returns the pcap file's bytes.
 */
export async function captureOne(
  ns: string,
  dev: string,
  filter: string,
  pcap: string,
  send: () => void,
): Promise<Uint8Array> {
  const dump = spawn(
    'ip',
    ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-U', '-c', '1', '-w', pcap, filter],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const killer = setTimeout(() => dump.kill('SIGKILL'), 4000);
  await new Promise<void>((resolve) => {
    dump.stderr.on('data', (b: Buffer) => {
      if (b.toString().includes('listening on')) resolve();
    });
    dump.on('exit', () => resolve());
  });
  send();
  await new Promise<void>((resolve) =>
    dump.exitCode !== null ? resolve() : dump.on('exit', () => resolve()),
  );
  clearTimeout(killer);
  return new Uint8Array(readFileSync(pcap));
}
