/**
 * kube-proxy's iptables proxier as configured: its input (Services,
 * EndpointSlices and the proxier's flags) and what `NewProxier` makes of the
 * flags before any sync (`pkg/proxy/iptables/proxier.go` NewProxier, the
 * local-traffic detector of `pkg/proxy/util/localdetector.go`,
 * `proxyutil.NodePortAddresses`), plus the line-writing helpers the sync
 * phases (`sync.ts`) share.
 */

import type { Diagnostic } from '../diag.js';
import type { EndpointSlice, Service } from '../k8s/types.js';
import type { RuleBody } from '../iptables/rule.js';
import type { RuleBodies } from './rule-body.js';
import { type AnyCidr, type IpFamily, cidrContainsIp, familyOfIp, parseCidrAny } from './ipaddr.js';
import { resolveLayout, type ProxyLayout } from './version.js';

export type LocalDetector =
  | { readonly mode: 'NoOp' }
  | { readonly mode: 'ClusterCIDR' | 'NodeCIDR'; readonly cidr: string }
  | { readonly mode: 'BridgeInterface'; readonly interfaceName: string }
  | { readonly mode: 'InterfaceNamePrefix'; readonly prefix: string };

export interface ProxyInput {
  /** kube-proxy release, e.g. "1.31" (default) or "1.27". */
  readonly version?: string;
  /** This node's name (endpoint `nodeName` equal to it is local). */
  readonly nodeName: string;
  /** The node's IPs; the first of the proxier's family is `nodeIP`. */
  readonly nodeIPs: readonly string[];
  /** `--cluster-cidr` for the ClusterCIDR local-traffic detector; absent = no detector. */
  readonly clusterCIDR?: string;
  /** Overrides `clusterCIDR` with another `--detect-local-mode`. */
  readonly localDetector?: LocalDetector;
  /** As kube-proxy prints it; default `0x004000` (`%#08x` of 1<<14). */
  readonly masqueradeMark?: string;
  readonly masqueradeAll?: boolean;
  /** `--iptables-localhost-nodeports`, default true. */
  readonly localhostNodePorts?: boolean;
  /** `--nodeport-addresses`; null/absent/[] = all addresses. `primary` = the node IP. */
  readonly nodePortAddresses?: readonly string[] | null;
  /** `net.netfilter.nf_conntrack_tcp_be_liberal` != 0 (1.29+: no INVALID drop). */
  readonly tcpBeLiberal?: boolean;
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  /** Which proxier (one per family); default IPv4. IPv6 output is ip6tables text. */
  readonly ipFamily?: IpFamily;
  /** Addresses on the node's interfaces in interface order (for --nodeport-addresses); default 127.0.0.1, ::1, nodeIPs. */
  readonly interfaceAddresses?: readonly string[];
  /** The Node's labels (topology.kubernetes.io/zone, for topology-aware hints). */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  /** iptables supports `--random-fully` (true on every current iptables). */
  readonly randomFully?: boolean;
  /** nfacct counters could be created (1.30+; default true). */
  readonly nfacct?: boolean;
  /**
   * nftables mode: the cluster's Service CIDRs of this family (ServiceCIDR objects or
   * the API server's --service-cluster-ip-range); traffic to an unallocated address in
   * them is dropped. The iptables mode does not read it.
   */
  readonly serviceCIDRs?: readonly string[];
  /** What-if: Services (`ns/name`) whose external traffic kube-proxy does not masquerade. */
  readonly noExternalMasquerade?: readonly string[];
}

export interface ProxyOutput {
  /** Full iptables-save-style text for the node, in kube-proxy's test order. */
  readonly text: string;
  readonly diagnostics: Diagnostic[];
}

export interface RestoreOutput {
  /** Exactly what kube-proxy feeds `iptables-restore --noflush` (its `iptablesData`). */
  readonly text: string;
  readonly diagnostics: Diagnostic[];
  readonly layout: ProxyLayout;
  /** The localhostNodePorts value kube-proxy ends up with (NewProxier may turn it off). */
  readonly localhostNodePorts: boolean;
}

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;
export const NFACCT_INVALID = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NP = 'localhost_nps_accepted_pkts';

