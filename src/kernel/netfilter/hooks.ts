/**
 * The hook pipeline: for each of the five IPv4 hooks, the functions the
 * kernel registers there, in priority order (lower runs first;
 * include/uapi/linux/netfilter_ipv4.h, nf_conntrack_proto.c
 * ipv4_conntrack_ops[], nf_nat_proto.c nf_nat_ipv4_ops[]):
 *
 *   PREROUTING  raw(-300) → conntrack in(-200) → mangle(-150) → nat DNAT(-100)
 *   INPUT       mangle(-150) → filter(0) → security(50) → nat SNAT(100) → confirm(INT_MAX)
 *   FORWARD     mangle(-150) → filter(0) → security(50)
 *   OUTPUT      raw(-300) → conntrack local(-200) → mangle(-150) → nat DNAT(-100) → filter(0) → security(50)
 *   POSTROUTING mangle(-150) → nat SNAT(100) → confirm(INT_MAX)
 *
 * A table's hook only exists when the ruleset has that table (its module is
 * loaded). The nat stage is `nf_nat_inet_fn`: no ct ⇒ nothing; ICMP errors
 * RELATED to a flow get inner-header translation; a NEW (or RELATED) ct whose
 * manip type for this hook is not yet set up walks the nat table, and if no
 * rule binds, gets a null binding; ESTABLISHED packets never see the nat
 * table. Then `nf_nat_packet` applies whatever binding the ct holds — which
 * is how replies are un-NATed.
 */
import type { Ipv4 } from '../../wire/addr.js';
import { describePacket, NO_FLAGS, type Ipv4Packet } from '../../wire/packet.js';
import { confirm, conntrackIn, type SkbCt } from '../conntrack/core.js';
import { isReplyInfo, type ConntrackEntry } from '../conntrack/entry.js';
import { formatTable } from '../conntrack/format.js';
import {
  icmpReplyTranslation,
  isNatDone,
  natPacket,
  nullBinding,
  type ManipType,
} from '../conntrack/nat.js';
import { ConntrackTable } from '../conntrack/table.js';
import { ICMP_ERROR_TYPES } from '../conntrack/tuple.js';
import type { Chooser } from '../random.js';
import { NULL_RECORDER, type ConntrackDetail, type Recorder, type Step } from '../step.js';
import type { IpSets } from './ipset.js';
import { compileRuleset, hexMark, type CompiledRuleset } from './compile.js';
import { RuleState, setPacket, type EvalCtx } from './eval.js';
import { walk, type WalkDecider, type WalkResult } from './walk.js';
import { NftState, walkNft, type CompiledNft, type NftStage } from './nft-walk.js';
import type {
  Decider,
  HookContext,
  HookOutcome,
  NetfilterEnv,
  NftTableLabel,
  RejectInfo,
  RuleHit,
  Skb,
  TableDecision,
  Verdict,
} from './env.js';
import { BUILTIN_CHAINS, type HookName, type Ruleset, type TableName } from './types.js';

/** One registered hook function. */
export type Stage =
  | { readonly kind: 'table'; readonly table: Exclude<TableName, 'nat'>; readonly priority: number }
  | { readonly kind: 'nat'; readonly manip: ManipType; readonly priority: number }
  | { readonly kind: 'conntrack'; readonly priority: number }
  | { readonly kind: 'confirm'; readonly priority: number }
  /** An nftables base chain of type filter or route (nat chains run inside the nat stage). */
  | { readonly kind: 'nft'; readonly nft: NftStage; readonly priority: number };

const RAW: Stage = { kind: 'table', table: 'raw', priority: -300 };
const CT: Stage = { kind: 'conntrack', priority: -200 };
const MANGLE: Stage = { kind: 'table', table: 'mangle', priority: -150 };
const NAT_DST: Stage = { kind: 'nat', manip: 'DST', priority: -100 };
const FILTER: Stage = { kind: 'table', table: 'filter', priority: 0 };
const SECURITY: Stage = { kind: 'table', table: 'security', priority: 50 };
const NAT_SRC: Stage = { kind: 'nat', manip: 'SRC', priority: 100 };
const CONFIRM: Stage = { kind: 'confirm', priority: Number.MAX_SAFE_INTEGER };

