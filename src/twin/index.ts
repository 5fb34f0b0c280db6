/**
 * twin/: assembles a cluster's data plane from the Kubernetes model, the way
 * the real components build it on every node, into one kernel `Network`:
 *
 *   per node   root namespace NODE: eth0 with the InternalIP on the underlay
 *              segment, default via the underlay gateway, lo up, the
 *              sysctls kubeadm requires (net.ipv4.ip_forward=1,
 *              net.bridge.bridge-nf-call-iptables=1) and the one kube-proxy
 *              sets (route_localnet=1 for localhost NodePorts)
 *   CNI        the plugin's node and pod state (cni/), pods as namespaces
 *              `NS/NAME` with a socket per containerPort — all containers of a
 *              pod share it (the pause container's namespace), so
 *              container-to-container traffic over localhost works;
 *              hostNetwork pods listen in the node's root namespace
 *   kube-proxy generateIptablesDump for the node (nodeIPs, clusterCIDR,
 *              kubeProxy.version; nfacct off: the twin has no nfacct objects):
 *              alone, installed from its tables, the rules it built beside
 *              their text taken as built (parseIptablesTables); merged with
 *              the CNI's rules, read from the merged text; either way
 *              installed in the node's netfilter (installIptables); nftables
 *              mode: its kube-proxy table beside them (twin/kube-proxy-nft.ts)
 *   fabric     the underlay router / VPC with the podCIDR routes, ExternalHosts
 *
 * `planTwin` does the expensive, immutable part once (rule text, parsing,
 * compilation); `plan.instantiate()` builds a fresh Network from it (new
 * conntrack, neighbour and FDB state), so every trace — and every branch of
 * `--all-paths` — starts from the same cold kernel.
 */
import { hasErrors, type Diagnostic } from '../diag.js';
import { pluginFor, type CniPlugin } from '../cni/index.js';
import { mergeIptablesSaveWithDiagnostics } from '../iptables/merge.js';
import { compilePortmap, type PortmapPod } from '../cni/portmap.js';
import {
  buildFabric,
  externalHostName,
  routerName,
  UNDERLAY_SEGMENT,
  type FabricMemo,
} from '../fabric/index.js';
import { planEdge, type Edge } from '../fabric/edge.js';
import { parseIptablesSave } from '../iptables/parse.js';
import { parseIptablesTables } from '../iptables/parse-tables.js';
import { parseIpsetSave } from '../iptables/ipset.js';
import type { IpSets } from '../kernel/netfilter/ipset.js';
import type { ClusterModel, ModelDefault, ModelNode, ModelPod } from '../k8s/model.js';
import { nodeInternalIP, nsName, withDefaultsAfter } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import { compileRuleset, type CompiledRuleset, type Ruleset } from '../kernel/netfilter/index.js';
import { Network } from '../kernel/network.js';
import { kubeProxyRulesFor, type Generated, type ProxyRules } from './kube-proxy.js';
import { readKubeProxyNft, type NodeNft } from './kube-proxy-nft.js';
import { cidrContains, parseCidr, type Cidr } from '../wire/addr.js';
import { installIptables } from '../kernel/netfilter/install.js';
import { KeptNodes, type Assembly, type NodeParts } from './keep.js';
import { listen, podPorts } from './pod-sockets.js';
import { planPolicyEnforcement, type PolicyEnforcementPlan } from '../policy/enforce-twin.js';

export {
  IptablesHooks,
  type RewriteDetail,
  type RewriteKind,
  type RewriteRule,
} from '../kernel/netfilter/install.js';

/** A value the twin (or the model under it) invented; shown in traces and `packeteye rules`. */
export type TwinDefault = ModelDefault;

export interface PodPlace {
  readonly key: string;
  readonly pod: ModelPod;
  /** The namespace the pod's sockets live in: its own, or its node's for hostNetwork. */
  readonly host: string;
  readonly node: string;
  readonly ip: string;
  readonly hostNetwork: boolean;
  /** The host end of its veth on the node (pod-network pods). */
  readonly hostIface?: string;
}

