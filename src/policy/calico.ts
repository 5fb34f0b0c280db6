/**
 * NetworkPolicy as Calico's Felix enforces it in iptables mode: the filter
 * chains one node holds for its local pods, as iptables-save text, with the
 * IP sets they match on.
 *
 * Pipeline, as in Calico:
 * 1. libcalico-go (`lib/backend/k8s/conversion/conversion.go`,
 *    `k8sRuleToCalico`) turns each NetworkPolicy into a Calico policy
 *    `knp.default.<name>` (tier `default`, order 1000) whose rules are one
 *    Allow per (protocol, peer): ports are grouped by protocol (sorted, "no
 *    ports" meaning any protocol), a podSelector/namespaceSelector peer
 *    becomes a selector, an ipBlock becomes `nets` / `notNets`.
 * 2. Felix (`felix/rules/policy.go`) renders each policy as `cali-pi-<id>`
 *    (ingress) and `cali-po-<id>` (egress): selectors are IP sets
 *    (`-m set --match-set cali40s:… src|dst`), named ports are (IP, port) sets
 *    (`dst,dst`), ports are `multiport`, and what one iptables rule cannot
 *    express (an ipBlock with `except`, several port specs with named ports) is
 *    split into match blocks on the scratch mark bits. An Allow sets the accept
 *    mark and RETURNs.
 * 3. Per workload (`felix/rules/endpoints.go`): `cali-tw-<iface>` (to the pod:
 *    ingress) and `cali-fw-<iface>` (from the pod: egress) accept
 *    RELATED,ESTABLISHED, drop INVALID, clear the accept/pass marks, jump to
 *    each policy of the direction and RETURN once one accepted, DROP "if no
 *    policies passed packet"; only a pod with no policy for that direction
 *    reaches the profiles (`cali-pri-kns.<ns>` allows all) — that is the
 *    isolation of the Kubernetes API. Dispatch (`felix/rules/dispatch.go`):
 *    `cali-from-wl-dispatch` / `cali-to-wl-dispatch` go to the chain of the
 *    interface; `cali-FORWARD` jumps to them for `cali+` interfaces and ACCEPTs
 *    a packet carrying the accept mark (`felix/rules/static.go`).
 *
 * Marks are Felix's defaults within IptablesMarkMask 0xffff0000: accept
 * 0x10000, pass 0x20000, scratch0 0x40000, scratch1 0x80000. Interface names
 * are Calico's: `cali` + the first 11 hex digits of sha1("<ns>.<pod>").
 * Chain names use Felix's GetLengthLimitedID (sha256, base64url, `_`).
 *
 * Not byte-identical to a real node: IP set names are derived from the
 * twin's own canonical selector text (Felix hashes its selector syntax), the
 * `cali:<hash>` rule-ID comments are omitted, dispatch is one flat chain
 * (Felix splits many interfaces into a prefix tree), host endpoints and the
 * raw/mangle/nat chains are not rendered, and AdminNetworkPolicy tiers are
 * not rendered (a diagnostic says so). A rule whose ports name every port of
 * all three protocols is rendered as one protocol-less rule (the port-set
 * model cannot tell it from "no ports"), so it also admits ICMP, where Calico
 * would write three per-protocol rules. With `ipsets: 'expand'` every set
 * match is replaced by one rule per member (same verdicts), for kernels and
 * models without IP sets.
 */
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../diag.js';
import { formatIpsetRestore } from '../iptables/ipset.js';
import { cidrContains, parseCidr } from '../wire/addr.js';
import {
  npSelects,
  peerMatches,
  type CompiledNetworkPolicy,
  type Direction,
  type NpRule,
  type PeerMatcher,
  type PodEndpoint,
  type PolicyWorld,
} from './model.js';
import { PROTOCOLS, type L4Protocol } from './ports.js';

export const FELIX_MARK = {
  accept: 0x10000,
  pass: 0x20000,
  scratch0: 0x40000,
  scratch1: 0x80000,
} as const;
const MAX_CHAIN_NAME = 28;