/** The kernel's hook functions per hook, in priority order (§1.1). */
export const HOOK_STAGES: Readonly<Record<HookName, readonly Stage[]>> = {
  PREROUTING: [RAW, CT, MANGLE, NAT_DST],
  INPUT: [MANGLE, FILTER, SECURITY, NAT_SRC, CONFIRM],
  FORWARD: [MANGLE, FILTER, SECURITY],
  OUTPUT: [RAW, CT, MANGLE, NAT_DST, FILTER, SECURITY],
  POSTROUTING: [MANGLE, NAT_SRC, CONFIRM],
};

/**
 * The hook functions at `hook` with the host's nftables base chains among
 * them by priority. At equal priority the iptables table comes first (the
 * kernel orders equal priorities by registration, which a dump does not
 * record). nftables `type nat` chains are not stages of their own: like
 * iptables' nat table they register with the NAT core (nf_nat_register_fn)
 * and run inside its stage, ordered among themselves by priority.
 */
export function stagesAt(
  hook: HookName,
  nft: CompiledNft | undefined,
  v6: boolean,
): readonly Stage[] {
  const base = HOOK_STAGES[hook];
  if (!nft) return base;
  const extra = nft.stages(hook, v6).filter((s) => s.base.type !== 'nat');
  if (extra.length === 0) return base;
  const all: Stage[] = [
    ...base,
    ...extra.map((s): Stage => ({ kind: 'nft', nft: s, priority: s.priority })),
  ];
  // Array.prototype.sort is stable: base stages were listed first.
  return all.sort((a, b) => a.priority - b.priority);
}

export function newSkb(packet: Ipv4Packet): Skb {
  return { packet, mark: 0, ct: { kind: 'none' } };
}

/**
 * One host's netfilter: its ruleset (compiled once), conntrack table and
 * rule state (xt_recent tables, statistic nth counters).
 */
export class Netfilter {
  private compiled: CompiledRuleset;
  readonly conntrack = new ConntrackTable();
  /** Rule state across packets (xt_recent tables, statistic nth counters, the IP sets). */
  private rules: RuleState;
  /** nftables state across packets: dynamic set elements (`update @set`), numgen counters, limits. */
  private nft = new NftState();

  /**
   * `ruleset` may be precompiled (`compileRuleset`) to share one compilation
   * between hosts or runs; `ipsets` are the host's IP sets (`-m set`).
   */
  constructor(
    ruleset: Ruleset | CompiledRuleset,
    readonly env: NetfilterEnv,
    ipsets?: IpSets,
  ) {
    this.compiled = 'source' in ruleset ? ruleset : compileRuleset(ruleset);
    this.rules = new RuleState(ipsets);
  }

  /** The rule state now (reset makes a new one once a packet wrote to it). */
  get ruleState(): RuleState {
    return this.rules;
  }

  /**
   * The same rules and IP sets with no conntrack entry and no rule or nft
   * state, in place: state no packet wrote to is kept rather than made anew.
   */
  reset(): void {
    this.conntrack.clear();
    if (this.rules.written) this.rules = new RuleState(this.rules.ipsets);
    if (this.nft.written) this.nft = new NftState();
  }

  get ruleset(): Ruleset {
    return this.compiled.source;
  }

  /** The compiled rules in force (after any iptables-restore). */
  get compiledRuleset(): CompiledRuleset {
    return this.compiled;
  }

  /** iptables-restore: new rules for new connections; existing ct entries keep their bindings. */
  setRuleset(ruleset: Ruleset): void {
    this.compiled = compileRuleset(ruleset);
  }

