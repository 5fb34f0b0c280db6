/**
 * The stub resolver in the pod: how a name becomes the queries a C library
 * sends, and how their answers become addresses.
 *
 * glibc (resolv/res_query.c `__res_context_search`, res_send.c):
 * - /etc/hosts first (nsswitch `hosts: files dns`, Debian's default).
 * - dots ≥ ndots, or a trailing dot: the name as is first; a trailing dot
 *   ends there. Then (dots or not, no trailing dot) each search domain in
 *   order: a success ends the search; NXDOMAIN and NODATA go on; SERVFAIL
 *   goes on; anything else (a timeout: TRY_AGAIN without SERVFAIL) stops
 *   the search. Then the name as is, if not tried yet.
 * - getaddrinfo(AF_UNSPEC) sends A and AAAA together on one socket (A
 *   first; `single-request` waits for A before AAAA); a pair succeeds if
 *   either has an answer (`__res_context_query`).
 * - UDP first; an answer with TC set is asked again over TCP of the same
 *   nameserver (send_dg sets v_circuit), both queries of the pair.
 * - No answer: each nameserver in turn, `attempts` rounds, `timeout` s each.
 *   SERVFAIL/REFUSED/NOTIMP from a server, or a NOERROR without records,
 *   AA or RA (a "referred query"): the next server (next_ns).
 * musl (src/network/lookup_name.c `name_from_dns_search`, res_msend.c):
 * - /etc/hosts first.
 * - dots ≥ ndots or a trailing dot: only the name as is, no search. Else each
 *   search domain, then the name as is. A and AAAA in parallel.
 * - musl asks every nameserver at once and takes the first answer; the twin
 *   shows the first nameserver's.
 * - Only NXDOMAIN goes on to the next domain; NODATA (EAI_NODATA) and
 *   SERVFAIL (EAI_AGAIN) end the whole lookup — musl's well-known
 *   difference. musl 1.2.4+ retries a truncated answer over TCP (older musl
 *   used the truncated UDP answer); the twin models 1.2.4+.
 */
import type { Answer, Question, RRType } from './message.js';
import { fqdn } from './message.js';
import type { ResolvConf } from './resolvconf.js';

export type Transport = 'udp' | 'tcp';

/** One query as sent, and what came back. */
export interface Exchange {
  readonly answer?: Answer;
  /** No answer: the query (or its answer) was lost; `detail` says where. */
  readonly timeout?: { readonly detail: string };
}

/** Sends one query to `nameserver` over `transport` (the trace layer traces its packets). */
export type Send = (q: Question, transport: Transport, nameserver: string) => Exchange;

export interface QueryStep {
  readonly name: string;
  readonly type: RRType;
  readonly transport: Transport;
  readonly nameserver: string;
  /** Why this name: `as is (2 dots ≥ ndots 1)`, `search default.svc.cluster.local`, `as is, after the search list`. */
  readonly why: string;
  /** How many times it went on the wire (retries after timeouts or server failures). */
  readonly sends: number;
  readonly exchange: Exchange;
}

export type LookupStatus = 'ok' | 'nxdomain' | 'nodata' | 'servfail' | 'timeout' | 'no-nameserver';

export interface Lookup {
  readonly libc: ResolvConf['libc'];
  readonly name: string;
  readonly types: readonly RRType[];
  readonly steps: readonly QueryStep[];
  readonly status: LookupStatus;
  /** getaddrinfo's or res_search's error, as the application sees it. */
  readonly error?: string;
  /** The addresses (or SRV/PTR data), in answer order. */
  readonly results: readonly string[];
  /** The name that answered (the search expansion), and its canonical name after CNAMEs. */
  readonly answeredName?: string;
  readonly canonical?: string;
  /** Answered from /etc/hosts: no query sent. */
  readonly fromHosts?: boolean;
  /** Seconds the application waited in timeouts. */
  readonly waited: number;
}

type PairOutcome =
  | { kind: 'ok'; answers: Answer[] }
  | { kind: 'nxdomain' | 'nodata'; answers: Answer[] }
  | { kind: 'servfail'; answers: Answer[] }
  | { kind: 'timeout'; detail: string }
  | { kind: 'fail'; answers: Answer[] };

function hasData(a: Answer, t: RRType): boolean {
  return a.rcode === 'NOERROR' && a.answer.some((r) => r.type === t || r.type === 'CNAME');
}

interface Ctx {
  readonly rc: ResolvConf;
  readonly send: Send;
  readonly steps: QueryStep[];
  waited: number;
}