const hex = (n: number) => `0x${n.toString(16)}`;
const setMark = (bits: number) => `-j MARK --set-xmark ${hex(bits)}/${hex(bits)}`;
const clearMark = (bits: number) => `-j MARK --set-xmark 0x0/${hex(bits)}`;
const markSet = (bit: number) => `-m mark --mark ${hex(bit)}/${hex(bit)}`;
const markClear = (bits: number) => `-m mark --mark 0x0/${hex(bits)}`;
const comment = (text: string) => `-m comment --comment "${text}"`;

/** Calico CNI's host-side veth name (libcalico-go `VethNameForWorkload`). */
export function calicoVethName(namespace: string, pod: string): string {
  return `cali${createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11)}`;
}

/** Felix `hashutils.GetLengthLimitedID`. */
export function lengthLimitedId(
  prefix: string,
  suffix: string,
  maxLength = MAX_CHAIN_NAME,
): string {
  const s = suffix === '' ? '_' : suffix;
  const total = prefix.length + s.length;
  if (total > maxLength || (total === maxLength && s.startsWith('_'))) {
    const hash = createHash('sha256').update(s).digest('base64url');
    return `${prefix}_${hash.slice(0, maxLength - 1 - prefix.length)}`;
  }
  return prefix + s;
}

/** How Felix creates its IP sets (felix/ipsets: maxelem 1048576). */
export const FELIX_IPSET_OPTIONS = 'family inet hashsize 1024 maxelem 1048576';

export interface CalicoIpSet {
  readonly name: string;
  readonly type: 'hash:net' | 'hash:ip,port';
  /** What it stands for, e.g. `pods {app=web} in namespace x`. */
  readonly description: string;
  /** `10.0.1.1/32` or `10.0.1.1,tcp:8080`, sorted. */
  readonly members: readonly string[];
}

export interface CalicoNodeRules {
  /** The filter table's Calico chains and hooks, iptables-save format. */
  readonly iptablesSave: string;
  readonly ipsets: readonly CalicoIpSet[];
  /** `ipset save` text for the sets (empty in expand mode). */
  readonly ipsetSave: string;
  /** Pod key → host-side interface name. */
  readonly interfaces: ReadonlyMap<string, string>;
  readonly diagnostics: readonly Diagnostic[];
}

export interface CalicoOptions {
  /** `ipset` (as Felix) or `expand` (one rule per set member). Default `ipset`. */
  readonly ipsets?: 'ipset' | 'expand';
}

/** One Calico rule after conversion (apiv3.Rule, the fields NetworkPolicy uses). */
interface CalicoRule {
  readonly protocol?: L4Protocol;
  /** Numeric ports as iptables ranges (`80`, `8000:8080`). */
  readonly ports: readonly string[];
  readonly namedPorts: readonly string[];
  readonly peer?: PeerMatcher;
}

/** A rule as Felix renders it: matches, with set matches kept symbolic until the end. */
interface Line {
  readonly parts: readonly (string | SetMatch)[];
}
interface SetMatch {
  readonly set: CalicoIpSet;
  readonly dir: 'src' | 'dst' | 'dst,dst';
}

function portText(lo: number, hi: number): string {
  return lo === hi ? `${lo}` : `${lo}:${hi}`;
}

