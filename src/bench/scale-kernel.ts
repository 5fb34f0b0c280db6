/**
 * The real kernel's per-packet cost on the same kube-proxy rules, measured
 * side by side with packeteye's (root only).
 *
 * Two network namespaces (`pe-<pid>-node`, `pe-<pid>-peer`, deleted
 * afterwards) joined by a veth pair: the node holds the scale cluster's
 * node-0 address (192.168.0.10/16) and a default route to the peer
 * (192.168.0.1), which does not forward, so every packet stays inside the two
 * namespaces. A Python loop in the node opens non-blocking connections to
 * random Service VIPs: each connect() sends the first packet of a new
 * connection (a SYN) through OUTPUT (conntrack, nat KUBE-SERVICES → KUBE-SVC →
 * KUBE-SEP DNAT), POSTROUTING and out of the veth. The loop runs once on
 * empty tables and once after `iptables-restore` loaded the node's rules: the
 * cost per SYN with the rules, and its part due to the rules (the
 * difference), against packeteye's per-packet trace of the same rules.
 */
import { spawnSync } from 'node:child_process';
import { servicesOf } from './iptables-trace.js';
import { prng } from './prng.js';

export interface KernelCost {
  /** iptables-restore of the rules (ms). */
  readonly restoreMs: number;
  /** Per SYN with empty tables (µs). */
  readonly emptyUs: number;
  /** Per SYN with the rules loaded (µs). */
  readonly rulesUs: number;
  readonly packets: number;
  /** Which iptables (`iptables v1.8.9 (nf_tables)`). */
  readonly iptables: string;
}

function sh(argv: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    maxBuffer: 64 << 20,
  });
  return { ok: r.status === 0, out: r.stdout ?? '', err: r.stderr ?? r.error?.message ?? '' };
}

function must(argv: string[], input?: string): string {
  const r = sh(argv, input);
  if (!r.ok) throw new Error(`${argv.join(' ')}: ${r.err.trim()}`);
  return r.out;
}

/** Why the kernel side cannot run here, or undefined when it can. */
export function kernelUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of [
    ['ip', '-V'],
    ['iptables', '--version'],
    ['python3', '-V'],
  ])
    if (!sh(tool).ok) return `${tool[0]} is not available`;
  return undefined;
}

/** N non-blocking connects to the targets; prints the seconds the loop took. */
const CONNECT_LOOP = `
import socket, sys, time, json
targets = json.loads(sys.stdin.read())
def run(ts):
    t = time.perf_counter()
    for ip, port in ts:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((ip, port))
        except BlockingIOError:
            pass
        s.close()
    return time.perf_counter() - t
run(targets[:200])
print(run(targets[200:]))
`;

/** Measures the kernel on `rulesText` (an iptables-save text for the node at 192.168.0.10). */
export function kernelCost(rulesText: string, packets = 5000): KernelCost {
  const node = `pe-${process.pid}-node`;
  const peer = `pe-${process.pid}-peer`;
  const inNode = (argv: string[], input?: string) =>
    must(['ip', 'netns', 'exec', node, ...argv], input);
  const services = servicesOf(rulesText);
  if (services.length === 0) throw new Error('no Service VIPs in the rules');
  const rnd = prng(11);
  const targets: [string, number][] = [];
  for (let i = 0; i < packets + 200; i++) {
    const s = services[Math.floor(rnd() * services.length)]!;
    targets.push([s.ip, s.port]);
  }
  const loop = () =>
    Number(inNode(['python3', '-c', CONNECT_LOOP], JSON.stringify(targets)).trim());
  try {
    must(['ip', 'netns', 'add', node]);
    must(['ip', 'netns', 'add', peer]);
    must([
      'ip',
      'link',
      'add',
      'eth0',
      'netns',
      node,
      'type',
      'veth',
      'peer',
      'eth0',
      'netns',
      peer,
    ]);
    inNode(['ip', 'link', 'set', 'lo', 'up']);
    inNode(['ip', 'addr', 'add', '192.168.0.10/16', 'dev', 'eth0']);
    inNode(['ip', 'link', 'set', 'eth0', 'up']);
    inNode(['ip', 'route', 'add', 'default', 'via', '192.168.0.1']);
    must(['ip', 'netns', 'exec', peer, 'ip', 'addr', 'add', '192.168.0.1/16', 'dev', 'eth0']);
    must(['ip', 'netns', 'exec', peer, 'ip', 'link', 'set', 'eth0', 'up']);
    const empty = loop();
    const t = performance.now();
    inNode(['iptables-restore'], rulesText);
    const restoreMs = performance.now() - t;
    // The empty run's entries would answer the same tuples without a NAT lookup: forget them.
    sh(['ip', 'netns', 'exec', node, 'conntrack', '-F']);
    const rules = loop();
    return {
      restoreMs,
      emptyUs: (empty / packets) * 1e6,
      rulesUs: (rules / packets) * 1e6,
      packets,
      iptables: must(['iptables', '--version']).trim(),
    };
  } finally {
    sh(['ip', 'netns', 'delete', node]);
    sh(['ip', 'netns', 'delete', peer]);
  }
}