  /** The conntrack table's entries, with the clock they are read at (for expiry). */
  conntrackEntries(): { readonly entries: readonly ConntrackEntry[]; readonly now: number } {
    const now = this.env.now();
    return { entries: this.conntrack.list(now), now };
  }

  /** `conntrack -L` */
  listConntrack(): string {
    const now = this.env.now();
    return formatTable(this.conntrack.list(now), now);
  }

  /** Runs every hook function registered at `hook`, in priority order. */
  run(
    hook: HookName,
    skb: Skb,
    hctx: HookContext,
    chooser: Chooser,
    rec: Recorder = NULL_RECORDER,
  ): HookOutcome {
    const steps: Step[] = [];
    const tee: Recorder = {
      record(s) {
        steps.push(s);
        rec.record(s);
      },
    };
    const hits: RuleHit[] = [];
    const c = this.evalCtx(hook, skb, hctx, chooser, tee, hits);
    setPacket(c, skb.packet);
    const run: HookRun = {
      hook,
      c,
      tee,
      steps,
      hits,
      tables: [],
      start: { packet: skb.packet, mark: skb.mark },
      reroute: false,
    };
    const tables = run.tables;
    const host = this.env.host;
    const finish = (
      verdict: Verdict,
      decidedBy: Decider | null,
      extra: { reject?: RejectInfo; unsupported?: HookOutcome['unsupported'] } = {},
    ): HookOutcome => finishRun(run, verdict, decidedBy, extra);
    const fromWalk = (
      table: TableName | NftTableLabel,
      chain: string,
      r: WalkResult,
    ): HookOutcome | null => walkEnd(run, this.env, table, chain, r);

    const hookStep = (table: TableName | NftTableLabel, priority: number) =>
      tee.record({
        kind: 'hook',
        host,
        summary: `${table} ${hook} (priority ${priority})`,
        packet: c.packet,
        detail: { hook, table, priority, mark: hexMark(c.mark) },
      });
    // A conntrack event (conntrackIn, confirm), shown with the entry it left on the packet.
    const recordConntrack = (event: string) =>
      tee.record({
        kind: 'conntrack',
        host,
        summary: `conntrack: ${event}`,
        packet: c.packet,
        detail: ctDetail(c.ct),
      });

    for (const stage of stagesAt(hook, this.compiled.nft, c.v6)) {
      switch (stage.kind) {
        case 'nft': {
          const label = stage.nft.table.label;
          const chain = stage.nft.chain.name;
          tee.record({
            kind: 'hook',
            host,
            summary: `${label} ${chain} ${hook} (priority ${stage.priority})`,
            packet: c.packet,
            detail: { hook, table: label, chain, priority: stage.priority, mark: hexMark(c.mark) },
          });
          c.table = label;
          const before = { mark: c.mark, packet: c.packet };
          const end = fromWalk(label, chain, walkNft(stage.nft, c, this.nft));
          if (end) return end;
          // nf_route_table_hook (type route at OUTPUT): re-route when mark, addresses or TOS changed.
          if (hook === 'OUTPUT' && stage.nft.base.type === 'route') {
            const p = c.packet.ip;
            const b = before.packet.ip;
            run.reroute ||=
              before.mark !== c.mark || p.src !== b.src || p.dst !== b.dst || p.tos !== b.tos;
          }
          break;
        }
        case 'table': {
          const t = this.compiled.tables.get(stage.table);
          if (!t || !BUILTIN_CHAINS[stage.table].includes(hook)) break;
          hookStep(stage.table, stage.priority);
          c.table = stage.table;
          const before = { mark: c.mark, packet: c.packet };
          const end = fromWalk(stage.table, hook, walk(t, hook, c));
          if (end) return end;
          // iptable_mangle ipt_mangle_out: re-route for any change of mark, addresses or TOS.
          if (hook === 'OUTPUT' && stage.table === 'mangle') {
            const p = c.packet.ip;
            const b = before.packet.ip;
            run.reroute ||=
              before.mark !== c.mark || p.src !== b.src || p.dst !== b.dst || p.tos !== b.tos;
          }
          break;
        }
        case 'conntrack': {
          const r = conntrackIn(this.conntrack, c.packet, c.ct, this.env.sysctls, c.now);
          c.ct = r.ct;
          recordConntrack(r.event);
          break;
        }
        case 'nat': {
          const end = this.natStage(c, stage, tee, fromWalk, hookStep);
          if (end) return end;
          break;
        }
        case 'confirm': {
          const r = confirm(this.conntrack, c.ct, c.now);
          if (r.kind === 'drop') {
            tee.record({ kind: 'drop', host, summary: r.event, packet: c.packet });
            return finish('DROP', { kind: 'kernel', hook, reason: r.event });
          }
          c.ct = r.ct;
          if (r.event) recordConntrack(r.event);
          break;
        }
      }
    }
    // Accepted: the filter table's word if it ran here (where policy lives), else the last table's.
    const filter = tables.find((t) => t.table === 'filter');
    return finish('ACCEPT', (filter ?? tables[tables.length - 1])?.decidedBy ?? null);
  }

