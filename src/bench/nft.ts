/**
 * Benchmark: kube-proxy's nftables mode at 10,000 Services.
 *
 * `kubeProxyNftScale` writes, deterministically, the transaction kube-proxy
 * (nftables mode, proxier.go) sends for 10,000 ClusterIP services of one
 * TCP port and one endpoint each: its base table (sets, verdict maps, base
 * chains, as upstream's proxier_test.go baseRules), and per service a
 * `service-…` chain (masquerade of off-cluster sources, `numgen random mod
 * 1 vmap` to the endpoint), an `endpoint-…` chain (hairpin masquerade,
 * DNAT), and its elements in `cluster-ips` and `service-ips`. Declarations
 * come first, as in kube-proxy's own transaction, so `nft -f` loads it.
 * `benchNft` times parseNft on it and traces 1,000 packets to random
 * services through it, as the iptables figures do, and 1,000 SYNs from the
 * node itself, the packets `benchNftKernel` sends through the real kernel
 * with the same ruleset loaded by `nft -f` (scale-kernel.ts).
 */
import { performance } from 'node:perf_hooks';
import { parseNft } from '../iptables/nft/parse.js';
import { compileRuleset } from '../kernel/netfilter/index.js';
import { traceIptables } from '../trace/iptables-trace.js';
import { kubeHash } from './iptables-parse.js';
import { prng } from './prng.js';
import { packetCostTo } from './scale.js';
import { kernelCostOf, type KernelCost } from './scale-kernel.js';

function ip(base: number, n: number): string {
  const x = (base + n) >>> 0;
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

const BASE = `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check
`;

const BASE_RULES = `add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
add element ip kube-proxy nodeport-ips { 192.168.0.2 }
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
`;

/** kube-proxy's nftables transaction for `services` ClusterIP services; `rules` counts `add rule` lines. */
export function kubeProxyNftScale(services = 10_000): {
  text: string;
  rules: number;
  targets: { ip: string; port: number; endpoint: string }[];
} {
  const chains: string[] = [];
  const rules: string[] = [];
  const elements: string[] = [];
  const targets: { ip: string; port: number; endpoint: string }[] = [];
  for (let i = 0; i < services; i++) {
    const spn = `ns${i % 97}/svc-${i}/tcp/http`;
    const vip = ip(0x0a600000, i + 10); // 10.96.0.10 …
    const ep = ip(0x0af40000, i + 2); // 10.244.0.2 …
    const svc = `service-${kubeHash(spn).slice(0, 8)}-${spn}`;
    const epc = `endpoint-${kubeHash(`${spn}${ep}:8080`).slice(0, 8)}-${spn}__${ep}/8080`;
    chains.push(`add chain ip kube-proxy ${svc}`, `add chain ip kube-proxy ${epc}`);
    rules.push(
      `add rule ip kube-proxy ${svc} ip daddr ${vip} ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
      `add rule ip kube-proxy ${svc} numgen random mod 1 vmap { 0 : goto ${epc} }`,
      `add rule ip kube-proxy ${epc} ip saddr ${ep} jump mark-for-masquerade`,
      `add rule ip kube-proxy ${epc} meta l4proto tcp dnat to ${ep}:8080`,
    );
    elements.push(
      `add element ip kube-proxy cluster-ips { ${vip} }`,
      `add element ip kube-proxy service-ips { ${vip} . tcp . 80 : goto ${svc} }`,
    );
    targets.push({ ip: vip, port: 80, endpoint: `${ep}:8080` });
  }
  const text = `${BASE}${chains.join('\n')}\n${BASE_RULES}${rules.join('\n')}\n${elements.join('\n')}\n`;
  return {
    text,
    rules: rules.length + BASE_RULES.split('\n').filter((l) => l.startsWith('add rule')).length,
    targets,
  };
}

export interface NftBenchResult {
  readonly services: number;
  readonly rules: number;
  readonly bytes: number;
  readonly parseMs: number;
  readonly packets: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly firstMs: number;
  /** Packets that reached their service's endpoint (all of them should). */
  readonly reached: number;
  /** Median µs per SYN from the node (192.168.0.10) to a random VIP: what the kernel is timed on. */
  readonly nodeUs: number;
}

/** Parses the 10,000-service ruleset (best of `runs`) and traces `packets` packets through it. */
export function benchNft(services = 10_000, packets = 1_000, runs = 3): NftBenchResult {
  const scale = kubeProxyNftScale(services);
  let parseMs = Infinity;
  let parsed = parseNft(scale.text, 'bench.nft');
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    parsed = parseNft(scale.text, 'bench.nft');
    parseMs = Math.min(parseMs, performance.now() - t);
  }
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0)
    throw new Error(
      `generated ruleset does not parse: line ${errors[0]!.line}: ${errors[0]!.message}`,
    );
  const compiled = compileRuleset({ tables: new Map() }, parsed.ruleset);
  const rnd = prng(42);
  const times: number[] = [];
  let reached = 0;
  for (let i = 0; i < packets; i++) {
    const svc = scale.targets[Math.floor(rnd() * scale.targets.length)]!;
    const fromPod = rnd() < 0.5;
    const t = performance.now();
    const r = traceIptables({
      ruleset: compiled,
      src: fromPod ? '10.244.7.7' : '192.168.0.2',
      dst: svc.ip,
      proto: 'tcp',
      dport: svc.port,
      localIps: [{ ip: '192.168.0.2', prefix: 24, iface: 'eth0' }],
      inIface: 'cni0',
      outIface: 'eth0',
      allPaths: false,
      seed: i,
    });
    times.push(performance.now() - t);
    if (r.alternatives[0]?.dnat === svc.endpoint) reached++;
  }
  const firstMs = times[0]!;
  const nodeUs = packetCostTo(compiled, scale.targets, NODE_IP, packets);
  times.sort((a, b) => a - b);
  return {
    services,
    rules: scale.rules,
    bytes: scale.text.length,
    parseMs,
    packets,
    medianMs: times[Math.floor(times.length / 2)]!,
    p90Ms: times[Math.floor(times.length * 0.9)]!,
    firstMs,
    reached,
    nodeUs,
  };
}

/** The node address scale-kernel.ts gives the namespace the kernel is timed in. */
const NODE_IP = '192.168.0.10';

/** The real kernel's per-packet cost on the same ruleset, loaded with `nft -f -` (root only). */
export function benchNftKernel(services = 10_000, packets = 5000): KernelCost & { rules: number } {
  const scale = kubeProxyNftScale(services);
  const cost = kernelCostOf(
    { text: scale.text, load: ['nft', '-f', '-'], version: ['nft', '-v'], targets: scale.targets },
    packets,
  );
  return { ...cost, rules: scale.rules };
}
