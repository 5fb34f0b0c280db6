/**
 * The `NodeRules` document (`rules -o json|yaml`, schema/node-rules.schema.json):
 * what one network namespace of the twin holds, structured — iptables tables,
 * chains and rules (each rule's matches and target as the model parsed them,
 * beside its iptables-save text), IP sets and their members, routes per
 * table, links, addresses, neighbours, FDB entries, conntrack entries, and the
 * defaults the twin invented. The same state `rules` prints in the real
 * tools' formats (cli/rules.ts), field for field.
 */
import { chainsInSaveOrder } from '../iptables/serialize.js';
import { scopeName, tableName, type Route } from '../kernel/fib.js';
import type { Host } from '../kernel/host.js';
import { IPS, type ConntrackEntry } from '../kernel/conntrack/entry.js';
import type { Tuple } from '../kernel/conntrack/tuple.js';
import { vxlanDriverOf } from '../kernel/vxlan.js';
import { IptablesHooks, type Twin, type TwinDefault } from '../twin/index.js';
import { document, type DocumentHeader } from './document.js';
import { operState } from './ip.js';

/** The sections `rules --only` names, in the order the text report prints them. */
export const NODE_RULES_SECTIONS = [
  'iptables',
  'ipsets',
  'nftables',
  'links',
  'addrs',
  'routes',
  'neigh',
  'fdb',
  'conntrack',
  'defaults',
] as const;
export type NodeRulesSection = (typeof NODE_RULES_SECTIONS)[number];

export type NodeRulesDocument = DocumentHeader<'NodeRules'> & {
  readonly node: string;
  /** The network namespace shown: the node, or `ns/pod`. */
  readonly host: string;
} & { readonly [S in NodeRulesSection]?: unknown };

function iptablesJson(twin: Twin, host: string): unknown {
  const rules = twin.nodeRules.get(host);
  const rs =
    rules?.ruleset ??
    (twin.host(host).netfilter instanceof IptablesHooks
      ? (twin.host(host).netfilter as IptablesHooks).nf.ruleset
      : undefined);
  if (!rs) return { tables: [] };
  return {
    tables: [...rs.tables.values()].map((t) => ({
      name: t.name,
      chains: chainsInSaveOrder(t).map((c) => ({
        name: c.name,
        policy: c.policy ?? null,
        rules: c.rules.map((r, i) => ({
          index: i + 1,
          text: r.text,
          matches: r.matches,
          target: r.target ?? null,
        })),
      })),
    })),
  };
}

/**
 * The node's native nftables tables (kube-proxy's in nftables mode): chains
 * with their hook, priority and policy, rules with their text and the line
 * of the script they came from, sets and maps with their elements as written.
 */
function nftablesJson(twin: Twin, host: string): unknown {
  const nft = twin.nodeRules.get(host)?.nft;
  if (!nft) return { file: null, tables: [] };
  const lines = nft.text.split('\n');
  const elementText = (line: number | undefined): string => {
    const l = line !== undefined ? (lines[line - 1] ?? '') : '';
    const m = /\{ (.*) \}\s*$/.exec(l);
    return m ? m[1]! : l;
  };
  return {
    file: nft.file,
    tables: nft.ruleset.tables.map((t) => ({
      family: t.family,
      name: t.name,
      chains: [...t.chains.values()].map((c) => ({
        name: c.name,
        ...(c.base
          ? {
              type: c.base.type,
              hook: c.base.hook,
              priority: c.base.priority,
              policy: c.base.policy,
            }
          : {}),
        rules: c.rules.map((r, i) => ({
          index: i + 1,
          text: r.text,
          ...(r.source.line !== undefined ? { line: r.source.line } : {}),
          ...(r.handle !== undefined ? { handle: r.handle } : {}),
        })),
      })),
      sets: [...t.sets.values()].map((st) => ({
        name: st.name,
        keyType: [...st.keyType],
        ...(st.dataType ? { dataType: [...st.dataType] } : {}),
        flags: [...st.flags],
        elements: st.elements.map((e) => elementText(e.source?.line)),
      })),
    })),
  };
}

/** `ipset save` text as sets: `create NAME TYPE OPTIONS…`, then `add NAME ELEMENT [nomatch]`. */
function ipsetsJson(save: string | undefined): unknown[] {
  const sets = new Map<
    string,
    { name: string; type: string; options: string[]; members: unknown[] }
  >();
  for (const line of (save ?? '').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'create' && w[1] && w[2])
      sets.set(w[1], { name: w[1], type: w[2], options: w.slice(3), members: [] });
    else if (w[0] === 'add' && w[1] && w[2])
      sets
        .get(w[1])
        ?.members.push({ element: w[2], ...(w.includes('nomatch') ? { nomatch: true } : {}) });
  }
  return [...sets.values()];
}