export interface NodeRules {
  /** iptables-save text: kube-proxy's rules merged with the CNI's. */
  readonly text: string;
  /** `ipset save` text of the node's IP sets (Calico's Felix), empty when it has none. */
  readonly ipsetSave: string;
  readonly ipsets: IpSets;
  readonly ruleset: Ruleset;
  readonly compiled: CompiledRuleset;
  /** kube-proxy's nftables table (nftables mode): the `nft -f` script, its file name, as read. */
  readonly nft?: NodeNft;
}

export interface Twin {
  readonly model: ClusterModel;
  readonly network: Network;
  readonly plan: TwinPlan;
  readonly pods: ReadonlyMap<string, PodPlace>;
  readonly nodeRules: ReadonlyMap<string, NodeRules>;
  readonly router: string;
  /** The nodes built in this instance (all, unless `instantiate({nodes})` chose some). */
  readonly nodes: readonly string[];
  readonly defaults: readonly TwinDefault[];
  readonly diagnostics: readonly Diagnostic[];
  host(name: string): Host;
}

export interface TwinPlan {
  readonly model: ClusterModel;
  readonly diagnostics: readonly Diagnostic[];
  /** A fresh, cold data plane: every node, or only `nodes` (with all their pods). */
  instantiate(opts?: InstantiateOptions): Twin;
  /**
   * Builds one more node for instances to reuse (a plan that keeps nodes:
   * KeptNodes.buildAhead), for a server with nothing to answer; false (and
   * nothing built) when there is nothing more to build ahead.
   */
  buildAhead?(): boolean;
  /** How many nodes are kept built for instances to reuse now (0 when the plan keeps none). */
  keptNodes?(): number;
}

export interface InstantiateOptions {
  /**
   * Build only these nodes. A packet's walk touches few nodes; building only
   * them keeps a trace cheap in a 5,000-pod cluster. The caller must include
   * every node the packet can reach (see trace/connection.ts relevantNodes):
   * an unbuilt node does not answer ARP, and the walk would die there.
   */
  readonly nodes?: Iterable<string>;
  /**
   * Answer from an instance the plan keeps (planTwin's `keep`) for exactly
   * these nodes, put back to the cold state it was built in, instead of
   * building a new one. The instance stays valid until the next reuse.
   */
  readonly reuse?: boolean;
  /**
   * false: the nodes get no iptables (kube-proxy's, the CNI's, Felix's rules
   * are neither generated nor installed) — for listings of links, addresses,
   * routes, neighbours and the FDB, which the rules do not change.
   */
  readonly netfilter?: boolean;
}

/** How many built nodes a plan keeps for instances to reuse (InstantiateOptions.reuse; twin/keep.ts). */
export interface KeepOptions {
  /** At most this many nodes kept (default 0: none); when more are needed, the plan starts over. */
  readonly nodes?: number;
  /** Only instances of at most this many nodes are made from kept nodes (default 64). */
  readonly maxNodes?: number;
}

