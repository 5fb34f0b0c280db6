/**
 * `rules --node X` on a Contiv-VPP cluster: what the node's VPP vswitch
 * holds, as VPP 18.01's CLI prints it — Contiv replaces kube-proxy and the
 * Linux data path with VPP, so these are the node's rules:
 *
 * - `show interface` (`show_sw_interfaces`, src/vnet/interface_cli.c, sorted
 *   by name; `format_vnet_sw_interface`: name `%-32`, index `%=5`, state
 *   `%=16`; the twin has no counters, and VPP prints none that are zero);
 * - `show interface address` (the same function's `address` verb: the
 *   bridge-domain membership, then each address);
 * - `show ip fib` (`format_fib_entry` and `format_load_balance`, src/vnet/fib,
 *   src/vnet/dpo): each entry's load balance with its bucket — an adjacency
 *   (`format_adj_nbr`: `ipv4 via NH IF: REWRITE`, or `arp-ipv4: via NH IF`
 *   while incomplete), a glean, a receive, a drop, or for a recursive route
 *   the next hop's entry's load balance. The DPO type ids (`[@N]`) and uRPF
 *   list indices VPP prints are left out: the twin does not number them;
 * - `show ip arp` (`format_ethernet_arp_ip4_entry`, src/vnet/ethernet/arp.c;
 *   the twin has no clock, so the time column is 0);
 * - `show bridge-domain` and `show l2fib verbose` (src/vnet/l2/l2_bd.c, l2_fib.c);
 * - `show vxlan tunnel` (`format_vxlan_tunnel`, src/vnet/vxlan/vxlan.c);
 * - `show nat44 interfaces` and `show nat44 static mappings`
 *   (`format_snat_static_mapping`, src/plugins/nat/nat.c);
 * - `show acl-plugin acl` (`acl_print_acl`, src/plugins/acl/acl.c).
 *
 * `vswitchStateDocument` gives the same state as a VswitchState document.
 */
import type {
  Acl,
  AclRule,
  Adjacency,
  Dpo,
  FibEntry,
  StaticMapping,
  Vswitch,
} from '../vpp/index.js';
import { ipToInt } from '../wire/addr.js';
import { document, type DocumentHeader } from './document.js';

/** The sections, named as `rules --only` names the Linux ones they stand for. */
export const VSWITCH_SECTIONS = [
  'links',
  'addrs',
  'routes',
  'neigh',
  'fdb',
  'vxlan',
  'nat44',
  'acl',
  'defaults',
] as const;
export type VswitchSection = (typeof VSWITCH_SECTIONS)[number];

const center = (s: string, n: number): string => {
  const pad = Math.max(0, n - s.length);
  const l = Math.floor(pad / 2);
  return ' '.repeat(l) + s + ' '.repeat(pad - l);
};
const rmac = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const macBytes = (m: string): number[] => m.split(':').map((h) => parseInt(h, 16));

