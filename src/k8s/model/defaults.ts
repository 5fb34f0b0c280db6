/**
 * The defaults record: every value the model invents (an allocated address or
 * port, an API default, an implied object) with its reason, kept in
 * `ClusterModel.defaults` for traces and `packeteye rules --only defaults`.
 */

/** A value the model invented, and why. */
export interface ModelDefault {
  /** `Kind ns/name` (or `Cluster <name>`). */
  readonly object: string;
  /** Field path, e.g. `spec.clusterIP`. */
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

/** `Service default/web: spec.clusterIP = 10.96.0.11 (no clusterIP; …)`, one line per invented value. */
export function formatDefault(d: ModelDefault): string {
  return `${d.object}: ${d.field} = ${d.value} (${d.reason})`;
}
