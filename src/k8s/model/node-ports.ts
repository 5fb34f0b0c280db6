/**
 * NodePort and health-check node port allocation, as the API server's
 * portallocator does it (`pkg/registry/core/service/portallocator`): a
 * requested port must be inside the node port range and free (the same port
 * number over two protocols of one Service shares one node port); the
 * others get the lowest free port in namespace/name order (the real
 * allocator picks at random).
 */

import { objectRef, type Service, type ServicePort } from '../types.js';
import type { Builder, Entry } from './builder.js';
import type { ClusterConfig, ModelService } from './types.js';

/** The node ports a Service asks for (ports and healthCheckNodePort). */
export function checkRequestedNodePorts(
  b: Builder,
  cluster: ClusterConfig,
  e: Entry<Service>,
  svc: ModelService,
  owner: Map<number, string>,
): void {
  const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
  const o = svc.spec;
  const ports = o.ports;
  ports.forEach((p, i) => {
    if (p.nodePort === undefined) return;
    checkNodePort(
      b,
      cluster,
      e,
      `spec.ports[${i}].nodePort`,
      p.nodePort,
      key,
      owner,
      ports.slice(0, i),
    );
  });
  if (o.healthCheckNodePort === undefined) return;
  if (!(o.type === 'LoadBalancer' && o.externalTrafficPolicy === 'Local')) {
    // kube-proxy serves a health check only for externalTrafficPolicy Local; it ignores this one.
    b.warn(
      e,
      'spec.healthCheckNodePort',
      'k8s-invalid-value',
      'healthCheckNodePort is only for LoadBalancer Services with externalTrafficPolicy Local; ignored, as kube-proxy ignores it',
      'remove it',
    );
    delete o.healthCheckNodePort;
  } else
    checkNodePort(b, cluster, e, 'spec.healthCheckNodePort', o.healthCheckNodePort, key, owner, []);
}

function checkNodePort(
  b: Builder,
  cluster: ClusterConfig,
  e: Entry<Service> | undefined,
  field: string,
  port: number,
  key: string,
  owner: Map<number, string>,
  earlier: readonly ServicePort[],
): void {
  const range = cluster.serviceNodePortRange;
  if (port < range.base || port >= range.base + range.size) {
    // An API server run with another --service-node-port-range accepted it; kube-proxy serves it.
    b.warn(
      e,
      field,
      'k8s-node-port-range',
      `nodePort ${port} is outside the node port range ${formatRange(range)}; kept as given (the API server that accepted it ran with another --service-node-port-range)`,
      "set Cluster spec.serviceNodePortRange to the cluster's range",
    );
  }
  const prev = owner.get(port);
  if (prev !== undefined && !(prev === key && earlier.some((p) => p.nodePort === port))) {
    b.error(
      e,
      field,
      'k8s-duplicate-node-port',
      `nodePort ${port} is already used by Service ${prev}`,
      'pick another port or remove nodePort to have one allocated',
    );
    return;
  }
  owner.set(port, key);
}

function formatRange(r: { base: number; size: number }): string {
  return `${r.base}–${r.base + r.size - 1}`;
}

/** Node ports, then health-check node ports, lowest free from the range's base. */
export function allocateNodePorts(
  b: Builder,
  cluster: ClusterConfig,
  services: Map<string, ModelService>,
  entryOf: Map<string, Entry<Service>>,
  nodePortOwner: Map<number, string>,
): void {
  const range = cluster.serviceNodePortRange;
  let nextPort = range.base;
  const allocPort = (key: string, field: string): number | undefined => {
    const end = range.base + range.size;
    while (nextPort < end && nodePortOwner.has(nextPort)) nextPort++;
    if (nextPort >= end) {
      b.error(
        entryOf.get(key)!,
        field,
        'k8s-range-exhausted',
        `the node port range ${formatRange(range)} has no free port left`,
        'remove some NodePort Services',
      );
      return undefined;
    }
    nodePortOwner.set(nextPort, key);
    return nextPort++;
  };
  // forEach: a loop over the entries makes a pair and a result per Service until optimised.
  services.forEach((s, key) => {
    const t = s.spec.type;
    if (
      t !== 'NodePort' &&
      !(t === 'LoadBalancer' && s.spec.allocateLoadBalancerNodePorts !== false)
    )
      return;
    s.spec.ports.forEach((p, i) => {
      if (p.nodePort !== undefined) return;
      // The same port number over two protocols shares one node port (service REST initNodePorts).
      const twin = s.spec.ports
        .slice(0, i)
        .find((q) => q.port === p.port && q.nodePort !== undefined && q.protocol !== p.protocol);
      const np = twin?.nodePort ?? allocPort(key, `spec.ports[${i}].nodePort`);
      if (np === undefined) return;
      p.nodePort = np;
      b.note(
        objectRef(s),
        `spec.ports[${i}].nodePort`,
        np,
        `no nodePort; the API server picks a free port in ${formatRange(range)} at random, packeteye the lowest free one, in namespace/name order`,
      );
    });
  });
  services.forEach((s, key) => {
    if (
      s.spec.type !== 'LoadBalancer' ||
      s.spec.externalTrafficPolicy !== 'Local' ||
      s.spec.healthCheckNodePort !== undefined
    )
      return;
    const np = allocPort(key, 'spec.healthCheckNodePort');
    if (np === undefined) return;
    s.spec.healthCheckNodePort = np;
    b.note(
      objectRef(s),
      'spec.healthCheckNodePort',
      np,
      'LoadBalancer with externalTrafficPolicy Local: the API server allocates a health-check node port',
    );
  });
}
