/**
 * One host's netfilter (`Netfilter`): a packet at one of the five IPv4 hooks
 * runs the functions registered there in priority order (stages.ts: the
 * tables, conntrack, NAT and confirm, and nftables base chains). The nat
 * stage is `nf_nat_inet_fn`: no ct ⇒ nothing; ICMP errors
 * RELATED to a flow get inner-header translation; a NEW (or RELATED) ct whose
 * manip type for this hook is not yet set up walks the nat table, and if no
 * rule binds, gets a null binding; ESTABLISHED packets never see the nat
 * table. Then `nf_nat_packet` applies whatever binding the ct holds — which
 * is how replies are un-NATed. What a table's walk ends in becomes the hook's
 * outcome here; a REJECT's response is reject.ts's.
 */
import { describePacket, type Ipv4Packet } from '../../wire/packet.js';
import { confirm, conntrackIn, type SkbCt } from '../conntrack/core.js';
import { isReplyInfo, type ConntrackEntry } from '../conntrack/entry.js';
import { formatTable } from '../conntrack/format.js';
import { icmpReplyTranslation, isNatDone, natPacket, nullBinding } from '../conntrack/nat.js';
import { ConntrackTable } from '../conntrack/table.js';
import { ICMP_ERROR_TYPES } from '../conntrack/tuple.js';
import type { Chooser } from '../random.js';
import { NULL_RECORDER, type ConntrackDetail, type Recorder, type Step } from '../step.js';
import type { IpSets } from './ipset.js';
import { compileRuleset, hexMark, type CompiledRuleset } from './compile.js';
import { RuleState, setPacket, type EvalCtx } from './eval.js';
import { walk, type WalkDecider, type WalkResult } from './walk.js';
import { NftState, walkNft } from './nft-walk.js';
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
import { rejectInfo } from './reject.js';
import { stagesAt, type Stage } from './stages.js';

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
          const mark = c.mark;
          const ip = c.packet.ip;
          const end = fromWalk(label, chain, walkNft(stage.nft, c, this.nft));
          if (end) return end;
          // nf_route_table_hook (type route at OUTPUT): re-route when mark, addresses or TOS changed.
          if (hook === 'OUTPUT' && stage.nft.base.type === 'route')
            run.reroute ||= routeChanged(mark, ip, c);
          break;
        }
        case 'table': {
          const t = this.compiled.tables.get(stage.table);
          if (!t || !BUILTIN_CHAINS[stage.table].includes(hook)) break;
          hookStep(stage.table, stage.priority);
          c.table = stage.table;
          const mark = c.mark;
          const ip = c.packet.ip;
          const end = fromWalk(stage.table, hook, walk(t, hook, c));
          if (end) return end;
          // iptable_mangle ipt_mangle_out: re-route for any change of mark, addresses or TOS.
          if (hook === 'OUTPUT' && stage.table === 'mangle')
            run.reroute ||= routeChanged(mark, ip, c);
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
    if (icmpErrorStage(c, ct, manip, tee)) return null;
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

/**
 * nf_nat_inet_fn's RELATED branch: an ICMP error related to a connection has
 * its embedded packet (and its own addresses) translated by the connection's
 * bindings (nf_nat_icmp_reply_translation), and no nat chain is consulted.
 * Whether the packet was such an error.
 */
function icmpErrorStage(
  c: EvalCtx,
  ct: Extract<EvalCtx['ct'], { kind: 'tracked' }>,
  manip: Extract<Stage, { kind: 'nat' }>['manip'],
  tee: Recorder,
): boolean {
  const l4 = c.packet.l4;
  if (
    (ct.ctinfo !== 'RELATED' && ct.ctinfo !== 'RELATED_REPLY') ||
    l4.kind !== 'icmp' ||
    !ICMP_ERROR_TYPES.has(l4.type)
  )
    return false;
  const before = c.packet;
  const after = icmpReplyTranslation(ct.entry, ct.ctinfo, manip, before);
  if (after !== before) {
    setPacket(c, after);
    tee.record({
      kind: 'nat',
      host: c.env.host,
      summary: `nat ${c.hook}: ICMP error translated for ct ${ct.entry.id} (nf_nat_icmp_reply_translation)`,
      before,
      packet: after,
      detail: { hook: c.hook, kind: 'ICMP', manip },
    });
  }
  return true;
}

/**
 * Whether a table changed what routing read of a locally sent packet (its
 * mark, addresses or TOS; ipt_mangle_out, nf_route_table_hook): it then
 * routes again.
 */
function routeChanged(mark: number, ip: Ipv4Packet['ip'], c: EvalCtx): boolean {
  const p = c.packet.ip;
  return mark !== c.mark || p.src !== ip.src || p.dst !== ip.dst || p.tos !== ip.tos;
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
