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

/** Lists made by withDefaultsAfter, each with the list it begins with. */
const heads = new WeakMap<readonly ModelDefault[], readonly ModelDefault[]>();

/**
 * `head` followed by `more`, a new list remembered as beginning with `head`
 * (the model's defaults head every trace's list: 30,000 of them at 150,000
 * pods), so beginsWith answers for it without reading them.
 */
export function withDefaultsAfter<T extends ModelDefault>(
  head: readonly T[],
  more: readonly T[],
): T[] {
  const list = head.concat(more);
  heads.set(list, head);
  return list;
}

/** Whether `list` begins with the items of `head`, the same objects in the same order. */
export function beginsWith<T extends ModelDefault>(
  list: readonly T[],
  head: readonly T[],
): boolean {
  if (heads.get(list) === head) return true;
  if (list.length < head.length) return false;
  for (let i = 0; i < head.length; i++) if (list[i] !== head[i]) return false;
  return true;
}
