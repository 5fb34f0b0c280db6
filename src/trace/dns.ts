/**
 * A connection by name: the pod's resolver turns `NAME` into queries
 * (apps/dns resolver.ts, with the resolv.conf the kubelet writes), each query
 * goes through the twin as the packet it is — pod → nameserver:53 (UDP, TCP
 * after a truncated answer) → kube-proxy's DNAT to a CoreDNS pod → the answer
 * back, un-DNATed — with the ordinary trace machinery (traceConnection), and
 * CoreDNS answers as its Corefile says (apps/dns coredns.ts). A query CoreDNS
 * forwards goes from the CoreDNS pod to its upstream as a packet too. A query
 * that dies on the way (a NetworkPolicy drop, no listener) is a timeout to
 * the resolver, retried as the libc retries it. Then the connection to the
 * address the resolver returned is traced as usual, and carries the lookup
 * in `dns`; when the name does not resolve, the trace's legs are the last
 * query's.
 *
 * A DNS server in the twin is a pod the kube-dns Service selects, or one
 * labelled `k8s-app: kube-dns`, or running a CoreDNS/kube-dns/node-cache
 * image; an ExternalHost listening on 53 answers as the twin's upstream
 * (its own and other ExternalHosts' `dnsNames`).
 */
import { InputError } from '../diag.js';
import {
  coreDnsAnswer,
  coreDnsConfig,
  internetAnswer,
  podResolvConf,
  renderResolvConf,
  resolve,
  servfail,
  type CoreDnsConfig,
  type Exchange,
  type Question,
  type RRType,
  type Send,
  type Transport,
} from '../apps/dns/index.js';
import type { ClusterModel } from '../k8s/model.js';
import { nsName } from '../k8s/model.js';
import { isIpv4 } from '../wire/addr.js';
import type { L4Proto } from '../wire/packet.js';
import type { Twin, TwinPlan } from '../twin/index.js';
import { traceConnection, type TraceOptions } from './connection.js';
import type { ConnectionTrace, DnsQueryView, DnsView } from './model.js';
import { resolveRef } from './refs.js';

/** A `--to` that names a host: `NAME:PORT`, `http://NAME[:PORT]/path`, `https://…`. */
export interface NameRef {
  readonly name: string;
  readonly port: number;
  readonly proto: L4Proto;
}

const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i;

/**
 * Whether `to` names a host to resolve rather than a ref: a URL, or
 * `NAME:PORT` that is no pod (`NS/POD` forms, `svc/`, `node/`, `host/` and
 * addresses are refs). `qualified` is `to` after `-n` put it in a namespace.
 */
