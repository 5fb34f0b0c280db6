/**
 * kube-proxy's `syncProxyRules` (`pkg/proxy/iptables/proxier.go`), one
 * function per section of the upstream function, in its order:
 *
 * 1. the chains every sync writes and the static rules (`KUBE-POSTROUTING`,
 *    `KUBE-MARK-MASQ`, kube-proxy's `KUBE-FIREWALL`) — `writeStaticRules`
 *    in `sync-node.ts`;
 * 2. per service port: which policy chains it uses and what filter rule
 *    stands in for missing endpoints (`planServicePort`), the capture rules
 *    for its cluster IP, external IPs, load balancer IPs, node port and
 *    health check node port (`writeCaptureRules`), the internal-traffic
 *    masquerade, `KUBE-EXT-`, `KUBE-FW-` (`writeExternalRules`),
 *    `KUBE-SVC-`/`KUBE-SVL-` (`writeServiceToEndpointRules`) and the
 *    `KUBE-SEP-` chains (`writeEndpointChains`);
 * 3. the final `KUBE-SERVICES -> KUBE-NODEPORTS` jump (`writeNodePortsJump`)
 *    and 4. `KUBE-FORWARD` (`writeForwardRules`), both in `sync-node.ts`.
 *
 * The text is kube-proxy's: the same argument order, the same quoted
 * comments, `%0.10f` probabilities. Release differences are in `version.ts`.
 */

import type { Diagnostic } from '../diag.js';
import { writeForwardRules, writeNodePortsJump, writeStaticRules } from './sync-node.js';
import {
  buildServicePortMap,
  categorizeEndpoints,
  type EndpointInfo,
  type ServicePortInfo,
} from './endpoints.js';
import { planServicePort, portChains, type PortChains, type PortPlan } from './port-plan.js';
import { cidrContainsIp, parseCidrAny } from './ipaddr.js';
import { RuleBodies } from './rule-body.js';
import { settingsKey, type ProxyShare, type SyncFragment, type WholeChains } from './share.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
  LineBuffer,
  NFACCT_LOCALHOST_NP,
  commentArgs,
  computeProbability,
  newProxier,
  type ProxyInput,
  type RestoreOutput,
  type Sync,
} from './proxier.js';

/**
 * The rules kube-proxy writes with `iptables-restore --noflush` on a full sync
 * (`proxier.iptablesData`), in kube-proxy's own write order.
 */
export function generateKubeProxyRestore(input: ProxyInput): RestoreOutput {
  const r = syncProxyRules(input);
  const { w } = r;
  const text =
    '*filter\n' +
    [...w.filterChains.lines, ...w.filterRules.lines].map((l) => `${l}\n`).join('') +
    'COMMIT\n' +
    '*nat\n' +
    [...w.natChains.lines, ...w.natRules.lines].map((l) => `${l}\n`).join('') +
    'COMMIT\n';
  return {
    text,
    diagnostics: r.diagnostics,
    layout: r.layout,
    localhostNodePorts: r.localhostNodePorts,
  };
}

/** One full sync: the four buffers as written (lines with their parsed forms). */
export interface SyncResult extends Omit<RestoreOutput, 'text'> {
  readonly w: Sync;
  /**
   * With a share: nat chains written whole (shared fragments' own chains, in
   * sorted order), whose declarations and rules are not in `w`'s buffers.
   */
  readonly natWhole: WholeChains | undefined;
}

