/**
 * CoreDNS's `kubernetes` plugin (coredns/coredns plugin/kubernetes): the
 * records it serves from Services, EndpointSlices and Pods.
 *
 * parseRequest (parse.go) reads `[_port._proto.|endpoint.]service.namespace.svc|pod.ZONE`:
 * - `svc.ns.svc.ZONE` A/AAAA: a ClusterIP Service's cluster IPs; a headless
 *   Service's ready endpoint addresses (ready as the EndpointSlice says —
 *   publishNotReadyAddresses makes them ready); an ExternalName Service's
 *   CNAME (only when the name is not an IP: HostType must be CNAME).
 * - `_port._proto.svc.ns.svc.ZONE` SRV: per matching port, target the
 *   Service (ClusterIP) or each endpoint (headless), priority 0, weight
 *   floor(100/n) (backend_lookup.go SRV), with the targets' A records as
 *   additional records; a bare `svc.ns.svc.ZONE` SRV matches every port.
 * - `endpoint.svc.ns.svc.ZONE`: a headless endpoint by hostname (the
 *   endpoint's `hostname`, else its address with dashes: endpointHostname).
 * - `a-b-c-d.ns.pod.ZONE`: `pods insecure` answers the address as written,
 *   `pods verified` only if a pod in `ns` has it, `pods disabled` (the
 *   plugin's default) never.
 * - `d.c.b.a.in-addr.arpa` PTR: a Service's cluster IP → the Service name;
 *   an endpoint's address → `endpoint.svc.ns.svc.ZONE` (serviceRecordForIP).
 * NXDOMAIN vs NODATA (handler.go ServeDNS, IsNameError): a name that parses
 * but matches nothing (no such Service, namespace, endpoint; a headless
 * Service without ready endpoints; a malformed name) is NXDOMAIN; an
 * existing name without records of the type asked (AAAA of an IPv4 Service,
 * the zone apex, `ns.svc.ZONE` of an existing namespace) is NODATA. Either
 * way the zone's SOA goes in the authority section.
 */
import type { ClusterModel, ModelService } from '../../k8s/model.js';
import { nsName } from '../../k8s/model.js';
import { isIpv4 } from '../../wire/addr.js';
import type { Question, RR } from './message.js';
import { fqdn, inZone, ipOfReverse, labelsIn } from './message.js';

export type PodsMode = 'disabled' | 'insecure' | 'verified';

export interface KubernetesPlugin {
  readonly zones: readonly string[];
  readonly pods: PodsMode;
  readonly ttl: number;
  /** Zones whose misses go to the next plugin (`fallthrough [ZONES]`); empty = none. */
  readonly fallthrough: readonly string[];
  /** `endpoint_pod_names`: endpoints named after their pod. */
  readonly endpointPodNames: boolean;
  /** `namespaces`: only these are exposed (empty = all). */
  readonly namespaces: readonly string[];
}

export type KubeResult =
  | { readonly kind: 'records'; readonly answer: RR[]; readonly extra: RR[]; readonly zone: string }
  | { readonly kind: 'nodata'; readonly zone: string }
  | { readonly kind: 'nxdomain'; readonly zone: string; readonly why: string }
  /** An ExternalName's CNAME whose target lies outside the plugin's zones: the rest comes from the upstream. */
  | {
      readonly kind: 'cname';
      readonly answer: RR[];
      readonly target: string;
      readonly zone: string;
    };

/** The SOA CoreDNS puts in the authority section of negative answers (plugin/kubernetes Serial: the last API change; the twin writes 0). */
export function soaOf(zone: string, ttl: number): RR {
  const z = zone === '.' ? '' : zone;
  return {
    name: zone,
    type: 'SOA',
    ttl,
    data: `ns.dns.${z} hostmaster.${z} 0 7200 1800 86400 ${ttl}`,
  };
}

interface Target {
  readonly host: string;
  readonly port?: number;
  readonly name: string;
}

/** endpointHostname: the endpoint's hostname, else its address with dashes. */
function endpointName(
  hostname: string | undefined,
  ip: string,
  podName?: string,
  byPod = false,
): string {
  if (hostname) return hostname;
  if (byPod && podName) return podName;
  return ip.replace(/[.:]/g, '-');
}

interface EndpointAddr {
  readonly ip: string;
  readonly name: string;
  readonly ports: readonly { name?: string; protocol?: string; port?: number }[];
}

function readyEndpoints(model: ClusterModel, svc: ModelService, byPod: boolean): EndpointAddr[] {
  const out: EndpointAddr[] = [];
  for (const slice of model.slicesByService.get(nsName(svc)) ?? []) {
    if (slice.addressType !== 'IPv4') continue;
    for (const ep of slice.endpoints ?? []) {
      // object/endpoint.go: an endpoint whose ready condition is false is left out.
      if (ep.conditions?.ready === false) continue;
      for (const ip of ep.addresses)
        out.push({
          ip,
          name: endpointName(ep.hostname, ip, ep.targetRef?.name, byPod),
          // object/endpoint.go: a slice without ports gets a sentinel port, so its addresses still have A records.
          ports: slice.ports && slice.ports.length > 0 ? slice.ports : [{}],
        });
    }
  }
  return out;
}

