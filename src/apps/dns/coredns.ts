/**
 * CoreDNS as the cluster configures it: the `coredns` ConfigMap's Corefile
 * (else kubeadm's default), its server blocks chosen by the longest zone that
 * holds the question (core/dnsserver: zone routing), and in each block the
 * plugins the twin models, run in CoreDNS's compiled order (plugin.cfg:
 * rewrite → hosts → kubernetes → forward), not the Corefile's:
 *
 * - `rewrite [stop|continue] name [exact|prefix|suffix|substring|regex] FROM TO`:
 *   the question is rewritten before the next plugins, the answer's owner
 *   names are written back to the name asked (plugin/rewrite name.go).
 * - `hosts [FILE] [ZONES] { IP NAME...; fallthrough; ttl }`: the inline
 *   entries (a FILE's contents are not among the cluster's objects). A name
 *   it holds with no record of the type is NODATA; a miss goes on with
 *   `fallthrough`, else is SERVFAIL (plugin/hosts: no SOA to say NXDOMAIN with).
 * - `kubernetes [ZONES] { pods …; fallthrough [ZONES]; ttl N; namespaces …;
 *   endpoint_pod_names }` (kubernetes.ts).
 * - `forward FROM TO... { except ZONES }`: the question goes upstream; `TO`
 *   `/etc/resolv.conf` is the CoreDNS pod's own resolv.conf — dnsPolicy
 *   Default, i.e. the node's nameservers.
 * Other plugins (errors, health, ready, prometheus, cache, loop, reload,
 * loadbalance, log) do not change an answer's content and are not modelled;
 * `loadbalance` shuffles A records round-robin, the twin keeps the
 * EndpointSlice order. Any other plugin is named in `notes` (a stderr note).
 */
import type { ClusterModel } from '../../k8s/model.js';
import {
  kubeadmCorefile,
  parseCorefile,
  type Corefile,
  type Directive,
  type ServerBlock,
} from './corefile.js';
import { kubernetesAnswer, soaOf, type KubernetesPlugin, type PodsMode } from './kubernetes.js';
import type { Answer, Question, RR } from './message.js';
import { fqdn, inZone, UDP_PAYLOAD, wireSize } from './message.js';
import { nodeResolvConf } from './resolvconf.js';

interface RewriteRule {
  readonly match: 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';
  readonly from: string;
  readonly to: string;
  readonly stop: boolean;
  readonly line: number;
}

interface HostsPlugin {
  readonly zones: readonly string[];
  readonly entries: ReadonlyMap<string, readonly string[]>;
  readonly fallthrough: boolean;
  readonly ttl: number;
  readonly file?: string;
}

interface ForwardPlugin {
  readonly from: string;
  readonly to: readonly string[];
  readonly except: readonly string[];
  /** How TO was read (`/etc/resolv.conf` → the node's nameservers). */
  readonly toFrom: string;
}

export interface ServerConfig {
  readonly block: ServerBlock;
  readonly rewrites: readonly RewriteRule[];
  readonly hosts?: HostsPlugin;
  readonly kubernetes?: KubernetesPlugin;
  readonly forward?: ForwardPlugin;
}

export interface CoreDnsConfig {
  readonly from: string;
  readonly text: string;
  readonly servers: readonly ServerConfig[];
  /** Plugins and shapes not modelled, and defaults taken, in words. */
  readonly notes: readonly string[];
}

/** Plugins that do not change what an answer says. */
const NEUTRAL = new Set([
  'errors',
  'health',
  'ready',
  'prometheus',
  'cache',
  'loop',
  'reload',
  'loadbalance',
  'log',
  'debug',
  'whoami',
  'bind',
  'bufsize',
  'cancel',
  'timeouts',
  'nsid',
  'pprof',
  'trace',
  'metadata',
  'any',
  'minimal',
  'autopath',
]);

function fallthroughZones(args: readonly string[], zones: readonly string[]): string[] {
  return args.length > 0 ? args.map(fqdn) : [...zones];
}

