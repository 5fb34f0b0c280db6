/**
 * Steps: what the kernel model reports as a packet moves through it.
 *
 * Every stage of the stack (receive, route lookup, ARP, bridge FDB, each
 * netfilter hook and rule, conntrack, NAT, socket delivery, encapsulation)
 * writes steps to a `Recorder`. A trace is hops of these steps; every view
 * (text, JSON, diagrams, web) is a rendering of them. Steps are plain,
 * JSON-serialisable, immutable values.
 *
 * A Step is a union keyed by `kind`: each kind carries its own detail
 * (StepDetails), typed here where the kernel emits it. trace/model.ts builds
 * the trace's StepView on these, adding what the layers above annotate (a
 * NetworkPolicy's word on a drop).
 */
import type { Ipv4Packet } from '../wire/packet.js';
import type { Tuple } from './conntrack/tuple.js';
import type { SocketRef } from './socket.js';

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

/** The nat rule that bound a rewrite (`-A KUBE-SEP-… -j DNAT …`). */
export interface RewriteRule {
  readonly table: string;
  readonly chain: string;
  readonly index: number;
  readonly text: string;
  readonly target: string;
}

/**
 * NetworkPolicy's word on a step, added above the kernel
 * (policy/trace-annotate.ts); trace/model.ts PolicyNote names its fields.
 */
export type PolicyAnnotation = Readonly<Record<string, unknown>>;

// ------------------------------------------------------------------ step details

/** `receive` / `transmit`: a frame on a device, with its MAC addresses. */
export type FrameDetail = {
  readonly dev: string;
  /** Source MAC. */
  readonly src: string;
  /** Destination MAC. */
  readonly dst: string;
};

/** `route`: a FIB lookup (ip_route_input / ip_route_output) and its answer. */
export type RouteDetail = {
  /** `reroute`: ip_route_me_harder, the output route looked up again after OUTPUT changed the packet. */
  readonly direction: 'input' | 'output' | 'reroute';
  /** Input lookups: `local`, `broadcast`, `forward` or `error`. */
  readonly result?: string;
  /** The route type (`unicast`, `local`, `blackhole`…). */
  readonly type?: string;
  readonly dev?: string;
  readonly gateway?: string;
  /** The preferred source address the route gives. */
  readonly src?: string;
  /** The matched route as `ip route` prints it. */
  readonly route?: string;
  /** The routing table's name (`main`, `local`, a number). */
  readonly table?: string;
  /** The priority of the policy rule that led to the table. */
  readonly rule?: number;
  /** An output lookup that failed: the errno the socket sees (`ENETUNREACH`). */
  readonly errno?: string;
};

/** `arp`: a neighbour lookup or update, or an ARP message sent or answered. */
export type ArpDetail = {
  /** The neighbour's address (lookups and updates). */
  readonly ip?: string;
  readonly dev?: string;
  /** NUD state (`REACHABLE`, `STALE`, `INCOMPLETE`, `FAILED`…). */
  readonly state?: string;
  /** The neighbour's MAC. */
  readonly lladdr?: string;
  /** A lookup: whether the cache answered. */
  readonly hit?: boolean;
  /** An update: the state before. */
  readonly from?: string;
  /** An ARP message: `arp`. */
  readonly kind?: string;
  /** An ARP message: `request` or `reply`. */
  readonly op?: string;
  readonly senderMac?: string;
  readonly senderIp?: string;
  readonly targetMac?: string;
  readonly targetIp?: string;
  /** A reply given by proxy ARP. */
  readonly proxy?: boolean;
};

/** `bridge`: an FDB decision of a Linux bridge. */
export type BridgeDetail = {
  readonly bridge: string;
  readonly action:
    | 'learn'
    | 'move'
    | 'local'
    | 'forward'
    | 'flood'
    | 'hairpin-off'
    | 'bridged-dnat'
    | 'routed-dnat';
  readonly mac?: string;
  /** The port learnt, or forwarded to. */
  readonly port?: string;
  /** The ports flooded to. */
  readonly ports?: readonly string[];
};

