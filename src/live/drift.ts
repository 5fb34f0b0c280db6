/**
 * Drift: what the twin says a node should hold (what kube-proxy, the CNI and
 * the cloud agent would have installed) against what the node holds (a
 * collected bundle). Missing and extra iptables rules and chains, routes,
 * permanent neighbour entries, tunnel FDB entries and IP sets, each
 * attributed to its owner (by chain names, comments, devices, route
 * protocols) and, where the rules say, to the Service it serves. Pure.
 *
 * Rules are compared in iptables-save's canonical form: both sides go
 * through the iptables parser and serialiser, which normalise as the kernel
 * and iptables-save do, so kube-proxy's restore spelling and the node's
 * saved spelling of one rule are one line. Learned state is not drift and is
 * left out: dynamic neighbour entries, bridge-learned FDB entries, conntrack.
 */
import type { Diagnostic } from '../diag.js';
import { parseIpsetSave } from '../iptables/ipset.js';
import { parseIptablesSave } from '../iptables/parse.js';
import { serializeRuleset } from '../iptables/serialize.js';
import { formatRoute, type Route } from '../kernel/fib.js';
import type { Host } from '../kernel/host.js';
import { vxlanFdbLines } from '../kernel/vxlan.js';
import type { Twin } from '../twin/index.js';
import { primaryIptables, type Bundle } from './bundle.js';
import { parseFdbJson, parseNeighJson, readBundleRoutes } from './ip-json.js';

export type Owner =
  | 'kube-proxy'
  | 'kubelet'
  | 'flannel'
  | 'calico'
  | 'kube-router'
  | 'docker'
  | 'portmap'
  | 'cni-bridge'
  | 'ip-masq-agent'
  | 'kernel'
  | 'unknown';

export type DriftKind = 'rule' | 'chain' | 'route' | 'neigh' | 'fdb' | 'ipset' | 'ipset-entry';

export interface DriftItem {
  readonly kind: DriftKind;
  /** missing: the twin has it, the node does not; extra: the node has it, the twin does not. */
  readonly change: 'missing' | 'extra';
  /** The line as the tool prints it (`-A CHAIN …`, `ip route`, `ip neigh`, `bridge fdb`, `ipset save`). */
  readonly text: string;
  readonly table?: string;
  readonly chain?: string;
  readonly owner: Owner;
  /** The Service (or pod, node) it serves, when the rule or route says. */
  readonly serves?: string;
}

export interface NodeDrift {
  readonly node: string;
  readonly items: readonly DriftItem[];
  /** What was not compared, and why. */
  readonly notes: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

const CHAIN_OWNERS: readonly [RegExp, Owner][] = [
  [/^KUBE-(ROUTER|NWPLCY|POD-FW|SRC)-?/, 'kube-router'],
  [/^KUBE-(FIREWALL|KUBELET-CANARY)$/, 'kubelet'],
  [/^KUBE-/, 'kube-proxy'],
  [/^FLANNEL-/, 'flannel'],
  [/^cali-/, 'calico'],
  [/^DOCKER/, 'docker'],
  [/^CNI-(HOSTPORT|DN-)/, 'portmap'],
  [/^CNI-/, 'cni-bridge'],
  [/^IP-MASQ/, 'ip-masq-agent'],
];

const COMMENT_OWNERS: readonly [RegExp, Owner][] = [
  [/^cali:/, 'calico'],
  [/flanneld masq|flannel forward/, 'flannel'],
  [/CNI portfwd|dnat name:/, 'portmap'],
  [/^name: ".*" id: "/, 'cni-bridge'],
  [/ip-masq-agent/, 'ip-masq-agent'],
  [/kube-router|netpol/, 'kube-router'],
  [/^kubernetes |^[\w-]+\/[\w.-]+(:[\w-]+)?( |$)/, 'kube-proxy'],
];

export function chainOwner(chain: string): Owner | undefined {
  return CHAIN_OWNERS.find(([re]) => re.test(chain))?.[1];
}

function commentOf(spec: string): string | undefined {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(spec);
  return m ? (m[1] ?? m[2]) : undefined;
}

function jumpOf(spec: string): string | undefined {
  return /(?:^| )-[jg] (\S+)/.exec(spec)?.[1];
}

/** Who wrote a rule: its chain's owner, else its jump target's, else its comment's. */
export function ruleOwner(chain: string, spec: string): Owner {
  const byChain = chainOwner(chain);
  if (byChain) return byChain;
  const j = jumpOf(spec);
  const byJump = j !== undefined ? chainOwner(j) : undefined;
  if (byJump) return byJump;
  const c = commentOf(spec);
  if (c !== undefined) {
    const byComment = COMMENT_OWNERS.find(([re]) => re.test(c))?.[1];
    if (byComment) return byComment;
  }
  return 'unknown';
}

/** kube-proxy's comments name the Service port: `ns/name:port` (+ ` cluster IP`, ` external IP`, …). */
export function serviceOf(spec: string): string | undefined {
  const c = commentOf(spec);
  const m = c !== undefined ? /^([a-z0-9-]+\/[a-z0-9.-]+(?::[\w-]+)?)(?: |$)/.exec(c) : null;
  return m ? `Service ${m[1]}` : undefined;
}

interface RuleLine {
  readonly table: string;
  readonly chain: string;
  readonly text: string;
}

/** The canonical `-A` lines and chains of an iptables-save text. */
function canonicalRules(
  text: string,
  file: string,
): { rules: RuleLine[]; chains: { table: string; chain: string }[]; diagnostics: Diagnostic[] } {
  const parsed = parseIptablesSave(text, file);
  const saved = serializeRuleset(parsed.ruleset);
  const rules: RuleLine[] = [];
  const chains: { table: string; chain: string }[] = [];
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) chains.push({ table, chain: line.slice(1).split(' ')[0]! });
    else if (line.startsWith('-A ')) rules.push({ table, chain: line.split(' ')[1]!, text: line });
  }
  return { rules, chains, diagnostics: parsed.diagnostics };
}

