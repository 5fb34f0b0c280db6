import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadDocuments } from './load.js';
import { buildModel } from './model.js';
import { stringify } from 'yaml';
it('scratch', () => {
    const docs: unknown[] = [];
    for (let n = 0; n < 50; n++) docs.push({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}` } });
    for (let i = 0; i < 5000; i++) {
      docs.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${i}`, namespace: `ns-${i % 10}`, labels: { app: `app-${i % 500}` } },
        spec: { nodeName: `node-${i % 50}`, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      });
    }
    for (let s = 0; s < 500; s++) {
      docs.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${s}`, namespace: `ns-${s % 10}` },
        spec: { selector: { app: `app-${s}` }, ports: [{ port: 80, targetPort: 'http' }] },
      });
    }
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs });
    const ytext = stringify({ apiVersion: 'v1', kind: 'List', items: docs });
    for (const t of [text, ytext]) {
    let t0 = performance.now();
    const l = loadDocuments([{path: 'x', text: t}]);
    console.log('load', performance.now() - t0, t.length);
    t0 = performance.now();
    buildModel(l.objects);
    console.log('build', performance.now() - t0);
    }
});
