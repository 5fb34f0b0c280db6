/**
 * Node podCIDRs, as kube-controller-manager's range allocator hands them out
 * (`pkg/controller/nodeipam/ipam/cidrset`): the given ones checked (inside
 * the clusterCIDR, clear of the Service and node networks, not shared), then
 * the first free subnet of the node mask size for each node without one, in
 * node-name order.
 */

import {
  cidrContains,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  intToIp,
  ipToInt,
  parseCidr,
  type Cidr,
} from '../../wire/addr.js';
import type { Node } from '../types.js';
import { cmp, type Builder, type Entry } from './builder.js';
import type { ClusterConfig } from './types.js';

/** A podCIDR a Node gives, as an address range. */
interface GivenPodCIDR {
  readonly cidr: Cidr;
  readonly node: string;
  readonly e: Entry<Node>;
  readonly field: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Checks the podCIDRs the nodes give and returns a range allocator for the
 * nodes without one: each call hands out the next free subnet, or undefined
 * when the clusterCIDR is full.
 */
export function podCIDRAllocator(
  b: Builder,
  cluster: ClusterConfig,
  sorted: readonly Entry<Node>[],
): () => string | undefined {
  const byStart = checkGivenPodCIDRs(b, cluster, sorted);
  const clusterNet = parseCidr(cluster.clusterCIDR);
  const serviceNet = parseCidr(cluster.serviceCIDR);
  // Subnets of clusterCIDR of the mask size, the Service range and the given
  // ones occupied.
  const mask = cluster.nodeCIDRMaskSize;
  const subnetCount = mask >= clusterNet.prefix ? 2 ** (mask - clusterNet.prefix) : 0;
  const base = ipToInt(clusterNet.network);
  const step = 2 ** (32 - mask);
  // Occupied ranges sorted by start; candidates are tried in increasing
  // order, so one cursor walks them.
  const taken = [
    ...byStart.map((g) => [g.start, g.end] as const),
    [ipToInt(serviceNet.network), ipToInt(serviceNet.network) + cidrSize(serviceNet) - 1] as const,
  ].sort((x, y) => x[0] - y[0]);
  let cursor = 0;
  const occupied = (i: number): boolean => {
    const start = base + i * step;
    const end = start + step - 1;
    while (cursor < taken.length && taken[cursor]![1] < start) cursor++;
    // Ranges before the cursor end below `start`; a later one may still start inside.
    for (let k = cursor; k < taken.length && taken[k]![0] <= end; k++)
      if (taken[k]![1] >= start) return true;
    return false;
  };
  let next = 0;
  return () => {
    while (next < subnetCount && occupied(next)) next++;
    if (next >= subnetCount) return undefined;
    return `${intToIp((base + next++ * step) >>> 0)}/${mask}`;
  };
}

/** podCIDRs given: inside the clusterCIDR, not shared; sorted by start address. */
function checkGivenPodCIDRs(
  b: Builder,
  cluster: ClusterConfig,
  sorted: readonly Entry<Node>[],
): GivenPodCIDR[] {
  const clusterNet = parseCidr(cluster.clusterCIDR);
  const serviceNet = parseCidr(cluster.serviceCIDR);
  const underlay = parseCidr(cluster.underlay.cidr);
  const podNodeAddressing = cluster.cni.plugin !== 'calico';
  const others = [
    ['serviceCIDR', serviceNet],
    ['underlay', underlay],
  ] as const;
  const given: GivenPodCIDR[] = [];
  for (const e of sorted) {
    const n = e.object;
    const c = n.spec?.podCIDR ?? n.spec?.podCIDRs?.[0];
    if (c === undefined) continue;
    const field = n.spec?.podCIDR ? 'spec.podCIDR' : 'spec.podCIDRs[0]';
    const cidr = parseCidr(c);
    if (!cidrContains(clusterNet, cidr.network) || cidr.prefix < clusterNet.prefix) {
      const msg = `podCIDR ${c} is outside the clusterCIDR ${cluster.clusterCIDR}`;
      if (podNodeAddressing)
        b.error(
          e,
          field,
          'k8s-ip-out-of-range',
          msg,
          `use a subnet of ${cluster.clusterCIDR}, or set Cluster spec.clusterCIDR to the pod network`,
        );
      else
        b.warn(
          e,
          field,
          'k8s-ip-out-of-range',
          `${msg}; calico allocates pod addresses from its IP pool, not from the node's podCIDR`,
        );
    }
    for (const [what, net] of others) {
      if (cidrsOverlap(cidr, net)) {
        b.error(
          e,
          field,
          'k8s-cidr-overlap',
          `podCIDR ${c} overlaps the ${what} ${formatCidr(net)}`,
          'pod subnets must be disjoint from the Service and node networks',
        );
      }
    }
    const start = ipToInt(cidr.network);
    given.push({ cidr, node: n.metadata.name, e, field, start, end: start + cidrSize(cidr) - 1 });
  }
  // Overlaps between nodes' podCIDRs: one sweep over the ranges by start
  // address (ties by node name), not a comparison of every pair.
  const byStart = [...given].sort((x, y) => x.start - y.start || cmp(x.node, y.node));
  let widest: GivenPodCIDR | undefined;
  for (const g of byStart) {
    if (widest !== undefined && g.start <= widest.end) {
      b.error(
        g.e,
        g.field,
        'k8s-cidr-overlap',
        `podCIDR ${formatCidr(g.cidr)} overlaps Node ${widest.node}'s podCIDR ${formatCidr(widest.cidr)}`,
        'every node needs its own pod subnet',
      );
    }
    if (widest === undefined || g.end > widest.end) widest = g;
  }
  return byStart;
}
