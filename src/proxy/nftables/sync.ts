/**
 * kube-proxy's nftables mode as a compiler: Services + EndpointSlices +
 * proxier flags -> the `kube-proxy` table kube-proxy leaves on a node after
 * a full sync, as the `nft -f` script knftables' fake dumps
 * (`tx.ts`). Follows `pkg/proxy/nftables/proxier.go` — `setupNFTables`
 * (`writeSetup`) and the per-service-port loop of `syncProxyRules`
 * (`writeServicePort`, `writeServiceToEndpointRules`) — reusing the Service
 * and endpoint model the iptables mode computes (`../endpoints.ts`:
 * `buildServicePortMap`, `categorizeEndpoints`). Release differences are in
 * `layout.ts`.
 *
 * Packet walk (IPv4; `ip6` for the IPv6 proxier):
 *
 *   nat-prerouting / nat-output -> services:
 *     ip daddr . meta l4proto . th dport vmap @service-ips
 *         ClusterIP -> goto service-HASH-ns/svc/proto/port (ITP Local: local-…)
 *         external IP / LB IP -> goto external-HASH-… (masquerade, or ETP Local short-circuits)
 *     ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports -> external-HASH-…
 *   service-/local- chain: masquerade off-cluster sources, affinity sets,
 *     numgen random mod N vmap { i : goto endpoint-HASH-…__IP/port }
 *   endpoint- chain: hairpin masquerade, update @affinity-…, dnat to IP:port
 *   filter chains: firewall-check (@firewall-ips -> firewall-HASH-… drops
 *     sources outside loadBalancerSourceRanges), service-/nodeport-endpoints-check
 *     (@no-endpoint-services / @no-endpoint-nodeports: drop, or goto reject-chain),
 *     cluster-ips-check (reject other ports of a ClusterIP, drop unallocated ones)
 *   nat-postrouting -> masquerading: masquerade what carries the mark.
 *
 * kube-proxy's defaults in nftables mode: `--nodeport-addresses` unset means
 * the node's primary IPs (`primary`), not every local address.
 */

import type { ProxyShare } from '../share.js';
import type { Diagnostic } from '../../diag.js';
import {
  buildServicePortMap,
  categorizeEndpoints,
  externallyAccessible,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type EndpointInfo,
  type ServicePortInfo,
} from '../endpoints.js';
import { canonicalIp, cidrContainsIp, isLoopback, parseCidrAny } from '../ipaddr.js';
import {
  nodePortAddresses,
  proxierBasics,
  type LocalDetector,
  type NodePortAddresses,
  type ProxyInput,
} from '../proxier.js';
import { resolveNftLayout, type NftLayout } from './layout.js';
import { servicePortChainNameBase, servicePortEndpointChainNameBase } from './names.js';
import { NftTransaction, type NftChainSpec } from './tx.js';
import { DEFAULT_VERSION } from '../version.js';

export const KUBE_PROXY_TABLE = 'kube-proxy';

export interface NftProxyOutput {
  /** The `kube-proxy` table as an `nft -f` script (`add table ip kube-proxy …`). */
  readonly text: string;
  readonly diagnostics: Diagnostic[];
  readonly layout: NftLayout;
  /** `ip` (IPv4 proxier) or `ip6`. */
  readonly family: 'ip' | 'ip6';
}

/** What NewProxier and setupNFTables settle before any service is written. */
interface NftSettings {
  readonly layout: NftLayout;
  readonly ipX: 'ip' | 'ip6';
  readonly addrType: 'ipv4_addr' | 'ipv6_addr';
  readonly nodeIP: string | undefined;
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  readonly detector: { ifLocal: string; ifNotLocal: string } | undefined;
  readonly npa: NodePortAddresses;
}

