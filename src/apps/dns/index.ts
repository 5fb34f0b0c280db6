/**
 * DNS in the twin: the pod's stub resolver (resolvconf.ts: the file the
 * kubelet writes; resolver.ts: glibc's and musl's search logic) and the
 * cluster's DNS server (corefile.ts, coredns.ts: CoreDNS as its Corefile
 * configures it; kubernetes.ts: the records of its kubernetes plugin). Pure
 * functions of the cluster model: the trace layer (trace/dns.ts) sends each
 * query as a packet through the twin and asks these what comes back.
 */
export * from './message.js';
export * from './resolvconf.js';
export * from './resolver.js';
export * from './corefile.js';
export * from './kubernetes.js';
export * from './coredns.js';
