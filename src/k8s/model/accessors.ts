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

/** `nsName(a)` against `nsName(b)` as strings, without building them. */
export function cmpNsName(a: { metadata: ObjectMeta }, b: { metadata: ObjectMeta }): number {
  const na = a.metadata.namespace ?? 'default';
  const nb = b.metadata.namespace ?? 'default';
  if (na === nb) {
    const x = a.metadata.name;
    const y = b.metadata.name;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  // Two namespaces: decided where they differ, else (one a prefix of the other) by the
  // shorter one's `/` against the longer one's next character.
  const n = Math.min(na.length, nb.length);
  for (let i = 0; i < n; i++) {
    const d = na.charCodeAt(i) - nb.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const ca = na.length > n ? na.charCodeAt(n) : 47;
  const cb = nb.length > n ? nb.charCodeAt(n) : 47;
  if (ca !== cb) return ca < cb ? -1 : 1;
  // A `/` in the longer namespace (not a valid name): the keys themselves.
  const x = `${na}/${a.metadata.name}`;
  const y = `${nb}/${b.metadata.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** podutil.IsPodReady, except that a pod with no conditions at all (a manifest) counts as ready. */
export function isPodReady(pod: Pod): boolean {
  const conds = pod.status?.conditions;
  if (conds === undefined || conds.length === 0) return true;
  for (let i = 0; i < conds.length; i++)
    if (conds[i]!.type === 'Ready' && conds[i]!.status === 'True') return true;
  return false;
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
  return (
    namedPort(pod.spec.containers, tp, proto, false) ??
    namedPort(pod.spec.initContainers, tp, proto, true)
  );
}

/** The first container port named `name` with `proto` (of sidecars only: restartPolicy Always). */
function namedPort(
  cs: readonly (Container & { restartPolicy?: string })[] | undefined,
  name: string,
  proto: Protocol,
  sidecars: boolean,
): number | undefined {
  if (cs === undefined) return undefined;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (sidecars && c.restartPolicy !== 'Always') continue;
    const ports = c.ports;
    if (ports === undefined) continue;
    for (let j = 0; j < ports.length; j++) {
      const p = ports[j]!;
      if (p.name === name && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}
