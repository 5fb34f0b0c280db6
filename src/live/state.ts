/**
 * The twin as a node really is: a collected bundle (live/bundle.ts) read
 * with the loaders dumps go through — iptables-save with the iptables
 * parser, `ipset save` with the IP set reader, `ip -j route` with the kernel
 * model's route reader, `nft list ruleset` with the nftables reader — and put in place of what the twin generated for
 * that node: its netfilter rules and IP sets, and its routing tables.
 * Constructs the model does not support are diagnostics, as for dumps.
 * Addresses, links, neighbours and FDB entries stay the twin's (drift
 * compares them).
 */
import type { Diagnostic } from '../diag.js';
import { parseIpsetSave } from '../iptables/ipset.js';
import { iptablesNftTables, parseNft } from '../iptables/nft/parse.js';
import { parseIptablesSave } from '../iptables/parse.js';
import type { NftRuleset } from '../kernel/netfilter/nft-types.js';
import type { PolicyRule, Route } from '../kernel/fib.js';
import type { Host } from '../kernel/host.js';
import type { IpSets } from '../kernel/netfilter/ipset.js';
import { compileRuleset, type CompiledRuleset, type Ruleset } from '../kernel/netfilter/index.js';
import { installIptables } from '../kernel/netfilter/install.js';
import type { NodeRules, Twin, TwinPlan } from '../twin/index.js';
import { parseManifest, primaryIptables, MANIFEST, type Bundle } from './bundle.js';
import { readBundleRoutes } from './ip-json.js';

/** A bundle as read from its directory. */
export interface NodeStateDir {
  readonly dir: string;
  readonly bundle: Bundle;
}

/** The bundle from its directory's files (name → text); problems name the directory and file. */
export function readBundle(
  dir: string,
  files: ReadonlyMap<string, string>,
): { bundle?: Bundle; diagnostics: Diagnostic[] } {
  const text = files.get(MANIFEST);
  if (text === undefined)
    return {
      diagnostics: [
        {
          code: 'node-state-no-manifest',
          severity: 'error',
          message: `no ${MANIFEST}: not a bundle packeteye node collect wrote`,
          file: dir,
          hint: 'collect one with packeteye node collect -o DIR (on the node, as root) or kubectl packeteye node collect NODE',
        },
      ],
    };
  const m = parseManifest(text);
  if (!m.manifest)
    return {
      diagnostics: [
        {
          code: 'node-state-manifest',
          severity: 'error',
          message: m.problem!,
          file: `${dir}/${MANIFEST}`,
        },
      ],
    };
  const rest = new Map([...files].filter(([k]) => k !== MANIFEST));
  return { bundle: { manifest: m.manifest, files: rest }, diagnostics: [] };
}

/** What a bundle puts in place of the twin's state for its node, parsed once. */
export interface LoadedState {
  readonly node: string;
  readonly dir: string;
  readonly iptables?: { file: string; text: string; ruleset: Ruleset; compiled: CompiledRuleset };
  readonly ipsetSave: string;
  readonly ipsets: IpSets;
  readonly routes?: readonly Route[];
  /** `ip -j rule show`: the policy rules, replacing the kernel's defaults. */
  readonly rules?: readonly PolicyRule[];
  readonly diagnostics: readonly Diagnostic[];
}

export function loadState(node: string, s: NodeStateDir): LoadedState {
  const diagnostics: Diagnostic[] = [];
  const at = (f: string) => `${s.dir}/${f}`;
  const ipt = primaryIptables(s.bundle);
  const nft = readNftRuleset(s, ipt !== undefined, diagnostics);
  let iptables: LoadedState['iptables'];
  if (ipt === undefined && nft === undefined) {
    diagnostics.push({
      code: 'node-state-no-iptables',
      severity: 'warning',
      message: `the bundle holds no iptables-save output: ${node} keeps the twin's rules`,
      file: s.dir,
    });
  } else if (ipt === undefined) {
    // Native nftables only: the host's netfilter is its nft tables.
    const ruleset: Ruleset = { tables: new Map() };
    iptables = { file: NFT_FILE, text: '', ruleset, compiled: compileRuleset(ruleset, nft) };
  } else {
    const parsed = parseIptablesSave(ipt.text, at(ipt.file));
    diagnostics.push(...parsed.diagnostics);
    iptables = { ...ipt, ruleset: parsed.ruleset, compiled: compileRuleset(parsed.ruleset, nft) };
  }
  for (const w of s.bundle.manifest.spec.warnings)
    diagnostics.push({
      code: 'node-state-collect',
      severity: 'warning',
      message: w,
      file: at(MANIFEST),
    });
  const ipsetSave = s.bundle.files.get('ipset.save') ?? '';
  const sets = parseIpsetSave(ipsetSave, at('ipset.save'));
  diagnostics.push(...sets.diagnostics);
  const ip = readBundleRoutes(s.bundle.files, s.dir);
  diagnostics.push(...ip.diagnostics);
  const routes = ip.routes;
  const rules = ip.rules;
  return {
    node,
    dir: s.dir,
    ...(iptables ? { iptables } : {}),
    ipsetSave,
    ipsets: sets.sets,
    ...(routes ? { routes } : {}),
    ...(rules ? { rules } : {}),
    diagnostics,
  };
}

