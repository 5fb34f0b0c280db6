/**
 * Evaluates expectation statements against the twin: reachability statements
 * through the policy engine (the grouped matrix for the verdicts, the
 * per-pair evaluator for the explanation of a refuting pair), data-plane
 * statements through traces (dataplane.ts).
 *
 * Every ref is resolved before anything is evaluated, and every ref that does
 * not resolve is an InputError located at its statement's field, so one run
 * lists all the bad refs. A statement that is false is a result, not an
 * error: it carries what refutes it — the pairs the policies allow (or deny)
 * with the engine's explanation, or the trace.
 */
import { InputError, type Diagnostic } from '../../diag.js';
import { evaluatePair } from '../../policy/evaluate.js';
import { explainJson, explainPair, type PortQuery } from '../../policy/explain.js';
import { computeMatrix, type ReachMatrix } from '../../policy/matrix.js';
import type { Endpoint } from '../../policy/model.js';
import { cidrRange } from '../../policy/model.js';
import { PortSet } from '../../policy/ports.js';
import type { ConnectionTrace } from '../model.js';
import type { TwinPlan } from '../../twin/index.js';
import {
  checkTraceRef,
  internetHosts,
  keepsAddressByTrace,
  noInternetByTrace,
  reachByTrace,
} from './dataplane.js';
import type {
  ExpectationsFile,
  NoInternetIngressStatement,
  ReachOnlyStatement,
  ReachStatement,
  Statement,
} from './expectations.js';
import { RefError, resolveTargets, type PolicyCatalog, type Target } from './targets.js';

/** A pair the policies decide against the statement, with the engine's reasons. */
export interface PairEvidence {
  readonly from: string;
  readonly to: string;
  /** What the policies allow from → to (all ports). */
  readonly allowed: string;
  /** The ports that refute the statement. */
  readonly ports: string;
  readonly explanation: readonly string[];
  readonly json: unknown;
}

export interface StatementResult {
  readonly statement: Statement;
  readonly holds: boolean;
  /** `policy` or `dataplane`: which part of the twin decided. */
  readonly by: 'policy' | 'dataplane';
  readonly summary: string;
  readonly notes: readonly string[];
  /** The refuting pairs (policy statements that fail); at most MAX_EXPLAINED explained. */
  readonly pairs: readonly PairEvidence[];
  /** The trace that decided (data-plane statements). */
  readonly trace?: ConnectionTrace;
}

export interface CheckReport {
  readonly files: readonly { readonly file: string; readonly name: string }[];
  readonly results: readonly StatementResult[];
}

export interface CheckContext {
  readonly catalog: PolicyCatalog;
  /** The twin's plan, built on first use (only data-plane statements need it). */
  readonly plan: () => TwinPlan;
}

/** Refuting pairs explained in full per statement; the rest are counted. */
export const MAX_EXPLAINED = 3;
/** Refuting pairs listed per statement. */
export const MAX_LISTED = 20;

type Resolved =
  | { kind: 'reach'; from: Target[]; to: Target[] }
  | { kind: 'reachOnly'; from: Target[]; to: Target[] }
  | { kind: 'noInternetIngress'; pods: Target[] }
  | { kind: 'dataplane' };

function needsTrace(s: Statement): boolean {
  return (
    s.kind === 'keepsClientAddress' ||
    ((s.kind === 'reach' || s.kind === 'noReach' || s.kind === 'noInternetIngress') &&
      s.via === 'dataplane')
  );
}

