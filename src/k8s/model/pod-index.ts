/**
 * The model's pod indexes without a hash map of every pod: `model.pods` is
 * the pods in `ns/name` order, searched by halves; `model.podsByIP` is the
 * pod-network pods' IPv4 addresses as numbers, sorted, searched by halves
 * (anything else an address may be spelled as, in a small map). At 150,000
 * pods the two maps were a tenth of the model's time and two 150,000-entry
 * tables kept as long as the model.
 */

import { ipv4Value } from '../../wire/addr.js';
import { nsName } from './accessors.js';
import type { ModelPod } from './types.js';

/** `key` against the pod's `ns/name`, as strings compare, without making the string. */
function cmpKey(key: string, p: ModelPod): number {
  const ns = p.metadata.namespace;
  const name = p.metadata.name;
  const n = ns.length;
  const total = n + 1 + name.length;
  const len = Math.min(key.length, total);
  for (let i = 0; i < len; i++) {
    const a = key.charCodeAt(i);
    const b = i < n ? ns.charCodeAt(i) : i === n ? 47 : name.charCodeAt(i - n - 1);
    if (a !== b) return a - b;
  }
  return key.length - total;
}

/** A read-only map over a list, in the list's order. */
abstract class ListMap<V> implements ReadonlyMap<string, V> {
  abstract get(key: string): V | undefined;
  abstract get size(): number;
  protected abstract list(): readonly V[];
  protected abstract keyOf(v: V): string;

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown) {
    for (const v of this.list()) fn.call(thisArg, v, this.keyOf(v), this);
  }
  *entries(): MapIterator<[string, V]> {
    for (const v of this.list()) yield [this.keyOf(v), v];
  }
  *keys(): MapIterator<string> {
    for (const v of this.list()) yield this.keyOf(v);
  }
  values(): MapIterator<V> {
    return this.list().values();
  }
  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}

/** Pods by `ns/name`: the pods, one per key, in key order. */
export class PodsByKey extends ListMap<ModelPod> {
  constructor(private readonly pods: readonly ModelPod[]) {
    super();
  }
  /** The pod at a place in key order. */
  at(i: number): ModelPod {
    return this.pods[i]!;
  }
  get size(): number {
    return this.pods.length;
  }
  protected list(): readonly ModelPod[] {
    return this.pods;
  }
  protected keyOf(p: ModelPod): string {
    return nsName(p);
  }
  get(key: string): ModelPod | undefined {
    let lo = 0;
    let hi = this.pods.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = cmpKey(key, this.pods[mid]!);
      if (c === 0) return this.pods[mid];
      if (c < 0) hi = mid - 1;
      else lo = mid + 1;
    }
    return undefined;
  }
}

/**
 * The first of each address among `ips` (in their order; undefined: none):
 * `first[i]` is -1 for the first holder of its address (or no address),
 * else the index of the first holder. Addresses as numbers, sorted once.
 */
export interface Holders {
  readonly first: Int32Array;
  /** The first holders' IPv4 addresses (as numbers), ascending, and their indexes. */
  readonly v4: Float64Array;
  readonly v4At: Int32Array;
  /** Addresses that are not a dotted quad, by their text. */
  readonly other: ReadonlyMap<string, number>;
}

export function holders(
  ips: readonly (string | undefined)[],
  /** `ipv4Value` of each of `ips` when the caller has it (for the ones not undefined). */
  given?: Float64Array,
  /** How the addresses are ordered (`orderByValue`); by default, by their number. */
  radix = ips.length >= RADIX_FROM,
): Holders {
  const n = ips.length;
  const first = new Int32Array(n).fill(-1);
  const other = new Map<string, number>();
  // The dotted quads: their values and indexes, in the order of `ips` (m of them).
  const values = new Float64Array(n);
  const at = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const ip = ips[i];
    if (ip === undefined) continue;
    const v = given === undefined ? ipv4Value(ip) : given[i]!;
    if (v >= 0) {
      values[m] = v;
      at[m++] = i;
      continue;
    }
    const holder = other.get(ip);
    if (holder === undefined) other.set(ip, i);
    else first[i] = holder;
  }
  const order = orderByValue(values, m, radix);
  const v4 = new Float64Array(m);
  const v4At = new Int32Array(m);
  let u = 0;
  for (let k = 0; k < m; k++) {
    const v = values[order[k]!]!;
    const i = at[order[k]!]!;
    if (u > 0 && v4[u - 1] === v) first[i] = v4At[u - 1]!;
    else {
      v4[u] = v;
      v4At[u++] = i;
    }
  }
  return { first, v4: v4.slice(0, u), v4At: v4At.slice(0, u), other };
}

