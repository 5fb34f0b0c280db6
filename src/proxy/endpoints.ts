/**
 * What kube-proxy knows about a Service port and its endpoints, built from
 * Service and EndpointSlice objects the way `pkg/proxy/servicechangetracker.go`
 * (`serviceToServiceMap`, `newBaseServiceInfo`), `pkg/proxy/endpointslicecache.go`
 * (`endpointInfoByServicePort`, `addEndpoints`) and `pkg/proxy/topology.go`
 * (`CategorizeEndpoints`) do, for one IP family.
 */

import type { Diagnostic } from '../diag.js';
import type { EndpointSlice, Protocol, Service } from '../k8s/types.js';
import { objectRef } from '../k8s/types.js';
import { endpointChainName, portProtoHash, servicePortNameString } from './hash.js';
import {
  type IpFamily,
  canonicalIp,
  familyOfIp,
  formatIpBytes,
  joinHostPort,
  parseCidrAny,
  parseIpBytes,
  plainIpv4,
} from './ipaddr.js';

/** One service port as the proxier sees it (`servicePortInfo` + `BaseServicePortInfo`). */
export interface ServicePortInfo {
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  /** `ns/name:port` (ServicePortName.String). */
  readonly nameString: string;
  readonly protocol: Protocol;
  /** Lower case, as in `-m tcp -p tcp`. */
  readonly proto: 'tcp' | 'udp' | 'sctp';
  readonly clusterIP: string;
  readonly port: number;
  /** 0 when none. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress IPs of this family (ipMode VIP or unset). */
  readonly loadBalancerVIPs: readonly string[];
  /** Normalised CIDRs (`cidr.String()`), this family only. */
  readonly loadBalancerSourceRanges: readonly string[];
  /** 0 unless type LoadBalancer with externalTrafficPolicy Local (`NeedsHealthCheck`). */
  readonly healthCheckNodePort: number;
  readonly sessionAffinityClientIP: boolean;
  readonly stickyMaxAgeSeconds: number;
  readonly internalPolicyLocal: boolean;
  readonly externalPolicyLocal: boolean;
  /** Value of the topology annotation (`topology-mode`, else `topology-aware-hints`). */
  readonly hintsAnnotation: string;
  readonly clusterPolicyChainName: string;
  readonly localPolicyChainName: string;
  readonly externalChainName: string;
  readonly firewallChainName: string;
}

/** `BaseEndpointInfo` plus the iptables chain name. */
export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** `IP:port` / `[IP]:port` (net.JoinHostPort). */
  readonly endpoint: string;
  readonly isLocal: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly zoneHints: ReadonlySet<string>;
  readonly chainName: string;
}

/** `ExternallyAccessible`: nodePort, LB VIPs or external IPs (family-filtered). */
export function externallyAccessible(svc: ServicePortInfo): boolean {
  return svc.nodePort !== 0 || svc.loadBalancerVIPs.length > 0 || svc.externalIPs.length > 0;
}

/** `UsesClusterEndpoints`: ITP Cluster, or any external access (short-circuiting). */
export function usesClusterEndpoints(svc: ServicePortInfo): boolean {
  return !svc.internalPolicyLocal || externallyAccessible(svc);
}

/** `UsesLocalEndpoints`. */
export function usesLocalEndpoints(svc: ServicePortInfo): boolean {
  return svc.internalPolicyLocal || (svc.externalPolicyLocal && externallyAccessible(svc));
}

export interface BuildOptions {
  readonly family: IpFamily;
  readonly nodeName: string;
  /** LoadBalancerIPMode (1.29+; on by default from 1.30): skip ingress with ipMode Proxy. */
  readonly honourIpMode: boolean;
}

export interface ServicePortMap {
  /** Keyed by `ns/name:port/PROTOCOL` (ServicePortName incl. protocol). */
  readonly ports: Map<string, ServicePortInfo>;
  /** Same keys; each list sorted by `IP:port` string (`byEndpoint`). */
  readonly endpoints: Map<string, EndpointInfo[]>;
}

function portKey(ns: string, name: string, portName: string, protocol: string): string {
  return `${ns}/${name}:${portName}/${protocol}`;
}

const PROTOS: Record<Protocol, 'tcp' | 'udp' | 'sctp'> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/**
 * Build the service port map and endpoints map. Objects are expected to be
 * defaulted by the API server already; what is missing is diagnosed and the
 * object (or port) skipped, never guessed.
 */
