/**
 * The trace model: every type a trace is made of, in one place. These types
 * are the `-o json` / `-o yaml` contract of `packeteye trace` (ConnectionTrace)
 * and `packeteye iptables trace` (IptablesTraceResult, written by
 * render/iptables-trace.ts): a field documented here is a field a consumer may
 * rely on; adding one is a compatible change, renaming or removing one is not.
 *
 *   ConnectionTrace
 *     ├── from / to / proto / sport / seed      what was asked, as resolved
 *     ├── request: Leg ─┬─ disposition, reason, at, socket, received
 *     ├── reply: Leg    └─ hops: Hop[] ── host, role, steps: StepView[]
 *     ├── rewrites: RewriteView[]                every NAT / encap the legs met
 *     ├── alternatives?: Alternative[]           with --all-paths
 *     ├── defaults, diagnostics                  what the twin invented or warns of
 *     └── policy?: TracePolicyView               NetworkPolicy's word on it, and the
 *                                                checked edits that would allow it
 *
 * A StepView is a union keyed by `kind`: each kind carries its own detail
 * (StepDetails), the structured face of what the kernel model recorded
 * (kernel/step.ts). `validateTrace` checks every invariant of a built trace;
 * the tests run it on every golden and sweep trace.
 *
 * A packet that leaves the model (through a NIC wired to the world) is
 * `left-model` everywhere: the kernel's Fate, a leg's disposition, its reason.
 */
import type { Diagnostic } from '../diag.js';
import type { ConntrackSysctls } from '../kernel/conntrack/core.js';
import type { Decider, HookName, RuleHit, Verdict } from '../kernel/netfilter/index.js';
import type {
  ChainReturnDetail,
  DropDetail as KernelDropDetail,
  RewriteStepDetail,
  RuleDetail,
  Step,
  StepDetails as KernelStepDetails,
  StepKind,
} from '../kernel/step.js';
import type { TracePolicy } from '../policy/trace-annotate.js';
import type { RewriteRule, TwinDefault } from '../twin/index.js';
import type { Ipv4 } from '../wire/addr.js';
import type { L4Proto } from '../wire/packet.js';

export type { DnsQueryView, DnsRecordView, DnsView } from './model-dns.js';
import type { DnsView } from './model-dns.js';
export type { TracePolicy } from '../policy/trace-annotate.js';

// ------------------------------------------------------------------ suggested edits

/** An RFC 6902 `add` operation. */
export interface PatchOp {
  readonly op: 'add';
  /** A JSON Pointer (RFC 6901); a trailing `-` appends to a list. */
  readonly path: string;
  readonly value: unknown;
}

/** The object an edit patches or creates. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export type EditKind = 'add-port' | 'add-peer' | 'label-namespace' | 'new-policy' | 'admin-allow';

/** One edit to the objects (trace/check/suggest.ts): a patch on an existing object, or a new one. */
export interface Edit {
  readonly kind: EditKind;
  readonly summary: string;
  readonly target: ObjectRef;
  /** Operations on the existing object. */
  readonly patch?: readonly PatchOp[];
  /** A new object to create. */
  readonly create?: Readonly<Record<string, unknown>>;
}

/** Edits that together allow a denied connection, checked by the policy engine on the edited objects. */
export interface Suggestion {
  /** Other pairs the edits would also open (the asked pair not counted). */
  readonly alsoOpens: number;
  /** Pairs the edits would cut (a new policy isolating a pod the baseline governed). */
  readonly cuts: number;
  readonly edits: readonly Edit[];
}

/**
 * The trace's `policy` field: NetworkPolicy's verdict, and, when the policies deny the
 * connection and the caller asked (`trace -o json|yaml`, trace/check/suggest.ts
 * `withSuggestions`), the checked edits that would allow it on `port`, narrowest first
 * (`[]`: none packeteye can write).
 */
export interface TracePolicyView extends TracePolicy {
  readonly suggestions?: readonly Suggestion[];
}

// ------------------------------------------------------------------ packets

/** A packet as a trace shows it. */
export interface PacketView {
  readonly src: string;
  readonly dst: string;
  /** `ipip`: an IP-in-IP outer packet (protocol 4), its inner packet in `inner`. */
  readonly proto: L4Proto | 'ipip';
  /** The source port; for ICMP echo, the echo id. */
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags (`S`, `S.`, `R.`) or the ICMP type/code (`type 3 code 3`). */
  readonly flags?: string;
  /** The packet in tcpdump's words (`10.244.1.5:50471 > 10.96.0.10:53 udp`). */
  readonly text: string;
  /** The packet an IP-in-IP outer packet carries. */
  readonly inner?: PacketView;
}

