/**
 * What of kube-proxy's rules depends on the node it runs on, as one key:
 * two nodes with the same key get byte-identical rules from
 * `generateIptablesRules`, so a cluster's rules are generated once per
 * distinct key instead of once per node.
 *
 * The node enters `generateIptablesRules` through:
 * - the proxier's flags (the local-traffic detector may be the node's
 *   podCIDR): all in the key;
 * - the node IPs: written into rules only through `--nodeport-addresses`
 *   (and `interfaceAddresses`) and a `loadBalancerSourceRanges` that holds
 *   the node IP; otherwise only their family is read (the first IP of the
 *   proxier's family, or none, and an invalid one is an error naming it);
 * - `nodeName`, which makes an endpoint local (`isLocal`). Locality is read
 *   only by Services that use local endpoints (externalTrafficPolicy or
 *   internalTrafficPolicy Local: `categorizeEndpoints`) and when one Service
 *   lists the same address twice (the local copy wins): the key holds the
 *   node's endpoints of those Services only;
 * - its zone label, read only for Services with a topology annotation
 *   (`canUseTopology`): in the key when any Service has one.
 * Anything else the node could change would be a field of ProxyInput, and every
 * field but the Services, EndpointSlices, node name and labels is in the key.
 */
import type { EndpointSlice, Service } from '../k8s/types.js';
import { familyOfIp } from './ipaddr.js';
import type { ProxyInput } from './proxier.js';
import { servicesWithRepeats } from './share.js';

const TOPOLOGY_ANNOTATIONS = [
  'service.kubernetes.io/topology-mode',
  'service.kubernetes.io/topology-aware-hints',
];

/** Whether a Service's rules can depend on which of its endpoints are on the node. */
function readsLocality(svc: Service): boolean {
  const spec = svc.spec as
    { externalTrafficPolicy?: string; internalTrafficPolicy?: string } | undefined;
  if (spec?.externalTrafficPolicy === 'Local' || spec?.internalTrafficPolicy === 'Local')
    return true;
  // The pre-1.7 annotation (read by the model as externalTrafficPolicy): counted as Local, to be safe.
  return Object.keys(svc.metadata.annotations ?? {}).some((k) => k.includes('external-traffic'));
}

/**
 * The key function for one cluster's Services and EndpointSlices (the
 * per-cluster part is computed once here; a key costs the node's own
 * locality-reading endpoints).
 */
export function proxyNodeKeys(
  services: readonly Service[],
  endpointSlices: readonly EndpointSlice[],
): (input: Omit<ProxyInput, 'services' | 'endpointSlices'>) => string {
  const svcKey = (ns: string | undefined, name: string) => `${ns ?? 'default'}/${name}`;
  const locality = new Set<string>();
  let zones = false;
  let sourceRanges = false;
  for (const s of services) {
    if ((s.spec as { loadBalancerSourceRanges?: unknown[] }).loadBalancerSourceRanges?.length)
      sourceRanges = true;
    if (readsLocality(s)) locality.add(svcKey(s.metadata.namespace, s.metadata.name));
    const ann = s.metadata.annotations ?? {};
    if (TOPOLOGY_ANNOTATIONS.some((a) => a in ann)) zones = true;
  }
  // A Service listing one address in two places: the local copy wins, so locality counts.
  for (const key of servicesWithRepeats(endpointSlices)) locality.add(key);
  // Per node: the endpoints of locality-reading Services that are on it.
  const localByNode = new Map<string, string[]>();
  endpointSlices.forEach((sl, si) => {
    const name = sl.metadata.labels?.['kubernetes.io/service-name'];
    if (name === undefined || !locality.has(svcKey(sl.metadata.namespace, name))) return;
    (sl.endpoints ?? []).forEach((ep, ei) => {
      if (ep.nodeName === undefined) return;
      let list = localByNode.get(ep.nodeName);
      if (!list) localByNode.set(ep.nodeName, (list = []));
      list.push(`${si}.${ei}`);
    });
  });
  return (input) => {
    const { nodeName, nodeLabels, nodeIPs, ...rest } = input;
    const ipsRead =
      sourceRanges ||
      (input.nodePortAddresses ?? []).length > 0 ||
      input.interfaceAddresses !== undefined;
    return JSON.stringify([
      rest,
      ipsRead ? nodeIPs : nodeIPs.map((ip) => familyOfIp(ip.trim()) ?? ip),
      zones ? (nodeLabels?.['topology.kubernetes.io/zone'] ?? null) : null,
      localByNode.get(nodeName) ?? [],
    ]);
  };
}