/** Multiset difference: items of `a` not matched by one of `b`, by key. */
function minus<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): T[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(key(x), (left.get(key(x)) ?? 0) + 1);
  const out: T[] = [];
  for (const x of a) {
    const k = key(x);
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    else out.push(x);
  }
  return out;
}

function compareIptables(
  twinText: string,
  nodeText: string,
  file: string,
  out: DriftItem[],
  diags: Diagnostic[],
): void {
  const twin = canonicalRules(twinText, 'twin');
  const node = canonicalRules(nodeText, file);
  diags.push(...node.diagnostics);
  // What each chain serves, from either side's comments (a leftover chain's rules name its Service).
  const serves = new Map<string, string>();
  for (const r of [...twin.rules, ...node.rules]) {
    const s = serviceOf(r.text);
    if (s && !serves.has(`${r.table} ${r.chain}`)) serves.set(`${r.table} ${r.chain}`, s);
  }
  const ruleKey = (r: RuleLine) => `${r.table} ${r.text}`;
  const item = (change: 'missing' | 'extra', r: RuleLine): DriftItem => {
    const spec = r.text.slice(`-A ${r.chain} `.length);
    const s =
      serviceOf(r.text) ??
      serves.get(`${r.table} ${r.chain}`) ??
      (jumpOf(spec) ? serves.get(`${r.table} ${jumpOf(spec)}`) : undefined);
    return {
      kind: 'rule',
      change,
      table: r.table,
      chain: r.chain,
      text: r.text,
      owner: ruleOwner(r.chain, spec),
      ...(s ? { serves: s } : {}),
    };
  };
  const chainKey = (c: { table: string; chain: string }) => `${c.table} ${c.chain}`;
  const chainItem = (
    change: 'missing' | 'extra',
    c: { table: string; chain: string },
  ): DriftItem => {
    const s = serves.get(chainKey(c));
    return {
      kind: 'chain',
      change,
      table: c.table,
      chain: c.chain,
      text: `:${c.chain}`,
      owner: chainOwner(c.chain) ?? 'unknown',
      ...(s ? { serves: s } : {}),
    };
  };
  for (const c of minus(twin.chains, node.chains, chainKey)) out.push(chainItem('missing', c));
  for (const c of minus(node.chains, twin.chains, chainKey)) out.push(chainItem('extra', c));
  for (const r of minus(twin.rules, node.rules, ruleKey)) out.push(item('missing', r));
  for (const r of minus(node.rules, twin.rules, ruleKey)) out.push(item('extra', r));
}

const DEV_OWNERS: readonly [RegExp, Owner][] = [
  [/^(flannel\.|cni0$|flannel-)/, 'flannel'],
  [/^(cali|tunl0$|vxlan\.calico$|wireguard\.cali$)/, 'calico'],
  [/^kube-(bridge|dummy-if)$/, 'kube-router'],
  [/^(docker0|br-[0-9a-f]{12})$/, 'docker'],
];

function devOwner(dev: string | undefined): Owner | undefined {
  return dev !== undefined ? DEV_OWNERS.find(([re]) => re.test(dev))?.[1] : undefined;
}

