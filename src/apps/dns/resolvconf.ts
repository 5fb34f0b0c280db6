/**
 * The resolv.conf the kubelet writes into a pod (pkg/kubelet/network/dns/dns.go
 * `GetPodDNS`), and the C library that reads it.
 *
 * dnsPolicy (getPodDNSType):
 * - `ClusterFirst` (the default): the cluster DNS (`clusterDNS`) as the only
 *   nameserver, search `NS.svc.DOMAIN svc.DOMAIN DOMAIN` then the node's own
 *   searches, `options ndots:5` (defaultDNSOptions). A hostNetwork pod falls
 *   back to `Default`.
 * - `ClusterFirstWithHostNet`: as ClusterFirst, hostNetwork or not.
 * - `Default`: the node's resolv.conf (the kubelet's `--resolv-conf`).
 * - `None`: nothing but `dnsConfig`.
 * `dnsConfig` is then appended (appendDNSConfig): nameservers and searches
 * without duplicates, options merged by name (the pod's win). Limits
 * (formDNSConfigFitsLimits): 3 nameservers, 32 search domains (the
 * ExpandedDNSConfig limits, GA in 1.28), none longer than 253, the line at
 * most 2048 characters.
 *
 * The kubelet's clusterDNS: Cluster `spec.dns.clusterDNS`, else the
 * kubelet-config ConfigMap's `clusterDNS`, else kubeadm's: the tenth address
 * of the service range (kubeadm's GetDNSIP), which is also where kubeadm puts
 * the kube-dns Service. The node's resolv.conf: Cluster
 * `spec.dns.nodeResolvConf`, else one nameserver, the underlay gateway (a
 * home or cloud router's DNS forwarder), no searches.
 *
 * The libc: the pod annotation `packeteye.dev/libc: glibc|musl`, else an
 * image whose name says Alpine (`alpine`, `-alpine` tags) is musl, else
 * Cluster `spec.dns.libc`, else glibc (Debian, Ubuntu, distroless base).
 */
import type { ClusterModel, ModelPod } from '../../k8s/model.js';
import { nthAddress, parseCidr } from '../../wire/addr.js';

export type Libc = 'glibc' | 'musl';

/** A pod's resolver configuration: what /etc/resolv.conf says, and which libc reads it. */
export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  /** As written (`ndots:5`, `single-request`). */
  readonly options: readonly string[];
  readonly ndots: number;
  /** Seconds per try (`timeout:`, default 5 — RES_TIMEOUT). */
  readonly timeout: number;
  /** Tries per nameserver (`attempts:`, default 2 — RES_DFLRETRY). */
  readonly attempts: number;
  /** The dnsPolicy that applied (after hostNetwork's fallback). */
  readonly policy: string;
  readonly libc: Libc;
  /** Why this libc, in words. */
  readonly libcFrom: string;
  /** What the kubelet assumed or did (defaults, limits), in words. */
  readonly notes: readonly string[];
  /** The pod's /etc/hosts entries beyond localhost (hostAliases, its own name). */
  readonly hosts: readonly { ip: string; names: readonly string[] }[];
}

/** The annotation naming a pod's C library. */
export const LIBC_ANNOTATION = 'packeteye.dev/libc';

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;
const MAX_DOMAIN = 253;

