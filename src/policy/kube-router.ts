/**
 * NetworkPolicy as kube-router's network policy controller enforces it in
 * iptables mode (cloudnativelabs/kube-router pkg/controllers/netpol: the
 * layout with KUBE-NWPLCY-COMMON, network_policy_controller.go
 * ensureTopLevelChains, pod.go, policy.go): the filter rules and IP sets one
 * node holds for its local pods.
 *
 *   INPUT/FORWARD/OUTPUT  -I 1: -j KUBE-ROUTER-INPUT|FORWARD|OUTPUT
 *                         ("kube-router netpol - <uuid>")
 *   KUBE-ROUTER-INPUT     RETURN for the service range and LOCAL node ports
 *   KUBE-ROUTER-*         per local pod: -d/-s POD_IP (and --physdev-is-bridged
 *                         in FORWARD) -j KUBE-POD-FW-<hash>; last, ACCEPT what
 *                         carries the 0x20000 mark
 *   KUBE-POD-FW-<hash>    KUBE-NWPLCY-COMMON (INVALID drop, RELATED/
 *                         ESTABLISHED accept, ICMP echo/unreachable/time
 *                         exceeded accept); accept from the node itself; per
 *                         direction no policy selects: KUBE-NWPLCY-DEFAULT
 *                         (mark 0x10000); each selecting policy's chain; then
 *                         without 0x10000: NFLOG (limited) and REJECT; clear
 *                         0x10000, set 0x20000
 *   KUBE-NWPLCY-<hash>    per rule and port: MARK 0x10000 on the peer and
 *                         target IP sets, RETURN once marked
 *
 * Names are `base32(sha256(…))[:16]`, with kube-router's own inputs (see the
 * functions below); the hook and KUBE-ROUTER-INPUT comments carry the uuid of
 * their rule spec. kube-router hashes a per-sync version (the sync's
 * UnixNano) into the pod and policy chain names; the twin uses
 * `opts.version` (default "0"), so those names differ from a real node's
 * while the rules are the same. Pods come in name order (kube-router iterates
 * a Go map); ports come from the compiled port set, one rule per protocol and
 * range (adjacent entries merged). IPv4 only.
 */
import { formatIpsetRestore } from '../iptables/ipset.js';
import { sha256Base32 } from '../k8s/hash.js';
import {
  npSelects,
  peerMatches,
  type CompiledNetworkPolicy,
  type Direction,
  type NpRule,
  type PodEndpoint,
  type PolicyWorld,
} from './model.js';
import { MAX_PORT, MIN_PORT, PROTOCOLS, type L4Protocol } from './ports.js';

export interface KubeRouterOptions {
  /** The service ClusterIP ranges (`--service-cluster-ip-range`). */
  readonly clusterIPRanges: readonly string[];
  /** `--service-node-port-range`, as `a:b`. Default 30000:32767. */
  readonly nodePortRange?: string;
  /** The sync version hashed into pod and policy chain names. Default "0". */
  readonly version?: string;
}

export interface KubeRouterNodeRules {
  /** `iptables-restore --noflush` text for the filter table. */
  readonly text: string;
  /** `ipset restore` text of the sets the rules match on. */
  readonly ipsetSave: string;
}

/** The marks kube-router uses: 0x10000 "allowed by a policy", 0x20000 "passed netpol". */
export const KUBE_ROUTER_MARK = { allowed: 0x10000, passed: 0x20000 } as const;

/** Go's base32.StdEncoding of sha256(s), first 16 characters. */
export const kubeRouterHash = sha256Base32;

/** The uuid in a rule's comment: the chain name and the rule's arguments, concatenated (utils.go). */
function ruleUuid(chain: string, args: readonly string[]): string {
  return kubeRouterHash(chain + args.join(''));
}

const q = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
const comment = (s: string) => `-m comment --comment ${q(s)}`;
const hex = (n: number) => `0x${n.toString(16)}`;
const mark = (m: number) => `${hex(m)}/${hex(m)}`;

/** `-p PROTO` and `-m PROTO --dport N[:M]` per (protocol, range); one empty pair for "any protocol". */
function portRules(
  protocolPorts: { proto: L4Protocol; lo: number; hi: number }[] | null,
): { proto: string; dport: string }[] {
  if (protocolPorts === null) return [{ proto: '', dport: '' }];
  return protocolPorts.map(({ proto, lo, hi }) => {
    const p = proto.toLowerCase();
    if (lo === MIN_PORT && hi === MAX_PORT) return { proto: `-p ${p}`, dport: '' };
    return { proto: `-p ${p}`, dport: `-m ${p} --dport ${lo === hi ? lo : `${lo}:${hi}`}` };
  });
}

