/**
 * The trace model's DNS part (`ConnectionTrace.dns`, trace/dns.ts): how a
 * name became the address a connection went to — the pod's resolv.conf, every
 * query the resolver sent with its packet's trace and its answer, the result.
 */
import type { ConnectionTrace } from './model.js';

/** A DNS record as dig prints it (apps/dns message.ts RR). */
export interface DnsRecordView {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly data: string;
}

/** One query the resolver sent, and what came back. */
export interface DnsQueryView {
  /** The name asked, fully qualified (a search-list expansion or the name as is). */
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
  readonly nameserver: string;
  /** Why the resolver asked this name (`search default.svc.cluster.local`, `as is (…)`). */
  readonly why: string;
  /** How many times it went on the wire (the libc's retries after a timeout or a server failure). */
  readonly sends: number;
  /** The answer, when one came back. */
  readonly answer?: {
    readonly rcode: string;
    readonly aa: boolean;
    /** Recursion available (a forwarded answer). */
    readonly ra?: boolean;
    /** Truncated: the resolver asks again over TCP. */
    readonly tc: boolean;
    readonly answer: readonly DnsRecordView[];
    readonly authority: readonly DnsRecordView[];
    readonly additional?: readonly DnsRecordView[];
    /** The server block and plugin that answered. */
    readonly by: string;
    /** The pod (or host) that answered. */
    readonly server: string;
    readonly notes: readonly string[];
  };
  /** No answer: why (the query or its answer died on the way). */
  readonly timeout?: string;
  /** The query packet through the twin, there and back (its defaults are the parent's). */
  readonly trace: ConnectionTrace;
  /** The query CoreDNS forwarded upstream, from the CoreDNS pod. */
  readonly forward?: ConnectionTrace;
}

/** A name resolved by a pod's resolver through the twin (trace/dns.ts). */
export interface DnsView {
  readonly name: string;
  /** The record types asked together (getaddrinfo: A and AAAA). */
  readonly types: readonly string[];
  /** The pod whose resolver asked, `ns/name`. */
  readonly from: string;
  readonly libc: 'glibc' | 'musl';
  /** Why that libc (annotation, image, Cluster field, or assumed). */
  readonly libcFrom: string;
  readonly resolvConf: {
    /** The dnsPolicy that applied. */
    readonly policy: string;
    /** /etc/resolv.conf as the kubelet writes it. */
    readonly text: string;
    readonly notes: readonly string[];
  };
  readonly server: {
    /** Where the Corefile came from (the ConfigMap, or kubeadm's default). */
    readonly corefile: string;
    /** Corefile plugins and options not modelled. */
    readonly notes: readonly string[];
  };
  readonly queries: readonly DnsQueryView[];
  readonly result: {
    /** ok, nxdomain, nodata, servfail, timeout, no-nameserver. */
    readonly status: string;
    /** What the application sees (`EAI_NONAME: Name or service not known`). */
    readonly error?: string;
    /** Addresses (or SRV/PTR data), in answer order; the first IPv4 one is connected to. */
    readonly results: readonly string[];
    readonly answeredName?: string;
    readonly canonical?: string;
    /** Answered from /etc/hosts: no query was sent. */
    readonly fromHosts?: boolean;
    /** Seconds spent waiting on timeouts. */
    readonly waitedSeconds: number;
  };
  /**
   * When queries were lost: what the name would have resolved to (CoreDNS
   * asked directly) and whether the pod reaches that address — a policy set
   * that allows a connection by address but not by name.
   */
  readonly byAddress?: {
    readonly address: string;
    readonly port: number;
    /** The connection to the address was delivered. */
    readonly reachable: boolean;
    readonly note: string;
  };
}
