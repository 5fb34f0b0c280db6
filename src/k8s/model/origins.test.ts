import { describe, expect, it } from 'vitest';
import { CLUSTER_SCOPED, type LoadedObject, type Origin } from '../load.js';
import { objectRef, type KubeObject } from '../types.js';
import { ObjectsByKind } from './builder.js';
import { ObjectOrigins } from './origins.js';

/** The reading the lazy map stands for: every object's ref in input order, built up front. */
function eager(objects: readonly LoadedObject[]): Map<string, Origin> {
  const m = new Map<string, Origin>();
  for (const l of objects) {
    const o = l.object;
    const ref =
      !CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace === undefined
        ? `${o.kind} default/${o.metadata.name}`
        : objectRef(o);
    m.set(ref, l.origin);
  }
  return m;
}

let line = 0;
const at = (kind: string, name: string, namespace?: string): LoadedObject => ({
  object: {
    apiVersion: 'v1',
    kind,
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
  } as unknown as KubeObject,
  origin: { file: 'c.yaml', document: ++line, line },
});

describe('ObjectOrigins', () => {
  const objects = [
    at('Pod', 'a', 'ns1'),
    at('Node', 'n1'),
    at('Pod', 'b'), // namespaced, no namespace: default
    at('Service', 'a', 'ns1'),
    at('Pod', 'a', 'ns1'), // the same name again: the later one's origin, in the first's place
    at('Namespace', 'ns1'),
    at('Pod', 'c', ''),
  ];
  const cases: [ref: string][] = [
    ['Pod ns1/a'],
    ['Pod default/b'],
    ['Pod b'],
    ['Node n1'],
    ['Node default/n1'],
    ['Service ns1/a'],
    ['Namespace ns1'],
    ['Pod c'],
    ['Pod default/c'],
    ['Deployment ns1/a'],
    ['Pod'],
    [''],
  ];
  it.each(cases)('get(%j) as the eager map', (ref) => {
    const lazy = new ObjectOrigins(new ObjectsByKind(objects));
    expect(lazy.get(ref)).toEqual(eager(objects).get(ref));
    expect(lazy.has(ref)).toBe(eager(objects).has(ref));
  });
  it('iterates every object in input order, as the eager map', () => {
    const lazy = new ObjectOrigins(new ObjectsByKind(objects));
    expect(lazy.get('Pod ns1/a')?.line).toBe(objects[4]!.origin.line);
    expect([...lazy]).toEqual([...eager(objects)]);
    expect([...lazy.keys()]).toEqual([...eager(objects).keys()]);
    expect(lazy.size).toBe(eager(objects).size);
  });
  it('reads the objects as they were when the model was built', () => {
    const list = objects.slice();
    const lazy = new ObjectOrigins(new ObjectsByKind(list));
    list.push(at('Pod', 'late', 'ns1'));
    expect(lazy.get('Pod ns1/late')).toBeUndefined();
    expect(lazy.size).toBe(eager(objects).size);
  });
});
