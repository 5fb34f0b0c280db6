/**
 * Nodes: the given ones with their addresses checked (inside the underlay,
 * unique), a podCIDR from the range allocator (`node-ipam.ts`) and an
 * InternalIP from the underlay for those without; or, with no Node in the
 * input at all, nodes implied from their pods.
 */

import {
  broadcastOf,
  cidrContains,
  formatCidr,
  intToIp,
  ipToInt,
  nthAddress,
  parseCidr,
} from '../../wire/addr.js';
import { locate, type LoadedObject } from '../load.js';
import { objectRef, type Node } from '../types.js';
import { nodeInternalIP } from './accessors.js';
import { cmp, type Builder, type Entry } from './builder.js';
import { coveringPrefix } from './cluster-config.js';
import { podCIDRAllocator } from './node-ipam.js';
import type { ClusterConfig, ModelNode } from './types.js';

/**
 * `kubectl get all -A -o yaml` has no Node objects, but its pods name their
 * node and carry its address (`status.hostIP`). With no Node at all in the
 * input, those nodes are implied (a warning says so), each with the pods'
 * hostIP as InternalIP and, when the node's pod IPs share one subnet of the
 * node mask size, that subnet as podCIDR. Hand-written pods have no hostIP
 * and still need their Node.
 */
export function impliedNodes(
  b: Builder,
  cluster: ClusterConfig,
  objects: readonly LoadedObject[],
): Entry<Node>[] {
  const byNode = new Map<
    string,
    { hostIP: string | undefined; podIPs: string[]; first: LoadedObject }
  >();
  for (const l of objects) {
    const o = l.object;
    if (o.kind !== 'Pod' || !o.spec.nodeName) continue;
    // A pod's hostIP is its node's address, and so is a hostNetwork pod's podIP.
    const hostIP = o.status?.hostIP ?? (o.spec.hostNetwork ? o.status?.podIP : undefined);
    const n = byNode.get(o.spec.nodeName) ?? { hostIP, podIPs: [], first: l };
    n.hostIP ??= hostIP;
    if (!o.spec.hostNetwork && o.status?.podIP) n.podIPs.push(o.status.podIP);
    byNode.set(o.spec.nodeName, n);
  }
  const out: Entry<Node>[] = [];
  for (const [name, n] of [...byNode.entries()].sort(([a], [c]) => cmp(a, c))) {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      ...(n.hostIP !== undefined
        ? { status: { addresses: [{ type: 'InternalIP' as const, address: n.hostIP }] } }
        : {}),
    };
    const mask = cluster.nodeCIDRMaskSize;
    const subnets = new Set(n.podIPs.map((ip) => formatCidr(parseCidr(`${ip}/${mask}`))));
    const only = subnets.size === 1 ? [...subnets][0] : undefined;
    if (only !== undefined) {
      node.spec = { podCIDR: only };
      b.note(
        `Node ${name}`,
        'spec.podCIDR',
        only,
        `implied node: the /${mask} its pods' IPs lie in`,
      );
    }
    if (n.hostIP !== undefined)
      b.note(
        `Node ${name}`,
        'status.addresses[InternalIP]',
        n.hostIP,
        "implied node: its pods' status.hostIP",
      );
    b.diagnostics.push({
      code: 'k8s-node-implied',
      severity: 'warning',
      message: `Node ${name} is not in the input; implied from its pods (${n.hostIP !== undefined ? `InternalIP ${n.hostIP}` : 'an address from the underlay'}${only ? `, podCIDR ${only}` : ''})`,
      ...locate(n.first, 'spec.nodeName'),
      hint: 'add the nodes, e.g. from `kubectl get nodes -o yaml`, for their real podCIDRs and addresses',
    });
    out.push({ loaded: undefined, object: node });
  }
  if (out.length > 0) return out;
  out.push(...endpointNodes(b, cluster, objects));
  if (out.length > 0) return out;
  // A manifest repository: pods (or workloads standing in for them) with no
  // node and not Pending. One node gives them a place to run, its podCIDR the
  // smallest prefix holding the addresses they give.
  const manifests = objects.filter(
    (l) =>
      l.object.kind === 'Pod' && !l.object.spec.nodeName && l.object.status?.phase !== 'Pending',
  );
  if (manifests.length === 0) return out;
  const name = 'node-1';
  b.info(
    { loaded: manifests[0], object: manifests[0]!.object },
    undefined,
    'k8s-node-implied',
    `the input has no Node; ${manifests.length} pod${manifests.length === 1 ? '' : 's'} without spec.nodeName run on one implied node, ${name}`,
    'add the nodes, e.g. from `kubectl get nodes -o yaml`, for their real podCIDRs and addresses',
  );
  b.note(
    `Node ${name}`,
    'metadata.name',
    name,
    "no Node in the input: one node for the manifests' pods",
  );
  const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name } };
  const ips = manifests.flatMap((l) =>
    l.object.kind === 'Pod' && l.object.status?.podIP ? [l.object.status.podIP] : [],
  );
  const cover = coveringPrefix(ips, cluster.nodeCIDRMaskSize);
  if (
    cover !== undefined &&
    cidrContains(parseCidr(cluster.clusterCIDR), parseCidr(cover).network)
  ) {
    node.spec = { podCIDR: cover };
    b.note(
      `Node ${name}`,
      'spec.podCIDR',
      cover,
      "implied node: the smallest prefix holding its pods' IPs",
    );
  }
  return [{ loaded: undefined, object: node }];
}