/** `hook`: one table of a netfilter hook, entered. */
export type HookDetail = {
  readonly hook: string;
  /** An iptables table, or an nftables table as `FAMILY NAME`. */
  readonly table: string;
  /** nftables: the base chain entered (iptables' chain is the hook's own). */
  readonly chain?: string;
  /** The table's priority at this hook (NF_IP_PRI_*). */
  readonly priority: number;
  /** The skb mark on entry, `0x…`. */
  readonly mark: string;
};

/** `rule`: an iptables rule that matched. */
export type RuleDetail = {
  readonly hook: string;
  readonly table: string;
  readonly chain: string;
  /** 1-based position in its chain (`iptables -L --line-numbers`). */
  readonly index: number;
  /** Where the rule came from (a dump, or `iptables-save@NODE`). */
  readonly file?: string;
  readonly line?: number;
  /** nftables: the rule's handle, when the ruleset text gave it. */
  readonly handle?: number;
  /** The rule as iptables-save prints it, without `-A CHAIN` (or as nft prints it). */
  readonly text: string;
  /** The target with its options (`MARK --set-xmark 0x4000/0x4000`). */
  readonly target: string;
  /** The skb mark when the rule matched. */
  readonly mark: string;
  /** How many jumps deep the chain is (0: the built-in chain). */
  readonly depth: number;
};

/** `policy`: a built-in chain's policy decided. */
export type PolicyDetail = {
  readonly hook: string;
  readonly table: string;
  readonly chain: string;
  readonly policy: string;
};

/** `conntrack`: the entry a packet carries after a conntrack event. */
export type ConntrackDetail = {
  /** The entry's id, or `INVALID` / `UNTRACKED` for a packet without one. */
  readonly ct: number | 'INVALID' | 'UNTRACKED';
  /** NEW, ESTABLISHED, RELATED, ESTABLISHED_REPLY, RELATED_REPLY. */
  readonly ctinfo?: string;
  readonly original?: Tuple;
  readonly reply?: Tuple;
  /** IPS_* status bits. */
  readonly status?: number;
  readonly tcpState?: string;
};

/** A rewrite of addresses or ports (NAT, a tunnel, the fabric, a proxy); RewriteView is built from it. */
export type RewriteStepDetail = {
  /** `DNAT`, `SNAT`, `MASQUERADE`, `REDIRECT`, `un-DNAT`, `un-SNAT`, `ENCAP`, `DECAP`, … */
  readonly rewrite: string;
  /** Where: a netfilter hook, a device, or a fabric stage. */
  readonly hook: string;
  /** `src`, `dst` or `src+dst`. */
  readonly field: string;
  readonly from: string;
  readonly to: string;
  /** Who rewrote it, in words. */
  readonly by: string;
  /** The NAT rule that bound a new connection's rewrite. */
  readonly rule?: RewriteRule;
  /** A fabric rewrite: the stage's name and label. */
  readonly stage?: string;
  readonly label?: string;
};

/** `nat`, a rule bound a NAT binding (`-j DNAT --to-destination …`). */
export type NatBindingDetail = {
  readonly hook: string;
  readonly table: string;
  readonly chain: string;
  readonly index: number;
  readonly file?: string;
  readonly line?: number;
  readonly text: string;
  /** `DNAT`, `SNAT`, `MASQUERADE`, `REDIRECT`. */
  readonly binding: string;
  readonly to: string;
};

/** `nat`, conntrack applied a binding (`manip` SRC/DST), or an ICMP error's inner header. */
export type NatManipDetail = {
  readonly hook: string;
  readonly kind: string;
  readonly manip: string;
  /** The conntrack entry whose binding applied. */
  readonly ct?: number;
};

/** `nat`: a binding made, a binding applied, or the rewrite itself. */
export type NatDetail = RewriteStepDetail | NatBindingDetail | NatManipDetail;

