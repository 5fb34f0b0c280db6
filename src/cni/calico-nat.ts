/**
 * Calico Felix's nat table (projectcalico/calico `felix/rules/nat.go`
 * NATOutgoingChain, `felix/rules/static.go` StaticNATTableChains,
 * `felix/iptables/table.go` / `rules.go` RuleHashes), for one node in the
 * iptables data plane:
 *
 *   PREROUTING  -j cali-PREROUTING   -> cali-fip-dnat (empty: no floating IPs)
 *   OUTPUT      -j cali-OUTPUT       -> cali-fip-dnat
 *   POSTROUTING -j cali-POSTROUTING  -> cali-fip-snat (empty), cali-nat-outgoing,
 *                                       then per tunnel device with an address
 *                                       (tunl0, vxlan.calico): MASQUERADE what leaves
 *                                       the tunnel from a wrong local source
 *   cali-nat-outgoing: -m set --match-set cali40masq-ipam-pools src
 *                      -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully
 *
 * Felix inserts the built-in-chain jumps at the top (ChainInsertMode
 * `insert`, the default) and keeps them there, so they are `-I … 1` here.
 * Every rule carries `-m comment --comment "cali:<hash>"`: the first 16
 * characters of the URL-safe base64 of a SHA-224 chain over the chain name
 * and each rule rendered as `-A <chain> HASH <match> <action>` — reproduced
 * exactly ({@link felixRuleHashes}; checked against real dumps in the tests).
 *
 * The two pool sets are IP sets Felix programs (`ipsetSave`, hash:net):
 * cali40all-ipam-pools (every pool) and cali40masq-ipam-pools (pools with
 * natOutgoing). With no natOutgoing pool the chain is empty, as Felix
 * renders it.
 *
 * Not modelled: NATOutgoingExclusions=IPPoolsAndHostIPs (the extra
 * `! --match-set cali40all-hosts-net dst`), the interface filter, BPF mode,
 * WireGuard, IPv6.
 */

import { createHash } from 'node:crypto';
import type { Diagnostic } from '../diag.js';
import { formatIpsetRestore } from '../iptables/ipset.js';
import { isCidr, isIpv4, parseCidr } from '../wire/addr.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';

export const CHAIN_NAT_OUTGOING = 'cali-nat-outgoing';
export const CODE_CALICO_POOL = 'calico-invalid-pool';

/** `felix/iptables` HashLength. */
const HASH_LENGTH = 16;

/**
 * Felix's rule hashes (`Chain.RuleHashes`): sha224(chain name), then for each
 * rule sha224(previous hash ‖ `-A <chain> HASH <rendered rule>`), base64url,
 * first 16 characters. `rendered` is match and action as Felix renders them
 * (long options: `--jump`, `--out-interface`).
 */
export function felixRuleHashes(chain: string, rendered: readonly string[]): string[] {
  let hash = createHash('sha224').update(chain).digest();
  return rendered.map((r) => {
    hash = createHash('sha224').update(hash).update(`-A ${chain} HASH ${r}`).digest();
    return hash.toString('base64url').slice(0, HASH_LENGTH);
  });
}

export interface CalicoIPPool {
  readonly cidr: string;
  /** `spec.natOutgoing`; default false (the pool Calico creates at install has it true). */
  readonly natOutgoing?: boolean;
}

export interface CalicoNatInput {
  readonly pools: readonly CalicoIPPool[];
  /** This node's tunl0 address when IPIP is enabled (adds the tunl0 MASQUERADE rule). */
  readonly ipipTunnelAddress?: string;
  /** This node's vxlan.calico address when VXLAN is enabled. */
  readonly vxlanTunnelAddress?: string;
  /** Felix's MASQFullyRandom feature (iptables ≥ 1.6.2, kernel ≥ 3.14); default true. */
  readonly randomFully?: boolean;
  /**
   * The ipset id of "all pools": `all-ipam-pools` (Calico ≤ 3.29 and the
   * dumps seen in the wild; default) or `network-ip-pools` (newer).
   */
  readonly allPoolsSetId?: 'all-ipam-pools' | 'network-ip-pools';
  /** `natOutgoingAddress`: SNAT to it instead of MASQUERADE. */
  readonly natOutgoingAddress?: string;
  /** `natPortRange`. */
  readonly natPortRange?: { readonly min: number; readonly max: number };
  readonly object?: string;
}

interface FelixRule {
  /** Felix's rendering (for the hash). */
  readonly felixMatch: string;
  readonly felixAction: string;
  /** iptables-save text bodies that stand for it (one, or the substitution's several). */
  readonly save: (comment: string) => string[];
}

function commentArg(hash: string): string {
  return `-m comment --comment "cali:${hash}"`;
}

/** Renders a Felix chain: hashes from Felix's form, save text from `save`. */
function renderChain(
  b: FragmentBuilder,
  chain: string,
  rules: readonly FelixRule[],
  mode: 'append' | 'insert',
): void {
  const hashes = felixRuleHashes(
    chain,
    rules.map((r) => (r.felixMatch === '' ? r.felixAction : `${r.felixMatch} ${r.felixAction}`)),
  );
  // Inserted rules go in at position 1 one after another, so insert them last-first.
  const items = rules.flatMap((r, i) => r.save(commentArg(hashes[i]!)));
  if (mode === 'append') for (const s of items) b.append('nat', chain, s);
  else for (const s of [...items].reverse()) b.insert('nat', chain, s);
}

function jump(target: string): FelixRule {
  return { felixMatch: '', felixAction: `--jump ${target}`, save: (c) => [`${c} -j ${target}`] };
}