function readKubernetes(d: Directive, block: ServerBlock, notes: string[]): KubernetesPlugin {
  let pods: PodsMode = 'disabled';
  let ttl = 5;
  let fallthrough: string[] = [];
  let endpointPodNames = false;
  let namespaces: string[] = [];
  const zones = d.args.length > 0 ? d.args.map(fqdn) : [...block.zones];
  for (const o of d.block) {
    if (o.name === 'pods' && ['disabled', 'insecure', 'verified'].includes(o.args[0] ?? ''))
      pods = o.args[0] as PodsMode;
    else if (o.name === 'ttl' && /^\d+$/.test(o.args[0] ?? ''))
      ttl = Math.min(3600, Number(o.args[0]));
    else if (o.name === 'fallthrough') fallthrough = fallthroughZones(o.args, ['.']);
    else if (o.name === 'endpoint_pod_names') endpointPodNames = true;
    else if (o.name === 'namespaces') namespaces = [...o.args];
    else if (
      ![
        'kubeconfig',
        'endpoint',
        'tls',
        'labels',
        'namespace_labels',
        'noendpoints',
        'ignore',
        'multicluster',
        'startup_timeout',
        'apiserver_qps',
        'apiserver_burst',
        'apiserver_max_inflight',
      ].includes(o.name)
    )
      notes.push(`Corefile line ${o.line}: kubernetes option ${o.name} is not modelled`);
    else if (o.name === 'noendpoints' || o.name === 'ignore')
      notes.push(
        `Corefile line ${o.line}: kubernetes ${o.name} ${o.args.join(' ')} is not modelled`,
      );
  }
  return { zones, pods, ttl, fallthrough, endpointPodNames, namespaces };
}

function readRewrite(d: Directive, notes: string[]): RewriteRule | undefined {
  const a = [...d.args];
  let stop = true;
  if (a[0] === 'stop' || a[0] === 'continue') stop = a.shift() === 'stop';
  if (a[0] !== 'name') {
    notes.push(
      `Corefile line ${d.line}: rewrite ${a[0] ?? ''} is not modelled (only rewrite name)`,
    );
    return undefined;
  }
  a.shift();
  let match: RewriteRule['match'] = 'exact';
  if (['exact', 'prefix', 'suffix', 'substring', 'regex'].includes(a[0] ?? ''))
    match = a.shift() as RewriteRule['match'];
  const [from, to] = a;
  if (from === undefined || to === undefined) {
    notes.push(`Corefile line ${d.line}: rewrite name needs FROM and TO`);
    return undefined;
  }
  if (a.length > 2 && a[2] !== 'answer')
    notes.push(`Corefile line ${d.line}: rewrite options after TO are not modelled`);
  return { match, from, to, stop, line: d.line };
}

function readHosts(d: Directive, block: ServerBlock, notes: string[]): HostsPlugin {
  const entries = new Map<string, string[]>();
  let fallthrough = false;
  let ttl = 3600;
  const file = d.args[0]?.startsWith('/') || d.args[0]?.includes('hosts') ? d.args[0] : undefined;
  const zoneArgs = file !== undefined ? d.args.slice(1) : d.args;
  for (const o of d.block) {
    if (o.name === 'fallthrough') fallthrough = true;
    else if (o.name === 'ttl' && /^\d+$/.test(o.args[0] ?? '')) ttl = Number(o.args[0]);
    else if (/^\d+\.\d+\.\d+\.\d+$/.test(o.name))
      for (const n of o.args) entries.set(fqdn(n), [...(entries.get(fqdn(n)) ?? []), o.name]);
    else if (!['reload', 'no_reverse'].includes(o.name))
      notes.push(`Corefile line ${o.line}: hosts ${o.name} is not modelled`);
  }
  if (file !== undefined || d.args.length === 0)
    notes.push(
      `Corefile line ${d.line}: hosts reads ${file ?? '/etc/hosts'} inside the CoreDNS pod, which the objects do not hold; only inline entries are modelled`,
    );
  return {
    zones: zoneArgs.length > 0 ? zoneArgs.map(fqdn) : [...block.zones],
    entries,
    fallthrough,
    ttl,
    ...(file !== undefined ? { file } : {}),
  };
}

