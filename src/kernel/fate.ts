/**
 * How a packet's walk ends. Every run of the network yields one or more
 * fates (a flooded frame can die in several places); `primaryFate` picks the
 * one that answers "what happened to my packet".
 */
import type { Ipv4Packet } from '../wire/packet.js';
import type { DropReason } from './drop.js';
import type { Frame } from './frame.js';
import type { SkbMeta } from './hooks.js';
import type { SocketRef } from './socket.js';

/** A packet the stack generates in answer (SYN-ACK, RST, echo reply, ICMP error), to be sent from `host`. */
export interface Response {
  readonly host: string;
  readonly packet: Ipv4Packet;
  readonly meta: SkbMeta;
  /** What generated it, e.g. `tcp_v4_send_reset`, `icmp_send time exceeded`. */
  readonly by: string;
}

export type Fate =
  | {
      readonly kind: 'delivered';
      readonly host: string;
      readonly socket: SocketRef;
      readonly packet: Ipv4Packet;
      readonly response?: Response;
    }
  | {
      readonly kind: 'dropped';
      readonly host: string;
      readonly reason: DropReason;
      readonly detail: string;
      readonly packet?: Ipv4Packet;
      readonly response?: Response;
    }
  | {
      readonly kind: 'left-model';
      readonly host: string;
      readonly dev: string;
      readonly endpoint: string;
      readonly frame: Frame;
      readonly meta: SkbMeta;
    };

/** L2 copies that die because they were not for a host are noise next to the real outcome. */
function rank(f: Fate): number {
  switch (f.kind) {
    case 'delivered':
      return 0;
    case 'left-model':
      return 1;
    case 'dropped':
      // Copies dropped at L2 are noise; a drop of a frame that carried no IP packet (an ARP request on a
      // dead link) explains less than the fate of the packet itself.
      if (f.reason === 'not-for-us' || f.reason === 'arp-ignored') return 4;
      return f.packet ? 2 : 3;
  }
}

/** The fate that answers "what happened": a delivery, else leaving the world, else the first real drop. */
export function primaryFate(fates: readonly Fate[]): Fate | undefined {
  let best: Fate | undefined;
  for (const f of fates) if (best === undefined || rank(f) < rank(best)) best = f;
  return best;
}
