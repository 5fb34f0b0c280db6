/**
 * Benchmark: trace packets through a kube-proxy-sized iptables-save dump.
 *
 * A deterministic generator writes what kube-proxy's iptables mode installs
 * for 10,000 ClusterIP services (1.28 layout: KUBE-SERVICES entry, KUBE-SVC
 * with the masquerade rule and a statistic ladder, KUBE-SEP with hairpin
 * masquerade and DNAT; every third service has two endpoints, every tenth a
 * NodePort), plus the static chains, about 60,000 rules. The dump is parsed
 * and compiled once; then 1,000 packets to random services are traced (one
 * seeded alternative each) and the median per-packet time reported.
 */
import { performance } from 'node:perf_hooks';
import { parseIptablesSave } from '../iptables/parse.js';
import { compileRuleset } from '../kernel/netfilter/index.js';
import { traceIptables } from '../trace/iptables-trace.js';

export interface TraceBenchResult {
  readonly services: number;
  readonly rules: number;
  readonly parseMs: number;
  readonly compileMs: number;
  readonly packets: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  /** Packets that got a DNAT (all of them should). */
  readonly dnatted: number;
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash16(n: number, salt: string): string {
  // A stand-in for kube-proxy's base32(sha256(...))[:16]: unique and 16 characters of A-Z2-7.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let x = (n * 2654435761 + salt.length * 97) >>> 0;
  let out = '';
  for (let i = 0; i < 16; i++) {
    out += alphabet[(x ^ (n >>> (i % 13))) & 31];
    x = Math.imul(x ^ (x >>> 13), 0x5bd1e995) >>> 0;
  }
  return `${salt}${String(n).padStart(5, '0')}${out}`.slice(0, 16);
}

export interface GeneratedService {
  readonly clusterIP: string;
  readonly port: number;
  readonly endpoints: readonly string[];
  readonly nodePort?: number;
}

/** A kube-proxy-style iptables-save dump for `n` services. */
export function generateKubeProxyDump(n: number): {
  text: string;
  services: GeneratedService[];
  rules: number;
} {
  const services: GeneratedService[] = [];
  const filter: string[] = [];
  const nat: string[] = [];
  const natChains: string[] = [];
  for (let i = 0; i < n; i++) {
    const clusterIP = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const eps = [`10.244.${(i >> 8) & 255}.${i & 255 || 1}`];
    if (i % 3 === 0) eps.push(`10.245.${(i >> 8) & 255}.${i & 255 || 1}`);
    const svc: GeneratedService = {
      clusterIP,
      port: 80 + (i % 5),
      endpoints: eps,
      ...(i % 10 === 0 ? { nodePort: 30000 + (i % 2700) } : {}),
    };
    services.push(svc);
    const name = `ns${i % 100}/svc${i}:http`;
    const h = hash16(i, 'S');
    natChains.push(`KUBE-SVC-${h}`);
    nat.push(
      `-A KUBE-SERVICES -d ${clusterIP}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${svc.port} -j KUBE-SVC-${h}`,
    );
    nat.push(
      `-A KUBE-SVC-${h} ! -s 10.244.0.0/16 -d ${clusterIP}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${svc.port} -j KUBE-MARK-MASQ`,
    );
    if (svc.nodePort !== undefined) {
      natChains.push(`KUBE-EXT-${h}`);
      nat.push(
        `-A KUBE-NODEPORTS -p tcp -m comment --comment "${name}" -m tcp --dport ${svc.nodePort} -j KUBE-EXT-${h}`,
      );
      nat.push(
        `-A KUBE-EXT-${h} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`,
      );
      nat.push(`-A KUBE-EXT-${h} -j KUBE-SVC-${h}`);
    }
    eps.forEach((ep, k) => {
      const sep = `KUBE-SEP-${hash16(i * 4 + k, 'E')}`;
      natChains.push(sep);
      const stat =
        k < eps.length - 1
          ? ` -m statistic --mode random --probability ${(1 / (eps.length - k)).toFixed(10)}`
          : '';
      nat.push(`-A KUBE-SVC-${h} -m comment --comment "${name} -> ${ep}:8080"${stat} -j ${sep}`);
      nat.push(`-A ${sep} -s ${ep}/32 -m comment --comment "${name}" -j KUBE-MARK-MASQ`);
      nat.push(
        `-A ${sep} -p tcp -m comment --comment "${name}" -m tcp -j DNAT --to-destination ${ep}:8080`,
      );
    });
  }
  nat.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  const text = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -s 10.244.0.0/16 -j ACCEPT',
    '-A FORWARD -d 10.244.0.0/16 -j ACCEPT',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...filter,
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ...natChains.map((c) => `:${c} - [0:0]`),
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...nat,
    'COMMIT',
    '',
  ].join('\n');
  return { text, services, rules: nat.length + filter.length + 14 };
}

export function benchTrace(services = 10_000, packets = 1_000): TraceBenchResult {
  const dump = generateKubeProxyDump(services);
  let t = performance.now();
  const parsed = parseIptablesSave(dump.text, 'bench.save');
  const parseMs = performance.now() - t;
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0)
    throw new Error(
      `generated dump does not parse: ${errors[0]!.message} (line ${errors[0]!.line})`,
    );
  t = performance.now();
  const compiled = compileRuleset(parsed.ruleset);
  const compileMs = performance.now() - t;
  const rnd = prng(42);
  const times: number[] = [];
  let dnatted = 0;
  for (let i = 0; i < packets; i++) {
    const svc = dump.services[Math.floor(rnd() * dump.services.length)]!;
    const fromPod = rnd() < 0.5;
    const start = performance.now();
    const r = traceIptables({
      ruleset: compiled,
      src: fromPod ? '10.244.7.7' : '192.168.0.9',
      dst: svc.clusterIP,
      proto: 'tcp',
      dport: svc.port,
      localIps: [{ ip: '192.168.0.2', prefix: 24, iface: 'eth0' }],
      outIface: 'eth0',
      allPaths: false,
      seed: i,
    });
    times.push(performance.now() - start);
    if (r.alternatives[0]?.dnat) dnatted++;
  }
  times.sort((a, b) => a - b);
  return {
    services,
    rules: dump.rules,
    parseMs,
    compileMs,
    packets,
    medianMs: times[Math.floor(times.length / 2)]!,
    p99Ms: times[Math.floor(times.length * 0.99)]!,
    dnatted,
  };
}
