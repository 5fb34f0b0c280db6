/**
 * ip-masq-agent (kubernetes-sigs/ip-masq-agent `cmd/ip-masq-agent/ip-masq-agent.go`,
 * v2.10+; README "Configuring the agent") as a compiler: its config in, the
 * nat rules it keeps on every node out.
 *
 *   -A POSTROUTING -m comment --comment "\"ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain\"" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT
 *   IP-MASQ-AGENT:
 *     -d 169.254.0.0/16 ... RETURN     unless masqLinkLocal   ("ip-masq-agent: local traffic is not subject to MASQUERADE")
 *     -d <cidr> ... RETURN             per nonMasqueradeCIDR, in config order
 *     -j MASQUERADE --random-fully     last ("ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)")
 *
 * The POSTROUTING jump is `EnsureRule(Append)`ed with the comment built by
 * `postRoutingMasqChainCommentFormat`, which wraps the text in literal double
 * quotes; the agent execs iptables without a shell, so the quotes are part of
 * the comment and iptables-save prints them escaped (as real AKS/GKE dumps
 * show). `quotedJumpComment: false` gives the older releases' plain comment.
 * The chain itself is rewritten by `iptables-restore --noflush` every resync.
 *
 * Defaults when the config has no `nonMasqueradeCIDRs` (`NewMasqConfig`):
 * RFC 1918 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16; with the
 * `--nomasq-all-reserved-ranges` flag also 100.64.0.0/10, 192.0.0.0/24,
 * 192.0.2.0/24, 192.88.99.0/24, 198.18.0.0/15, 198.51.100.0/24,
 * 203.0.113.0/24, 240.0.0.0/4 (GKE's "default non-masquerade
 * destinations"). `masqLinkLocal` false, `cidrLimit` 64, `--random-fully`
 * true (flag since v2.10).
 *
 * A config the agent rejects (unparsable or unaligned CIDR, more than
 * cidrLimit CIDRs, IPv6 without --enable-ipv6) makes `syncConfig` fail, and
 * the agent then skips syncing rules: no rules at all on a fresh node. That is
 * what this compiler returns, with the agent's error message as a diagnostic.
 * IPv6 (ip6tables) rules are not modelled.
 */

import type { Diagnostic } from '../diag.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';
import { intToIp, ipToInt, isIpv4, maskOf } from '../wire/addr.js';

export const IP_MASQ_AGENT_CHAIN = 'IP-MASQ-AGENT';
export const LINK_LOCAL_CIDR = '169.254.0.0/16';
export const RFC1918_CIDRS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
export const RESERVED_CIDRS: readonly string[] = [
  '100.64.0.0/10', // RFC 6598
  '192.0.0.0/24', // RFC 6890
  '192.0.2.0/24', // RFC 5737
  '192.88.99.0/24', // RFC 7526
  '198.18.0.0/15', // RFC 6815
  '198.51.100.0/24', // RFC 5737
  '203.0.113.0/24', // RFC 5737
  '240.0.0.0/4', // RFC 5735
];

export const CODE_IPMASQ_CONFIG = 'ip-masq-agent-config';

export interface IpMasqAgentInput {
  /** The config file's `nonMasqueradeCIDRs`; absent = the defaults (see module doc). */
  readonly nonMasqueradeCIDRs?: readonly string[];
  /** `masqLinkLocal`, default false. */
  readonly masqLinkLocal?: boolean;
  /** `cidrLimit`, default 64. */
  readonly cidrLimit?: number;
  /** `--nomasq-all-reserved-ranges`, default false. */
  readonly nomasqAllReservedRanges?: boolean;
  /** `--masq-chain`, default IP-MASQ-AGENT. */
  readonly masqChain?: string;
  /** `--random-fully`, default true. */
  readonly randomFully?: boolean;
  /** The jump comment wrapped in literal quotes (current releases); default true. */
  readonly quotedJumpComment?: boolean;
  /** Names the config in diagnostics, e.g. `ConfigMap kube-system/ip-masq-agent`. */
  readonly object?: string;
}