export function planTwin(model: ClusterModel, keep: KeepOptions = {}): TwinPlan {
  const planDiags: Diagnostic[] = [];
  const compiledCache = new Map<string, CompiledRules>();
  const parsedCache = new Map<RulesSource, ParsedRules>();
  const c = model.cluster;
  // The edge (fabric/edge.ts): LB status writers, the cloud VPC, ip-masq-agent, svclb pods.
  const edge = planEdge(model);
  planDiags.push(...edge.diagnostics);
  // NetworkPolicy: who enforces it on the nodes (policy/enforce-twin.ts); Felix's chains join each node's rules below.
  const policy = planPolicyEnforcement(model);
  planDiags.push(...policy.diagnostics);
  if (c.kubeProxy.mode !== 'iptables' && c.kubeProxy.mode !== 'nftables') {
    planDiags.push({
      code: 'proxy-mode-not-modelled',
      severity: 'warning',
      message: `kube-proxy mode ${c.kubeProxy.mode} is not modelled; the nodes get no Service rules`,
      object: `Cluster ${c.name}`,
      field: 'spec.kubeProxy.mode',
    });
  }
  const proxyFor = kubeProxyRulesFor(model, edge);
  // The underlay router's podCIDR routes, checked by the first instance and shared by the next.
  const fabricMemo: FabricMemo = {};
  const underlay = parseCidr(c.underlay.cidr);
  const keepFabric = !edge.vpc && edge.l2Leaders.size === 0;
  const parts = (net: Network, plugin: CniPlugin | undefined, node: ModelNode, nf: boolean) =>
    buildNodeParts(
      { model, edge, policy, plugin, net, compiledCache, parsedCache, proxyFor, underlay },
      node,
      nf,
    );
  /** The instance: its network, router and nodes as built (or lent), with what they report. */
  const assemble = (a: Assembly): Twin => {
    const { net, router, nodes } = a;
    const diagnostics: Diagnostic[] = [...planDiags, ...a.chosen];
    // The model's defaults head the list (30,000 at 150,000 pods): copied at once, not one by one.
    const more: TwinDefault[] = [];
    const pods = new Map<string, PodPlace>();
    const nodeRules = new Map<string, NodeRules>();
    for (const n of nodes) {
      for (const d of n.diagnostics) diagnostics.push(d);
      for (const d of n.defaults) more.push(d);
      for (const p of n.pods) pods.set(p.key, p);
      if (n.rules) nodeRules.set(n.name, n.rules);
    }
    diagnostics.push(...edge.finish(net, router));
    more.push(...edge.defaults);
    diagnostics.push(...a.pluginDiagnostics);
    for (const d of a.pluginDefaults)
      more.push({ ...d, object: d.object === 'Cluster' ? `Cluster ${c.name}` : d.object });
    more.push(...clusterDefaults);
    const defaults = withDefaultsAfter(model.defaults, more);
    return {
      model,
      network: net,
      plan,
      pods,
      nodeRules,
      router: router.name,
      nodes: nodes.map((n) => n.name),
      defaults,
      diagnostics,
      host: (n) => net.requireHost(n),
    };
  };
  const clusterDefaults: TwinDefault[] = [
    {
      object: `Cluster ${c.name}`,
      field: 'nodes',
      value:
        'net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.ipv4.conf.all.route_localnet=1',
      reason:
        'kubeadm requires ip_forward and bridge-nf-call-iptables; kube-proxy sets route_localnet for localhost NodePorts',
    },
    {
      object: `Cluster ${c.name}`,
      field: 'spec.underlay',
      value: `${routerName(model)} ${c.underlay.gateway}`,
      reason:
        c.cloud.provider === 'gce'
          ? "the VPC routes each node's podCIDR to that node (GCE routes)"
          : "the underlay gateway routes each node's podCIDR to that node",
    },
  ];
  const fresh = (opts: InstantiateOptions): Twin => {
    const only = opts.nodes ? new Set(opts.nodes) : undefined;
    const net = new Network();
    const chosen = pluginFor(c.cni);
    const plugin: CniPlugin | undefined = chosen.plugin;
    const fabric = buildFabric(net, model, fabricMemo);
    // The GCE VPC (routes, 1:1 NAT, firewall) is the edge's (fabric/gce.ts, installed by edge.finish).
    const nodes: NodeParts[] = [];
    for (const node of model.nodes.values())
      if (!only || only.has(node.metadata.name))
        nodes.push(parts(net, plugin, node, opts.netfilter !== false));
    return assemble({
      net,
      router: fabric.router,
      nodes,
      chosen: chosen.plugin ? [] : [chosen.diagnostic],
      pluginDiagnostics: plugin?.diagnostics ?? [],
      pluginDefaults: plugin?.defaults ?? [],
    });
  };
  const kept =
    (keep.nodes ?? 0) > 0
      ? new KeptNodes(model, keep, {
          fabric: (net) => buildFabric(net, model, fabricMemo).router,
          keepFabric,
          node: (net, plugin, node) => parts(net, plugin, node, true),
          assemble,
        })
      : undefined;
  const plan: TwinPlan = {
    model,
    diagnostics: planDiags,
    buildAhead: () => kept?.buildAhead() ?? false,
    keptNodes: () => kept?.size ?? 0,
    instantiate: (opts = {}) =>
      (opts.reuse && opts.netfilter !== false ? kept?.instantiate(opts.nodes) : undefined) ??
      fresh(opts),
  };
  return plan;
}

