/**
 * The parsed form of kube-proxy's per-Service and per-endpoint rules, built
 * beside their text instead of read back from it: the `Match`es, target and
 * `iptables-save` text that `iptables/rule.ts` gives for the line the sync
 * writes. They are nearly all of a big cluster's rules (five per endpoint and
 * Service port: the cluster IP capture, its masquerade, the statistic jump,
 * the hairpin masquerade and the DNAT).
 *
 * Only IPv4 values in the form the parser keeps (a dotted quad without
 * leading zeros, a port in range, a comment under 256 characters) are built
 * here; anything else returns undefined and the installer parses the line
 * (the twin's structured install, `iptables/parse.ts` parseIptablesTables).
 * `rule-body.test.ts` checks, over the upstream golden inputs and corpora,
 * that the built Ruleset equals the parsed text's.
 */
import { formatMatch } from '../iptables/format.js';
import type { RuleBody } from '../iptables/rule.js';
import { parseRule } from '../iptables/rule.js';
import { formatProbability, saveString } from '../iptables/values.js';
import type { Match, Target } from '../kernel/netfilter/types.js';
import { plainIpv4 } from './ipaddr.js';

export { plainIpv4 };

const okPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
/**
 * `--comment` text the parser reads back as it stands: under 256 bytes
 * (XT_MAX_COMMENT_LEN), nothing the tokenizer unescapes, and one word when
 * written without quotes.
 */
