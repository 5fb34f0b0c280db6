/**
 * What kube-proxy's syncs on the nodes of one cluster have in common,
 * computed once and shared (the nodes' kube-proxies all read the same
 * Services and EndpointSlices):
 *
 * - the service port map (`buildServicePortMap`: each port's settings and
 *   chain names, each endpoint's address and KUBE-SEP- chain name, sha256
 *   hashed) — per node only the ports whose rules read the node (below) are
 *   read again, with the node's name making its endpoints local;
 * - each service port's rules (`SyncFragment`: the lines and their parsed
 *   forms the sync writes for it), per set of proxier settings — a port whose
 *   rules do not read the node is written once for every node with the same
 *   settings.
 *
 * A port's rules read the node when they read which endpoints are on it
 * (internal or external traffic policy Local: `categorizeEndpoints`; or one
 * address listed twice, where the local copy wins), its zone (a topology
 * annotation) or its IP (`loadBalancerSourceRanges` that may hold it). Those
 * ports are written per node. `share.test.ts` holds a shared sync equal to a
 * fresh one, node by node.
 */
import { InternalError, type Diagnostic } from '../diag.js';
import type { BlockMemo } from '../iptables/block.js';
import type { BlockFacts, Place } from '../iptables/validate.js';
import type { EndpointSlice, Service } from '../k8s/types.js';
import {
  buildServicePortMap,
  usesLocalEndpoints,
  type BuildOptions,
  type ServicePortInfo,
  type ServicePortMap,
} from './endpoints.js';
import { groupFragment, LineChain, sortChains } from './dump.js';
import type { PortChains } from './port-plan.js';
import { LineBuffer, type ProxierSettings } from './proxier.js';
import { RuleBodies } from './rule-body.js';

/** Chains written whole (`SyncFragment.grouped`), sorted as the dump sorts chains, and their names. */
export interface WholeChains {
  readonly chains: readonly LineChain[];
  readonly names: ReadonlySet<string>;
  /** Where the dumps' reader keeps its reading of them (iptables/block.ts). */
  readonly memo: BlockMemo;
  /**
   * What the commit checks read of them, as every port declared it (port-plan.ts): the run is
   * then placed without its chains being read; absent where some port did not.
   */
  readonly facts?: BlockFacts;
}
const NO_CHAINS: WholeChains = { chains: [], names: new Set(), memo: {} };

/** The lines one service port's rules add to the sync's buffers. */
export interface SyncFragment {
  readonly filterRules: LineBuffer;
  readonly natChains: LineBuffer;
  readonly natRules: LineBuffer;
  /**
   * A shared fragment's nat lines grouped (`groupFragment`): its own chains
   * whole, kept in the share's sorted list of them (`sharedChains`), and its
   * lines for the others, appended to each sync.
   */
  readonly grouped?: {
    readonly chains: readonly LineChain[];
    readonly others: LineBuffer;
    /** The chains' facts, where they were counted before being written (port-plan.ts). */
    readonly facts?: BlockFacts;
  };
}

/**
 * A sync's walk over the ports once their shared fragments are kept: a port
 * key (its rules read the node: written per node), or the lines of a run of
 * shared ports, whose own chains come whole (`sharedChains`).
 */
export type SyncSteps = readonly (string | SyncFragment)[];

/** A fragment's facts where it has chains but declared none. */
const NO_FACTS: BlockFacts = { external: [], height: -1, places: [] };

/**
 * The facts of a run of the ports' chains (`names`), each port's declared:
 * undefined where a port declared none, or jumps to another's chain (then
 * the run is read to work them out).
 */
function runFacts(
  ports: readonly BlockFacts[],
  names: ReadonlySet<string>,
): BlockFacts | undefined {
  const external = new Set<string>();
  const places = new Set<Place>();
  let height = 0;
  for (const f of ports) {
    if (f === NO_FACTS) return undefined;
    for (const e of f.external) {
      if (names.has(e)) return undefined;
      external.add(e);
    }
    for (const p of f.places) places.add(p);
    if (f.height > height) height = f.height;
  }
  return { external: [...external], height, places: [...places] };
}