/** What building one node needs: the plan's parts and the instance being built. */
interface NodeBuild extends NodeContext {
  readonly pods: Map<string, PodPlace>;
  readonly nodeRules: Map<string, NodeRules>;
  readonly diagnostics: Diagnostic[];
  readonly defaults: TwinDefault[];
  /** Whether the nodes' iptables are generated and installed (InstantiateOptions.netfilter). */
  readonly netfilter: boolean;
}

/** The plan's parts a node's build reads, and the instance and plugin it builds into. */
interface NodeContext {
  readonly model: ClusterModel;
  readonly edge: Edge;
  readonly policy: PolicyEnforcementPlan;
  readonly plugin: CniPlugin | undefined;
  readonly net: Network;
  /** Per node: its rules as last built (instances of the plan reuse them). */
  readonly compiledCache: Map<string, CompiledRules>;
  /** Per distinct text (or generation): its one parse. */
  readonly parsedCache: Map<RulesSource, ParsedRules>;
  readonly proxyFor: (node: ModelNode) => ProxyRules;
  readonly underlay: Cidr;
}

/** Builds one node into `ctx.net`: what it holds and what it reported, apart from the other nodes'. */
function buildNodeParts(ctx: NodeContext, node: ModelNode, netfilter: boolean): NodeParts {
  const b: NodeBuild = {
    ...ctx,
    pods: new Map(),
    nodeRules: new Map(),
    diagnostics: [],
    defaults: [],
    netfilter,
  };
  buildNode(b, node);
  const name = node.metadata.name;
  return {
    name,
    pods: [...b.pods.values()],
    rules: b.nodeRules.get(name),
    diagnostics: b.diagnostics,
    defaults: b.defaults,
  };
}

/**
 * A node's parsed and compiled rules, kept for every instance of the plan.
 * The parse is shared by nodes with the same text (`ParsedRules`), but each
 * node's rules carry its own file name (`iptables-save@NODE`), which every
 * rule step of a trace names.
 */
interface CompiledRules {
  /** What the rules were read from: a (merged) text, or kube-proxy's generation alone. */
  from: RulesSource;
  readonly text: string;
  /** The node's nftables script (kube-proxy in nftables mode), '' when none. */
  nftText: string;
  ruleset: Ruleset;
  compiled: CompiledRuleset;
  nft?: NodeNft;
  diagnostics: Diagnostic[];
}

/** A node's iptables rules as read: merged text, or kube-proxy's generation installed from its tables. */
type RulesSource = string | Generated;

/** One parse (and one compilation) of a rule text, under the file name of the first node that had it. */
interface ParsedRules {
  readonly file: string;
  readonly ruleset: Ruleset;
  readonly compiled: CompiledRuleset;
  readonly diagnostics: Diagnostic[];
}

/** One node: its root namespace on the underlay, the CNI's node state, its pods, its rules. */
function buildNode(b: NodeBuild, node: ModelNode): void {
  const { model, edge, plugin, net, diagnostics, underlay } = b;
  const c = model.cluster;
  const name = node.metadata.name;
  const h = net.addHost(name, { loopbackUp: true });
  buildNodeRoot(h, node, underlay.prefix, c.underlay.gateway, c.underlay.mtu, diagnostics);
  net.attach(name, 'eth0', UNDERLAY_SEGMENT);
  if (!cidrContains(underlay, nodeInternalIP(node) ?? '0.0.0.0')) {
    diagnostics.push({
      code: 'node-off-underlay',
      severity: 'warning',
      message: `InternalIP ${nodeInternalIP(node)} is outside the underlay ${c.underlay.cidr}`,
      object: `Node ${name}`,
      field: 'status.addresses',
    });
  }
  plugin?.setupNode({ model, node, host: h });
  edge.setupNode(h, name);
  const portmapPods = placePods(b, node, h);
  if (b.netfilter) installNodeRules(b, node, h, portmapPods);
}