function routeOwner(r: Route, ctx: DriftContext): Owner {
  if (r.proto === 'bird') return 'calico';
  const byDev = devOwner(r.dev);
  if (byDev) return byDev;
  if (r.proto === 'kernel') return 'kernel';
  return ctx.nodeByCidr.has(`${r.dst.network}/${r.dst.prefix}`) ? ctx.podRoutes : 'unknown';
}

/** The routes of the twin's host outside the local table (derived from addresses, compared as addresses). */
function hostRoutes(h: Host): Route[] {
  return [...h.tables].filter(([id]) => id !== 255).flatMap(([, t]) => t.list());
}

function routeKey(r: Route): string {
  return `${r.table} ${r.type} ${r.dst.network}/${r.dst.prefix} ${r.via ?? ''} ${r.dev ?? ''} ${r.metric} ${r.tos}`;
}

export interface DriftContext {
  /** Pod IP → `Pod ns/name`, podCIDR → `Node name podCIDR`: what a route serves. */
  readonly podByIp: ReadonlyMap<string, string>;
  readonly nodeByCidr: ReadonlyMap<string, string>;
  /** Services in the cluster (`ns/name`): a rule for another one is for a deleted Service. */
  readonly services: ReadonlySet<string>;
  /** Who routes to other nodes' podCIDRs on a node: the cluster's CNI, when it does. */
  readonly podRoutes: Owner;
}

export function driftContext(twin: Twin): DriftContext {
  const podByIp = new Map<string, string>();
  for (const p of twin.pods.values()) if (!p.hostNetwork && p.ip) podByIp.set(p.ip, `Pod ${p.key}`);
  const nodeByCidr = new Map<string, string>();
  for (const n of twin.model.nodes.values())
    for (const c of n.spec.podCIDRs ?? (n.spec.podCIDR ? [n.spec.podCIDR] : []))
      nodeByCidr.set(c, `Node ${n.metadata.name} podCIDR`);
  const services = new Set<string>();
  for (const s of twin.model.services.values())
    services.add(`${s.metadata.namespace ?? 'default'}/${s.metadata.name}`);
  const cni: string = twin.model.cluster.cni.plugin;
  const podRoutes: Owner =
    cni === 'flannel' || cni === 'calico' || cni === 'kube-router' ? cni : 'unknown';
  return { podByIp, nodeByCidr, services, podRoutes };
}

function routeServes(r: Route, ctx: DriftContext): string | undefined {
  const dst = `${r.dst.network}/${r.dst.prefix}`;
  if (r.dst.prefix === 32) return ctx.podByIp.get(r.dst.network);
  return ctx.nodeByCidr.get(dst);
}

