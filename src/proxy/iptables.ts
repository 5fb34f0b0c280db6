/**
 * kube-proxy's iptables mode as a compiler: Services + EndpointSlices +
 * proxier settings -> the rules kube-proxy writes on a node.
 *
 * `proxier.ts` holds the input and what NewProxier makes of it, `sync.ts`
 * follows kubernetes `pkg/proxy/iptables/proxier.go` `syncProxyRules` section
 * by section, and this file adds what kube-proxy ensures outside the restore
 * data (`iptablesJumpChains`, the canary chains) to give a fresh node's
 * tables. Release differences are in `version.ts`.
 */

import {
  dumpTable,
  formatDump,
  hasSorted,
  mergeSorted,
  sortedBefore,
  sortDumpInPlace,
  type Dump,
  type DumpChain,
  type DumpTable,
} from './dump.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_CANARY,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  commentArgs,
  type ProxyInput,
  type ProxyOutput,
} from './proxier.js';
import type { ProxyShare } from './share.js';
import { syncProxyRules } from './sync.js';
import type { Diagnostic } from '../diag.js';

export {
  computeProbability,
  type LocalDetector,
  type ProxyInput,
  type ProxyOutput,
  type RestoreOutput,
} from './proxier.js';
export { generateKubeProxyRestore } from './sync.js';

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
  const r = generateIptablesDump(input);
  return { text: formatDump(r.dump), diagnostics: r.diagnostics };
}

/**
 * What `generateIptablesRules` prints, before it is printed: the node's
 * tables in that order, each rule line with the parsed form the sync built
 * beside it (`DumpChain.parsed`), for the twin to install without reading the
 * text back (`iptables/parse.ts` parseIptablesTables). With `share` (one per
 * cluster, `input.services`/`endpointSlices` being its own), what the nodes'
 * syncs have in common is computed once (share.ts).
 */
export function generateIptablesDump(
  input: ProxyInput,
  share?: ProxyShare,
): {
  dump: Dump;
  diagnostics: Diagnostic[];
} {
  const { w, natWhole, diagnostics } = syncProxyRules(input, share);
  const filter = dumpTable('filter', [w.filterChains, w.filterRules]);
  const nat = dumpTable('nat', [w.natChains, w.natRules], natWhole?.names);
  // A chain of a shared fragment met again (two ports writing one chain): written unshared.
  if (!filter || !nat) return generateIptablesDump(input);
  const tables = new Map<string, DumpTable>([
    ['filter', filter],
    ['nat', nat],
  ]);
  if (!tables.has('mangle')) tables.set('mangle', { name: 'mangle', chains: [], other: [] });
  const jumps = jumpRulesByChain();
  const whole = natWhole?.chains ?? [];
  for (const [tname, t] of tables) {
    const have = new Set(t.chains.map((c) => c.name));
    const add = (c: DumpChain) => {
      if (!have.has(c.name) && !(tname === 'nat' && hasSorted(whole, c.name))) {
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
  const full = sortDumpInPlace({ tables: [...tables.values()] });
  // The chains written whole, sorted once for every dump that holds them, put in their places.
  if (whole.length > 0) {
    const at = full.tables.findIndex((x) => x.name === 'nat');
    const t = full.tables[at]!;
    const own = t.chains;
    const facts = natWhole!.facts;
    // All its chains in order only when asked for (the text, a reading chain by chain): the
    // reader places the run from the own chains and where they stand.
    let chains: DumpChain[] | undefined;
    full.tables[at] = {
      name: t.name,
      get chains() {
        return (chains ??= mergeSorted(own, whole));
      },
      other: t.other,
      block: { chains: whole, memo: natWhole!.memo, ...(facts ? { facts } : {}) },
      own: { chains: own, at: sortedBefore(whole, own) },
    };
  }
  return { dump: full, diagnostics };
}
