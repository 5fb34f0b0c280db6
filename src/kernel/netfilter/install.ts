/**
 * iptables on a host: `installIptables(host, compiled, ipsets)` puts a
 * node's (or a pod's) compiled ruleset behind the Host's netfilter seam
 * (`kernel/hooks.ts` NetfilterHooks, called where Linux calls NF_HOOK), so
 * every hook runs the iptables engine with conntrack (`Netfilter`). Without
 * it a Host accepts everything (ACCEPT_ALL), like a namespace with no rules.
 *
 *   stack ── NF_HOOK ──► IptablesHooks.hook ──► Netfilter.run (tables, conntrack, NAT)
 *                               │
 *                               └─ a `nat` step per address rewrite, naming the rule
 *
 * Besides translating, the adapter names each address rewrite a hook made —
 * DNAT/SNAT/MASQUERADE by the nat rule that bound it, or the un-NAT
 * conntrack applied to a reply (nf_nat_packet with the reply tuple) — as a
 * `nat` step with the packet before and after, so the tracer can list the
 * connection's rewrites without re-deriving them.
 */
import type { Ipv4 } from '../../wire/addr.js';
import type { Ipv4Packet } from '../../wire/packet.js';
import { NO_CT } from '../conntrack/core.js';
import { isReplyInfo } from '../conntrack/entry.js';
import type { HookCall, HookResult, NetfilterHooks, SkbMeta } from '../hooks.js';
import type { Host } from '../host.js';
import type { Chooser } from '../random.js';
import { icmpError } from '../socket.js';
import { routeOutput } from '../stack/route.js';
import type { Recorder, RewriteRule, RewriteStepDetail, Step } from '../step.js';
import type { HookContext, NetfilterEnv, RuleHit } from './env.js';
import { Netfilter } from './hooks.js';
import { REJECT_CODES } from './reject.js';
import type { IpSets } from './ipset.js';
import type { CompiledRuleset } from './compile.js';
import type { Ruleset } from './types.js';

/**
 * The source an ICMP error about a FORWARDED packet gets: __icmp_send only
 * reuses the packet's destination when it is local; otherwise the reply's
 * route lookup towards the packet's source chooses it (icmp_route_lookup →
 * inet_select_addr on the device towards the source). The host supplies it.
 */
export type ErrorSource = (towards: Ipv4) => Ipv4 | null;

/** How an address rewrite came about. */
export type RewriteKind = 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT' | 'un-DNAT' | 'un-SNAT';

export type { RewriteRule };

/** The `detail` of the `nat` step the adapter records for every rewrite. */
export interface RewriteDetail {
  readonly rewrite: RewriteKind;
  readonly hook: string;
  /** The nat rule that bound it, absent for conntrack un-NAT. */
  readonly rule?: RewriteRule;
  readonly by: string;
}

function portsOf(p: Ipv4Packet): [number | undefined, number | undefined] {
  const t = p.l4;
  if (t.kind === 'icmp') return [t.id, undefined];
  if (t.kind === 'ipip') return [undefined, undefined];
  return [t.sport, t.dport];
}

/** Netfilter for one namespace, behind the Host's hook seam. */
export class IptablesHooks implements NetfilterHooks {
  readonly nf: Netfilter;

  constructor(
    ruleset: Ruleset | CompiledRuleset,
    env: NetfilterEnv,
    private readonly errorSource?: ErrorSource,
    ipsets?: IpSets,
  ) {
    this.nf = new Netfilter(ruleset, env, ipsets);
  }

  /**
   * The same rules and IP sets, with no conntrack entries and no rule or nft
   * state: these hooks, put back in place (a kept node is put back after
   * every question, and what that allocates outlives young collections).
   */
  cold(): IptablesHooks {
    this.nf.reset();
    return this;
  }

  related(meta: SkbMeta): SkbMeta {
    const ct = meta.ct;
    if (!ct || ct.kind !== 'tracked') return { mark: 0 };
    // nf_conntrack_attach: the new packet goes the other way.
    const ctinfo = isReplyInfo(ct.ctinfo) ? 'RELATED' : 'RELATED_REPLY';
    return { mark: 0, ct: { kind: 'tracked', entry: ct.entry, ctinfo } };
  }