/**
 * A port's own chains as counted (`PortChains`), each written when one of
 * them is first read: the port's lines written again (`write`), grouped, and
 * each chain given its own.
 */
function laterChains(
  counted: PortChains,
  others: LineBuffer,
  write: (f: SyncFragment) => void,
): NonNullable<SyncFragment['grouped']> {
  const fill = (): void => {
    const f = {
      filterRules: new LineBuffer(),
      natChains: new LineBuffer(),
      natRules: new LineBuffer(),
    };
    write(f);
    const g = groupFragment(f.natChains, f.natRules);
    const written = g?.chains ?? [];
    if (written.length !== chains.length)
      throw new InternalError(
        `kube-proxy port ${chains[0]?.name}: ${written.length} chains written, ${chains.length} counted`,
      );
    chains.forEach((c, i) => {
      const w = written[i];
      if (w?.name !== c.name)
        throw new InternalError(`kube-proxy chain ${c.name}: written as ${w?.name ?? 'nothing'}`);
      c.hold(w.lines);
    });
  };
  const chains = counted.chains.map((c) => new LineChain(c.name, '-', {}, c.count, fill));
  return { chains, others, facts: counted.facts };
}

interface BasePortMap {
  readonly map: ServicePortMap;
  readonly diagnostics: readonly Diagnostic[];
  /** Port keys whose rules read the node. */
  readonly nodeReading: ReadonlySet<string>;
  /** The Services and EndpointSlices of those ports, read again per node. */
  readonly services: readonly Service[];
  readonly slices: readonly EndpointSlice[];
}

const svcKey = (ns: string | undefined, name: string) => `${ns ?? 'default'}/${name}`;

/** Services (`ns/name`) whose slices list one address twice: which copy wins depends on the node. */
export function servicesWithRepeats(slices: readonly EndpointSlice[]): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, Set<string>>();
  for (const sl of slices) {
    const name = sl.metadata.labels?.['kubernetes.io/service-name'];
    if (name === undefined) continue;
    const key = svcKey(sl.metadata.namespace, name);
    let addrs = seen.get(key);
    if (!addrs) seen.set(key, (addrs = new Set()));
    for (const ep of sl.endpoints ?? [])
      for (const a of ep.addresses ?? []) {
        if (addrs.has(a)) out.add(key);
        addrs.add(a);
      }
  }
  return out;
}

/** Whether a port's rules read the node (its local endpoints, its zone, its IP). */
function readsNode(p: ServicePortInfo, repeats: ReadonlySet<string>): boolean {
  return (
    usesLocalEndpoints(p) ||
    p.hintsAnnotation !== '' ||
    p.loadBalancerSourceRanges.length > 0 ||
    repeats.has(`${p.namespace}/${p.name}`)
  );
}

/** How many sets of proxier settings keep their ports' rules (most clusters have one). */
const MAX_SETTINGS = 4;

/** One cluster's Services and EndpointSlices as kube-proxy on each of its nodes reads them. */
export class ProxyShare {
  private readonly bases = new Map<string, BasePortMap>();
  private readonly fragments = new Map<string, Map<string, SyncFragment>>();
  private readonly bodies = new Map<boolean, RuleBodies>();

  constructor(
    readonly services: readonly Service[],
    readonly endpointSlices: readonly EndpointSlice[],
  ) {}

