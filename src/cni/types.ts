/**
 * The interface every CNI plugin compiler implements. A plugin turns the
 * Kubernetes model into kernel state on one node, the way the real plugin
 * binary does when the container runtime calls it (CNI ADD): once per node
 * for what exists before any pod (nothing, for `bridge`: cni0 appears with
 * the first pod), once per pod for the pod's sandbox.
 */
import type { Diagnostic } from '../diag.js';
import type { ClusterModel, ModelNode, ModelPod } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import type { IptablesFragment } from '../iptables/merge.js';

/** Something the plugin invented because no real cluster input says it (a container id, a network name). */
export interface CniDefault {
  readonly object: string;
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

export interface NodeContext {
  readonly model: ClusterModel;
  readonly node: ModelNode;
  /** The node's root network namespace. */
  readonly host: Host;
}

export interface PodContext extends NodeContext {
  readonly pod: ModelPod;
  /** The pod's network namespace (held by the pause container). */
  readonly podHost: Host;
}

export interface CniPlugin {
  readonly name: string;
  /**
   * What the plugin works out for the whole cluster before its first node
   * (Calico's IPAM blocks, flannel's leases), done now rather than on the
   * first `setupNode`: a twin that keeps built nodes for later instances
   * keeps it apart from what each node adds. The first `setupNode` does it
   * anyway when this was not called.
   */
  prepare?(model: ClusterModel): void;
  setupNode(ctx: NodeContext): void;
  /** CNI ADD for a pod-network pod. Returns the host-side interface name. */
  setupPod(ctx: PodContext): { hostIface: string };
  /** The iptables commands the plugin's ADDs issued on `node` (ipMasq), as an iptables-restore --noflush fragment. */
  rulesFor(node: string): IptablesFragment | undefined;
  readonly diagnostics: Diagnostic[];
  readonly defaults: CniDefault[];
}