  /** The evaluation context of one packet at one hook: its fields, devices, mark, conntrack. */
  private evalCtx(
    hook: HookName,
    skb: Skb,
    hctx: HookContext,
    chooser: Chooser,
    tee: Recorder,
    hits: RuleHit[],
  ): EvalCtx {
    return {
      hook,
      table: 'filter',
      packet: skb.packet,
      src: 0,
      dst: 0,
      v6: false,
      src6: 0n,
      dst6: 0n,
      proto: 0,
      sport: -1,
      dport: -1,
      tcpFlags: 0,
      icmpType: -1,
      icmpCode: -1,
      inIface: hctx.inIface ?? '',
      outIface: hctx.outIface ?? '',
      hctx,
      mark: skb.mark,
      ct: skb.ct,
      env: this.env,
      chooser,
      state: this.rules,
      conntrack: this.conntrack,
      now: this.env.now(),
      label: '',
      ...(this.compiled.file !== undefined ? { file: this.compiled.file } : {}),
      hits,
      rec: tee,
      notes: [],
    };
  }

  /** nf_nat_inet_fn + nf_nat_packet for one hook. Returns an outcome only when the packet's fate ends here. */
  private natStage(
    c: EvalCtx,
    stage: Extract<Stage, { kind: 'nat' }>,
    tee: Recorder,
    fromWalk: (
      table: TableName | NftTableLabel,
      chain: string,
      r: WalkResult,
    ) => HookOutcome | null,
    hookStep: (table: TableName | NftTableLabel, priority: number) => void,
  ): HookOutcome | null {
    const hook = c.hook;
    const ipt = this.compiled.tables.get('nat');
    const t = ipt && BUILTIN_CHAINS.nat.includes(hook) ? ipt : undefined;
    const nft = this.compiled.nft;
    const nftNat = nft?.stages(hook, c.v6).filter((s) => s.base.type === 'nat') ?? [];
    // The NAT core runs at all four hooks once any nat chain is registered (nf_nat_register_fn).
    if (!ipt && !nft?.hasNat(c.v6)) return null;
    const host = this.env.host;
    const ct = c.ct;
    if (ct.kind !== 'tracked') {
      tee.record({
        kind: 'note',
        host,
        summary: `nat ${hook}: skipped, the packet has no conntrack entry (${ct.kind === 'untracked' ? 'NOTRACK' : 'INVALID'})`,
        packet: c.packet,
      });
      return null;
    }
    const manip = stage.manip;
    const l4 = c.packet.l4;
    if (
      (ct.ctinfo === 'RELATED' || ct.ctinfo === 'RELATED_REPLY') &&
      l4.kind === 'icmp' &&
      ICMP_ERROR_TYPES.has(l4.type)
    ) {
      const before = c.packet;
      const after = icmpReplyTranslation(ct.entry, ct.ctinfo, manip, before);
      if (after !== before) {
        setPacket(c, after);
        tee.record({
          kind: 'nat',
          host,
          summary: `nat ${hook}: ICMP error translated for ct ${ct.entry.id} (nf_nat_icmp_reply_translation)`,
          before,
          packet: after,
          detail: { hook, kind: 'ICMP', manip },
        });
      }
      return null;
    }
    if (ct.ctinfo === 'NEW' || ct.ctinfo === 'RELATED' || ct.ctinfo === 'RELATED_REPLY') {
      if (!isNatDone(ct.entry, manip)) {
        // nf_nat_inet_fn: each registered nat chain by priority until one binds.
        const chains: { priority: number; run: () => HookOutcome | null }[] = [];
        if (t) {
          chains.push({
            priority: stage.priority,
            run: () => {
              hookStep('nat', stage.priority);
              c.table = 'nat';
              c.manip = manip;
              const r = walk(t, hook, c);
              c.manip = undefined;
              return fromWalk('nat', hook, r);
            },
          });
        }
        for (const s of nftNat) {
          chains.push({
            priority: s.priority,
            run: () => {
              const label = s.table.label;
              tee.record({
                kind: 'hook',
                host,
                summary: `${label} ${s.chain.name} ${hook} (nat, priority ${s.priority})`,
                packet: c.packet,
                detail: {
                  hook,
                  table: label,
                  chain: s.chain.name,
                  priority: s.priority,
                  mark: hexMark(c.mark),
                },
              });
              c.table = label;
              c.manip = manip;
              const r = walkNft(s, c, this.nft);
              c.manip = undefined;
              return fromWalk(label, s.chain.name, r);
            },
          });
        }
        chains.sort((a, b) => a.priority - b.priority);
        for (const ch of chains) {
          const end = ch.run();
          if (end) return end;
          const now = c.ct;
          if (now.kind === 'tracked' && isNatDone(now.entry, manip)) break;
        }
        const cur = c.ct;
        if (cur.kind === 'tracked' && !isNatDone(cur.entry, manip)) {
          const e = nullBinding(cur.entry, manip, {
            table: this.conntrack,
            chooser: c.chooser,
            now: c.now,
            label: `nat ${hook} null binding`,
          });
          c.ct = { ...cur, entry: e };
        }
      } else {
        tee.record({
          kind: 'note',
          host,
          summary: `nat ${hook}: not consulted, ct ${ct.entry.id} already has its ${manip} binding`,
          packet: c.packet,
        });
      }
    }
    const cur = c.ct;
    if (cur.kind !== 'tracked') return null;
    const before = c.packet;
    const after = natPacket(cur.entry, cur.ctinfo, manip, before);
    if (
      after !== before &&
      (after.ip.src !== before.ip.src ||
        after.ip.dst !== before.ip.dst ||
        portsDiffer(after, before))
    ) {
      setPacket(c, after);
      const reply = isReplyInfo(cur.ctinfo);
      const kind = reply
        ? manip === 'SRC'
          ? 'un-DNAT'
          : 'un-SNAT'
        : manip === 'DST'
          ? 'DNAT'
          : cur.entry.masqIface !== undefined
            ? 'MASQUERADE'
            : 'SNAT';
      tee.record({
        kind: 'nat',
        host,
        summary: `nat ${hook}: ${kind} ${describePacket(before)} -> ${describePacket(after)}`,
        before,
        packet: after,
        detail: { hook, kind, manip, ct: cur.entry.id },
      });
    }
    return null;
  }
}

