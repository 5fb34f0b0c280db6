/**
 * The views of an `iptables trace` (trace/iptables-trace.ts): the JSON
 * document behind `-o json|yaml` and the text a person reads. The JSON
 * contract is documented where the command is (cli/iptables.ts).
 */
import type { Diagnostic } from '../diag.js';
import type { Decider, RuleHit } from '../kernel/netfilter/index.js';
import { KUBE_MASQ_MARK } from '../trace/iptables-trace.js';
import type {
  IptablesAlternative as Alternative,
  IptablesTraceResult,
  PacketSummary,
  WalkSummary,
} from '../trace/model.js';
import { detailOf, formatPercent } from '../trace/model.js';
import { formatHostPort } from '../wire/addr.js';

// ---------------------------------------------------------------------------
// JSON

function deciderJson(d: Decider | null): unknown {
  if (!d) return null;
  switch (d.kind) {
    case 'rule':
      return { kind: 'rule', ...hitJson(d) };
    case 'policy':
      return { kind: 'policy', hook: d.hook, table: d.table, chain: d.chain, policy: d.policy };
    case 'kernel':
      return { kind: 'kernel', hook: d.hook, reason: d.reason };
  }
}

function hitJson(h: RuleHit): Record<string, unknown> {
  return {
    hook: h.hook,
    table: h.table,
    chain: h.chain,
    index: h.index,
    file: h.file ?? null,
    line: h.line ?? null,
    rule: h.text,
    target: h.target,
    ...(h.handle !== undefined ? { handle: h.handle } : {}),
  };
}

/** A rule as its tool writes it: `-A CHAIN …` for iptables, `CHAIN: …` for an nftables table (`ip kube-proxy`). */
function ruleText(table: unknown, chain: unknown, text: unknown): string {
  return String(table).includes(' ')
    ? `${String(chain)}: ${String(text)}`
    : `-A ${String(chain)} ${String(text)}`;
}

function walkJson(w: WalkSummary): Record<string, unknown> {
  return {
    path: w.path,
    verdict: w.verdict,
    decidedBy: deciderJson(w.decidedBy),
    ctstate: w.ctstate,
    mark: w.mark,
    ...(w.reject ? { reject: w.reject } : {}),
    ...(w.unsupported ? { unsupported: w.unsupported } : {}),
    hits: w.hits.map(hitJson),
    rewrites: w.rewrites,
    packetIn: w.packetIn,
    packet: w.packet,
    events: w.steps.map((s) => ({ kind: s.kind, summary: s.summary })),
  };
}

export function iptablesTraceJson(
  r: IptablesTraceResult,
  rules: string | null,
  warnings: readonly Diagnostic[],
  files: { readonly ipsets?: string; readonly routes?: string; readonly ruleset?: string } = {},
): unknown {
  return {
    input: {
      ...r.input,
      rules,
      ...(files.ruleset !== undefined ? { ruleset: files.ruleset } : {}),
      ...(files.ipsets !== undefined ? { ipsets: files.ipsets } : {}),
      ...(files.routes !== undefined ? { routes: files.routes } : {}),
    },
    alternatives: r.alternatives.map((a) => ({
      probability: a.probability,
      decisions: a.decisions,
      ...walkJson(a),
      dnat: a.dnat,
      snat: a.snat,
      masqueradeMark: a.masqueradeMark,
      reply: a.reply ? walkJson(a.reply) : null,
    })),
    warnings: warnings.map((w) => ({
      code: w.code,
      severity: w.severity,
      message: w.message,
      file: w.file ?? null,
      line: w.line ?? null,
    })),
  };
}

// ---------------------------------------------------------------------------
// Text

function pkt(p: PacketSummary): string {
  if (p.proto === 'icmp')
    return `${p.src} > ${p.dst} icmp${p.sport !== null ? ` id ${p.sport}` : ''}`;
  return `${formatHostPort(p.src, p.sport ?? '')} > ${formatHostPort(p.dst, p.dport ?? '')} ${p.proto}`;
}

/** `FILE:LINE`; a rule with no line (read from nft -j, which prints one line) by its handle. */
function location(file: string, line: unknown, handle: unknown): string {
  if (line !== undefined) return `${file}:${String(line)}`;
  return handle !== undefined ? `${file} handle ${String(handle)}` : `${file}:?`;
}

function decider(d: Decider | null, rules: string): string {
  if (!d) return 'no table on the path (nothing decided)';
  switch (d.kind) {
    case 'rule':
      return `rule ${d.table} ${d.chain} #${d.index}${d.handle !== undefined ? ` handle ${d.handle}` : ''} (${location(d.file ?? rules, d.line, d.handle)}): ${ruleText(d.table, d.chain, d.text)}`;
    case 'policy':
      return `policy of ${d.table} ${d.chain} (${d.policy})`;
    case 'kernel':
      return `the kernel: ${d.reason}`;
  }
}