/** The CIDRs the agent will not masquerade to, in rule order, or an error as the agent words it. */
export function nonMasqueradeCidrs(input: IpMasqAgentInput): {
  cidrs: string[];
  error?: string;
  field?: string;
} {
  const configured = input.nonMasqueradeCIDRs ?? [
    ...RFC1918_CIDRS,
    ...(input.nomasqAllReservedRanges ? RESERVED_CIDRS : []),
  ];
  const limit = input.cidrLimit ?? 64;
  if (configured.length > limit) {
    return {
      cidrs: [],
      error: `the daemon can only accept up to ${limit} CIDRs (excluding link-local), but got ${configured.length} CIDRs (excluding link local)`,
      field: 'nonMasqueradeCIDRs',
    };
  }
  for (let i = 0; i < configured.length; i++) {
    const cidr = configured[i]!;
    const field = `nonMasqueradeCIDRs[${i}]`;
    if (cidr.includes(':')) {
      return {
        cidrs: [],
        error: `ipv6 is not enabled, but ipv6 cidr ${cidr} provided. Enable ipv6 using --enable-ipv6 agent flag`,
        field,
      };
    }
    const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
    if (!m || !isIpv4(m[1]!) || Number(m[2]) > 32) {
      return {
        cidrs: [],
        error: `CIDR "${cidr}" could not be parsed, invalid CIDR address: ${cidr}`,
        field,
      };
    }
    const ip = m[1]!;
    const prefix = Number(m[2]);
    const network = intToIp((ipToInt(ip) & maskOf(prefix)) >>> 0);
    if (network !== ip) {
      return {
        cidrs: [],
        error: `CIDR "${cidr}" is not aligned to a CIDR block, ip: "${ip}" network: "${network}/${prefix}"`,
        field,
      };
    }
  }
  return { cidrs: [...(input.masqLinkLocal ? [] : [LINK_LOCAL_CIDR]), ...configured] };
}

/** iptables-save's quoting of a comment (`"` and `\` escaped). */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The rules ip-masq-agent keeps on a node (see the module doc). */
export function compileIpMasqAgent(input: IpMasqAgentInput = {}): IptablesFragment {
  const diagnostics: Diagnostic[] = [];
  const where = input.object !== undefined ? { object: input.object } : {};
  const chain = input.masqChain ?? IP_MASQ_AGENT_CHAIN;
  const b = new FragmentBuilder();
  const { cidrs, error, field } = nonMasqueradeCidrs(input);
  if (error !== undefined) {
    diagnostics.push({
      code: CODE_IPMASQ_CONFIG,
      severity: 'error',
      message: `ip-masq-agent rejects its config ("${error}") and installs no rules`,
      ...where,
      ...(field !== undefined ? { field } : {}),
    });
    return b.fragment(diagnostics);
  }
  const jumpText = `ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom ${chain} chain`;
  const jumpComment = (input.quotedJumpComment ?? true) ? `"${jumpText}"` : jumpText;
  // EnsureChain, EnsureRule(Append) of the jump, then the chain via iptables-restore --noflush.
  b.chain('nat', chain).append(
    'nat',
    'POSTROUTING',
    `-m comment --comment ${quote(jumpComment)} -m addrtype ! --dst-type LOCAL -j ${chain}`,
  );
  for (const cidr of cidrs) {
    b.append(
      'nat',
      chain,
      `-d ${cidr} -m comment --comment ${quote('ip-masq-agent: local traffic is not subject to MASQUERADE')} -j RETURN`,
    );
  }
  b.append(
    'nat',
    chain,
    `-m comment --comment ${quote('ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)')} -j MASQUERADE${(input.randomFully ?? true) ? ' --random-fully' : ''}`,
  );
  return b.fragment(diagnostics);
}

/**
 * Whether a cluster runs ip-masq-agent, and with what config, from the
 * packeteye Cluster's `spec.masquerade` and cloud provider:
 * - `masquerade.enabled: false` — no agent (seed 003: pod traffic leaves
 *   with its pod IP);
 * - `cloud.provider: gce` — the agent with GKE's default non-masquerade
 *   destinations (`--nomasq-all-reserved-ranges`) unless a list is given
 *   (GKE "IP masquerade agent": DaemonSet or not, the same default set);
 * - otherwise an agent only when `masquerade` is given (enabled, or a list):
 *   without one, egress masquerade is the CNI's business (flannel
 *   `--ip-masq`, bridge `ipMasq`, Calico natOutgoing).
 */
export function ipMasqAgentForCluster(spec: {
  readonly masquerade?:
    { readonly enabled?: boolean; readonly nonMasqueradeCIDRs?: readonly string[] } | undefined;
  readonly cloud?: { readonly provider?: string } | undefined;
}): IpMasqAgentInput | undefined {
  const m = spec.masquerade;
  if (m?.enabled === false) return undefined;
  const list =
    m?.nonMasqueradeCIDRs !== undefined ? { nonMasqueradeCIDRs: m.nonMasqueradeCIDRs } : {};
  if (spec.cloud?.provider === 'gce') return { ...list, nomasqAllReservedRanges: true };
  if (m === undefined) return undefined;
  return list;
}