function resolveStatement(
  ctx: CheckContext,
  s: Statement,
  report: (field: string, e: RefError) => void,
): Resolved | undefined {
  const c = ctx.catalog;
  const at = <T>(field: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RefError) {
        report(field, e);
        return undefined;
      }
      throw e;
    }
  };
  if (needsTrace(s) && s.kind === 'noInternetIngress') {
    const plan = ctx.plan();
    const ns = at('noInternetIngress.namespace', () => {
      if (!plan.model.namespaces.has(s.namespace))
        throw new RefError(`no namespace ${s.namespace}`);
      if (internetHosts(plan, s.except).length === 0)
        throw new RefError(
          'no ExternalHost outside except to trace from: the internet is not in the input',
          'add an ExternalHost (kind: ExternalHost, spec.address) where clients come from',
        );
      return true;
    });
    return ns ? { kind: 'dataplane' } : undefined;
  }
  if (needsTrace(s)) {
    const ss = s as ReachStatement;
    const plan = ctx.plan();
    const from = at(`${s.kind}.from`, () => checkTraceRef(plan, ss.from, 'from'));
    const to = at(`${s.kind}.to`, () => checkTraceRef(plan, ss.to, 'to'));
    return from && to ? { kind: 'dataplane' } : undefined;
  }
  switch (s.kind) {
    case 'reach':
    case 'noReach': {
      const from = at(`${s.kind}.from`, () => sources(c, s.from));
      const to = at(`${s.kind}.to`, () => resolveTargets(c, s.to, s.port));
      return from && to ? { kind: 'reach', from, to } : undefined;
    }
    case 'reachOnly': {
      const from = at('reachOnly.from', () => sources(c, s.from));
      const to: Target[] = [];
      let bad = false;
      s.to.forEach((d, i) => {
        const t = at(`reachOnly.to[${i}]`, () => resolveTargets(c, d.to, d.port));
        if (t) to.push(...t);
        else bad = true;
      });
      return from && !bad ? { kind: 'reachOnly', from, to } : undefined;
    }
    case 'noInternetIngress': {
      const pods = at('noInternetIngress.namespace', () =>
        resolveTargets(c, `namespace/${s.namespace}`),
      );
      return pods ? { kind: 'noInternetIngress', pods } : undefined;
    }
    default:
      return undefined;
  }
}

/** Sources send: a Service is not one (its backends are named as pods). */
function sources(c: PolicyCatalog, ref: string): Target[] {
  if (ref.startsWith('svc/') || ref.startsWith('lb/'))
    throw new RefError(
      `${ref}: a Service does not send packets`,
      'name a pod, namespace/NS, host/NAME or an address',
    );
  return resolveTargets(c, ref).map((t) => ({
    endpoint: t.endpoint,
    ...(t.via ? { via: t.via } : {}),
  }));
}

/** Policy answers for arbitrary endpoints: the matrix when both are in it, else the per-pair evaluator. */
class Answers {
  private m?: ReachMatrix;
  constructor(readonly c: PolicyCatalog) {}
  matrix(): ReachMatrix {
    return (this.m ??= computeMatrix(this.c.world));
  }
  allowed(a: Endpoint, b: Endpoint): PortSet {
    const m = this.matrix();
    const i = m.indexOf(a.key);
    const j = m.indexOf(b.key);
    if (i !== undefined && j !== undefined) return m.allowed(i, j);
    return evaluatePair(this.c.world, a, b).allowed;
  }
  evidence(a: Endpoint, b: Endpoint, ports: PortSet, explain: boolean): PairEvidence {
    if (!explain)
      return {
        from: a.key,
        to: b.key,
        allowed: this.allowed(a, b).toString(),
        ports: ports.toString(),
        explanation: [],
        json: undefined,
      };
    const pair = evaluatePair(this.c.world, a, b);
    const q = singlePort(ports);
    return {
      from: a.key,
      to: b.key,
      allowed: pair.allowed.toString(),
      ports: ports.toString(),
      explanation: explainPair(pair, q),
      json: explainJson(pair, q),
    };
  }
}

function singlePort(s: PortSet): PortQuery | undefined {
  const j = s.toJSON() as Record<string, string>;
  const entries = Object.entries(j);
  if (entries.length !== 1 || !/^\d+$/.test(entries[0]![1])) return undefined;
  return { protocol: entries[0]![0] as PortQuery['protocol'], port: Number(entries[0]![1]) };
}