const NFT_FILE = 'nft.ruleset';

/**
 * The bundle's `nft list ruleset`, read by the nftables reader; the tables
 * iptables-nft manages are left out when the bundle's iptables-save holds
 * them. A listing that cannot be read leaves nftables out, with warnings
 * (the node still runs on its iptables rules).
 */
function readNftRuleset(
  s: NodeStateDir,
  haveIptables: boolean,
  diagnostics: Diagnostic[],
): NftRuleset | undefined {
  const text = s.bundle.files.get(NFT_FILE);
  if (text === undefined || text.trim() === '') return undefined;
  const parsed = parseNft(text, `${s.dir}/${NFT_FILE}`);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    diagnostics.push(
      ...errors.map((d) => ({
        ...d,
        severity: 'warning' as const,
        code: 'node-state-nft-unread',
        message: `${d.message}: the node's nftables tables are left out`,
      })),
    );
    return undefined;
  }
  diagnostics.push(...parsed.diagnostics);
  const managed = haveIptables ? iptablesNftTables(text, parsed.ruleset) : new Set<string>();
  const tables = parsed.ruleset.tables.filter((t) => !managed.has(`${t.family} ${t.name}`));
  return tables.length > 0 ? { tables } : undefined;
}

/** Replaces the host's routing tables (all but the kernel's local table) with the bundle's routes. */
function installRoutes(h: Host, st: LoadedState, diagnostics: Diagnostic[]): void {
  if (st.routes === undefined) return;
  const unknownDevs = new Map<string, number>();
  const keep = st.routes.filter((r) => {
    if (r.dev !== undefined && h.getLink(r.dev) === undefined) {
      unknownDevs.set(r.dev, (unknownDevs.get(r.dev) ?? 0) + 1);
      return false;
    }
    return true;
  });
  for (const [id, t] of h.tables) if (id !== 255) t.removeWhere(() => true);
  if (st.rules !== undefined) h.rules = [...st.rules];
  for (const r of keep) {
    if (r.table === 255) continue;
    h.table(r.table).insert({ ...r, seq: h.nextRouteSeq() });
  }
  for (const [dev, n] of unknownDevs)
    diagnostics.push({
      code: 'node-state-unknown-device',
      severity: 'warning',
      message: `${n} route${n === 1 ? '' : 's'} via device ${dev}, which the twin's ${st.node} does not have: left out`,
      file: `${st.dir}/ip-route.json`,
      hint: 'the twin builds the devices its CNI model creates; run packeteye drift to compare the node with it',
    });
}

/**
 * A plan whose instances run the given nodes on their collected state. The
 * returned diagnostics are those of reading the bundles and of putting them
 * in place (devices the twin's node lacks), found by building those nodes once.
 */
export function withNodeStates(
  plan: TwinPlan,
  states: readonly LoadedState[],
): { plan: TwinPlan; diagnostics: Diagnostic[] } {
  const byNode = new Map(states.map((s) => [s.node, s]));
  const apply = (twin: Twin, diagnostics: Diagnostic[]): Twin => {
    const nodeRules = new Map<string, NodeRules>(twin.nodeRules);
    for (const name of twin.nodes) {
      const st = byNode.get(name);
      if (!st) continue;
      const h = twin.host(name);
      if (st.iptables) {
        installIptables(h, st.iptables.compiled, st.ipsets);
        nodeRules.set(name, {
          text: st.iptables.text,
          ipsetSave: st.ipsetSave,
          ipsets: st.ipsets,
          ruleset: st.iptables.ruleset,
          compiled: st.iptables.compiled,
        });
      }
      installRoutes(h, st, diagnostics);
    }
    return {
      ...twin,
      plan: wrapped,
      nodeRules,
      diagnostics: [...twin.diagnostics, ...diagnostics],
    };
  };
  const wrapped: TwinPlan = {
    model: plan.model,
    diagnostics: plan.diagnostics,
    instantiate: (opts) => apply(plan.instantiate(opts), []),
  };
  const diagnostics: Diagnostic[] = states.flatMap((s) => [...s.diagnostics]);
  if (states.length > 0) apply(plan.instantiate({ nodes: states.map((s) => s.node) }), diagnostics);
  return { plan: wrapped, diagnostics };
}
