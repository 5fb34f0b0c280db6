/**
 * Steps: what the kernel model reports as a packet moves through it.
 *
 * Every stage of the stack (receive, route lookup, ARP, bridge FDB, each
 * netfilter hook and rule, conntrack, NAT, socket delivery, encapsulation)
 * writes steps to a `Recorder`. A trace is hops of these steps; every view
 * (text, JSON, diagrams, web) is a rendering of them. Steps are plain,
 * JSON-serialisable, immutable values.
 */
import type { Ipv4Packet } from '../wire/packet.js';

export type StepKind =
  | 'receive' // a frame/packet arrives on an interface
  | 'transmit' // it leaves through an interface
  | 'route' // FIB lookup: the matched route and why
  | 'arp' // neighbour resolution (cache hit, who-has / is-at)
  | 'bridge' // FDB lookup, learning, flooding, hairpin
  | 'hook' // a netfilter hook traversed (table/chain walk summary)
  | 'rule' // a netfilter rule that matched
  | 'policy' // a built-in chain's policy decided
  | 'conntrack' // lookup / new entry / established / un-NAT
  | 'nat' // a rewrite: packet before and after
  | 'socket' // delivered to a listening socket, or refused
  | 'icmp' // the stack generates an ICMP error
  | 'encap'
  | 'decap'
  | 'proxy' // user-space proxy terminates and re-originates
  | 'fabric' // something outside the nodes (underlay, VPC, LB)
  | 'note' // a default the twin invented, or a diagnostic worth seeing in place
  | 'drop';

export interface Step {
  readonly kind: StepKind;
  /** The host (network namespace) where it happened. */
  readonly host: string;
  /** One line in the kernel's own words. */
  readonly summary: string;
  /** The packet as it was at this step (after the step's own rewrite, if any). */
  readonly packet?: Ipv4Packet;
  /** For rewrites: the packet before. */
  readonly before?: Ipv4Packet;
  /** Structured detail for JSON consumers; stable keys per kind. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Recorder {
  record(step: Step): void;
}

export class StepList implements Recorder {
  readonly steps: Step[] = [];
  record(step: Step): void {
    this.steps.push(step);
  }
}

export const NULL_RECORDER: Recorder = { record: () => {} };
