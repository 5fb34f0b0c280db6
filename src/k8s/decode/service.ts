/**
 * Service (v1): type, selector, clusterIP(s), ports (with the API server's
 * naming and uniqueness rules), external addresses, traffic policies,
 * session affinity, IP families, and `status.loadBalancer`. Defaults and
 * allocation (ClusterIP, NodePort) are the model's: `model/services.ts`,
 * `model/cluster-ip.ts`, `model/node-ports.ts`.
 */

import type { Service, ServicePort } from '../types.js';
import { DNS1123_LABEL, each, type Decoder, step, type FieldPath, type Rec } from './decoder.js';

type ServiceSpec = Service['spec'];

export function decodeService(d: Decoder, raw: Rec): Service | undefined {
  const metadata = d.meta(raw, 'Service', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']) ?? {};
  const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata, spec: {} };
  const s = svc.spec;
  const type = d.oneOf(spec.type, ['spec', 'type'], [
    'ClusterIP',
    'NodePort',
    'LoadBalancer',
    'ExternalName',
  ] as const);
  if (type) s.type = type;
  if (spec.selector !== undefined && spec.selector !== null) {
    const sel = d.labels(spec.selector, ['spec', 'selector']);
    if (sel) s.selector = sel;
  }
  decodeClusterIPs(d, spec, s);
  const ports = each(d, spec.ports, ['spec', 'ports'], (v, p) => decodeServicePort(d, v, p));
  if (ports) {
    s.ports = ports;
    checkServicePorts(d, ports);
  }
  decodeExternalAddresses(d, spec, s);
  decodeTrafficPolicies(d, spec, s);
  checkServiceSpec(d, s);
  const status = decodeServiceStatus(d, raw);
  if (status) svc.status = status;
  return svc;
}

/** `spec.clusterIP` and `spec.clusterIPs` (the IPv6 family of a dual-stack list skipped). */
function decodeClusterIPs(d: Decoder, spec: Rec, s: ServiceSpec): void {
  if (spec.clusterIP !== undefined && spec.clusterIP !== null && spec.clusterIP !== '') {
    if (spec.clusterIP === 'None') s.clusterIP = 'None';
    else {
      const ip = d.ip(spec.clusterIP, ['spec', 'clusterIP']);
      if (ip) s.clusterIP = ip;
    }
  }
  const clusterIPs = each(d, spec.clusterIPs, ['spec', 'clusterIPs'], (v, p) =>
    v === 'None' ? 'None' : d.isV6(v) ? undefined : d.ip(v, p),
  );
  if (clusterIPs && clusterIPs.length > 0) {
    s.clusterIPs = clusterIPs;
    if (s.clusterIP === undefined) s.clusterIP = clusterIPs[0];
    else if (clusterIPs[0] !== s.clusterIP) {
      d.error(
        ['spec', 'clusterIPs', 0],
        'k8s-invalid-ip',
        `clusterIPs[0] (${clusterIPs[0]}) differs from clusterIP (${s.clusterIP})`,
        'the first of clusterIPs must equal clusterIP',
      );
    }
  }
}

function decodeServicePort(d: Decoder, v: unknown, p: FieldPath): ServicePort | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const port = d.port(m.port, step(p, 'port'));
  if (!d.required(m.port ?? undefined, step(p, 'port'), 'port') || port === undefined)
    return undefined;
  const sp: ServicePort = { port };
  const name = d.str(m.name, step(p, 'name'));
  if (name !== undefined && name !== '') {
    if (!DNS1123_LABEL.test(name) || name.length > 63) {
      d.error(
        step(p, 'name'),
        'k8s-invalid-name',
        `port name ${JSON.stringify(name)} is not a DNS-1123 label`,
        'use lower-case letters, digits and "-"',
      );
    } else sp.name = name;
  }
  const protocol = d.protocol(m.protocol, step(p, 'protocol'));
  if (protocol) sp.protocol = protocol;
  if (
    m.targetPort !== undefined &&
    m.targetPort !== null &&
    m.targetPort !== 0 &&
    m.targetPort !== ''
  ) {
    const tp = d.portOrName(m.targetPort, step(p, 'targetPort'));
    if (tp !== undefined) sp.targetPort = tp;
  }
  if (m.nodePort !== undefined && m.nodePort !== null && m.nodePort !== 0) {
    const np = d.port(m.nodePort, step(p, 'nodePort'));
    if (np !== undefined) sp.nodePort = np;
  }
  const appProtocol = d.str(m.appProtocol, step(p, 'appProtocol'));
  if (appProtocol) sp.appProtocol = appProtocol;
  return sp;
}

