/**
 * Data-plane statements, decided by tracing through the twin: a connection
 * from one ref to another, every kube-proxy branch enumerated (`allPaths`),
 * so a statement holds only when it holds on every path a packet can take.
 *
 * - reach (via dataplane): every branch's request is delivered and the
 *   answer (SYN-ACK, the UDP answer, the echo reply) gets back to the client;
 * - noReach (via dataplane): no branch gets an answer back;
 * - keepsClientAddress: on every branch the request is delivered and the
 *   receiver sees the client's own address as the source (no SNAT or
 *   MASQUERADE on the way: externalTrafficPolicy Local, or a path that does not
 *   masquerade).
 *
 * `lb/NS/NAME:PORT` names a LoadBalancer Service's address from its
 * `status.loadBalancer.ingress`, the address a client outside dials.
 */
import { InputError } from '../../diag.js';
import {
  formatPercent,
  type Alternative,
  type ConnectionTrace,
  type PacketView,
  type RewriteView,
} from '../model.js';
import { traceConnection } from '../connection.js';
import { resolveRef } from '../refs.js';
import type { TwinPlan } from '../../twin/index.js';
import type {
  KeepsClientAddressStatement,
  NoInternetIngressStatement,
  ReachStatement,
} from './expectations.js';
import { cidrRange } from '../../policy/model.js';
import { ipToInt } from '../../wire/addr.js';
import { RefError } from './targets.js';

interface LegSummary {
  readonly disposition: string;
  readonly reason?: string;
  readonly at?: string;
  readonly received?: PacketView;
}

/** One path a connection can take, with its probability. */
export interface Branch {
  readonly probability: number;
  readonly dnat?: string;
  readonly request: LegSummary;
  readonly reply?: LegSummary;
  readonly rewrites: readonly RewriteView[];
}

export function branchesOf(t: ConnectionTrace): Branch[] {
  if (t.alternatives && t.alternatives.length > 0)
    return t.alternatives.map((a: Alternative) => ({
      probability: a.probability,
      ...(a.dnat ? { dnat: a.dnat } : {}),
      request: a.request,
      ...(a.reply ? { reply: a.reply } : {}),
      rewrites: a.rewrites,
    }));
  return [
    {
      probability: 1,
      request: t.request,
      ...(t.reply ? { reply: t.reply } : {}),
      rewrites: t.rewrites,
    },
  ];
}

/** Whether the branch's answer got back: a SYN-ACK, the UDP answer, the echo reply; not a RST or an ICMP error. */
export function answered(t: ConnectionTrace, b: Branch): boolean {
  if (b.request.disposition !== 'delivered' || b.reply?.disposition !== 'delivered') return false;
  const got = b.reply.received;
  if (!got) return false;
  if (t.proto === 'icmp') return got.proto === 'icmp' && got.flags === 'type 0 code 0';
  if (got.proto !== t.proto) return false;
  return !(got.flags ?? '').includes('R');
}

function splitPort(s: string): { base: string; port?: string } {
  const i = s.lastIndexOf(':');
  return i < 0 ? { base: s } : { base: s.slice(0, i), port: s.slice(i + 1) };
}

/** A trace REF; `lb/NS/NAME:PORT` becomes the Service's load-balancer address and port. */
export function traceRef(plan: TwinPlan, ref: string): string {
  if (!ref.startsWith('lb/')) return ref;
  const { base, port } = splitPort(ref.slice(3));
  const key = base.includes('/') ? base : `default/${base}`;
  const svc = plan.model.services.get(key);
  if (!svc) throw new RefError(`no Service ${key}`);
  const ip = svc.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip;
  if (!ip)
    throw new RefError(
      `Service ${key} has no load-balancer address (status.loadBalancer.ingress)`,
      'the address is what the cloud or MetalLB wrote into the status; add it, or trace to node/NAME:NODEPORT',
    );
  const sp =
    port === undefined
      ? svc.spec.ports[0]
      : svc.spec.ports.find((p) => String(p.port) === port || p.name === port);
  if (!sp)
    throw new RefError(
      `Service ${key} has no port ${port ?? ''}`,
      `it has ${svc.spec.ports.map((p) => p.port).join(', ')}`,
    );
  return `${ip}:${sp.port}`;
}