function okComment(c: string, quoted: boolean): boolean {
  if (c.length === 0 || /["\\\t\n\r]/.test(c) || (!quoted && (c.includes(' ') || c[0] === '-')))
    return false;
  return c.length < 128 || Buffer.byteLength(c) < 256;
}
const L4 = new Set(['tcp', 'udp', 'sctp']);

const jump = (chain: string): Target => ({ kind: 'jump', chain });
const comment = (text: string): Match => ({ kind: 'comment', text });
// The matches and targets every rule of a kind carries alike, one object each (rules are immutable).
const PROTOCOL = new Map(
  [...L4].map((p) => [p, { kind: 'protocol', protocol: p, invert: false } as Match]),
);
const protocol = (p: string): Match => PROTOCOL.get(p)!;
const L4_ANY = new Map([...L4].map((p) => [p, { kind: 'l4', protocol: p } as Match]));

/**
 * A built rule with its text as `formatRule` prints it, written out for the
 * builder's one shape (rule-body.test.ts holds the two equal).
 */
function body(matches: Match[], target: Target, text: string): RuleBody {
  return { matches, target, text };
}

/** ` -m comment --comment C` as iptables-save prints it, or '' without one. */
const commentPart = (c: string | undefined): string =>
  c === undefined ? '' : ` -m comment --comment ${saveString(c)}`;

/**
 * Parsed fragments of a rule that repeat across the sync (the local-traffic
 * detector's `! -s CIDR`, the statistic match per endpoint count): read once
 * by the iptables parser, then shared.
 */
export class RuleBodies {
  private readonly fragments = new Map<string, readonly Match[] | null>();
  private readonly statistics = new Map<number, Match>();
  /** Jumps to the chains many rules jump to (KUBE-MARK-MASQ), one object per chain. */
  private readonly jumps = new Map<string, Target>();
  constructor(private readonly ipv4: boolean) {}

  /** The matches `args` parse to (no target), or null when the parser says anything about them. */
  private fragment(args: readonly string[]): readonly Match[] | null {
    const key = args.join(' ');
    let f = this.fragments.get(key);
    if (f === undefined) {
      const r = parseRule(key);
      f = r.diagnostics.length === 0 && !r.rule.target ? r.rule.matches : null;
      this.fragments.set(key, f);
    }
    return f;
  }

  private statistic(n: number, probability: string): Match {
    let m = this.statistics.get(n);
    if (!m) {
      m = {
        kind: 'statistic',
        mode: 'random',
        probability: Number(formatProbability(Number(probability))),
        invert: false,
      };
      this.statistics.set(n, m);
    }
    return m;
  }

  private sharedJump(chain: string): Target {
    let t = this.jumps.get(chain);
    if (!t) this.jumps.set(chain, (t = jump(chain)));
    return t;
  }

  /**
   * `-m comment --comment "C" -m P -p P -d IP --dport PORT [EXTRA] -j CHAIN`: the
   * cluster IP capture (and, with `extra` the detector's `! -s CIDR` or
   * nothing for masquerade-all, its masquerade rule).
   */
  capture(
    commentText: string,
    proto: string,
    ip: string,
    port: number,
    extra: readonly string[],
    chain: string,
  ): RuleBody | undefined {
    if (!this.ipv4 || !L4.has(proto) || !plainIpv4(ip) || !okPort(port)) return undefined;
    if (!okComment(commentText, true)) return undefined;
    const ex = extra.length === 0 ? [] : this.fragment(extra);
    // Only a lone source match keeps the basic-match order simple (-s before -d).
    if (ex === null || ex.length > 1 || (ex.length === 1 && ex[0]!.kind !== 'source'))
      return undefined;
    const dst: Match = { kind: 'destination', cidr: `${ip}/32`, invert: false };
    const l4: Match = {
      kind: 'l4',
      protocol: proto as 'tcp',
      dport: { from: port, to: port, invert: false },
    };
    const source = ex.length === 1 ? `${formatMatch(ex[0]!).slice(1)} ` : '';
    return body(
      [...ex, dst, protocol(proto), comment(commentText), l4],
      chain.startsWith('KUBE-MARK-') ? this.sharedJump(chain) : jump(chain),
      `${source}-d ${ip}/32 -p ${proto} -m comment --comment ${saveString(commentText)} -m ${proto} --dport ${port} -j ${chain}`,
    );
  }

  /** `[-m comment --comment "C"] [-m statistic --mode random --probability P] -j CHAIN`. */
  toEndpoint(
    commentText: string | undefined,
    n: number,
    probability: string | undefined,
    chain: string,
  ): RuleBody | undefined {
    if (commentText !== undefined && !okComment(commentText, true)) return undefined;
    const ms: Match[] = [];
    let text = commentPart(commentText);
    if (commentText !== undefined) ms.push(comment(commentText));
    if (probability !== undefined) {
      const m = this.statistic(n, probability);
      ms.push(m);
      text += ` -m statistic --mode random --probability ${formatProbability((m as { probability: number }).probability)}`;
    }
    return body(ms, jump(chain), `${text} -j ${chain}`.slice(1));
  }

  /** `[-m comment --comment C] -s IP -j CHAIN`: the endpoint's hairpin masquerade. */
  hairpin(commentText: string | undefined, ip: string, chain: string): RuleBody | undefined {
    if (!this.ipv4 || !plainIpv4(ip)) return undefined;
    if (commentText !== undefined && !okComment(commentText, false)) return undefined;
    const ms: Match[] = [{ kind: 'source', cidr: `${ip}/32`, invert: false }];
    if (commentText !== undefined) ms.push(comment(commentText));
    return body(ms, this.sharedJump(chain), `-s ${ip}/32${commentPart(commentText)} -j ${chain}`);
  }

  /** `[-m comment --comment C] -m P -p P -j DNAT --to-destination IP:PORT` (`endpoint`). */
  dnat(
    commentText: string | undefined,
    proto: string,
    ip: string,
    port: number,
    endpoint: string,
  ): RuleBody | undefined {
    if (!this.ipv4 || !L4.has(proto) || !plainIpv4(ip) || !okPort(port)) return undefined;
    if (endpoint !== `${ip}:${port}`) return undefined;
    if (commentText !== undefined && !okComment(commentText, false)) return undefined;
    const ms: Match[] = [protocol(proto)];
    if (commentText !== undefined) ms.push(comment(commentText));
    ms.push(L4_ANY.get(proto)!);
    return body(
      ms,
      {
        kind: 'DNAT',
        toPorts: { from: port, to: port },
        toAddr: { from: ip, to: ip },
        random: false,
        persistent: false,
      },
      `-p ${proto}${commentPart(commentText)} -m ${proto} -j DNAT --to-destination ${ip}:${port}`,
    );
  }
}
