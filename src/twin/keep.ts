/**
 * Built nodes kept between instances of one plan (`packeteye serve`): a node
 * is built once — its root namespace, its pods' namespaces, its rules — and
 * lent to every later instance that includes it, put back to the cold state
 * it was built in; the underlay router likewise. An instance is then a new
 * Network that adopts the kept namespaces (kernel Network.adopt) and plugs
 * them into its segments in the order a new build would, so a trace over any
 * set of nodes costs what the nodes it has not met before cost to build.
 *
 * What a build reports is kept per node: the twin's diagnostics and defaults
 * about the node, and what the CNI plugin added while setting it up. The
 * plugin is one per plan here; its cluster-wide part is worked out before
 * the first node (CniPlugin.prepare), so what each node adds is the slice
 * its build appended, and an instance reports its nodes' slices in model
 * order, as a new build of the same nodes does. A plugin whose lists do not
 * only grow at the end (flannel's defaults put each node's lease before
 * every pod's veth) cannot be sliced: the plan then builds every instance
 * anew, as without keeping.
 */
import type { Diagnostic } from '../diag.js';
import { pluginFor, type CniDefault, type CniPlugin } from '../cni/index.js';
import type { ClusterModel, ModelNode } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import { Network, type Attachment } from '../kernel/network.js';
import type { KeepOptions, NodeRules, PodPlace, Twin, TwinDefault } from './index.js';

/** One node as a build leaves it in an instance: what the twin keeps of it and what it reported. */
export interface NodeParts {
  readonly name: string;
  readonly pods: readonly PodPlace[];
  readonly rules: NodeRules | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly defaults: readonly TwinDefault[];
}

/** What makes an instance out of its parts (twin/index.ts planTwin). */
export interface Assembly {
  readonly net: Network;
  readonly router: Host;
  /** In model order. */
  readonly nodes: readonly NodeParts[];
  /** The diagnostic saying the CNI is not modelled on Linux, if it is not. */
  readonly chosen: readonly Diagnostic[];
  readonly pluginDiagnostics: readonly Diagnostic[];
  readonly pluginDefaults: readonly CniDefault[];
}

export interface KeepBuild {
  /** Builds the underlay (and the outside hosts) into `net`; returns the router. */
  fabric(net: Network): Host;
  /** Whether the router can be kept: nothing an instance finishes changes it (no VPC, no MetalLB leader). */
  readonly keepFabric: boolean;
  node(net: Network, plugin: CniPlugin | undefined, node: ModelNode): NodeParts;
  assemble(a: Assembly): Twin;
}

/** Namespaces kept with the state they were built in, lent to one network at a time. */
interface Lent {
  readonly hosts: readonly Host[];
  readonly attachments: readonly Attachment[];
  /** Per host: puts it back to the state it was built in. */
  readonly cold: ReadonlyMap<string, () => void>;
  /** The network it is in now (its runs are what may have to be undone); undefined once put back. */
  lentTo: Network | undefined;
}

interface KeptNode extends Lent {
  readonly parts: NodeParts;
  readonly pluginDiagnostics: readonly Diagnostic[];
  readonly pluginDefaults: readonly CniDefault[];
}

interface KeptFabric extends Lent {
  readonly router: Host;
  readonly segments: readonly string[];
}

export class KeptNodes {
  private readonly kept = new Map<string, KeptNode>();
  private fabric: KeptFabric | undefined;
  /** The plugin the kept nodes were set up by, prepared for the cluster; a new one when the nodes start over. */
  private plugin: CniPlugin | undefined;
  private chosen: readonly Diagnostic[] = [];
  private prefixDiagnostics: readonly Diagnostic[] = [];
  private prefixDefaults: readonly CniDefault[] = [];
  /** Set when the plugin's lists cannot be sliced per node: every instance is then built anew. */
  private broken = false;
  private readonly most: number;
  private readonly maxNodes: number;
  /** What the last instance was lent (its nodes and the router), put back to cold when the next is made. */
  private out: Lent[] = [];

  constructor(
    private readonly model: ClusterModel,
    keep: KeepOptions,
    private readonly build: KeepBuild,
  ) {
    this.most = keep.nodes ?? 0;
    this.maxNodes = keep.maxNodes ?? 64;
    this.startOver();
  }

