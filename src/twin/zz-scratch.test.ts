import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadDocuments } from '/work/main/src/k8s/load.js';
import { buildModel } from '/work/main/src/k8s/model.js';
it('x', () => {
  for (const f of ['same-node', 'two-nodes']) {
    const p = `/work/main/examples/${f}.yaml`;
    const l = loadDocuments([{ path: p, text: readFileSync(p, 'utf8') }]);
    const { model, diagnostics } = buildModel(l.objects);
    console.log(f, l.diagnostics, diagnostics, model.cluster, [...model.pods.values()].map(p => [p.metadata.name, p.status.podIP, p.spec.nodeName]), [...model.services.values()].map(s=>[s.metadata.name, s.spec.clusterIP]), model.defaults);
  }
});