/** libcalico-go k8sRuleToCalico: one rule per (protocol, peer), protocols sorted. */
function convertRule(rule: NpRule): CalicoRule[] {
  const byProto = new Map<string, { ports: string[]; named: string[]; all: boolean }>();
  const spec = rule.ports;
  const anyPorts = spec.numeric.isAll() && spec.named.length === 0;
  if (anyPorts) byProto.set('', { ports: [], named: [], all: true });
  else {
    for (const p of PROTOCOLS) {
      const iv = spec.numeric.intervals(p);
      const entry = { ports: [] as string[], named: [] as string[], all: false };
      if (iv.length === 1 && iv[0]![0] === 1 && iv[0]![1] === 65535) entry.all = true;
      else for (const [lo, hi] of iv) entry.ports.push(portText(lo, hi));
      for (const n of spec.named) if (n.protocol === p) entry.named.push(n.name);
      if (entry.all || entry.ports.length > 0 || entry.named.length > 0) byProto.set(p, entry);
    }
  }
  const peers: (PeerMatcher | undefined)[] = rule.peers === null ? [undefined] : [...rule.peers];
  const out: CalicoRule[] = [];
  for (const proto of [...byProto.keys()].sort()) {
    const e = byProto.get(proto)!;
    for (const peer of peers) {
      out.push({
        ...(proto ? { protocol: proto as L4Protocol } : {}),
        ports: e.all ? [] : e.ports,
        namedPorts: e.all ? [] : e.named,
        ...(peer ? { peer } : {}),
      });
    }
  }
  return out;
}

/** The IP sets one node's rules match on, interned by what they stand for. */
class FelixSets {
  readonly sets = new Map<string, CalicoIpSet>();
  constructor(readonly world: PolicyWorld) {}

  private intern(
    kind: 's' | 'n',
    description: string,
    type: CalicoIpSet['type'],
    members: string[],
  ): CalicoIpSet {
    const id = createHash('sha224')
      .update(`${kind}:${description}`)
      .digest('base64url')
      .slice(0, 23);
    const name = `cali40${kind}:${id}`;
    let s = this.sets.get(name);
    if (!s)
      this.sets.set(name, (s = { name, type, description, members: [...new Set(members)].sort() }));
    return s;
  }

  /** The pods a selector peer matches (`hash:net`). */
  selectorSet(m: PeerMatcher): CalicoIpSet {
    return this.intern(
      's',
      m.text,
      'hash:net',
      this.world.pods
        .filter((p) => p.ip !== undefined && peerMatches(m, p))
        .map((p) => `${p.ip}/32`),
    );
  }

  /** (IP, port) of every destination pod's container port named `name` (`hash:ip,port`). */
  namedPortSet(
    name: string,
    proto: L4Protocol,
    dests: readonly PodEndpoint[],
    scope: string,
  ): CalicoIpSet {
    return this.intern(
      'n',
      `${scope} port ${name}/${proto}`,
      'hash:ip,port',
      dests.flatMap((p) =>
        p.ip === undefined
          ? []
          : p.ports
              .filter((c) => c.name === name && c.protocol === proto)
              .map((c) => `${p.ip},${proto.toLowerCase()}:${c.port}`),
      ),
    );
  }
}

