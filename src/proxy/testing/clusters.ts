/** Small clusters for the kube-proxy tests: a Service, its EndpointSlice, and one of every kind of port. */
import type { EndpointSlice, Service } from '../../k8s/types.js';
import type { ProxyInput } from '../proxier.js';

/** Service `ns/svc-i`: cluster IP 172.30.0.(i+1), port `p` 80 → 8080, node port 30000 + i. */
export function svc(
  i: number,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'ns', ...(annotations ? { annotations } : {}) },
    spec: {
      clusterIP: `172.30.0.${i + 1}`,
      ports: [{ name: 'p', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30000 + i }],
      ...spec,
    },
  } as unknown as Service;
}

/** Service i's EndpointSlice: one endpoint per [address, node, zone hint, ready]. */
export function slice(i: number, eps: [string, string, string?, boolean?][]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `svc-${i}-${eps.length}`,
      namespace: 'ns',
      labels: { 'kubernetes.io/service-name': `svc-${i}` },
    },
    addressType: 'IPv4',
    ports: [{ name: 'p', port: 8080, protocol: 'TCP' }],
    endpoints: eps.map(([address, nodeName, zone, ready]) => ({
      addresses: [address],
      conditions: { ready: ready ?? true },
      nodeName,
      ...(zone ? { zone, hints: { forZones: [{ name: zone }] } } : {}),
    })),
  } as unknown as EndpointSlice;
}

/** Three nodes a, b, c; Services of every kind whose rules may read the node, and plain ones. */
export function mixed(): ProxyInput {
  const eps = (i: number): [string, string, string][] =>
    ['a', 'b', 'c'].map((n, k) => [`10.${k}.0.${i + 2}`, n, `zone-${n}`]);
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const add = (spec: Record<string, unknown>, annotations?: Record<string, string>) => {
    const i = services.length;
    services.push(svc(i, spec, annotations));
    endpointSlices.push(slice(i, eps(i)));
  };
  add({});
  add({ type: 'NodePort' });
  add({ type: 'NodePort', externalTrafficPolicy: 'Local' });
  add({ internalTrafficPolicy: 'Local' });
  add({}, { 'service.kubernetes.io/topology-mode': 'Auto' });
  add({
    type: 'LoadBalancer',
    loadBalancerSourceRanges: ['192.168.1.0/24'],
  });
  add({ sessionAffinity: 'ClientIP' });
  // A Service whose address is listed in two slices, on two nodes, ready on one only:
  // the node's own copy wins.
  const i = services.length;
  services.push(svc(i, {}));
  endpointSlices.push(
    slice(i, [['10.9.0.1', 'a', undefined, false]]),
    slice(i, [['10.9.0.1', 'b']]),
  );
  const lb = services[5]!;
  (lb as unknown as { status: unknown }).status = {
    loadBalancer: { ingress: [{ ip: '203.0.113.5' }] },
  };
  return {
    nodeName: 'a',
    nodeIPs: ['192.168.1.10'],
    clusterCIDR: '10.0.0.0/8',
    services,
    endpointSlices,
    nfacct: false,
  };
}