export function buildNodes(
  b: Builder,
  cluster: ClusterConfig,
  raw: Entry<Node>[],
): Map<string, ModelNode> {
  const sorted = [...raw].sort((x, y) => cmp(x.object.metadata.name, y.object.metadata.name));
  const nextPodCIDR = podCIDRAllocator(b, cluster, sorted);
  const nextAddress = internalIPAllocator(b, cluster, sorted);
  const nodes = new Map<string, ModelNode>();
  const mask = cluster.nodeCIDRMaskSize;
  for (const e of sorted) {
    const n = e.object;
    const name = n.metadata.name;
    const ref = objectRef(n);
    const spec = n.spec ?? {};
    let podCIDR = spec.podCIDR ?? spec.podCIDRs?.[0];
    if (podCIDR === undefined) {
      podCIDR = nextPodCIDR();
      if (podCIDR === undefined) {
        b.error(
          e,
          'spec.podCIDR',
          'k8s-range-exhausted',
          `no free /${mask} left in the clusterCIDR ${cluster.clusterCIDR} for this node`,
          'set spec.podCIDR, a larger clusterCIDR or a longer nodeCIDRMaskSize',
        );
        continue;
      }
      b.note(
        ref,
        'spec.podCIDR',
        podCIDR,
        `no spec.podCIDR; kube-controller-manager's range allocator takes the first free /${mask} of ${cluster.clusterCIDR}, nodes in name order`,
      );
    }
    const addresses = [...(n.status?.addresses ?? [])];
    if (!addresses.some((a) => a.type === 'InternalIP')) {
      const ip = nextAddress(name);
      if (ip === undefined) {
        b.error(
          e,
          'status.addresses',
          'k8s-range-exhausted',
          `no free address left in the underlay ${cluster.underlay.cidr} for this node`,
          'give the node an InternalIP in status.addresses',
        );
        continue;
      }
      addresses.unshift({ type: 'InternalIP', address: ip });
      b.note(
        ref,
        'status.addresses[InternalIP]',
        ip,
        `no InternalIP; packeteye gives nodes underlay addresses from .10 upward in name order`,
      );
    }
    const node: ModelNode = {
      ...n,
      spec: { ...spec, podCIDR, podCIDRs: spec.podCIDRs ?? [podCIDR] },
      status: { ...n.status, addresses },
    };
    nodes.set(name, node);
  }
  return nodes;
}

/**
 * Checks the InternalIPs the nodes give (inside the underlay, not the
 * gateway's, unique) and returns an allocator for nodes without one: free
 * underlay addresses from .10 upward.
 */