/** Felix ProtoRuleToIptablesRules for one converted rule. */
function renderRule(
  sets: FelixSets,
  p: CompiledNetworkPolicy,
  dir: Direction,
  r: CalicoRule,
): Line[] {
  const world = sets.world;
  const lines: Line[] = [];
  const srcOrDst = dir === 'ingress' ? 'src' : 'dst';
  const flag = dir === 'ingress' ? '-s' : '-d';
  const proto = r.protocol ? `-p ${r.protocol.toLowerCase()}` : undefined;
  // Named ports resolve on the destination: the policy's own pods for
  // ingress, the peer's pods for egress.
  const dests =
    dir === 'ingress'
      ? world.pods.filter((pod) => npSelects(p, pod))
      : r.peer && r.peer.kind === 'pods'
        ? world.pods.filter((pod) => peerMatches(r.peer!, pod))
        : world.pods;
  const scope = dir === 'ingress' ? p.ref : (r.peer?.text ?? 'all pods');
  const named = r.namedPorts.map((n) => sets.namedPortSet(n, r.protocol!, dests, scope));
  const splits: string[][] = [];
  for (let i = 0; i < r.ports.length; i += 15) splits.push(r.ports.slice(i, i + 15) as string[]);
  const { accept, scratch0, scratch1 } = FELIX_MARK;
  let usingBlocks = false;
  const main: (string | SetMatch)[] = [];
  if (proto) main.push(proto);
  // Port block: more than one multiport split / named-port set to OR together.
  if (splits.length + named.length > 1) {
    usingBlocks = true;
    lines.push({ parts: [`-j MARK --set-xmark 0x0/${hex(scratch0 | scratch1)}`] });
    for (const s of splits)
      lines.push({ parts: [proto!, `-m multiport --dports ${s.join(',')}`, setMark(scratch0)] });
    for (const set of named) lines.push({ parts: [{ set, dir: 'dst,dst' }, setMark(scratch0)] });
  }
  const peer = r.peer;
  if (peer?.kind === 'ip') {
    const nets = peer.include.map((x) => x.text);
    const notNets = peer.exclude.map((x) => x.text);
    if (nets.length === 1) main.push(`${flag} ${nets[0]}`);
    if (nets.length + notNets.length > 1 && notNets.length > 0) {
      // Negated CIDR block: start with "all blocks pass" set, clear it on any except.
      if (!usingBlocks)
        lines.push({
          parts: [`-j MARK --set-xmark ${hex(scratch0)}/${hex(scratch0 | scratch1)}`],
        });
      usingBlocks = true;
      for (const n of notNets) lines.push({ parts: [`${flag} ${n}`, clearMark(scratch0)] });
    } else if (notNets.length === 1) main.push(`! ${flag} ${notNets[0]}`);
    if (nets.length === 0) return []; // IPv6-only ipBlock: no IPv4 rule (FilterRuleToIPVersion)
  } else if (peer?.kind === 'pods') {
    main.push({ set: sets.selectorSet(peer), dir: srcOrDst } as SetMatch);
  }
  if (splits.length + named.length === 1) {
    if (splits.length === 1) main.push(`-m multiport --dports ${splits[0]!.join(',')}`);
    else main.push({ set: named[0]!, dir: 'dst,dst' });
  }
  if (usingBlocks) main.push(markSet(scratch0));
  lines.push({ parts: [...main, setMark(accept)] });
  lines.push({ parts: [markSet(accept), '-j RETURN'] });
  return lines;
}

function policyChain(
  sets: FelixSets,
  p: CompiledNetworkPolicy,
  dir: Direction,
): { name: string; lines: Line[] } {
  const id = `${p.namespace}/knp.default.${p.name}`;
  const name = lengthLimitedId(dir === 'ingress' ? 'cali-pi-' : 'cali-po-', id);
  const lines = p.rules[dir].flatMap((rule) =>
    convertRule(rule).flatMap((cr) => renderRule(sets, p, dir, cr)),
  );
  const tag = comment(`Policy ${id} ${dir}`);
  if (lines.length === 0) lines.push({ parts: [tag] });
  else lines[0] = { parts: [tag, ...lines[0]!.parts] };
  return { name, lines };
}

/**
 * The chain of one workload in one direction (felix/rules/endpoints.go):
 * `cali-tw-<iface>` (ingress) or `cali-fw-<iface>` (egress); policy chains
 * and profiles it jumps to are added with `add`.
 */