/** The numeric ports of a rule as (protocol, range) items, or null for "any port, any protocol". */
function numericPorts(r: NpRule): { proto: L4Protocol; lo: number; hi: number }[] | null {
  const s = r.ports.numeric;
  if (s.isAll() && r.ports.named.length === 0) return null;
  const out: { proto: L4Protocol; lo: number; hi: number }[] = [];
  for (const proto of PROTOCOLS)
    for (const [lo, hi] of s.intervals(proto)) out.push({ proto, lo, hi });
  return out;
}

/** The rules, chains and IP sets being written, in kube-router's order. */
class KubeRouterWriter {
  readonly chains = new Set<string>();
  readonly rules: string[] = [];
  readonly sets = new Map<string, { type: 'hash:ip' | 'hash:net'; members: string[] }>();
  add(chain: string, body: string): void {
    this.chains.add(chain);
    this.rules.push(`-A ${chain} ${body}`.replace(/\s+/g, ' ').trim());
  }
  set(name: string, type: 'hash:ip' | 'hash:net', members: string[]): string {
    this.sets.set(name, { type, members });
    return name;
  }
}

const FAMILY = 'IPv4';

function ipsOf(pods: readonly PodEndpoint[]): string[] {
  return [...new Set(pods.flatMap((p) => (p.ip ? [p.ip] : [])))].sort();
}

/** `KUBE-NWPLCY-<hash>`: one NetworkPolicy's chain (policy.go). */
function policyChainName(p: CompiledNetworkPolicy, version: string): string {
  return `KUBE-NWPLCY-${kubeRouterHash(p.namespace + p.name + version + FAMILY)}`;
}

/** What one direction of one policy's chain needs to write its rules (policy.go). */
interface PolicyDirection {
  readonly out: KubeRouterWriter;
  /** Pods with an address: the only ones kube-router can put in a set. */
  readonly podsWithIp: readonly PodEndpoint[];
  readonly p: CompiledNetworkPolicy;
  readonly chain: string;
  readonly dir: Direction;
}

