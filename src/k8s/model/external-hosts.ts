/**
 * ExternalHosts (packeteye's own kind: a machine outside the cluster, on the
 * underlay or beyond it), checked against the cluster's ranges and the
 * nodes' and gateway's addresses.
 */

import { cidrContains, parseCidr } from '../../wire/addr.js';
import type { ExternalHost } from '../types.js';
import { cmp, type Builder, type Entry } from './builder.js';
import type { ClusterConfig, ModelNode } from './types.js';

export function buildExternalHosts(
  b: Builder,
  cluster: ClusterConfig,
  nodes: Map<string, ModelNode>,
  raw: Entry<ExternalHost>[],
): Map<string, ExternalHost> {
  const out = new Map<string, ExternalHost>();
  const byIP = new Map<string, string>();
  const nodeIPs = new Map<string, string>();
  for (const n of nodes.values()) {
    for (const a of n.status.addresses)
      if (a.type === 'InternalIP' || a.type === 'ExternalIP')
        nodeIPs.set(a.address, n.metadata.name);
  }
  for (const e of [...raw].sort((x, y) => cmp(x.object.metadata.name, y.object.metadata.name))) {
    const h = e.object;
    const ip = h.spec.address;
    for (const [what, c] of [
      ['clusterCIDR', cluster.clusterCIDR],
      ['serviceCIDR', cluster.serviceCIDR],
    ] as const) {
      if (cidrContains(parseCidr(c), ip)) {
        b.error(
          e,
          'spec.address',
          'k8s-cidr-overlap',
          `address ${ip} is inside the cluster's ${what} ${c}`,
          'an external host needs an address outside the pod and Service networks',
        );
      }
    }
    const node = nodeIPs.get(ip);
    if (node !== undefined)
      b.error(
        e,
        'spec.address',
        'k8s-duplicate-ip',
        `address ${ip} is Node ${node}'s`,
        'give the external host its own address',
      );
    if (ip === cluster.underlay.gateway)
      b.error(
        e,
        'spec.address',
        'k8s-duplicate-ip',
        `address ${ip} is the underlay gateway's`,
        'give the external host its own address',
      );
    const prev = byIP.get(ip);
    if (prev !== undefined)
      b.error(
        e,
        'spec.address',
        'k8s-duplicate-ip',
        `address ${ip} is also ExternalHost ${prev}'s`,
        'every host needs its own address',
      );
    else byIP.set(ip, h.metadata.name);
    out.set(h.metadata.name, h);
  }
  return out;
}
