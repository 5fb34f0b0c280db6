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
 * `kernelCostOf` does the same for rules another tool loads (kube-proxy's
 * nftables transaction with `nft -f -`).
 */
import { spawnSync } from 'node:child_process';
import { servicesOf } from './iptables-trace.js';
import { prng } from './prng.js';

export interface KernelCost {
  /** Loading the rules: iptables-restore, nft -f (ms). */
  readonly restoreMs: number;
  /** Per SYN with empty tables (µs). */
  readonly emptyUs: number;
  /** Per SYN with the rules loaded (µs). */
  readonly rulesUs: number;
  readonly packets: number;
  /** Conntrack entries after the run whose reply comes from another address than the SYN went to. */
  readonly dnatted: number;
  /** The loading tool's version (`iptables v1.8.9 (nf_tables)`, `nftables v1.0.9 (Old Doc Yak #3)`). */
  readonly tool: string;
}

/** Rules for the node at 192.168.0.10 and the Service VIPs its connections go to. */
export interface KernelRules {
  readonly text: string;
  /** The command that loads `text` from stdin inside the node's namespace. */
  readonly load: readonly string[];
  /** The command that prints the loading tool's version. */
  readonly version: readonly string[];
  readonly targets: readonly { readonly ip: string; readonly port: number }[];
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

/** Why the kernel side cannot run here, or undefined when it can (`loader`: iptables or nft). */
export function kernelUnavailable(loader: 'iptables' | 'nft' = 'iptables'): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of [
    ['ip', '-V'],
    [loader, loader === 'nft' ? '-v' : '--version'],
    ['conntrack', '--version'],
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

/** How many `conntrack -L` entries were DNATed: the original destination is not the reply's source. */
export function dnatted(listing: string): number {
  let n = 0;
  for (const line of listing.split('\n')) {
    const m = /\bdst=(\S+) .*?\bsrc=(\S+)/.exec(line);
    if (m && m[1] !== m[2]) n++;
  }
  return n;
}

/** Measures the kernel on `rulesText` (an iptables-save text for the node at 192.168.0.10). */
export function kernelCost(rulesText: string, packets = 5000): KernelCost {
  return kernelCostOf(
    {
      text: rulesText,
      load: ['iptables-restore'],
      version: ['iptables', '--version'],
      targets: servicesOf(rulesText),
    },
    packets,
  );
}

/** Measures the kernel on `what.text`, loaded with `what.load` in the node's namespace. */
export function kernelCostOf(what: KernelRules, packets = 5000): KernelCost {
  const node = `pe-${process.pid}-node`;
  const peer = `pe-${process.pid}-peer`;
  const inNode = (argv: readonly string[], input?: string) =>
    must(['ip', 'netns', 'exec', node, ...argv], input);
  const services = what.targets;
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
    inNode(what.load, what.text);
    const restoreMs = performance.now() - t;
    // The empty run's entries would answer the same tuples without a NAT lookup: forget them.
    sh(['ip', 'netns', 'exec', node, 'conntrack', '-F']);
    const rules = loop();
    return {
      dnatted: dnatted(sh(['ip', 'netns', 'exec', node, 'conntrack', '-L']).out),
      restoreMs,
      emptyUs: (empty / packets) * 1e6,
      rulesUs: (rules / packets) * 1e6,
      packets,
      tool: must([...what.version])
        .trim()
        .split('\n')[0]!,
    };
  } finally {
    sh(['ip', 'netns', 'delete', node]);
    sh(['ip', 'netns', 'delete', peer]);
  }
}
