/**
 * What every build step shares: the loaded object an entry came from (for
 * diagnostics at its file and line), the `Builder` that collects diagnostics
 * and invented values, and small sorting helpers.
 */

import type { Diagnostic, Location } from '../../diag.js';
import { locate, type LoadedObject } from '../load.js';
import { objectRef, type KubeObject, type Pod, type Service } from '../types.js';
import type { ModelDefault } from './defaults.js';

/**
 * A deep copy of decoded (plain JSON-shaped) data: the model defaults and
 * allocates into its own copies and leaves the loaded objects as read.
 * Several times faster than `structuredClone`, which serialises.
 */
export function clone<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = clone(v[i] as unknown);
    return out as T;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null)
    return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = clone((v as Record<string, unknown>)[k]);
  return out as T;
}

/** The map in key order (itself when its keys are in order already, as pods' usually are). */
export function byKey<T>(m: Map<string, T>): Map<string, T> {
  let prev: string | undefined;
  let sorted = true;
  for (const k of m.keys()) {
    if (prev !== undefined && prev > k) {
      sorted = false;
      break;
    }
    prev = k;
  }
  if (sorted) return m;
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Entry<T extends KubeObject> {
  /** Undefined for objects the model invents. */
  readonly loaded: LoadedObject | undefined;
  readonly object: T;
}

/** Where a Builder diagnostic stands (`e`'s `field`), its code, message and hint. */
export type DiagArgs = [
  e: Entry<KubeObject> | undefined,
  field: string | undefined,
  code: string,
  message: string,
  hint?: string,
];

export class Builder {
  readonly diagnostics: Diagnostic[] = [];
  readonly defaults: ModelDefault[] = [];

  note(object: string, field: string, value: string | number | boolean, reason: string): void {
    this.defaults.push({ object, field, value: String(value), reason });
  }

  at(e: Entry<KubeObject> | undefined, field?: string): Location {
    if (e === undefined || e.loaded === undefined) {
      return {
        ...(e ? { object: objectRef(e.object) } : {}),
        ...(field !== undefined ? { field } : {}),
      };
    }
    return { ...locate(e.loaded, field), object: objectRef(e.object) };
  }

  error(...args: DiagArgs): void {
    this.push('error', ...args);
  }

  warn(...args: DiagArgs): void {
    this.push('warning', ...args);
  }

  /** `object` names the object the diagnostic is about when `e` is not the one. */
  info(...args: [...DiagArgs, object?: string]): void {
    this.push('info', ...args);
  }

  private push(
    severity: Diagnostic['severity'],
    e: Entry<KubeObject> | undefined,
    field: string | undefined,
    code: string,
    message: string,
    hint?: string,
    object?: string,
  ): void {
    this.diagnostics.push({
      code,
      severity,
      message,
      ...this.at(e, field),
      ...(object ? { object } : {}),
      ...(hint ? { hint } : {}),
    });
  }
}

/**
 * A Pod without a namespace, as the model takes it: a copy of its top level
 * and spec, for `buildModel`'s defaultNamespace to give it metadata of its
 * own and `pods.ts` modelPod to complete it; the rest (labels, containers,
 * the given status) shared with the loaded pod. Every other pod is taken as
 * loaded, and copied by modelPod only when the model writes it. The spec is
 * copied with `Object.assign` onto a new object, not spread: fields added
 * to a spread copy take V8's slow path (about 1 µs a pod).
 */
function copyPod(p: Pod): Pod {
  return { ...p, spec: Object.assign({}, p.spec) };
}

/**
 * A Service as the model takes it: its top level, for `buildModel`'s
 * defaultNamespace (which gives it metadata of its own) and the legacy
 * annotation (a spec of its own); `services.ts` defaultService makes the
 * spec and ports the model writes. The rest is shared with the loaded one.
 */
function copyService(s: Service): Service {
  return { ...s };
}

/** The loaded objects by kind, each kind's in input order: every step reads one or two kinds. */
export class ObjectsByKind {
  private readonly byKind = new Map<string, LoadedObject[]>();
  /** Every object, in input order (a copy: the caller's array may change after the build). */
  readonly all: readonly LoadedObject[];
  constructor(objects: readonly LoadedObject[]) {
    this.all = objects.slice();
    // Objects of a kind mostly come together (a List of Pods, then of Services): the last list is kept at hand.
    let kind: string | undefined;
    let list: LoadedObject[] = [];
    // Indexed: a for-of makes a result per object until optimised, and this runs once.
    for (let i = 0; i < objects.length; i++) {
      const l = objects[i]!;
      const k = l.object.kind;
      if (k !== kind) {
        kind = k;
        const known = this.byKind.get(k);
        if (known === undefined) this.byKind.set(k, (list = []));
        else list = known;
      }
      list.push(l);
    }
  }
  of(kind: string): readonly LoadedObject[] {
    return this.byKind.get(kind) ?? [];
  }
}

/**
 * Each loaded object of `kind` as the model's build step takes it. A Node is
 * taken as loaded: `nodes.ts` buildNodes makes the node's top level, spec and
 * status of its own and shares the rest (at 5,000 nodes a deep copy of each
 * was 5 MB). A Pod or Service is copied as `copyPod`/`copyService` say;
 * every other kind deeply.
 */
export function entries<K extends KubeObject['kind']>(
  objects: ObjectsByKind,
  kind: K,
): Entry<Extract<KubeObject, { kind: K }>>[] {
  const of = objects.of(kind);
  const out = new Array<Entry<Extract<KubeObject, { kind: K }>>>(of.length);
  for (let i = 0; i < of.length; i++) {
    const l = of[i]!;
    const o = l.object;
    const object =
      o.kind === 'Pod'
        ? o.metadata.namespace === undefined
          ? copyPod(o)
          : o
        : o.kind === 'Service'
          ? copyService(o)
          : o.kind === 'Node'
            ? o
            : clone(o);
    out[i] = { loaded: l, object: object as Extract<KubeObject, { kind: K }> };
  }
  return out;
}