/** The rules of one policy in one direction: per rule, per peer kind and port. */
function policyDirectionRules(pd: PolicyDirection): void {
  const { out, podsWithIp, p, chain, dir } = pd;
  const ingress = dir === 'ingress';
  const targets = ipsOf(podsWithIp.filter((pod) => npSelects(p, pod)));
  const targetSet = `${kubeRouterHash(p.namespace + p.name + FAMILY)}`;
  const target = out.set(`${ingress ? 'KUBE-DST-' : 'KUBE-SRC-'}${targetSet}`, 'hash:ip', targets);
  const targetMatch = `-m set --match-set ${target} ${ingress ? 'dst' : 'src'}`;
  const peerSide = ingress ? 'src' : 'dst';
  const peerPrefix = ingress ? 'KUBE-SRC-' : 'KUBE-DST-';
  const ruleWord = ingress ? 'ingressrule' : 'egressrule';
  const family = FAMILY;
  const add = (c: string, b: string) => out.add(c, b);
  const set = (name: string, type: 'hash:ip' | 'hash:net', members: string[]) =>
    out.set(name, type, members);
  // As kube-router appends its arguments: -p, the comment, the sets, then the port match.
  const pair = (c: string, matches: string, ports: readonly { proto: string; dport: string }[]) => {
    for (const { proto, dport } of ports) {
      const head = `${proto} ${comment(c)} ${matches} ${dport}`;
      add(chain, `${head} -j MARK --set-xmark ${mark(KUBE_ROUTER_MARK.allowed)}`);
      add(chain, `${head} -m mark --mark ${mark(KUBE_ROUTER_MARK.allowed)} -j RETURN`);
    }
  };
  const what = (peers: 'pods' | 'all' | 'ipblock') =>
    ingress
      ? peers === 'pods'
        ? `rule to ACCEPT traffic from source pods to dest pods selected by policy name ${p.name} namespace ${p.namespace}`
        : peers === 'all'
          ? `rule to ACCEPT traffic from all sources to dest pods selected by policy name: ${p.name} namespace ${p.namespace}`
          : `rule to ACCEPT traffic from specified ipBlocks to dest pods selected by policy name: ${p.name} namespace ${p.namespace}`
      : peers === 'pods'
        ? `rule to ACCEPT traffic from source pods to dest pods selected by policy name ${p.name} namespace ${p.namespace}`
        : peers === 'all'
          ? `rule to ACCEPT traffic from source pods to all destinations selected by policy name: ${p.name} namespace ${p.namespace}`
          : `rule to ACCEPT traffic from source pods to specified ipBlocks selected by policy name: ${p.name} namespace ${p.namespace}`;
  p.rules[dir].forEach((r, i) => {
    const numeric = portRules(numericPorts(r));
    const hasNumeric = numericPorts(r) === null || !r.ports.numeric.isEmpty();
    // Named ports resolve on the pods they name: for ingress the policy's targets, for egress the peers.
    const named = (peerPods: readonly PodEndpoint[]) => {
      const out: { set: string; port: { proto: string; dport: string } }[] = [];
      r.ports.named.forEach((n, j) => {
        const byPort = new Map<number, PodEndpoint[]>();
        for (const pod of ingress ? podsWithIp.filter((x) => npSelects(p, x)) : peerPods)
          for (const cp of pod.ports)
            if (cp.name === n.name && cp.protocol === n.protocol)
              byPort.set(cp.port, [...(byPort.get(cp.port) ?? []), pod]);
        [...byPort.keys()]
          .sort((a, b) => a - b)
          .forEach((port, k) => {
            const name = set(
              `KUBE-DST-${kubeRouterHash(p.namespace + p.name + ruleWord + i + j + (k > 0 ? `.${k}` : '') + family + 'namedport')}`,
              'hash:ip',
              ipsOf(byPort.get(port)!),
            );
            const proto = n.protocol.toLowerCase();
            out.push({
              set: name,
              port: { proto: `-p ${proto}`, dport: `-m ${proto} --dport ${port}` },
            });
          });
      });
      return out;
    };
    if (r.peers === null) {
      if (hasNumeric) pair(what('all'), targetMatch, numeric);
      for (const n of named(podsWithIp))
        pair(
          what('all'),
          ingress
            ? `-m set --match-set ${n.set} dst`
            : `${targetMatch} -m set --match-set ${n.set} dst`,
          [n.port],
        );
      return;
    }
    const podPeers = r.peers.filter((m) => m.kind === 'pods');
    if (podPeers.length > 0) {
      const peerPods = podsWithIp.filter((pod) => podPeers.some((m) => peerMatches(m, pod)));
      const members = ipsOf(peerPods);
      // Selectors that match no pod: kube-router writes no rule (nothing is allowed).
      if (members.length > 0) {
        const peerSet = set(
          `${peerPrefix}${kubeRouterHash(p.namespace + p.name + ruleWord + i + family + 'pod')}`,
          'hash:ip',
          members,
        );
        const both = ingress
          ? `-m set --match-set ${peerSet} ${peerSide} ${targetMatch}`
          : `${targetMatch} -m set --match-set ${peerSet} ${peerSide}`;
        if (hasNumeric) pair(what('pods'), both, numeric);
        for (const n of named(peerPods)) {
          const m = ingress
            ? `-m set --match-set ${peerSet} src -m set --match-set ${n.set} dst`
            : `${targetMatch} -m set --match-set ${n.set} dst`;
          pair(what('pods'), m, [n.port]);
        }
      }
    }
    const blocks = r.peers.filter((m) => m.kind === 'ip');
    if (blocks.length > 0) {
      const entries = blocks.flatMap((b) =>
        b.kind === 'ip'
          ? [...b.include.map((x) => x.text), ...b.exclude.map((x) => `${x.text} nomatch`)]
          : [],
      );
      const blockSet = set(
        `${peerPrefix}${kubeRouterHash(p.namespace + p.name + ruleWord + i + family + 'ipblock')}`,
        'hash:net',
        entries.flatMap((e) =>
          // ipset cannot hold /0: kube-router splits it in two halves.
          e.startsWith('0.0.0.0/0')
            ? [e.replace('0.0.0.0/0', '0.0.0.0/1'), e.replace('0.0.0.0/0', '128.0.0.0/1')]
            : [e],
        ),
      );
      const both = ingress
        ? `-m set --match-set ${blockSet} src ${targetMatch}`
        : `${targetMatch} -m set --match-set ${blockSet} dst`;
      if (hasNumeric) pair(what('ipblock'), both, numeric);
    }
  });
}

