/**
 * Pods: which ones have a data plane presence (scheduled on a known node,
 * not terminated), their addresses checked against their node's podCIDR
 * (or the clusterCIDR, for an IPAM that is not per node), hostNetwork pods
 * at their node's address, hostPort conflicts, and addresses for pods
 * without one from host-local IPAM (`pod-ipam.ts`).
 */

import {
  bitsContain,
  intToIp,
  nthAddress,
  parseCidrBits,
  type Cidr,
  type CidrBits,
} from '../../wire/addr.js';
import { STAND_IN_ANNOTATION } from '../load.js';
import { objectRef, type Pod } from '../types.js';
import { nodeInternalIP, nsName } from './accessors.js';
import type { Builder, Entry } from './builder.js';
import { holders, PodsByAddress, PodsByKey, type Holders } from './pod-index.js';
import { hostLocalIPAM } from './pod-ipam.js';
import {
  HOST_NETWORK,
  PLAIN,
  readPods,
  sortByKey,
  type PodFacts,
  type PodsRead,
} from './pods-read.js';
import type { ClusterConfig, ModelNode, ModelPod } from './types.js';

export interface PodIndex {
  pods: PodsByKey;
  read: PodsRead;
  podsByIP: PodsByAddress;
  podsByNode: Map<string, ModelPod[]>;
  /** Pod-network pods whose address a pod before them (in key order) has: `podsByIP` holds that one. */
  podsSharingIP: Map<string, ModelPod[]>;
}

/** A pod bound to a modelled node, waiting for an address (`pod-ipam.ts`). */
export interface Scheduled {
  readonly e: Entry<Pod>;
  /** Its place in key order. */
  readonly i: number;
  readonly node: ModelNode;
  /** The node's place in `nodes`. */
  readonly at: number;
}

/** A node's InternalIP (every pod's hostIP, a hostNetwork pod's podIP), its pods so far, its podCIDR once read. */
interface OnNode {
  readonly node: ModelNode;
  readonly ip: string;
  pods: ModelPod[] | undefined;
  cidr: PodCidr | undefined;
}

