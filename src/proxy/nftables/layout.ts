/**
 * Which kube-proxy release's nftables ruleset to write. nftables mode was
 * alpha in 1.29 (feature gate NFTablesProxyMode), beta in 1.31 and GA in
 * 1.33. Two layouts are modelled, each read from upstream's
 * `pkg/proxy/nftables/proxier.go` and checked against that code's
 * `proxier_test.go` expectations:
 *
 * - **1.31–1.33** (proxier.go at kubernetes b0f823e6): the filter base
 *   chains `filter-prerouting`, `filter-input`, `filter-forward`,
 *   `filter-output` all at `dstnat - 10` (-110), plus
 *   `filter-output-post-dnat` at `dstnat + 10` (-90) for the cluster-IP
 *   check; the internal-traffic masquerade rule matches the Service's
 *   protocol and port (`ip daddr VIP tcp dport P ip saddr != CIDR`).
 * - **1.34+** (proxier_test.go at kubernetes 030880a5, `TestOverallNFTablesRules`):
 *   PR #132456 (merged June 2025, so first in 1.34) split the pre-DNAT
 *   filtering into `filter-prerouting-pre-dnat` and `filter-output-pre-dnat`
 *   (-110) and moved `filter-input`, `filter-forward` and `filter-output` to
 *   the filter priority (0), folding `filter-output-post-dnat` into
 *   `filter-output`; the internal-traffic masquerade rule matches only the
 *   cluster IP.
 *
 * The alpha releases (1.29, 1.30) wrote an earlier layout (one
 * `endpoints-check` chain, no `cluster-ips` set) that is not modelled: they
 * get the 1.31 layout, said with a warning.
 */

import type { Diagnostic } from '../../diag.js';

export interface NftLayout {
  /** `1.<minor>` actually written. */
  readonly version: string;
  readonly minor: number;
  /** 1.34+: `filter-*-pre-dnat` at -110 and filter-priority input/forward/output chains. */
  readonly preDnatChains: boolean;
  /** Before 1.34: the internal masquerade rule also matches `PROTO dport PORT`. */
  readonly masqueradeMatchesPort: boolean;
}

const OLDEST = 31;
const NEWEST = 34;

export function resolveNftLayout(version: string, diagnostics: Diagnostic[]): NftLayout {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version.trim());
  let minor = NEWEST;
  if (!m || m[1] !== '1') {
    diagnostics.push({
      code: 'proxy.version',
      severity: 'warning',
      message: `unrecognised kube-proxy version "${version}"; writing the nftables layout of 1.${NEWEST}`,
      field: 'kubeProxy.version',
    });
  } else {
    minor = Number(m[2]);
    if (minor < OLDEST) {
      diagnostics.push({
        code: 'proxy.version',
        severity: 'warning',
        message: `kube-proxy ${version}'s nftables mode is the alpha one (1.29–1.30), not modelled; writing the 1.${OLDEST} layout`,
        field: 'kubeProxy.version',
      });
      minor = OLDEST;
    } else if (minor > NEWEST) {
      diagnostics.push({
        code: 'proxy.version',
        severity: 'info',
        message: `kube-proxy ${version} is newer than the newest verified nftables layout (1.${NEWEST}); writing the 1.${NEWEST} layout`,
        field: 'kubeProxy.version',
      });
      minor = NEWEST;
    }
  }
  return {
    version: `1.${minor}`,
    minor,
    preDnatChains: minor >= 34,
    masqueradeMatchesPort: minor < 34,
  };
}