/** `socket`: delivered to a socket (and what the kernel answers for it). */
export type SocketDetail = {
  readonly socket: SocketRef;
  /** The kernel's own answer (a SYN-ACK, an RST), in tcpdump's words. */
  readonly response?: string;
};

/** `encap` / `decap`: a tunnel device's rewrite, with its header view. */
export type TunnelDetail = RewriteStepDetail & {
  readonly device?: string;
  /** The outer headers (IP, and UDP/VXLAN for VXLAN). */
  readonly outer?: Readonly<Record<string, unknown>>;
  /** The inner packet's headers. */
  readonly inner?: Readonly<Record<string, unknown>>;
  /** VXLAN: the next hop the FDB gave. */
  readonly nexthop?: string;
  /** VXLAN: the FDB entry that gave it. */
  readonly fdb?: string;
};

/** `fabric`: something outside the nodes (a segment, the VPC, a load balancer). */
export type FabricDetail =
  | { readonly segment: string }
  | { readonly endpoint: string }
  | {
      readonly stage: string;
      /** A load balancer: the Service, the chosen backend, the candidates, their health. */
      readonly service?: string;
      readonly backend?: string;
      readonly candidates?: readonly string[];
      readonly healthChecks?: string;
      readonly mark?: string;
    }
  | RewriteStepDetail;

/** `drop`: why the packet died. */
export type DropDetail = {
  /** A DROP_REASONS name (kernel/drop.ts). */
  readonly reason?: string;
  /** Where it was decided when not at a netfilter hook (`routing`: the input route after PREROUTING). */
  readonly where?: string;
  /** A REJECT: its `--reject-with`. */
  readonly with?: string;
  /** What the kernel sends back, in tcpdump's words. */
  readonly response?: string;
  /** The policy explanation of a drop in an enforcer's chain (added above the kernel). */
  readonly policy?: PolicyAnnotation;
};

/** `note`: the end of a user chain, back to its caller. */
export type ChainReturnDetail = {
  readonly table: string;
  readonly chain: string;
  /** The chain the walk returns to. */
  readonly returnTo: string;
  readonly depth: number;
};

/** `note`: the end of a user chain (back to its caller), or a policy note (added above the kernel). */
export type NoteDetail =
  ChainReturnDetail | { readonly policy: PolicyAnnotation; readonly rule?: RuleDetail };

/** The detail of each step kind. Kinds mapped to `never` carry none. */
export interface StepDetails {
  readonly receive: FrameDetail;
  readonly transmit: FrameDetail;
  readonly route: RouteDetail;
  readonly arp: ArpDetail;
  readonly bridge: BridgeDetail;
  readonly hook: HookDetail;
  readonly rule: RuleDetail;
  readonly policy: PolicyDetail;
  readonly conntrack: ConntrackDetail;
  readonly nat: NatDetail;
  readonly socket: SocketDetail;
  readonly icmp: never;
  readonly encap: TunnelDetail;
  readonly decap: TunnelDetail;
  readonly proxy: RewriteStepDetail;
  readonly fabric: FabricDetail;
  readonly note: NoteDetail;
  readonly drop: DropDetail;
}

/** One step of kind `K`: where it happened, a line in the kernel's own words, the packet, the kind's detail. */
export interface StepOf<K extends StepKind> {
  readonly kind: K;
  /** The host (network namespace) where it happened. */
  readonly host: string;
  /** One line in the kernel's own words. */
  readonly summary: string;
  /** The packet as it was at this step (after the step's own rewrite, if any). */
  readonly packet?: Ipv4Packet;
  /** For rewrites: the packet before. */
  readonly before?: Ipv4Packet;
  /** Structured detail for JSON consumers: StepDetails[K]. */
  readonly detail?: StepDetails[K];
}

/** A step the kernel model (or a layer above, for its own kinds) records, keyed by kind. */
export type Step = { [K in StepKind]: StepOf<K> }[StepKind];

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