interface Violation {
  readonly a: Endpoint;
  readonly b: Endpoint;
  readonly ports: PortSet;
}

function withEvidence(ans: Answers, vs: readonly Violation[]): PairEvidence[] {
  return vs.slice(0, MAX_LISTED).map((v, i) => ans.evidence(v.a, v.b, v.ports, i < MAX_EXPLAINED));
}

function reachVerdict(
  ans: Answers,
  s: ReachStatement,
  r: { from: Target[]; to: Target[] },
): StatementResult {
  const vs: Violation[] = [];
  for (const a of r.from)
    for (const b of r.to) {
      if (a.endpoint.key === b.endpoint.key) continue;
      const allowed = ans.allowed(a.endpoint, b.endpoint);
      if (s.kind === 'reach') {
        const missing = b.ports
          ? b.ports.subtract(allowed)
          : allowed.isEmpty()
            ? PortSet.ALL
            : PortSet.EMPTY;
        if (!missing.isEmpty()) vs.push({ a: a.endpoint, b: b.endpoint, ports: missing });
      } else {
        const open = b.ports ? b.ports.intersect(allowed) : allowed;
        if (!open.isEmpty()) vs.push({ a: a.endpoint, b: b.endpoint, ports: open });
      }
    }
  const pairs = r.from.length * r.to.length;
  const what = `${s.from} → ${s.to}${s.port ? ` (${s.port.protocol}/${s.port.port})` : ''}`;
  const notes: string[] = [];
  if (r.to.length === 0) notes.push(`${s.to} has no backend pods`);
  const holds = vs.length === 0 && !(s.kind === 'reach' && r.to.length === 0);
  const summary =
    s.kind === 'reach'
      ? holds
        ? `${what}: allowed by policy (${pairs} pair${pairs === 1 ? '' : 's'})`
        : r.to.length === 0
          ? `${what}: nothing to reach`
          : `${what}: denied by policy for ${vs.length} of ${pairs} pairs`
      : holds
        ? `${what}: denied by policy (${pairs} pair${pairs === 1 ? '' : 's'})`
        : `${what}: allowed by policy for ${vs.length} of ${pairs} pairs`;
  for (const v of vs.slice(0, MAX_LISTED))
    notes.push(
      `${v.a.key} → ${v.b.key}: ${s.kind === 'reach' ? 'denied' : 'allowed'} ${v.ports.toString()}`,
    );
  if (vs.length > MAX_LISTED) notes.push(`… and ${vs.length - MAX_LISTED} more`);
  return { statement: s, holds, by: 'policy', summary, notes, pairs: withEvidence(ans, vs) };
}

function reachOnlyVerdict(
  ans: Answers,
  s: ReachOnlyStatement,
  r: { from: Target[]; to: Target[] },
): StatementResult {
  const covered = new Map<string, PortSet>();
  for (const t of r.to)
    covered.set(
      t.endpoint.key,
      (covered.get(t.endpoint.key) ?? PortSet.EMPTY).union(t.ports ?? PortSet.ALL),
    );
  const everything: Endpoint[] = [...ans.c.world.pods, ...ans.c.regions];
  const vs: Violation[] = [];
  for (const a of r.from)
    for (const b of everything) {
      if (a.endpoint.key === b.key) continue;
      const extra = ans.allowed(a.endpoint, b).subtract(covered.get(b.key) ?? PortSet.EMPTY);
      if (!extra.isEmpty()) vs.push({ a: a.endpoint, b, ports: extra });
    }
  const holds = vs.length === 0;
  const notes = vs
    .slice(0, MAX_LISTED)
    .map((v) => `${v.a.key} → ${v.b.key}: also allowed ${v.ports.toString()}`);
  if (vs.length > MAX_LISTED) notes.push(`… and ${vs.length - MAX_LISTED} more`);
  return {
    statement: s,
    holds,
    by: 'policy',
    summary: holds
      ? `${s.from} may reach only the ${s.to.length} listed destination${s.to.length === 1 ? '' : 's'}`
      : `${s.from} reaches beyond the list: ${plural(new Set(vs.map((v) => v.b.key)).size, 'destination')}`,
    notes,
    pairs: withEvidence(ans, vs),
  };
}

