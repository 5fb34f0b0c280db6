/**
 * Which kube-proxy release's rule layout to write. The iptables layout from
 * 1.27 to 1.31 is one family; the differences, each read from that release's
 * `pkg/proxy/iptables/proxier.go` and `proxier_test.go`, are:
 *
 * - 1.29+: the `KUBE-FORWARD ... --ctstate INVALID -j DROP` rule is written
 *   only when `net.netfilter.nf_conntrack_tcp_be_liberal` is 0 (PR #120412;
 *   `conntrackTCPLiberal`). 1.27/1.28 always write it.
 * - 1.30+: nfacct counters: the INVALID drop carries
 *   `-m nfacct --nfacct-name ct_state_invalid_dropped_pkts`, and every
 *   NodePort gets a preceding `-d 127.0.0.0/8 ... -m nfacct --nfacct-name
 *   localhost_nps_accepted_pkts` rule when localhost NodePorts are on (IPv4).
 * - 1.30+: LoadBalancerIPMode is on by default: ingress entries with
 *   `ipMode: Proxy` get no load balancer IP rules.
 *
 * - Not a difference: the fallback to serving+terminating endpoints
 *   (KEP-1669, `CategorizeEndpoints`) covers Cluster as well as Local
 *   traffic policy in every modelled release — the KEP's history says "1.24:
 *   implementation updated to handle all types of traffic policies", and its
 *   ProxyTerminatingEndpoints gate is on by default from 1.26 (GA in 1.28).
 *
 * Everything else (KUBE-EXT/KUBE-SVL/KUBE-FW chains, KUBE-PROXY-FIREWALL,
 * masquerade in KUBE-SVC and KUBE-EXT, comments, the kube-proxy copy of
 * KUBE-FIREWALL) is identical between the 1.27 test expectations
 * (`TestOverallIPTablesRulesWithMultipleServices` & co., openshift/kubernetes
 * @70821f71) and the 1.31 ones (`TestOverallIPTablesRules`). kube-proxy's own
 * KUBE-FIREWALL rule and its INPUT/OUTPUT jumps came with PR #114470
 * (KEP-3178 fixups, merged Dec 2022, so in 1.27); the 1.28 source
 * (`iptablesKubeletJumpChains`) confirms the jumps.
 */

import type { Diagnostic } from '../diag.js';

export interface ProxyLayout {
  /** `1.<minor>` actually used for the layout. */
  readonly version: string;
  readonly minor: number;
  readonly invalidDropHonoursTcpBeLiberal: boolean;
  readonly nfacct: boolean;
  readonly loadBalancerIpMode: boolean;
}

export const DEFAULT_VERSION = '1.31';
const OLDEST = 27;
const NEWEST = 31;

export function resolveLayout(version: string | undefined, diagnostics: Diagnostic[]): ProxyLayout {
  const v = version ?? DEFAULT_VERSION;
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(v.trim());
  let minor: number;
  if (!m) {
    diagnostics.push({
      code: 'proxy.version',
      severity: 'error',
      message: `unrecognised kube-proxy version "${v}"; expected a release such as "1.27" or "1.31"`,
      field: 'kubeProxy.version',
    });
    minor = NEWEST;
  } else if (m[1] !== '1') {
    // Not a Kubernetes 1.x release: read as the nearest modelled one, said.
    minor = Number(m[1]) < 1 ? OLDEST : NEWEST;
    diagnostics.push({
      code: 'proxy.version',
      severity: 'warning',
      message: `kube-proxy ${v} is outside the modelled releases (1.${OLDEST}–1.${NEWEST}); writing the nearest, the 1.${minor} layout`,
      field: 'kubeProxy.version',
    });
  } else {
    minor = Number(m[2]);
    if (minor < OLDEST) {
      diagnostics.push({
        code: 'proxy.version',
        severity: 'warning',
        message: `kube-proxy ${v} is older than the oldest modelled layout (1.${OLDEST}); writing the 1.${OLDEST} layout`,
        field: 'kubeProxy.version',
      });
      minor = OLDEST;
    } else if (minor > NEWEST) {
      diagnostics.push({
        code: 'proxy.version',
        severity: 'warning',
        message: `kube-proxy ${v} is newer than the newest verified layout (1.${NEWEST}); writing the 1.${NEWEST} layout`,
        field: 'kubeProxy.version',
      });
      minor = NEWEST;
    }
  }
  return {
    version: `1.${minor}`,
    minor,
    invalidDropHonoursTcpBeLiberal: minor >= 29,
    nfacct: minor >= 30,
    loadBalancerIpMode: minor >= 30,
  };
}
