/**
 * The socket buffer (`struct sk_buff`) as packeteye carries it: an immutable
 * IPv4 packet plus the metadata that travels with it from hook to hook —
 * `skb->mark` and the conntrack attachment `skb->_nfct`. One shape for the
 * whole kernel model: the stack carries `{ packet, meta }` along its path
 * (stack.ts adds where the packet came from), netfilter reads and writes the
 * same fields as an `Skb`.
 */
import type { Ipv4Packet } from '../wire/packet.js';
import type { SkbCt } from './conntrack/core.js';

/** skb metadata netfilter reads and writes: `skb->mark` and `skb->_nfct`. */
export interface SkbMeta {
  readonly mark: number;
  /** The conntrack reference netfilter attached; undefined = none yet (the stack never reads it). */
  readonly ct?: SkbCt;
}

/** A packet fresh from a socket or a device: no mark, no conntrack. */
export const FRESH_META: SkbMeta = { mark: 0 };

/** The packet with its metadata, as netfilter sees it at a hook (`ct` always set: NO_CT for none). */
export interface Skb {
  readonly packet: Ipv4Packet;
  readonly mark: number;
  readonly ct: SkbCt;
}
