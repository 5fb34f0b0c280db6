/**
 * kube-proxy's chain names: a prefix plus the first 16 characters of
 * base32(sha256(...)), because iptables chain names must be <= 28 characters.
 *
 * Source: kubernetes `pkg/proxy/iptables/proxier.go` (`portProtoHash`,
 * `servicePortPolicyClusterChain`, `servicePortPolicyLocalChainName`,
 * `serviceFirewallChainName`, `serviceExternalChainName`,
 * `servicePortEndpointChainName`), unchanged from 1.24 to 1.31.
 */

import { base32Std, sha256Base32 } from '../k8s/hash.js';

export { base32Std };

function hash16(input: string): string {
  return sha256Base32(input);
}

/**
 * `ns/name:portName`, or `ns/name` for an unnamed port
 * (`pkg/proxy/types.go` ServicePortName.String).
 */
export function servicePortNameString(namespace: string, name: string, portName: string): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

/** `portProtoHash(servicePortName, protocol)`; protocol is lower case (`tcp`). */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

/** KUBE-SVC-<hash>: the service's chain for Cluster traffic policy. */
export function servicePortChainName(servicePortName: string, protocol: string): string {
  return `KUBE-SVC-${portProtoHash(servicePortName, protocol)}`;
}

/** KUBE-SVL-<hash>: the service's chain for Local traffic policy. */
export function serviceLocalChainName(servicePortName: string, protocol: string): string {
  return `KUBE-SVL-${portProtoHash(servicePortName, protocol)}`;
}

/** KUBE-EXT-<hash>: the "external destinations" chain (NodePort, LB IP, external IP). */
export function serviceExternalChainName(servicePortName: string, protocol: string): string {
  return `KUBE-EXT-${portProtoHash(servicePortName, protocol)}`;
}

/** KUBE-FW-<hash>: loadBalancerSourceRanges filtering. */
export function serviceFirewallChainName(servicePortName: string, protocol: string): string {
  return `KUBE-FW-${portProtoHash(servicePortName, protocol)}`;
}

/**
 * KUBE-SEP-<hash> for one endpoint; `endpoint` is `IP:port` as Go's
 * `net.JoinHostPort` writes it (`[v6]:port` for IPv6).
 */
export function endpointChainName(
  servicePortName: string,
  protocol: string,
  endpoint: string,
): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol + endpoint)}`;
}
