/**
 * Who enforces NetworkPolicy in a cluster — and whether anyone does.
 *
 * The API only stores policies; a network plugin must implement them
 * (kubernetes.io "Network Policies": "Posting a NetworkPolicy to the API
 * server for a cluster without a controller that implements it will have no
 * effect"). The plain `bridge` CNI plugin and flannel implement nothing, so a
 * cluster using them allows everything whatever its policies say — unless a
 * policy agent runs beside them (Calico for policy, as in canal; kube-router).
 */
import type { Diagnostic } from '../diag.js';
import type { Cluster } from '../k8s/types.js';

export type Enforcer = 'calico' | 'kube-router' | 'none' | 'unknown';

export interface Enforcement {
  readonly enforcer: Enforcer;
  /** Set when policies exist that nothing will enforce, or when it cannot be told. */
  readonly diagnostic?: Diagnostic;
}

/** The enforcer of `cluster` (its `spec.cni` and `spec.networkPolicy.enforcer`). */
export function policyEnforcement(cluster: Cluster | undefined, policyCount: number): Enforcement {
  const named = cluster?.spec.networkPolicy?.enforcer;
  const cni = cluster?.spec.cni?.plugin;
  let enforcer: Enforcer;
  if (named === 'calico' || named === 'kube-router') enforcer = named;
  else if (cni === 'calico' && named !== 'none') enforcer = 'calico';
  else if (named === 'none' || cni === 'bridge' || cni === 'flannel') enforcer = 'none';
  else enforcer = 'unknown';
  if (policyCount === 0) return { enforcer };
  const object = cluster ? `Cluster ${cluster.metadata.name}` : undefined;
  if (enforcer === 'none') {
    return {
      enforcer,
      diagnostic: {
        code: 'policy-not-enforced',
        severity: 'warning',
        ...(object
          ? { object, field: named === 'none' ? 'spec.networkPolicy.enforcer' : 'spec.cni.plugin' }
          : {}),
        message: `${cni ?? 'this network plugin'} does not implement NetworkPolicy: in this cluster every pod can reach every other whatever the policies say; the matrix shows what the policies would allow if enforced`,
        hint: 'run a policy agent beside it (spec.networkPolicy.enforcer: calico, as canal does, or kube-router)',
      },
    };
  }
  if (enforcer === 'unknown') {
    return {
      enforcer,
      diagnostic: {
        code: 'policy-enforcer-unknown',
        severity: 'info',
        message:
          'no Cluster object names the network plugin; the matrix shows what the policies allow if they are enforced',
      },
    };
  }
  return { enforcer };
}