  /** `buildServicePortMap` for `opts.nodeName`: the shared map, its node-reading ports read for this node. */
  portMap(opts: BuildOptions, diagnostics: Diagnostic[]): ServicePortMap {
    const key = `${opts.family}|${opts.honourIpMode}`;
    let base = this.bases.get(key);
    if (!base) {
      const diags: Diagnostic[] = [];
      const map = buildServicePortMap(this.services, this.endpointSlices, opts, diags);
      const repeats = servicesWithRepeats(this.endpointSlices);
      const nodeReading = new Set<string>();
      const names = new Set<string>();
      for (const [k, p] of map.ports)
        if (readsNode(p, repeats)) {
          nodeReading.add(k);
          names.add(`${p.namespace}/${p.name}`);
        }
      base = {
        map,
        diagnostics: diags,
        nodeReading,
        services: this.services.filter((s) =>
          names.has(svcKey(s.metadata.namespace, s.metadata.name)),
        ),
        slices: this.endpointSlices.filter((sl) => {
          const n = sl.metadata.labels?.['kubernetes.io/service-name'];
          return n !== undefined && names.has(svcKey(sl.metadata.namespace, n));
        }),
      };
      this.bases.set(key, base);
      diagnostics.push(...diags);
      return map;
    }
    diagnostics.push(...base.diagnostics);
    if (base.nodeReading.size === 0) return base.map;
    // The node-reading ports, read again with this node's name (their diagnostics are the base's).
    const mine = buildServicePortMap(base.services, base.slices, opts, []);
    const endpoints = new Map(base.map.endpoints);
    let total = this.endpointCount(base.map);
    for (const k of base.nodeReading) {
      const eps = mine.endpoints.get(k);
      total += (eps?.length ?? 0) - (base.map.endpoints.get(k)?.length ?? 0);
      if (eps) endpoints.set(k, eps);
      else endpoints.delete(k);
    }
    this.counts.set(endpoints, total);
    return { ports: base.map.ports, endpoints };
  }

  private readonly counts = new WeakMap<ServicePortMap['endpoints'], number>();

  /** How many endpoints a port map's ports have in all (kube-proxy's largeClusterMode reads it). */
  endpointCount(map: ServicePortMap): number {
    let n = this.counts.get(map.endpoints);
    if (n === undefined) {
      n = 0;
      for (const key of map.ports.keys()) n += map.endpoints.get(key)?.length ?? 0;
      this.counts.set(map.endpoints, n);
    }
    return n;
  }

  private readonly sorted = new WeakMap<ServicePortMap['ports'], readonly string[]>();

  /** The port map's keys in name order (the order the sync writes the ports). */
  sortedKeys(ports: ServicePortMap['ports']): readonly string[] {
    let keys = this.sorted.get(ports);
    if (!keys) this.sorted.set(ports, (keys = [...ports.keys()].sort()));
    return keys;
  }

  /** The parsed-form builder of one family, shared by every sync. */
  ruleBodies(ipv4: boolean): RuleBodies {
    let b = this.bodies.get(ipv4);
    if (!b) this.bodies.set(ipv4, (b = new RuleBodies(ipv4)));
    return b;
  }

  /**
   * The lines a service port adds, written by `write` the first time a sync
   * with these settings asks, and shared after; ports that read the node are
   * written every time.
   */
  fragment(
    settings: string,
    portKey: string,
    port: ServicePortInfo,
    write: (f: SyncFragment) => void,
    writeOthers?: (f: SyncFragment) => PortChains | undefined,
  ): SyncFragment {
    const base = this.bases.get(settings.slice(0, settings.indexOf('\n')));
    const shared =
      base !== undefined && !base.nodeReading.has(portKey) && base.map.ports.get(portKey) === port;
    let memo = shared ? this.fragments.get(settings) : undefined;
    // Settings of the node's own (a NodeCIDR detector): past a few, nothing more is kept.
    if (shared && !memo && this.fragments.size < MAX_SETTINGS)
      this.fragments.set(settings, (memo = new Map()));
    let f = memo?.get(portKey);
    if (f) return f;
    f = { filterRules: new LineBuffer(), natChains: new LineBuffer(), natRules: new LineBuffer() };
    // Kept: its own chains counted, written when first read.
    const counted = memo && writeOthers?.(f);
    if (counted) {
      f = { ...f, grouped: laterChains(counted, f.natRules, write) };
      memo!.set(portKey, f);
      return f;
    }
    write(f);
    if (!memo) return f;
    const g = groupFragment(f.natChains, f.natRules);
    if (g) {
      const others = new LineBuffer();
      for (const l of g.others) others.push(l);
      f = { ...f, grouped: { chains: g.chains, others } };
    }
    memo.set(portKey, f);
    return f;
  }