/** `syncProxyRules`: the restore data's lines, before they are joined into text. */
export function syncProxyRules(input: ProxyInput, shared?: ProxyShare): SyncResult {
  // A share holds one cluster's objects: it is used for the input that holds them.
  const share =
    shared?.services === input.services && shared.endpointSlices === input.endpointSlices
      ? shared
      : undefined;
  const diagnostics: Diagnostic[] = [];
  const s = newProxier(input, diagnostics);
  const mapOpts = {
    family: s.family,
    nodeName: input.nodeName,
    honourIpMode: s.layout.loadBalancerIpMode,
  };
  const { ports, endpoints } = share
    ? share.portMap(mapOpts, diagnostics)
    : buildServicePortMap(input.services, input.endpointSlices, mapOpts, diagnostics);
  const nodeLabels = input.nodeLabels ?? {};

  // largeClusterMode: total endpoints over existing service ports.
  let totalEndpoints = 0;
  if (share) totalEndpoints = share.endpointCount({ ports, endpoints });
  else for (const key of ports.keys()) totalEndpoints += endpoints.get(key)?.length ?? 0;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const w: Sync = {
    s,
    filterChains: new LineBuffer(),
    filterRules: new LineBuffer(),
    natChains: new LineBuffer(),
    natRules: new LineBuffer(),
    withComment: commentWith(!largeClusterMode),
    commented: !largeClusterMode,
    bodies: share ? share.ruleBodies(s.family === 'IPv4') : new RuleBodies(s.family === 'IPv4'),
  };

  writeStaticRules(w);
  const settings = share && settingsKey(s, mapOpts.honourIpMode, w.commented);
  // kube-proxy iterates a Go map here (random order); we use name order. Upstream's
  // tests sort the result (sortIPTablesRules), and the rules of different services
  // never overlap, so the order carries no meaning.
  const steps = settings ? share!.syncSteps(settings, ports) : undefined;
  for (const step of steps ?? (share ? share.sortedKeys(ports) : [...ports.keys()].sort())) {
    if (typeof step !== 'string') {
      // A run of shared ports: their lines, appended as the loop below appends each.
      w.filterRules.append(step.filterRules);
      w.natChains.append(step.natChains);
      w.natRules.append(step.natRules);
      continue;
    }
    const key = step;
    const svcInfo = ports.get(key)!;
    const eps = endpoints.get(key) ?? [];
    if (!share) {
      writeServicePort(w, svcInfo, eps, nodeLabels);
      continue;
    }
    // Shared by the nodes whose kube-proxy has these settings, unless the port reads the node.
    const f = share.fragment(
      settings!,
      key,
      svcInfo,
      portWriter(w, svcInfo, eps, nodeLabels),
      (f) => writeOthers({ ...w, ...f }, svcInfo, eps, nodeLabels),
    );
    w.filterRules.append(f.filterRules);
    if (f.grouped) {
      // Its own chains come whole, with every shared fragment's (natWhole).
      w.natRules.append(f.grouped.others);
      continue;
    }
    w.natChains.append(f.natChains);
    w.natRules.append(f.natRules);
  }
  writeNodePortsJump(w, input, diagnostics);
  writeForwardRules(w);
  return {
    w,
    natWhole: settings ? share!.sharedChains(settings) : undefined,
    diagnostics,
    layout: s.layout,
    localhostNodePorts: s.localhostNodePorts,
  };
}

/**
 * `withComment`: the comment added, or (a large cluster) not. Made outside
 * `syncProxyRules`, like `portWriter`: a share keeps it.
 */
function commentWith(commented: boolean): Sync['withComment'] {
  return commented ? (args, comment) => [...args, ...commentArgs(comment)] : (args) => args;
}

/**
 * Writes one service port's rules into a fragment, as often as asked (a
 * shared port's chains are written again when first read, for as long as the
 * share lives). It holds what writing them reads and nothing of the sync that
 * made it (its buffers, its endpoints map): it is made here, outside
 * `syncProxyRules`, whose variables its closure would otherwise keep; the
 * filter chains it never writes go to a buffer of its own.
 */
function portWriter(
  w: Sync,
  svcInfo: ServicePortInfo,
  eps: readonly EndpointInfo[],
  nodeLabels: Readonly<Record<string, string>>,
): (f: SyncFragment) => void {
  const { s, withComment, commented, bodies } = w;
  return (f) =>
    writeServicePort(
      { s, withComment, commented, bodies, filterChains: new LineBuffer(), ...f },
      svcInfo,
      eps,
      nodeLabels,
    );
}

/** One service port's rules: its capture rules, KUBE-EXT-/KUBE-FW-, KUBE-SVC-/KUBE-SVL-, KUBE-SEP-. */
function writeServicePort(
  w: Sync,
  svcInfo: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  nodeLabels: Readonly<Record<string, string>>,
): void {
  const eps = categorizeEndpoints(endpoints, svcInfo, nodeLabels);
  const plan = planServicePort(svcInfo, eps);
  writeCaptureRules(w, svcInfo, plan);
  writeExternalRules(w, svcInfo, plan);
  if (plan.usesClusterPolicyChain) {
    w.natChains.declare(plan.clusterPolicyChain);
    writeServiceToEndpointRules(w, svcInfo, plan.clusterPolicyChain, eps.clusterEndpoints);
  }
  if (plan.usesLocalPolicyChain) {
    w.natChains.declare(plan.localPolicyChain);
    writeServiceToEndpointRules(w, svcInfo, plan.localPolicyChain, eps.localEndpoints);
  }
  writeEndpointChains(w, svcInfo, eps.allReachableEndpoints);
}

/**
 * A port's lines for the chains it shares with other ports (its capture
 * rules, its filter rules, and the internal masquerade rule where it goes to
 * a chain the port does not declare), its own chains counted, not written
 * (port-plan.ts `portChains`): `writeServicePort` writes them when first
 * read. Undefined, nothing written, where they cannot be counted.
 */