export function buildPods(
  b: Builder,
  cluster: ClusterConfig,
  nodes: Map<string, ModelNode>,
  declared: ReadonlySet<string>,
  raw: Entry<Pod>[],
): PodIndex {
  const nodeList = [...nodes.values()];
  const placeOf = new Map<string, number>();
  nodeList.forEach((n, i) => placeOf.set(n.metadata.name, i));
  // Each node's address, found once, and its pods, by the node's place in `nodes`.
  const onNodes = nodeList.map((node): OnNode => ({
    node,
    ip: nodeInternalIP(node)!,
    pods: undefined,
    cidr: undefined,
  }));
  const facts = readPods(
    raw,
    placeOf,
    onNodes.map((n) => n.ip),
  );
  const { entries, from, sameKey } = sortByKey(raw, facts);
  const n = entries.length;
  // Each pod's place in the input (where its facts are) by its place in key order, and back.
  const j0 = from ?? Int32Array.from({ length: n }, (_, i) => i);
  const keyOf = new Int32Array(n);
  for (let k = 0; k < n; k++) keyOf[j0[k]!] = k;
  const { nodeAt, placed } = schedulePods(b, nodes, declared, entries, facts, j0, placeOf);
  // The addresses given to pod-network pods, and the first (in key order) to have each.
  const ips = new Array<string | undefined>(n).fill(undefined);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = j0[i]!;
    if (nodeAt[i]! >= 0 && (facts.flags[j]! & HOST_NETWORK) === 0) {
      ips[i] = facts.ip[j];
      values[i] = facts.value[j]!;
    }
  }
  const given = holders(ips, values);

  // The model's pods by their place in key order (undefined: left out).
  const done = new Array<ModelPod | undefined>(entries.length).fill(undefined);
  const podsByNode = new Map<string, ModelPod[]>();
  const needIP: Scheduled[] = [];
  const hostPorts = new Map<string, Entry<Pod>>();
  const clusterNet =
    cluster.cni.plugin === 'calico' ? parseCidrBits(cluster.clusterCIDR) : undefined;
  const bridge = cluster.cni.plugin === 'bridge';
  const add = (n: OnNode, pod: ModelPod) => {
    if (n.pods === undefined) podsByNode.set(n.node.metadata.name, (n.pods = [pod]));
    else n.pods.push(pod);
  };
  const finish = (e: Entry<Pod>, i: number, n: OnNode, ip: string) => {
    const pod = (done[i] = modelPod(b, e, n.node, ip, n.ip));
    add(n, pod);
    checkHostPorts(b, e, pod, hostPorts);
  };

  for (let i = 0; i < entries.length; i++) {
    const at = nodeAt[i]!;
    if (at < 0) continue;
    const n = onNodes[at]!;
    // Nothing to say about it: the loaded pod as it is, not read again.
    const j = j0[i]!;
    if (
      facts.flags[j] === PLAIN &&
      placed[i] === 0 &&
      given.first[i] === -1 &&
      facts.value[j]! >= 0 &&
      addressFits(clusterNet, bridge, n, facts.value[j]!)
    ) {
      add(n, (done[i] = entries[i]!.object as ModelPod));
      continue;
    }
    const { node, ip: nodeIP } = n;
    const e = entries[i]!;
    const p = e.object;
    if (p.spec.hostNetwork) {
      if (p.status?.podIP !== undefined && p.status.podIP !== nodeIP) {
        b.warn(
          e,
          'status.podIP',
          'k8s-ip-mismatch',
          `a hostNetwork pod has its node's address; status.podIP ${p.status.podIP} is not node ${node.metadata.name}'s InternalIP ${nodeIP}, which is used`,
        );
      } else if (p.status?.podIP === undefined) {
        b.note(
          objectRef(p),
          'status.podIP',
          nodeIP,
          `hostNetwork pod: it shares node ${node.metadata.name}'s network namespace and address`,
        );
      }
      finish(e, i, n, nodeIP);
      continue;
    }
    const ip = p.status?.podIP;
    if (ip === undefined) {
      needIP.push({ e, i, node, at });
      continue;
    }
    // A stand-in's address is the endpoint's, wherever its node's podCIDR is (its note says so).
    if (!placed[i] && !p.metadata.annotations?.[STAND_IN_ANNOTATION]?.startsWith('EndpointSlice '))
      checkPodIP(b, cluster, clusterNet, e, n, ip);
    const prev = given.first[i]!;
    if (prev >= 0)
      b.error(
        e,
        'status.podIP',
        'k8s-duplicate-pod-ip',
        `pod IP ${ip} is also Pod ${nsName(done[prev]!)}'s`,
        'every pod needs its own address; change or remove one status.podIP',
      );
    finish(e, i, n, ip);
  }
  // Who has an address already: the given ones' first holders, and what IPAM hands out.
  const givenByIP = new PodsByAddress(given, done);
  const handedOut = new Set<string>();
  const taken = { has: (ip: string) => handedOut.has(ip) || givenByIP.has(ip) };
  hostLocalIPAM(b, cluster, needIP, taken, (s, ip) => {
    handedOut.add(ip);
    finish(s.e, s.i, onNodes[s.at]!, ip);
  });
  // The pods came in key order, and the indexes with them, unless some got their
  // address afterwards or two pods have one name (the later one kept, in the first's place).
  if (needIP.length === 0 && !sameKey) {
    return {
      ...inKeyOrder(done, keyOf, facts),
      podsByIP: givenByIP,
      podsByNode,
      podsSharingIP: sharing(given, done),
    };
  }
  return indexPods(lastOfEachKey(done));
}

/**
 * The kept pods (`done`, by place in key order) and what later passes read
 * of them, in the input's order (`keyOf`: each one's place in key order).
 */
function inKeyOrder(
  done: readonly (ModelPod | undefined)[],
  keyOf: Int32Array,
  facts: PodFacts,
): { pods: PodsByKey; read: PodsRead } {
  let kept = 0;
  for (let i = 0; i < done.length; i++) if (done[i] !== undefined) kept++;
  const list = new Array<ModelPod>(kept);
  const placeInList = new Int32Array(done.length);
  for (let i = 0, m = 0; i < done.length; i++) {
    const p = done[i];
    if (p !== undefined) {
      placeInList[i] = m;
      list[m++] = p;
    }
  }
  const at = new Int32Array(kept);
  const namespace = new Array<string>(kept);
  const labels = new Array<Record<string, string> | undefined>(kept);
  let m = 0;
  for (let j = 0; j < keyOf.length; j++) {
    const i = keyOf[j]!;
    if (done[i] === undefined) continue;
    at[m] = placeInList[i]!;
    namespace[m] = facts.namespace[j]!;
    labels[m++] = facts.labels[j];
  }
  return { pods: new PodsByKey(list), read: { at, namespace, labels } };
}