/** From this many addresses on, `holders` orders them by radix (two passes over 2¹⁶ counters). */
const RADIX_FROM = 4096;

/**
 * The places 0…m-1 of `values` (IPv4 addresses as numbers) by value, then by
 * place. `radix`: two stable counting passes, the low 16 bits then the high
 * (at 150,000 pods a third of the time of a native sort, which a few
 * thousand addresses do not repay: 2¹⁶ counters cleared twice); else packed
 * in one double (value · 2²¹ + place) and sorted natively when the places
 * fit, else sorted by comparison.
 */
function orderByValue(values: Float64Array, m: number, radix: boolean): Int32Array {
  const order = new Int32Array(m);
  if (radix) {
    const count = new Int32Array(65537);
    const low = new Int32Array(m);
    for (let k = 0; k < m; k++) count[(values[k]! & 0xffff) + 1]!++;
    for (let c = 1; c <= 65536; c++) count[c]! += count[c - 1]!;
    for (let k = 0; k < m; k++) low[count[values[k]! & 0xffff]!++] = k;
    count.fill(0);
    for (let k = 0; k < m; k++) count[(values[k]! >>> 16) + 1]!++;
    for (let c = 1; c <= 65536; c++) count[c]! += count[c - 1]!;
    for (let t = 0; t < m; t++) {
      const k = low[t]!;
      order[count[values[k]! >>> 16]!++] = k;
    }
  } else if (m < 2 ** 21) {
    const packed = new Float64Array(m);
    for (let k = 0; k < m; k++) packed[k] = values[k]! * 2 ** 21 + k;
    packed.sort();
    for (let k = 0; k < m; k++) order[k] = packed[k]! % 2 ** 21;
  } else {
    const ks = Array.from({ length: m }, (_, k) => k);
    ks.sort((x, y) => values[x]! - values[y]! || x - y);
    order.set(ks);
  }
  return order;
}

/** Pod-network pods by address, the first in key order to have it; in key order. */
export class PodsByAddress extends ListMap<ModelPod> {
  private inOrder: ModelPod[] | undefined;
  /**
   * @param h the holders of the addresses of `pods`
   * @param pods by the indexes `h` names (undefined: a pod not kept)
   */
  constructor(
    private readonly h: Holders,
    private readonly pods: readonly (ModelPod | undefined)[],
  ) {
    super();
  }
  get size(): number {
    return this.h.v4At.length + this.h.other.size;
  }
  /** The holders in key order, made when first iterated. */
  protected list(): readonly ModelPod[] {
    if (this.inOrder === undefined) {
      const at = [...this.h.v4At, ...this.h.other.values()].sort((a, b) => a - b);
      this.inOrder = at.map((i) => this.pods[i]!);
    }
    return this.inOrder;
  }
  protected keyOf(p: ModelPod): string {
    return p.status.podIP;
  }
  get(ip: string): ModelPod | undefined {
    const v = ipv4Value(ip);
    if (v < 0) {
      const at = this.h.other.get(ip);
      return at === undefined ? undefined : this.pods[at];
    }
    const { v4, v4At } = this.h;
    let lo = 0;
    let hi = v4.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const x = v4[mid]!;
      if (x === v) return this.pods[v4At[mid]!];
      if (v < x) hi = mid - 1;
      else lo = mid + 1;
    }
    return undefined;
  }
}
