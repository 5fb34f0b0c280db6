/**
 * Test helper: one upstream kube-proxy flow-corpus file
 * (test/fixtures/kube-proxy/flows-only) as the cluster a user would hand
 * packeteye — JSON (a List) with a Cluster object carrying the proxier's
 * settings, the Node, the Services and EndpointSlices — in iptables mode
 * (its layout by the file's era) or nftables mode (1.34).
 */
import type { FlowFile } from '../../proxy/testing/flows-corpus.js';

/** `0x4000` → 14: the bit of `--iptables-masquerade-bit`. */
function maskBit(mark: string): number {
  const v = Number.parseInt(mark, 16);
  return Math.log2(v);
}

/** One corpus file as the cluster a user would hand packeteye: JSON (a List) with a Cluster. */
export function corpusCluster(
  file: string,
  f: FlowFile,
  mode: 'iptables' | 'nftables' = 'iptables',
): string {
  const p = f.inputs.proxier;
  const detector = p.localDetector;
  const kubeProxy: Record<string, unknown> = {
    mode,
    version: mode === 'nftables' ? '1.34' : file.startsWith('v127_') ? '1.27' : '1.31',
    masqueradeAll: p.masqueradeAll,
    localhostNodePorts: p.localhostNodePorts,
    masqueradeBit: maskBit(p.masqueradeMark),
  };
  // kube-proxy without --cluster-cidr has no local-traffic detector.
  if (detector.mode !== 'ClusterCIDR') kubeProxy.clusterCIDR = '';
  const npa = (p.nodePortAddresses ?? []).filter((a) => !a.includes(':'));
  if (npa.length > 0) kubeProxy.nodePortAddresses = npa;
  const cluster = {
    apiVersion: 'packeteye.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'corpus' },
    spec: {
      clusterCIDR: detector.mode === 'ClusterCIDR' ? detector.cidr : '10.0.0.0/8',
      serviceCIDR: '172.30.0.0/16',
      nodeCIDRMaskSize: 24,
      cni: { plugin: 'bridge' },
      kubeProxy,
      underlay: { cidr: '192.168.0.0/24', gateway: '192.168.0.1' },
    },
  };
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: p.nodeName },
    // The node's IPv4 interface addresses, its node IP first: kube-proxy's --nodeport-addresses
    // matches every one of them.
    status: {
      addresses: [
        p.nodeIP,
        ...(p.nodeInterfaceAddresses ?? [])
          .map((a) => a.split('/')[0]!)
          .filter((a) => a !== p.nodeIP && !a.startsWith('127.') && !a.includes(':')),
      ].map((address) => ({ type: 'InternalIP', address })),
    },
  };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [cluster, node, ...f.inputs.services, ...f.inputs.endpointSlices],
  });
}