/** The node's pods: hostNetwork pods listen in the node's namespace, the others get theirs from the CNI. */
function placePods(b: NodeBuild, node: ModelNode, h: Host): PortmapPod[] {
  const { model, edge, plugin, net, pods, diagnostics } = b;
  const name = node.metadata.name;
  const portmapPods: PortmapPod[] = [];
  for (const pod of model.podsByNode.get(name) ?? []) {
    const key = nsName(pod);
    const ports = podPorts(pod);
    if (pod.spec.hostNetwork) {
      for (const p of ports) listen(h, p, key, diagnostics);
      pods.set(key, {
        key,
        pod,
        host: name,
        node: name,
        ip: pod.status.podIP,
        hostNetwork: true,
      });
      continue;
    }
    const ph = net.addHost(key);
    let hostIface: string | undefined;
    if (plugin) {
      try {
        hostIface = plugin.setupPod({ model, node, host: h, pod, podHost: ph }).hostIface;
      } catch (e) {
        diagnostics.push({
          code: 'cni-add-failed',
          severity: 'error',
          message: `CNI ADD failed: ${(e as Error).message}`,
          object: `Pod ${key}`,
        });
      }
    }
    for (const p of ports) listen(ph, p, key, diagnostics);
    diagnostics.push(...edge.setupPod(ph, pod));
    const eth0 = ph.addressesOf('eth0')[0];
    portmapPods.push({
      pod,
      ...(eth0 ? { containerNet: `${eth0.local}/${eth0.prefix}` } : {}),
    });
    pods.set(key, {
      key,
      pod,
      host: key,
      node: name,
      ip: pod.status.podIP,
      hostNetwork: false,
      ...(hostIface ? { hostIface } : {}),
    });
  }
  return portmapPods;
}

/**
 * The node's iptables: kube-proxy's rules merged with the CNI's, portmap's,
 * the edge's and Felix's, parsed, compiled (once per distinct text) and
 * installed with the node's IP sets.
 */
