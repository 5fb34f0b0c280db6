/**
 * packeteye as a library: the same twin the CLI runs, from code.
 *
 *   load → model → plan → trace → view
 *
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { loadCluster, planTwin, traceConnection, renderTraceText } from 'packeteye';
 *
 * const path = 'examples/two-nodes.yaml'; // Nodes, Pods, Services, EndpointSlices, policies…
 * const { model, diagnostics } = loadCluster([{ path, text: readFileSync(path, 'utf8') }]);
 * if (diagnostics.some((d) => d.severity === 'error')) throw new Error('unreadable input');
 * const plan = planTwin(model); // what CNI, kube-proxy and the cloud install, per node
 * const trace = traceConnection(plan, { from: 'default/frontend', to: 'svc/default/store-be:80' });
 * console.log(trace.request.disposition, trace.request.at); // delivered default/store-be-…
 * process.stdout.write(renderTraceText(trace));
 * ```
 *
 * A trace (ConnectionTrace) is the `-o json` document: every field is
 * documented in trace/model.ts. Nothing here reads files, the clock or the
 * environment: the caller hands in the text, and a seed decides every chance.
 *
 * Also: reachability under NetworkPolicy (buildPolicyWorld → computeMatrix,
 * evaluatePair/explainPair for one pair), one packet through a node's own
 * iptables-save dump (parseIptablesSave → traceIptables), and the views
 * (text, Mermaid, HTML, pcap).
 */

// load → model
export { loadCluster, loadDocuments, buildModel, type ClusterModel } from './k8s/index.js';
export type { Diagnostic, Severity } from './diag.js';
export { formatDiagnostic, InputError } from './diag.js';

// plan: every node's kernel as the cluster's components build it
export { planTwin, buildTwin, type Twin, type TwinPlan } from './twin/index.js';

// trace: connections through the twin, packets through a dump
export {
  traceConnection,
  traceConnectionWithTwin,
  traceThroughIngress,
  traceIptables,
  knownRefs,
  validateTrace,
  detailOf,
  rewriteOf,
  type TraceOptions,
  type L7Options,
  type IptablesTraceInput,
  type LocalIp,
} from './trace/index.js';
export type * from './trace/model.js';
export { parseIptablesSave } from './iptables/parse.js';

// reachability under NetworkPolicy and AdminNetworkPolicy
export { buildPolicyWorld } from './policy/world.js';
export { computeMatrix, type ReachMatrix } from './policy/matrix.js';
export { evaluatePair } from './policy/evaluate.js';
export { explainPair, explainJson, type PortQuery } from './policy/explain.js';
export type { PolicyWorld, SourceObject } from './policy/model.js';

// views
export {
  renderTraceText,
  renderTraceVerbose,
  renderTraceMermaid,
  renderTraceHtml,
  renderIptablesTraceText,
  iptablesTraceJson,
  traceDocument,
  iptablesTraceDocument,
  API_VERSION,
  DOCUMENT_KINDS,
  renderMatrix,
  writePcap,
  readPcap,
} from './render/index.js';