function refError(e: unknown): never {
  if (e instanceof InputError) {
    const d = e.diagnostics[0]!;
    throw new RefError(d.message, d.hint);
  }
  throw e;
}

/** Checks a ref resolves in the twin's model (for exit 2 before anything runs). */
export function checkTraceRef(plan: TwinPlan, ref: string, option: string): true {
  try {
    resolveRef(plan.model, traceRef(plan, ref), option);
    return true;
  } catch (e) {
    return refError(e);
  }
}

export function runTrace(plan: TwinPlan, from: string, to: string): ConnectionTrace {
  try {
    return traceConnection(plan, {
      from: traceRef(plan, from),
      to: traceRef(plan, to),
      allPaths: true,
    });
  } catch (e) {
    return refError(e);
  }
}

export interface DataplaneVerdict {
  readonly holds: boolean;
  readonly summary: string;
  readonly notes: readonly string[];
  readonly trace?: ConnectionTrace;
}

export function branchLine(t: ConnectionTrace, b: Branch): string {
  const via = b.dnat ? ` via ${b.dnat}` : '';
  const got = b.request.received;
  if (b.request.disposition !== 'delivered')
    return `path${via} (${formatPercent(b.probability, 1, 'trim')}): request ${b.request.disposition}${b.request.reason ? ` (${b.request.reason})` : ''}${b.request.at ? ` at ${b.request.at}` : ''}`;
  const seen = got
    ? `, ${b.request.at ?? 'the receiver'} sees ${got.src}${got.sport !== undefined ? `:${got.sport}` : ''}`
    : '';
  const answer = answered(t, b)
    ? 'answered'
    : `answer ${b.reply ? `${b.reply.disposition}${b.reply.reason ? ` (${b.reply.reason})` : ''}${b.reply.received?.flags ? ` [${b.reply.received.flags}]` : ''}` : 'none'}`;
  return `path${via} (${formatPercent(b.probability, 1, 'trim')}): request delivered${seen}, ${answer}`;
}

export function reachByTrace(plan: TwinPlan, s: ReachStatement): DataplaneVerdict {
  const t = runTrace(plan, s.from, s.to);
  const bs = branchesOf(t);
  const ok = bs.filter((b) => answered(t, b));
  const holds = s.kind === 'reach' ? ok.length === bs.length : ok.length === 0;
  const what = `${t.from.ref} → ${t.to.ref} (${t.proto}${t.to.port !== undefined ? `/${t.to.port}` : ''})`;
  const summary =
    s.kind === 'reach'
      ? holds
        ? `${what}: answered on every path (${bs.length})`
        : `${what}: ${bs.length - ok.length} of ${bs.length} paths get no answer`
      : holds
        ? `${what}: no path gets an answer`
        : `${what}: ${ok.length} of ${bs.length} paths get an answer`;
  return { holds, summary, notes: bs.map((b) => branchLine(t, b)), trace: t };
}

function sourceRewrites(b: Branch): RewriteView[] {
  return b.rewrites.filter(
    (r) =>
      r.leg === 'request' &&
      (r.kind === 'SNAT' || r.kind === 'MASQUERADE' || r.field.includes('src')),
  );
}