export function renderIptablesTraceText(
  r: IptablesTraceResult,
  rules: string,
  files: { readonly ipsets?: string; readonly routes?: string; readonly ruleset?: string } = {},
): string {
  const i = r.input;
  const lines: string[] = [];
  const first = `${formatHostPort(i.src, i.sport)} > ${i.proto === 'icmp' ? i.dst : formatHostPort(i.dst, i.dport)} ${i.proto}${i.proto === 'tcp' ? ' [S]' : i.proto === 'icmp' ? ' echo-request' : ''}`;
  lines.push(`packet   ${first}`);
  if (files.ruleset !== undefined) lines.push(`ruleset  ${files.ruleset}`);
  if (files.ruleset === undefined || rules !== files.ruleset) lines.push(`rules    ${rules}`);
  if (files.ipsets !== undefined) lines.push(`ipsets   ${files.ipsets}`);
  if (files.routes !== undefined) lines.push(`routes   ${files.routes}`);
  lines.push(
    `host     local ${i.localIps.length ? i.localIps.join(', ') + ', ' : ''}127.0.0.0/8; starts at ${i.start}` +
      `${i.inIface ? `; in ${i.inIface}` : ''}${i.outIface ? `; out ${i.outIface}` : ''}`,
  );
  const n = r.alternatives.length;
  lines.push(
    i.allPaths
      ? `${n} alternative${n === 1 ? '' : 's'} (every statistic branch)`
      : `1 alternative (seed ${i.seed}; --all-paths shows every branch)`,
  );
  r.alternatives.forEach((a, k) => {
    lines.push('');
    lines.push(
      `── alternative ${k + 1} of ${n}, probability ${formatPercent(a.probability, 2, 'whole')} ${'─'.repeat(20)}`,
    );
    lines.push(`  path: ${a.path.join(' → ')}`);
    lines.push(...renderSteps(a, rules));
    lines.push(...renderSummary(a, rules));
    if (a.reply) {
      lines.push(`  reply: ${pkt(a.reply.packetIn)}, the receiver's answer`);
      lines.push(`  path: ${a.reply.path.join(' → ')}`);
      lines.push(...renderSteps(a.reply, rules));
      lines.push(`  verdict: ${a.reply.verdict}, by ${decider(a.reply.decidedBy, rules)}`);
      lines.push(`  reply at the end: ${pkt(a.reply.packet)} (ctstate ${a.reply.ctstate})`);
    }
  });
  return lines.join('\n') + '\n';
}

/** Indentation shows nesting up to this depth; deeper, the depth is written (legacy iptables allows any depth). */
const MAX_INDENT = 16;

function nesting(depth: number): string {
  return depth <= MAX_INDENT ? '  '.repeat(depth) : `${'  '.repeat(MAX_INDENT)}[depth ${depth}] `;
}

function renderSteps(a: WalkSummary, rules: string): string[] {
  const out: string[] = [];
  for (const s of a.steps) {
    switch (s.kind) {
      case 'hook': {
        const d = detailOf(s, 'hook');
        out.push(
          `  ${String(d?.hook)} · ${String(d?.table)}${d && 'chain' in d ? ` ${String(d.chain)}` : ''}`,
        );
        break;
      }
      case 'rule': {
        const d = detailOf(s, 'rule');
        const where = location(d?.file ?? rules, d?.line, d?.handle);
        const indent = nesting(Number(d?.depth ?? 0));
        out.push(`    ${indent}${where}  ${ruleText(d?.table, d?.chain, d?.text)}`);
        break;
      }
      case 'policy': {
        const d = detailOf(s, 'policy');
        out.push(`    policy ${String(d?.chain)} ${String(d?.policy)}`);
        break;
      }
      case 'note': {
        const d = detailOf(s, 'note');
        if (d && 'returnTo' in d) {
          out.push(
            `    ${nesting(Number(d.depth ?? 1))}(end of ${String(d.chain)}, back to ${String(d.returnTo)})`,
          );
        } else out.push(`    ${s.summary}`);
        break;
      }
      default:
        out.push(`    ${s.summary}`);
    }
  }
  return out;
}

function renderSummary(a: Alternative, rules: string): string[] {
  const out: string[] = [];
  out.push(`  verdict: ${a.verdict}, by ${decider(a.decidedBy, rules)}`);
  if (a.unsupported) {
    out.push(
      `  unsupported: ${a.unsupported.what}${a.unsupported.line !== undefined ? ` at ${a.unsupported.file ?? rules}:${a.unsupported.line}` : ''}`,
    );
  }
  if (a.reject)
    out.push(
      `  reject-with: ${a.reject.with}${a.reject.response ? ` (sends ${a.reject.response})` : ''}`,
    );
  out.push(`  DNAT: ${a.dnat ?? 'none'}`);
  if (a.snat) {
    out.push(
      `  source rewritten: ${a.snat.kind} to ${a.snat.to}${a.snat.source ? ` (address: ${a.snat.source})` : ''}`,
    );
  } else out.push('  source rewritten: no');
  const m = Number(a.mark);
  out.push(
    `  mark: ${a.mark}; kube-proxy masquerade mark 0x${KUBE_MASQ_MARK.toString(16)}: ${a.masqueradeMark ? 'yes' : 'no'}${a.masqueradeMark && !(m & KUBE_MASQ_MARK) ? ' (set on the way, cleared by KUBE-POSTROUTING)' : ''}`,
  );
  for (const d of a.decisions)
    out.push(`  chance: ${d.label}: ${d.taken ? 'matched' : 'not matched'} (p=${d.p})`);
  out.push(`  packet at the end: ${pkt(a.packet)}`);
  return out;
}