function uniq(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

/** The kubelet's clusterDNS and where it comes from. */
export function clusterDNS(model: ClusterModel): { ips: readonly string[]; from: string } {
  const dns = model.cluster.dns;
  if (dns.clusterDNS && dns.clusterDNS.length > 0)
    return { ips: dns.clusterDNS, from: `Cluster ${model.cluster.name} spec.dns.clusterDNS` };
  if (dns.kubeletClusterDNS) return dns.kubeletClusterDNS;
  const tenth = nthAddress(parseCidr(model.cluster.serviceCIDR), 10);
  return {
    ips: [tenth],
    from: `kubeadm's kubelet clusterDNS: the tenth address of the service range ${model.cluster.serviceCIDR}`,
  };
}

/** The node's resolv.conf (the kubelet's --resolv-conf), as given or assumed. */
export function nodeResolvConf(model: ClusterModel): {
  nameservers: readonly string[];
  searches: readonly string[];
  from: string;
} {
  const rc = model.cluster.dns.nodeResolvConf;
  if (rc?.nameservers && rc.nameservers.length > 0)
    return {
      nameservers: rc.nameservers,
      searches: rc.searches ?? [],
      from: `Cluster ${model.cluster.name} spec.dns.nodeResolvConf`,
    };
  return {
    nameservers: [model.cluster.underlay.gateway],
    searches: rc?.searches ?? [],
    from: `no Cluster spec.dns.nodeResolvConf: the node's resolver is assumed to be the underlay gateway ${model.cluster.underlay.gateway}`,
  };
}

/** The pod's C library and why. */
export function podLibc(model: ClusterModel, pod: ModelPod): { libc: Libc; from: string } {
  const a = pod.metadata.annotations?.[LIBC_ANNOTATION];
  if (a === 'glibc' || a === 'musl') return { libc: a, from: `annotation ${LIBC_ANNOTATION}` };
  const alpine = pod.spec.containers.find((c) => /(^|[/:@-])alpine/.test(c.image ?? ''));
  if (alpine) return { libc: 'musl', from: `image ${alpine.image} is Alpine (musl)` };
  const c = model.cluster.dns.libc;
  if (c) return { libc: c, from: `Cluster ${model.cluster.name} spec.dns.libc` };
  return {
    libc: 'glibc',
    from: `assumed: no ${LIBC_ANNOTATION} annotation, no Alpine image, no Cluster spec.dns.libc`,
  };
}

function optionValue(options: readonly string[], name: string): number | undefined {
  let v: number | undefined;
  for (const o of options) {
    const m = new RegExp(`^${name}:(\\d+)$`).exec(o);
    if (m) v = Number(m[1]);
  }
  return v;
}

/** Drops what the kubelet drops to fit the limits, saying so. */
function fitSearches(searches: readonly string[], notes: string[]): string[] {
  let s = searches.slice(0, MAX_SEARCHES);
  if (searches.length > MAX_SEARCHES)
    notes.push(`search line limited to ${MAX_SEARCHES} domains (kubelet formDNSSearchFitsLimits)`);
  const long = s.filter((x) => x.length > MAX_DOMAIN);
  if (long.length > 0) {
    s = s.filter((x) => x.length <= MAX_DOMAIN);
    notes.push(`search domains over ${MAX_DOMAIN} characters dropped: ${long.join(' ')}`);
  }
  while (s.join(' ').length > MAX_SEARCH_CHARS) {
    s = s.slice(0, -1);
    if (!notes.some((n) => n.includes('characters'))) {
      notes.push(
        `search line cut to ${MAX_SEARCH_CHARS} characters (kubelet formDNSSearchFitsLimits)`,
      );
    }
  }
  return s;
}

/** The resolv.conf the kubelet writes for `pod`. */
export function podResolvConf(model: ClusterModel, pod: ModelPod): ResolvConf {
  const notes: string[] = [];
  const domain = model.cluster.clusterDomain;
  const given = pod.spec.dnsPolicy ?? 'ClusterFirst';
  let policy: string = given;
  if (pod.spec.dnsPolicy === undefined)
    notes.push('dnsPolicy ClusterFirst (the API server default)');
  if (given === 'ClusterFirst' && pod.spec.hostNetwork) {
    policy = 'Default';
    notes.push(
      "a hostNetwork pod with dnsPolicy ClusterFirst gets the node's resolv.conf (kubelet getPodDNSType)",
    );
  }
  const host = nodeResolvConf(model);
  let nameservers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  if (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') {
    const cd = clusterDNS(model);
    nameservers = [...cd.ips];
    notes.push(`nameserver ${cd.ips.join(' ')}: ${cd.from}`);
    searches = uniq([
      `${pod.metadata.namespace}.svc.${domain}`,
      `svc.${domain}`,
      domain,
      ...host.searches,
    ]);
    options = ['ndots:5'];
  } else if (policy === 'Default') {
    nameservers = [...host.nameservers];
    searches = [...host.searches];
    notes.push(`the node's resolv.conf: ${host.from}`);
  }
  const dc = pod.spec.dnsConfig;
  if (dc) {
    nameservers = uniq([...nameservers, ...(dc.nameservers ?? [])]);
    searches = uniq([...searches, ...(dc.searches ?? [])]);
    const merged = new Map<string, string>();
    for (const o of options) {
      const i = o.indexOf(':');
      merged.set(i < 0 ? o : o.slice(0, i), i < 0 ? '' : o.slice(i + 1));
    }
    for (const o of dc.options ?? []) merged.set(o.name, o.value ?? '');
    options = [...merged].map(([k, v]) => (v === '' ? k : `${k}:${v}`));
    notes.push(
      'spec.dnsConfig appended (kubelet appendDNSConfig; the kubelet writes merged options in map order)',
    );
  }
  if (nameservers.length > MAX_NAMESERVERS) {
    notes.push(
      `nameservers limited to ${MAX_NAMESERVERS} (kubelet formDNSNameserversFitsLimits): ${nameservers.slice(MAX_NAMESERVERS).join(' ')} dropped`,
    );
    nameservers = nameservers.slice(0, MAX_NAMESERVERS);
  }
  searches = fitSearches(searches, notes);
  const { libc, from } = podLibc(model, pod);
  const ndots = Math.min(optionValue(options, 'ndots') ?? 1, 15);
  const timeout = Math.min(optionValue(options, 'timeout') ?? 5, 30);
  const attempts = Math.min(optionValue(options, 'attempts') ?? 2, 5);
  const hosts = (pod.spec.hostAliases ?? []).map((h) => ({ ip: h.ip, names: h.hostnames ?? [] }));
  return {
    nameservers,
    searches,
    options,
    ndots,
    timeout,
    attempts,
    policy,
    libc,
    libcFrom: from,
    notes,
    hosts,
  };
}

/** The file as the kubelet writes it (the runtime's resolv.conf format). */
export function renderResolvConf(rc: ResolvConf): string {
  const lines: string[] = [];
  if (rc.searches.length > 0) lines.push(`search ${rc.searches.join(' ')}`);
  for (const n of rc.nameservers) lines.push(`nameserver ${n}`);
  if (rc.options.length > 0) lines.push(`options ${rc.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