  /**
   * No node kept, and a new plugin: a plugin remembers what it set up per
   * node (its rules, its reports), so a node is never set up twice by one.
   */
  private startOver(): void {
    this.kept.clear();
    this.next = 0;
    const chosen = pluginFor(this.model.cluster.cni);
    this.plugin = chosen.plugin;
    this.chosen = chosen.plugin ? [] : [chosen.diagnostic];
    this.plugin?.prepare?.(this.model);
    this.prefixDiagnostics = [...(this.plugin?.diagnostics ?? [])];
    this.prefixDefaults = [...(this.plugin?.defaults ?? [])];
  }

  /**
   * An instance of `nodes` (all when undefined) from kept nodes, building
   * (and keeping) those not kept yet; undefined when this plan cannot keep
   * them (too many nodes, none, or a plugin whose reports cannot be sliced).
   */
  instantiate(nodes: Iterable<string> | undefined): Twin | undefined {
    if (this.broken) return undefined;
    this.putBack();
    const only = nodes ? new Set(nodes) : undefined;
    const chosen = this.inModelOrder(only);
    if (chosen.length === 0 || chosen.length > this.maxNodes) return undefined;
    // Room for the nodes not kept yet, or start over (the plugin set them up: see startOver).
    let missing = 0;
    for (const n of chosen) if (!this.kept.has(n.metadata.name)) missing++;
    if (this.kept.size + missing > this.most) this.startOver();
    const net = new Network();
    const router = this.lendFabric(net);
    const parts: NodeParts[] = [];
    const pluginDiagnostics = [...this.prefixDiagnostics];
    const pluginDefaults = [...this.prefixDefaults];
    // In model order, lent or built: the underlay's ports then come in the order a new build plugs them.
    for (const node of chosen) {
      const name = node.metadata.name;
      let k = this.kept.get(name);
      if (k) lend(k, net);
      else {
        k = this.buildNode(net, node);
        if (!k) return undefined;
      }
      this.kept.set(name, k);
      this.out.push(k);
      parts.push(k.parts);
      for (const d of k.pluginDiagnostics) pluginDiagnostics.push(d);
      for (const d of k.pluginDefaults) pluginDefaults.push(d);
    }
    return this.build.assemble({
      net,
      router,
      nodes: parts,
      chosen: this.chosen,
      pluginDiagnostics,
      pluginDefaults,
    });
  }

  /**
   * Builds and keeps the next node (in model order) no instance has needed
   * yet, for a server to call while it has nothing to answer; false (and
   * nothing built) when there is none left to build, this plan cannot keep
   * them, or it cannot keep them all: kept nodes filled to the brim would be
   * dropped by the first question that needs one more (see instantiate). A
   * node built ahead is the node an instance would have built (the same
   * build into a network of its own, which it leaves when an instance
   * borrows it), so answers do not depend on when it was built. A build
   * that throws starts over: the plugin may have set the node up in part.
   */
  buildAhead(): boolean {
    const nodes = this.model.nodes;
    if (this.broken || nodes.size > this.most) return false;
    while (this.next < nodes.size && this.kept.has(this.names()[this.next]!)) this.next++;
    if (this.next >= nodes.size) return false;
    const name = this.names()[this.next++]!;
    const net = new Network();
    this.lendFabric(net);
    let k: KeptNode | undefined;
    try {
      k = this.buildNode(net, nodes.get(name)!);
    } catch (e) {
      this.startOver();
      throw e;
    }
    if (!k) return false;
    this.kept.set(name, k);
    this.out.push(k);
    return true;
  }

  /** How many nodes are kept built now: none while a plugin's reports cannot be sliced. */
  get size(): number {
    return this.broken ? 0 : this.kept.size;
  }

  /** Where buildAhead goes on from in model order. */
  private next = 0;
  private nodeNames: readonly string[] | undefined;

  private names(): readonly string[] {
    return (this.nodeNames ??= [...this.model.nodes.keys()]);
  }

  /**
   * The last instance's namespaces put back to cold now rather than when next
   * lent: what its runs left in them (conntrack entries, neighbours, learnt
   * stations) would otherwise live as long as the node is kept (a node may
   * not be asked about again for thousands of questions), all of it copied
   * into the old generation by the collector on its way. An instance is
   * used until the next is made (a question's trace is done by then), as
   * before: lending a node to a new network already took it from the old.
   */
  private putBack(): void {
    for (const k of this.out) {
      const net = k.lentTo;
      if (net) for (const h of k.hosts) if (net.wasTouched(h.name)) k.cold.get(h.name)!();
      k.lentTo = undefined;
    }
    this.out = [];
    this.fabricOut = false;
  }

