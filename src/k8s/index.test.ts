import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { hasErrors } from '../diag.js';
import { loadCluster } from './index.js';

describe('loadCluster', () => {
  it('loads and models both examples together with the diagnostics of both stages', () => {
    const good = loadCluster([
      { path: 'examples/same-node.yaml', text: readFileSync('examples/same-node.yaml', 'utf8') },
    ]);
    expect(hasErrors(good.diagnostics)).toBe(false);
    expect(good.model.pods.size).toBe(2);

    const bad = loadCluster([
      {
        path: 'a.yaml',
        text: 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {nodeName: nowhere, containers: [{name: c, ports: [{containerPort: 0}]}]}\n',
      },
    ]);
    expect(bad.diagnostics.map((d) => [d.code, d.file, d.object, d.field])).toEqual([
      ['k8s-invalid-port', 'a.yaml', 'Pod a', 'spec.containers[0].ports[0].containerPort'],
      ['k8s-pod-unknown-node', 'a.yaml', 'Pod default/a', 'spec.nodeName'],
    ]);
  });
});