/** `LocalTrafficDetector.IfLocalNFT` / `IfNotLocalNFT` (`pkg/proxy/util/localdetector.go`). */
function detectorNft(
  d: LocalDetector | undefined,
  ipX: string,
): { ifLocal: string; ifNotLocal: string } | undefined {
  if (!d) return undefined;
  switch (d.mode) {
    case 'NoOp':
      return undefined;
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const c = parseCidrAny(d.cidr);
      const text = c ? c.text : d.cidr;
      return { ifLocal: `${ipX} saddr ${text}`, ifNotLocal: `${ipX} saddr != ${text}` };
    }
    case 'BridgeInterface':
      return { ifLocal: `iif ${d.interfaceName}`, ifNotLocal: `iif != ${d.interfaceName}` };
    case 'InterfaceNamePrefix':
      return { ifLocal: `iif ${d.prefix}*`, ifNotLocal: `iif != ${d.prefix}*` };
  }
}

const CHAIN = {
  services: 'services',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  reject: 'reject-chain',
  clusterIPsCheck: 'cluster-ips-check',
  firewallCheck: 'firewall-check',
  markMasq: 'mark-for-masquerade',
  masquerading: 'masquerading',
} as const;

const SET = {
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  nodePortIPs: 'nodeport-ips',
  clusterIPs: 'cluster-ips',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
} as const;

/** DNATPriority is -100, SNATPriority 100, FilterPriority 0. */
function baseChains(l: NftLayout): [string, NftChainSpec][] {
  const nat: [string, NftChainSpec][] = [
    ['nat-prerouting', { type: 'nat', hook: 'prerouting', priority: -100 }],
    ['nat-output', { type: 'nat', hook: 'output', priority: -100 }],
    ['nat-postrouting', { type: 'nat', hook: 'postrouting', priority: 100 }],
  ];
  if (l.preDnatChains) {
    return [
      ['filter-prerouting-pre-dnat', { type: 'filter', hook: 'prerouting', priority: -110 }],
      ['filter-output-pre-dnat', { type: 'filter', hook: 'output', priority: -110 }],
      ['filter-input', { type: 'filter', hook: 'input', priority: 0 }],
      ['filter-forward', { type: 'filter', hook: 'forward', priority: 0 }],
      ['filter-output', { type: 'filter', hook: 'output', priority: 0 }],
      ...nat,
    ];
  }
  return [
    ['filter-prerouting', { type: 'filter', hook: 'prerouting', priority: -110 }],
    ['filter-input', { type: 'filter', hook: 'input', priority: -110 }],
    ['filter-forward', { type: 'filter', hook: 'forward', priority: -110 }],
    ['filter-output', { type: 'filter', hook: 'output', priority: -110 }],
    ['filter-output-post-dnat', { type: 'filter', hook: 'output', priority: -90 }],
    ...nat,
  ];
}

/** `nftablesJumpChains`: [destination, source, extra match], in source order. */
function jumpChains(l: NftLayout): [string, string, string][] {
  const pre = l.preDnatChains ? 'filter-prerouting-pre-dnat' : 'filter-prerouting';
  const outPre = l.preDnatChains ? 'filter-output-pre-dnat' : 'filter-output';
  const outPost = l.preDnatChains ? 'filter-output' : 'filter-output-post-dnat';
  const NEW = 'ct state new';
  return [
    [CHAIN.nodePortEndpointsCheck, 'filter-input', NEW],
    [CHAIN.serviceEndpointsCheck, 'filter-input', NEW],
    [CHAIN.serviceEndpointsCheck, 'filter-forward', NEW],
    [CHAIN.serviceEndpointsCheck, 'filter-output', NEW],
    [CHAIN.firewallCheck, pre, NEW],
    [CHAIN.firewallCheck, outPre, NEW],
    [CHAIN.services, 'nat-output', ''],
    [CHAIN.services, 'nat-prerouting', ''],
    [CHAIN.masquerading, 'nat-postrouting', ''],
    [CHAIN.clusterIPsCheck, 'filter-forward', NEW],
    [CHAIN.clusterIPsCheck, outPost, NEW],
  ];
}

