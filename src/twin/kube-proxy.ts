/**
 * kube-proxy's rules per node in the twin: one generation per kube-proxy
 * node key (proxy/node-key.ts), the keys' common part computed once
 * (proxy/share.ts); nftables mode through kube-proxy-nft.ts.
 */
import type { Diagnostic } from '../diag.js';
import type { ClusterModel, ModelNode } from '../k8s/model.js';
import type { Edge } from '../fabric/edge.js';
import {
  formatDump,
  generateIptablesDump,
  proxierFlagsFor,
  proxyNodeKeys,
  ProxyShare,
  type Dump,
} from '../proxy/index.js';
import { kubeProxyNftFor } from './kube-proxy-nft.js';

/** kube-proxy's rules for one node: text, and diagnostics naming the node. */
export interface ProxyRules {
  /** iptables-save text (printed from `generated.dump` when first asked for). */
  readonly text: string;
  /** The generation, shared by the nodes of one kube-proxy key (absent when not in iptables mode). */
  readonly generated?: Generated;
  /** nftables mode: the `kube-proxy` table as an `nft -f` script. */
  readonly nft?: string;
  readonly diagnostics: Diagnostic[];
}

/** One generation of kube-proxy's rules: the tables with each rule's parsed form, the text on demand. */
export interface Generated {
  readonly dump: Dump;
  readonly text: string;
  readonly diagnostics: readonly Diagnostic[];
}

function generated(dump: Dump, diagnostics: readonly Diagnostic[]): Generated {
  let text: string | undefined;
  return {
    dump,
    diagnostics,
    get text() {
      return (text ??= formatDump(dump));
    },
  };
}

/**
 * kube-proxy's rules per node, generated the first time the node is built (a
 * big cluster's trace touches few nodes) — and once per distinct set of what
 * the rules read of the node (proxy/node-key.ts): nodes that differ only in
 * what kube-proxy does not look at share one generation.
 */
export function kubeProxyRulesFor(
  model: ClusterModel,
  edge: Edge,
): (node: ModelNode) => ProxyRules {
  const c = model.cluster;
  const proxyText = new Map<string, ProxyRules>();
  const services = [...edge.services];
  const byKey = new Map<string, Generated>();
  const nftFor = c.kubeProxy.mode === 'nftables' ? kubeProxyNftFor(model, services) : undefined;
  let keyOf: ReturnType<typeof proxyNodeKeys> | undefined;
  let share: ProxyShare | undefined;
  return (node: ModelNode): ProxyRules => {
    const name = node.metadata.name;
    let e = proxyText.get(name);
    if (e) return e;
    if (nftFor) e = { text: '', ...nftFor(node) };
    else if (c.kubeProxy.mode !== 'iptables') {
      e = { text: '', diagnostics: [] };
    } else {
      const input = {
        ...proxierFlagsFor(c, node),
        nodeName: name,
        // Every InternalIP the Node lists: kube-proxy's node IPs for --nodeport-addresses.
        nodeIPs: node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address),
        ...(node.metadata.labels ? { nodeLabels: node.metadata.labels } : {}),
        nfacct: false,
      };
      keyOf ??= proxyNodeKeys(services, model.endpointSlices);
      const key = keyOf(input);
      let r = byKey.get(key);
      if (!r) {
        // What the keys' generations have in common is computed once (proxy/share.ts).
        share ??= new ProxyShare(services, model.endpointSlices);
        const g = generateIptablesDump(
          { ...input, services, endpointSlices: model.endpointSlices },
          share,
        );
        r = generated(g.dump, g.diagnostics);
        byKey.set(key, r);
      }
      const gen = r;
      e = {
        get text() {
          return gen.text;
        },
        generated: gen,
        diagnostics: r.diagnostics.map((d) => ({
          ...d,
          message: `kube-proxy on ${name}: ${d.message}`,
        })),
      };
    }
    proxyText.set(name, e);
    return e;
  };
}