/** Compares one node of the twin with its bundle. */
export function driftNode(twin: Twin, node: string, b: Bundle, dir: string): NodeDrift {
  const items: DriftItem[] = [];
  const notes: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const ctx = driftContext(twin);
  const h = twin.host(node);
  const at = (f: string) => `${dir}/${f}`;

  const ipt = primaryIptables(b);
  const rules = twin.nodeRules.get(node);
  if (ipt === undefined)
    notes.push('iptables: the bundle holds no iptables-save output; not compared');
  else compareIptables(rules?.text ?? '', ipt.text, at(ipt.file), items, diagnostics);
  if (b.manifest.spec.iptablesMode === 'both')
    notes.push(`iptables: both back ends hold rules; compared ${ipt?.file}`);

  const real = readBundleRoutes(b.files, dir);
  diagnostics.push(...real.diagnostics);
  if (real.routes === undefined) notes.push('routes: no ip-route.json; not compared');
  else {
    const nodeRoutes = real.routes.filter((r) => r.table !== 255);
    const twinRoutes = hostRoutes(h);
    const add = (change: 'missing' | 'extra', r: Route) => {
      const s = routeServes(r, ctx);
      items.push({
        kind: 'route',
        change,
        text: formatRoute(r).trim(),
        owner: routeOwner(r, ctx),
        ...(s ? { serves: s } : {}),
      });
    };
    for (const r of minus(twinRoutes, nodeRoutes, routeKey)) add('missing', r);
    for (const r of minus(nodeRoutes, twinRoutes, routeKey)) add('extra', r);
  }

  const nj = b.files.get('ip-neigh.json');
  if (nj === undefined) notes.push('neighbours: no ip-neigh.json; not compared');
  else {
    const real = parseNeighJson(nj, at('ip-neigh.json'));
    diagnostics.push(...real.diagnostics);
    const line = (e: { dst: string; dev: string; lladdr?: string }) =>
      `${e.dst} dev ${e.dev}${e.lladdr ? ` lladdr ${e.lladdr}` : ''} PERMANENT`;
    const nodeSide = real.entries.filter((e) => e.state.includes('PERMANENT')).map(line);
    const twinSide = h.neigh
      .list()
      .filter((e) => e.state === 'PERMANENT')
      .map((e) => line({ dst: e.ip, dev: e.dev, ...(e.mac ? { lladdr: e.mac } : {}) }));
    const devOf = (l: string) => l.split(' ')[2];
    for (const l of minus(twinSide, nodeSide, (x) => x))
      items.push({
        kind: 'neigh',
        change: 'missing',
        text: l,
        owner: devOwner(devOf(l)) ?? 'unknown',
      });
    for (const l of minus(nodeSide, twinSide, (x) => x))
      items.push({
        kind: 'neigh',
        change: 'extra',
        text: l,
        owner: devOwner(devOf(l)) ?? 'unknown',
      });
    notes.push('neighbours: permanent entries compared; learned ones are not drift');
  }

  const fj = b.files.get('bridge-fdb.json');
  if (fj === undefined) notes.push('fdb: no bridge-fdb.json; not compared');
  else {
    const real = parseFdbJson(fj, at('bridge-fdb.json'));
    diagnostics.push(...real.diagnostics);
    const line = (mac: string, dev: string, dst: string) =>
      `${mac} dev ${dev} dst ${dst} self permanent`;
    const nodeSide = real.entries
      .filter((e) => e.dst !== undefined)
      .map((e) => line(e.mac, e.dev, e.dst!));
    const twinSide = h
      .linkList()
      .flatMap((l) => vxlanFdbLines(l))
      .map((l) => l.split(' '))
      .map((w) => line(w[0]!, w[2]!, w[4]!));
    const devOf = (l: string) => l.split(' ')[2];
    for (const l of minus(twinSide, nodeSide, (x) => x))
      items.push({
        kind: 'fdb',
        change: 'missing',
        text: l,
        owner: devOwner(devOf(l)) ?? 'unknown',
      });
    for (const l of minus(nodeSide, twinSide, (x) => x))
      items.push({ kind: 'fdb', change: 'extra', text: l, owner: devOwner(devOf(l)) ?? 'unknown' });
    notes.push('fdb: tunnel entries (with dst) compared; learned and local ones are not drift');
  }

  const is = b.files.get('ipset.save');
  if (is === undefined) notes.push('ipsets: no ipset.save; not compared');
  else {
    const real = parseIpsetSave(is, at('ipset.save'));
    diagnostics.push(...real.diagnostics);
    const mine = parseIpsetSave(rules?.ipsetSave ?? '', 'twin');
    const owner = (name: string): Owner =>
      /^cali/.test(name) ? 'calico' : /^KUBE-/.test(name) ? 'kube-proxy' : 'unknown';
    // Members as `ipset save` prints them (`add SET ELEMENT [options]`), one line each.
    const entries = (text: string) =>
      text
        .split('\n')
        .map((l) => l.trim().split(/\s+/).join(' '))
        .filter((l) => l.startsWith('add '));
    const names = (sets: typeof real.sets) => [...sets.keys()];
    for (const n of minus(names(mine.sets), names(real.sets), (x) => x))
      items.push({ kind: 'ipset', change: 'missing', text: `create ${n}`, owner: owner(n) });
    for (const n of minus(names(real.sets), names(mine.sets), (x) => x))
      items.push({ kind: 'ipset', change: 'extra', text: `create ${n}`, owner: owner(n) });
    const both = new Set(names(mine.sets).filter((n) => real.sets.has(n)));
    const inBoth = (l: string) => both.has(l.split(' ')[1]!);
    for (const l of minus(
      entries(rules?.ipsetSave ?? '').filter(inBoth),
      entries(is).filter(inBoth),
      (x) => x,
    ))
      items.push({
        kind: 'ipset-entry',
        change: 'missing',
        text: l,
        owner: owner(l.split(' ')[1]!),
      });
    for (const l of minus(
      entries(is).filter(inBoth),
      entries(rules?.ipsetSave ?? '').filter(inBoth),
      (x) => x,
    ))
      items.push({ kind: 'ipset-entry', change: 'extra', text: l, owner: owner(l.split(' ')[1]!) });
  }

  // A Service rule for a Service the cluster does not have: a stale leftover.
  const stale = items.map((i) => {
    const m = i.serves !== undefined ? /^Service ([^:]+)/.exec(i.serves) : null;
    return m && !ctx.services.has(m[1]!) ? { ...i, serves: `${i.serves} (not in the cluster)` } : i;
  });
  return { node, items: stale, notes, diagnostics };
}