/** `proxyutil.NodePortAddresses.GetNodeIPs`: interface addresses inside the CIDRs, in CIDR order. */
function nodePortIPs(
  input: ProxyInput,
  npa: NodePortAddresses,
  diagnostics: Diagnostic[],
): string[] {
  const ifaceAddrs = (input.interfaceAddresses ?? ['127.0.0.1', '::1', ...input.nodeIPs]).map((a) =>
    canonicalIp(a.trim().split('/')[0]!),
  );
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of npa.cidrs) {
    for (const a of ifaceAddrs) {
      if (seen.has(a) || !cidrContainsIp(c, a)) continue;
      seen.add(a);
      if (isLoopback(a)) {
        diagnostics.push({
          code: 'proxy.nodePortAddresses.localhost',
          severity: 'warning',
          message: `--nodeport-addresses includes localhost (${a}) but nftables mode has no localhost NodePorts`,
          field: 'nodePortAddresses',
        });
        continue;
      }
      out.push(a);
    }
  }
  return out;
}

/** `setupNFTables`: the table, base chains, jump rules, masquerading, sets and maps. */
function writeSetup(
  tx: NftTransaction,
  s: NftSettings,
  input: ProxyInput,
  diagnostics: Diagnostic[],
): void {
  const { ipX, addrType } = s;
  const noLocalhost = ipX === 'ip' ? 'ip daddr != 127.0.0.0/8' : 'ip6 daddr != ::1';
  for (const [name, spec] of baseChains(s.layout)) tx.chain(name, { spec });
  for (const [dst, src, extra] of jumpChains(s.layout)) {
    tx.chain(dst);
    tx.rule(src, extra === '' ? `jump ${dst}` : `${extra} jump ${dst}`);
  }
  for (const c of [CHAIN.services, CHAIN.clusterIPsCheck, CHAIN.masquerading, CHAIN.markMasq])
    tx.chain(c);
  tx.rule(CHAIN.markMasq, `mark set mark or ${s.masqueradeMark}`);
  tx.rule(CHAIN.masquerading, `mark and ${s.masqueradeMark} == 0 return`);
  tx.rule(CHAIN.masquerading, `mark set mark xor ${s.masqueradeMark}`);
  tx.rule(CHAIN.masquerading, 'masquerade fully-random');

  tx.set(SET.clusterIPs, `{ type ${addrType} ; comment "Active ClusterIPs" ; }`);
  tx.rule(
    CHAIN.clusterIPsCheck,
    `${ipX} daddr @${SET.clusterIPs} reject`,
    'Reject traffic to invalid ports of ClusterIPs',
  );
  const serviceCIDRs = (input.serviceCIDRs ?? []).filter(
    (c) => parseCidrAny(c.trim())?.family === (ipX === 'ip' ? 'IPv4' : 'IPv6'),
  );
  if (serviceCIDRs.length > 0) {
    tx.rule(
      CHAIN.clusterIPsCheck,
      `${ipX} daddr { ${serviceCIDRs.map((c) => c.trim()).join(',')} } drop`,
      'Drop traffic to unallocated ClusterIPs',
    );
  }

  tx.set(SET.nodePortIPs, `{ type ${addrType} ; comment "IPs that accept NodePort traffic" ; }`);
  if (s.npa.matchAll) tx.deleteSet(SET.nodePortIPs);
  else for (const ip of nodePortIPs(input, s.npa, diagnostics)) tx.element(SET.nodePortIPs, [ip]);

  const vmap3 = `${addrType} . inet_proto . inet_service : verdict`;
  const vmap2 = 'inet_proto . inet_service : verdict';
  tx.map(
    SET.noEndpointServices,
    `{ type ${vmap3} ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
  );
  tx.map(
    SET.noEndpointNodePorts,
    `{ type ${vmap2} ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
  );
  tx.chain(CHAIN.reject, { comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' });
  tx.rule(CHAIN.reject, 'reject');
  tx.rule(
    CHAIN.serviceEndpointsCheck,
    `${ipX} daddr . meta l4proto . th dport vmap @${SET.noEndpointServices}`,
  );
  const nodePortDst = s.npa.matchAll ? noLocalhost : `${ipX} daddr @${SET.nodePortIPs}`;
  tx.rule(
    CHAIN.nodePortEndpointsCheck,
    `${nodePortDst} meta l4proto . th dport vmap @${SET.noEndpointNodePorts}`,
  );

  tx.map(
    SET.firewallIPs,
    `{ type ${vmap3} ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
  );
  tx.chain(CHAIN.firewallCheck);
  tx.rule(CHAIN.firewallCheck, `${ipX} daddr . meta l4proto . th dport vmap @${SET.firewallIPs}`);

  tx.map(
    SET.serviceIPs,
    `{ type ${vmap3} ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
  );
  tx.map(SET.serviceNodePorts, `{ type ${vmap2} ; comment "NodePort traffic" ; }`);
  tx.rule(CHAIN.services, `${ipX} daddr . meta l4proto . th dport vmap @${SET.serviceIPs}`);
  const nodePortMatch = s.npa.matchAll
    ? `fib daddr type local ${noLocalhost}`
    : `${ipX} daddr @${SET.nodePortIPs}`;
  tx.rule(CHAIN.services, `${nodePortMatch} meta l4proto . th dport vmap @${SET.serviceNodePorts}`);
}

/**
 * The `kube-proxy` table kube-proxy's nftables proxier writes for `input`
 * (one IP family: `input.ipFamily`, default IPv4).
 */
export function generateNftablesRules(input: ProxyInput, shared?: ProxyShare): NftProxyOutput {
  // A share holds one cluster's objects: it is used for the input that holds them.
  const share =
    shared?.services === input.services && shared.endpointSlices === input.endpointSlices
      ? shared
      : undefined;
  const diagnostics: Diagnostic[] = [];
  const layout = resolveNftLayout(input.version ?? DEFAULT_VERSION, diagnostics);
  const family = input.ipFamily ?? 'IPv4';
  const ipX = family === 'IPv4' ? 'ip' : 'ip6';
  const { nodeIP, masqueradeMark, localDetector } = proxierBasics(input, family, diagnostics);
  const s: NftSettings = {
    layout,
    ipX,
    addrType: family === 'IPv4' ? 'ipv4_addr' : 'ipv6_addr',
    nodeIP,
    masqueradeMark,
    masqueradeAll: input.masqueradeAll ?? false,
    detector: detectorNft(localDetector, ipX),
    // In nftables mode an unset --nodeport-addresses means the primary node IPs.
    npa: nodePortAddresses(family, input.nodePortAddresses ?? ['primary'], nodeIP, diagnostics),
  };
  const tx = new NftTransaction(ipX, KUBE_PROXY_TABLE, 'rules for kube-proxy');
  writeSetup(tx, s, input, diagnostics);
  // LoadBalancerIPMode is on by default from 1.30, before every modelled nftables layout.
  const mapOpts = { family, nodeName: input.nodeName, honourIpMode: true };
  const { ports, endpoints } = share
    ? share.portMap(mapOpts, diagnostics)
    : buildServicePortMap(input.services, input.endpointSlices, mapOpts, diagnostics);
  const nodeLabels = input.nodeLabels ?? {};
  // kube-proxy iterates a Go map (random order); the rules of different services never overlap.
  for (const key of share ? share.sortedKeys(ports) : [...ports.keys()].sort()) {
    const svcInfo = ports.get(key)!;
    writeServicePort(tx, s, svcInfo, endpoints.get(key) ?? [], nodeLabels);
  }
  return { text: tx.dump(), diagnostics, layout, family: ipX };
}

/** Names of one service port's chains (`newServiceInfo` / `newEndpointInfo`), each hashed once. */
function chainNames(svc: ServicePortInfo) {
  const base = servicePortChainNameBase(svc.namespace, svc.name, svc.proto, svc.portName);
  const bases = new Map<EndpointInfo, string>();
  const epBase = (ep: EndpointInfo): string => {
    let b = bases.get(ep);
    if (b === undefined) {
      b = servicePortEndpointChainNameBase(
        svc.namespace,
        svc.name,
        svc.proto,
        svc.portName,
        ep.ip,
        ep.port,
      );
      bases.set(ep, b);
    }
    return b;
  };
  return {
    cluster: `service-${base}`,
    local: `local-${base}`,
    external: `external-${base}`,
    firewall: `firewall-${base}`,
    endpoint: (ep: EndpointInfo) => `endpoint-${epBase(ep)}`,
    affinity: (ep: EndpointInfo) => `affinity-${epBase(ep)}`,
  };
}

type ChainNames = ReturnType<typeof chainNames>;

/** One iteration of syncProxyRules' service-port loop. */
function writeServicePort(
  tx: NftTransaction,
  s: NftSettings,
  svc: ServicePortInfo,
  allEndpoints: readonly EndpointInfo[],
  nodeLabels: Readonly<Record<string, string>>,
): void {
  const { ipX } = s;
  const names = chainNames(svc);
  const eps = categorizeEndpoints(allEndpoints, svc, nodeLabels);
  const {
    clusterEndpoints,
    localEndpoints,
    allReachableEndpoints,
    hasAnyEndpoints: hasEndpoints,
  } = eps;
  for (const ep of allReachableEndpoints) tx.chain(names.endpoint(ep));
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(svc);
  if (usesClusterPolicyChain) tx.chain(names.cluster);
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(svc);
  if (usesLocalPolicyChain) tx.chain(names.local);

  let internalTrafficChain = names.cluster;
  let hasInternalEndpoints = hasEndpoints;
  if (svc.internalPolicyLocal) {
    internalTrafficChain = names.local;
    if (localEndpoints.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = names.cluster;
  let hasExternalEndpoints = hasEndpoints;
  if (svc.externalPolicyLocal) {
    externalPolicyChain = names.local;
    if (localEndpoints.length === 0) hasExternalEndpoints = false;
  }
  const externalTrafficChain = names.external;
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(svc);
  if (usesExternalTrafficChain) tx.chain(externalTrafficChain);

  let internalFilterVerdict = '';
  let externalFilterVerdict = '';
  if (!hasEndpoints) {
    internalFilterVerdict = `goto ${CHAIN.reject}`;
    externalFilterVerdict = `goto ${CHAIN.reject}`;
  } else {
    if (!hasInternalEndpoints) internalFilterVerdict = 'drop';
    if (!hasExternalEndpoints) externalFilterVerdict = 'drop';
  }
  const port = String(svc.port);
  const proto = svc.proto;
  const comment = svc.nameString;

  // Capture the clusterIP.
  tx.element(SET.clusterIPs, [svc.clusterIP]);
  if (hasInternalEndpoints) {
    tx.element(SET.serviceIPs, [svc.clusterIP, proto, port], `goto ${internalTrafficChain}`);
  } else {
    tx.element(
      SET.noEndpointServices,
      [svc.clusterIP, proto, port],
      internalFilterVerdict,
      comment,
    );
  }
  // Capture externalIPs.
  for (const ip of svc.externalIPs) {
    if (hasEndpoints) tx.element(SET.serviceIPs, [ip, proto, port], `goto ${externalTrafficChain}`);
    if (!hasExternalEndpoints) {
      tx.element(SET.noEndpointServices, [ip, proto, port], externalFilterVerdict, comment);
    }
  }
  // Capture load-balancer ingress.
  const usesFWChain = svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  if (usesFWChain) tx.chain(names.firewall);
  for (const lbip of svc.loadBalancerVIPs) {
    if (hasEndpoints)
      tx.element(SET.serviceIPs, [lbip, proto, port], `goto ${externalTrafficChain}`);
    if (usesFWChain) tx.element(SET.firewallIPs, [lbip, proto, port], `goto ${names.firewall}`);
  }
  if (!hasExternalEndpoints) {
    for (const lbip of svc.loadBalancerVIPs) {
      tx.element(SET.noEndpointServices, [lbip, proto, port], externalFilterVerdict, comment);
    }
  }
  // Capture nodeports (not subject to loadBalancerSourceRanges).
  if (svc.nodePort !== 0) {
    const np = String(svc.nodePort);
    if (hasEndpoints) tx.element(SET.serviceNodePorts, [proto, np], `goto ${externalTrafficChain}`);
    if (!hasExternalEndpoints)
      tx.element(SET.noEndpointNodePorts, [proto, np], externalFilterVerdict, comment);
  }

  // Internal traffic: masquerade off-cluster (or all) traffic to the ClusterIP.
  if (hasInternalEndpoints) {
    const dst = s.layout.masqueradeMatchesPort
      ? `${ipX} daddr ${svc.clusterIP} ${proto} dport ${port}`
      : `${ipX} daddr ${svc.clusterIP}`;
    if (s.masqueradeAll) tx.rule(internalTrafficChain, `${dst} jump ${CHAIN.markMasq}`);
    else if (s.detector)
      tx.rule(internalTrafficChain, `${dst} ${s.detector.ifNotLocal} jump ${CHAIN.markMasq}`);
  }
  if (usesExternalTrafficChain) {
    writeExternalChain(tx, s, svc, externalTrafficChain, names.cluster);
    if (hasExternalEndpoints) tx.rule(externalTrafficChain, `goto ${externalPolicyChain}`);
  }
  if (usesFWChain) writeFirewallChain(tx, s, svc, names.firewall);
  if (svc.sessionAffinityClientIP) {
    for (const ep of allReachableEndpoints) {
      tx.set(
        names.affinity(ep),
        `{ type ${s.addrType} ; flags dynamic,timeout ; timeout ${svc.stickyMaxAgeSeconds}s ; }`,
      );
    }
  }
  if (usesClusterPolicyChain)
    writeServiceToEndpointRules(tx, s, svc, names, names.cluster, clusterEndpoints);
  if (usesLocalPolicyChain)
    writeServiceToEndpointRules(tx, s, svc, names, names.local, localEndpoints);
  // The per-endpoint chains: hairpin masquerade, affinity, DNAT.
  for (const ep of allReachableEndpoints) {
    const chain = names.endpoint(ep);
    tx.rule(chain, `${ipX} saddr ${ep.ip} jump ${CHAIN.markMasq}`);
    if (svc.sessionAffinityClientIP)
      tx.rule(chain, `update @${names.affinity(ep)} { ${ipX} saddr }`);
    tx.rule(chain, `meta l4proto ${proto} dnat to ${ep.endpoint}`);
  }
}

/** The external-destinations chain's special cases (before its goto the policy chain). */
function writeExternalChain(
  tx: NftTransaction,
  s: NftSettings,
  svc: ServicePortInfo,
  chain: string,
  clusterPolicyChain: string,
): void {
  if (!svc.externalPolicyLocal) {
    // Non-local endpoints may be on another node: masquerade.
    tx.rule(chain, `jump ${CHAIN.markMasq}`);
    return;
  }
  // Pod -> external destination short-circuits to the Cluster chain.
  if (s.detector)
    tx.rule(chain, `${s.detector.ifLocal} goto ${clusterPolicyChain}`, 'short-circuit pod traffic');
  // Host-originated traffic: the LB IP is local, so it would be the source; masquerade.
  tx.rule(chain, `fib saddr type local jump ${CHAIN.markMasq}`, 'masquerade local traffic');
  tx.rule(chain, `fib saddr type local goto ${clusterPolicyChain}`, 'short-circuit local traffic');
}

/** The firewall chain: drop sources outside loadBalancerSourceRanges. */
function writeFirewallChain(
  tx: NftTransaction,
  s: NftSettings,
  svc: ServicePortInfo,
  chain: string,
): void {
  const sources: string[] = [];
  let allowFromNode = false;
  for (const cidr of svc.loadBalancerSourceRanges) {
    sources.push(cidr);
    const c = parseCidrAny(cidr);
    if (c && s.nodeIP !== undefined && cidrContainsIp(c, s.nodeIP)) allowFromNode = true;
  }
  // A VIP local to the node loops node-originated traffic back with src = VIP.
  if (allowFromNode) sources.push(...svc.loadBalancerVIPs);
  tx.rule(chain, `${s.ipX} saddr != { ${sources.join(' , ')} } drop`);
}

/** `writeServiceToEndpointRules`: affinity lookups, then the numgen verdict map. */
function writeServiceToEndpointRules(
  tx: NftTransaction,
  s: NftSettings,
  svc: ServicePortInfo,
  names: ChainNames,
  chain: string,
  endpoints: readonly EndpointInfo[],
): void {
  if (svc.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      tx.rule(chain, `${s.ipX} saddr @${names.affinity(ep)} goto ${names.endpoint(ep)}`);
    }
  }
  const elements = endpoints.map((ep, i) => `${i} : goto ${names.endpoint(ep)}`).join(' , ');
  tx.rule(chain, `numgen random mod ${endpoints.length} vmap { ${elements} }`);
}