function installNodeRules(b: NodeBuild, node: ModelNode, h: Host, portmapPods: PortmapPod[]): void {
  const { model, edge, policy, plugin, nodeRules, diagnostics, defaults, compiledCache } = b;
  const { parsedCache, proxyFor } = b;
  const name = node.metadata.name;
  // kube-proxy first, then what the pods' CNI ADDs issued (bridge ipMasq, then portmap for hostPorts),
  // merged the way the components' check-then-add commands leave them (iptables/merge.ts).
  const proxy = proxyFor(node);
  diagnostics.push(...proxy.diagnostics);
  // The texts are read only when there is more than kube-proxy's to merge.
  const texts: { readonly text: string }[] = [proxy];
  const names = [`kube-proxy@${name}`];
  // The IP sets the node's rules match on (Calico's pools, Felix's policy sets).
  const ipsetTexts: string[] = [];
  const ipMasq = plugin?.rulesFor(name);
  if (ipMasq && ipMasq.text !== '') {
    texts.push(ipMasq);
    names.push(`cni-${plugin!.name}@${name}`);
    diagnostics.push(...ipMasq.diagnostics);
    if (ipMasq.ipsetSave) ipsetTexts.push(ipMasq.ipsetSave);
  }
  const pm = compilePortmap({ node: name, pods: portmapPods });
  diagnostics.push(...pm.diagnostics);
  for (const d of pm.defaults) defaults.push({ ...d });
  if (pm.text !== '') {
    texts.push(pm);
    names.push(`cni-portmap@${name}`);
  }
  // Edge components' node rules (ip-masq-agent: GKE's default, or spec.masquerade),
  // last in the start-up order (iptables/merge.ts START_ORDER).
  for (const f of edge.nodeFragments(name)) {
    texts.push(f.fragment);
    names.push(`${f.name}@${name}`);
  }
  // Calico's Felix (policy enforcement) last: it inserts its jumps on top and keeps them there.
  const felix = policy.nodeFragment(
    name,
    (model.podsByNode.get(name) ?? []).filter((p) => !p.spec.hostNetwork).map(nsName),
  );
  if (felix) {
    texts.push(felix);
    names.push(felix.name);
    diagnostics.push(...felix.diagnostics);
    if (felix.ipsetSave) ipsetTexts.push(felix.ipsetSave);
  }
  const ipsetSave = ipsetTexts.join('');
  let ipsets: IpSets = new Map();
  if (ipsetSave !== '') {
    const parsedSets = parseIpsetSave(ipsetSave, `ipset-save@${name}`);
    diagnostics.push(...parsedSets.diagnostics);
    ipsets = parsedSets.sets;
  }
  // kube-proxy's rules alone are installed from their tables (no text read back), once per
  // generation; merged with other components' they are read from the merged text.
  const alone = texts.length === 1 ? proxy.generated : undefined;
  let merged: string | undefined;
  if (texts.length > 1) {
    const m = mergeIptablesSaveWithDiagnostics(
      texts.map((t) => t.text),
      names,
    );
    merged = m.text;
    diagnostics.push(...m.diagnostics);
  }
  const from: RulesSource = alone ?? merged ?? proxy.text;
  const file = `iptables-save@${name}`;
  let entry = compiledCache.get(name);
  const nftText = proxy.nft ?? '';
  if (!entry || entry.from !== from || entry.nftText !== nftText) {
    // One parse and one compilation per distinct text (or generation); each node's compiled
    // view names its own file (every rule step of a trace does), the lines being the same.
    let parsed = parsedCache.get(from);
    if (!parsed) {
      const p =
        typeof from === 'string'
          ? parseIptablesSave(from, file)
          : parseIptablesTables(from.dump.tables, file, { family: 'ipv4' });
      const compiled = compileRuleset(p.ruleset);
      parsed = { file, ruleset: p.ruleset, compiled, diagnostics: p.diagnostics };
      parsedCache.set(from, parsed);
    }
    // A generation's rules may be shared with other generations' (read once, iptables/parse.ts
    // ChainMemo), naming no file: its compiled view names the node's always.
    const same = parsed.file === file && typeof from === 'string';
    const src = from;
    entry = {
      from,
      get text() {
        return typeof src === 'string' ? src : src.text;
      },
      nftText,
      ruleset: parsed.ruleset,
      compiled: same ? parsed.compiled : { ...parsed.compiled, file },
      diagnostics: same
        ? parsed.diagnostics
        : parsed.diagnostics.map((d) => (d.file === parsed!.file ? { ...d, file } : d)),
    };
    if (nftText !== '') {
      // Read per node: its rule steps name the node's own file.
      const n = readKubeProxyNft(nftText, `kube-proxy.nft@${name}`);
      const diags = [...entry.diagnostics, ...n.diagnostics];
      entry = {
        ...entry,
        compiled: { ...entry.compiled, nft: n.compiled },
        nft: n.nft,
        diagnostics: diags,
      };
    }
    compiledCache.set(name, entry);
  }
  diagnostics.push(...entry.diagnostics);
  installIptables(h, entry.compiled, ipsets);
  const e = entry;
  nodeRules.set(name, {
    get text() {
      return e.text;
    },
    ipsetSave,
    ipsets,
    ruleset: entry.ruleset,
    compiled: entry.compiled,
    ...(entry.nft ? { nft: entry.nft } : {}),
  });
}

function buildNodeRoot(
  h: Host,
  node: ModelNode,
  prefix: number,
  gateway: string,
  mtu: number,
  diagnostics: Diagnostic[],
): void {
  const ip = nodeInternalIP(node);
  h.link.addEther('eth0', { mtu });
  h.link.set('eth0', { up: true });
  if (ip !== undefined) h.addr.add(`${ip}/${prefix}`, 'eth0');
  try {
    h.route.add({ dst: 'default', via: gateway, dev: 'eth0', ...(ip === undefined ? {} : {}) });
  } catch (e) {
    diagnostics.push({
      code: 'node-no-default-route',
      severity: 'warning',
      message: `default via ${gateway}: ${(e as Error).message}`,
      object: `Node ${node.metadata.name}`,
    });
  }
  h.sysctl.set('net.ipv4.ip_forward', 1);
  h.sysctl.set('net.bridge.bridge-nf-call-iptables', 1);
  h.sysctl.set('net.ipv4.conf.all.route_localnet', 1);
}

/** planTwin(model).instantiate(), refusing a model with errors. */
export function buildTwin(model: ClusterModel): Twin {
  return planTwin(model).instantiate();
}

export { externalHostName, routerName };
export { hasErrors };