// ------------------------------------------------------------------ step details

/*
 * The details the kernel model records are typed where it records them
 * (kernel/step.ts); the trace adds what the layers above annotate.
 */
export type {
  FrameDetail,
  RouteDetail,
  ArpDetail,
  BridgeDetail,
  HookDetail,
  RuleDetail,
  PolicyDetail,
  ConntrackDetail,
  RewriteStepDetail,
  NatBindingDetail,
  NatManipDetail,
  NatDetail,
  SocketDetail,
  TunnelDetail,
  FabricDetail,
  ChainReturnDetail,
} from '../kernel/step.js';

/** NetworkPolicy's word on a step, added by policy/trace-annotate.ts. */
export type PolicyNote = {
  /** `denied`, `disagreement` (the rules and the policy engine disagree), `enforcer-accepts`. */
  readonly verdict?: string;
  readonly direction?: 'egress' | 'ingress';
  readonly isolatedBy?: readonly string[];
  readonly allowedBy?: readonly string[];
  readonly enforced?: boolean;
  readonly enforcer?: string;
  /** The enforcer's rule that decided. */
  readonly rule?: RuleDetail;
  readonly explanation?: readonly string[];
};

/** `drop`: why the packet died. */
export type DropDetail = Omit<KernelDropDetail, 'policy'> & {
  /** The policy explanation of a drop in an enforcer's chain. */
  readonly policy?: PolicyNote;
};

/** `note`: the end of a user chain (back to its caller), or a policy note. */
export type NoteDetail =
  ChainReturnDetail | { readonly policy: PolicyNote; readonly rule?: RuleDetail };

/** The detail of each step kind, as a trace carries it. Kinds mapped to `never` carry none. */
export interface StepDetails extends Omit<KernelStepDetails, 'drop' | 'note'> {
  readonly drop: DropDetail;
  readonly note: NoteDetail;
}

/** One step of kind `K`: a line in the kernel's own words, the packet, and the kind's detail. */
export interface StepViewOf<K extends StepKind> {
  readonly kind: K;
  /** One line in the kernel's own words. */
  readonly summary: string;
  /** The packet as it was at this step (after the step's own rewrite, if any). */
  readonly packet?: PacketView;
  /** For rewrites: the packet before. */
  readonly before?: PacketView;
  readonly detail?: StepDetails[K];
}

/** A step of a trace, keyed by kind. */
export type StepView = { [K in StepKind]: StepViewOf<K> }[StepKind];

/** The detail of `s` when it is a `kind` step (undefined otherwise): the typed way to read a step. */
export function detailOf<K extends StepKind>(
  s: { readonly kind: StepKind; readonly detail?: unknown },
  kind: K,
): StepDetails[K] | undefined {
  return s.kind === kind ? (s.detail as StepDetails[K] | undefined) : undefined;
}

/** The rewrite a step made (nat, encap, decap, fabric, proxy), if it made one. */
export function rewriteOf(s: {
  readonly kind: StepKind;
  readonly detail?: unknown;
}): RewriteStepDetail | undefined {
  if (
    s.kind !== 'nat' &&
    s.kind !== 'encap' &&
    s.kind !== 'decap' &&
    s.kind !== 'fabric' &&
    s.kind !== 'proxy'
  )
    return undefined;
  const d = s.detail as Partial<RewriteStepDetail> | undefined;
  return d && typeof d.rewrite === 'string' ? (d as RewriteStepDetail) : undefined;
}

// ------------------------------------------------------------------ connection traces

/**
 * How a leg ended: `delivered` to a socket; `dropped` or `rejected` (an
 * answer was sent: REJECT, or an RST/ICMP for no listener); `left-model`
 * through a NIC to the world outside the model; `unsupported` where the
 * model met what it does not model.
 */
export type Disposition = 'delivered' | 'dropped' | 'rejected' | 'left-model' | 'unsupported';

/** pod, node, router (the fabric's routing host), external (an ExternalHost, `host/NAME`). */
export type HostRole = 'pod' | 'node' | 'router' | 'external';

/** The steps of one leg on one host (network namespace), in order. */
export interface Hop {
  readonly host: string;
  readonly role: HostRole;
  readonly steps: readonly StepView[];
}

