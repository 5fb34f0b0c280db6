/**
 * Benchmark: time to first answer on the scale cluster (scale-cluster.ts), at
 * 1,000 / 10,000 / 150,000 pods.
 *
 * `measureScale` runs, in this process, what one `packeteye trace` does,
 * phase by phase — read the file, load (parse + decode), model, plan, the
 * first node (which generates the cluster's kube-proxy rules), further nodes
 * (which share its rules), a node with another key (one hosting an endpoint
 * of a Local Service, so its rules are its own), a trace across the cluster, a second trace on the planned twin — with the
 * RSS after each phase. `scale-run.ts` runs it in a child process per size (so
 * each size's RSS is its own), then the CLI end to end (`trace`, `rules
 * --node X`, `rules --node X --only routes`) with its wall time and peak RSS,
 * and, as root, the real kernel's per-packet cost on the same node's rules
 * (scale-kernel.ts).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadDocuments, workloadPods } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin } from '../twin/index.js';
import { traceConnection } from '../trace/connection.js';
import { traceIptables } from '../trace/iptables-trace.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { prng } from './prng.js';
import { servicesOf } from './iptables-trace.js';
import {
  scaleLocalNode,
  scaleNodeName,
  scalePodName,
  scaleServiceOf,
  type ScaleSize,
} from './scale-cluster.js';

/** The phases of one trace, in order, each with its wall time and the RSS after it. */
export const PHASES = [
  'read',
  'load',
  'model',
  'plan',
  'first node',
  'next node',
  'node with another key',
  'trace',
  'trace again',
] as const;
export type Phase = (typeof PHASES)[number];

export interface ScaleMeasure {
  readonly size: ScaleSize;
  readonly bytes: number;
  readonly objects: number;
  readonly ms: Record<Phase, number>;
  /** RSS after each phase (MB). */
  readonly rssMb: Record<Phase, number>;
  /** The nodes the request crossed. */
  readonly traceNodes: number;
  /** The kube-proxy rules on the first node. */
  readonly rules: number;
  /** Whether the trace was delivered (the answer is right: DNAT to an endpoint, SYN-ACK back). */
  readonly delivered: boolean;
  /** Per-packet cost of the first node's rules in packeteye (traceIptables, node → VIP), median µs. */
  readonly packetUs: number;
}

/** What the trace asks: the first pod to the 8th Service (on other nodes). */
export function scaleQuestion(size: ScaleSize): { from: string; to: string } {
  const svc = scaleServiceOf(size, Math.min(7, size.services - 1));
  return { from: `ns-000/${scalePodName(0, 0)}`, to: `svc/${svc.namespace}/${svc.name}:80` };
}

const rss = () => Math.round(process.memoryUsage().rss / 1e6);

/**
 * Measures one size in this process: `file` holds the cluster's JSON. The
 * first node's iptables-save text goes to `rulesOut` (for the kernel
 * comparison).
 */
export function measureScale(
  size: ScaleSize,
  file: string,
): { measure: ScaleMeasure; rulesText: string } {
  const ms = {} as Record<Phase, number>;
  const rssMb = {} as Record<Phase, number>;
  let t = performance.now();
  const lap = (p: Phase) => {
    const now = performance.now();
    ms[p] = now - t;
    rssMb[p] = rss();
    t = performance.now();
  };
  const text = readFileSync(file, 'utf8');
  lap('read');
  const loaded = loadDocuments([{ path: file, text }]);
  const standIns = workloadPods(loaded);
  lap('load');
  const built = buildModel([...loaded.objects, ...standIns.map((w) => w.pod)], loaded.evidence);
  lap('model');
  const plan = planTwin(built.model);
  lap('plan');
  const first = plan.instantiate({ nodes: [scaleNodeName(0)] });
  lap('first node');
  // Further nodes: the mean of a few, each built alone.
  const more = Math.min(4, size.nodes - 1);
  for (let n = 1; n <= more; n++) plan.instantiate({ nodes: [scaleNodeName(n)] });
  lap('next node');
  ms['next node'] /= Math.max(1, more);
  const other = scaleLocalNode(size);
  if (other === undefined)
    throw new Error(`the scale cluster of ${size.pods} pods has no Local Service`);
  plan.instantiate({ nodes: [other] });
  lap('node with another key');
  const q = scaleQuestion(size);
  const tr = traceConnection(plan, q);
  lap('trace');
  traceConnection(plan, q);
  lap('trace again');
  const rules = first.nodeRules.get(scaleNodeName(0))!;
  // As iptables-save prints it (`rules --only iptables`): what iptables-restore loads.
  const saved = serializeRuleset(rules.ruleset);
  const delivered = tr.request.disposition === 'delivered' && tr.reply?.disposition === 'delivered';
  return {
    measure: {
      size,
      bytes: text.length,
      objects: loaded.objects.length,
      ms,
      rssMb,
      traceNodes: new Set(
        tr.request.hops.map((h) => h.host).filter((h) => built.model.nodes.has(h)),
      ).size,
      rules: saved.split('\n').filter((l) => l.startsWith('-A ')).length,
      delivered,
      packetUs: packetCost(rules.compiled, saved, '192.168.0.10'),
    },
    rulesText: saved,
  };
}

/** packeteye's median per-packet cost (µs) on a node's rules: SYNs from the node to random Service VIPs. */
export function packetCost(
  compiled: Parameters<typeof traceIptables>[0]['ruleset'],
  text: string,
  nodeIp: string,
  packets = 1000,
): number {
  return packetCostTo(compiled, servicesOf(text), nodeIp, packets);
}

/** packeteye's median per-packet cost (µs): SYNs from the node to random `targets`. */
export function packetCostTo(
  compiled: Parameters<typeof traceIptables>[0]['ruleset'],
  targets: readonly { readonly ip: string; readonly port: number }[],
  nodeIp: string,
  packets = 1000,
): number {
  if (targets.length === 0) return NaN;
  const rnd = prng(7);
  const times: number[] = [];
  for (let i = 0; i < packets; i++) {
    const svc = targets[Math.floor(rnd() * targets.length)]!;
    const t = performance.now();
    traceIptables({
      ruleset: compiled,
      src: nodeIp,
      dst: svc.ip,
      proto: 'tcp',
      dport: svc.port,
      localIps: [{ ip: nodeIp, prefix: 16, iface: 'eth0' }],
      outIface: 'eth0',
      allPaths: false,
      seed: i,
    });
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The growth exponent of `b` over `a` between sizes `na` and `nb` (log-log slope). */
export function exponent(a: number, b: number, na: number, nb: number): number {
  return Math.log(b / a) / Math.log(nb / na);
}
