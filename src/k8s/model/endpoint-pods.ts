/**
 * Pods standing in for EndpointSlice endpoints with no Pod in the input.
 * kube-proxy sends a Service's packets to the addresses its EndpointSlices
 * list whether or not the input holds the Pods behind them (a dump of
 * Services and EndpointSlices only, kube-proxy's own test inputs), so the
 * packet must find someone there: a pod at that address, on the endpoint's
 * `nodeName` (else the node whose podCIDR holds it, else the first node),
 * listening on the slice's ports. Each is listed under defaults.
 *
 * Addresses that are a node's or an ExternalHost's are left alone, and so
 * are addresses outside the pod network that do not name a Pod (a Service
 * in front of something outside the cluster).
 */

import { cidrContains, parseCidr } from '../../wire/addr.js';
import { STAND_IN_ANNOTATION } from '../load.js';
import type { ContainerPort, EndpointSlice, KubeObject, Pod } from '../types.js';
import { cmp, type Builder, type Entry, type ObjectsByKind } from './builder.js';
import type { ClusterConfig, ModelNode } from './types.js';

function isIpv4Slice(o: KubeObject): o is EndpointSlice {
  return o.kind === 'EndpointSlice' && o.addressType === 'IPv4';
}

export function endpointPods(
  b: Builder,
  cluster: ClusterConfig,
  nodes: ReadonlyMap<string, ModelNode>,
  kinds: ObjectsByKind,
): Entry<Pod>[] {
  const slices = kinds.of('EndpointSlice');
  // Without IPv4 slices in the input, there is nothing to stand in for (and no set of every pod to make).
  if (nodes.size === 0 || !slices.some((l) => isIpv4Slice(l.object))) return [];
  const taken = new Set<string>();
  const podNames = new Set<string>();
  for (const { object: o } of kinds.of('Pod')) {
    if (o.kind !== 'Pod') continue;
    podNames.add(`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`);
    if (o.status?.podIP) taken.add(o.status.podIP);
  }
  for (const { object: o } of kinds.of('ExternalHost'))
    if (o.kind === 'ExternalHost') taken.add(o.spec.address);
  for (const n of nodes.values()) for (const a of n.status.addresses) taken.add(a.address);
  const clusterNet = parseCidr(cluster.clusterCIDR);
  const sortedNodes = [...nodes.values()].sort((x, y) => cmp(x.metadata.name, y.metadata.name));
  const out: Entry<Pod>[] = [];
  for (const { object: s } of slices) {
    if (!isIpv4Slice(s)) continue;
    const ns = s.metadata.namespace ?? 'default';
    const slice = `EndpointSlice ${ns}/${s.metadata.name}`;
    const ports: ContainerPort[] = (s.ports ?? []).flatMap((p) =>
      p.port === undefined
        ? []
        : [
            {
              containerPort: p.port,
              protocol: p.protocol ?? 'TCP',
              ...(p.name ? { name: p.name } : {}),
            },
          ],
    );
    for (const ep of s.endpoints) {
      for (const ip of ep.addresses) {
        const ref = ep.targetRef?.kind === 'Pod' ? ep.targetRef : undefined;
        if (taken.has(ip) || (ref === undefined && !cidrContains(clusterNet, ip))) continue;
        taken.add(ip);
        const given = ep.nodeName !== undefined ? nodes.get(ep.nodeName) : undefined;
        const holder = sortedNodes.find((n) => cidrContains(parseCidr(n.spec.podCIDR), ip));
        const node = given ?? holder ?? sortedNodes[0]!;
        const where =
          given !== undefined
            ? `the endpoint's nodeName ${node.metadata.name}`
            : holder !== undefined
              ? `node ${node.metadata.name}, whose podCIDR holds it`
              : `the first node, ${node.metadata.name}${ep.nodeName !== undefined ? ` (the endpoint's node ${ep.nodeName} is not in the input)` : ''}`;
        const podNs = ref?.namespace ?? ns;
        const name =
          ref?.name !== undefined && !podNames.has(`${podNs}/${ref.name}`)
            ? ref.name
            : `endpoint-${ip.replaceAll('.', '-')}`;
        podNames.add(`${podNs}/${name}`);
        const pod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            namespace: podNs,
            annotations: { [STAND_IN_ANNOTATION]: slice },
          },
          spec: {
            containers: [{ name: 'endpoint', ...(ports.length > 0 ? { ports } : {}) }],
            nodeName: node.metadata.name,
          },
          status: { phase: 'Running', podIP: ip },
        };
        b.note(
          `Pod ${podNs}/${name}`,
          'status.podIP',
          ip,
          `stand-in: ${slice} lists endpoint ${ip} and no Pod in the input has it; a pod at that address on ${where}, listening on the slice's ports`,
        );
        out.push({ loaded: undefined, object: pod });
      }
    }
  }
  return out;
}