/** `computeProbability`: Go `fmt.Sprintf("%0.10f", 1.0/float64(n))` (the small counts kept). */
export function computeProbability(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= PROBABILITIES.length) return (1 / n).toFixed(10);
  return (PROBABILITIES[n] ??= (1 / n).toFixed(10));
}
const PROBABILITIES: (string | undefined)[] = new Array<string | undefined>(1024);

/** A line's words as a sync passes them: strings and lists of strings, joined by single spaces. */
export type Words = readonly (string | readonly string[])[];

/** What a restore line is: a chain declaration, an `-A` rule, or another command. */
export type LineKind = 'declare' | 'rule' | 'other';

/**
 * One line a sync wrote: its text, the chain it declares or appends to, and a
 * rule's parsed form where the writer built it (`rule-body.ts`), so that the
 * twin installs it without reading the text back.
 */
export class RestoreLine {
  constructor(
    /** The line as kube-proxy writes it. */
    readonly text: string,
    readonly kind: LineKind,
    /** The chain the line declares (`:NAME`) or appends to (`-A NAME`); undefined for other lines. */
    readonly chain: string | undefined,
    /** The rule's parsed form (undefined: the installer parses `text`). */
    readonly body?: RuleBody,
  ) {}
}

/** `LineBuffer.Write`'s words joined by single spaces, and the chain after a leading `-A`. */
function lineOf(words: Words, body?: RuleBody): RestoreLine {
  const parts: string[] = [];
  for (const w of words) {
    if (typeof w === 'string') parts.push(w);
    else for (const x of w) parts.push(x);
  }
  const rule = parts[0] === '-A';
  return new RestoreLine(
    parts.join(' '),
    rule ? 'rule' : 'other',
    rule && parts.length > 1 ? parts[1] : undefined,
    body,
  );
}

/**
 * `LineBuffer.Write`: arguments joined by single spaces; a rule line may
 * carry its parsed form. Another buffer is appended by reference (a service
 * port's lines, written once and shared by the nodes' syncs, are not copied
 * into each).
 */
export class LineBuffer {
  private readonly items: (RestoreLine | LineBuffer)[] = [];
  write(...args: Words): void {
    this.items.push(lineOf(args));
  }
  /** `:NAME - [0:0]`: a user chain declared. */
  declare(name: string): void {
    this.items.push(new RestoreLine(chainLine(name), 'declare', name));
  }
  /** Every line of `other`, after these (`other` is not written to after). */
  append(other: LineBuffer): void {
    this.items.push(other);
  }
  /** A line as written before (`groupFragment`). */
  push(line: RestoreLine): void {
    this.items.push(line);
  }
  /** A rule line and its parsed form (undefined: the installer parses the line). */
  writeRule(body: RuleBody | undefined, ...args: Words): void {
    this.items.push(lineOf(args, body));
  }
  /** Each line, in order. */
  each(fn: (line: RestoreLine) => void): void {
    for (const it of this.items) {
      if (it instanceof RestoreLine) fn(it);
      else it.each(fn);
    }
  }
  /** The lines' text. */
  get lines(): string[] {
    const out: string[] = [];
    this.each((l) => out.push(l.text));
    return out;
  }
}

/** `-m comment --comment <c>`: the comment match most kube-proxy rules carry. */
export function commentArgs(c: string): string[] {
  return ['-m', 'comment', '--comment', c];
}

export function chainLine(name: string): string {
  return `:${name} - [0:0]`;
}

