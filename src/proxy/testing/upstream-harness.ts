/**
 * A reproduction of kube-proxy's unit-test packet tracer (`tracePacket`,
 * `iptablesTracer.ruleMatches`/`runChain` in `pkg/proxy/iptables/proxier_test.go`),
 * over packeteye's netfilter model, so the upstream flow expectations in
 * test/fixtures/kube-proxy can be checked like with like. It is NOT a model of
 * the kernel (that is kernel/netfilter): it walks nat PREROUTING taking every
 * probabilistic branch, never matches conntrack state, marks or `recent
 * --rcheck`, treats RETURN/MARK/MASQUERADE as "no such chain", and then walks
 * four filter chains by hand — exactly as upstream's test does.
 *
 * Test helper only.
 */

import type { Match, Rule, Ruleset, Target } from '../../kernel/netfilter/types.js';
import { cidrContainsIp, parseCidrAny, parseIpBytes, formatIpBytes } from '../ipaddr.js';

export interface HarnessOptions {
  /** What `--src-type/--dst-type LOCAL` means (127.0.0.1, ::1, node IPs for v1.30+; nodeIP and 127.0.0.1 for v1.27). */
  readonly localAddresses: readonly string[];
  /** v1.30+ compares `-p` with the packet's protocol; v1.27's tracer ignores protocol. */
  readonly compareProtocol: boolean;
}

export interface HarnessPacket {
  readonly sourceIP: string;
  /** lower case, e.g. `tcp` */
  readonly protocol: string;
  readonly destIP: string;
  readonly destPort: number;
}

export interface HarnessResult {
  /** Rule texts that matched, for debugging. */
  readonly matches: string[];
  /** DNAT destinations (or ACCEPT/DROP/REJECT) joined by ", ". */
  readonly output: string;
  readonly masq: boolean;
}

/** Thrown where upstream's test would t.Fatalf / fail to parse. */
export class HarnessError extends Error {}

function ipEqual(a: string, b: string): boolean {
  const x = parseIpBytes(a);
  const y = parseIpBytes(b);
  if (!x || !y) return false;
  return formatIpBytes(x) === formatIpBytes(y);
}

/** `addressMatches`: CIDR containment if the rule value has a prefix, else IP equality. */
function addressMatches(value: string, invert: boolean, ip: string): boolean {
  if (!parseIpBytes(ip)) throw new HarnessError(`Bad IP in test case: ${ip}`);
  let matches: boolean;
  if (value.includes('/')) {
    const c = parseCidrAny(value);
    if (!c) throw new HarnessError(`Bad CIDR in kube-proxy output: ${value}`);
    matches = cidrContainsIp(c, ip);
  } else {
    matches = ipEqual(value, ip);
  }
  return invert ? !matches : matches;
}

class Tracer {
  readonly matches: string[] = [];
  readonly outputs: string[] = [];
  markMasq = false;
  private readonly local: Set<string>;

  constructor(
    private readonly ruleset: Ruleset,
    private readonly opts: HarnessOptions,
  ) {
    this.local = new Set(
      opts.localAddresses.map((a) => {
        const b = parseIpBytes(a);
        return b ? formatIpBytes(b) : a;
      }),
    );
  }

  private isLocal(ip: string): boolean {
    const b = parseIpBytes(ip);
    return b !== undefined && this.local.has(formatIpBytes(b));
  }

  /** `ruleMatches`: every sub-match the upstream fake parses must hold; the rest is assumed to match. */
  ruleMatches(rule: Rule, p: HarnessPacket, destIP: string): boolean {
    for (const m of rule.matches) {
      if (!this.matchOne(m, p, destIP)) return false;
    }
    return true;
  }