function readForward(model: ClusterModel, d: Directive): ForwardPlugin {
  const [from = '.', ...to] = d.args;
  const ups: string[] = [];
  let toFrom = 'the upstreams named';
  for (const t of to) {
    if (t.startsWith('/')) {
      const rc = nodeResolvConf(model);
      ups.push(...rc.nameservers);
      toFrom = `${t} of the CoreDNS pod (dnsPolicy Default): the node's resolv.conf — ${rc.from}`;
    } else ups.push(t.replace(/^dns:\/\//, '').replace(/:53$/, ''));
  }
  const except = d.block.filter((o) => o.name === 'except').flatMap((o) => o.args.map(fqdn));
  return { from: fqdn(from), to: [...new Set(ups)], except, toFrom };
}

/** The cluster's CoreDNS configuration: the ConfigMap's Corefile, else kubeadm's. */
export function coreDnsConfig(model: ClusterModel): CoreDnsConfig {
  const given = model.cluster.dns.corefile;
  const text = given?.text ?? kubeadmCorefile(model.cluster.clusterDomain);
  const from = given?.from ?? "kubeadm's default Corefile (no ConfigMap kube-system/coredns)";
  const cf: Corefile = parseCorefile(text);
  const notes = [...cf.notes];
  const servers: ServerConfig[] = [];
  for (const block of cf.blocks) {
    const rewrites: RewriteRule[] = [];
    let hosts: HostsPlugin | undefined;
    let kubernetes: KubernetesPlugin | undefined;
    let forward: ForwardPlugin | undefined;
    for (const d of block.directives) {
      if (d.name === 'kubernetes') kubernetes = readKubernetes(d, block, notes);
      else if (d.name === 'rewrite') {
        const r = readRewrite(d, notes);
        if (r) rewrites.push(r);
      } else if (d.name === 'hosts') hosts = readHosts(d, block, notes);
      else if (d.name === 'forward' || d.name === 'proxy') forward = readForward(model, d);
      else if (!NEUTRAL.has(d.name))
        notes.push(
          `Corefile line ${d.line}: plugin ${d.name} is not modelled; answers are given as if it were absent`,
        );
    }
    servers.push({
      block,
      rewrites,
      ...(hosts ? { hosts } : {}),
      ...(kubernetes ? { kubernetes } : {}),
      ...(forward ? { forward } : {}),
    });
  }
  return { from, text, servers, notes };
}

function applyRewrite(r: RewriteRule, name: string): string | undefined {
  const n = name;
  const from = r.match === 'regex' ? r.from : fqdn(r.from).replace(/\.$/, '');
  const bare = n.replace(/\.$/, '');
  switch (r.match) {
    case 'exact':
      return bare === from ? fqdn(r.to) : undefined;
    case 'prefix':
      return bare.startsWith(from) ? fqdn(r.to + bare.slice(from.length)) : undefined;
    case 'suffix':
      return bare.endsWith(from)
        ? fqdn(bare.slice(0, bare.length - from.length) + r.to)
        : undefined;
    case 'substring':
      return bare.includes(from) ? fqdn(bare.replace(from, r.to)) : undefined;
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(r.from);
      } catch {
        return undefined;
      }
      const m = re.exec(n) ?? re.exec(bare);
      if (!m) return undefined;
      return fqdn(r.to.replace(/\{(\d+)\}/g, (_, i: string) => m[Number(i)] ?? ''));
    }
  }
}

/** The server block that gets `name`: the longest zone holding it. */
export function serverFor(cfg: CoreDnsConfig, name: string): ServerConfig | undefined {
  let best: { s: ServerConfig; len: number } | undefined;
  for (const s of cfg.servers) {
    if (s.block.port !== 53) continue;
    for (const z of s.block.zones)
      if (inZone(name, z) && (!best || z.length > best.len)) best = { s, len: z.length };
  }
  return best?.s;
}

/** What the upstream of a `forward` answers (the trace layer sends the packet). */
export type Upstream = (q: Question, servers: readonly string[]) => Answer;

function negative(
  rcode: 'NXDOMAIN' | 'NOERROR',
  zone: string,
  ttl: number,
  by: string,
  notes: string[],
): Answer {
  return { rcode, aa: true, tc: false, answer: [], authority: [soaOf(zone, ttl)], by, notes };
}

function truncate(q: Question, a: Answer): Answer {
  if (wireSize(q, a) <= UDP_PAYLOAD) return a;
  // dns.Msg.Truncate: keep what fits, set TC.
  const kept: RR[] = [];
  for (const rr of a.answer) {
    if (wireSize(q, { answer: [...kept, rr], authority: [] }) > UDP_PAYLOAD) break;
    kept.push(rr);
  }
  return {
    ...a,
    tc: true,
    answer: kept,
    authority: [],
    notes: [
      ...a.notes,
      `${a.answer.length} records do not fit ${UDP_PAYLOAD} bytes of UDP without EDNS0: truncated to ${kept.length}, TC set`,
    ],
  };
}

/**
 * CoreDNS's answer to `q` (asked over `transport`): rewrite, hosts,
 * kubernetes, forward, in that order. A UDP answer over 512 bytes is
 * truncated with TC set (the resolver's queries carry no EDNS0 by default).
 */
export function coreDnsAnswer(
  model: ClusterModel,
  cfg: CoreDnsConfig,
  q0: Question,
  transport: 'udp' | 'tcp',
  upstream: Upstream,
): Answer {
  const a = serveOnce(model, cfg, q0, upstream);
  return transport === 'udp' ? truncate(q0, a) : a;
}