function workloadChain(
  sets: FelixSets,
  pod: PodEndpoint,
  dir: Direction,
  policies: readonly CompiledNetworkPolicy[],
  add: (name: string, lines: Line[]) => void,
): Line[] {
  const { accept, pass } = FELIX_MARK;
  const lines: Line[] = [
    { parts: ['-m conntrack --ctstate RELATED,ESTABLISHED', '-j ACCEPT'] },
    { parts: ['-m conntrack --ctstate INVALID', '-j DROP'] },
    { parts: [clearMark(accept | pass)] },
  ];
  if (dir === 'egress') {
    lines.push({
      parts: [
        '-p udp',
        '-m udp --dport 4789',
        comment('Drop VXLAN encapped packets originating in workloads'),
        '-j DROP',
      ],
    });
    lines.push({
      parts: [
        '-p ipencap',
        comment('Drop IPinIP encapped packets originating in workloads'),
        '-j DROP',
      ],
    });
  }
  const applying = policies.filter((p) => p.isolates[dir]);
  if (applying.length > 0) {
    lines.push({ parts: [comment('Start of tier default'), clearMark(pass)] });
    for (const p of applying) {
      const chain = policyChain(sets, p, dir);
      add(chain.name, chain.lines);
      lines.push({ parts: [markClear(pass), `-j ${chain.name}`] });
      lines.push({
        parts: [comment('Return if policy accepted'), markSet(accept), '-j RETURN'],
      });
    }
    lines.push({
      parts: [comment('Drop if no policies passed packet'), markClear(pass), '-j DROP'],
    });
  }
  // Profiles: kns.<ns> allows everything; ksa.<ns>.default (the service account) is empty.
  for (const profile of [`kns.${pod.namespace}`, `ksa.${pod.namespace}.default`]) {
    const name = lengthLimitedId(dir === 'ingress' ? 'cali-pri-' : 'cali-pro-', profile);
    add(
      name,
      profile.startsWith('kns.')
        ? [
            { parts: [comment(`Profile ${profile} ${dir}`), setMark(accept)] },
            { parts: [markSet(accept), '-j RETURN'] },
          ]
        : [{ parts: [comment(`Profile ${profile} ${dir}`)] }],
    );
    lines.push({ parts: [`-j ${name}`] });
    lines.push({
      parts: [comment('Return if profile accepted'), markSet(accept), '-j RETURN'],
    });
  }
  lines.push({ parts: [comment('Drop if no profiles matched'), '-j DROP'] });
  return lines;
}

/** Every local workload's chains and the dispatch chains that reach them. */
function workloadChains(
  sets: FelixSets,
  localPods: readonly PodEndpoint[],
): {
  chains: Map<string, Line[]>;
  interfaces: Map<string, string>;
  fromDispatch: Line[];
  toDispatch: Line[];
} {
  const chains = new Map<string, Line[]>();
  const add = (name: string, lines: Line[]) => {
    if (!chains.has(name)) chains.set(name, lines);
  };
  const interfaces = new Map<string, string>();
  const fromDispatch: Line[] = [];
  const toDispatch: Line[] = [];
  const local = [...localPods].sort((a, b) => (a.key < b.key ? -1 : 1));
  for (const pod of local) {
    const iface = calicoVethName(pod.namespace, pod.name);
    interfaces.set(pod.key, iface);
    const policies = sets.world.policies
      .filter((p) => npSelects(p, pod))
      .sort((a, b) =>
        `${a.namespace}/knp.default.${a.name}` < `${b.namespace}/knp.default.${b.name}` ? -1 : 1,
      );
    for (const dir of ['ingress', 'egress'] as const) {
      const lines = workloadChain(sets, pod, dir, policies, add);
      const chainName = lengthLimitedId(dir === 'ingress' ? 'cali-tw-' : 'cali-fw-', iface);
      add(chainName, lines);
      (dir === 'ingress' ? toDispatch : fromDispatch).push({
        parts: [dir === 'ingress' ? `-o ${iface}` : `-i ${iface}`, `-g ${chainName}`],
      });
    }
  }
  fromDispatch.push({ parts: [comment('Unknown interface'), '-j DROP'] });
  toDispatch.push({ parts: [comment('Unknown interface'), '-j DROP'] });
  return { chains, interfaces, fromDispatch, toDispatch };
}

