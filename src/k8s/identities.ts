/** Loaded objects by kind, namespace and name, for finding the objects defined twice. */
import type { KubeObject } from './types.js';

/** The kinds with no namespace (everything else defaults to `default`). */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set([
  'Node',
  'Namespace',
  'Cluster',
  'ExternalHost',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
]);

/**
 * Loaded objects by kind, namespace and name: maps nested by each, so that no
 * key is made for each of 150,000 objects (and kept as long as the reading).
 */
export class Identities<T extends { readonly object: KubeObject }> {
  private readonly byKind = new Map<string, Map<string, Map<string, T>>>();
  size = 0;

  private static namespace(o: KubeObject): string {
    return CLUSTER_SCOPED.has(o.kind) ? '' : (o.metadata.namespace ?? 'default');
  }

  get(o: KubeObject): T | undefined {
    return this.byKind.get(o.kind)?.get(Identities.namespace(o))?.get(o.metadata.name);
  }

  set(o: KubeObject, lo: T): void {
    const byName = this.names(o);
    if (!byName.has(o.metadata.name)) this.size++;
    byName.set(o.metadata.name, lo);
  }

  /** The object named as `o` was, or (when none was) `o`'s loaded form set as its identity's. */
  claim(o: KubeObject, lo: T): T | undefined {
    const byName = this.names(o);
    const prev = byName.get(o.metadata.name);
    if (prev !== undefined) return prev;
    byName.set(o.metadata.name, lo);
    this.size++;
    return undefined;
  }

  // The last kind and namespace's names: a dump lists a namespace's pods one after another.
  private lastKind: string | undefined;
  private lastNs: string | undefined;
  private lastNames: Map<string, T> | undefined;

  private names(o: KubeObject): Map<string, T> {
    const ns = Identities.namespace(o);
    if (o.kind === this.lastKind && ns === this.lastNs) return this.lastNames!;
    let byNs = this.byKind.get(o.kind);
    if (byNs === undefined) this.byKind.set(o.kind, (byNs = new Map()));
    let byName = byNs.get(ns);
    if (byName === undefined) byNs.set(ns, (byName = new Map()));
    this.lastKind = o.kind;
    this.lastNs = ns;
    this.lastNames = byName;
    return byName;
  }

  /** Adds every identity of `other`. */
  add(other: Identities<T>): void {
    for (const byNs of other.byKind.values())
      for (const byName of byNs.values()) for (const lo of byName.values()) this.set(lo.object, lo);
  }
}