/** Per local pod, its KUBE-POD-FW- chain, and the jumps to it for the top-level chains (pod.go). */
function podChains(
  out: KubeRouterWriter,
  world: PolicyWorld,
  localPods: readonly PodEndpoint[],
  version: string,
): { local: PodEndpoint[]; toPod: string[]; fromPod: string[]; fromPodInput: string[] } {
  const add = (c: string, b: string) => out.add(c, b);
  const policyChain = (p: CompiledNetworkPolicy) => policyChainName(p, version);
  const local = [...localPods]
    .filter((p) => p.ip !== undefined)
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  const toPod: string[] = [];
  const fromPod: string[] = [];
  const fromPodInput: string[] = [];
  for (const pod of local) {
    const fw = `KUBE-POD-FW-${kubeRouterHash(pod.namespace + pod.name + version)}`;
    const ip = `${pod.ip!}/32`;
    const to = comment(
      `rule to jump traffic destined to POD name:${pod.name} namespace: ${pod.namespace} to chain ${fw}`,
    );
    const from = comment(
      `rule to jump traffic from POD name:${pod.name} namespace: ${pod.namespace} to chain ${fw}`,
    );
    toPod.push(
      `-d ${ip} ${to} -j ${fw}`,
      `-d ${ip} -m physdev --physdev-is-bridged ${to} -j ${fw}`,
    );
    fromPod.push(
      `-s ${ip} ${from} -j ${fw}`,
      `-s ${ip} -m physdev --physdev-is-bridged ${from} -j ${fw}`,
    );
    fromPodInput.push(`-s ${ip} ${from} -j ${fw}`);
    add(fw, `${comment('common bi-directional traffic policy rules')} -j KUBE-NWPLCY-COMMON`);
    add(
      fw,
      `-d ${ip} ${comment("rule to permit the traffic traffic to pods when source is the pod's local node")} -m addrtype --src-type LOCAL -j ACCEPT`,
    );
    const selecting = (dir: Direction) =>
      world.policies.filter((np) => np.isolates[dir] && npSelects(np, pod));
    const ing = selecting('ingress');
    const egr = selecting('egress');
    if (egr.length === 0)
      add(
        fw,
        `-s ${ip} ${comment('run through default egress network policy chain')} -j KUBE-NWPLCY-DEFAULT`,
      );
    if (ing.length === 0)
      add(
        fw,
        `-d ${ip} ${comment('run through default ingress network policy chain')} -j KUBE-NWPLCY-DEFAULT`,
      );
    // Inserted at position 1 one after another: the last policy comes first.
    const jumps = [...new Set([...ing, ...egr])].sort((a, b) => (a.ref < b.ref ? 1 : -1));
    for (const np of jumps) {
      const both = np.isolates.ingress && np.isolates.egress;
      const sel = both ? '' : np.isolates.ingress ? `-d ${ip}` : `-s ${ip}`;
      add(fw, `${sel} ${comment(`run through nw policy ${np.name}`)} -j ${policyChain(np)}`);
    }
    const notAllowed = `-m mark ! --mark ${mark(KUBE_ROUTER_MARK.allowed)}`;
    add(
      fw,
      `${comment(`rule to log dropped traffic POD name:${pod.name} namespace: ${pod.namespace}`)} ${notAllowed} -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100`,
    );
    add(
      fw,
      `${comment(`rule to REJECT traffic destined for POD name:${pod.name} namespace: ${pod.namespace}`)} ${notAllowed} -j REJECT --reject-with icmp-port-unreachable`,
    );
    add(fw, `-j MARK --set-xmark 0x0/${hex(KUBE_ROUTER_MARK.allowed)}`);
    add(
      fw,
      `${comment('set mark to ACCEPT traffic that comply to network policies')} -j MARK --set-xmark ${mark(KUBE_ROUTER_MARK.passed)}`,
    );
  }

  return { local, toPod, fromPod, fromPodInput };
}

