/**
 * @module kernel
 *
 * The Linux network stack as a model: a `Network` of `Host`s (network
 * namespaces), each with devices (lo, veth pairs spanning hosts, bridges with
 * FDB learning/flooding/hairpin, dummy, NICs wired to segments or the outside
 * world), IPv4 addresses with their kernel routes, routing tables with
 * longest-prefix match and policy rules, a neighbour table driven by real ARP
 * exchanges, the sysctls that change behaviour, listening sockets, and the
 * netfilter hooks at the places Linux calls them.
 *
 *   Network ──owns──► Host ──► link / addr / route / rule / neigh / sysctl / sockets
 *      │                 └──► netfilter: NetfilterHooks (hooks.ts; ACCEPT_ALL by default)
 *      └── FIFO of frames in flight; send() / inject() / respond() run it until quiet
 *
 * The packet path lives in stack/, one file per kernel stage (receive.ts:
 * ip_rcv; route.ts: ip_route_input_slow / ip_route_output, martians;
 * deliver.ts: ip_local_deliver and the sockets; forward.ts: ip_forward;
 * output.ts: ip_output; arp.ts: neigh_output, arp_process; bridge.ts:
 * br_handle_frame, the FDB, br_netfilter; device.ts: dev_queue_xmit); every
 * stage writes Steps, and every packet ends in a Fate whose reason comes from
 * the closed set in drop.ts. Nothing here reads the clock or Math.random:
 * time is the network's simulated clock, chance comes from a Chooser.
 *
 * Where things are:
 *
 *   host.ts        the namespace's state; ip/ the `ip` commands that build it
 *   fib.ts         routing tables, policy rules, longest-prefix match
 *   link.ts        devices, the bridge FDB's entries, the DeviceDriver contract
 *   neigh.ts       the neighbour table        sysctl.ts  the sysctls read
 *   socket.ts      sockets, ICMP errors        skb.ts     the packet and its mark/conntrack
 *   hooks.ts       the stack's side of the netfilter seam (NF_HOOK)
 *   netfilter/     iptables executed: tables, matches (match-*.ts), targets
 *                  (target-*.ts, MASQUERADE in target-nat.ts), the walk;
 *                  install.ts puts a ruleset on a host (installIptables)
 *   conntrack/     connection tracking and NAT bindings
 *
 * Tunnel devices plug in through `DeviceDriver` and UDP tunnel sockets:
 * vxlan.ts (VXLAN with its own FDB; encapsulates through the host's own
 * routing, decapsulates onto the device) and ipip.ts (`tunl0`; its ENCAP is
 * shown, carrying protocol-4 packets is not modelled yet).
 *
 * Not modelled (reported, never guessed): IPv6, multipath routes, ICMP
 * redirects (noted in the trace), IP fragmentation (noted; the packet is
 * carried whole), DELAY→PROBE neighbour probing, ICMP rate limiting,
 * STP/VLAN filtering on bridges, TCP beyond the handshake and resets.
 */
export { Network, type RunOptions, type RunResult } from './network.js';
export { LinkApi } from './ip/link.js';
export { AddrApi } from './ip/addr.js';
export { RouteApi } from './ip/route.js';
export { RuleApi } from './ip/rule.js';
export { NeighApi } from './ip/neigh.js';
export {
  Host,
  type HostNetwork,
  type RouteSpec,
  type AddrOptions,
  type LinkSettings,
  type RuleSpec,
} from './host.js';
export {
  Link,
  RT_SCOPE,
  scopeName,
  deriveMac,
  type LinkKind,
  type InetAddress,
  type FdbEntry,
  type BridgePortFlags,
  type DeviceDriver,
  type Wire,
} from './link.js';
export {
  RouteTable,
  fibLookup,
  formatRoute,
  formatRule,
  formatDst,
  explainMatch,
  tableName,
  parseTable,
  RT_TABLE,
  DEFAULT_RULES,
  type Route,
  type RouteType,
  type PolicyRule,
  type Flow,
  type FibResult,
} from './fib.js';
export { NeighTable, REACHABLE_TIME, type NeighEntry, type NudState } from './neigh.js';
export { Sysctls, CONF_DEFAULTS, GLOBAL_DEFAULTS } from './sysctl.js';
export {
  SocketTable,
  describeSocket,
  packetLength,
  udpReply,
  tcpReset,
  tcpSynAck,
  icmpEchoReply,
  icmpError,
  type Listener,
  type Connection,
  type SocketRef,
  type UdpTunnel,
} from './socket.js';
export {
  ACCEPT_ALL,
  FRESH_META,
  type NetfilterHooks,
  type HookCall,
  type HookResult,
  type SkbMeta,
} from './hooks.js';
export {
  installIptables,
  IptablesHooks,
  type ErrorSource,
  type RewriteDetail,
  type RewriteKind,
  type RewriteRule,
} from './netfilter/install.js';
export { DROP_REASONS, describeDrop, type DropReason } from './drop.js';
export { primaryFate, type Fate, type Response } from './fate.js';
export { KernelError, type Errno } from './errors.js';
export { ipv4Frame, arpFrame, describeFrame, type Frame, type PktType } from './frame.js';
export {
  routeInput,
  routeOutput,
  type DeviceContext,
  type OutRoute,
  type SendOptions,
  type InputRouteResult,
  type OutputRouteResult,
} from './stack/index.js';
export {
  addVxlan,
  vxlanFdbAppend,
  vxlanFdbLines,
  vxlanDetails,
  vxlanDriverOf,
  vxlanHeaders,
  udpFlowSrcPort,
  VxlanDriver,
  VXLAN_HEADROOM,
  type VxlanOptions,
  type VxlanFdbEntry,
  type VxlanHeaders,
} from './vxlan.js';
export { addIpipFallback, isIpip, IpipDriver, IPIP_HEADROOM } from './ipip.js';
