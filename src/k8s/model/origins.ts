/**
 * Where each object came from, by `Kind ns/name` (namespaced objects without
 * a namespace in `default`, as the model names them). Built on first use and
 * one kind at a time: a trace asks for the Cluster's origin, `reach` for every
 * pod's, most runs for no other; at 150,000 pods building every key up front
 * was a tenth of the model's time.
 */

import { CLUSTER_SCOPED, type LoadedObject, type Origin } from '../load.js';
import type { ObjectsByKind } from './builder.js';

function refOf(l: LoadedObject): string {
  const o = l.object;
  const ns = o.metadata.namespace ?? (CLUSTER_SCOPED.has(o.kind) ? undefined : 'default');
  return ns ? `${o.kind} ${ns}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}

export class ObjectOrigins implements ReadonlyMap<string, Origin> {
  private readonly kinds = new Map<string, Map<string, Origin>>();
  private everything: Map<string, Origin> | undefined;

  constructor(private readonly objects: ObjectsByKind) {}

  private ofKind(kind: string): Map<string, Origin> {
    let m = this.kinds.get(kind);
    if (m === undefined) {
      m = new Map();
      for (const l of this.objects.of(kind)) m.set(refOf(l), l.origin);
      this.kinds.set(kind, m);
    }
    return m;
  }

  /** Every object's, in input order (a later object of the same name wins, in the first's place). */
  private all(): Map<string, Origin> {
    if (this.everything === undefined) {
      this.everything = new Map();
      for (const l of this.objects.all) this.everything.set(refOf(l), l.origin);
    }
    return this.everything;
  }

  get(ref: string): Origin | undefined {
    const space = ref.indexOf(' ');
    return space < 0 ? undefined : this.ofKind(ref.slice(0, space)).get(ref);
  }
  has(ref: string): boolean {
    return this.get(ref) !== undefined;
  }
  get size(): number {
    return this.all().size;
  }
  forEach(
    fn: (value: Origin, key: string, map: ReadonlyMap<string, Origin>) => void,
    thisArg?: unknown,
  ): void {
    for (const [k, v] of this.all()) fn.call(thisArg, v, k, this);
  }
  entries(): MapIterator<[string, Origin]> {
    return this.all().entries();
  }
  keys(): MapIterator<string> {
    return this.all().keys();
  }
  values(): MapIterator<Origin> {
    return this.all().values();
  }
  [Symbol.iterator](): MapIterator<[string, Origin]> {
    return this.all()[Symbol.iterator]();
  }
}