function portsDiffer(a: Ipv4Packet, b: Ipv4Packet): boolean {
  const x = a.l4;
  const y = b.l4;
  if (x.kind === 'icmp' || y.kind === 'icmp')
    return x.kind === 'icmp' && y.kind === 'icmp' && x.id !== y.id;
  if (x.kind === 'ipip' || y.kind === 'ipip') return false;
  return x.sport !== y.sport || x.dport !== y.dport;
}

function toDecider(hook: HookName, table: TableName | NftTableLabel, d: WalkDecider): Decider {
  if (d.kind === 'policy') return { kind: 'policy', hook, table, chain: d.chain, policy: d.policy };
  // Assigned onto the literal, not spread after its first key (V8's slow path, every hook).
  return Object.assign(Object.assign({ kind: 'rule' as const }, d.ref), { target: d.target });
}

function ctDetail(ct: SkbCt): ConntrackDetail {
  if (ct.kind !== 'tracked') return { ct: ct.kind === 'none' ? 'INVALID' : 'UNTRACKED' };
  return {
    ct: ct.entry.id,
    ctinfo: ct.ctinfo,
    original: ct.entry.original,
    reply: ct.entry.reply,
    status: ct.entry.status,
    ...(ct.entry.tcp ? { tcpState: ct.entry.tcp.state } : {}),
  };
}

