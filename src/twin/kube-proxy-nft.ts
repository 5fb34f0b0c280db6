/**
 * kube-proxy in nftables mode on the twin's nodes: its `kube-proxy` table
 * generated per node (proxy/nftables, once per distinct node key as the
 * iptables mode's rules are), and the table read back into the kernel model
 * so it runs at the hooks by priority beside the node's iptables tables.
 */
import type { Diagnostic } from '../diag.js';
import { parseNft } from '../iptables/nft/parse.js';
import type { ClusterModel, ModelNode } from '../k8s/model.js';
import type { Service } from '../k8s/types.js';
import type { NftRuleset } from '../kernel/netfilter/nft-types.js';
import { CompiledNft } from '../kernel/netfilter/nft-walk.js';
import {
  generateNftablesRules,
  proxierFlagsFor,
  proxyNodeKeys,
  ProxyShare,
} from '../proxy/index.js';

/** A node's kube-proxy table as read: the `nft -f` script, its file name, its ruleset. */
export interface NodeNft {
  readonly text: string;
  readonly file: string;
  readonly ruleset: NftRuleset;
}

/** The `nft -f` script kube-proxy's nftables proxier leaves on each node, with diagnostics naming the node. */
export function kubeProxyNftFor(
  model: ClusterModel,
  services: readonly Service[],
): (node: ModelNode) => { nft: string; diagnostics: Diagnostic[] } {
  const c = model.cluster;
  const byKey = new Map<string, { text: string; diagnostics: readonly Diagnostic[] }>();
  const keyOf = proxyNodeKeys(services, model.endpointSlices);
  // The nodes' syncs read one service port map (proxy/share.ts).
  const share = new ProxyShare(services, model.endpointSlices);
  return (node) => {
    const flags = proxierFlagsFor(c, node);
    const input = {
      ...flags,
      // kube-proxy's nftables mode: no --nodeport-addresses means the node's primary IP.
      nodePortAddresses: flags.nodePortAddresses ?? ['primary'],
      serviceCIDRs: [c.serviceCIDR],
      nodeName: node.metadata.name,
      nodeIPs: node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address),
      ...(node.metadata.labels ? { nodeLabels: node.metadata.labels } : {}),
    };
    const key = keyOf(input);
    let r = byKey.get(key);
    if (!r) {
      r = generateNftablesRules(
        { ...input, services, endpointSlices: model.endpointSlices },
        share,
      );
      byKey.set(key, r);
    }
    const name = node.metadata.name;
    const diagnostics = r.diagnostics.map((d) => ({
      ...d,
      message: `kube-proxy on ${name}: ${d.message}`,
    }));
    return { nft: r.text, diagnostics };
  };
}

/** The script read per node (its rule steps name the node's own file), compiled for the hooks. */
export function readKubeProxyNft(
  text: string,
  file: string,
): { nft: NodeNft; compiled: CompiledNft; diagnostics: readonly Diagnostic[] } {
  const p = parseNft(text, file);
  return {
    nft: { text, file, ruleset: p.ruleset },
    compiled: new CompiledNft(p.ruleset),
    diagnostics: p.diagnostics,
  };
}