/** One name's queries (the types together, as getaddrinfo sends them) to the nameservers, with retries. */
function queryName(ctx: Ctx, name: string, types: readonly RRType[], why: string): PairOutcome {
  const { rc, send } = ctx;
  if (rc.nameservers.length === 0)
    return { kind: 'timeout', detail: 'no nameserver in resolv.conf' };
  let lastFail: Answer[] | undefined;
  let timeouts: string | undefined;
  for (const ns of rc.nameservers) {
    const sent: QueryStep[] = [];
    const answers: Answer[] = [];
    let lost: string | undefined;
    for (const type of types) {
      const ex = send({ name, type }, 'udp', ns);
      sent.push({ name, type, transport: 'udp', nameserver: ns, why, sends: 1, exchange: ex });
      if (ex.answer) answers.push(ex.answer);
      else lost = ex.timeout?.detail ?? 'no answer';
    }
    // Truncated: ask again over TCP (glibc: the pair; musl: the truncated one).
    const tcp: QueryStep[] = [];
    if (!lost && answers.some((a) => a.tc)) {
      answers.length = 0;
      for (const [i, type] of types.entries()) {
        const udp = sent[i]!.exchange.answer!;
        if (rc.libc === 'musl' && !udp.tc) {
          answers.push(udp);
          continue;
        }
        const ex = send({ name, type }, 'tcp', ns);
        tcp.push({
          name,
          type,
          transport: 'tcp',
          nameserver: ns,
          why: `${why}; the UDP answer was truncated (TC)`,
          sends: 1,
          exchange: ex,
        });
        if (ex.answer) answers.push(ex.answer);
        else lost = ex.timeout?.detail ?? 'no answer';
      }
    }
    const failed =
      !lost &&
      answers.some(
        (a) =>
          a.rcode === 'SERVFAIL' ||
          a.rcode === 'REFUSED' ||
          a.rcode === 'NOTIMP' ||
          (rc.libc === 'glibc' && referral(a)),
      );
    if (lost || failed) {
      // Each round re-sends; the twin is deterministic, so every attempt meets the same fate.
      const rounds = rc.attempts;
      for (const s of [...sent, ...tcp]) ctx.steps.push({ ...s, sends: rounds });
      if (lost) {
        ctx.waited += rounds * rc.timeout;
        timeouts = lost;
      } else lastFail = answers;
      continue;
    }
    ctx.steps.push(...sent, ...tcp);
    return classify(rc, types, answers);
  }
  if (lastFail) {
    const sf = lastFail.some((a) => a.rcode === 'SERVFAIL');
    return sf ? { kind: 'servfail', answers: lastFail } : { kind: 'fail', answers: lastFail };
  }
  return { kind: 'timeout', detail: timeouts ?? 'no answer' };
}

/**
 * glibc send_dg's "referred query": NOERROR with no answer, neither AA nor RA,
 * no additional records — a lame server; the next nameserver is asked (and
 * every attempt round), as for SERVFAIL.
 */
export function referral(a: Answer): boolean {
  return (
    a.rcode === 'NOERROR' &&
    a.answer.length === 0 &&
    !a.aa &&
    a.ra !== true &&
    (a.additional ?? []).length === 0
  );
}

function classify(rc: ResolvConf, types: readonly RRType[], answers: Answer[]): PairOutcome {
  if (rc.libc === 'musl') {
    // name_from_dns, answer by answer: SERVFAIL → EAI_AGAIN, NXDOMAIN → 0 (the next domain), other rcodes → EAI_FAIL.
    for (const a of answers) {
      if (a.rcode === 'SERVFAIL') return { kind: 'servfail', answers };
      if (a.rcode === 'NXDOMAIN') return { kind: 'nxdomain', answers };
      if (a.rcode !== 'NOERROR') return { kind: 'fail', answers };
    }
    if (answers.some((a, i) => hasData(a, types[i]!))) return { kind: 'ok', answers };
    return { kind: 'nodata', answers };
  }
  // __res_context_query: success if either answer is NOERROR with records.
  if (answers.some((a) => a.rcode === 'NOERROR' && a.answer.length > 0))
    return { kind: 'ok', answers };
  const first = answers[0]!;
  const rcode = first.rcode === 'NOERROR' ? (answers[1]?.rcode ?? 'NOERROR') : first.rcode;
  if (rcode === 'NXDOMAIN') return { kind: 'nxdomain', answers };
  if (rcode === 'NOERROR') return { kind: 'nodata', answers };
  if (rcode === 'SERVFAIL') return { kind: 'servfail', answers };
  return { kind: 'fail', answers };
}

const dotWord = (n: number): string => `${n} dot${n === 1 ? '' : 's'}`;

function dotsOf(name: string): number {
  return [...name].filter((c) => c === '.').length;
}

/** Where a candidate stands in the search: the first as-is try, a search element, the last as-is try. */
export type CandidateKind = 'first' | 'search' | 'last';