/** One rule as iptables-save lines: set matches as IP sets, or expanded to one rule per member. */
function renderLine(expand: boolean, chain: string, l: Line): string[] {
  const setParts = l.parts.filter((p): p is SetMatch => typeof p !== 'string');
  if (!expand || setParts.length === 0) {
    return [
      `-A ${chain} ${l.parts.map((p) => (typeof p === 'string' ? p : `-m set --match-set ${p.set.name} ${p.dir}`)).join(' ')}`,
    ];
  }
  // Expand: the cross product of set members (an OR of set matches becomes one rule each).
  let combos: string[][] = [[]];
  const hasProto = l.parts.some((p) => typeof p === 'string' && p.startsWith('-p '));
  // A destination net and a (destination IP, port) set in one rule: keep the
  // members inside the net, each as its own -d.
  const dstNet = l.parts.find((p): p is string => typeof p === 'string' && p.startsWith('-d '));
  const expandsDst = setParts.some((p) => p.dir !== 'src');
  for (const part of l.parts) {
    if (typeof part === 'string') {
      if (!(expandsDst && part === dstNet)) combos = combos.map((c) => [...c, part]);
      continue;
    }
    const members =
      dstNet && part.dir !== 'src'
        ? part.set.members.filter((m) =>
            cidrContains(parseCidr(dstNet.slice(3)), m.split(/[,/]/)[0]!),
          )
        : part.set.members;
    const alts = members.map((m) => {
      if (part.dir !== 'dst,dst') return `${part.dir === 'src' ? '-s' : '-d'} ${m}`;
      const [ip, pp] = m.split(',') as [string, string];
      const [p, port] = pp.split(':') as [string, string];
      return `-d ${ip}/32${hasProto ? '' : ` -p ${p}`} -m ${p} --dport ${port}`;
    });
    combos = combos.flatMap((c) => alts.map((a) => [...c, a]));
  }
  return combos.map((c) => `-A ${chain} ${c.join(' ')}`);
}

/** Renders the Calico filter chains for the pods of one node. */
export function renderCalicoFilter(
  world: PolicyWorld,
  localPods: readonly PodEndpoint[],
  opts: CalicoOptions = {},
): CalicoNodeRules {
  const expand = opts.ipsets === 'expand';
  const diagnostics: Diagnostic[] = [];
  if (world.admin.length > 0 || world.baseline) {
    diagnostics.push({
      code: 'calico-anp-not-rendered',
      severity: 'warning',
      message:
        'AdminNetworkPolicy / BaselineAdminNetworkPolicy tiers are not rendered into Calico chains; only NetworkPolicy is enforced by these rules',
    });
  }
  const sets = new FelixSets(world);
  const { chains, interfaces, fromDispatch, toDispatch } = workloadChains(sets, localPods);
  const { accept } = FELIX_MARK;
  const forward: Line[] = [
    { parts: [clearMark(FELIX_MARK.pass | FELIX_MARK.scratch0 | FELIX_MARK.scratch1)] },
    { parts: ['-i cali+', '-j cali-from-wl-dispatch'] },
    { parts: ['-o cali+', '-j cali-to-wl-dispatch'] },
  ];
  const order = [
    'cali-FORWARD',
    'cali-from-wl-dispatch',
    'cali-to-wl-dispatch',
    ...[...chains.keys()].sort(),
  ];
  const all = new Map<string, Line[]>([
    ['cali-FORWARD', forward],
    ['cali-from-wl-dispatch', fromDispatch],
    ['cali-to-wl-dispatch', toDispatch],
    ...chains,
  ]);
  const out: string[] = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
  ];
  for (const name of order) out.push(`:${name} - [0:0]`);
  out.push('-A FORWARD -j cali-FORWARD');
  out.push(
    `-A FORWARD ${comment('Policy explicitly accepted packet.')} ${markSet(accept)} -j ACCEPT`,
  );
  for (const name of order)
    for (const l of all.get(name)!) out.push(...renderLine(expand, name, l));
  out.push('COMMIT', '');

  const ipsets = [...sets.sets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const ipsetSave = expand
    ? ''
    : formatIpsetRestore(
        ipsets.map((s) => ({
          name: s.name,
          type: s.type,
          options: FELIX_IPSET_OPTIONS,
          // ipset prints a hash:net host element without its /32.
          members: s.members.map((m) => m.replace(/\/32$/, '')),
        })),
      );
  return { iptablesSave: out.join('\n'), ipsets, ipsetSave, interfaces, diagnostics };
}
