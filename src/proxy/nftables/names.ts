/**
 * kube-proxy's nftables chain and set names (`pkg/proxy/nftables/proxier.go`
 * `hashAndTruncate`, `servicePortChainNameBase`,
 * `servicePortEndpointChainNameBase`): a prefix, the first 8 characters of
 * base32(sha256(name)), `-`, then the readable name itself —
 * `service-ULMVA6XW-ns1/svc1/tcp/p80`,
 * `endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80` — truncated with `...`
 * past knftables' 256-character limit less the longest prefix (16).
 */
import { createHash } from 'node:crypto';
import { base32Std } from '../../k8s/hash.js';

/** knftables.NameLengthMax (256) - chainNamePrefixLengthMax (16). */
const CHAIN_NAME_BASE_LENGTH_MAX = 256 - 16;

export function hashAndTruncate(name: string): string {
  const encoded = base32Std(createHash('sha256').update(name, 'utf8').digest());
  let out = `${encoded.slice(0, 8)}-${name}`;
  if (out.length > CHAIN_NAME_BASE_LENGTH_MAX)
    out = `${out.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`;
  return out;
}

/** `HASH-namespace/name/protocol/portName`. */
export function servicePortChainNameBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}`);
}

/** `HASH-namespace/name/protocol/portName__IP/port`; an IPv6 address's colons become dots. */
export function servicePortEndpointChainNameBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  ip: string,
  port: number,
): string {
  const epIP = ip.includes(':') ? ip.replaceAll(':', '.') : ip;
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}__${epIP}/${port}`);
}
