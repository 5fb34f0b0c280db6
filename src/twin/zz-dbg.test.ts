import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin } from './index.js';
import { traceConnection } from '../trace/connection.js';
import { renderTraceText } from '../render/trace.js';
it('x', () => {
    const yaml = readFileSync('examples/same-node.yaml', 'utf8').replace('app: web\n  ports:', 'app: nothing-has-this-label\n  ports:');
    const loaded = loadDocuments([{ path: 'x.yaml', text: yaml }]);
    const built = buildModel(loaded.objects);
    const t = traceConnection(planTwin(built.model), { from: 'default/pod-a', to: 'svc/default/web:80' });
    console.log(renderTraceText(t));
    console.log(JSON.stringify(t.request.hops.at(-1)?.steps.slice(-4), null, 1));
});
