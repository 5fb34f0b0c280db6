/**
 * render/: the views. Each turns a model into what a person or a tool
 * reads, and none computes anything the model does not hold:
 *
 *   trace.ts          a connection trace as text (-o text, wide), verbose, Mermaid
 *   html.ts           a connection trace as one self-contained HTML page
 *   iptables-trace.ts an iptables trace as text, and its -o json document
 *   document.ts       the -o json|yaml documents: apiVersion, kind, one builder per kind
 *   reach-document.ts the Reachability document, built or streamed, grouped or per pod
 *   node-rules.ts     the NodeRules document: a namespace's kernel state, structured
 *   reach-html.ts     the Reachability document as a standalone page
 *   reach.ts          a reachability matrix as table, wide, csv, md, or its JSON document
 *   ip.ts             a host's state as iproute2 prints it (ip route/addr/link/neigh, bridge fdb)
 *   pcap.ts           frames as a pcap file (and read back)
 *   testing/          the golden-trace harness (test-only, kept out of dist/)
 *
 * Views take models and return strings (or write through a callback); only
 * cli/ writes to a terminal or a file.
 */
export { renderTraceText, renderTraceVerbose, renderTraceMermaid } from './trace.js';
export { renderTraceHtml } from './html.js';
export { renderIptablesTraceText, iptablesTraceJson } from './iptables-trace.js';
export {
  API_VERSION,
  DOCUMENT_KINDS,
  document,
  traceDocument,
  iptablesTraceDocument,
  type DocumentKind,
} from './document.js';
export {
  reachabilityDocument,
  writeReachability,
  type ReachDocumentOptions,
} from './reach-document.js';
export { nodeRulesDocument } from './node-rules.js';
export { renderMatrix, type MatrixFormat } from './reach.js';
export { writePcap, readPcap, type PcapFile, type PcapRecord } from './pcap.js';