export function nameRef(model: ClusterModel, to: string, qualified = to): NameRef | undefined {
  const url = /^(https?):\/\/([^/:]+)(?::(\d+))?(\/.*)?$/i.exec(to);
  if (url) {
    const port =
      url[3] !== undefined ? Number(url[3]) : url[1]!.toLowerCase() === 'https' ? 443 : 80;
    return { name: url[2]!, port, proto: 'tcp' };
  }
  if (/^(svc|node|host)\//.test(to) || to.includes('/')) return undefined;
  const i = to.lastIndexOf(':');
  const host = i < 0 ? to : to.slice(0, i);
  const port = i < 0 ? undefined : to.slice(i + 1);
  // A top-level label is never all digits (RFC 3696 §2): 999.1.1.1 is a mistyped address, not a name.
  if (isIpv4(host) || !HOSTNAME.test(host) || /(^|\.)\d+\.?$/.test(host)) return undefined;
  if (model.pods.has(qualified.replace(/:[^:]*$/, ''))) return undefined;
  // A bare word that names a pod in some namespace is a pod ref in the wrong namespace, not a host name.
  if (!host.includes('.') && [...model.pods.values()].some((p) => p.metadata.name === host))
    return undefined;
  if (port === undefined || !/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw InputError.of(
      'bad-ref',
      `--to ${to}: a name needs a port (NAME:PORT or http://NAME/path)`,
      {},
      `e.g. --to ${host}:80`,
    );
  return { name: host, port: Number(port), proto: 'tcp' };
}

/** Whether the pod at `host` (`ns/name`) serves DNS. */
export function isDnsServer(model: ClusterModel, host: string): boolean {
  const pod = model.pods.get(host);
  if (!pod) return false;
  if (pod.metadata.labels?.['k8s-app'] === 'kube-dns') return true;
  const svc = model.services.get('kube-system/kube-dns');
  const sel = svc?.spec.selector;
  if (sel && Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v)) return true;
  return pod.spec.containers.some((c) => /coredns|kube-dns|k8s-dns|node-cache/.test(c.image ?? ''));
}

/** A nested trace without what its parent already lists. */
function nested(t: ConnectionTrace): ConnectionTrace {
  return { ...t, defaults: [], diagnostics: [] };
}

function sentBy(t: ConnectionTrace): string {
  return t.request.at ?? t.request.from;
}

interface LookupRun {
  readonly view: DnsView;
  /** The address to connect to, when the name resolved. */
  readonly address?: string;
  /** The last query's trace (the legs a failed lookup shows). */
  readonly last?: ConnectionTrace;
}

/** Why a query got no answer, from its trace. */
function lostBecause(t: ConnectionTrace): string | undefined {
  const r = t.request;
  if (r.disposition !== 'delivered')
    return `${r.disposition} at ${r.at ?? '?'} (${r.reason ?? '?'})${r.detail ? `: ${r.detail}` : ''}`;
  if (t.proto === 'udp' && (!t.reply || t.reply.disposition !== 'delivered'))
    return `the answer was ${t.reply?.disposition ?? 'not sent'} at ${t.reply?.at ?? '?'} (${t.reply?.reason ?? '?'})`;
  if (t.proto === 'tcp' && t.reply?.what !== 'TCP SYN-ACK')
    return `TCP to ${t.to.ip}:53 was answered with ${t.reply?.what ?? 'nothing'}`;
  return undefined;
}

/**
 * Resolves `name` from pod `from` through the twin: every query traced.
 * `types`: getaddrinfo's A and AAAA (the default), or one type (`dns --type`).
 */
export function traceLookup(
  plan: TwinPlan | Twin,
  from: string,
  name: string,
  opts: { types?: readonly RRType[]; seed?: number } = {},
): LookupRun {
  const p = 'instantiate' in plan ? plan : plan.plan;
  const model = p.model;
  const src = resolveRef(model, from, '--from');
  const pod = src.kind === 'pod' && src.host !== undefined ? model.pods.get(src.host) : undefined;
  if (!pod)
    throw InputError.of(
      'bad-ref',
      `--from ${from}: names are resolved by a pod's resolver; trace from a pod`,
    );
  const rc = podResolvConf(model, pod);
  const cfg = coreDnsConfig(model);
  const seed = opts.seed ?? 1;
  const types = opts.types ?? ['A', 'AAAA'];
  const queries: DnsQueryView[] = [];
  let last: ConnectionTrace | undefined;
  let n = 0;
  const sockets = new Map<string, number>();
  const send: Send = (q, transport, ns) => {
    // glibc sends A and AAAA of one name from one socket; every name (and TCP) opens a new one.
    const key = `${q.name} ${transport} ${ns}`;
    const known = sockets.get(key);
    const s = seed + n++;
    const t = traceConnection(p, {
      from,
      to: `${ns}:53`,
      proto: transport,
      seed: s,
      ...(known !== undefined ? { sport: known } : {}),
    });
    if (known === undefined) sockets.set(key, t.sport);
    last = t;
    const { exchange, forward } = answerOf(model, cfg, p, t, q, transport, seed + 1000 + n);
    queries.push(queryView(q, transport, ns, t, exchange, forward));
    return exchange;
  };
  const lookup = resolve(rc, name, types, send);
  // resolver steps carry why/sends; the views were pushed in send order, which is the steps' order.
  const views = lookup.steps.map((s, i) => ({ ...queries[i]!, why: s.why, sends: s.sends }));
  const view: DnsView = {
    name,
    types: [...types],
    from: nsName(pod),
    libc: rc.libc,
    libcFrom: rc.libcFrom,
    resolvConf: { policy: rc.policy, text: renderResolvConf(rc), notes: [...rc.notes] },
    server: { corefile: cfg.from, notes: [...cfg.notes, ...nodeLocalNote(model)] },
    queries: views,
    result: {
      status: lookup.status,
      ...(lookup.error ? { error: lookup.error } : {}),
      results: [...lookup.results],
      ...(lookup.answeredName ? { answeredName: lookup.answeredName } : {}),
      ...(lookup.canonical ? { canonical: lookup.canonical } : {}),
      ...(lookup.fromHosts ? { fromHosts: true } : {}),
      waitedSeconds: lookup.waited,
    },
  };
  const address = lookup.status === 'ok' ? lookup.results.find((r) => isIpv4(r)) : undefined;
  return { view, ...(address ? { address } : {}), ...(last ? { last } : {}) };
}

/** NodeLocal DNSCache is detected but not modelled: said, never silently replaced. */
function nodeLocalNote(model: ClusterModel): string[] {
  const n = model.cluster.dns.nodeLocalDNS;
  if (!n) return [];
  return [
    `NodeLocal DNSCache detected (${n.from}): on each node node-cache answers ${n.address}${n.upstream ? ` and ${n.upstream}` : ''} itself (NOTRACK, no DNAT to CoreDNS); the twin does not model it, so these queries take kube-proxy's path to CoreDNS`,
  ];
}

function answerOf(
  model: ClusterModel,
  cfg: CoreDnsConfig,
  plan: TwinPlan,
  t: ConnectionTrace,
  q: Question,
  transport: Transport,
  seed: number,
): { exchange: Exchange; forward?: ConnectionTrace } {
  const lost = lostBecause(t);
  if (lost) return { exchange: { timeout: { detail: lost } } };
  const at = t.request.at!;
  let forward: ConnectionTrace | undefined;
  if (isDnsServer(model, at)) {
    const answer = coreDnsAnswer(model, cfg, q, transport, (qq, servers) => {
      const up = servers[0];
      if (up === undefined) return servfail('forward', ['forward has no upstream']);
      const ft = traceConnection(plan, { from: at, to: `${up}:53`, proto: 'udp', seed });
      forward = nested(ft);
      const why = lostBecause(ft);
      if (why && ft.request.disposition !== 'left-model')
        return servfail('forward', [`the forwarded query to ${up} got no answer: ${why}`]);
      return internetAnswer(model, qq, up);
    });
    return { exchange: { answer }, ...(forward ? { forward } : {}) };
  }
  const eh = model.externalHostsByIP.get(t.request.received?.dst ?? '');
  if (eh && (eh.spec.listen ?? []).some((l) => l.port === 53))
    return { exchange: { answer: internetAnswer(model, q, eh.spec.address) } };
  return {
    exchange: {
      timeout: { detail: `delivered to ${sentBy(t)}, which is not a DNS server the twin models` },
    },
  };
}

function queryView(
  q: Question,
  transport: Transport,
  ns: string,
  t: ConnectionTrace,
  ex: Exchange,
  forward: ConnectionTrace | undefined,
): DnsQueryView {
  const a = ex.answer;
  return {
    name: q.name,
    type: q.type,
    transport,
    nameserver: ns,
    why: '',
    sends: 1,
    ...(a
      ? {
          answer: {
            rcode: a.rcode,
            aa: a.aa,
            ...(a.ra ? { ra: true } : {}),
            tc: a.tc,
            answer: [...a.answer],
            authority: [...a.authority],
            ...(a.additional ? { additional: [...a.additional] } : {}),
            by: a.by,
            server: sentBy(t),
            notes: [...a.notes],
          },
        }
      : { timeout: ex.timeout?.detail ?? 'no answer' }),
    trace: nested(t),
    ...(forward ? { forward } : {}),
  };
}

/**
 * `trace --to NAME:PORT`: the lookup, then the connection to the address it
 * gave. The connection keeps the trace's shape; `to.ref` is the name asked.
 */
export function traceByName(
  plan: TwinPlan | Twin,
  opts: TraceOptions,
  ref: NameRef,
): ConnectionTrace {
  const p = 'instantiate' in plan ? plan : plan.plan;
  const run = traceLookup(p, opts.from, ref.name, { seed: opts.seed ?? 1 });
  if (run.address !== undefined) {
    const t = traceConnection(p, {
      ...opts,
      to: `${run.address}:${ref.port}`,
      proto: opts.proto ?? ref.proto,
    });
    return { ...t, to: { ...t.to, ref: opts.to }, dns: run.view };
  }
  if (!run.last) {
    // Nothing was sent (no nameserver): there is no packet to show.
    throw InputError.of(
      'dns-no-query',
      `--to ${opts.to}: ${run.view.result.error ?? 'the name did not resolve'}; no query was sent`,
    );
  }
  const l = run.last;
  const byAddress = lostQueries(run.view) ? addressHint(p, opts, ref, run.view) : undefined;
  return {
    ...l,
    to: { ...l.to, ref: opts.to, kind: 'name' },
    dns: byAddress ? { ...run.view, byAddress } : run.view,
  };
}

function lostQueries(v: DnsView): boolean {
  return v.queries.some((q) => q.timeout !== undefined);
}

/**
 * The lookup's queries died on the way: what CoreDNS would have answered
 * (asked directly, no packets), and whether the pod reaches that address —
 * the classic default-deny egress that allows the backend but not DNS.
 */
function addressHint(
  plan: TwinPlan,
  opts: TraceOptions,
  ref: NameRef,
  v: DnsView,
): DnsView['byAddress'] {
  const model = plan.model;
  const pod = model.pods.get(v.from)!;
  const rc = podResolvConf(model, pod);
  const cfg = coreDnsConfig(model);
  const direct: Send = (q, transport) => ({
    answer: coreDnsAnswer(model, cfg, q, transport, (qq, s) =>
      internetAnswer(model, qq, s[0] ?? ''),
    ),
  });
  const l = resolve(rc, ref.name, ['A'], direct);
  const address = l.results.find((r) => isIpv4(r));
  if (address === undefined) return undefined;
  const t = traceConnection(plan, {
    ...opts,
    to: `${address}:${ref.port}`,
    proto: opts.proto ?? ref.proto,
  });
  const reachable = t.request.disposition === 'delivered';
  const lost = v.queries.find((q) => q.timeout !== undefined)!;
  const dnsDrop = `its DNS queries to ${lost.nameserver}:53 are lost (${lost.timeout})`;
  return {
    address,
    port: ref.port,
    reachable,
    note: reachable
      ? `${v.from} reaches ${address}:${ref.port} by address but not by name: ${ref.name} is ${address}, and ${dnsDrop}; allow egress to the cluster DNS pods on UDP and TCP 53`
      : `${ref.name} is ${address}, but ${v.from} reaches neither the name (${dnsDrop}) nor ${address}:${ref.port} (${t.request.disposition} at ${t.request.at ?? '?'})`,
  };
}