export function buildServicePortMap(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  opts: BuildOptions,
  diagnostics: Diagnostic[],
): ServicePortMap {
  const ports = new Map<string, ServicePortInfo>();
  for (const svc of services) {
    for (const info of serviceToServicePorts(svc, opts, diagnostics)) {
      ports.set(portKey(info.namespace, info.name, info.portName, info.protocol), info);
    }
  }
  const endpoints = buildEndpointsMap(slices, ports, opts, diagnostics);
  return { ports, endpoints };
}

function diag(
  diagnostics: Diagnostic[],
  severity: Diagnostic['severity'],
  code: string,
  message: string,
  object: string,
  field?: string,
): void {
  diagnostics.push({ code, severity, message, object, ...(field !== undefined ? { field } : {}) });
}

/** `serviceToServiceMap` + `newBaseServiceInfo` + iptables `newServiceInfo`. */
function serviceToServicePorts(
  svc: Service,
  opts: BuildOptions,
  diagnostics: Diagnostic[],
): ServicePortInfo[] {
  const ref = objectRef(svc);
  const ns = svc.metadata.namespace;
  if (ns === undefined || ns === '') {
    diag(
      diagnostics,
      'error',
      'proxy.service.namespace',
      'Service has no metadata.namespace',
      ref,
      'metadata.namespace',
    );
    return [];
  }
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  // ShouldSkipService: ExternalName and headless services are not proxied.
  if (type === 'ExternalName') return [];
  if (spec.clusterIP === 'None') return [];
  if (spec.clusterIP === undefined || spec.clusterIP === '') {
    diag(
      diagnostics,
      'error',
      'proxy.service.clusterIP',
      'Service has no spec.clusterIP; kube-proxy only sees Services after the API server allocated one',
      ref,
      'spec.clusterIP',
    );
    return [];
  }
  // GetClusterIPByFamily: clusterIPs (dual-stack) first, then clusterIP.
  const candidates =
    spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP];
  let clusterIP: string | undefined;
  for (const c of candidates) {
    const fam = familyOfIp(c);
    if (fam === undefined) {
      diag(
        diagnostics,
        'error',
        'proxy.service.clusterIP',
        `invalid cluster IP "${c}"`,
        ref,
        'spec.clusterIP',
      );
      return [];
    }
    if (fam === opts.family) {
      clusterIP = canonicalIp(c);
      break;
    }
  }
  if (clusterIP === undefined) return []; // not this proxier's family
  const addresses = serviceExternalAddresses(svc, ref, opts, diagnostics);
  const policy = serviceTrafficPolicy(svc, ref, diagnostics);
  return servicePorts(svc, ref, ns, clusterIP, addresses, policy, diagnostics);
}

/** The external addresses of one family: external IPs, load balancer VIPs, source ranges. */
function serviceExternalAddresses(
  svc: Service,
  ref: string,
  opts: BuildOptions,
  diagnostics: Diagnostic[],
): Pick<ServicePortInfo, 'externalIPs' | 'loadBalancerVIPs' | 'loadBalancerSourceRanges'> {
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  const externalIPs: string[] = [];
  (spec.externalIPs ?? []).forEach((ip, i) => {
    const fam = familyOfIp(ip.trim());
    if (fam === undefined) {
      diag(
        diagnostics,
        'warning',
        'proxy.service.externalIP',
        `ignoring invalid external IP "${ip}"`,
        ref,
        `spec.externalIPs[${i}]`,
      );
    } else if (fam === opts.family) externalIPs.push(canonicalIp(ip.trim()));
  });

  const loadBalancerVIPs: string[] = [];
  if (type === 'LoadBalancer') {
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    ingress.forEach((ing, i) => {
      if (ing.ip === undefined || ing.ip === '') {
        // Hostname-only ingress (e.g. AWS ELB): kube-proxy has no IP to capture.
        diag(
          diagnostics,
          'info',
          'proxy.service.loadBalancerHostname',
          'load balancer ingress without an ip is not proxied by kube-proxy',
          ref,
          `status.loadBalancer.ingress[${i}]`,
        );
        return;
      }
      if (opts.honourIpMode && ing.ipMode === 'Proxy') return; // IsVIPMode
      const fam = familyOfIp(ing.ip);
      if (fam === undefined) {
        diag(
          diagnostics,
          'warning',
          'proxy.service.loadBalancerIP',
          `ignoring invalid load balancer IP "${ing.ip}"`,
          ref,
          `status.loadBalancer.ingress[${i}].ip`,
        );
      } else if (fam === opts.family) loadBalancerVIPs.push(canonicalIp(ing.ip));
    });
    if (ingress.length === 0) {
      diag(
        diagnostics,
        'info',
        'proxy.service.noLoadBalancerStatus',
        'Service of type LoadBalancer has no status.loadBalancer.ingress; kube-proxy writes no load balancer IP rules until something fills it',
        ref,
        'status.loadBalancer.ingress',
      );
    }
  }

  const loadBalancerSourceRanges: string[] = [];
  (spec.loadBalancerSourceRanges ?? []).forEach((r, i) => {
    const cidr = parseCidrAny(r.trim());
    if (cidr === undefined) {
      diag(
        diagnostics,
        'warning',
        'proxy.service.sourceRange',
        `ignoring invalid loadBalancerSourceRange "${r}"`,
        ref,
        `spec.loadBalancerSourceRanges[${i}]`,
      );
    } else if (cidr.family === opts.family) loadBalancerSourceRanges.push(cidr.text);
  });
  return { externalIPs, loadBalancerVIPs, loadBalancerSourceRanges };
}

