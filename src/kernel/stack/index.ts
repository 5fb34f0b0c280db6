/**
 * The packet path through one namespace, one small function per stage,
 * named after the kernel function it stands for:
 *
 *   rx on a device ─► bridge port? ─► br_handle_frame ─(br_netfilter PREROUTING)─► FDB
 *        │                                  │ to us                 └─► __br_forward (FORWARD, POSTROUTING) ─► port tx
 *        ▼                                  ▼
 *   __netif_receive_skb ─► arp_rcv / ip_rcv ─► PREROUTING ─► ip_route_input_slow
 *                                 ├─ local ─► ip_local_deliver (INPUT) ─► socket
 *                                 └─ forward ─► ip_forward (TTL, MTU, FORWARD) ─┐
 *   Host.send ─► ip_route_output ─► OUTPUT ─► (reroute) ─► ip_output (POSTROUTING) ◄┘
 *                 ─► ip_finish_output (MTU) ─► neigh_output (ARP) ─► dev_queue_xmit
 *
 * One file per stage, named after what it stands for:
 *
 *   receive.ts  linkReceive, __netif_receive_skb, ip_rcv (PREROUTING)
 *   route.ts    ip_route_input_slow / ip_route_output (martians, rp_filter)
 *   deliver.ts  ip_local_deliver (INPUT), tcp/udp/icmp/ipip receive, sockets
 *   forward.ts  ip_forward (TTL, MTU, FORWARD)
 *   output.ts   local output: route, OUTPUT, POSTROUTING, MTU
 *   arp.ts      neigh_output, arp_rcv: the neighbour layer
 *   device.ts   dev_queue_xmit per device kind; the DeviceContext of drivers
 *   bridge.ts   br_handle_frame, the FDB, br_netfilter, flooding
 *   nf-hook.ts  NF_HOOK: one netfilter hook and its verdict
 *   path.ts     what all stages share (Sim, Delivery, steps, drops)
 *
 * Every stage writes steps; every end is a Fate with a reason from DROP_REASONS.
 * A stage imports only the stages below it; its calls upward go through
 * path.ts `upcalls`, which this file sets.
 */
import { bridgeDevXmit } from './bridge.js';
import { localSend } from './output.js';
import { upcalls } from './path.js';
import { netifReceive } from './receive.js';

export type { DeviceContext, SendOptions } from '../link.js';
export type { OutputRouteResult, OutRoute } from '../fib.js';
export type { Delivery, Sim } from './path.js';
export { routeInput, routeOutput, type InputRouteResult } from './route.js';
export { localSend } from './output.js';
export { failPendingNeighbours } from './arp.js';
export { linkReceive } from './receive.js';
export { devXmit } from './device.js';

upcalls.bridgeXmit = bridgeDevXmit;
upcalls.netifReceive = netifReceive;
upcalls.localSend = localSend;