export function detectorArgs(
  d: LocalDetector | undefined,
): { ifLocal: string[]; ifNotLocal: string[] } | undefined {
  if (!d) return undefined;
  switch (d.mode) {
    case 'NoOp':
      return undefined;
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const c = parseCidrAny(d.cidr);
      const text = c ? c.text : d.cidr;
      return { ifLocal: ['-s', text], ifNotLocal: ['!', '-s', text] };
    }
    case 'BridgeInterface':
      return { ifLocal: ['-i', d.interfaceName], ifNotLocal: ['!', '-i', d.interfaceName] };
    case 'InterfaceNamePrefix':
      return { ifLocal: ['-i', `${d.prefix}+`], ifNotLocal: ['!', '-i', `${d.prefix}+`] };
  }
}

/** `proxyutil.NodePortAddresses` for one family. */
export interface NodePortAddresses {
  readonly cidrs: AnyCidr[];
  readonly matchAll: boolean;
  readonly containsIPv4Loopback: boolean;
}

export function nodePortAddresses(
  family: IpFamily,
  input: readonly string[] | null | undefined,
  primary: string | undefined,
  diagnostics: Diagnostic[],
): NodePortAddresses {
  const strings: string[] = [];
  for (const s of input ?? []) {
    if (s === 'primary') {
      if (primary !== undefined) strings.push(`${primary}/${family === 'IPv4' ? 32 : 128}`);
      continue;
    }
    const c = parseCidrAny(s.trim());
    if (!c) {
      diagnostics.push({
        code: 'proxy.nodePortAddresses',
        severity: 'error',
        message: `invalid --nodeport-addresses entry "${s}"`,
        field: 'nodePortAddresses',
      });
      continue;
    }
    if (c.family === family) strings.push(s.trim());
  }
  if (strings.length === 0) strings.push(family === 'IPv4' ? '0.0.0.0/0' : '::/0');
  const cidrs: AnyCidr[] = [];
  let containsIPv4Loopback = false;
  let matchAll = false;
  for (const s of strings) {
    const c = parseCidrAny(s)!;
    if (c.family === 'IPv4' && (c.network[0] === 127 || cidrContainsIp(c, '127.0.0.1'))) {
      containsIPv4Loopback = true;
    }
    if (c.prefix === 0) {
      cidrs.length = 0;
      cidrs.push(c);
      matchAll = true;
      break;
    }
    cidrs.push(c);
  }
  return { cidrs, matchAll, containsIPv4Loopback };
}

/**
 * The rules kube-proxy writes with `iptables-restore --noflush` on a full sync
 * (`proxier.iptablesData`), in kube-proxy's own write order.
/** What NewProxier and the start of syncProxyRules settle before writing any rule. */
export interface ProxierSettings {
  readonly layout: ProxyLayout;
  readonly family: IpFamily;
  readonly isIPv6: boolean;
  /** The first node IP of the proxier's family. */
  readonly nodeIP: string | undefined;
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  /** `-s`/`-i` matches of the local-traffic detector; undefined = no detector. */
  readonly detector: { ifLocal: string[]; ifNotLocal: string[] } | undefined;
  readonly nodePortAddresses: NodePortAddresses;
  readonly localhostNodePorts: boolean;
  readonly nfacct: boolean;
  readonly randomFully: boolean;
  readonly conntrackTCPLiberal: boolean;
  /** Services (`ns/name`) whose KUBE-EXT chain gets no masquerade rule (a what-if). */
  readonly noExternalMasquerade: ReadonlySet<string>;
}

/**
 * What every proxier (iptables and nftables) settles first from its flags:
 * the node IP of its family, the masquerade mark, and the local-traffic
 * detector (none for a CIDR of the other family), diagnosing what kube-proxy
 * would refuse.
 */