/** ICMP codes of `--reject-with` (ipt_REJECT.c reject_tg). */
export const REJECT_CODES: Readonly<Record<string, number>> = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-proto-unreachable': 2,
  'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
};

/** ICMPv6 destination-unreachable codes of ip6tables' `--reject-with` (ip6t_REJECT.c reject_tg6). */
const REJECT6_CODES: Readonly<Record<string, number>> = {
  'icmp6-no-route': 0,
  'icmp6-adm-prohibited': 1,
  'icmp6-addr-unreachable': 3,
  'icmp6-port-unreachable': 4,
  'icmp6-policy-fail': 5,
  'icmp6-reject-route': 6,
};

/** One hook's run: its context, what it recorded, and whether OUTPUT must re-route. */
interface HookRun {
  readonly hook: HookName;
  readonly c: EvalCtx;
  readonly tee: Recorder;
  readonly steps: Step[];
  readonly hits: RuleHit[];
  readonly tables: TableDecision[];
  readonly start: { readonly packet: Ipv4Packet; readonly mark: number };
  reroute: boolean;
}

/** The hook's outcome: the verdict, who gave it, the packet as it leaves. */
function finishRun(
  run: HookRun,
  verdict: Verdict,
  decidedBy: Decider | null,
  extra: { reject?: RejectInfo; unsupported?: HookOutcome['unsupported'] },
): HookOutcome {
  const { hook, c, tables, hits, steps, start } = run;
  if (hook === 'OUTPUT' && verdict === 'ACCEPT') {
    run.reroute ||= c.packet.ip.dst !== start.packet.ip.dst;
  }
  return {
    hook,
    verdict,
    decidedBy,
    skb: { packet: c.packet, mark: c.mark, ct: c.ct },
    tables,
    hits,
    steps,
    ...extra,
    rerouteNeeded: run.reroute,
  };
}

