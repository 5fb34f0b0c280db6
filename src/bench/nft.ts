/**
 * Benchmark: kube-proxy's nftables mode at 10,000 Services.
 *
 * `kubeProxyNftScale` is the transaction kube-proxy (nftables mode) sends for
 * 10,000 ClusterIP Services of one TCP port and one endpoint each, written by
 * packeteye's own generator (proxy/nftables, checked byte for byte against
 * upstream's proxier_test.go expectations): the `kube-proxy` table's sets,
 * verdict maps and base chains, and per Service its `service-…` and
 * `endpoint-…` chains and map elements, in the order `nft -f` loads.
 * `benchNft` times parseNft on it and traces 1,000 packets to random
 * services through it, as the iptables figures do, and 1,000 SYNs from the
 * node itself, the packets `benchNftKernel` sends through the real kernel
 * with the same ruleset loaded by `nft -f` (scale-kernel.ts).
 */
import { performance } from 'node:perf_hooks';
import { parseNft } from '../iptables/nft/parse.js';
import { compileRuleset } from '../kernel/netfilter/index.js';
import { generateNftablesRules } from '../proxy/nftables/index.js';
import type { EndpointSlice, Service } from '../k8s/types.js';
import { traceRandomServices } from './iptables-trace.js';
import { packetCostTo } from './scale.js';
import { kernelCostOf, type KernelCost } from './scale-kernel.js';

function ip(base: number, n: number): string {
  const x = (base + n) >>> 0;
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

/** The node the ruleset is generated for, and whose address scale-kernel.ts gives the timed namespace. */
const NODE = 'node-0';
const NODE_IP = '192.168.0.10';

/**
 * `services` ClusterIP Services of one TCP port (80 → 8080), each with one ready
 * endpoint on another node, as the API server holds them, spread over 97 namespaces.
 */
function scaleCluster(services: number): {
  services: Service[];
  slices: EndpointSlice[];
  targets: { ip: string; port: number; endpoint: string }[];
} {
  const svcs: Service[] = [];
  const slices: EndpointSlice[] = [];
  const targets: { ip: string; port: number; endpoint: string }[] = [];
  for (let i = 0; i < services; i++) {
    const namespace = `ns${i % 97}`;
    const name = `svc-${i}`;
    const vip = ip(0x0a600000, i + 10); // 10.96.0.10 …
    const ep = ip(0x0af40000, i + 2); // 10.244.0.2 …
    svcs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace, name },
      spec: {
        type: 'ClusterIP',
        clusterIP: vip,
        clusterIPs: [vip],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      },
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        namespace,
        name: `${name}-x`,
        labels: { 'kubernetes.io/service-name': name },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ep], conditions: { ready: true }, nodeName: 'node-1' }],
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    });
    targets.push({ ip: vip, port: 80, endpoint: `${ep}:8080` });
  }
  return { services: svcs, slices, targets };
}

/**
 * kube-proxy's nftables transaction for `services` ClusterIP Services, written by
 * packeteye's own nftables-mode generator (proxy/nftables) for one node of the
 * cluster above; `rules` counts its `add rule` lines.
 */
export function kubeProxyNftScale(services = 10_000): {
  text: string;
  rules: number;
  targets: { ip: string; port: number; endpoint: string }[];
} {
  const c = scaleCluster(services);
  const out = generateNftablesRules({
    nodeName: NODE,
    nodeIPs: [NODE_IP],
    clusterCIDR: '10.244.0.0/16',
    serviceCIDRs: ['10.96.0.0/12'],
    services: c.services,
    endpointSlices: c.slices,
  });
  const errors = out.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`kube-proxy nftables generation: ${errors[0]!.message}`);
  let rules = 0;
  for (let at = out.text.indexOf('add rule '); at >= 0; at = out.text.indexOf('add rule ', at + 1))
    if (at === 0 || out.text.charCodeAt(at - 1) === 10) rules++;
  return { text: out.text, rules, targets: c.targets };
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
  const run = traceRandomServices(compiled, scale.targets, packets);
  const nodeUs = packetCostTo(compiled, scale.targets, NODE_IP, packets);
  return {
    services,
    rules: scale.rules,
    bytes: scale.text.length,
    parseMs,
    packets,
    medianMs: run.medianMs,
    p90Ms: run.p90Ms,
    firstMs: run.firstMs,
    reached: run.dnats.filter((d) => d.dnat === scale.targets[d.target]!.endpoint).length,
    nodeUs,
  };
}

/** The real kernel's per-packet cost on the same ruleset, loaded with `nft -f -` (root only). */
export function benchNftKernel(services = 10_000, packets = 5000): KernelCost & { rules: number } {
  const scale = kubeProxyNftScale(services);
  const cost = kernelCostOf(
    { text: scale.text, load: ['nft', '-f', '-'], version: ['nft', '-v'], targets: scale.targets },
    packets,
  );
  return { ...cost, rules: scale.rules };
}