export function proxierBasics(
  input: ProxyInput,
  family: IpFamily,
  diagnostics: Diagnostic[],
): {
  nodeIP: string | undefined;
  masqueradeMark: string;
  localDetector: LocalDetector | undefined;
} {
  const nodeIP = input.nodeIPs.map((s) => s.trim()).find((ip) => familyOfIp(ip) === family);
  for (const ip of input.nodeIPs) {
    if (familyOfIp(ip.trim()) === undefined) {
      diagnostics.push({
        code: 'proxy.nodeIP',
        severity: 'error',
        message: `invalid node IP "${ip}"`,
        field: 'nodeIPs',
      });
    }
  }
  const masqueradeMark = input.masqueradeMark ?? '0x004000';
  if (!/^0x[0-9a-fA-F]+$/.test(masqueradeMark)) {
    diagnostics.push({
      code: 'proxy.masqueradeMark',
      severity: 'error',
      message: `masquerade mark "${masqueradeMark}" is not a hex number like 0x4000`,
      field: 'masqueradeMark',
    });
  }

  let localDetector: LocalDetector | undefined = input.localDetector;
  if (!localDetector && input.clusterCIDR !== undefined) {
    localDetector = { mode: 'ClusterCIDR', cidr: input.clusterCIDR };
  }
  if (
    localDetector &&
    (localDetector.mode === 'ClusterCIDR' || localDetector.mode === 'NodeCIDR')
  ) {
    const c = parseCidrAny(localDetector.cidr);
    if (!c) {
      diagnostics.push({
        code: 'proxy.clusterCIDR',
        severity: 'error',
        message: `invalid cluster CIDR "${localDetector.cidr}"; no local-traffic detector`,
        field: 'clusterCIDR',
      });
      localDetector = undefined;
    } else if (c.family !== family) {
      // kube-proxy builds one detector per family; a CIDR of the other family means none.
      localDetector = undefined;
    }
  }
  return { nodeIP, masqueradeMark, localDetector };
}

/** `NewProxier`: the proxier's flags as kube-proxy settles them (diagnosing what it would refuse). */
export function newProxier(input: ProxyInput, diagnostics: Diagnostic[]): ProxierSettings {
  const layout = resolveLayout(input.version, diagnostics);
  const family: IpFamily = input.ipFamily ?? 'IPv4';
  const isIPv6 = family === 'IPv6';

  const { nodeIP, masqueradeMark, localDetector } = proxierBasics(input, family, diagnostics);
  const detector = detectorArgs(localDetector);

  const npa = nodePortAddresses(family, input.nodePortAddresses, nodeIP, diagnostics);
  // NewProxier: localhost NodePorts need an IPv4 loopback-covering --nodeport-addresses;
  // the IPv6 proxier never gets them (NewDualStackProxier passes false).
  let localhostNodePorts = input.localhostNodePorts ?? true;
  if (isIPv6) localhostNodePorts = false;
  if (localhostNodePorts && !npa.containsIPv4Loopback) {
    localhostNodePorts = false;
    diagnostics.push({
      code: 'proxy.localhostNodePorts',
      severity: 'info',
      message:
        '--nodeport-addresses does not include 127.0.0.1, so kube-proxy turns localhost NodePorts off',
      field: 'localhostNodePorts',
    });
  }
  const nfacct = layout.nfacct && (input.nfacct ?? true);
  const randomFully = input.randomFully ?? true;
  const conntrackTCPLiberal =
    layout.invalidDropHonoursTcpBeLiberal && (input.tcpBeLiberal ?? false);
  return {
    layout,
    family,
    isIPv6,
    nodeIP,
    masqueradeMark,
    masqueradeAll: input.masqueradeAll ?? false,
    detector,
    nodePortAddresses: npa,
    localhostNodePorts,
    nfacct,
    randomFully,
    conntrackTCPLiberal,
    noExternalMasquerade: new Set(input.noExternalMasquerade ?? []),
  };
}

/** The four buffers of one sync and the settings they are written with. */
export interface Sync {
  readonly s: ProxierSettings;
  readonly filterChains: LineBuffer;
  readonly filterRules: LineBuffer;
  readonly natChains: LineBuffer;
  readonly natRules: LineBuffer;
  /** Adds the comment unless the cluster is large (over 1000 endpoints). */
  readonly withComment: (args: string[], comment: string) => string[];
  /** Whether withComment adds the comment. */
  readonly commented: boolean;
  /** The parsed forms of the rules written beside their text. */
  readonly bodies: RuleBodies;
}