  /** Whether the kept router is in `out` already. */
  private fabricOut = false;

  /** Each node's place in the model (the order a new build takes them in). */
  private order: Map<string, number> | undefined;

  /** The nodes `only` names (all when undefined), in model order; unknown names left out. */
  private inModelOrder(only: ReadonlySet<string> | undefined): ModelNode[] {
    const nodes = this.model.nodes;
    if (!only) return [...nodes.values()];
    const order = (this.order ??= new Map([...nodes.keys()].map((n, i) => [n, i])));
    return [...only]
      .filter((n) => order.has(n))
      .sort((a, b) => order.get(a)! - order.get(b)!)
      .map((n) => nodes.get(n)!);
  }

  /** The router (and the outside hosts): kept when nothing per instance changes them, else built. */
  private lendFabric(net: Network): Host {
    if (!this.build.keepFabric) return this.build.fabric(net);
    const f = this.fabric;
    if (f) {
      for (const s of f.segments) net.addSegment(s);
      lend(f, net);
      // Once in the list however often it is lent before the next put-back (building ahead lends it per node).
      if (!this.fabricOut) this.out.push(f);
      this.fabricOut = true;
      return f.router;
    }
    const router = this.build.fabric(net);
    const hosts = net.hosts();
    const cold = coldOf(hosts);
    if (cold)
      this.fabric = {
        router,
        hosts,
        attachments: [...net.attachments()],
        segments: net.segmentNames(),
        cold,
        lentTo: net,
      };
    if (this.fabric) {
      this.out.push(this.fabric);
      this.fabricOut = true;
    }
    return router;
  }

  /** Builds `node` into `net` and keeps it; undefined (and no keeping from now on) when it cannot be kept. */
  private buildNode(net: Network, node: ModelNode): KeptNode | undefined {
    const hosts0 = net.hosts().length;
    const attached0 = net.attachments().length;
    const p = this.plugin;
    const diags0 = listed(() => p?.diagnostics);
    const defaults0 = listed(() => p?.defaults);
    const parts = this.build.node(net, p, node);
    const diags = p?.diagnostics ?? [];
    const defaults = p?.defaults ?? [];
    const hosts = net.hosts().slice(hosts0);
    const cold = coldOf(hosts);
    if (!cold || !grewAtEnd(diags0, diags) || !grewAtEnd(defaults0, defaults)) {
      this.broken = true;
      this.kept.clear();
      return undefined;
    }
    return {
      parts,
      hosts,
      attachments: net.attachments().slice(attached0),
      cold,
      lentTo: net,
      pluginDiagnostics: diags.slice(lengthOf(diags0)),
      pluginDefaults: defaults.slice(lengthOf(defaults0)),
    };
  }
}

/** Moves kept namespaces into `net`, each put back to cold first if a run in their last network touched it. */
function lend(k: Lent, net: Network): void {
  const was = k.lentTo;
  if (was) for (const h of k.hosts) if (was.wasTouched(h.name)) k.cold.get(h.name)!();
  net.adopt(k.hosts);
  for (const a of k.attachments) net.attach(a.host, a.dev, a.segment);
  k.lentTo = net;
}

function coldOf(hosts: readonly Host[]): Map<string, () => void> | undefined {
  const cold = new Map<string, () => void>();
  for (const h of hosts) {
    const back = h.coldSnapshot();
    if (!back) return undefined;
    cold.set(h.name, back);
  }
  return cold;
}

/**
 * A plugin's list as it is before a node's build: the plugin's own array (it
 * only pushes to it) by its length, or a copy when the plugin composes the
 * list anew on every read (flannel's defaults), to compare item by item.
 */
type Listed<T> = { readonly length: number } | { readonly items: readonly T[] };

function listed<T>(read: () => readonly T[] | undefined): Listed<T> {
  const list = read();
  if (list === undefined) return { length: 0 };
  return read() === list ? { length: list.length } : { items: [...list] };
}

function lengthOf<T>(l: Listed<T>): number {
  return 'items' in l ? l.items.length : l.length;
}

/** Whether `after` is the list `before` was with items added at the end only (the same objects before them). */
function grewAtEnd<T>(before: Listed<T>, after: readonly T[]): boolean {
  if (!('items' in before)) return after.length >= before.length;
  const items = before.items;
  if (after.length < items.length) return false;
  for (let i = 0; i < items.length; i++) if (after[i] !== items[i]) return false;
  return true;
}