/** The interfaces, sorted by name as `show interface` sorts them. */
function sortedInterfaces(vs: Vswitch) {
  return [...vs.interfaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function showInterface(vs: Vswitch): string {
  const lines = [
    `${center('Name', 32)}${center('Idx', 5)}${center('State', 16)}${center('Counter', 16)}${center('Count', 16)}`,
  ];
  for (const i of sortedInterfaces(vs))
    lines.push(`${i.name.padEnd(32)}${center(String(i.swIfIndex), 5)}${center(state(i.name), 16)}`);
  return lines.join('\n');
}

const state = (name: string): string => (name === 'local0' ? 'down' : 'up');

function showInterfaceAddress(vs: Vswitch): string {
  const lines: string[] = [];
  for (const i of sortedInterfaces(vs)) {
    lines.push(`${i.name} (${i.name === 'local0' ? 'dn' : 'up'}): `);
    const bd = vs.bridgeDomainOf(i.swIfIndex);
    if (bd)
      lines.push(`  l2 bridge bd_id ${bd.id}${bd.bvi === i.swIfIndex ? ' bvi shg ' : ' shg '}0`);
    if (i.ip4) lines.push(`  ${i.ip4}`);
  }
  return lines.join('\n');
}

/** VPP's own entries in every IPv4 table (`ip4_fib_table_create_and_lock`), load balances 0–4. */
const SPECIAL: readonly FibEntry[] = [
  '0.0.0.0/0',
  '0.0.0.0/32',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '255.255.255.255/32',
].map((prefix, lb) => ({ prefix, lb, dpo: { kind: 'drop' }, source: 'special' }));

/** The table as `show ip fib` lists it: VPP's special entries unless replaced, by address then length. */
export function fibEntries(vs: Vswitch): FibEntry[] {
  const own = new Set(vs.fib.map((e) => e.prefix));
  const all = [...SPECIAL.filter((e) => !own.has(e.prefix)), ...vs.fib];
  const key = (p: string): [number, number] => {
    const [a, l] = p.split('/');
    return [ipToInt(a!), Number(l)];
  };
  return all.sort((x, y) => {
    const [a, al] = key(x.prefix);
    const [b, bl] = key(y.prefix);
    return a - b || al - bl;
  });
}

function adjText(vs: Vswitch, adj: Adjacency): string {
  const itf = vs.ifByIndex(adj.swIfIndex);
  if (adj.kind === 'glean') return `ipv4-glean: ${itf.name}`;
  if (adj.dstMac === undefined) return `arp-ipv4: via ${adj.nextHop} ${itf.name}`;
  const rw = Uint8Array.from([...macBytes(adj.dstMac), ...macBytes(itf.mac), 0x08, 0x00]);
  return `ipv4 via ${adj.nextHop} ${itf.name}: ${rmac(rw)}`;
}

const lbText = (lb: number): string =>
  `dpo-load-balance: [proto:ip4 index:${lb} buckets:1 to:[0:0]]`;

function bucketText(vs: Vswitch, e: FibEntry, dpo: Dpo, depth: number): string[] {
  const ind = ' '.repeat(4 + 6 * depth);
  if (dpo.kind === 'adj') return [`${ind}[0] ${adjText(vs, vs.adjacencies[dpo.adj]!)}`];
  if (dpo.kind === 'receive')
    return [
      `${ind}[0] dpo-receive: ${e.prefix.split('/')[0]} on ${vs.ifByIndex(dpo.swIfIndex).name}`,
    ];
  if (dpo.kind === 'drop') return [`${ind}[0] dpo-drop ip4`];
  const via = vs.lookup(dpo.via);
  if (!via || depth > 0) return [`${ind}[0] dpo-drop ip4`];
  return [`${ind}[0] ${lbText(via.lb)}`, ...bucketText(vs, via, via.dpo, depth + 1)];
}

function showIpFib(vs: Vswitch): string {
  const lines = [
    'ipv4-VRF:0, fib_index:0, flow hash:[src dst sport dport proto ] locks:[src:default-route:1, ]',
  ];
  for (const e of fibEntries(vs)) {
    lines.push(e.prefix, '  unicast-ip4-chain', `  [@0]: ${lbText(e.lb)}`);
    lines.push(...bucketText(vs, e, e.dpo, 0));
  }
  return lines.join('\n');
}

function showIpArp(vs: Vswitch): string {
  const lines = [
    `${center('Time', 12)}${center('IP4', 16)}${center('Flags', 6)}${center('Ethernet', 20)}${center('Interface', 24)}`,
  ];
  const adjs = vs.adjacencies
    .filter((a) => a.kind === 'nbr' && a.dstMac !== undefined)
    .sort((a, b) => ipToInt(a.nextHop) - ipToInt(b.nextHop));
  for (const a of adjs)
    lines.push(
      `${center('0.0000', 12)}${center(a.nextHop, 16)}${center(a.learnt ? 'D' : 'S', 6)}${center(a.dstMac!, 20)}${center(vs.ifByIndex(a.swIfIndex).name, 24)}`,
    );
  return lines.join('\n');
}

function showBridgeDomain(vs: Vswitch): string {
  const cols = [
    'BD-ID',
    'Index',
    'BSN',
    'Age(min)',
    'Learning',
    'U-Forwrd',
    'UU-Flood',
    'Flooding',
    'ARP-Term',
    'BVI-Intf',
  ];
  const widths = [8, 7, 4, 9, 9, 9, 9, 9, 9, 9];
  const row = (v: string[]): string => v.map((x, i) => center(x, widths[i]!)).join(' ');
  const lines = [row(cols)];
  for (const bd of vs.bridgeDomains)
    lines.push(
      row([
        String(bd.id),
        String(bd.index),
        '0',
        'off',
        bd.learn ? 'on' : 'off',
        'on',
        'on',
        'on',
        'off',
        bd.bvi === undefined ? 'N/A' : vs.ifByIndex(bd.bvi).name,
      ]),
    );
  lines.push('', showL2Fib(vs));
  return lines.join('\n');
}

function showL2Fib(vs: Vswitch): string {
  const cols = [
    'Mac-Address',
    'BD-Idx',
    'If-Idx',
    'BSN-ISN',
    'Age(min)',
    'static',
    'filter',
    'bvi',
    'Interface-Name',
  ];
  const widths = [19, 7, 7, 8, 9, 7, 7, 5, 30];
  const row = (v: string[]): string => v.map((x, i) => center(x, widths[i]!)).join('');
  const lines = [row(cols)];
  let n = 0;
  for (const bd of vs.bridgeDomains)
    for (const [mac, sw] of bd.fib) {
      n++;
      lines.push(
        row([
          mac,
          String(bd.index),
          String(sw),
          '0/0',
          '-',
          '*',
          '-',
          sw === bd.bvi ? '*' : '-',
          vs.ifByIndex(sw).name,
        ]),
      );
    }
  lines.push(
    `L2FIB total/learned entries: ${n}/0  Last scan time: 0.0000e0sec  Learn limit: 4194304 `,
  );
  return lines.join('\n');
}

function showVxlanTunnel(vs: Vswitch): string {
  return vs.vxlanTunnels
    .map(
      (t) =>
        `[${t.index}] src ${t.src} dst ${t.dst} vni ${t.vni} sw_if_index ${t.swIfIndex} encap_fib_index 0 decap_next l2`,
    )
    .join('\n');
}

function showNat44(vs: Vswitch): string {
  const lines = ['NAT44 interfaces:'];
  for (const i of vs.interfaces) {
    if (!i.natInside && !i.natOutside) continue;
    lines.push(` ${i.name} ${i.natInside && i.natOutside ? 'in out' : i.natInside ? 'in' : 'out'}`);
  }
  lines.push('', 'NAT44 pool addresses:', ...vs.nat.poolAddresses());
  lines.push('NAT44 twice-nat pool addresses:', ...vs.nat.twiceNatAddresses());
  lines.push('', 'NAT44 static mappings:');
  for (const m of vs.nat.staticMappings()) lines.push(staticMappingText(m));
  return lines.join('\n');
}

const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp' };

/**
 * `format_snat_static_mapping` (nat_format.c): an identity mapping, a plain
 * mapping (one local, `nat44_add_del_static_mapping`) or a load-balanced one
 * with its locals; the twice-NAT and out2in-only flags after.
 */
function staticMappingText(m: StaticMapping): string {
  const flags = `${m.twiceNat ? ` ${m.twiceNat}` : ''}${m.out2inOnly ? ' out2in-only' : ''}`;
  const l0 = m.locals[0]!;
  const proto = PROTO[m.proto];
  if (m.locals.length === 1 && l0.addr === m.externalAddr && l0.port === m.externalPort)
    return m.externalPort === 0
      ? ` identity mapping ${m.externalAddr} vrf 0`
      : ` identity mapping ${proto ?? m.proto} ${m.externalAddr}:${m.externalPort} vrf 0`;
  if (m.locals.length === 1)
    return ` ${proto} local ${l0.addr}:${l0.port} external ${m.externalAddr}:${m.externalPort} vrf 0${flags}`;
  return [
    ` ${proto} external ${m.externalAddr}:${m.externalPort}${flags}`,
    ...m.locals.map((l) => `  local ${l.addr}:${l.port} vrf 0 probability ${l.probability}`),
  ].join('\n');
}

const ACTION = ['deny', 'permit', 'permit+reflect'];

function ruleText(j: number, r: AclRule): string {
  let s = `  ${String(j).padStart(4)}: ipv4 ${ACTION[r.isPermit]}`;
  s += ` src ${r.src.addr}/${r.src.len} dst ${r.dst.addr}/${r.dst.len} proto ${r.proto}`;
  s += ` sport ${r.srcPorts[0]}${r.srcPorts[0] !== r.srcPorts[1] ? `-${r.srcPorts[1]}` : ''}`;
  s += ` dport ${r.dstPorts[0]}${r.dstPorts[0] !== r.dstPorts[1] ? `-${r.dstPorts[1]}` : ''}`;
  if (r.tcpFlagsMask || r.tcpFlagsValue)
    s += ` tcpflags ${r.tcpFlagsValue ?? 0} mask ${r.tcpFlagsMask ?? 0}`;
  return s;
}

function showAcl(vs: Vswitch): string {
  const lines: string[] = [];
  for (const { index, acl, inbound, outbound } of vs.acl.list()) {
    lines.push(`acl-index ${index} count ${acl.rules.length} tag {${acl.tag}}`);
    acl.rules.forEach((r, j) => lines.push(ruleText(j, r)));
    lines.push(`  applied inbound on sw_if_index: ${inbound.join(', ')}`);
    lines.push(`  applied outbound on sw_if_index: ${outbound.join(', ')}`);
  }
  return lines.join('\n');
}

/** One section's `vppctl` command and its output. */
const SHOW: Record<Exclude<VswitchSection, 'defaults'>, [string, (vs: Vswitch) => string][]> = {
  links: [['show interface', showInterface]],
  addrs: [['show interface address', showInterfaceAddress]],
  routes: [['show ip fib', showIpFib]],
  neigh: [['show ip arp', showIpArp]],
  fdb: [['show bridge-domain; show l2fib verbose', showBridgeDomain]],
  vxlan: [['show vxlan tunnel', showVxlanTunnel]],
  nat44: [['show nat44 interfaces; show nat44 addresses; show nat44 static mappings', showNat44]],
  acl: [['show acl-plugin acl', showAcl]],
};

/** The vswitch's state, section by section, headed by the `vppctl` command each is. */
export function renderVswitchState(
  vs: Vswitch,
  only: VswitchSection | undefined,
  defaults: readonly string[],
): string {
  const out: string[] = [];
  for (const s of VSWITCH_SECTIONS) {
    if (only !== undefined && only !== s) continue;
    const body = s === 'defaults' ? defaults.join('\n') : SHOW[s].map(([, f]) => f(vs)).join('\n');
    if (only === undefined)
      out.push(
        s === 'defaults'
          ? '# defaults (what the twin invented)'
          : `# vppctl ${SHOW[s].map(([c]) => c).join('; ')} (${vs.name})`,
      );
    out.push(body === '' ? '' : `${body}\n`);
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

const dpoJson = (vs: Vswitch, d: Dpo): object => {
  if (d.kind === 'adj') {
    const a = vs.adjacencies[d.adj]!;
    return {
      kind: a.kind === 'glean' ? 'glean' : 'adjacency',
      adjacency: a.index,
      interface: vs.ifByIndex(a.swIfIndex).name,
      ...(a.kind === 'nbr' ? { nextHop: a.nextHop } : {}),
      ...(a.dstMac !== undefined ? { mac: a.dstMac } : {}),
    };
  }
  if (d.kind === 'receive') return { kind: 'receive', interface: vs.ifByIndex(d.swIfIndex).name };
  if (d.kind === 'recursive')
    return { kind: 'recursive', via: d.via, viaLoadBalance: vs.lookup(d.via)?.lb ?? null };
  return { kind: 'drop' };
};

/** `rules --node X -o json|yaml` on contiv-vpp: the vswitch as a VswitchState document. */
export function vswitchStateDocument(
  vs: Vswitch,
  node: string,
  defaults: readonly { object: string; field: string; value: string; reason: string }[],
  only?: VswitchSection,
): DocumentHeader<'VswitchState'> & Record<string, unknown> {
  const want = (s: VswitchSection): boolean => only === undefined || only === s;
  const body: Record<string, unknown> = { node, dataplane: 'vpp' };
  if (want('links') || want('addrs'))
    body.interfaces = vs.interfaces.map((i) => {
      const bd = vs.bridgeDomainOf(i.swIfIndex);
      return {
        name: i.name,
        swIfIndex: i.swIfIndex,
        kind: i.kind,
        state: state(i.name),
        ...(i.mac ? { mac: i.mac } : {}),
        addresses: i.ip4 ? [i.ip4] : [],
        ...(bd ? { bridgeDomain: bd.id, bvi: bd.bvi === i.swIfIndex } : {}),
      };
    });
  if (want('routes'))
    body.fib = fibEntries(vs).map((e) => ({
      prefix: e.prefix,
      loadBalance: e.lb,
      source: e.source,
      dpo: dpoJson(vs, e.dpo),
    }));
  if (want('neigh'))
    body.neighbours = vs.adjacencies
      .filter((a) => a.kind === 'nbr' && a.dstMac !== undefined)
      .map((a) => ({
        ip: a.nextHop,
        mac: a.dstMac!,
        interface: vs.ifByIndex(a.swIfIndex).name,
        static: a.learnt !== true,
      }));
  if (want('fdb'))
    body.bridgeDomains = vs.bridgeDomains.map((bd) => ({
      id: bd.id,
      index: bd.index,
      learning: bd.learn,
      ...(bd.bvi !== undefined ? { bvi: vs.ifByIndex(bd.bvi).name } : {}),
      members: bd.members.map((m) => vs.ifByIndex(m).name),
      l2fib: [...bd.fib].map(([mac, sw]) => ({ mac, interface: vs.ifByIndex(sw).name })),
    }));
  if (want('vxlan'))
    body.vxlanTunnels = vs.vxlanTunnels.map((t) => ({
      name: `vxlan_tunnel${t.index}`,
      swIfIndex: t.swIfIndex,
      src: t.src,
      dst: t.dst,
      vni: t.vni,
    }));
  if (want('nat44'))
    body.nat44 = {
      interfaces: vs.interfaces
        .filter((i) => i.natInside || i.natOutside)
        .map((i) => ({ name: i.name, inside: i.natInside, outside: i.natOutside })),
      pool: [...vs.nat.poolAddresses()],
      twiceNatPool: [...vs.nat.twiceNatAddresses()],
      staticMappings: vs.nat.staticMappings().map((m) => ({
        protocol: PROTO[m.proto] ?? 'any',
        ...(m.twiceNat ? { twiceNat: m.twiceNat } : {}),
        external: `${m.externalAddr}:${m.externalPort}`,
        out2inOnly: m.out2inOnly === true,
        ...(m.tag !== undefined ? { tag: m.tag } : {}),
        locals: m.locals.map((l) => ({ local: `${l.addr}:${l.port}`, probability: l.probability })),
      })),
    };
  if (want('acl'))
    body.acls = vs.acl
      .list()
      .map(
        ({
          index,
          acl,
          inbound,
          outbound,
        }: {
          index: number;
          acl: Acl;
          inbound: number[];
          outbound: number[];
        }) => ({
          index,
          tag: acl.tag,
          rules: acl.rules.map((r, j) => ({
            text: ruleText(j, r)
              .trim()
              .replace(/^\d+: /, ''),
            action: ACTION[r.isPermit]!,
            src: `${r.src.addr}/${r.src.len}`,
            dst: `${r.dst.addr}/${r.dst.len}`,
            proto: r.proto,
            srcPorts: [...r.srcPorts],
            dstPorts: [...r.dstPorts],
          })),
          inbound: inbound.map((sw) => vs.ifByIndex(sw).name),
          outbound: outbound.map((sw) => vs.ifByIndex(sw).name),
        }),
      );
  if (want('defaults')) body.defaults = defaults.map((d) => ({ ...d }));
  return document('VswitchState', body);
}
