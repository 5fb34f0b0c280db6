/**
 * Test kit: capture real packets from the Linux kernel.
 *
 * Builds three network namespaces, `pe-wire-<tag>-{a,b,c}`:
 *
 * ```
 *   a 10.250.0.1/24 ──veth── 10.250.0.2/24 b 10.250.1.1/24 ──veth (mtu 1280)── 10.250.1.2/24 c
 *   a vxlan42 (dstport 4789) 10.251.0.1 ─── b vxlan42 10.251.0.2
 *   a vxlan1  (dstport 8472, noudpcsum) 10.252.0.1 ─── b vxlan1  10.252.0.2
 * ```
 *
 * with b forwarding, IPv6 off (no neighbour-discovery noise), fixed MACs, and
 * transmit checksum offload off on every veth (`ethtool -K … tx off`): with it
 * on, veth hands packets over with only the pseudo-header sum in the TCP/UDP
 * checksum field, and a capture would show that, not the real checksum.
 * `tcpdump -w` on a's veth0 records a ping (ARP, echo request and reply), a
 * UDP datagram to a closed port (port unreachable), a TCP connection with
 * data, a TCP SYN to a closed port (RST), a ping with TTL 1 through b (time
 * exceeded), a DF ping too big for the b–c link (fragmentation needed, MTU
 * 1280) and pings across both VXLAN devices. Then b loads `NAT_RULES` (DNAT
 * of 10.250.0.2 to c, SNAT to 10.250.1.1) and a sends a UDP datagram, a SYN
 * and a ping through it, all refused or answered by c; a second tcpdump on
 * c's veth0 records the same packets after b's rewrite, so a test can redo
 * the NAT on values and compare bytes (nat.ts). Every command is bounded by
 * a timeout, and the namespaces are deleted in `finally`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitFrame, ICMP, ICMP_UNREACH, parseFrame, vxlanDecapsulate } from '../index.js';

export const MAC_A = '02:00:0a:fa:00:01';
export const MAC_B = '02:00:0a:fa:00:02';
export const MAC_B1 = '02:00:0a:fa:01:01';
export const MAC_C = '02:00:0a:fa:01:02';
export const MAC_VX42_A = '02:00:0a:fb:00:01';
export const MAC_VX42_B = '02:00:0a:fb:00:02';
export const MAC_VX1_A = '02:00:0a:fc:00:01';
export const MAC_VX1_B = '02:00:0a:fc:00:02';

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Root, and every tool the capture runs. */
export function canCapture(): boolean {
  return (
    process.getuid?.() === 0 &&
    ['ip', 'iptables-restore', 'tcpdump', 'ethtool', 'ping', 'socat', 'timeout', 'ss'].every((c) =>
      has(c),
    )
  );
}