function noInternetVerdict(
  ans: Answers,
  c: PolicyCatalog,
  s: NoInternetIngressStatement,
  pods: Target[],
): StatementResult {
  const except = s.except.map(cidrRange);
  const regions = c.regions.filter((e) => {
    const r = cidrRange(e.cidr);
    return !except.some((x) => r.lo >= x.lo && r.hi <= x.hi);
  });
  const vs: Violation[] = [];
  for (const e of regions)
    for (const p of pods) {
      const allowed = ans.allowed(e, p.endpoint);
      if (!allowed.isEmpty()) vs.push({ a: e, b: p.endpoint, ports: allowed });
    }
  const notes = vs
    .slice(0, MAX_LISTED)
    .map((v) => `${v.a.key} → ${v.b.key}: allowed ${v.ports.toString()}`);
  if (vs.length > MAX_LISTED) notes.push(`… and ${vs.length - MAX_LISTED} more`);
  const holds = vs.length === 0;
  const n = pods.length;
  return {
    statement: s,
    holds,
    by: 'policy',
    summary: holds
      ? `no pod in ${s.namespace} (${n}) admits traffic from outside the cluster (${regions.length} external range${regions.length === 1 ? '' : 's'})`
      : `${new Set(vs.map((v) => v.b.key)).size} of ${n} pods in ${s.namespace} admit traffic from outside the cluster`,
    notes,
    pairs: withEvidence(ans, vs),
  };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Evaluates every statement of every file, in order. */
export function evaluateExpectations(
  ctx: CheckContext,
  files: readonly ExpectationsFile[],
): CheckReport {
  const errors: Diagnostic[] = [];
  const resolved: (Resolved | undefined)[] = [];
  const statements = files.flatMap((f) => f.statements);
  for (const s of statements) {
    resolved.push(
      resolveStatement(ctx, s, (field, e) =>
        errors.push({
          code: 'expect-unknown-ref',
          severity: 'error',
          message: e.message,
          file: s.origin.file,
          ...(s.origin.line !== undefined ? { line: s.origin.line } : {}),
          document: s.origin.document,
          object: s.origin.object,
          field: `${s.origin.field}.${field}`,
          ...(e.hint ? { hint: e.hint } : {}),
        }),
      ),
    );
  }
  if (errors.length > 0) throw new InputError(errors);
  const ans = new Answers(ctx.catalog);
  const results = statements.map((s, i) => {
    const r = resolved[i]!;
    switch (r.kind) {
      case 'dataplane': {
        const v =
          s.kind === 'keepsClientAddress'
            ? keepsAddressByTrace(ctx.plan(), s)
            : s.kind === 'noInternetIngress'
              ? noInternetByTrace(ctx.plan(), s)
              : reachByTrace(ctx.plan(), s as ReachStatement);
        return {
          statement: s,
          holds: v.holds,
          by: 'dataplane' as const,
          summary: v.summary,
          notes: v.notes,
          pairs: [],
          ...(v.trace ? { trace: v.trace } : {}),
        };
      }
      case 'reach':
        return reachVerdict(ans, s as ReachStatement, r);
      case 'reachOnly':
        return reachOnlyVerdict(ans, s as ReachOnlyStatement, r);
      case 'noInternetIngress':
        return noInternetVerdict(ans, ctx.catalog, s as NoInternetIngressStatement, r.pods);
    }
  });
  return { files: files.map((f) => ({ file: f.file, name: f.name })), results };
}
