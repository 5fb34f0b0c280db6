/**
 * What the model's passes over every pod read of each, read in one pass in
 * the input's order (the order the pods lie in memory) rather than by each
 * pass in key order: `readPods`, the key order made from what it read
 * (`sortByKey`), and what the selector index and the namespaces take from
 * it (`PodsRead`).
 */

import { ipv4Value } from '../../wire/addr.js';
import { STAND_IN_ANNOTATION } from '../load.js';
import type { Pod } from '../types.js';
import { cmp, type Entry } from './builder.js';

/**
 * What the model's later passes (the selector index, the namespaces) read of
 * every kept pod, in the order the input had them, read with the rest: a
 * pass over the pods themselves costs cache misses. Not kept in the model.
 */
export interface PodsRead {
  /** Each pod's place in `pods` (key order). */
  readonly at: Int32Array;
  readonly namespace: readonly string[];
  readonly labels: readonly (Record<string, string> | undefined)[];
}

/** The pods in `ns/name` order, and whether two have one name. */
export interface Sorted {
  readonly entries: readonly Entry<Pod>[];
  /** Each one's place in the input (`raw`); undefined: the input's order. */
  readonly from: Int32Array | undefined;
  readonly sameKey: boolean;
}

/**
 * The pods in `ns/name` order (stable), without making the keys: namespaces
 * order their pods as `ns/` does (a namespace that is a prefix of another
 * sorts by the character after it, against `/`), names within a namespace.
 * No sort when the pods come in order. Names as `readPods` read them.
 */
export function sortByKey(raw: readonly Entry<Pod>[], f: PodFacts): Sorted {
  const n = raw.length;
  const { namespace, name } = f;
  // Two pods with one name: found where their names are compared (a sort compares every
  // pair it puts side by side), with no pass of its own.
  let sameKey = false;
  let inOrder = true;
  for (let i = 1; i < n && inOrder; i++) {
    const na = namespace[i - 1]!;
    const nb = namespace[i]!;
    const c =
      na === nb ? cmp(name[i - 1]!, name[i]!) : cmp(`${na}/${name[i - 1]!}`, `${nb}/${name[i]!}`);
    if (c > 0) inOrder = false;
    else if (c === 0) sameKey = true;
  }
  let entries = raw;
  let from: Int32Array | undefined;
  if (!inOrder) {
    from = new Int32Array(n);
    const byNs = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const ns = namespace[i]!;
      const l = byNs.get(ns);
      if (l === undefined) byNs.set(ns, [i]);
      else l.push(i);
    }
    const out = new Array<Entry<Pod>>(n);
    let k = 0;
    for (const ns of [...byNs.keys()].sort((x, y) => cmp(`${x}/`, `${y}/`))) {
      const l = byNs.get(ns)!;
      const names = l.map((i) => name[i]!);
      const order = l
        .map((_, k) => k)
        .sort((x, y) => {
          const c = cmp(names[x]!, names[y]!);
          if (c !== 0) return c;
          sameKey = true;
          return x - y;
        });
      for (let o = 0; o < order.length; o++) {
        const x = order[o]!;
        from[k] = l[x]!;
        out[k++] = raw[l[x]!]!;
      }
    }
    entries = out;
  }
  return { entries, from, sameKey };
}

/**
 * What the passes over every pod read of each, read in one pass in the
 * input's order (the order the pods lie in memory: at 150,000 pods, each
 * pass in key order over the objects themselves cost 10–20 ms in cache
 * misses), by place in the input. A pod the passes find nothing to say
 * about (`PLAIN`, on a node `at`, its address checked as a number) is not
 * read again; every other one is read as before.
 */
export interface PodFacts {
  readonly namespace: string[];
  readonly name: string[];
  readonly labels: (Record<string, string> | undefined)[];
  /** The node named by spec.nodeName, by its place in `nodes`; -1: none, or terminated (read again). */
  readonly at: Int32Array;
  /** status.podIP (undefined: none). */
  readonly ip: (string | undefined)[];
  /** `ipv4Value` of it (-1: none, or not a dotted quad). */
  readonly value: Float64Array;
  readonly flags: Uint8Array;
}

/** spec.hostNetwork. */
export const HOST_NETWORK = 1;
/** Kept as loaded (`modelPod`): status has its addresses, the node's hostIP; not a stand-in; no hostPort. */
export const PLAIN = 2;

export function readPods(
  raw: readonly Entry<Pod>[],
  placeOf: ReadonlyMap<string, number>,
  nodeIPs: readonly (string | undefined)[],
): PodFacts {
  const n = raw.length;
  const f: PodFacts = {
    namespace: new Array<string>(n),
    name: new Array<string>(n),
    labels: new Array<Record<string, string> | undefined>(n),
    at: new Int32Array(n).fill(-1),
    ip: new Array<string | undefined>(n).fill(undefined),
    value: new Float64Array(n).fill(-1),
    flags: new Uint8Array(n),
  };
  for (let j = 0; j < n; j++) {
    const p = raw[j]!.object;
    const meta = p.metadata;
    f.namespace[j] = meta.namespace!;
    f.name[j] = meta.name;
    f.labels[j] = meta.labels;
    const st = p.status;
    const ip = st?.podIP;
    if (ip !== undefined) {
      f.ip[j] = ip;
      f.value[j] = ipv4Value(ip);
    }
    const phase = st?.phase;
    const nodeName = p.spec.nodeName;
    let at = -1;
    if (phase !== 'Succeeded' && phase !== 'Failed' && nodeName !== undefined)
      at = placeOf.get(nodeName) ?? -1;
    f.at[j] = at;
    if (p.spec.hostNetwork) f.flags[j] = HOST_NETWORK;
    else if (
      at >= 0 &&
      ip !== undefined &&
      st!.podIPs !== undefined &&
      st!.hostIP === nodeIPs[at] &&
      meta.annotations?.[STAND_IN_ANNOTATION] === undefined &&
      !hasHostPort(p)
    )
      f.flags[j] = PLAIN;
  }
  return f;
}

export function hasHostPort(p: Pod): boolean {
  const containers = p.spec.containers;
  for (let ci = 0; ci < containers.length; ci++) {
    const ports = containers[ci]!.ports;
    if (ports === undefined) continue;
    for (let pi = 0; pi < ports.length; pi++) if (ports[pi]!.hostPort !== undefined) return true;
  }
  return false;
}