  hook(
    call: HookCall,
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
    chooser: Chooser,
  ): HookResult {
    const ct = meta.ct ?? NO_CT;
    // netfilter records each rewrite as a plain before/after step; this adapter
    // records the same rewrite with the rule that bound it (recordRewrite), so
    // the plain one is left out rather than shown twice.
    const inner: Recorder = {
      record: (step) => {
        if (!isPlainRewrite(step)) rec.record(step);
      },
    };
    const o = this.nf.run(
      call.hook,
      { packet, mark: meta.mark, ct },
      ifacesOf(call),
      chooser,
      inner,
    );
    const after = o.skb.packet;
    if (o.verdict === 'ACCEPT')
      this.recordRewrite(call.hook, packet, after, o.hits, host.host, rec);
    const why = o.decidedBy
      ? o.decidedBy.kind === 'rule'
        ? `${o.decidedBy.table} ${o.decidedBy.chain} #${o.decidedBy.index}: -A ${o.decidedBy.chain} ${o.decidedBy.text}`
        : o.decidedBy.kind === 'policy'
          ? `${o.decidedBy.table} ${o.decidedBy.chain} policy ${o.decidedBy.policy}`
          : o.decidedBy.reason
      : undefined;
    const unsupported = o.unsupported
      ? `${o.unsupported.what}${o.unsupported.rule ? ` (${o.unsupported.rule.chain} #${o.unsupported.rule.index})` : ''}`
      : undefined;
    let rejectResponse = o.reject?.response;
    if (o.reject && rejectResponse === null && this.errorSource && o.reject.with !== 'tcp-reset') {
      // The engine answers only for local destinations; a forwarded packet's error gets its source from routing.
      const src = this.errorSource(after.ip.src);
      if (src !== null)
        rejectResponse = icmpError(after, 3, REJECT_CODES[o.reject.with] ?? 3, src, 64);
    }
    // Written field by field: a spread after other keys takes V8's slow path, and every hook makes one.
    const res: { -readonly [K in keyof HookResult]: HookResult[K] } = {
      verdict: o.verdict,
      packet: after,
      meta: { mark: o.skb.mark, ct: o.skb.ct },
    };
    if (o.reject) res.rejectResponse = rejectResponse ?? null;
    res.rerouteNeeded = o.rerouteNeeded;
    if (unsupported ?? why) res.why = unsupported ?? why;
    return res;
  }

  private recordRewrite(
    hook: string,
    before: Ipv4Packet,
    after: Ipv4Packet,
    hits: readonly RuleHit[],
    host: string,
    rec: Recorder,
  ): void {
    const [bs, bd] = portsOf(before);
    const [as, ad] = portsOf(after);
    const srcChanged = before.ip.src !== after.ip.src || bs !== as;
    const dstChanged = before.ip.dst !== after.ip.dst || bd !== ad;
    if (!srcChanged && !dstChanged) return;
    // The binding rule: iptables' nat table (`DNAT --to-destination …`) or an nftables
    // nat statement (`dnat to …`) in a table labelled `FAMILY NAME`.
    const natHit = [...hits]
      .reverse()
      .find((h) =>
        h.table === 'nat'
          ? /^(DNAT|SNAT|MASQUERADE|REDIRECT)\b/.test(h.target)
          : h.table.includes(' ') && /^(dnat|snat|masquerade|redirect)\b/.test(h.target),
      );
    const record = (kind: RewriteKind, field: 'src' | 'dst'): void => {
      const from = field === 'src' ? fmt(before.ip.src, bs) : fmt(before.ip.dst, bd);
      const to = field === 'src' ? fmt(after.ip.src, as) : fmt(after.ip.dst, ad);
      const rule = natHit && !kind.startsWith('un-') ? natHit : undefined;
      const by = !rule
        ? 'conntrack (reply direction: the inverse of the original binding)'
        : rule.table === 'nat'
          ? `${rule.chain} #${rule.index}: -j ${rule.target}`
          : `${rule.table} ${rule.chain} #${rule.index}: ${rule.target}`;
      // One literal per shape, keys in the order the documents show them (a spread takes V8's slow path).
      const bound: RewriteRule | undefined = rule
        ? {
            table: rule.table,
            chain: rule.chain,
            index: rule.index,
            text: rule.text,
            target: rule.target,
          }
        : undefined;
      const detail: RewriteDetail & RewriteStepDetail = bound
        ? { rewrite: kind, hook, rule: bound, by, field, from, to }
        : { rewrite: kind, hook, by, field, from, to };
      rec.record({
        kind: 'nat',
        host,
        summary: `${kind} ${field} ${from} → ${to} at ${hook} (${by})`,
        packet: after,
        before,
        detail,
      });
    };
    // A NEW connection's rewrite comes from the rule that bound it; a reply's from conntrack alone.
    const targetKind = natHit
      ? (natHit.target.split(' ')[0]!.toUpperCase() as RewriteKind)
      : undefined;
    if (dstChanged)
      record(targetKind === 'DNAT' || targetKind === 'REDIRECT' ? targetKind : 'un-SNAT', 'dst');
    if (srcChanged)
      record(targetKind === 'SNAT' || targetKind === 'MASQUERADE' ? targetKind : 'un-DNAT', 'src');
  }
}

function fmt(ip: Ipv4, port: number | undefined): string {
  return port === undefined ? ip : `${ip}:${port}`;
}

/** netfilter's own rewrite step (hooks.ts natStage): a `nat` step with a manip and no rule. */
/** The hook's devices as netfilter reads them, only those the call has, in this order. */
function ifacesOf(call: HookCall): HookContext {
  const c: { -readonly [K in keyof HookContext]: HookContext[K] } = {};
  if (call.inIface !== undefined) c.inIface = call.inIface;
  if (call.outIface !== undefined) c.outIface = call.outIface;
  if (call.bridge) c.bridge = call.bridge;
  if (call.nexthop !== undefined) c.nexthop = call.nexthop;
  return c;
}

function isPlainRewrite(step: Step): boolean {
  const d = step.detail as { manip?: unknown; kind?: unknown } | undefined;
  return (
    step.kind === 'nat' && step.before !== undefined && d?.manip !== undefined && d.kind !== 'ICMP'
  );
}

/**
 * Installs iptables on a host: the compiled ruleset (and the IP sets its
 * rules match on) behind every netfilter hook of `h`. An ICMP error about a
 * forwarded packet takes its source from the route back towards the sender.
 */
export function installIptables(
  h: Host,
  compiled: Ruleset | CompiledRuleset,
  ipsets?: IpSets,
): IptablesHooks {
  const hooks = new IptablesHooks(
    compiled,
    h,
    (towards) => {
      const r = routeOutput(h, { dst: towards });
      return r.ok ? (r.rt.src ?? null) : null;
    },
    ipsets,
  );
  h.netfilter = hooks;
  return hooks;
}
