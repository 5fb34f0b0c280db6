/**
 * proxy/: kube-proxy as a compiler into kernel state.
 *
 * iptables mode (`iptables.ts`; the proxier's settings in `proxier.ts`, the
 * sync phases in `sync.ts` and `sync-node.ts`) turns Services, EndpointSlices and the
 * proxier's settings into exactly the rules kube-proxy writes on a node —
 * chain names hashed as `pkg/proxy/iptables/proxier.go` hashes them
 * (`hash.ts`), endpoints chosen as `pkg/proxy/topology.go` chooses them
 * (`endpoints.ts`), rule text per release (`version.ts`: the 1.27 layout and
 * the current one). The result is `iptables-save`-format text that
 * `iptables/parse.ts` and the real `iptables-restore` both accept.
 *
 * Packet walk through those rules, for a Service VIP (nat PREROUTING/OUTPUT):
 *
 *   KUBE-SERVICES --(-d VIP --dport P)--> KUBE-SVC-x  (ITP Cluster) | KUBE-SVL-x (ITP Local)
 *        |                                  | 1st rule: ! -s clusterCIDR -> KUBE-MARK-MASQ
 *        |                                  | statistic 1/n, 1/(n-1), ... -> KUBE-SEP-y
 *        |                                  v
 *        |                               KUBE-SEP-y: -s own IP -> KUBE-MARK-MASQ (hairpin); DNAT
 *        +--(external IP / LB IP)--> KUBE-EXT-x (or KUBE-FW-x with loadBalancerSourceRanges)
 *        +--(addrtype LOCAL, last)--> KUBE-NODEPORTS --(--dport nodePort)--> KUBE-EXT-x
 *
 * and in filter: KUBE-SERVICES / KUBE-EXTERNAL-SERVICES REJECT or DROP what
 * has no (local) endpoints, KUBE-PROXY-FIREWALL drops LB traffic KUBE-FW-x did
 * not accept, KUBE-NODEPORTS accepts health check node ports, KUBE-FORWARD
 * drops ctstate INVALID and accepts marked and established traffic; nat
 * KUBE-POSTROUTING masquerades what carries the 0x4000 mark.
 */

export {
  generateIptablesRules,
  generateIptablesDump,
  generateKubeProxyRestore,
  computeProbability,
  JUMP_CHAINS,
  type ProxyInput,
  type ProxyOutput,
  type RestoreOutput,
  type LocalDetector,
} from './iptables.js';
export {
  servicePortChainName,
  serviceLocalChainName,
  serviceExternalChainName,
  serviceFirewallChainName,
  endpointChainName,
  servicePortNameString,
  portProtoHash,
} from './hash.js';
export {
  categorizeEndpoints,
  categorizeEndpoints as CategorizeEndpoints,
  buildServicePortMap,
  usesClusterEndpoints,
  usesLocalEndpoints,
  externallyAccessible,
  type CategorizedEndpoints,
  type EndpointInfo,
  type ServicePortInfo,
  type ServicePortMap,
} from './endpoints.js';
export { sortIptablesText, sortDump, parseDump, formatDump, type Dump } from './dump.js';
export { proxierFlagsFor, localDetectorFor, masqueradeMarkOf } from './cluster.js';
export { proxyNodeKeys } from './node-key.js';
export { ProxyShare } from './share.js';
export { resolveLayout, DEFAULT_VERSION, type ProxyLayout } from './version.js';
export type { IpFamily } from './ipaddr.js';
export {
  generateNftablesRules,
  KUBE_PROXY_TABLE,
  resolveNftLayout,
  type NftLayout,
  type NftProxyOutput,
} from './nftables/index.js';
