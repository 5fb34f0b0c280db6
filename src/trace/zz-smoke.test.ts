import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin } from '../twin/index.js';
import { traceConnection } from './connection.js';
it('x', () => {
  const p = `examples/two-nodes.yaml`;
  const l = loadDocuments([{ path: p, text: readFileSync(p, 'utf8') }]);
  const { model } = buildModel(l.objects);
  const plan = planTwin(model);
  traceConnection(plan, { from: 'default/frontend', to: 'svc/default/store-be:80', allPaths: true });
});