/** ValidateService: names required and unique with more than one port; (port, protocol) unique. */
function checkServicePorts(d: Decoder, ports: readonly ServicePort[]): void {
  const names = new Map<string, number>();
  const seen = new Map<string, number>();
  ports.forEach((p, i) => {
    if (ports.length > 1 && p.name === undefined) {
      d.error(
        ['spec', 'ports', i, 'name'],
        'k8s-required',
        'a Service with more than one port must name every port',
        'add a name such as "http"',
      );
    }
    if (p.name !== undefined) {
      const prev = names.get(p.name);
      if (prev !== undefined)
        d.error(
          ['spec', 'ports', i, 'name'],
          'k8s-duplicate',
          `port name ${JSON.stringify(p.name)} is also used by spec.ports[${prev}]`,
          'give each port a unique name',
        );
      else names.set(p.name, i);
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    const prevP = seen.get(key);
    if (prevP !== undefined)
      d.error(
        ['spec', 'ports', i, 'port'],
        'k8s-duplicate',
        `port ${key} is also declared by spec.ports[${prevP}]`,
        'remove one of them',
      );
    else seen.set(key, i);
  });
}

/** externalIPs, loadBalancerIP, loadBalancerSourceRanges, loadBalancerClass. */
function decodeExternalAddresses(d: Decoder, spec: Rec, s: ServiceSpec): void {
  const externalIPs = each(d, spec.externalIPs, ['spec', 'externalIPs'], (v, p) => d.ip(v, p));
  if (externalIPs && externalIPs.length > 0) s.externalIPs = externalIPs;
  if (
    spec.loadBalancerIP !== undefined &&
    spec.loadBalancerIP !== null &&
    spec.loadBalancerIP !== ''
  ) {
    const ip = d.ip(spec.loadBalancerIP, ['spec', 'loadBalancerIP']);
    if (ip) s.loadBalancerIP = ip;
  }
  const lbsr = each(
    d,
    spec.loadBalancerSourceRanges,
    ['spec', 'loadBalancerSourceRanges'],
    (v, p) => d.cidr(v, p, false),
  );
  if (lbsr && lbsr.length > 0) s.loadBalancerSourceRanges = lbsr;
  const lbc = d.str(spec.loadBalancerClass, ['spec', 'loadBalancerClass']);
  if (lbc) s.loadBalancerClass = lbc;
}

/** Traffic policies, health-check port, session affinity, externalName, IP families. */
function decodeTrafficPolicies(d: Decoder, spec: Rec, s: ServiceSpec): void {
  const etp = d.oneOf(spec.externalTrafficPolicy, ['spec', 'externalTrafficPolicy'], [
    'Cluster',
    'Local',
  ] as const);
  if (etp) s.externalTrafficPolicy = etp;
  const itp = d.oneOf(spec.internalTrafficPolicy, ['spec', 'internalTrafficPolicy'], [
    'Cluster',
    'Local',
  ] as const);
  if (itp) s.internalTrafficPolicy = itp;
  if (
    spec.healthCheckNodePort !== undefined &&
    spec.healthCheckNodePort !== null &&
    spec.healthCheckNodePort !== 0
  ) {
    const h = d.port(spec.healthCheckNodePort, ['spec', 'healthCheckNodePort']);
    if (h !== undefined) s.healthCheckNodePort = h;
  }
  decodeSessionAffinity(d, spec, s);
  const pnra = d.bool(spec.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']);
  if (pnra !== undefined) s.publishNotReadyAddresses = pnra;
  const en = d.str(spec.externalName, ['spec', 'externalName']);
  if (en) s.externalName = en;
  const fams = each(d, spec.ipFamilies, ['spec', 'ipFamilies'], (v, p) =>
    d.oneOf(v, p, ['IPv4', 'IPv6'] as const),
  );
  if (fams && fams.length > 0) s.ipFamilies = fams;
  const ifp = d.oneOf(spec.ipFamilyPolicy, ['spec', 'ipFamilyPolicy'], [
    'SingleStack',
    'PreferDualStack',
    'RequireDualStack',
  ] as const);
  if (ifp) s.ipFamilyPolicy = ifp;
  const alnp = d.bool(spec.allocateLoadBalancerNodePorts, [
    'spec',
    'allocateLoadBalancerNodePorts',
  ]);
  if (alnp !== undefined) s.allocateLoadBalancerNodePorts = alnp;
}

function decodeSessionAffinity(d: Decoder, spec: Rec, s: ServiceSpec): void {
  const sa = d.oneOf(spec.sessionAffinity, ['spec', 'sessionAffinity'], [
    'None',
    'ClientIP',
  ] as const);
  if (sa) s.sessionAffinity = sa;
  const sac = d.map(spec.sessionAffinityConfig, ['spec', 'sessionAffinityConfig']);
  if (sac) {
    const cip = d.map(sac.clientIP, ['spec', 'sessionAffinityConfig', 'clientIP']);
    if (cip) {
      const path = ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'];
      const t = d.int(cip.timeoutSeconds, path);
      if (t !== undefined && (t <= 0 || t > 86400)) {
        d.error(
          path,
          'k8s-invalid-value',
          `timeoutSeconds ${t} is outside 1–86400`,
          'use a value between 1 and 86400 (a day)',
        );
      }
      s.sessionAffinityConfig = {
        clientIP: t !== undefined && t > 0 && t <= 86400 ? { timeoutSeconds: t } : {},
      };
    }
  }
}

/** The API server's checks across the spec's fields. */
function checkServiceSpec(d: Decoder, s: ServiceSpec): void {
  if (s.type === 'ExternalName' && !s.externalName) {
    d.error(
      ['spec', 'externalName'],
      'k8s-required',
      'an ExternalName Service needs spec.externalName',
      'add spec.externalName: a DNS name such as db.example.com',
    );
  }
  if (s.type !== 'ExternalName' && (!s.ports || s.ports.length === 0) && s.clusterIP !== 'None') {
    d.error(
      ['spec', 'ports'],
      'k8s-required',
      'a Service needs at least one port (unless it is headless, clusterIP: None)',
      'add spec.ports with a port number',
    );
  }
  if (
    (s.type === undefined || s.type === 'ClusterIP') &&
    s.ports?.some((p) => p.nodePort !== undefined)
  ) {
    const i = s.ports.findIndex((p) => p.nodePort !== undefined);
    d.error(
      ['spec', 'ports', i, 'nodePort'],
      'k8s-invalid-value',
      'nodePort may only be set on NodePort and LoadBalancer Services',
      'remove nodePort or set spec.type: NodePort',
    );
  }
  if (s.clusterIP === 'None' && (s.type === 'NodePort' || s.type === 'LoadBalancer')) {
    d.error(
      ['spec', 'clusterIP'],
      'k8s-invalid-value',
      `a ${s.type} Service cannot be headless (clusterIP: None)`,
      'remove clusterIP: None or use type ClusterIP',
    );
  }
  if (s.externalTrafficPolicy !== undefined && s.type !== 'NodePort' && s.type !== 'LoadBalancer') {
    d.warn(
      ['spec', 'externalTrafficPolicy'],
      'k8s-invalid-value',
      'externalTrafficPolicy only applies to NodePort and LoadBalancer Services; ignored',
    );
    delete s.externalTrafficPolicy;
  }
}

function decodeServiceStatus(d: Decoder, raw: Rec): Service['status'] | undefined {
  const status = d.map(raw.status, ['status']);
  const lb = status ? d.map(status.loadBalancer, ['status', 'loadBalancer']) : undefined;
  if (!lb) return undefined;
  const ingress = each(d, lb.ingress, ['status', 'loadBalancer', 'ingress'], (v, p) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const e: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' } = {};
    if (m.ip !== undefined && m.ip !== null) {
      const ip = d.ip(m.ip, step(p, 'ip'));
      if (ip) e.ip = ip;
    }
    const hostname = d.str(m.hostname, step(p, 'hostname'));
    if (hostname) e.hostname = hostname;
    const ipMode = d.oneOf(m.ipMode, step(p, 'ipMode'), ['VIP', 'Proxy'] as const);
    if (ipMode) e.ipMode = ipMode;
    return e;
  });
  return ingress && ingress.length > 0 ? { loadBalancer: { ingress } } : undefined;
}
