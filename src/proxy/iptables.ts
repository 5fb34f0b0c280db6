/**
 * kube-proxy's iptables mode as a compiler: Services + EndpointSlices +
 * proxier settings -> the rules kube-proxy writes on a node.
 *
 * `syncProxyRules` below follows kubernetes `pkg/proxy/iptables/proxier.go`
 * (`syncProxyRules`, `writeServiceToEndpointRules`, `iptablesJumpChains`)
 * line by line, so the text is kube-proxy's: the same argument order, the same
 * quoted comments, `%0.10f` probabilities. Release differences are in
 * `version.ts`.
 */

import type { Diagnostic } from '../diag.js';
import type { EndpointSlice, Service } from '../k8s/types.js';
import {
  formatDump,
  parseDump,
  sortDump,
  type Dump,
  type DumpChain,
  type DumpTable,
} from './dump.js';
import {
  buildServicePortMap,
  categorizeEndpoints,
  externallyAccessible,
  usesClusterEndpoints,
  usesLocalEndpoints,
  type EndpointInfo,
  type ServicePortInfo,
} from './endpoints.js';
import {
  type AnyCidr,
  type IpFamily,
  canonicalIp,
  cidrContainsIp,
  familyOfIp,
  isLoopback,
  parseCidrAny,
} from './ipaddr.js';
import { resolveLayout, type ProxyLayout } from './version.js';

/** How kube-proxy tells pod traffic from other traffic (`--detect-local-mode`). */
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

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';
const KUBE_FIREWALL = 'KUBE-FIREWALL';
const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;
const NFACCT_INVALID = 'ct_state_invalid_dropped_pkts';
const NFACCT_LOCALHOST_NP = 'localhost_nps_accepted_pkts';

/** `computeProbability`: Go `fmt.Sprintf("%0.10f", 1.0/float64(n))`. */
export function computeProbability(n: number): string {
  return (1 / n).toFixed(10);
}

/** `LineBuffer.Write`: arguments joined by single spaces. */
class LineBuffer {
  readonly lines: string[] = [];
  write(...args: (string | readonly string[])[]): void {
    const parts: string[] = [];
    for (const a of args) {
      if (typeof a === 'string') parts.push(a);
      else parts.push(...a);
    }
    this.lines.push(parts.join(' '));
  }
}

/** `-m comment --comment <c>`: the comment match most kube-proxy rules carry. */
function commentArgs(c: string): string[] {
  return ['-m', 'comment', '--comment', c];
}

function chainLine(name: string): string {
  return `:${name} - [0:0]`;
}

