/**
 * trace/: a packet's life through the twin, as data. The floor above the
 * twin (twin/ builds every node's kernel; trace/ sends packets through it)
 * and below the views (render/ turns a trace into text, JSON, Mermaid, HTML).
 *
 *   refs.ts           --from / --to: a pod, node, Service, ExternalHost or IP, resolved
 *   opening.ts        the first packet of a connection (SYN, datagram, echo request)
 *   connection.ts     traceConnection: request and answer through the twin's kernels,
 *                     only the nodes the connection can touch built; --all-paths
 *   l7.ts             traceThroughIngress: the ingress controller's second connection
 *   iptables-trace.ts traceIptables: one packet through one host's iptables-save dump
 *   model.ts          every type of a trace: the -o json contract, StepView by kind
 *   validate.ts       validateTrace: the invariants every built trace holds
 *   check/            connectivity as code: ConnectivityExpectations statements
 *                     decided by traces (data plane) or the policy engine
 *                     (reachability), reach --diff, and the checked edits that
 *                     would allow a denied pair
 *
 * Nothing here reads files, the clock or the environment; chance comes from a
 * seeded Chooser, so a trace is a pure function of the cluster and the options.
 */
export { traceConnection, traceConnectionWithTwin, type TraceOptions } from './connection.js';
export { traceThroughIngress, type L7Options } from './l7.js';
export { traceIptables, type IptablesTraceInput, type LocalIp } from './iptables-trace.js';
export { knownRefs, resolveRef } from './refs.js';
export { validateTrace } from './validate.js';
export * from './model.js';
