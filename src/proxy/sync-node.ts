/**
 * The node-wide sections of kube-proxy's `syncProxyRules`
 * (`pkg/proxy/iptables/proxier.go`): the chains every sync writes with the
 * masquerade machinery and kube-proxy's `KUBE-FIREWALL` (before the
 * per-service loop), and after it the `KUBE-SERVICES -> KUBE-NODEPORTS` jump
 * and `KUBE-FORWARD`.
 */

import type { Diagnostic } from '../diag.js';
import { canonicalIp, cidrContainsIp, isLoopback } from './ipaddr.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  NFACCT_INVALID,
  commentArgs,
  type ProxyInput,
  type Sync,
} from './proxier.js';

/** The chains every sync writes, the masquerade machinery and kube-proxy's KUBE-FIREWALL. */
export function writeStaticRules(w: Sync): void {
  const { masqueradeMark } = w.s;
  for (const c of [
    KUBE_SERVICES,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
  ]) {
    w.filterChains.declare(c);
  }
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) {
    w.natChains.declare(c);
  }

  w.natRules.write(
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
  w.natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', masqueradeMark);
  const masqRule = [
    '-A',
    KUBE_POSTROUTING,
    ...commentArgs('"kubernetes service traffic requiring SNAT"'),
    '-j',
    'MASQUERADE',
  ];
  if (w.s.randomFully) masqRule.push('--random-fully');
  w.natRules.write(masqRule);
  w.natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', masqueradeMark);

  if (!w.s.isIPv6 && w.s.localhostNodePorts) {
    // route_localnet opens issue #90259; this is kube-proxy's copy of kubelet's fix.
    w.filterChains.declare(KUBE_FIREWALL);
    w.filterRules.write(
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
}

/** Finally, tail-call to the nodePorts chain; must be after all other service rules. */
export function writeNodePortsJump(w: Sync, input: ProxyInput, diagnostics: Diagnostic[]): void {
  const { isIPv6, localhostNodePorts, nodePortAddresses: npa } = w.s;
  const lastComment =
    '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (npa.matchAll) {
    const destinations = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
    if (isIPv6) destinations.push('!', '-d', '::1/128');
    else if (!localhostNodePorts) destinations.push('!', '-d', '127.0.0.0/8');
    w.natRules.write(
      '-A',
      KUBE_SERVICES,
      commentArgs(lastComment),
      destinations,
      '-j',
      KUBE_NODEPORTS,
    );
    return;
  }
  const ifaceAddrs = (input.interfaceAddresses ?? ['127.0.0.1', '::1', ...input.nodeIPs]).map((a) =>
    canonicalIp(a.trim().split('/')[0]!),
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
    w.natRules.write('-A', KUBE_SERVICES, commentArgs(lastComment), '-d', ip, '-j', KUBE_NODEPORTS);
  }
}

/** KUBE-FORWARD: drop INVALID (unless tcp_be_liberal, 1.29+), accept marked and established. */
export function writeForwardRules(w: Sync): void {
  const { masqueradeMark } = w.s;
  // Drop INVALID packets (kubernetes #74839) unless tcp_be_liberal is set (1.29+).
  if (!w.s.conntrackTCPLiberal) {
    const rule = ['-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID'];
    if (w.s.nfacct) rule.push('-m', 'nfacct', '--nfacct-name', NFACCT_INVALID);
    rule.push('-j', 'DROP');
    w.filterRules.write(rule);
  }
  // Forward masquerade-marked traffic even if the FORWARD policy is DROP.
  w.filterRules.write(
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
  w.filterRules.write(
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
}