function routeJson(r: Route): unknown {
  return {
    table: tableName(r.table),
    type: r.type,
    dst: `${r.dst.network}/${r.dst.prefix}`,
    ...(r.via !== undefined ? { via: r.via } : {}),
    ...(r.dev !== undefined ? { dev: r.dev } : {}),
    ...(r.src !== undefined ? { src: r.src } : {}),
    proto: r.proto,
    scope: scopeName(r.scope),
    metric: r.metric,
    ...(r.onlink ? { onlink: true } : {}),
  };
}

function linksJson(h: Host): unknown[] {
  return h.linkList().map((l) => ({
    ifindex: l.ifindex,
    name: l.name,
    kind: l.kind,
    mac: l.mac,
    mtu: l.mtu,
    up: l.adminUp,
    state: operState(h, l),
    ...(l.master !== undefined ? { master: l.master } : {}),
    ...(l.peer ? { peer: { host: l.peer.host, name: l.peer.name } } : {}),
  }));
}

function fdbJson(h: Host): unknown[] {
  const out: unknown[] = [];
  const now = h.now();
  for (const l of h.linkList()) {
    const vx = vxlanDriverOf(l);
    if (vx)
      for (const e of vx.fdb.values())
        out.push({ mac: e.mac, dev: l.name, dst: e.dst, self: true, permanent: e.permanent });
    const br = l.bridge ? l : l.master ? h.getLink(l.master) : undefined;
    if (!br?.bridge) continue;
    const entries = [...br.bridge.fdb.values()]
      .filter((e) => (l.bridge ? e.port === undefined : e.port === l.name))
      .filter((e) => e.permanent || now - e.updated <= br.bridge!.ageingTime)
      .sort((a, b) => b.seq - a.seq);
    for (const e of entries)
      out.push({ mac: e.mac, dev: l.name, master: br.name, permanent: e.permanent });
  }
  return out;
}

function tupleJson(t: Tuple): unknown {
  return { proto: t.proto, src: t.src, dst: t.dst, sport: t.sport, dport: t.dport };
}

function conntrackJson(h: Host): unknown[] {
  if (!(h.netfilter instanceof IptablesHooks)) return [];
  const { entries, now } = h.netfilter.nf.conntrackEntries();
  const status = (e: ConntrackEntry) =>
    (Object.keys(IPS) as (keyof typeof IPS)[]).filter((k) => (e.status & IPS[k]) !== 0);
  return entries.map((e) => ({
    original: tupleJson(e.original),
    reply: tupleJson(e.reply),
    ...(e.tcp ? { tcpState: e.tcp.state } : {}),
    status: status(e),
    mark: e.mark >>> 0,
    timeout: Math.max(0, Math.floor(e.expires - now)),
  }));
}

function defaultJson(d: TwinDefault): unknown {
  return { object: d.object, field: d.field, value: d.value, reason: d.reason };
}

/**
 * The NodeRules document of `host` (a node, or `ns/pod` on it) in `twin`;
 * with `only`, that section alone. `defaults` are the twin's defaults that
 * concern the node (as `rules` lists them).
 */
export function nodeRulesDocument(
  twin: Twin,
  host: string,
  node: string,
  defaults: readonly TwinDefault[],
  only?: NodeRulesSection,
): NodeRulesDocument {
  const h = twin.host(host);
  const want = (s: NodeRulesSection) => only === undefined || only === s;
  const rules = twin.nodeRules.get(host);
  return document('NodeRules', {
    node,
    host,
    ...(want('iptables') ? { iptables: iptablesJson(twin, host) } : {}),
    ...(want('ipsets') ? { ipsets: ipsetsJson(rules?.ipsetSave) } : {}),
    ...((rules?.nft && only === undefined) || only === 'nftables'
      ? { nftables: nftablesJson(twin, host) }
      : {}),
    ...(want('links') ? { links: linksJson(h) } : {}),
    ...(want('addrs')
      ? {
          addrs: h.linkList().flatMap((l) =>
            h.addressesOf(l.name).map((a) => ({
              dev: l.name,
              local: a.local,
              prefix: a.prefix,
              ...(a.broadcast !== undefined ? { broadcast: a.broadcast } : {}),
              scope: scopeName(a.scope),
              ...(a.secondary ? { secondary: true } : {}),
            })),
          ),
        }
      : {}),
    ...(want('routes')
      ? {
          routes: [...h.tables.keys()]
            .sort((a, b) => a - b)
            .flatMap((id) => h.table(id).list().map(routeJson)),
        }
      : {}),
    ...(want('neigh')
      ? {
          neigh: h.neigh
            .list()
            .filter((e) => e.state !== 'NONE')
            .map((e) => ({
              ip: e.ip,
              dev: e.dev,
              ...(e.mac !== undefined && e.state !== 'INCOMPLETE' && e.state !== 'FAILED'
                ? { lladdr: e.mac }
                : {}),
              state: e.state,
              ...(e.router ? { router: true } : {}),
            })),
        }
      : {}),
    ...(want('fdb') ? { fdb: fdbJson(h) } : {}),
    ...(want('conntrack') ? { conntrack: conntrackJson(h) } : {}),
    ...(want('defaults') ? { defaults: defaults.map(defaultJson) } : {}),
  });
}
