/**
 * flanneld's own iptables rules (flannel-io/flannel
 * `pkg/trafficmngr/iptables/iptables.go` masqRules / forwardRules; identical
 * in every release since the FLANNEL-POSTRTG chain was introduced, v0.22+),
 * for one node. They do not depend on the backend: vxlan and host-gw nodes
 * get the same text.
 *
 * With `--ip-masq` (kube-flannel.yml passes it), nat:
 *
 *   -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
 *   FLANNEL-POSTRTG:
 *     -m mark --mark 0x4000/0x4000           RETURN   kube-proxy marked it; KUBE-POSTROUTING masquerades
 *     -s <lease> -d <network>                RETURN   pod -> pod, no NAT
 *     -s <network> -d <lease>                RETURN   pod -> local pod, no NAT
 *     ! -s <network> -d <lease>              RETURN   outside -> local pod keeps its source
 *     -s <network> ! -d 224.0.0.0/4          MASQUERADE --random-fully   pod -> outside
 *     ! -s <network> -d <network>            MASQUERADE --random-fully   host -> remote pod
 *
 * every rule carrying `-m comment --comment "flanneld masq"`;
 * `--random-fully` when iptables has it (`HasRandomFully`, iptables ≥ 1.6.2)
 * and `--ip-masq-random-fully-disable` is not given. With
 * `--iptables-forward-rules` (default true), filter:
 *
 *   -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
 *   FLANNEL-FWD: -s <network> ACCEPT; -d <network> ACCEPT   ("flanneld forward")
 *
 * Both jumps are appended (`-A`; flannel deletes and re-adds the whole set
 * with iptables-restore when one goes missing). Without `--ip-masq` flanneld
 * writes no nat rules; the flannel CNI plugin then sets the bridge
 * delegate's `ipMasq` (`ipMasq = !FLANNEL_IPMASQ`), which is the bridge
 * plugin's business, not this file's.
 */

import type { Diagnostic } from '../diag.js';
import { cidrsOverlap, isCidr, parseCidr, type Cidr } from '../wire/addr.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';

export const FLANNEL_POSTRTG = 'FLANNEL-POSTRTG';
export const FLANNEL_FWD = 'FLANNEL-FWD';
/** `trafficmngr.KubeProxyMark`. */
export const KUBE_PROXY_MARK = '0x4000/0x4000';

export const CODE_FLANNEL_CIDR = 'flannel-invalid-cidr';
export const CODE_FLANNEL_SUBNET_OUTSIDE = 'flannel-subnet-outside-network';

export interface FlannelMasqInput {
  /** `FLANNEL_NETWORK`, net-conf.json `Network` (the cluster CIDR), e.g. 10.244.0.0/16. */
  readonly network: string;
  /** This node's lease (`FLANNEL_SUBNET`'s network; with kube-subnet-mgr the node's podCIDR), e.g. 10.244.1.0/24. */
  readonly subnet: string;
  /** `--ip-masq`; default true (kube-flannel.yml). */
  readonly ipMasq?: boolean;
  /** iptables supports `--random-fully` and it is not disabled; default true. */
  readonly randomFully?: boolean;
  /** `--iptables-forward-rules`; default true. */
  readonly forwardRules?: boolean;
  /** Names the object in diagnostics, e.g. `Node node-1`. */
  readonly object?: string;
}

function cidrText(c: Cidr): string {
  return `${c.network}/${c.prefix}`;
}

/** The rules flanneld installs on one node (see the module doc). */
export function compileFlannelMasq(input: FlannelMasqInput): IptablesFragment {
  const diagnostics: Diagnostic[] = [];
  const where = input.object !== undefined ? { object: input.object } : {};
  const parse = (s: string, field: string): Cidr | undefined => {
    if (!isCidr(s)) {
      diagnostics.push({
        code: CODE_FLANNEL_CIDR,
        severity: 'error',
        message: `"${s}" is not an IPv4 CIDR`,
        ...where,
        field,
      });
      return undefined;
    }
    return parseCidr(s);
  };
  const network = parse(input.network, 'network');
  const subnet = parse(input.subnet, 'subnet');
  const b = new FragmentBuilder();
  if (!network || !subnet) return b.fragment(diagnostics);
  if (!cidrsOverlap(network, subnet) || subnet.prefix < network.prefix) {
    diagnostics.push({
      code: CODE_FLANNEL_SUBNET_OUTSIDE,
      severity: 'warning',
      message: `node subnet ${cidrText(subnet)} is not inside the flannel network ${cidrText(network)}; flanneld would still write these rules, but pod traffic to other nodes would be masqueraded`,
      ...where,
      field: 'subnet',
    });
  }
  const n = cidrText(network);
  const s = cidrText(subnet);
  const masq = (input.randomFully ?? true) ? 'MASQUERADE --random-fully' : 'MASQUERADE';
  const c = '-m comment --comment "flanneld masq"';

  if (input.ipMasq ?? true) {
    // CreateIP4Chain (ClearChain) then one iptables-restore --noflush of the rule list.
    b.chain('nat', FLANNEL_POSTRTG)
      .append('nat', 'POSTROUTING', `${c} -j ${FLANNEL_POSTRTG}`)
      .append('nat', FLANNEL_POSTRTG, `-m mark --mark ${KUBE_PROXY_MARK} ${c} -j RETURN`)
      .append('nat', FLANNEL_POSTRTG, `-s ${s} -d ${n} ${c} -j RETURN`)
      .append('nat', FLANNEL_POSTRTG, `-s ${n} -d ${s} ${c} -j RETURN`)
      .append('nat', FLANNEL_POSTRTG, `! -s ${n} -d ${s} ${c} -j RETURN`)
      .append('nat', FLANNEL_POSTRTG, `-s ${n} ! -d 224.0.0.0/4 ${c} -j ${masq}`)
      .append('nat', FLANNEL_POSTRTG, `! -s ${n} -d ${n} ${c} -j ${masq}`);
  }
  if (input.forwardRules ?? true) {
    const f = '-m comment --comment "flanneld forward"';
    b.chain('filter', FLANNEL_FWD)
      .append('filter', 'FORWARD', `${f} -j ${FLANNEL_FWD}`)
      .append('filter', FLANNEL_FWD, `-s ${n} ${f} -j ACCEPT`)
      .append('filter', FLANNEL_FWD, `-d ${n} ${f} -j ACCEPT`);
  }
  return b.fragment(diagnostics);
}