  private matchOne(m: Match, p: HarnessPacket, destIP: string): boolean {
    switch (m.kind) {
      case 'source':
        return addressMatches(m.cidr, m.invert, p.sourceIP);
      case 'destination':
        return addressMatches(m.cidr, m.invert, destIP);
      case 'protocol':
        if (!this.opts.compareProtocol) return true;
        return (m.protocol === p.protocol) !== m.invert;
      case 'l4':
        // Upstream reads only --dport from `-m tcp/udp/sctp` (the protocol is `-p`'s job).
        if (m.sport || m.tcpFlags)
          throw new HarnessError('harness: --sport/--tcp-flags are not read by upstream tracer');
        if (m.dport) {
          const inRange = p.destPort >= m.dport.from && p.destPort <= m.dport.to;
          if (inRange === m.dport.invert) return false;
        }
        return true;
      case 'addrtype': {
        if (m.limitIfaceIn || m.limitIfaceOut)
          throw new HarnessError('harness: addrtype --limit-iface-* not modelled');
        const check = (
          spec: { types: readonly string[]; invert: boolean } | undefined,
          ip: string,
        ): boolean => {
          if (!spec) return true;
          const addrtype = this.isLocal(ip) ? 'LOCAL' : 'not-matched';
          const hit = spec.types.includes(addrtype);
          return hit !== spec.invert;
        };
        return check(m.srcType, p.sourceIP) && check(m.dstType, destIP);
      }
      case 'comment':
      case 'statistic':
      case 'nfacct': // upstream's fake parser skips flags it does not model (nfacct): they "match"
        return true;
      case 'recent':
        // AffinityCheck (`--rcheck`; `--update` likewise checks history) never matches.
        return m.action === 'set' || m.action === 'remove';
      case 'conntrack':
      case 'state':
      case 'mark':
      case 'connmark':
        // MarkCheck / CTStateCheck: history never matches in the tracer.
        return false;
      case 'unsupported':
        // Upstream's fake parser skips flags it does not model (e.g. nfacct); they "match".
        if (m.module === 'nfacct') return true;
        throw new HarnessError(`harness: unsupported match module ${m.module}`);
      default:
        throw new HarnessError(`harness: match ${m.kind} is not read by upstream's tracer`);
    }
  }

  /** `runChain`; true when a terminal action was hit. */
  runChain(
    table: 'nat' | 'filter',
    chainName: string,
    p: HarnessPacket,
    destIP: string,
    depth = 0,
  ): boolean {
    if (depth > 64) throw new HarnessError(`harness: jump depth exceeded at ${chainName}`);
    const chain = this.ruleset.tables.get(table)?.chains.get(chainName);
    if (!chain) return false;
    for (const rule of chain.rules) {
      const t = rule.target;
      if (!t) continue;
      if (!this.ruleMatches(rule, p, destIP)) continue;
      this.matches.push(`-A ${chainName} ${rule.text}`);
      const name = targetName(t);
      if (name === 'KUBE-MARK-MASQ') {
        this.markMasq = true;
        continue;
      }
      if (t.kind === 'ACCEPT' || t.kind === 'REJECT' || t.kind === 'DROP') {
        this.outputs.push(t.kind);
        return true;
      }
      if (t.kind === 'DNAT') {
        this.outputs.push(dnatDestination(t));
        return true;
      }
      const terminated = this.runChain(table, name, p, destIP, depth + 1);
      const probabilistic = rule.matches.some((m) => m.kind === 'statistic');
      if (terminated && !probabilistic) return true;
    }
    return false;
  }
}

function targetName(t: Target): string {
  switch (t.kind) {
    case 'jump':
    case 'goto':
      return t.chain;
    case 'unsupported':
      return t.name;
    default:
      return t.kind;
  }
}

function dnatDestination(t: Extract<Target, { kind: 'DNAT' }>): string {
  if (!t.toAddr) throw new HarnessError('harness: DNAT without --to-destination address');
  const addr = t.toAddr.from === t.toAddr.to ? t.toAddr.from : `${t.toAddr.from}-${t.toAddr.to}`;
  const host = addr.includes(':') ? `[${addr}]` : addr;
  if (!t.toPorts) return host;
  const ports =
    t.toPorts.from === t.toPorts.to ? `${t.toPorts.from}` : `${t.toPorts.from}-${t.toPorts.to}`;
  return `${host}:${ports}`;
}

/** `tracePacket`: nat PREROUTING, then (with the first DNAT destination) four filter chains. */
export function tracePacket(
  ruleset: Ruleset,
  p: HarnessPacket,
  opts: HarnessOptions,
): HarnessResult {
  const tracer = new Tracer(ruleset, opts);
  let destIP = p.destIP;
  tracer.runChain('nat', 'PREROUTING', p, destIP);
  // Upstream: strings.Split(outputs[0], ":")[0] (which mangles "[v6]:port"; reproduced).
  if (tracer.outputs.length !== 0) destIP = tracer.outputs[0]!.split(':')[0]!;
  for (const chain of [
    'KUBE-SERVICES',
    'KUBE-EXTERNAL-SERVICES',
    'KUBE-NODEPORTS',
    'KUBE-PROXY-FIREWALL',
  ]) {
    tracer.runChain('filter', chain, p, destIP);
  }
  return { matches: tracer.matches, output: tracer.outputs.join(', '), masq: tracer.markMasq };
}