/** The names a libc tries for `name`, in order, each with why (the search logic only; answers decide how far it goes). */
export function candidates(
  rc: Pick<ResolvConf, 'libc' | 'ndots' | 'searches'>,
  name: string,
): { name: string; why: string; kind: CandidateKind }[] {
  const dots = dotsOf(name);
  const trailing = name.endsWith('.');
  const out: { name: string; why: string; kind: CandidateKind }[] = [];
  const enough = dots >= rc.ndots;
  if (enough || trailing)
    out.push({
      name: fqdn(name),
      why: trailing
        ? 'as is (a trailing dot: absolute)'
        : `as is (${dots} dots ≥ ndots ${rc.ndots})`,
      kind: 'first',
    });
  if (trailing || (rc.libc === 'musl' && enough)) return out;
  let rootOnList = false;
  for (const d of rc.searches) {
    const dom = d.replace(/^\./, '');
    if (dom === '') rootOnList = true;
    out.push({
      name: fqdn(dom === '' ? name : `${name}.${dom}`),
      why: `search ${dom === '' ? '.' : dom}`,
      kind: 'search',
    });
  }
  if (!enough && !rootOnList)
    out.push({
      name: fqdn(name),
      why: `as is, after the search list (${dotWord(dots)} < ndots ${rc.ndots})`,
      kind: 'last',
    });
  return out;
}

function results(
  answers: readonly Answer[],
  types: readonly RRType[],
): { results: string[]; canonical?: string } {
  const out: string[] = [];
  let canonical: string | undefined;
  for (const a of answers)
    for (const r of a.answer) {
      if (r.type === 'CNAME') canonical = r.data;
      else if (types.includes(r.type)) out.push(r.data);
    }
  return { results: [...new Set(out)], ...(canonical !== undefined ? { canonical } : {}) };
}

/** The addresses (A, AAAA) of /etc/hosts for `name`, if it is there. */
function fromHosts(rc: ResolvConf, name: string): string[] | undefined {
  const n = fqdn(name);
  const ips = rc.hosts.filter((h) => h.names.some((x) => fqdn(x) === n)).map((h) => h.ip);
  return ips.length > 0 ? ips : undefined;
}

/**
 * Resolves `name` for `types` (getaddrinfo AF_UNSPEC: A then AAAA; res_search: one type)
 * the way the pod's libc does, sending each query through `send`.
 */
export function resolve(
  rc: ResolvConf,
  name: string,
  types: readonly RRType[],
  send: Send,
): Lookup {
  const base = { libc: rc.libc, name, types };
  const hosts = types.includes('A') ? fromHosts(rc, name) : undefined;
  if (hosts)
    return { ...base, steps: [], status: 'ok', results: hosts, fromHosts: true, waited: 0 };
  if (rc.nameservers.length === 0)
    return {
      ...base,
      steps: [],
      status: 'no-nameserver',
      error: 'EAI_AGAIN: no nameserver in resolv.conf',
      results: [],
      waited: 0,
    };
  const ctx: Ctx = { rc, send, steps: [], waited: 0 };
  let saved: PairOutcome['kind'] | undefined;
  let gotNodata = false;
  let gotServfail = false;
  let last: PairOutcome['kind'] = 'nxdomain';
  let stopped = false;
  for (const c of candidates(rc, name)) {
    if (stopped && c.kind === 'search') continue;
    const o = queryName(ctx, c.name, types, c.why);
    last = o.kind;
    if (o.kind === 'ok') {
      const r = results(o.answers, types);
      return {
        ...base,
        steps: ctx.steps,
        status: 'ok',
        results: r.results,
        answeredName: c.name,
        ...(r.canonical ? { canonical: r.canonical } : {}),
        waited: ctx.waited,
      };
    }
    if (rc.libc === 'musl') {
      if (o.kind !== 'nxdomain') return failure(base, ctx, o.kind);
      continue;
    }
    if (c.kind === 'first') saved = o.kind;
    else if (c.kind === 'search') {
      if (o.kind === 'nodata') gotNodata = true;
      else if (o.kind === 'servfail') gotServfail = true;
      else if (o.kind !== 'nxdomain') stopped = true;
    }
  }
  // glibc's h_errno: the first as-is try's, else NO_DATA if any, else TRY_AGAIN on SERVFAIL, else the last.
  const kind =
    rc.libc === 'musl' ? last : (saved ?? (gotNodata ? 'nodata' : gotServfail ? 'servfail' : last));
  return failure(base, ctx, kind);
}

function failure(
  base: Pick<Lookup, 'libc' | 'name' | 'types'>,
  ctx: Ctx,
  kind: PairOutcome['kind'],
): Lookup {
  const status: LookupStatus = kind === 'ok' ? 'ok' : kind === 'fail' ? 'servfail' : kind;
  const error =
    status === 'nxdomain'
      ? 'EAI_NONAME: Name or service not known'
      : status === 'nodata'
        ? 'EAI_NODATA: No address associated with hostname'
        : 'EAI_AGAIN: Temporary failure in name resolution';
  return { ...base, steps: ctx.steps, status, error, results: [], waited: ctx.waited };
}