/** One direction of the connection: the request, or the answer to it. */
export interface Leg {
  /** What was sent: `TCP SYN`, `UDP`, `ICMP echo request`, `TCP SYN-ACK`, `TCP RST`… */
  readonly what: string;
  /** The packet as it left the sender (its source chosen by routing for a node). */
  readonly sent: PacketView;
  /** The sending host. */
  readonly from: string;
  readonly disposition: Disposition;
  /** A DROP_REASONS name when not delivered (`left-model` when it left the model). */
  readonly reason?: string;
  /** The drop's explanation, the way out, or the socket's error. */
  readonly detail?: string;
  /** Where the packet's life ended (the receiving host, or where it died). */
  readonly at?: string;
  /** The socket that got it (`tcp 10.244.2.7:80 LISTEN (web)`). */
  readonly socket?: string;
  /** The packet as finally seen by the receiver (or where it died). */
  readonly received?: PacketView;
  readonly hops: readonly Hop[];
}

/** One rewrite a leg met, with the packet before and after. */
export interface RewriteView {
  readonly leg: 'request' | 'reply';
  /** `DNAT`, `SNAT`, `MASQUERADE`, `un-DNAT`, `un-SNAT`, `ENCAP`, `DECAP`, … */
  readonly kind: string;
  readonly host: string;
  /** The netfilter hook, device or fabric stage. */
  readonly hook: string;
  /** `src`, `dst` or `src+dst`. */
  readonly field: string;
  readonly from: string;
  readonly to: string;
  /** The NAT rule that bound it. */
  readonly rule?: RewriteRule;
  /** Who rewrote it, in words. */
  readonly by: string;
  readonly before: PacketView;
  readonly after: PacketView;
}

/** How a leg of an alternative ended. */
export interface LegSummary {
  readonly disposition: Disposition;
  readonly reason?: string;
  readonly at?: string;
  readonly received?: PacketView;
}

/** One combination of chance decisions (`--all-paths`): kube-proxy's statistic branches, a load balancer's pick. */
export interface Alternative {
  /** The product of the decisions' probabilities; the alternatives' sum to 1. */
  readonly probability: number;
  readonly decisions: readonly { label: string; p: number; value: boolean }[];
  /** Where the request was DNATed to, if anywhere. */
  readonly dnat?: string;
  readonly request: LegSummary;
  readonly reply?: LegSummary;
  readonly rewrites: readonly RewriteView[];
}

/**
 * A probability (an alternative's, 0–1) as a percentage, the one writer every
 * view uses. `fixed` keeps `digits` decimals (33.3%, 50.0%: the trace text,
 * HTML and mermaid views); `trim` rounds to `digits` decimals and drops
 * trailing zeros (33.3%, 50%: check's explanations); `whole` writes a whole
 * percentage bare and any other with `digits` decimals (50%, 33.33%:
 * `iptables trace`).
 */
export function formatPercent(
  p: number,
  digits: number,
  style: 'fixed' | 'trim' | 'whole' = 'fixed',
): string {
  const v = p * 100;
  switch (style) {
    case 'fixed':
      return `${v.toFixed(digits)}%`;
    case 'trim':
      return `${Math.round(p * 10 ** (digits + 2)) / 10 ** digits}%`;
    case 'whole':
      return `${Number.isInteger(v) ? v.toFixed(0) : v.toFixed(digits)}%`;
  }
}

/** The life of one connection through the cluster twin, there and back (`packeteye trace`). */
export interface ConnectionTrace {
  readonly from: {
    /** The reference as given (`default/client`, `node-1`, `host/laptop`, an IP). */
    readonly ref: string;
    /** What it resolved to: pod, node, external, ip. */
    readonly kind: string;
    /** The host that sends. */
    readonly host?: string;
    readonly ip: string;
  };
  readonly to: {
    readonly ref: string;
    /** pod, node, service, external, ip. */
    readonly kind: string;
    readonly ip: string;
    readonly port?: number;
  };
  readonly proto: L4Proto;
  /** The source port (the ephemeral port picked, seeded), or the ICMP echo id. */
  readonly sport: number;
  /** The seed of every chance (the ephemeral port, statistic rules). */
  readonly seed: number;
  readonly request: Leg;
  /** The answer, or null when nothing answered. */
  readonly reply: Leg | null;
  /** Every rewrite of both legs, in order. */
  readonly rewrites: readonly RewriteView[];
  /** What the twin invented because the input did not say. */
  readonly defaults: readonly TwinDefault[];
  /**
   * With `--defaults touched`: how many defaults about objects the connection
   * did not touch were left out of `defaults`.
   */
  readonly defaultsOmitted?: number;
  /** With `--all-paths`: every alternative. */
  readonly alternatives?: readonly Alternative[];
  readonly diagnostics: readonly Diagnostic[];
  /** NetworkPolicy's verdict on this connection and who enforces it (policy/trace-annotate.ts); absent when no policy selects its pods. */
  readonly policy?: TracePolicyView;
  /**
   * `--to NAME:PORT`: how the name was resolved first (trace/dns.ts). When it
   * did not resolve, `to.kind` is `name` and the legs are the last query's.
   */
  readonly dns?: DnsView;
}