export function keepsAddressByTrace(
  plan: TwinPlan,
  s: KeepsClientAddressStatement,
): DataplaneVerdict {
  const t = runTrace(plan, s.from, s.to);
  const client = t.from.ip;
  const bs = branchesOf(t);
  const notes: string[] = [];
  let bad = 0;
  for (const b of bs) {
    const seen = b.request.received?.src;
    const keeps = b.request.disposition === 'delivered' && seen === client;
    if (!keeps) bad++;
    notes.push(branchLine(t, b));
    if (!keeps)
      for (const r of sourceRewrites(b))
        notes.push(`  ${r.kind} at ${r.host} ${r.hook} (${r.by}): ${r.from} → ${r.to}`);
  }
  const what = `${t.from.ref} (${client}) → ${t.to.ref}`;
  const holds = bad === 0;
  return {
    holds,
    summary: holds
      ? `${what}: the receiver sees ${client} on every path (${bs.length})`
      : `${what}: on ${bad} of ${bs.length} paths the receiver does not see ${client}`,
    notes,
    trace: t,
  };
}

/** Nodes a node port is tried on, and pods of the namespace tried by their own address. */
const EDGE_NODES = 3;
const EDGE_PODS = 20;

/** ExternalHosts outside `except`: where the internet is, as the input names it. */
export function internetHosts(plan: TwinPlan, except: readonly string[]): string[] {
  const ranges = except.map(cidrRange);
  return [...plan.model.externalHosts.values()]
    .filter((h) => {
      const a = ipToInt(h.spec.address);
      return !ranges.some((r) => a >= r.lo && a <= r.hi);
    })
    .map((h) => `host/${h.metadata.name}`)
    .sort();
}

/** The ways into the namespace from outside: its Services' LB addresses and node ports, its pods' addresses. */
function edgeTargets(plan: TwinPlan, ns: string): string[] {
  const out: string[] = [];
  const nodes = [...plan.model.nodes.keys()].slice(0, EDGE_NODES);
  for (const [key, svc] of plan.model.services) {
    if (svc.metadata.namespace !== ns) continue;
    const lb =
      svc.spec.type === 'LoadBalancer' && svc.status?.loadBalancer?.ingress?.some((i) => i.ip);
    for (const sp of svc.spec.ports) {
      if (lb) out.push(`lb/${key}:${sp.port}`);
      if (sp.nodePort !== undefined && svc.spec.type !== 'ClusterIP')
        for (const n of nodes) out.push(`node/${n}:${sp.nodePort}`);
    }
  }
  const pods = [...plan.model.pods.values()].filter(
    (p) => p.metadata.namespace === ns && !p.spec.hostNetwork,
  );
  for (const p of pods.slice(0, EDGE_PODS)) {
    const port = p.spec.containers.flatMap((c) => c.ports ?? [])[0]?.containerPort;
    if (port !== undefined) out.push(`${p.status.podIP}:${port}`);
  }
  return out;
}

/**
 * noInternetIngress through the data plane: from each ExternalHost outside `except`, every
 * way in (edgeTargets) traced on every path; holds when none gets an answer.
 */
export function noInternetByTrace(plan: TwinPlan, s: NoInternetIngressStatement): DataplaneVerdict {
  const hosts = internetHosts(plan, s.except);
  const targets = edgeTargets(plan, s.namespace);
  const notes: string[] = [];
  let first: ConnectionTrace | undefined;
  let traced = 0;
  let open = 0;
  for (const h of hosts)
    for (const to of targets) {
      const t = runTrace(plan, h, to);
      traced++;
      const bs = branchesOf(t);
      const ok = bs.filter((b) => answered(t, b));
      if (ok.length === 0) continue;
      open++;
      first ??= t;
      notes.push(`${h} → ${to}: answered on ${ok.length} of ${bs.length} paths`);
      for (const b of ok) notes.push(`  ${branchLine(t, b)}`);
    }
  const holds = open === 0;
  const what = `${plural(traced, 'connection')} from ${hosts.join(', ')} into ${s.namespace}`;
  return {
    holds,
    summary: holds
      ? targets.length === 0
        ? `nothing in ${s.namespace} is exposed: no Service with a node port or load-balancer address, no pod port`
        : `${what}: none gets an answer`
      : `${what}: ${open} get an answer`,
    notes,
    ...(first ? { trace: first } : {}),
  };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
