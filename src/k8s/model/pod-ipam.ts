/**
 * Pod addresses for pods without one, as CNI host-local IPAM hands them out
 * (containernetworking/plugins `plugins/ipam/host-local/backend/allocator`):
 * per node, addresses from the podCIDR after the gateway (.1, the bridge's),
 * round-robin from the last reserved, skipping used ones; `rangeEnd` is the
 * last address before broadcast. Pods are taken in namespace/name order.
 */

import { broadcastOf, intToIp, ipToInt, parseCidr } from '../../wire/addr.js';
import { objectRef } from '../types.js';
import type { Builder } from './builder.js';
import type { Scheduled } from './pods.js';
import type { ClusterConfig } from './types.js';

export function hostLocalIPAM(
  b: Builder,
  cluster: ClusterConfig,
  needIP: readonly Scheduled[],
  taken: { has(ip: string): boolean },
  finish: (s: Scheduled, ip: string) => void,
): void {
  const lastByNode = new Map<string, number>();
  for (const s of needIP) {
    const { e, node } = s;
    const sub = parseCidr(node.spec.podCIDR);
    const first = ipToInt(sub.network) + 1;
    const last = ipToInt(broadcastOf(sub)) - 1;
    const gateway = first;
    const start = lastByNode.get(node.metadata.name) ?? gateway;
    let found: number | undefined;
    const span = last - first + 1;
    for (let k = 1; k <= span; k++) {
      const cand = first + ((start - first + k) % span);
      if (cand === gateway) continue;
      if (taken.has(intToIp(cand))) continue;
      found = cand;
      break;
    }
    if (found === undefined) {
      b.error(
        e,
        'status.podIP',
        'k8s-range-exhausted',
        `node ${node.metadata.name}'s podCIDR ${node.spec.podCIDR} has no free address for this pod`,
        'give the node a larger podCIDR or move pods to another node',
      );
      continue;
    }
    lastByNode.set(node.metadata.name, found);
    const ip = intToIp(found);
    b.note(
      objectRef(e.object),
      'status.podIP',
      ip,
      cluster.cni.plugin === 'calico'
        ? `no status.podIP; packeteye hands out node ${node.metadata.name}'s podCIDR ${node.spec.podCIDR} in pod name order (calico-ipam would use its own per-node blocks)`
        : `no status.podIP; host-local IPAM hands out ${node.spec.podCIDR} from .2 (.1 is the cni0 gateway), pods in namespace/name order`,
    );
    finish(s, ip);
  }
}