/** The Felix nat table for one node (see the module doc). */
export function compileCalicoNat(input: CalicoNatInput): IptablesFragment {
  const diagnostics: Diagnostic[] = [];
  const where = input.object !== undefined ? { object: input.object } : {};
  const rf = input.randomFully ?? true;
  const masqSave = rf ? '-j MASQUERADE --random-fully' : '-j MASQUERADE';
  const masqFelix = rf ? '--jump MASQUERADE --random-fully' : '--jump MASQUERADE';

  const pools: { cidr: string; masq: boolean }[] = [];
  input.pools.forEach((p, i) => {
    if (!isCidr(p.cidr)) {
      diagnostics.push({
        code: CODE_CALICO_POOL,
        severity: 'error',
        message: `IP pool "${p.cidr}" is not an IPv4 CIDR`,
        ...where,
        field: `pools[${i}].cidr`,
      });
      return;
    }
    const c = parseCidr(p.cidr);
    pools.push({ cidr: `${c.network}/${c.prefix}`, masq: p.natOutgoing ?? false });
  });
  pools.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
  const allPools = [...new Set(pools.map((p) => p.cidr))];
  const masqPools = [...new Set(pools.filter((p) => p.masq).map((p) => p.cidr))];

  const b = new FragmentBuilder();
  for (const c of [
    'cali-PREROUTING',
    'cali-POSTROUTING',
    'cali-OUTPUT',
    'cali-fip-dnat',
    'cali-fip-snat',
    CHAIN_NAT_OUTGOING,
  ]) {
    b.chain('nat', c);
  }

  // cali-nat-outgoing (NATOutgoingChain), matching on Felix's pool IP sets.
  const masqSet = 'cali40masq-ipam-pools';
  const allSet = `cali40${input.allPoolsSetId ?? 'all-ipam-pools'}`;
  if (masqPools.length > 0) {
    const setMatch = `-m set --match-set ${masqSet} src -m set ! --match-set ${allSet} dst`;
    let snatDefault = masqSave;
    let snatDefaultFelix = masqFelix;
    if (input.natOutgoingAddress !== undefined) {
      if (!isIpv4(input.natOutgoingAddress)) {
        diagnostics.push({
          code: CODE_CALICO_POOL,
          severity: 'error',
          message: `natOutgoingAddress "${input.natOutgoingAddress}" is not IPv4`,
          ...where,
          field: 'natOutgoingAddress',
        });
      } else {
        snatDefault = `-j SNAT --to-source ${input.natOutgoingAddress}`;
        snatDefaultFelix = `--jump SNAT --to-source ${input.natOutgoingAddress}`;
      }
    }
    const rules: FelixRule[] = [];
    const pr = input.natPortRange;
    if (pr && pr.max > 0) {
      const ports = `${pr.min}-${pr.max}`;
      const [rangeSave, rangeFelix] =
        input.natOutgoingAddress !== undefined && isIpv4(input.natOutgoingAddress)
          ? [
              `-j SNAT --to-source ${input.natOutgoingAddress}:${ports}`,
              `--jump SNAT --to-source ${input.natOutgoingAddress}:${ports}`,
            ]
          : [
              `-j MASQUERADE --to-ports ${ports}${rf ? ' --random-fully' : ''}`,
              `--jump MASQUERADE --to-ports ${ports}${rf ? ' --random-fully' : ''}`,
            ];
      for (const proto of ['tcp', 'udp']) {
        rules.push({
          felixMatch: `${setMatch} --protocol ${proto}`,
          felixAction: rangeFelix,
          save: (c) => [`-p ${proto} ${c} ${setMatch} ${rangeSave}`],
        });
        rules.push({
          felixMatch: `${setMatch} --protocol ${proto}`,
          felixAction: '--jump RETURN',
          save: (c) => [`-p ${proto} ${c} ${setMatch} -j RETURN`],
        });
      }
    }
    rules.push({
      felixMatch: setMatch,
      felixAction: snatDefaultFelix,
      save: (c) => [`${c} ${setMatch} ${snatDefault}`],
    });
    renderChain(b, CHAIN_NAT_OUTGOING, rules, 'append');
  }

  // Static chains, as Felix writes them after the dynamic ones are known.
  renderChain(b, 'cali-PREROUTING', [jump('cali-fip-dnat')], 'append');
  const post: FelixRule[] = [jump('cali-fip-snat'), jump(CHAIN_NAT_OUTGOING)];
  const tunnels: [string, string | undefined][] = [
    ['tunl0', input.ipipTunnelAddress],
    ['vxlan.calico', input.vxlanTunnelAddress],
  ];
  for (const [dev, addr] of tunnels) {
    if (addr === undefined || addr === '') continue;
    post.push({
      felixMatch: `--out-interface ${dev} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL`,
      felixAction: masqFelix,
      save: (c) => [
        `-o ${dev} ${c} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL ${masqSave}`,
      ],
    });
  }
  renderChain(b, 'cali-POSTROUTING', post, 'append');
  renderChain(b, 'cali-OUTPUT', [jump('cali-fip-dnat')], 'append');

  // Top-level jumps (insert mode).
  renderChain(b, 'PREROUTING', [jump('cali-PREROUTING')], 'insert');
  renderChain(b, 'OUTPUT', [jump('cali-OUTPUT')], 'insert');
  renderChain(b, 'POSTROUTING', [jump('cali-POSTROUTING')], 'insert');
  // Felix keeps both pool sets whatever the pools' natOutgoing (felix/dataplane ipsets).
  const options = 'family inet hashsize 1024 maxelem 1048576'; // Felix's (felix/ipsets)
  const ipsetSave =
    allPools.length > 0
      ? formatIpsetRestore([
          { name: allSet, type: 'hash:net', options, members: allPools },
          { name: masqSet, type: 'hash:net', options, members: masqPools },
        ])
      : '';
  return { ...b.fragment(diagnostics), ipsetSave };
}