function run(args: string[], timeoutMs = 5000): string {
  return execFileSync(args[0]!, args.slice(1), {
    timeout: timeoutMs,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs and ignores failure (a ping that gets an ICMP error exits non-zero). */
function tryRun(args: string[], timeoutMs = 5000): void {
  spawnSync(args[0]!, args.slice(1), { timeout: timeoutMs, stdio: 'ignore' });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Captures {
  /** tcpdump's pcap file from a's veth0. */
  readonly a: Uint8Array;
  /** tcpdump's pcap file from c's veth0 (the NAT'd side of b). */
  readonly c: Uint8Array;
}

/** b's nat table for the second half of the scenario: DNAT to c, SNAT to b's address on the b–c link. */
export const NAT_RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.250.0.2/32 -p tcp -m tcp --dport 8090 -j DNAT --to-destination 10.250.1.2:8080
-A PREROUTING -d 10.250.0.2/32 -p udp -m udp --dport 9090 -j DNAT --to-destination 10.250.1.2:9999
-A PREROUTING -d 10.250.0.2/32 -p icmp -j DNAT --to-destination 10.250.1.2
-A POSTROUTING -o veth1 -j SNAT --to-source 10.250.1.1
COMMIT
`;

interface Tcpdump {
  readonly proc: ReturnType<typeof spawn>;
  readonly file: string;
}

async function startTcpdump(netns: string, dev: string, file: string): Promise<Tcpdump> {
  // --immediate-mode: without it packets sit in the kernel ring until a block times out.
  const proc = spawn(
    'ip',
    [
      'netns',
      'exec',
      netns,
      'timeout',
      '30',
      'tcpdump',
      '-i',
      dev,
      '--immediate-mode',
      '-U',
      '-n',
      '-w',
      file,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
    proc.stderr?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', () => reject(new Error('tcpdump exited early')));
  });
  return { proc, file };
}

async function stopTcpdump(t: Tcpdump): Promise<void> {
  if (t.proc.exitCode !== null) return;
  const done = new Promise<void>((r) => t.proc.on('exit', () => r()));
  t.proc.kill('SIGINT');
  await Promise.race([done, sleep(3000)]);
}

/** Captures the scenario above and returns tcpdump's pcap files. */
export async function captureScenario(tag: string): Promise<Captures> {
  const ns = { a: `pe-wire-${tag}-a`, b: `pe-wire-${tag}-b`, c: `pe-wire-${tag}-c` };
  const dir = mkdtempSync(join(tmpdir(), 'pe-wire-'));
  const inNs = (n: string, ...cmd: string[]): string[] => ['ip', 'netns', 'exec', n, ...cmd];
  const created: string[] = [];
  const dumps: Tcpdump[] = [];
  let listener: ReturnType<typeof spawn> | undefined;
  try {
    for (const n of Object.values(ns)) {
      run(['ip', 'netns', 'add', n]);
      created.push(n);
      for (const key of ['all', 'default']) {
        run(inNs(n, 'sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`));
      }
      run(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    run([
      'ip',
      'link',
      'add',
      'veth0',
      'netns',
      ns.a,
      'address',
      MAC_A,
      'type',
      'veth',
      'peer',
      'name',
      'veth0',
      'netns',
      ns.b,
      'address',
      MAC_B,
    ]);
    run([
      'ip',
      'link',
      'add',
      'veth1',
      'netns',
      ns.b,
      'address',
      MAC_B1,
      'mtu',
      '1280',
      'type',
      'veth',
      'peer',
      'name',
      'veth0',
      'netns',
      ns.c,
      'address',
      MAC_C,
      'mtu',
      '1280',
    ]);
    const ifaces: [string, string, string][] = [
      [ns.a, 'veth0', '10.250.0.1/24'],
      [ns.b, 'veth0', '10.250.0.2/24'],
      [ns.b, 'veth1', '10.250.1.1/24'],
      [ns.c, 'veth0', '10.250.1.2/24'],
    ];
    for (const [n, dev, addr] of ifaces) {
      run(inNs(n, 'ethtool', '-K', dev, 'tx', 'off'));
      run(['ip', '-n', n, 'addr', 'add', addr, 'dev', dev]);
      run(['ip', '-n', n, 'link', 'set', dev, 'up']);
    }
    run(inNs(ns.b, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'));
    run(['ip', '-n', ns.a, 'route', 'add', '10.250.1.0/24', 'via', '10.250.0.2']);
    run(['ip', '-n', ns.c, 'route', 'add', 'default', 'via', '10.250.1.1']);
    const vxlans: [string, string, string, string, string, string, string][] = [
      // name, vni, dstport, a's MAC, b's MAC, overlay /24 prefix, outer UDP checksum
      ['vxlan42', '42', '4789', MAC_VX42_A, MAC_VX42_B, '10.251.0', 'udpcsum'],
      ['vxlan1', '1', '8472', MAC_VX1_A, MAC_VX1_B, '10.252.0', 'noudpcsum'],
    ];
    for (const [dev, vni, port, macA, macB, net, csum] of vxlans) {
      for (const [n, mac, local, remote, host] of [
        [ns.a, macA, '10.250.0.1', '10.250.0.2', '1'],
        [ns.b, macB, '10.250.0.2', '10.250.0.1', '2'],
      ] as const) {
        run([
          'ip',
          '-n',
          n,
          'link',
          'add',
          dev,
          'address',
          mac,
          'type',
          'vxlan',
          'id',
          vni,
          'dstport',
          port,
          'local',
          local,
          'remote',
          remote,
          'dev',
          'veth0',
          csum,
        ]);
        run(['ip', '-n', n, 'addr', 'add', `${net}.${host}/24`, 'dev', dev]);
        run(['ip', '-n', n, 'link', 'set', dev, 'up']);
      }
    }

    dumps.push(await startTcpdump(ns.a, 'veth0', join(dir, 'a.pcap')));
    dumps.push(await startTcpdump(ns.c, 'veth0', join(dir, 'c.pcap')));

    // ARP, echo request, echo reply.
    run(inNs(ns.a, 'ping', '-c', '1', '-W', '2', '10.250.0.2'));
    // A UDP datagram to a port nobody listens on: b answers port unreachable.
    run(
      inNs(
        ns.a,
        'sh',
        '-c',
        "printf 'hello\\n' | timeout 3 socat -u - UDP4-SENDTO:10.250.0.2:9999,sourceport=40000",
      ),
    );
    // A TCP connection: handshake, 3 bytes of data, close.
    listener = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns.b,
        'timeout',
        '10',
        'socat',
        '-u',
        'TCP4-LISTEN:8080,reuseaddr',
        'OPEN:/dev/null',
      ],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 50; i++) {
      if (run(inNs(ns.b, 'ss', '-Hltn', 'sport = :8080')).trim() !== '') break;
      await sleep(50);
    }
    run(
      inNs(
        ns.a,
        'sh',
        '-c',
        "printf 'hi\\n' | timeout 3 socat -u - TCP4:10.250.0.2:8080,sourceport=40001",
      ),
    );
    // A SYN to a closed port: RST, ACK.
    tryRun(
      inNs(
        ns.a,
        'timeout',
        '3',
        'socat',
        '-u',
        '/dev/null',
        'TCP4:10.250.0.2:8081,sourceport=40002',
      ),
    );
    // TTL 1 through b: time exceeded.
    tryRun(inNs(ns.a, 'ping', '-c', '1', '-W', '2', '-t', '1', '10.250.1.2'));
    // DF, 1428 bytes, onto b's 1280-byte link: fragmentation needed, next-hop MTU 1280.
    tryRun(inNs(ns.a, 'ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '1400', '10.250.1.2'));
    // Across the overlays: VXLAN on 4789 and on 8472.
    run(inNs(ns.a, 'ping', '-c', '1', '-W', '2', '10.251.0.2'));
    run(inNs(ns.a, 'ping', '-c', '1', '-W', '2', '10.252.0.2'));

    // NAT in b: the same packets seen on both sides of the rewrite.
    execFileSync('ip', ['netns', 'exec', ns.b, 'iptables-restore'], {
      input: NAT_RULES,
      timeout: 5000,
    });
    // UDP to 10.250.0.2:9090 → c:9999, closed: c's port unreachable comes back un-NATed, quote included.
    run(
      inNs(
        ns.a,
        'sh',
        '-c',
        "printf 'nat\\n' | timeout 3 socat -u - UDP4-SENDTO:10.250.0.2:9090,sourceport=40003",
      ),
    );
    await sleep(200);
    // A SYN to 10.250.0.2:8090 → c:8080, closed: c's RST comes back un-NATed.
    tryRun(
      inNs(
        ns.a,
        'timeout',
        '3',
        'socat',
        '-u',
        '/dev/null',
        'TCP4:10.250.0.2:8090,sourceport=40004',
      ),
    );
    // An echo to 10.250.0.2 → c.
    run(inNs(ns.a, 'ping', '-c', '1', '-W', '2', '10.250.0.2'));
    await sleep(300);
  } finally {
    if (listener !== undefined && listener.exitCode === null) listener.kill('SIGTERM');
    for (const d of dumps) await stopTcpdump(d);
    for (const n of created) tryRun(['ip', 'netns', 'del', n]);
  }
  try {
    return {
      a: new Uint8Array(readFileSync(join(dir, 'a.pcap'))),
      c: new Uint8Array(readFileSync(join(dir, 'c.pcap'))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stable name for each captured frame of the scenario, e.g. `tcp-40001-8080-S`, `vxlan4789-icmp-echo-reply`. */
export function nameFrames(frames: readonly Uint8Array[]): string[] {
  const seen = new Map<string, number>();
  return frames.map((f) => {
    const base = classify(f);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

function classify(frame: Uint8Array): string {
  const r = parseFrame(frame);
  if (!r.ok) return `unparsed-${r.error.layer}`;
  const f = r.value;
  if (f.kind === 'arp') return `arp-${f.arp.op}`;
  const p = f.packet;
  const l4 = p.l4;
  switch (l4.kind) {
    case 'icmp':
      if (l4.type === ICMP.ECHO) {
        if (p.ip.ttl === 1) return 'icmp-echo-request-ttl1';
        return p.payloadLength > 1000 ? 'icmp-echo-request-df-big' : 'icmp-echo-request';
      }
      if (l4.type === ICMP.ECHOREPLY) return 'icmp-echo-reply';
      if (l4.type === ICMP.TIME_EXCEEDED) return 'icmp-time-exceeded';
      if (l4.code === ICMP_UNREACH.FRAG_NEEDED) return 'icmp-frag-needed';
      return l4.code === ICMP_UNREACH.PORT_UNREACH
        ? 'icmp-port-unreachable'
        : `icmp-unreachable-${l4.code}`;
    case 'udp': {
      const v = vxlanDecapsulate(frame);
      if (v.ok) return `vxlan${v.value.tunnel.dport}-${classify(v.value.inner)}`;
      return `udp-${l4.sport}-${l4.dport}`;
    }
    case 'tcp': {
      const fl = l4.flags;
      const flags =
        (fl.syn ? 'S' : '') +
        (fl.fin ? 'F' : '') +
        (fl.rst ? 'R' : '') +
        (fl.psh ? 'P' : '') +
        (fl.ack ? 'A' : '');
      return `tcp-${l4.sport}-${l4.dport}-${flags}`;
    }
    case 'sctp':
      return `sctp-${l4.sport}-${l4.dport}`;
    case 'ipip':
      return `ipip-${classify(emitFrame({ kind: 'ipv4', src: f.src, dst: f.dst, packet: l4.inner }))}`;
  }
}