function internalIPAllocator(
  b: Builder,
  cluster: ClusterConfig,
  sorted: readonly Entry<Node>[],
): (node: string) => string | undefined {
  const underlay = parseCidr(cluster.underlay.cidr);
  const ipOwner = new Map<string, string>();
  for (const e of sorted) {
    const ip = nodeInternalIP(e.object);
    if (ip === undefined) continue;
    const i = e.object.status!.addresses!.findIndex((a) => a.type === 'InternalIP');
    const field = `status.addresses[${i}].address`;
    if (!cidrContains(underlay, ip)) {
      b.error(
        e,
        field,
        'k8s-ip-out-of-range',
        `InternalIP ${ip} is outside the underlay ${cluster.underlay.cidr}`,
        "set Cluster spec.underlay.cidr to the nodes' network, or fix the address",
      );
    } else if (ip === cluster.underlay.gateway) {
      b.error(
        e,
        field,
        'k8s-duplicate-ip',
        `InternalIP ${ip} is the underlay gateway's address`,
        'give the node another address',
      );
    }
    const prev = ipOwner.get(ip);
    if (prev !== undefined)
      b.error(
        e,
        field,
        'k8s-duplicate-ip',
        `InternalIP ${ip} is also Node ${prev}'s`,
        'every node needs its own address',
      );
    else ipOwner.set(ip, e.object.metadata.name);
  }
  let nextIP = ipToInt(nthAddress(underlay, 10));
  const lastHost = ipToInt(broadcastOf(underlay)) - 1;
  return (node) => {
    while (
      nextIP <= lastHost &&
      (ipOwner.has(intToIp(nextIP)) || intToIp(nextIP) === cluster.underlay.gateway)
    )
      nextIP++;
    if (nextIP > lastHost) return undefined;
    const ip = intToIp(nextIP++);
    ipOwner.set(ip, node);
    return ip;
  };
}

/**
 * Services and EndpointSlices without Nodes (kube-proxy's own test inputs):
 * the nodes the endpoints name, each with the /mask its endpoints' addresses
 * lie in as podCIDR when that is one subnet of the clusterCIDR.
 */
function endpointNodes(
  b: Builder,
  cluster: ClusterConfig,
  objects: readonly LoadedObject[],
): Entry<Node>[] {
  const byNode = new Map<string, string[]>();
  let first: LoadedObject | undefined;
  for (const l of objects) {
    const o = l.object;
    if (o.kind !== 'EndpointSlice' || o.addressType !== 'IPv4') continue;
    for (const ep of o.endpoints) {
      if (ep.nodeName === undefined) continue;
      first ??= l;
      const ips = byNode.get(ep.nodeName) ?? [];
      ips.push(...ep.addresses);
      byNode.set(ep.nodeName, ips);
    }
  }
  if (first === undefined) return [];
  const mask = cluster.nodeCIDRMaskSize;
  const clusterNet = parseCidr(cluster.clusterCIDR);
  const out: Entry<Node>[] = [];
  for (const [name, ips] of [...byNode.entries()].sort(([a], [c]) => cmp(a, c))) {
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name } };
    const subnets = new Set(ips.map((ip) => formatCidr(parseCidr(`${ip}/${mask}`))));
    const only = subnets.size === 1 ? [...subnets][0]! : undefined;
    if (only !== undefined && cidrContains(clusterNet, parseCidr(only).network)) {
      node.spec = { podCIDR: only };
      b.note(
        `Node ${name}`,
        'spec.podCIDR',
        only,
        `implied node: the /${mask} its endpoints' addresses lie in`,
      );
    }
    out.push({ loaded: undefined, object: node });
  }
  const names = [...byNode.keys()].sort();
  b.diagnostics.push({
    code: 'k8s-node-implied',
    severity: 'warning',
    message: `the input has no Node; ${names.length === 1 ? 'node' : 'nodes'} ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''} implied from the EndpointSlices' nodeName`,
    ...locate(first),
    hint: 'add the nodes, e.g. from `kubectl get nodes -o yaml`, for their real podCIDRs and addresses',
  });
  return out;
}
