/**
 * Namespaces: the given ones, the four every cluster has, and every one an
 * object refers to, each labelled `kubernetes.io/metadata.name` as the API
 * server's admission does (NamespaceDefaultLabelName, 1.21+).
 */

import type { Namespace, ObjectMeta } from '../types.js';
import { byKey, entries, type Builder, type ObjectsByKind } from './builder.js';
import { LABEL_METADATA_NAME } from './types.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

export function buildNamespaces(
  b: Builder,
  objects: ObjectsByKind,
  refs: readonly Iterable<{ metadata: ObjectMeta }>[],
  /** More namespaces objects are in (the pods', as `buildPods` read them). */
  names: readonly string[] = [],
): Map<string, Namespace> {
  const namespaces = new Map<string, Namespace>();
  for (const e of entries(objects, 'Namespace')) namespaces.set(e.object.metadata.name, e.object);
  const referenced = new Set<string>(SYSTEM_NAMESPACES);
  for (const list of refs) {
    // Objects come sorted by namespace and name: a namespace is added once per run.
    let last: string | undefined;
    for (const o of list) {
      const ns = o.metadata.namespace ?? 'default';
      if (ns !== last) referenced.add((last = ns));
    }
  }
  let last: string | undefined;
  for (let i = 0; i < names.length; i++) if (names[i] !== last) referenced.add((last = names[i]!));
  for (const name of [...referenced].sort()) {
    if (namespaces.has(name)) continue;
    namespaces.set(name, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { [LABEL_METADATA_NAME]: name } },
    });
    b.note(
      `Namespace ${name}`,
      'metadata.name',
      name,
      SYSTEM_NAMESPACES.includes(name)
        ? 'every cluster has this namespace'
        : 'referenced by objects but not defined; the namespace must exist for them to',
    );
  }
  for (const [name, ns] of namespaces) {
    const labels = ns.metadata.labels ?? {};
    if (labels[LABEL_METADATA_NAME] !== name) {
      ns.metadata.labels = { ...labels, [LABEL_METADATA_NAME]: name };
      b.note(
        `Namespace ${name}`,
        `metadata.labels["${LABEL_METADATA_NAME}"]`,
        name,
        'the API server labels every namespace with its name',
      );
    }
  }
  return byKey(namespaces);
}
