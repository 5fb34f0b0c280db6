import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { renderTraceText } from '../render/trace.js';
import { planTwin } from '../twin/index.js';
import { traceConnection } from '../trace/connection.js';
it('scratch', () => {
  for (const ex of ['policy-calico', 'policy-bridge-unenforced']) {
    const path = `examples/${ex}.yaml`;
    const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
    const built = buildModel(loaded.objects);
    const plan = planTwin(built.model);
    for (const [from, to] of [['store/fe-1', 'svc/store/be:8080'], ['store/fe-1', 'store/db-1:6379'], ['store/fe-1', 'svc/store/db:6379'], ['store/be-1', 'svc/store/db:6379'], ['store/fe-2', 'store/be-1:8080']] as const) {
      const t = traceConnection(plan, { from, to });
      console.log(`===== ${ex} ${from} -> ${to}: ${t.request.disposition} ${t.request.reason ?? ''} reply ${t.reply?.disposition}`);
      console.log(renderTraceText(t));
      console.log(JSON.stringify(t.policy));
    }
    console.log(plan.instantiate().nodeRules.get('node-a')!.text.split('\n').filter(l=>/filter|FORWARD|INPUT|cali-tw|cali-pi|cali-fw|dispatch/.test(l)).join('\n'));
  }
});
