/**
 * A pod's sockets: every container port (and restartable init container's)
 * listens in the pod's namespace — or its node's, for hostNetwork pods — as
 * the container would bind it; a port already bound there is reported, as
 * the container would fail to start.
 */
import type { Diagnostic } from '../diag.js';
import type { ModelPod } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import type { L4Proto } from '../wire/packet.js';

/** The ports a pod's containers declare, each with the container that listens on it. */
export function podPorts(pod: ModelPod): { proto: L4Proto; port: number; label: string }[] {
  const out: { proto: L4Proto; port: number; label: string }[] = [];
  const containers = [
    ...pod.spec.containers,
    ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      const label = `${c.name}${c.image ? ` (${c.image})` : ''}`;
      out.push({
        proto: (p.protocol ?? 'TCP').toLowerCase() as L4Proto,
        port: p.containerPort,
        label,
      });
    }
  }
  return out;
}

/** A container listens on `p` in `h` (0.0.0.0), unless the port is taken there. */
export function listen(
  h: Host,
  p: { proto: L4Proto; port: number; label: string },
  key: string,
  diagnostics: Diagnostic[],
): void {
  if (h.sockets.findListener(p.proto, '0.0.0.0', p.port)) {
    diagnostics.push({
      code: 'port-in-use',
      severity: 'warning',
      message: `${p.proto} port ${p.port} is already bound in ${h.name} (EADDRINUSE); ${key}'s ${p.label} would fail to start`,
      object: `Pod ${key}`,
      field: 'spec.containers[].ports',
    });
    return;
  }
  h.listen(p.proto, p.port, { label: `${key} ${p.label}` });
}