function detectorArgs(
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
interface NodePortAddresses {
  readonly cidrs: AnyCidr[];
  readonly matchAll: boolean;
  readonly containsIPv4Loopback: boolean;
}

function nodePortAddresses(
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
 */
export function generateKubeProxyRestore(input: ProxyInput): RestoreOutput {
  const diagnostics: Diagnostic[] = [];
  const layout = resolveLayout(input.version, diagnostics);
  const family: IpFamily = input.ipFamily ?? 'IPv4';
  const isIPv6 = family === 'IPv6';

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

  const { ports, endpoints } = buildServicePortMap(
    input.services,
    input.endpointSlices,
    { family, nodeName: input.nodeName, honourIpMode: layout.loadBalancerIpMode },
    diagnostics,
  );
  const nodeLabels = input.nodeLabels ?? {};

  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();

  for (const c of [
    KUBE_SERVICES,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
  ]) {
    filterChains.write(chainLine(c));
  }
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) {
    natChains.write(chainLine(c));
  }

  natRules.write(
    '-A',
    KUBE_POSTROUTING,
    '-m',
    'mark',
    '!',
    '--mark',
    `${masqueradeMark}/${masqueradeMark}`,
    '-j',
    'RETURN',
  );
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', masqueradeMark);
  const masqRule = [
    '-A',
    KUBE_POSTROUTING,
    ...commentArgs('"kubernetes service traffic requiring SNAT"'),
    '-j',
    'MASQUERADE',
  ];
  if (randomFully) masqRule.push('--random-fully');
  natRules.write(masqRule);
  natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', masqueradeMark);

  if (!isIPv6 && localhostNodePorts) {
    // route_localnet opens issue #90259; this is kube-proxy's copy of kubelet's fix.
    filterChains.write(chainLine(KUBE_FIREWALL));
    filterRules.write(
      '-A',
      KUBE_FIREWALL,
      commentArgs('"block incoming localnet connections"'),
      '-d',
      '127.0.0.0/8',
      '!',
      '-s',
      '127.0.0.0/8',
      '-m',
      'conntrack',
      '!',
      '--ctstate',
      'RELATED,ESTABLISHED,DNAT',
      '-j',
      'DROP',
    );
  }

  // largeClusterMode: total endpoints over existing service ports.
  let totalEndpoints = 0;
  for (const key of ports.keys()) totalEndpoints += endpoints.get(key)?.length ?? 0;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const withComment = (args: string[], comment: string): string[] =>
    largeClusterMode ? args : [...args, ...commentArgs(comment)];

  // kube-proxy iterates a Go map here (random order); we use name order. Upstream's
  // tests sort the result (sortIPTablesRules), and the rules of different services
  // never overlap, so the order carries no meaning.
  const keys = [...ports.keys()].sort();
  for (const key of keys) {
    const svcInfo = ports.get(key)!;
    const protocol = svcInfo.proto;
    const svcPortNameString = svcInfo.nameString;
    const allEndpoints = endpoints.get(key) ?? [];
    const {
      clusterEndpoints,
      localEndpoints,
      allReachableEndpoints,
      hasAnyEndpoints: hasEndpoints,
    } = categorizeEndpoints(allEndpoints, svcInfo, nodeLabels);

    const clusterPolicyChain = svcInfo.clusterPolicyChainName;
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(svcInfo);
    const localPolicyChain = svcInfo.localPolicyChainName;
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(svcInfo);

    let internalPolicyChain = clusterPolicyChain;
    let hasInternalEndpoints = hasEndpoints;
    if (svcInfo.internalPolicyLocal) {
      internalPolicyChain = localPolicyChain;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    const internalTrafficChain = internalPolicyChain;

    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasEndpoints;
    if (svcInfo.externalPolicyLocal) {
      externalPolicyChain = localPolicyChain;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = svcInfo.externalChainName;
    // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules for
    // local traffic are needed even with no externally usable endpoints.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(svcInfo);

    let loadBalancerTrafficChain = externalTrafficChain;
    const fwChain = svcInfo.firewallChainName;
    const usesFWChain =
      hasEndpoints &&
      svcInfo.loadBalancerVIPs.length > 0 &&
      svcInfo.loadBalancerSourceRanges.length > 0;
    if (usesFWChain) loadBalancerTrafficChain = fwChain;

    let internalTrafficFilterTarget = '';
    let internalTrafficFilterComment = '';
    let externalTrafficFilterTarget = '';
    let externalTrafficFilterComment = '';
    if (!hasEndpoints) {
      internalTrafficFilterTarget = 'REJECT';
      internalTrafficFilterComment = `"${svcPortNameString} has no endpoints"`;
      externalTrafficFilterTarget = 'REJECT';
      externalTrafficFilterComment = internalTrafficFilterComment;
    } else {
      if (!hasInternalEndpoints) {
        internalTrafficFilterTarget = 'DROP';
        internalTrafficFilterComment = `"${svcPortNameString} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        externalTrafficFilterTarget = 'DROP';
        externalTrafficFilterComment = `"${svcPortNameString} has no local endpoints"`;
      }
    }

    const port = String(svcInfo.port);
    // `-m <proto> -p <proto> [-d <dst>] --dport <port>`: the match every capture rule of
    // this service port carries after its comment.
    const protoArgs = ['-m', protocol, '-p', protocol];
    const dstPort = (dst: string, dport: string): string[] => [
      ...protoArgs,
      '-d',
      dst,
      '--dport',
      dport,
    ];
    const clusterIPComment = commentArgs(`"${svcPortNameString} cluster IP"`);
    const clusterIPMatch = dstPort(svcInfo.clusterIP, port);
    // The filter rule that DROPs/REJECTs external traffic with no usable endpoints.
    const externalFilter = (...match: (string | readonly string[])[]): void =>
      filterRules.write(
        '-A',
        KUBE_EXTERNAL_SERVICES,
        commentArgs(externalTrafficFilterComment),
        ...match,
        '-j',
        externalTrafficFilterTarget,
      );

    // Capture the clusterIP.
    if (hasInternalEndpoints) {
      natRules.write(
        '-A',
        KUBE_SERVICES,
        clusterIPComment,
        clusterIPMatch,
        '-j',
        internalTrafficChain,
      );
    } else {
      filterRules.write(
        '-A',
        KUBE_SERVICES,
        commentArgs(internalTrafficFilterComment),
        clusterIPMatch,
        '-j',
        internalTrafficFilterTarget,
      );
    }

    // Capture externalIPs.
    for (const externalIP of svcInfo.externalIPs) {
      const match = dstPort(externalIP, port);
      if (hasEndpoints) {
        natRules.write(
          '-A',
          KUBE_SERVICES,
          commentArgs(`"${svcPortNameString} external IP"`),
          match,
          '-j',
          externalTrafficChain,
        );
      }
      if (!hasExternalEndpoints) externalFilter(match);
    }

    // Capture load-balancer ingress.
    for (const lbip of svcInfo.loadBalancerVIPs) {
      const match = dstPort(lbip, port);
      if (hasEndpoints) {
        natRules.write(
          '-A',
          KUBE_SERVICES,
          commentArgs(`"${svcPortNameString} loadbalancer IP"`),
          match,
          '-j',
          loadBalancerTrafficChain,
        );
      }
      if (usesFWChain) {
        filterRules.write(
          '-A',
          KUBE_PROXY_FIREWALL,
          commentArgs(
            `"${svcPortNameString} traffic not accepted by ${svcInfo.firewallChainName}"`,
          ),
          match,
          '-j',
          'DROP',
        );
      }
    }
    if (!hasExternalEndpoints) {
      for (const lbip of svcInfo.loadBalancerVIPs) externalFilter(dstPort(lbip, port));
    }

    // Capture nodeports. (NodePorts are not subject to loadBalancerSourceRanges.)
    if (svcInfo.nodePort !== 0) {
      const nodePort = String(svcInfo.nodePort);
      if (hasEndpoints) {
        if (nfacct && localhostNodePorts && family === 'IPv4') {
          natRules.write(
            '-A',
            KUBE_NODEPORTS,
            commentArgs(svcPortNameString),
            dstPort('127.0.0.0/8', nodePort),
            '-m',
            'nfacct',
            '--nfacct-name',
            NFACCT_LOCALHOST_NP,
            '-j',
            externalTrafficChain,
          );
        }
        natRules.write(
          '-A',
          KUBE_NODEPORTS,
          commentArgs(svcPortNameString),
          protoArgs,
          '--dport',
          nodePort,
          '-j',
          externalTrafficChain,
        );
      }
      if (!hasExternalEndpoints) {
        externalFilter('-m', 'addrtype', '--dst-type', 'LOCAL', protoArgs, '--dport', nodePort);
      }
    }

    // Capture healthCheckNodePorts (whether or not there are local endpoints).
    if (svcInfo.healthCheckNodePort !== 0) {
      filterRules.write(
        '-A',
        KUBE_NODEPORTS,
        commentArgs(`"${svcPortNameString} health check node port"`),
        '-m',
        'tcp',
        '-p',
        'tcp',
        '--dport',
        String(svcInfo.healthCheckNodePort),
        '-j',
        'ACCEPT',
      );
    }

    // Internal traffic handling: masquerade off-cluster (or all) traffic to the ClusterIP.
    if (hasInternalEndpoints) {
      const args = [...clusterIPComment, ...clusterIPMatch];
      if (input.masqueradeAll) {
        natRules.write('-A', internalTrafficChain, args, '-j', KUBE_MARK_MASQ);
      } else if (detector) {
        natRules.write('-A', internalTrafficChain, args, detector.ifNotLocal, '-j', KUBE_MARK_MASQ);
      }
    }

    // External traffic handling.
    if (usesExternalTrafficChain) {
      natChains.write(chainLine(externalTrafficChain));
      if (!svcInfo.externalPolicyLocal) {
        // Non-local endpoints may be on another node: masquerade.
        natRules.write(
          '-A',
          externalTrafficChain,
          commentArgs(`"masquerade traffic for ${svcPortNameString} external destinations"`),
          '-j',
          KUBE_MARK_MASQ,
        );
      } else {
        if (detector) {
          // Pod -> external destination short-circuits to the Cluster chain.
          natRules.write(
            '-A',
            externalTrafficChain,
            commentArgs(`"pod traffic for ${svcPortNameString} external destinations"`),
            detector.ifLocal,
            '-j',
            clusterPolicyChain,
          );
        }
        // Host-originated traffic: the LB IP is local, so it would be the source; masquerade.
        natRules.write(
          '-A',
          externalTrafficChain,
          commentArgs(`"masquerade LOCAL traffic for ${svcPortNameString} external destinations"`),
          '-m',
          'addrtype',
          '--src-type',
          'LOCAL',
          '-j',
          KUBE_MARK_MASQ,
        );
        natRules.write(
          '-A',
          externalTrafficChain,
          commentArgs(`"route LOCAL traffic for ${svcPortNameString} external destinations"`),
          '-m',
          'addrtype',
          '--src-type',
          'LOCAL',
          '-j',
          clusterPolicyChain,
        );
      }
      if (hasExternalEndpoints) {
        natRules.write('-A', externalTrafficChain, '-j', externalPolicyChain);
      }
    }

    // Firewall chain (loadBalancerSourceRanges).
    if (usesFWChain) {
      natChains.write(chainLine(fwChain));
      const args = ['-A', fwChain, ...commentArgs(`"${svcPortNameString} loadbalancer IP"`)];
      let allowFromNode = false;
      for (const cidr of svcInfo.loadBalancerSourceRanges) {
        natRules.write(args, '-s', cidr, '-j', externalTrafficChain);
        const c = parseCidrAny(cidr);
        if (c && nodeIP !== undefined && cidrContainsIp(c, nodeIP)) allowFromNode = true;
      }
      // A VIP that is local to the node loops node-originated traffic back with src = VIP.
      if (allowFromNode) {
        for (const lbip of svcInfo.loadBalancerVIPs) {
          natRules.write(args, '-s', lbip, '-j', externalTrafficChain);
        }
      }
      // Whatever reaches the end was not DNATed and is dropped by KUBE-PROXY-FIREWALL.
      natRules.write(
        '-A',
        fwChain,
        commentArgs(
          `"other traffic to ${svcPortNameString} will be dropped by KUBE-PROXY-FIREWALL"`,
        ),
      );
    }

    if (usesClusterPolicyChain) {
      natChains.write(chainLine(clusterPolicyChain));
      writeServiceToEndpointRules(
        natRules,
        svcPortNameString,
        svcInfo,
        clusterPolicyChain,
        clusterEndpoints,
        withComment,
      );
    }
    if (usesLocalPolicyChain) {
      natChains.write(chainLine(localPolicyChain));
      writeServiceToEndpointRules(
        natRules,
        svcPortNameString,
        svcInfo,
        localPolicyChain,
        localEndpoints,
        withComment,
      );
    }

    // Per-endpoint chains.
    for (const ep of allReachableEndpoints) {
      const endpointChain = ep.chainName;
      natChains.write(chainLine(endpointChain));
      let args = withComment(['-A', endpointChain], svcPortNameString);
      // Hairpin: a pod reaching itself through the service must be SNATed.
      natRules.write(args, '-s', ep.ip, '-j', KUBE_MARK_MASQ);
      if (svcInfo.sessionAffinityClientIP) {
        args = [...args, '-m', 'recent', '--name', endpointChain, '--set'];
      }
      natRules.write(
        args,
        '-m',
        protocol,
        '-p',
        protocol,
        '-j',
        'DNAT',
        '--to-destination',
        ep.endpoint,
      );
    }
  }

  // Finally, tail-call to the nodePorts chain; must be after all other service rules.
  const lastComment =
    '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (npa.matchAll) {
    const destinations = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
    if (isIPv6) destinations.push('!', '-d', '::1/128');
    else if (!localhostNodePorts) destinations.push('!', '-d', '127.0.0.0/8');
    natRules.write(
      '-A',
      KUBE_SERVICES,
      commentArgs(lastComment),
      destinations,
      '-j',
      KUBE_NODEPORTS,
    );
  } else {
    const ifaceAddrs = (input.interfaceAddresses ?? ['127.0.0.1', '::1', ...input.nodeIPs]).map(
      (a) => canonicalIp(a.trim().split('/')[0]!),
    );
    // GetNodeIPs dedups through a map (random order); we keep CIDR then interface order.
    const seen = new Set<string>();
    const nodeIPs: string[] = [];
    for (const c of npa.cidrs) {
      for (const a of ifaceAddrs) {
        if (!seen.has(a) && cidrContainsIp(c, a)) {
          seen.add(a);
          nodeIPs.push(a);
        }
      }
    }
    for (const ip of nodeIPs) {
      if (isLoopback(ip)) {
        if (isIPv6) {
          diagnostics.push({
            code: 'proxy.nodePortAddresses.localhost',
            severity: 'warning',
            message:
              '--nodeport-addresses includes localhost but localhost NodePorts are not supported on IPv6',
            field: 'nodePortAddresses',
          });
          continue;
        } else if (!localhostNodePorts) {
          diagnostics.push({
            code: 'proxy.nodePortAddresses.localhost',
            severity: 'warning',
            message:
              '--nodeport-addresses includes localhost but --iptables-localhost-nodeports=false was passed',
            field: 'nodePortAddresses',
          });
          continue;
        }
      }
      natRules.write('-A', KUBE_SERVICES, commentArgs(lastComment), '-d', ip, '-j', KUBE_NODEPORTS);
    }
  }

  // Drop INVALID packets (kubernetes #74839) unless tcp_be_liberal is set (1.29+).
  if (!conntrackTCPLiberal) {
    const rule = ['-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID'];
    if (nfacct) rule.push('-m', 'nfacct', '--nfacct-name', NFACCT_INVALID);
    rule.push('-j', 'DROP');
    filterRules.write(rule);
  }
  // Forward masquerade-marked traffic even if the FORWARD policy is DROP.
  filterRules.write(
    '-A',
    KUBE_FORWARD,
    commentArgs('"kubernetes forwarding rules"'),
    '-m',
    'mark',
    '--mark',
    `${masqueradeMark}/${masqueradeMark}`,
    '-j',
    'ACCEPT',
  );
  filterRules.write(
    '-A',
    KUBE_FORWARD,
    commentArgs('"kubernetes forwarding conntrack rule"'),
    '-m',
    'conntrack',
    '--ctstate',
    'RELATED,ESTABLISHED',
    '-j',
    'ACCEPT',
  );

  const text =
    '*filter\n' +
    [...filterChains.lines, ...filterRules.lines].map((l) => `${l}\n`).join('') +
    'COMMIT\n' +
    '*nat\n' +
    [...natChains.lines, ...natRules.lines].map((l) => `${l}\n`).join('') +
    'COMMIT\n';
  return { text, diagnostics, layout, localhostNodePorts };
}

function writeServiceToEndpointRules(
  natRules: LineBuffer,
  svcPortNameString: string,
  svcInfo: ServicePortInfo,
  svcChain: string,
  endpoints: readonly EndpointInfo[],
  withComment: (args: string[], comment: string) => string[],
): void {
  if (svcInfo.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      const comment = `"${svcPortNameString} -> ${ep.endpoint}"`;
      const args = withComment(['-A', svcChain], comment);
      natRules.write(
        args,
        '-m',
        'recent',
        '--name',
        ep.chainName,
        '--rcheck',
        '--seconds',
        String(svcInfo.stickyMaxAgeSeconds),
        '--reap',
        '-j',
        ep.chainName,
      );
    }
  }
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const comment = `"${svcPortNameString} -> ${ep.endpoint}"`;
    let args = withComment(['-A', svcChain], comment);
    if (i < n - 1) {
      args = [
        ...args,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        computeProbability(n - i),
      ];
    }
    natRules.write(args, '-j', ep.chainName);
  });
}

/** One jump kube-proxy ensures from a built-in chain (`iptablesJumpChains`). */
interface JumpChain {
  readonly table: 'filter' | 'nat';
  readonly dstChain: string;
  readonly srcChain: string;
  readonly comment: string;
  readonly extraArgs: readonly string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;

/** `iptablesJumpChains` followed by `iptablesKubeletJumpChains`, in source order. */
export const JUMP_CHAINS: readonly JumpChain[] = [
  {
    table: 'filter',
    dstChain: KUBE_EXTERNAL_SERVICES,
    srcChain: 'INPUT',
    comment: 'kubernetes externally-visible service portals',
    extraArgs: NEW,
  },
  {
    table: 'filter',
    dstChain: KUBE_EXTERNAL_SERVICES,
    srcChain: 'FORWARD',
    comment: 'kubernetes externally-visible service portals',
    extraArgs: NEW,
  },
  {
    table: 'filter',
    dstChain: KUBE_NODEPORTS,
    srcChain: 'INPUT',
    comment: 'kubernetes health check service ports',
    extraArgs: [],
  },
  {
    table: 'filter',
    dstChain: KUBE_SERVICES,
    srcChain: 'FORWARD',
    comment: 'kubernetes service portals',
    extraArgs: NEW,
  },
  {
    table: 'filter',
    dstChain: KUBE_SERVICES,
    srcChain: 'OUTPUT',
    comment: 'kubernetes service portals',
    extraArgs: NEW,
  },
  {
    table: 'filter',
    dstChain: KUBE_FORWARD,
    srcChain: 'FORWARD',
    comment: 'kubernetes forwarding rules',
    extraArgs: [],
  },
  {
    table: 'filter',
    dstChain: KUBE_PROXY_FIREWALL,
    srcChain: 'INPUT',
    comment: 'kubernetes load balancer firewall',
    extraArgs: NEW,
  },
  {
    table: 'filter',
    dstChain: KUBE_PROXY_FIREWALL,
    srcChain: 'OUTPUT',
    comment: 'kubernetes load balancer firewall',
    extraArgs: NEW,
  },
  {
    table: 'filter',
    dstChain: KUBE_PROXY_FIREWALL,
    srcChain: 'FORWARD',
    comment: 'kubernetes load balancer firewall',
    extraArgs: NEW,
  },
  {
    table: 'nat',
    dstChain: KUBE_SERVICES,
    srcChain: 'OUTPUT',
    comment: 'kubernetes service portals',
    extraArgs: [],
  },
  {
    table: 'nat',
    dstChain: KUBE_SERVICES,
    srcChain: 'PREROUTING',
    comment: 'kubernetes service portals',
    extraArgs: [],
  },
  {
    table: 'nat',
    dstChain: KUBE_POSTROUTING,
    srcChain: 'POSTROUTING',
    comment: 'kubernetes postrouting rules',
    extraArgs: [],
  },
  // Duplicates of kubelet's (pkg/kubelet/kubelet_network_linux.go), no comment.
  { table: 'filter', dstChain: KUBE_FIREWALL, srcChain: 'INPUT', comment: '', extraArgs: [] },
  { table: 'filter', dstChain: KUBE_FIREWALL, srcChain: 'OUTPUT', comment: '', extraArgs: [] },
];

const BUILTINS: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/**
 * The jump rules as they stand on a fresh node: each is `EnsureRule(Prepend)`d
 * (inserted at position 1) in list order, so a built-in chain holds them in
 * reverse list order.
 */
function jumpRulesByChain(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const j of JUMP_CHAINS) {
    const args = [...j.extraArgs];
    if (j.comment !== '') args.push(...commentArgs(`"${j.comment}"`));
    args.push('-j', j.dstChain);
    const key = `${j.table}/${j.srcChain}`;
    const list = out.get(key) ?? [];
    list.unshift(`-A ${j.srcChain} ${args.join(' ')}`);
    out.set(key, list);
  }
  return out;
}

/**
 * Everything kube-proxy puts into a fresh node's netfilter tables: the
 * built-in chains (policy ACCEPT), the KUBE-PROXY-CANARY chains that
 * `ipt.Monitor` creates in mangle, nat and filter, the jumps from built-in
 * chains (§3.3), the KUBE-FIREWALL chain it ensures, and its
 * `iptables-restore` data — ordered as kube-proxy's tests order a dump
 * (tables by name; KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-*, then the rest).
 * The text is valid `iptables-restore` (or `ip6tables-restore` for IPv6) input.
 */
export function generateIptablesRules(input: ProxyInput): ProxyOutput {
  const restore = generateKubeProxyRestore(input);
  const data = parseDump(restore.text);
  const tables = new Map<string, DumpTable>(data.tables.map((t) => [t.name, t]));
  if (!tables.has('mangle')) tables.set('mangle', { name: 'mangle', chains: [], other: [] });
  const jumps = jumpRulesByChain();
  for (const [tname, t] of tables) {
    const have = new Set(t.chains.map((c) => c.name));
    const add = (c: DumpChain) => {
      if (!have.has(c.name)) {
        t.chains.push(c);
        have.add(c.name);
      }
    };
    for (const b of BUILTINS[tname] ?? []) {
      add({ name: b, policy: 'ACCEPT', rules: jumps.get(`${tname}/${b}`) ?? [] });
    }
    add({ name: KUBE_PROXY_CANARY, policy: '-', rules: [] });
    // EnsureChain for every jump target, whether or not this sync fills it.
    for (const j of JUMP_CHAINS)
      if (j.table === tname) add({ name: j.dstChain, policy: '-', rules: [] });
  }
  const full: Dump = { tables: [...tables.values()] };
  return { text: formatDump(sortDump(full)), diagnostics: restore.diagnostics };
}