function serveOnce(
  model: ClusterModel,
  cfg: CoreDnsConfig,
  q0: Question,
  upstream: Upstream,
): Answer {
  const server = serverFor(cfg, q0.name);
  if (!server)
    return {
      rcode: 'REFUSED',
      aa: false,
      tc: false,
      answer: [],
      authority: [],
      by: 'no server block for this zone',
      notes: [],
    };
  const notes: string[] = [];
  let q = q0;
  for (const r of server.rewrites) {
    const to = applyRewrite(r, q.name);
    if (to === undefined) continue;
    notes.push(`rewrite name ${r.match} ${r.from} ${r.to} (line ${r.line}): ${q.name} → ${to}`);
    q = { ...q, name: to };
    if (r.stop) break;
  }
  const back = (rrs: readonly RR[]): RR[] =>
    rrs.map((rr) => (rr.name === q.name ? { ...rr, name: q0.name } : rr));
  const zoneLabel = server.block.zones.join(' ');
  const h = server.hosts;
  if (h && h.zones.some((z) => inZone(q.name, z))) {
    const ips = h.entries.get(q.name);
    if (ips) {
      const answer =
        q.type === 'A'
          ? ips.map((ip) => ({ name: q.name, type: 'A' as const, ttl: h.ttl, data: ip }))
          : [];
      return {
        rcode: 'NOERROR',
        aa: true,
        tc: false,
        answer: back(answer),
        authority: [],
        by: `hosts (server ${zoneLabel})`,
        notes,
      };
    }
    if (!h.fallthrough)
      return servfail(`hosts (server ${zoneLabel})`, [
        ...notes,
        'hosts: no entry and no fallthrough (SERVFAIL)',
      ]);
  }
  const k = server.kubernetes;
  if (k) {
    const r = kubernetesAnswer(model, k, q);
    if (r) {
      const by = `kubernetes ${k.zones.join(' ')} (server ${zoneLabel})`;
      const falls = k.fallthrough.some((z) => inZone(q.name, z));
      if (r.kind === 'records')
        return {
          rcode: 'NOERROR',
          aa: true,
          tc: false,
          answer: back(r.answer),
          authority: [],
          by,
          notes,
          ...(r.extra.length > 0 ? { additional: r.extra } : {}),
        };
      if (r.kind === 'nodata') return negative('NOERROR', r.zone, k.ttl, by, notes);
      if (r.kind === 'cname') {
        // backend_lookup.go A(): a target outside the zones is looked up through the server itself (the upstream).
        const t = serveOnce(model, cfg, { name: r.target, type: q.type }, upstream);
        notes.push(`CNAME ${r.target} looked up again through CoreDNS (${t.by}): ${t.rcode}`);
        const rest = t.answer.filter((x) => x.type === q.type || x.type === 'CNAME');
        return {
          rcode: 'NOERROR',
          aa: true,
          tc: false,
          answer: [...back(r.answer), ...rest],
          authority: [],
          by,
          notes,
          ...(t.upstream ? { upstream: t.upstream } : {}),
        };
      }
      if (!falls)
        return { ...negative('NXDOMAIN', r.zone, k.ttl, by, notes), notes: [...notes, r.why] };
      notes.push(`kubernetes: ${r.why}; fallthrough to the next plugin`);
    }
  }
  const f = server.forward;
  if (f && inZone(q.name, f.from) && !f.except.some((z) => inZone(q.name, z))) {
    const up = upstream(q, f.to);
    return {
      ...up,
      answer: back(up.answer),
      by: `forward ${f.from} → ${f.to.join(' ')} (server ${zoneLabel})`,
      notes: [...notes, `forward: ${f.toFrom}`, ...up.notes],
    };
  }
  return servfail(`server ${zoneLabel}: no plugin answered`, [
    ...notes,
    'no plugin in the chain answered (plugin.NextOrFailure: SERVFAIL)',
  ]);
}

/** A SERVFAIL answer: no records, not authoritative; `by` names who gave it. */
export function servfail(by: string, notes: readonly string[]): Answer {
  return {
    rcode: 'SERVFAIL',
    aa: false,
    tc: false,
    answer: [],
    authority: [],
    by,
    notes: [...notes],
  };
}

/**
 * The twin's internet DNS: ExternalHosts' `dnsNames` have A records (the
 * host's address); any other name is NXDOMAIN — the twin knows no other
 * name outside the cluster, and says so.
 */
export function internetAnswer(model: ClusterModel, q: Question, server: string): Answer {
  for (const h of model.externalHosts.values()) {
    if (!(h.spec.dnsNames ?? []).some((n) => fqdn(n) === q.name)) continue;
    const answer: RR[] =
      q.type === 'A' ? [{ name: q.name, type: 'A', ttl: 300, data: h.spec.address }] : [];
    return {
      rcode: 'NOERROR',
      aa: false,
      ra: true,
      tc: false,
      answer,
      authority: [],
      by: `upstream ${server}: ExternalHost ${h.metadata.name} dnsNames`,
      notes: [],
      upstream: server,
    };
  }
  return {
    rcode: 'NXDOMAIN',
    aa: false,
    ra: true,
    tc: false,
    answer: [],
    authority: [],
    by: `upstream ${server}`,
    notes: [
      `the twin's upstream knows only ExternalHost dnsNames; ${q.name} is assumed not to exist`,
    ],
    upstream: server,
  };
}