/** KUBE-NWPLCY-COMMON and KUBE-NWPLCY-DEFAULT (ensureCommonPolicyChain, ensureDefaultNetworkPolicyChain). */
function sharedChains(out: KubeRouterWriter): void {
  const add = (c: string, b: string) => out.add(c, b);
  add(
    'KUBE-NWPLCY-COMMON',
    `${comment('"rule to drop invalid state for pod"')} -m conntrack --ctstate INVALID -j DROP`,
  );
  add(
    'KUBE-NWPLCY-COMMON',
    `${comment('"rule for stateful firewall for pod"')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  for (const [type, what] of [
    [8, 'allow icmp echo requests'],
    [3, 'allow icmp destination unreachable messages'],
    [11, 'allow icmp time exceeded messages'],
  ] as const)
    add('KUBE-NWPLCY-COMMON', `-p icmp ${comment(what)} -m icmp --icmp-type ${type} -j ACCEPT`);
  add(
    'KUBE-NWPLCY-DEFAULT',
    `${comment('rule to mark traffic matching a network policy')} -j MARK --set-xmark ${mark(KUBE_ROUTER_MARK.allowed)}`,
  );
}

/** KUBE-ROUTER-INPUT/FORWARD/OUTPUT (ensureTopLevelChains, ensureExplicitAccept). */
function topLevelChains(
  out: KubeRouterWriter,
  opts: KubeRouterOptions,
  pods: {
    local: readonly PodEndpoint[];
    toPod: string[];
    fromPod: string[];
    fromPodInput: string[];
  },
): void {
  const add = (c: string, b: string) => out.add(c, b);
  const { local, toPod, fromPod, fromPodInput } = pods;
  const inputChain = 'KUBE-ROUTER-INPUT';
  for (const cidr of opts.clusterIPRanges) {
    const c = 'allow traffic to primary/secondary cluster IP range';
    const uuid = ruleUuid(inputChain, [
      '-m',
      'comment',
      '--comment',
      c,
      '-d',
      cidr,
      '-j',
      'RETURN',
    ]);
    add(inputChain, `-d ${cidr} ${comment(`${c} - ${uuid}`)} -j RETURN`);
  }
  const npr = opts.nodePortRange ?? '30000:32767';
  for (const proto of ['tcp', 'udp']) {
    const c = `allow LOCAL ${proto.toUpperCase()} traffic to node ports`;
    const args = [
      '-p',
      proto,
      '-m',
      'comment',
      '--comment',
      c,
      '-m',
      'addrtype',
      '--dst-type',
      'LOCAL',
      '-m',
      'multiport',
      '--dports',
      npr,
      '-j',
      'RETURN',
    ];
    add(
      inputChain,
      `-p ${proto} ${comment(`${c} - ${ruleUuid(inputChain, args)}`)} -m addrtype --dst-type LOCAL -m multiport --dports ${npr} -j RETURN`,
    );
  }
  for (const r of fromPodInput) add(inputChain, r);
  // FORWARD: to-pod, to-pod bridged, from-pod, from-pod bridged; OUTPUT: to-pod and from-pod.
  for (let i = 0; i < local.length; i++) {
    add('KUBE-ROUTER-FORWARD', toPod[2 * i]!);
    add('KUBE-ROUTER-FORWARD', toPod[2 * i + 1]!);
    add('KUBE-ROUTER-OUTPUT', toPod[2 * i]!);
  }
  for (let i = 0; i < local.length; i++) {
    add('KUBE-ROUTER-FORWARD', fromPod[2 * i]!);
    add('KUBE-ROUTER-FORWARD', fromPod[2 * i + 1]!);
    add('KUBE-ROUTER-OUTPUT', fromPod[2 * i]!);
  }
  const accept = `${comment('rule to explicitly ACCEPT traffic that comply to network policies')} -m mark --mark ${mark(KUBE_ROUTER_MARK.passed)} -j ACCEPT`;
  for (const c of ['KUBE-ROUTER-INPUT', 'KUBE-ROUTER-FORWARD', 'KUBE-ROUTER-OUTPUT'])
    add(c, accept);
}

export function renderKubeRouterFilter(
  world: PolicyWorld,
  localPods: readonly PodEndpoint[],
  opts: KubeRouterOptions,
): KubeRouterNodeRules {
  const version = opts.version ?? '0';
  const out = new KubeRouterWriter();
  const podsWithIp = world.pods.filter((p) => p.ip !== undefined);
  for (const p of world.policies) {
    const chain = policyChainName(p, version);
    out.chains.add(chain);
    for (const dir of ['ingress', 'egress'] as const) {
      if (p.isolates[dir]) policyDirectionRules({ out, podsWithIp, p, chain, dir });
    }
  }
  const pods = podChains(out, world, localPods, version);
  sharedChains(out);
  topLevelChains(out, opts, pods);
  const { chains, rules, sets } = out;
  const hooks = (['INPUT', 'FORWARD', 'OUTPUT'] as const).map((h) => {
    const target = `KUBE-ROUTER-${h}`;
    const uuid = ruleUuid(h, ['-m', 'comment', '--comment', 'kube-router netpol', '-j', target]);
    return `-I ${h} 1 ${comment(`kube-router netpol - ${uuid}`)} -j ${target}`;
  });
  const text = [
    '*filter',
    ...[...chains].sort().map((c) => `:${c} - [0:0]`),
    ...hooks,
    ...rules,
    'COMMIT',
    '',
  ].join('\n');
  // kube-router creates its sets with `timeout 0` and adds with it (ipset.go buildIPSetRestore).
  const ipsetSave = formatIpsetRestore(
    [...sets.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, s]) => ({
        name,
        type: s.type,
        options: 'family inet hashsize 1024 maxelem 65536 timeout 0',
        members: s.members,
        addOptions: 'timeout 0',
      })),
  );
  return { text, ipsetSave };
}