type ServicePolicy = Pick<
  ServicePortInfo,
  | 'healthCheckNodePort'
  | 'sessionAffinityClientIP'
  | 'stickyMaxAgeSeconds'
  | 'internalPolicyLocal'
  | 'externalPolicyLocal'
  | 'hintsAnnotation'
>;

/** Traffic policies, health check node port, session affinity and topology hints. */
function serviceTrafficPolicy(svc: Service, ref: string, diagnostics: Diagnostic[]): ServicePolicy {
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  const externallyAccessibleSvc =
    type === 'LoadBalancer' ||
    type === 'NodePort' ||
    (type === 'ClusterIP' && (spec.externalIPs ?? []).length > 0);
  const externalPolicyLocal = externallyAccessibleSvc && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const needsHealthCheck = type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
  let healthCheckNodePort = 0;
  if (needsHealthCheck) {
    healthCheckNodePort = spec.healthCheckNodePort ?? 0;
    if (healthCheckNodePort === 0) {
      diag(
        diagnostics,
        'warning',
        'proxy.service.healthCheckNodePort',
        'LoadBalancer Service with externalTrafficPolicy Local has no spec.healthCheckNodePort (the API server allocates one)',
        ref,
        'spec.healthCheckNodePort',
      );
    }
  }
  const sessionAffinityClientIP = spec.sessionAffinity === 'ClientIP';
  let stickyMaxAgeSeconds = 0;
  if (sessionAffinityClientIP) {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (t === undefined) {
      diag(
        diagnostics,
        'warning',
        'proxy.service.sessionAffinityTimeout',
        'sessionAffinity ClientIP without sessionAffinityConfig.clientIP.timeoutSeconds; using the API default 10800',
        ref,
        'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      );
    }
    stickyMaxAgeSeconds = t ?? 10800;
  }
  const annotations = svc.metadata.annotations ?? {};
  const hintsAnnotation =
    annotations['service.kubernetes.io/topology-mode'] ??
    annotations['service.kubernetes.io/topology-aware-hints'] ??
    '';
  return {
    healthCheckNodePort,
    sessionAffinityClientIP,
    stickyMaxAgeSeconds,
    internalPolicyLocal,
    externalPolicyLocal,
    hintsAnnotation,
  };
}

/** One ServicePortInfo per valid port of the Service. */
function servicePorts(
  svc: Service,
  ref: string,
  ns: string,
  clusterIP: string,
  addresses: Pick<ServicePortInfo, 'externalIPs' | 'loadBalancerVIPs' | 'loadBalancerSourceRanges'>,
  shared: ServicePolicy,
  diagnostics: Diagnostic[],
): ServicePortInfo[] {
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  const out: ServicePortInfo[] = [];
  (spec.ports ?? []).forEach((p, i) => {
    const protocol: Protocol = p.protocol ?? 'TCP';
    const proto = PROTOS[protocol];
    if (proto === undefined) {
      diag(
        diagnostics,
        'error',
        'proxy.service.protocol',
        `unknown protocol "${String(p.protocol)}"`,
        ref,
        `spec.ports[${i}].protocol`,
      );
      return;
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      diag(
        diagnostics,
        'error',
        'proxy.service.port',
        `invalid port ${String(p.port)}`,
        ref,
        `spec.ports[${i}].port`,
      );
      return;
    }
    const nodePort = p.nodePort ?? 0;
    if (type === 'NodePort' && nodePort === 0) {
      diag(
        diagnostics,
        'warning',
        'proxy.service.nodePort',
        'NodePort Service port has no nodePort (the API server allocates one); no NodePort rules are written for it',
        ref,
        `spec.ports[${i}].nodePort`,
      );
    }
    const portName = p.name ?? '';
    const nameString = servicePortNameString(ns, svc.metadata.name, portName);
    const hash = portProtoHash(nameString, proto);
    out.push({
      namespace: ns,
      name: svc.metadata.name,
      portName,
      nameString,
      protocol,
      proto,
      clusterIP,
      port: p.port,
      nodePort,
      externalIPs: addresses.externalIPs,
      loadBalancerVIPs: addresses.loadBalancerVIPs,
      loadBalancerSourceRanges: addresses.loadBalancerSourceRanges,
      healthCheckNodePort: shared.healthCheckNodePort,
      sessionAffinityClientIP: shared.sessionAffinityClientIP,
      stickyMaxAgeSeconds: shared.stickyMaxAgeSeconds,
      internalPolicyLocal: shared.internalPolicyLocal,
      externalPolicyLocal: shared.externalPolicyLocal,
      hintsAnnotation: shared.hintsAnnotation,
      // servicePortChainName & co.: one portProtoHash, four prefixes.
      clusterPolicyChainName: `KUBE-SVC-${hash}`,
      localPolicyChainName: `KUBE-SVL-${hash}`,
      externalChainName: `KUBE-EXT-${hash}`,
      firewallChainName: `KUBE-FW-${hash}`,
    });
  });
  return out;
}

/** `EndpointSliceCache.endpointInfoByServicePort` + `addEndpoints`, merged over slices. */
function buildEndpointsMap(
  slices: readonly EndpointSlice[],
  ports: ReadonlyMap<string, ServicePortInfo>,
  opts: BuildOptions,
  diagnostics: Diagnostic[],
): Map<string, EndpointInfo[]> {
  const sets = new Map<string, Map<string, EndpointInfo>>();
  const proxiedServices = new Set([...ports.values()].map((p) => `${p.namespace}/${p.name}`));
  // Slices are merged in name order so the outcome does not depend on input order.
  const ordered = [...slices].sort((a, b) => cmpStr(a.metadata.name, b.metadata.name));
  for (const slice of ordered) {
    const ref = objectRef(slice);
    const ns = slice.metadata.namespace;
    const svcName = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (svcName === undefined || svcName === '') {
      diag(
        diagnostics,
        'warning',
        'proxy.endpointslice.serviceName',
        'EndpointSlice has no kubernetes.io/service-name label; kube-proxy ignores it',
        ref,
        'metadata.labels',
      );
      continue;
    }
    if (ns === undefined || ns === '') {
      diag(
        diagnostics,
        'error',
        'proxy.endpointslice.namespace',
        'EndpointSlice has no metadata.namespace',
        ref,
        'metadata.namespace',
      );
      continue;
    }
    // Only slices of this proxier's family (FQDN slices are never proxied).
    if (slice.addressType !== opts.family) continue;
    (slice.ports ?? []).forEach((p, pi) => {
      if (p.port === undefined || p.port === 0) {
        diag(
          diagnostics,
          'warning',
          'proxy.endpointslice.port',
          'ignoring endpoint port without a port number',
          ref,
          `ports[${pi}].port`,
        );
        return;
      }
      const protocol = p.protocol ?? 'TCP';
      const key = portKey(ns, svcName, p.name ?? '', protocol);
      const svc = ports.get(key);
      if (!svc && proxiedServices.has(`${ns}/${svcName}`)) {
        // kube-proxy keeps such endpoints but no service port ever uses them.
        diag(
          diagnostics,
          'info',
          'proxy.endpointslice.unmatchedPort',
          `endpoint port "${p.name ?? ''}"/${protocol} matches no port of Service ${ns}/${svcName}; kube-proxy never uses these endpoints`,
          ref,
          `ports[${pi}]`,
        );
      }
      let set = sets.get(key);
      if (!set) {
        set = new Map();
        sets.set(key, set);
      }
      const nameString = servicePortNameString(ns, svcName, p.name ?? '');
      slice.endpoints.forEach((ep, ei) => {
        const addr = ep.addresses[0];
        if (addr === undefined) {
          diag(
            diagnostics,
            'warning',
            'proxy.endpointslice.address',
            'ignoring endpoint without addresses',
            ref,
            `endpoints[${ei}].addresses`,
          );
          return;
        }
        // A plain dotted quad is its own canonical form (no bytes to make and print).
        const plain = plainIpv4(addr);
        const bytes = plain ? undefined : parseIpBytes(addr);
        const fam = plain
          ? 'IPv4'
          : bytes === undefined
            ? undefined
            : bytes.length === 4
              ? 'IPv4'
              : 'IPv6';
        if (fam !== opts.family) {
          diag(
            diagnostics,
            'warning',
            'proxy.endpointslice.address',
            `ignoring endpoint address "${addr}" of the wrong IP family`,
            ref,
            `endpoints[${ei}].addresses[0]`,
          );
          return;
        }
        const ip = plain ? addr : formatIpBytes(bytes!);
        const isLocal = ep.nodeName !== undefined && ep.nodeName === opts.nodeName;
        const c = ep.conditions ?? {};
        const endpoint = joinHostPort(ip, p.port!);
        const info: EndpointInfo = {
          ip,
          port: p.port!,
          endpoint,
          isLocal,
          ready: c.ready === undefined || c.ready,
          serving: c.serving === undefined || c.serving,
          terminating: c.terminating === true,
          zoneHints: ep.hints?.forZones?.length
            ? new Set(ep.hints.forZones.map((z) => z.name))
            : NO_HINTS,
          chainName: endpointChainName(
            svc?.nameString ?? nameString,
            PROTOS[protocol] ?? 'tcp',
            endpoint,
          ),
        };
        // Deduplicate by IP:port; a local copy wins.
        if (!set!.has(endpoint) || isLocal) set!.set(endpoint, info);
      });
    });
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, set] of sets) {
    out.set(
      key,
      [...set.values()].sort((a, b) => cmpStr(a.endpoint, b.endpoint)),
    );
  }
  return out;
}

