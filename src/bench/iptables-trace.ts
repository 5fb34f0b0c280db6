/**
 * Benchmark: trace packets through a kube-proxy-sized iptables-save dump.
 *
 * The dump is the parser benchmark's (`kubeProxyScaleDump` in
 * iptables-parse.ts: 10,000 ClusterIP services, about 40,000 rules, chain
 * names hashed as kube-proxy does). It is parsed once and compiled once (the
 * compiled ruleset compiles each chain on first use); then 1,000 packets to
 * random services — half from a pod, half from the node — are traced, one
 * seeded alternative each, through PREROUTING/OUTPUT, FORWARD and
 * POSTROUTING, and the median per-packet time is reported. Target: under
 * 1 ms.
 */
import { performance } from 'node:perf_hooks';
import { parseIptablesSave } from '../iptables/parse.js';
import { compileRuleset, type CompiledRuleset } from '../kernel/netfilter/index.js';
import { traceIptables } from '../trace/iptables-trace.js';
import { kubeProxyScaleDump } from './iptables-parse.js';
import { prng } from './prng.js';

export interface TraceBenchResult {
  readonly services: number;
  readonly rules: number;
  readonly parseMs: number;
  readonly packets: number;
  /** Median time to trace one packet (ms). */
  readonly medianMs: number;
  readonly p90Ms: number;
  /** The first trace, which also compiles the chains it visits. */
  readonly firstMs: number;
  /** Packets that got a DNAT (all of them should). */
  readonly dnatted: number;
}

/** The (ClusterIP, port) pairs of a dump's nat KUBE-SERVICES entries. */
export function servicesOf(text: string): { ip: string; port: number }[] {
  const out: { ip: string; port: number }[] = [];
  const re = /^-A KUBE-SERVICES -d (\d+\.\d+\.\d+\.\d+)\/32 .*--dport (\d+) -j KUBE-SVC-/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ ip: m[1]!, port: Number(m[2]) });
  return out;
}

export function benchTrace(services = 10_000, packets = 1_000): TraceBenchResult {
  const dump = kubeProxyScaleDump(services);
  const t = performance.now();
  const parsed = parseIptablesSave(dump.text, 'bench.save');
  const parseMs = performance.now() - t;
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new Error(
      `generated dump does not parse: line ${errors[0]!.line}: ${errors[0]!.message}`,
    );
  }
  const compiled = compileRuleset(parsed.ruleset);
  const targets = servicesOf(dump.text);
  const run = traceRandomServices(compiled, targets, packets);
  return {
    services,
    rules: dump.rules,
    parseMs,
    packets,
    medianMs: run.medianMs,
    p90Ms: run.p90Ms,
    firstMs: run.firstMs,
    dnatted: run.dnats.filter((d) => d.dnat).length,
  };
}

/** Per-packet times of `packets` traces to random targets, and each one's DNAT. */
export interface ServiceTraceRun {
  readonly medianMs: number;
  readonly p90Ms: number;
  /** The first trace, which also compiles the chains it visits. */
  readonly firstMs: number;
  /** Each packet's target (an index into `targets`) and the DNAT its chosen alternative got. */
  readonly dnats: readonly { target: number; dnat: string | null | undefined }[];
}

/**
 * Traces `packets` TCP packets to random targets (seeded), half from a pod
 * (10.244.7.7, in through cni0) and half from the node (192.168.0.2), one
 * seeded alternative each, out through eth0.
 */
export function traceRandomServices(
  ruleset: CompiledRuleset,
  targets: readonly { ip: string; port: number }[],
  packets: number,
): ServiceTraceRun {
  const rnd = prng(42);
  const times: number[] = [];
  const dnats: { target: number; dnat: string | null | undefined }[] = [];
  for (let i = 0; i < packets; i++) {
    const target = Math.floor(rnd() * targets.length);
    const svc = targets[target]!;
    const fromPod = rnd() < 0.5;
    const t = performance.now();
    const r = traceIptables({
      ruleset,
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
    dnats.push({ target, dnat: r.alternatives[0]?.dnat });
  }
  const firstMs = times[0]!;
  times.sort((a, b) => a - b);
  return {
    medianMs: times[Math.floor(times.length / 2)]!,
    p90Ms: times[Math.floor(times.length * 0.9)]!,
    firstMs,
    dnats,
  };
}