/** The pods, one per key: of pods with one name (together in key order), the last. */
function lastOfEachKey(done: readonly (ModelPod | undefined)[]): ModelPod[] {
  const out: ModelPod[] = [];
  for (const p of done) {
    if (p === undefined) continue;
    const last = out[out.length - 1];
    if (
      last !== undefined &&
      last.metadata.name === p.metadata.name &&
      last.metadata.namespace === p.metadata.namespace
    )
      out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

/** The pods whose address a pod before them has, by that address, in key order. */
function sharing(h: Holders, pods: readonly (ModelPod | undefined)[]): Map<string, ModelPod[]> {
  const out = new Map<string, ModelPod[]>();
  for (let i = 0; i < h.first.length; i++) {
    if (h.first[i]! < 0) continue;
    const pod = pods[i]!;
    const l = out.get(pod.status.podIP);
    if (l === undefined) out.set(pod.status.podIP, [pod]);
    else l.push(pod);
  }
  return out;
}

/** Pods with a data plane presence: not terminated, on a node the model has. */
function schedulePods(
  b: Builder,
  nodes: Map<string, ModelNode>,
  declared: ReadonlySet<string>,
  sorted: readonly Entry<Pod>[],
  facts: PodFacts,
  /** Each pod's place in the input (its facts). */
  j0: Int32Array,
  placeOf: ReadonlyMap<string, number>,
): { nodeAt: Int32Array; placed: Uint8Array } {
  const nodeNames = [...nodes.keys()];
  const some = `${nodeNames.slice(0, 5).join(', ')}${nodeNames.length > 5 ? ', …' : ''}`;
  // Each pod's node, by its place in `nodes` (-1: left out), and whether the model placed it there.
  const nodeAt = new Int32Array(sorted.length).fill(-1);
  const placedHere = new Uint8Array(sorted.length);
  let placed = 0;
  for (let i = 0; i < sorted.length; i++) {
    // Running on a node the model has (read in `readPods`).
    const at0 = facts.at[j0[i]!]!;
    if (at0 >= 0) {
      nodeAt[i] = at0;
      continue;
    }
    const e = sorted[i]!;
    const p = e.object;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      b.info(
        e,
        'status.phase',
        'k8s-pod-terminal',
        `pod is in phase ${phase}: its network namespace is gone, so it is left out`,
      );
      continue;
    }
    let nodeName = p.spec.nodeName;
    if (nodeName === undefined) {
      if (p.status?.phase === 'Pending' || nodeNames.length === 0) {
        // A pod the scheduler has not placed yet: no sandbox, no address, no data plane.
        b.info(
          e,
          'spec.nodeName',
          'k8s-pod-unscheduled',
          `pod is ${p.status?.phase ?? 'not scheduled'} (no spec.nodeName): it has no network presence yet, so it is left out`,
          nodeNames.length > 0
            ? `to trace from it, set spec.nodeName to one of the nodes: ${some}`
            : 'add a Node object and set spec.nodeName to its name',
        );
        continue;
      }
      // A manifest: on the node whose podCIDR holds its IP, else as a scheduler
      // might place it, nodes taken in turn.
      const ip = p.status?.podIP;
      nodeName =
        (ip !== undefined
          ? nodeNames.find((n) => bitsContain(parseCidrBits(nodes.get(n)!.spec.podCIDR), ip))
          : undefined) ?? nodeNames[placed++ % nodeNames.length]!;
      b.note(
        objectRef(p),
        'spec.nodeName',
        nodeName,
        p.metadata.annotations?.[STAND_IN_ANNOTATION] !== undefined
          ? `stand-in for ${p.metadata.annotations[STAND_IN_ANNOTATION]}, which has no pod in the input: one pod from its template, placed on the nodes in turn`
          : 'no spec.nodeName; packeteye places manifest pods as a scheduler might, on the nodes in turn (name order)',
      );
      // The model's pod is given the node (`modelPod`): the entry's may be the loaded one.
      nodeAt[i] = placeOf.get(nodeName)!;
      placedHere[i] = 1;
      continue;
    }
    const at = placeOf.get(nodeName);
    if (at === undefined && declared.has(nodeName)) {
      b.info(
        e,
        'spec.nodeName',
        'k8s-pod-node-unusable',
        `pod left out: node ${nodeName} could not be modelled (see its error)`,
      );
      continue;
    }
    if (at === undefined) {
      b.error(
        e,
        'spec.nodeName',
        'k8s-pod-unknown-node',
        `pod is on node ${JSON.stringify(nodeName)}, which is not defined`,
        nodeNames.length > 0
          ? `add a Node named ${nodeName}, or use one of: ${some}`
          : `add a Node object named ${nodeName}`,
      );
      continue;
    }
    nodeAt[i] = at;
  }
  return { nodeAt, placed: placedHere };
}

/** A node's podCIDR, read once for every pod on the node. */
interface PodCidr extends CidrBits {
  readonly cidr: Cidr;
  /** The bridge gateway (cni0), the network and the broadcast address, and their values. */
  readonly gateway: string;
  readonly network: string;
  readonly broadcast: string;
  readonly gatewayValue: number;
  readonly broadcastValue: number;
}

function podCidrOf(node: ModelNode): PodCidr {
  const { prefix, net, mask } = parseCidrBits(node.spec.podCIDR);
  const network = intToIp(net);
  const gatewayValue = (net + 1) >>> 0;
  const broadcastValue = (net | ~mask) >>> 0;
  // Written out, not spread: fields added to a spread copy take V8's slow path.
  return {
    prefix,
    net,
    mask,
    cidr: { network, prefix },
    gateway: intToIp(gatewayValue),
    network,
    broadcast: intToIp(broadcastValue),
    gatewayValue,
    broadcastValue,
  };
}

/**
 * Whether `checkPodIP` finds nothing to say about a pod address (its value:
 * a dotted quad, which spells every value one way).
 */
function addressFits(
  clusterNet: CidrBits | undefined,
  bridge: boolean,
  on: OnNode,
  v: number,
): boolean {
  if (clusterNet !== undefined) return (v & clusterNet.mask) >>> 0 === clusterNet.net;
  const own = (on.cidr ??= podCidrOf(on.node));
  return (
    (v & own.mask) >>> 0 === own.net &&
    !(bridge && v === own.gatewayValue) &&
    v !== own.net &&
    v !== own.broadcastValue
  );
}

/**
 * A pod IP given in status, checked against where its CNI hands addresses
 * out. The kubelet wrote it and the API server took it, so it is kept as
 * given: a pod outside its node's podCIDR (AWS VPC CNI, OpenShift SDN and
 * other IPAMs that are not per node) is a warning saying what the twin does.
 */
function checkPodIP(
  b: Builder,
  cluster: ClusterConfig,
  clusterNet: CidrBits | undefined,
  e: Entry<Pod>,
  on: OnNode,
  ip: string,
): void {
  if (clusterNet !== undefined) {
    // Calico: addresses from the clusterCIDR's blocks, not the node's podCIDR.
    if (!bitsContain(clusterNet, ip))
      b.warn(
        e,
        'status.podIP',
        'k8s-ip-out-of-range',
        `pod IP ${ip} is outside the clusterCIDR ${cluster.clusterCIDR}; kept as given, but no node routes it as a pod address`,
        'set Cluster spec.clusterCIDR to the pod network',
      );
    return;
  }
  const node = on.node;
  const own = (on.cidr ??= podCidrOf(node));
  const sub = own.cidr;
  if (!bitsContain(own, ip)) {
    b.warn(
      e,
      'status.podIP',
      'k8s-ip-out-of-range',
      `pod IP ${ip} is outside node ${node.metadata.name}'s podCIDR ${node.spec.podCIDR}; kept as given (an IPAM that is not per node, such as AWS VPC CNI's, hands out addresses this way), but ${cluster.cni.plugin} routes pods by their node's podCIDR, so other nodes may not reach it`,
      'give the Cluster the CNI that addressed this pod, or fix the IP or spec.nodeName',
    );
  } else if (ip === own.gateway && cluster.cni.plugin === 'bridge') {
    b.warn(
      e,
      'status.podIP',
      'k8s-ip-out-of-range',
      `pod IP ${ip} is the bridge gateway (cni0) address of node ${node.metadata.name}; kept as given, though host-local never hands it out`,
      `use ${nthAddress(sub, 2)} or higher`,
    );
  } else if (ip === own.network || ip === own.broadcast) {
    b.warn(
      e,
      'status.podIP',
      'k8s-ip-out-of-range',
      `pod IP ${ip} is the network or broadcast address of ${node.spec.podCIDR}; kept as given`,
      'use a host address of the subnet',
    );
  }
}

/**
 * The pod as the model keeps it: the loaded pod itself when it says
 * everything already (its node by name, a status with its addresses: a
 * dump's), else a copy with its node and a status of its own (the entry's
 * object when it is the model's already: `builder.ts` entries). At 150,000
 * pods, a copy of every pod was 20 MB the model kept.
 */
function modelPod(
  b: Builder,
  e: Entry<Pod>,
  node: ModelNode,
  ip: string,
  hostIP: string,
): ModelPod {
  const p = e.object;
  if (p.status?.hostIP !== undefined && p.status.hostIP !== hostIP) {
    b.warn(
      e,
      'status.hostIP',
      'k8s-ip-mismatch',
      `status.hostIP ${p.status.hostIP} is not node ${node.metadata.name}'s InternalIP ${hostIP}; the node's is used`,
    );
  }
  const st = p.status;
  const nodeName = node.metadata.name;
  const given =
    st !== undefined && st.podIP === ip && st.podIPs !== undefined && st.hostIP === hostIP;
  if (given && p.spec.nodeName === nodeName) return p as ModelPod;
  const own = e.loaded === undefined || e.object !== e.loaded.object;
  const pod = (own ? p : { ...p, spec: Object.assign({}, p.spec) }) as ModelPod;
  pod.spec.nodeName = nodeName;
  if (!given) pod.status = { ...st, podIP: ip, podIPs: st?.podIPs ?? [{ ip }], hostIP };
  return pod;
}

/** hostPort conflicts: the scheduler never puts two such pods on one node. */
function checkHostPorts(
  b: Builder,
  e: Entry<Pod>,
  pod: ModelPod,
  hostPorts: Map<string, Entry<Pod>>,
): void {
  const node = pod.spec.nodeName;
  const containers = pod.spec.containers;
  for (let ci = 0; ci < containers.length; ci++) {
    const ports = containers[ci]!.ports;
    if (ports === undefined) continue;
    for (let pi = 0; pi < ports.length; pi++) {
      const cp = ports[pi]!;
      if (cp.hostPort === undefined) continue;
      const key = `${node}/${cp.hostPort}/${cp.protocol ?? 'TCP'}`;
      const prev = hostPorts.get(key);
      if (prev && prev !== e) {
        b.error(
          e,
          `spec.containers[${ci}].ports[${pi}].hostPort`,
          'k8s-host-port-conflict',
          `hostPort ${cp.hostPort}/${cp.protocol ?? 'TCP'} on node ${node} is also used by Pod ${nsName(prev.object)}`,
          'the scheduler would not place both pods on this node; use another hostPort or node',
        );
      } else hostPorts.set(key, e);
    }
  }
}

function indexPods(pods: readonly ModelPod[]): PodIndex {
  const h = holders(pods.map((p) => (p.spec.hostNetwork ? undefined : p.status.podIP)));
  const podsByNode = new Map<string, ModelPod[]>();
  for (const pod of pods) {
    const l = podsByNode.get(pod.spec.nodeName);
    if (l === undefined) podsByNode.set(pod.spec.nodeName, [pod]);
    else l.push(pod);
  }
  return {
    pods: new PodsByKey(pods),
    read: {
      at: Int32Array.from(pods, (_, i) => i),
      namespace: pods.map((p) => p.metadata.namespace),
      labels: pods.map((p) => p.metadata.labels),
    },
    podsByIP: new PodsByAddress(h, pods),
    podsByNode,
    podsSharingIP: sharing(h, pods),
  };
}