/** The ingress controller that terminated a connection and dialled the backend anew (trace/l7.ts). */
export interface ProxyView {
  /** The controller pod, `NAMESPACE/NAME`. */
  readonly controller: string;
  /** The Ingress whose rule matched, `NAMESPACE/NAME`. */
  readonly ingress: string;
  /** The backend Service, `NAMESPACE/NAME:PORT`. */
  readonly service: string;
  /** The endpoint dialled, `IP:PORT`. */
  readonly backend: string;
  /** Why this backend, in words. */
  readonly why: string;
}

/**
 * A connection through an ingress controller (`trace` to an Ingress host):
 * leg 1 to the controller as the trace itself, its `rewrites` joined with a
 * `proxy` rewrite (old 5-tuple → new) and the upstream's rewrites.
 */
export interface L7Trace extends ConnectionTrace {
  /** Leg 2: the controller's own connection to the backend (absent when the request did not reach a controller). */
  readonly upstream?: ConnectionTrace;
  readonly proxy?: ProxyView;
}

// ------------------------------------------------------------------ iptables traces

/** A packet of an iptables trace. */
export interface PacketSummary {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly sport: number | null;
  readonly dport: number | null;
  /** `ipip`: protocol 4, no ports (an outer IP-in-IP packet). */
  readonly proto: L4Proto | 'ipip';
}

/** A rewrite in an iptables trace. */
export interface Rewrite {
  readonly hook: HookName;
  /** `DNAT`, `SNAT`, `MASQUERADE`, `un-DNAT`, `un-SNAT`, `ICMP`, … */
  readonly kind: string;
  readonly before: PacketSummary;
  readonly after: PacketSummary;
}

/** What a walk through the host came to: shared by the request and the reply. */
export interface WalkSummary {
  /** The hooks in order (`PREROUTING`, `FORWARD`, `POSTROUTING`). */
  readonly path: readonly HookName[];
  readonly verdict: Verdict;
  /** For an ACCEPTed packet, the filter table's last decision on the path, else the last table's. */
  readonly decidedBy: Decider | null;
  readonly reject?: { readonly with: string; readonly response: string | null };
  readonly unsupported?: {
    readonly what: string;
    readonly line?: number;
    readonly file?: string;
    readonly rule?: string;
  };
  /** Every rule that matched, in order. */
  readonly hits: readonly RuleHit[];
  readonly rewrites: readonly Rewrite[];
  /** conntrack's view of the packet at the end: NEW, ESTABLISHED_REPLY, …, or INVALID / UNTRACKED. */
  readonly ctstate: string;
  /** The skb mark at the end, `0x…`. */
  readonly mark: string;
  /** The packet as it entered the host. */
  readonly packetIn: PacketSummary;
  /** The packet at the end (after every rewrite). */
  readonly packet: PacketSummary;
  /** Every step, in order (JSON: `events`, kind and summary). */
  readonly steps: readonly Step[];
}

/** One alternative of an iptables trace. */
export interface IptablesAlternative extends WalkSummary {
  readonly probability: number;
  /** The chance decisions this alternative took (statistic rules). */
  readonly decisions: readonly {
    readonly label: string;
    readonly p: number;
    readonly taken: boolean;
  }[];
  /** The destination a DNAT/REDIRECT target bound, `IP:PORT`. */
  readonly dnat: string | null;
  readonly snat: {
    readonly kind: 'SNAT' | 'MASQUERADE';
    readonly to: string;
    /** MASQUERADE only: where the address came from. */
    readonly source?: 'out-iface address' | 'first --local-ip';
  } | null;
  /** The skb carried kube-proxy's 0x4000 mark at some point. */
  readonly masqueradeMark: boolean;
  /** With `reply`: the receiver's answer through the same host (conntrack un-NAT). */
  readonly reply: WalkSummary | null;
}

/** One packet through one host's `iptables-save` dump (`packeteye iptables trace`). */
export interface IptablesTraceResult {
  readonly input: {
    readonly src: Ipv4;
    readonly dst: Ipv4;
    readonly sport: number;
    readonly dport: number;
    readonly proto: L4Proto;
    readonly localIps: readonly Ipv4[];
    readonly inIface: string | null;
    readonly outIface: string | null;
    readonly start: 'PREROUTING' | 'OUTPUT';
    readonly allPaths: boolean;
    readonly seed: number;
    readonly tcpFlags: string | null;
    readonly sysctls: ConntrackSysctls;
    readonly reply: boolean;
  };
  readonly alternatives: readonly IptablesAlternative[];
}
