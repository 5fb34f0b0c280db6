/**
 * Services as the API server stores them: `default/kubernetes` created when
 * the input has none, the defaults `SetDefaults_Service` fills in
 * (`pkg/apis/core/v1/defaults.go`), then the addresses and ports users asked
 * for checked and the missing ones allocated: ClusterIPs in `cluster-ip.ts`,
 * node ports in `node-ports.ts`.
 */

import { objectRef, type Service, type ServiceType } from '../types.js';
import { cmpNsName, nsName } from './accessors.js';
import type { Builder, Entry } from './builder.js';
import { allocateClusterIPs, checkRequestedClusterIP, serviceRange } from './cluster-ip.js';
import { allocateNodePorts, checkRequestedNodePorts } from './node-ports.js';
import {
  DEFAULT_CLIENT_IP_TIMEOUT,
  type ClusterConfig,
  type ModelPod,
  type ModelService,
  type ModelServicePort,
  type Namespaced,
} from './types.js';

export function buildServices(
  b: Builder,
  cluster: ClusterConfig,
  raw: Entry<Service>[],
  podsByIP: ReadonlyMap<string, ModelPod>,
): { services: Map<string, ModelService>; entryOf: ReadonlyMap<string, Entry<Service>> } {
  const byKey = (x: Entry<Service>, y: Entry<Service>) => cmpNsName(x.object, y.object);
  const sorted = [...raw].sort(byKey);
  // The API server creates default/kubernetes itself.
  const invented = !sorted.some(
    (e) => e.object.metadata.name === 'kubernetes' && nsName(e.object) === 'default/kubernetes',
  );
  if (invented) {
    sorted.unshift({ loaded: undefined, object: kubernetesService(b) });
    sorted.sort(byKey);
  }

  const services = new Map<string, ModelService>();
  const entryOf = new Map<string, Entry<Service>>();
  const ipOwner = new Map<string, string>();
  const nodePortOwner = new Map<number, string>();
  const range = serviceRange(cluster);
  // Pass 1: API defaults and the addresses and ports users asked for.
  for (const e of sorted) {
    const key = nsName(e.object);
    const out = defaultService(b, e);
    checkRequestedClusterIP(b, cluster, e, out, { ipOwner, invented, podsByIP, range });
    checkRequestedNodePorts(b, cluster, e, out, nodePortOwner);
    services.set(key, out);
    entryOf.set(key, e);
  }
  // Pass 2: ClusterIPs; pass 3: node ports and health-check node ports.
  allocateClusterIPs(b, cluster, services, entryOf, ipOwner);
  allocateNodePorts(b, cluster, services, entryOf, nodePortOwner);
  return { services, entryOf };
}

/** `default/kubernetes`, as the API server's kubernetes service controller creates it. */
function kubernetesService(b: Builder): Service {
  b.note(
    'Service default/kubernetes',
    'metadata.name',
    'kubernetes',
    "every cluster has the API server's Service: 443/TCP to the control plane's 6443",
  );
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    },
  };
}

/** SetDefaults_Service: type, protocols, targetPorts, affinity, traffic policies, families. */
function defaultService(b: Builder, e: Entry<Service>): ModelService {
  const s = e.object;
  const ref = objectRef(s);
  const spec = s.spec;
  const type: ServiceType = spec.type ?? 'ClusterIP';
  if (spec.type === undefined)
    b.note(ref, 'spec.type', 'ClusterIP', 'the API server defaults type to ClusterIP');
  const ports: ModelServicePort[] = (spec.ports ?? []).map((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    if (p.protocol === undefined)
      b.note(
        ref,
        `spec.ports[${i}].protocol`,
        'TCP',
        "the API server defaults a port's protocol to TCP",
      );
    let targetPort = p.targetPort;
    if (targetPort === undefined && type !== 'ExternalName') {
      targetPort = p.port;
      b.note(
        ref,
        `spec.ports[${i}].targetPort`,
        p.port,
        'the API server defaults targetPort to port',
      );
    }
    // Copied onto a new object (a spread copy is slow to add fields to: `builder.ts` copyPod).
    const out = Object.assign({}, p) as ModelServicePort;
    out.protocol = protocol;
    out.targetPort = targetPort ?? p.port;
    return out;
  });
  const sessionAffinity = spec.sessionAffinity ?? 'None';
  if (spec.sessionAffinity === undefined && type !== 'ExternalName')
    b.note(ref, 'spec.sessionAffinity', 'None', 'the API server defaults sessionAffinity to None');
  // The spec the model writes, of its own; below it only the ports are (the loaded Service's are shared).
  const o = Object.assign({}, spec) as ModelService['spec'];
  o.type = type;
  o.ports = ports;
  o.sessionAffinity = sessionAffinity;
  const out: ModelService = { ...s, metadata: s.metadata as Namespaced, spec: o };
  if (sessionAffinity === 'ClientIP') {
    if (o.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
      o.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT } };
      b.note(
        ref,
        'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
        DEFAULT_CLIENT_IP_TIMEOUT,
        'the API server defaults the ClientIP affinity timeout to 3 hours',
      );
    }
  } else {
    delete o.sessionAffinityConfig;
  }
  if (type !== 'ExternalName' && o.internalTrafficPolicy === undefined) {
    o.internalTrafficPolicy = 'Cluster';
    b.note(
      ref,
      'spec.internalTrafficPolicy',
      'Cluster',
      'the API server defaults internalTrafficPolicy to Cluster',
    );
  }
  if ((type === 'NodePort' || type === 'LoadBalancer') && o.externalTrafficPolicy === undefined) {
    o.externalTrafficPolicy = 'Cluster';
    b.note(
      ref,
      'spec.externalTrafficPolicy',
      'Cluster',
      'the API server defaults externalTrafficPolicy to Cluster for NodePort and LoadBalancer',
    );
  }
  if (type === 'LoadBalancer' && o.allocateLoadBalancerNodePorts === undefined) {
    o.allocateLoadBalancerNodePorts = true;
  }
  defaultIPFamilies(b, e, o);
  return out;
}

function defaultIPFamilies(b: Builder, e: Entry<Service>, o: ModelService['spec']): void {
  if (o.type === 'ExternalName') {
    delete o.clusterIP;
    delete o.clusterIPs;
    return;
  }
  if (o.ipFamilies === undefined) o.ipFamilies = ['IPv4'];
  if (o.ipFamilyPolicy === undefined) o.ipFamilyPolicy = 'SingleStack';
  if (!o.ipFamilies.includes('IPv4')) {
    b.warn(
      e,
      'spec.ipFamilies',
      'k8s-ipv6-ignored',
      'an IPv6-only Service is not modelled; packeteye gives it an IPv4 clusterIP',
      'packeteye models IPv4; use ipFamilies: [IPv4]',
    );
  }
  // Dual-stack: the IPv4 family is the one modelled.
  if (o.ipFamilies.length !== 1 || o.ipFamilies[0] !== 'IPv4') o.ipFamilies = ['IPv4'];
}
