/**
 * Small readers of model objects every layer above uses: a node's addresses,
 * an object's `namespace/name`, a pod's readiness, a Service port's target
 * resolved on a pod (podutil.FindPort).
 */

import type { Container, Node, ObjectMeta, Pod, Protocol } from '../types.js';

/** The node's InternalIP (the model guarantees one). */
export function nodeInternalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

export function nodeExternalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'ExternalIP')?.address;
}

export function nsName(o: { metadata: ObjectMeta }): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

/** `nsName(a)` against `nsName(b)` as strings, without building them when the namespaces are one. */
export function cmpNsName(a: { metadata: ObjectMeta }, b: { metadata: ObjectMeta }): number {
  const na = a.metadata.namespace ?? 'default';
  const nb = b.metadata.namespace ?? 'default';
  const x = na === nb ? a.metadata.name : `${na}/${a.metadata.name}`;
  const y = na === nb ? b.metadata.name : `${nb}/${b.metadata.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** podutil.IsPodReady, except that a pod with no conditions at all (a manifest) counts as ready. */
export function isPodReady(pod: Pod): boolean {
  const conds = pod.status?.conditions;
  if (conds === undefined || conds.length === 0) return true;
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * podutil.FindPort: a numeric targetPort as is; a named one resolved to the
 * first container port with that name and the Service port's protocol,
 * searching containers and then sidecars (init containers with
 * restartPolicy Always).
 */
export function findPort(
  pod: Pod,
  port: { targetPort?: number | string; port: number; protocol?: Protocol },
): number | undefined {
  const tp = port.targetPort ?? port.port;
  if (typeof tp === 'number') return tp;
  const proto = port.protocol ?? 'TCP';
  const scan = (cs: readonly Container[] | undefined) => {
    for (const c of cs ?? [])
      for (const p of c.ports ?? [])
        if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    return undefined;
  };
  return (
    scan(pod.spec.containers) ??
    scan(pod.spec.initContainers?.filter((c) => c.restartPolicy === 'Always'))
  );
}