const wild = (s: string | undefined): boolean => s === '*' || s === 'any';
const match = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined ||
  a === '' ||
  wild(a) ||
  wild(b) ||
  (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

function namespaceExposed(model: ClusterModel, k: KubernetesPlugin, ns: string): boolean {
  if (k.namespaces.length > 0 && !k.namespaces.includes(ns)) return false;
  return model.namespaces.has(ns);
}

/** The zone of `name` among the plugin's zones (the longest). */
export function zoneFor(k: KubernetesPlugin, name: string): string | undefined {
  return [...k.zones].filter((z) => inZone(name, z)).sort((a, b) => b.length - a.length)[0];
}

function reverse(model: ClusterModel, k: KubernetesPlugin, q: Question, zone: string): KubeResult {
  const ip = ipOfReverse(q.name);
  const primary = k.zones.find((z) => !z.endsWith('.arpa.')) ?? 'cluster.local.';
  const names: string[] = [];
  if (ip !== undefined) {
    for (const svc of model.services.values())
      if (svc.spec.clusterIP === ip && namespaceExposed(model, k, svc.metadata.namespace))
        names.push(`${svc.metadata.name}.${svc.metadata.namespace}.svc.${primary}`);
    if (names.length === 0)
      for (const svc of model.services.values()) {
        if (!namespaceExposed(model, k, svc.metadata.namespace)) continue;
        for (const ep of readyEndpoints(model, svc, k.endpointPodNames))
          if (ep.ip === ip)
            names.push(`${ep.name}.${svc.metadata.name}.${svc.metadata.namespace}.svc.${primary}`);
      }
  }
  if (names.length === 0)
    return { kind: 'nxdomain', zone, why: `no Service or endpoint has ${ip ?? q.name}` };
  if (q.type !== 'PTR') return { kind: 'nodata', zone };
  return {
    kind: 'records',
    zone,
    answer: [...new Set(names)].map((d) => ({ name: q.name, type: 'PTR', ttl: k.ttl, data: d })),
    extra: [],
  };
}

function podRecord(
  model: ClusterModel,
  k: KubernetesPlugin,
  q: Question,
  zone: string,
  ns: string,
  label: string,
): KubeResult {
  if (k.pods === 'disabled')
    return { kind: 'nxdomain', zone, why: 'pods disabled (the plugin default): no pod records' };
  const ip = label.replace(/-/g, '.');
  if (!isIpv4(ip))
    return { kind: 'nxdomain', zone, why: `${label} is not an address written with dashes` };
  if (k.pods === 'verified') {
    const pod = model.podsByIP.get(ip);
    if (!pod || pod.metadata.namespace !== ns)
      return { kind: 'nxdomain', zone, why: `pods verified: no pod in ${ns} has ${ip}` };
  } else if (!namespaceExposed(model, k, ns)) {
    return { kind: 'nxdomain', zone, why: `no namespace ${ns}` };
  }
  if (q.type !== 'A') return { kind: 'nodata', zone };
  return {
    kind: 'records',
    zone,
    answer: [{ name: q.name, type: 'A', ttl: k.ttl, data: ip }],
    extra: [],
  };
}

/** The records of one Service for a request (findServices). */
function serviceTargets(
  model: ClusterModel,
  k: KubernetesPlugin,
  svc: ModelService,
  zone: string,
  endpoint: string | undefined,
  port: string | undefined,
  proto: string | undefined,
): Target[] {
  const svcName = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${zone}`;
  const headless = svc.spec.clusterIP === 'None';
  if (headless || endpoint !== undefined) {
    const out: Target[] = [];
    for (const ep of readyEndpoints(model, svc, k.endpointPodNames)) {
      if (endpoint !== undefined && !match(endpoint, ep.name)) continue;
      for (const p of ep.ports)
        if (match(port, p.name) && match(proto, p.protocol))
          out.push({
            host: ep.ip,
            ...(p.port !== undefined ? { port: p.port } : {}),
            name: `${ep.name}.${svcName}`,
          });
    }
    return out;
  }
  const out: Target[] = [];
  for (const p of svc.spec.ports)
    if (match(port, p.name) && match(proto, p.protocol))
      for (const ip of svc.spec.clusterIPs ?? [svc.spec.clusterIP!])
        if (isIpv4(ip) || ip.includes(':')) out.push({ host: ip, port: p.port, name: svcName });
  return out;
}

function addressRR(name: string, type: 'A' | 'AAAA', ttl: number, host: string): RR | undefined {
  if (type === 'A' && isIpv4(host)) return { name, type, ttl, data: host };
  if (type === 'AAAA' && host.includes(':')) return { name, type, ttl, data: host };
  return undefined;
}

/** Answers `q` from the cluster's objects, or says it is not the plugin's to answer (undefined). */
export function kubernetesAnswer(
  model: ClusterModel,
  k: KubernetesPlugin,
  q: Question,
): KubeResult | undefined {
  const zone = zoneFor(k, q.name);
  if (zone === undefined) return undefined;
  if (zone.endsWith('.arpa.')) return reverse(model, k, q, zone);
  const segs = labelsIn(q.name, zone);
  // Apex, `svc.ZONE`, `pod.ZONE`: NODATA.
  if (segs.length === 0 || (segs.length === 1 && (segs[0] === 'svc' || segs[0] === 'pod')))
    return { kind: 'nodata', zone };
  const last = segs.length - 1;
  const podOrSvc = segs[last]!;
  if (podOrSvc !== 'svc' && podOrSvc !== 'pod')
    return {
      kind: 'nxdomain',
      zone,
      why: `${segs.join('.')} is not NAME.NAMESPACE.svc or NAME.NAMESPACE.pod`,
    };
  const ns = segs[last - 1]!;
  const service = segs[last - 2];
  const rest = segs.slice(0, Math.max(0, last - 2));
  if (rest.length > 2)
    return { kind: 'nxdomain', zone, why: 'too many labels for a Service record' };
  if (podOrSvc === 'pod') {
    if (service === undefined)
      return namespaceExposed(model, k, ns)
        ? { kind: 'nodata', zone }
        : { kind: 'nxdomain', zone, why: `no namespace ${ns}` };
    if (rest.length > 0) return { kind: 'nxdomain', zone, why: 'too many labels for a pod record' };
    return podRecord(model, k, q, zone, ns, service);
  }
  if (!namespaceExposed(model, k, ns)) return { kind: 'nxdomain', zone, why: `no namespace ${ns}` };
  if (service === undefined) return { kind: 'nodata', zone };
  const endpoint = rest.length === 1 ? rest[0] : undefined;
  const port = rest.length === 2 ? rest[0]!.replace(/^_/, '') : undefined;
  const proto = rest.length === 2 ? rest[1]!.replace(/^_/, '') : undefined;
  const svc = model.services.get(`${ns}/${service}`);
  if (!svc) return { kind: 'nxdomain', zone, why: `no Service ${ns}/${service}` };
  if (svc.spec.type === 'ExternalName') {
    const target = svc.spec.externalName;
    if (target === undefined || isIpv4(target) || endpoint !== undefined || port !== undefined)
      return {
        kind: 'nxdomain',
        zone,
        why: `ExternalName ${JSON.stringify(target ?? '')} is not a name (CoreDNS serves no CNAME for it)`,
      };
    const cname: RR = { name: q.name, type: 'CNAME', ttl: k.ttl, data: fqdn(target) };
    return { kind: 'cname', zone, answer: [cname], target: fqdn(target) };
  }
  const targets = serviceTargets(model, k, svc, zone, endpoint, port, proto);
  if (targets.length === 0)
    return {
      kind: 'nxdomain',
      zone,
      why:
        svc.spec.clusterIP === 'None'
          ? `headless Service ${ns}/${service} has no ready endpoint${endpoint ? ` named ${endpoint}` : ''}${port ? ` with port ${port}/${proto}` : ''}`
          : `Service ${ns}/${service} has no port ${port ?? ''}/${proto ?? ''}`,
    };
  return recordsFor(q, targets, k.ttl, zone);
}

function recordsFor(
  q: Question,
  targets: readonly Target[],
  ttl: number,
  zone: string,
): KubeResult {
  const answer: RR[] = [];
  const extra: RR[] = [];
  if (q.type === 'A' || q.type === 'AAAA') {
    const seen = new Set<string>();
    for (const t of targets) {
      const rr = addressRR(q.name, q.type, ttl, t.host);
      if (rr && !seen.has(t.host)) {
        seen.add(t.host);
        answer.push(rr);
      }
    }
  } else if (q.type === 'SRV') {
    const withPort = targets.filter((t) => t.port !== undefined);
    const keys = new Set<string>();
    const uniq = withPort.filter((t) => {
      const key = `${t.name} ${t.port}`;
      if (keys.has(key)) return false;
      keys.add(key);
      return true;
    });
    const weight = Math.floor(100 / Math.max(1, uniq.length));
    for (const t of uniq) {
      answer.push({ name: q.name, type: 'SRV', ttl, data: `0 ${weight} ${t.port} ${t.name}` });
      const a = addressRR(t.name, 'A', ttl, t.host);
      if (a && !extra.some((x) => x.name === a.name && x.data === a.data)) extra.push(a);
    }
  }
  if (answer.length === 0) return { kind: 'nodata', zone };
  return { kind: 'records', zone, answer, extra };
}