  private readonly runs = new Map<string, { ports: ServicePortMap['ports']; steps: SyncSteps }>();

  /**
   * The sync's walk over the ports in name order for these settings, once
   * every shared port's fragment is kept: each run of consecutive shared
   * ports as one step (their lines appended by reference, in order), the
   * node-reading ports by key. Undefined until then (the first sync with
   * these settings writes every fragment).
   */
  syncSteps(settings: string, ports: ServicePortMap['ports']): SyncSteps | undefined {
    const cached = this.runs.get(settings);
    if (cached?.ports === ports) return cached.steps;
    const base = this.bases.get(settings.slice(0, settings.indexOf('\n')));
    const memo = this.fragments.get(settings);
    if (!base || base.map.ports !== ports || !memo) return undefined;
    if (memo.size !== ports.size - base.nodeReading.size) return undefined;
    const steps: (string | SyncFragment)[] = [];
    let run: { filterRules: LineBuffer; natChains: LineBuffer; natRules: LineBuffer } | undefined;
    for (const key of this.sortedKeys(ports)) {
      const f = base.nodeReading.has(key) ? undefined : memo.get(key);
      if (!f) {
        steps.push(key);
        run = undefined;
        continue;
      }
      if (!run) {
        run = {
          filterRules: new LineBuffer(),
          natChains: new LineBuffer(),
          natRules: new LineBuffer(),
        };
        steps.push(run);
      }
      run.filterRules.append(f.filterRules);
      if (f.grouped) run.natRules.append(f.grouped.others);
      else {
        run.natChains.append(f.natChains);
        run.natRules.append(f.natRules);
      }
    }
    this.runs.set(settings, { ports, steps });
    return steps;
  }

  private readonly chainLists = new Map<string, WholeChains & { of: number }>();

  /**
   * The chains of the shared fragments of these settings, whole, in the order
   * the dump sort puts them (`sortChains`), worked out once (after the first
   * sync with these settings has written every fragment).
   */
  sharedChains(settings: string): WholeChains {
    const memo = this.fragments.get(settings);
    if (!memo) return NO_CHAINS;
    let list = this.chainLists.get(settings);
    if (!list || list.of !== memo.size) {
      const chains: LineChain[] = [];
      const counted: BlockFacts[] = [];
      for (const f of memo.values()) {
        if (!f.grouped) continue;
        for (const c of f.grouped.chains) chains.push(c);
        if (f.grouped.chains.length > 0) counted.push(f.grouped.facts ?? NO_FACTS);
      }
      sortChains(chains);
      const names = new Set(chains.map((c) => c.name));
      const facts = runFacts(counted, names);
      list = { of: memo.size, chains, names, memo: {}, ...(facts ? { facts } : {}) };
      this.chainLists.set(settings, list);
    }
    return list;
  }
}

/**
 * What a service port's rules read of the proxier's settings, as a key (its
 * first line names the port map: family and ipMode); `commented` is whether
 * the cluster is small enough for endpoint comments.
 */
export function settingsKey(s: ProxierSettings, honourIpMode: boolean, commented: boolean): string {
  return `${s.family}|${honourIpMode}\n${JSON.stringify([
    s.detector ?? null,
    s.masqueradeAll,
    s.nfacct,
    s.localhostNodePorts,
    [...s.noExternalMasquerade].sort(),
    commented,
  ])}`;
}