const NO_HINTS: ReadonlySet<string> = new Set();

/** Go string comparison: byte-wise (UTF-16 order equals it for ASCII). */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface CategorizedEndpoints {
  readonly clusterEndpoints: readonly EndpointInfo[];
  readonly localEndpoints: readonly EndpointInfo[];
  readonly allReachableEndpoints: readonly EndpointInfo[];
  readonly hasAnyEndpoints: boolean;
}

/**
 * `CategorizeEndpoints` (`pkg/proxy/topology.go`): which endpoints Cluster and
 * Local traffic policy use, with the serving+terminating fallback (KEP-1669)
 * and topology-aware hints (KEP-2433).
 */
export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  svc: ServicePortInfo,
  nodeLabels: Readonly<Record<string, string>>,
): CategorizedEndpoints {
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  let useTopology = false;
  let useServingTerminatingEndpoints = false;

  if (usesClusterEndpoints(svc)) {
    useTopology = canUseTopology(endpoints, svc, nodeLabels);
    const zone = nodeLabels['topology.kubernetes.io/zone'] ?? '';
    clusterEndpoints = endpoints.filter(
      (ep) => ep.ready && (!useTopology || ep.zoneHints.has(zone)),
    );
    // No ready endpoint anywhere: fall back to serving+terminating ones, ignoring topology.
    if (clusterEndpoints.length === 0) {
      clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    }
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }

  if (!usesLocalEndpoints(svc)) {
    return {
      clusterEndpoints,
      localEndpoints,
      allReachableEndpoints: clusterEndpoints,
      hasAnyEndpoints,
    };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) {
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  } else if (hasLocalServingTerminating) {
    useServingTerminatingEndpoints = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }

  if (!usesClusterEndpoints(svc)) {
    return {
      clusterEndpoints,
      localEndpoints,
      allReachableEndpoints: localEndpoints,
      hasAnyEndpoints,
    };
  }
  if (!useTopology && !useServingTerminatingEndpoints) {
    // clusterEndpoints holds every ready endpoint, a superset of localEndpoints.
    return {
      clusterEndpoints,
      localEndpoints,
      allReachableEndpoints: clusterEndpoints,
      hasAnyEndpoints,
    };
  }
  // Merge (upstream iterates a map here; we sort for determinism — only the
  // order in which KUBE-SEP chains are written depends on it).
  const merged = new Map<string, EndpointInfo>();
  for (const ep of clusterEndpoints) merged.set(ep.endpoint, ep);
  for (const ep of localEndpoints) merged.set(ep.endpoint, ep);
  const allReachableEndpoints = [...merged.values()].sort((a, b) => cmpStr(a.endpoint, b.endpoint));
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}

/** `canUseTopology`: annotation Auto, node zone known, every ready endpoint hinted, one for this zone. */
function canUseTopology(
  endpoints: readonly EndpointInfo[],
  svc: ServicePortInfo,
  nodeLabels: Readonly<Record<string, string>>,
): boolean {
  if (svc.hintsAnnotation !== 'Auto' && svc.hintsAnnotation !== 'auto') return false;
  const zone = nodeLabels['topology.kubernetes.io/zone'];
  if (zone === undefined || zone === '') return false;
  let hasEndpointForZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.zoneHints.size === 0) return false;
    if (ep.zoneHints.has(zone)) hasEndpointForZone = true;
  }
  return hasEndpointForZone;
}
