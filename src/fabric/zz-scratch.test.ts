import { readFileSync, writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { renderTraceText } from '../render/trace.js';
import { planTwin } from '../twin/index.js';
import { traceConnection } from '../trace/connection.js';

it('scratch', () => {
  const runs = JSON.parse(process.env['PE_RUNS'] ?? '[]') as [string, Record<string, unknown>][];
  let out = '';
  for (const [ex, opts] of runs) {
    const path = `examples/${ex}.yaml`;
    const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
    const built = buildModel(loaded.objects);
    out += [...loaded.diagnostics, ...built.diagnostics].map((d) => JSON.stringify(d)).join('\n') + '\n';
    const plan = planTwin(built.model);
    const t = traceConnection(plan, opts as never);
    out += renderTraceText(t) + '\n';
    out += JSON.stringify(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host} ${r.field} ${r.from}->${r.to}`), null, 1) + '\n';
    out += JSON.stringify(t.diagnostics) + '\n';
    if (t.alternatives) out += JSON.stringify(t.alternatives.map((a) => [a.probability, a.request.disposition, a.request.at, a.request.received?.src, a.reply?.disposition, a.rewrites.map((r) => `${r.kind}@${r.host}`)]), null, 0) + '\n';
  }
  writeFileSync('/tmp/pe4/out.txt', out);
});