function writeOthers(
  w: Sync,
  svcInfo: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  nodeLabels: Readonly<Record<string, string>>,
): PortChains | undefined {
  const eps = categorizeEndpoints(endpoints, svcInfo, nodeLabels);
  const plan = planServicePort(svcInfo, eps);
  const chains = portChains(w.s, svcInfo, eps, plan);
  if (!chains) return undefined;
  writeCaptureRules(w, svcInfo, plan);
  if (chains.masqueradeOutside) writeInternalMasquerade(w, svcInfo, plan);
  return chains;
}

/** `-m <proto> -p <proto> -d <dst> --dport <port>`: the match every capture rule carries. */
function dstPortArgs(svcInfo: ServicePortInfo, dst: string, dport: string): string[] {
  return ['-m', svcInfo.proto, '-p', svcInfo.proto, '-d', dst, '--dport', dport];
}

/** Capture the cluster IP, external IPs, load balancer IPs, node port and health check node port. */
function writeCaptureRules(w: Sync, svcInfo: ServicePortInfo, plan: PortPlan): void {
  const { filterRules, natRules } = w;
  const svcPortNameString = svcInfo.nameString;
  const port = String(svcInfo.port);
  const { hasEndpoints, hasExternalEndpoints, externalTrafficChain } = plan;
  const clusterIPMatch = dstPortArgs(svcInfo, svcInfo.clusterIP, port);
  // The filter rule that DROPs/REJECTs external traffic with no usable endpoints.
  const externalFilter = (...match: (string | readonly string[])[]): void =>
    filterRules.write(
      '-A',
      KUBE_EXTERNAL_SERVICES,
      commentArgs(plan.externalTrafficFilterComment),
      ...match,
      '-j',
      plan.externalTrafficFilterTarget,
    );

  // Capture the clusterIP.
  if (plan.hasInternalEndpoints) {
    natRules.writeRule(
      w.bodies.capture(
        `${svcPortNameString} cluster IP`,
        svcInfo.proto,
        svcInfo.clusterIP,
        svcInfo.port,
        [],
        plan.internalTrafficChain,
      ),
      '-A',
      KUBE_SERVICES,
      commentArgs(`"${svcPortNameString} cluster IP"`),
      clusterIPMatch,
      '-j',
      plan.internalTrafficChain,
    );
  } else {
    filterRules.write(
      '-A',
      KUBE_SERVICES,
      commentArgs(plan.internalTrafficFilterComment),
      clusterIPMatch,
      '-j',
      plan.internalTrafficFilterTarget,
    );
  }

  // Capture externalIPs.
  for (const externalIP of svcInfo.externalIPs) {
    const match = dstPortArgs(svcInfo, externalIP, port);
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
    const match = dstPortArgs(svcInfo, lbip, port);
    if (hasEndpoints) {
      natRules.write(
        '-A',
        KUBE_SERVICES,
        commentArgs(`"${svcPortNameString} loadbalancer IP"`),
        match,
        '-j',
        plan.loadBalancerTrafficChain,
      );
    }
    if (plan.usesFWChain) {
      filterRules.write(
        '-A',
        KUBE_PROXY_FIREWALL,
        commentArgs(`"${svcPortNameString} traffic not accepted by ${svcInfo.firewallChainName}"`),
        match,
        '-j',
        'DROP',
      );
    }
  }
  if (!hasExternalEndpoints) {
    for (const lbip of svcInfo.loadBalancerVIPs) externalFilter(dstPortArgs(svcInfo, lbip, port));
  }

  // Capture nodeports. (NodePorts are not subject to loadBalancerSourceRanges.)
  if (svcInfo.nodePort !== 0) {
    const nodePort = String(svcInfo.nodePort);
    const protoArgs = ['-m', svcInfo.proto, '-p', svcInfo.proto];
    if (hasEndpoints) {
      if (w.s.nfacct && w.s.localhostNodePorts && w.s.family === 'IPv4') {
        natRules.write(
          '-A',
          KUBE_NODEPORTS,
          commentArgs(svcPortNameString),
          dstPortArgs(svcInfo, '127.0.0.0/8', nodePort),
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
}

/** Internal traffic handling: masquerade off-cluster (or all) traffic to the ClusterIP. */
function writeInternalMasquerade(w: Sync, svcInfo: ServicePortInfo, plan: PortPlan): void {
  const { natRules } = w;
  const { detector } = w.s;
  const svcPortNameString = svcInfo.nameString;
  if (plan.hasInternalEndpoints) {
    const args = [
      ...commentArgs(`"${svcPortNameString} cluster IP"`),
      ...dstPortArgs(svcInfo, svcInfo.clusterIP, String(svcInfo.port)),
    ];
    const masq = (extra: readonly string[]) =>
      w.bodies.capture(
        `${svcPortNameString} cluster IP`,
        svcInfo.proto,
        svcInfo.clusterIP,
        svcInfo.port,
        extra,
        KUBE_MARK_MASQ,
      );
    if (w.s.masqueradeAll) {
      natRules.writeRule(masq([]), '-A', plan.internalTrafficChain, args, '-j', KUBE_MARK_MASQ);
    } else if (detector) {
      natRules.writeRule(
        masq(detector.ifNotLocal),
        '-A',
        plan.internalTrafficChain,
        args,
        detector.ifNotLocal,
        '-j',
        KUBE_MARK_MASQ,
      );
    }
  }
}

/** Internal-traffic masquerade, the `KUBE-EXT-` chain and the `KUBE-FW-` chain. */
function writeExternalRules(w: Sync, svcInfo: ServicePortInfo, plan: PortPlan): void {
  const { natChains, natRules } = w;
  const { detector } = w.s;
  const svcPortNameString = svcInfo.nameString;
  const { externalTrafficChain, clusterPolicyChain } = plan;
  writeInternalMasquerade(w, svcInfo, plan);

  // External traffic handling.
  if (plan.usesExternalTrafficChain) {
    natChains.declare(externalTrafficChain);
    if (!svcInfo.externalPolicyLocal) {
      // Non-local endpoints may be on another node: masquerade (unless a what-if switches it off).
      if (!w.s.noExternalMasquerade.has(`${svcInfo.namespace}/${svcInfo.name}`))
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
    if (plan.hasExternalEndpoints) {
      natRules.write('-A', externalTrafficChain, '-j', plan.externalPolicyChain);
    }
  }

  // Firewall chain (loadBalancerSourceRanges).
  if (plan.usesFWChain) {
    const fwChain = svcInfo.firewallChainName;
    natChains.declare(fwChain);
    const args = ['-A', fwChain, ...commentArgs(`"${svcPortNameString} loadbalancer IP"`)];
    let allowFromNode = false;
    for (const cidr of svcInfo.loadBalancerSourceRanges) {
      natRules.write(args, '-s', cidr, '-j', externalTrafficChain);
      const c = parseCidrAny(cidr);
      if (c && w.s.nodeIP !== undefined && cidrContainsIp(c, w.s.nodeIP)) allowFromNode = true;
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
      commentArgs(`"other traffic to ${svcPortNameString} will be dropped by KUBE-PROXY-FIREWALL"`),
    );
  }
}

/** `writeServiceToEndpointRules`: session affinity, then the statistic ladder to KUBE-SEP-. */
function writeServiceToEndpointRules(
  w: Sync,
  svcInfo: ServicePortInfo,
  svcChain: string,
  endpoints: readonly EndpointInfo[],
): void {
  const svcPortNameString = svcInfo.nameString;
  if (svcInfo.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      const comment = `"${svcPortNameString} -> ${ep.endpoint}"`;
      const args = w.withComment(['-A', svcChain], comment);
      w.natRules.write(
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
    // The comment only where it is written (not in a large cluster).
    const text = w.commented ? `${svcPortNameString} -> ${ep.endpoint}` : undefined;
    const args =
      text === undefined ? ['-A', svcChain] : w.withComment(['-A', svcChain], `"${text}"`);
    const probability = i < n - 1 ? computeProbability(n - i) : undefined;
    if (probability !== undefined)
      args.push('-m', 'statistic', '--mode', 'random', '--probability', probability);
    w.natRules.writeRule(
      w.bodies.toEndpoint(text, n - i, probability, ep.chainName),
      args,
      '-j',
      ep.chainName,
    );
  });
}

/** Per-endpoint chains: hairpin masquerade, session affinity, DNAT. */
function writeEndpointChains(
  w: Sync,
  svcInfo: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
): void {
  const protocol = svcInfo.proto;
  for (const ep of endpoints) {
    const endpointChain = ep.chainName;
    w.natChains.declare(endpointChain);
    let args = w.withComment(['-A', endpointChain], svcInfo.nameString);
    // Hairpin: a pod reaching itself through the service must be SNATed.
    const commentText = w.commented ? svcInfo.nameString : undefined;
    w.natRules.writeRule(
      w.bodies.hairpin(commentText, ep.ip, KUBE_MARK_MASQ),
      args,
      '-s',
      ep.ip,
      '-j',
      KUBE_MARK_MASQ,
    );
    if (svcInfo.sessionAffinityClientIP) {
      args = [...args, '-m', 'recent', '--name', endpointChain, '--set'];
    }
    w.natRules.writeRule(
      svcInfo.sessionAffinityClientIP
        ? undefined
        : w.bodies.dnat(commentText, protocol, ep.ip, ep.port, ep.endpoint),
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