/** What a table's walk means for the hook: steps for its notes and policy; an outcome when it ends the packet. */
function walkEnd(
  run: HookRun,
  env: NetfilterEnv,
  table: TableName | NftTableLabel,
  chain: string,
  r: WalkResult,
): HookOutcome | null {
  const { hook, c, tee, tables } = run;
  const host = env.host;
  const finish = (
    verdict: Verdict,
    decidedBy: Decider | null,
    extra: { reject?: RejectInfo; unsupported?: HookOutcome['unsupported'] } = {},
  ): HookOutcome => finishRun(run, verdict, decidedBy, extra);
  const by = r.by ? toDecider(hook, table, r.by) : null;
  for (const n of c.notes.splice(0)) {
    const summary = `${n.ref.table} ${n.ref.chain} #${n.ref.index}: ${n.text}`;
    tee.record(
      n.nat
        ? {
            kind: 'nat',
            host,
            summary,
            packet: c.packet,
            detail: { ...n.ref, binding: n.nat.kind, to: n.nat.to },
          }
        : { kind: 'note', host, summary, packet: c.packet },
    );
  }
  if (by) tables.push({ table, chain, verdict: r.kind, decidedBy: by });
  if (r.by?.kind === 'policy') {
    tee.record({
      kind: 'policy',
      host,
      summary: `${table} ${chain}: policy ${r.by.policy}`,
      packet: c.packet,
      detail: { hook, table, chain, policy: r.by.policy },
    });
  }
  switch (r.kind) {
    case 'ACCEPT':
      return null;
    case 'DROP': {
      const why = 'reason' in r && r.reason ? ` (${r.reason})` : '';
      tee.record({
        kind: 'drop',
        host,
        summary: `${table} ${chain}: DROP${why}`,
        packet: c.packet,
      });
      return finish('DROP', by);
    }
    case 'REJECT': {
      const reject = rejectInfo(c.packet, r.with, env);
      tee.record({
        kind: 'drop',
        host,
        summary: `${table} ${chain}: REJECT --reject-with ${r.with}`,
        packet: c.packet,
        detail: {
          with: r.with,
          ...(reject.response ? { response: describePacket(reject.response) } : {}),
        },
      });
      return finish('REJECT', by, { reject });
    }
    case 'UNSUPPORTED': {
      const rule = r.by?.kind === 'rule' ? r.by.ref : undefined;
      tee.record({
        kind: 'note',
        host,
        summary: `${table} ${chain}: UNSUPPORTED: ${r.what}${rule?.line !== undefined ? ` at ${rule.file ?? ''}:${rule.line}` : ''}`,
        packet: c.packet,
      });
      return finish('UNSUPPORTED', by, {
        unsupported: { what: r.what, ...(rule ? { rule } : {}) },
      });
    }
  }
}

/**
 * What REJECT sends: a TCP RST (nf_send_reset: seq from the ACK, or an ACK of
 * the segment) or an ICMP destination-unreachable (nf_send_unreach →
 * icmp_send). icmp_send picks the error's source by a route lookup unless the
 * rejected packet was addressed to this host; in that case we know it, else
 * the response is left for the Host to address (response null).
 */
export function rejectInfo(p: Ipv4Packet, withType: string, env: NetfilterEnv): RejectInfo {
  const l4 = p.l4;
  if (withType === 'tcp-reset') {
    if (l4.kind !== 'tcp' || l4.flags.rst) return { with: withType, response: null };
    const ack = l4.flags.ack;
    const seg = ack
      ? { seq: l4.ack, ack: 0, flags: { ...NO_FLAGS, rst: true } }
      : {
          seq: 0,
          ack: (l4.seq + p.payloadLength + (l4.flags.syn ? 1 : 0) + (l4.flags.fin ? 1 : 0)) >>> 0,
          flags: { ...NO_FLAGS, rst: true, ack: true },
        };
    return {
      with: withType,
      response: {
        ip: { src: p.ip.dst, dst: p.ip.src, ttl: 64, id: 0, df: false, tos: 0 },
        l4: { kind: 'tcp', sport: l4.dport, dport: l4.sport, window: 0, ...seg },
        payloadLength: 0,
      },
    };
  }
  const v6 = p.ip.src.indexOf(':') >= 0;
  // icmp_send / icmpv6_send never answer an ICMP error (ICMPv6 errors are types < 128).
  if (l4.kind === 'icmp' && (v6 ? l4.type < 128 : ICMP_ERROR_TYPES.has(l4.type)))
    return { with: withType, response: null };
  // nf_send_unreach6: ICMPv6 type 1 (destination unreachable) with the option's code.
  const code = v6 ? (REJECT6_CODES[withType] ?? 4) : (REJECT_CODES[withType] ?? 3);
  const local = env.addrType(p.ip.dst) === 'LOCAL';
  if (!local) return { with: withType, response: null };
  const src: Ipv4 = p.ip.dst;
  return {
    with: withType,
    response: {
      ip: { src, dst: p.ip.src, ttl: 64, id: 0, df: false, tos: 0xc0 },
      l4: { kind: 'icmp', type: v6 ? 1 : 3, code, inner: p },
      payloadLength: 0,
    },
  };
}
