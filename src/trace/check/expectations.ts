/**
 * The `ConnectivityExpectations` document (`apiVersion: packeteye.dev/v1alpha1`):
 * statements about who may talk to whom, read from YAML/JSON text into typed
 * statements, each with the file, line and field it came from. The shape is
 * described by `schema/connectivity-expectations.schema.json`.
 *
 * ```yaml
 * apiVersion: packeteye.dev/v1alpha1
 * kind: ConnectivityExpectations
 * metadata: {name: shop}
 * spec:
 *   expectations:
 *     - name: the frontend reaches the api          # optional
 *       reach: {from: shop/frontend, to: svc/shop/api:8080}
 *     - noReach: {from: shop/frontend, to: shop/db, port: TCP/5432}
 *     - noInternetIngress: {namespace: payments}
 *     - keepsClientAddress: {from: host/user, to: lb/shop/web:80}
 *     - reachOnly: {from: shop/frontend, to: [svc/shop/api:8080, kube-system/coredns-1:53]}
 * ```
 *
 * Exactly one statement key per entry (like a Pod probe's httpGet/tcpSocket).
 * `reach`/`noReach` are decided by the policy engine unless `via: dataplane`
 * asks for a trace through the twin; `keepsClientAddress` is always a trace.
 * Anything that cannot be read with one meaning is an error naming file,
 * statement index and field; nothing here resolves refs (evaluate.ts does).
 */
import type { Document, LineCounter, Node } from 'yaml';
import { yaml } from '../../k8s/yaml-lib.js';
import type { Diagnostic } from '../../diag.js';
import { PROTOCOLS, type L4Protocol } from '../../policy/ports.js';
import { isCidr } from '../../wire/addr.js';

export const EXPECTATIONS_API_VERSION = 'packeteye.dev/v1alpha1';
export const EXPECTATIONS_KIND = 'ConnectivityExpectations';

export interface PortRef {
  readonly protocol: L4Protocol;
  readonly port: number;
}

/** Where a statement came from: its file, line, document and index in `spec.expectations`. */
export interface StatementOrigin {
  readonly file: string;
  readonly line?: number;
  readonly document: number;
  /** `ConnectivityExpectations NAME`. */
  readonly object: string;
  readonly index: number;
  /** `spec.expectations[3]`. */
  readonly field: string;
}

export type Via = 'policy' | 'dataplane';

interface Base {
  readonly name?: string;
  readonly origin: StatementOrigin;
}

export interface ReachStatement extends Base {
  readonly kind: 'reach' | 'noReach';
  readonly from: string;
  readonly to: string;
  readonly port?: PortRef;
  readonly via: Via;
}

export interface NoInternetIngressStatement extends Base {
  readonly kind: 'noInternetIngress';
  readonly namespace: string;
  /** Ranges that are not the internet (the VPC, an office): their ranges are not checked. */
  readonly except: readonly string[];
  /** `dataplane`: traced from each ExternalHost outside `except` through the edge. */
  readonly via: Via;
}

export interface KeepsClientAddressStatement extends Base {
  readonly kind: 'keepsClientAddress';
  readonly from: string;
  readonly to: string;
}

export interface Destination {
  readonly to: string;
  readonly port?: PortRef;
}

export interface ReachOnlyStatement extends Base {
  readonly kind: 'reachOnly';
  readonly from: string;
  readonly to: readonly Destination[];
}

export type Statement =
  ReachStatement | NoInternetIngressStatement | KeepsClientAddressStatement | ReachOnlyStatement;

export type StatementKind = Statement['kind'];

export const STATEMENT_KINDS: readonly StatementKind[] = [
  'reach',
  'noReach',
  'noInternetIngress',
  'keepsClientAddress',
  'reachOnly',
];

export interface ExpectationsFile {
  readonly file: string;
  readonly name: string;
  readonly statements: readonly Statement[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `TCP/80`, `udp/53`, or a bare number (TCP). */
export function parsePortRef(v: unknown): PortRef | undefined {
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= 1 && v <= 65535 ? { protocol: 'TCP', port: v } : undefined;
  }
  if (typeof v !== 'string') return undefined;
  const m = /^(?:([A-Za-z]+)\/)?(\d+)$/.exec(v.trim());
  if (!m) return undefined;
  const protocol = (m[1] ?? 'TCP').toUpperCase();
  const port = Number(m[2]);
  if (!(PROTOCOLS as readonly string[]).includes(protocol) || port < 1 || port > 65535)
    return undefined;
  return { protocol: protocol as L4Protocol, port };
}

/** Reads one or more ConnectivityExpectations documents from one file's text. */
export function parseExpectations(
  path: string,
  text: string,
): { files: ExpectationsFile[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const files: ExpectationsFile[] = [];
  const { LineCounter, parseAllDocuments } = yaml();
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc: Document, i) => {
    const document = i + 1;
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lc.linePos(err.pos[0]);
      diagnostics.push({
        code: 'expect-parse',
        severity: 'error',
        message: `not YAML or JSON: ${err.message.split('\n')[0]}`,
        file: path,
        ...(pos ? { line: pos.line, column: pos.col } : {}),
        document,
      });
      return;
    }
    const raw: unknown = doc.toJS();
    if (raw === null || raw === undefined) return; // an empty document
    const f = readDocument(raw, { path, document, doc, lc }, diagnostics);
    if (f) files.push(f);
  });
  if (files.length === 0 && diagnostics.length === 0)
    diagnostics.push({
      code: 'expect-empty',
      severity: 'error',
      message: `no ${EXPECTATIONS_KIND} document`,
      file: path,
      hint: `write apiVersion: ${EXPECTATIONS_API_VERSION}, kind: ${EXPECTATIONS_KIND}, spec.expectations: [...]`,
    });
  return { files, diagnostics };
}

interface Ctx {
  readonly path: string;
  readonly document: number;
  readonly doc: Document;
  readonly lc: LineCounter;
}

function lineOf(ctx: Ctx, path: readonly (string | number)[]): number | undefined {
  const node = ctx.doc.getIn(path, true) as Node | undefined;
  const start = node?.range?.[0];
  return start === undefined ? undefined : ctx.lc.linePos(start).line;
}

function readDocument(raw: unknown, ctx: Ctx, out: Diagnostic[]): ExpectationsFile | undefined {
  const at = (field: string, path: (string | number)[], object?: string) => {
    const line = lineOf(ctx, path);
    return {
      file: ctx.path,
      document: ctx.document,
      ...(line !== undefined ? { line } : {}),
      ...(object ? { object } : {}),
      field,
    };
  };
  if (!isObj(raw)) {
    out.push({
      code: 'expect-not-object',
      severity: 'error',
      message: 'the document is not an object',
      file: ctx.path,
      document: ctx.document,
    });
    return undefined;
  }
  if (raw.apiVersion !== EXPECTATIONS_API_VERSION || raw.kind !== EXPECTATIONS_KIND) {
    out.push({
      code: 'expect-kind',
      severity: 'error',
      message: `apiVersion ${JSON.stringify(raw.apiVersion)}, kind ${JSON.stringify(raw.kind)}: not an expectations document`,
      ...at('kind', ['kind']),
      hint: `--expect reads apiVersion: ${EXPECTATIONS_API_VERSION}, kind: ${EXPECTATIONS_KIND}`,
    });
    return undefined;
  }
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : `${ctx.path}#${ctx.document}`;
  const object = `${EXPECTATIONS_KIND} ${name}`;
  const spec = raw.spec;
  const exps = isObj(spec) ? spec.expectations : undefined;
  if (!Array.isArray(exps)) {
    out.push({
      code: 'expect-no-list',
      severity: 'error',
      message: 'spec.expectations must be a list of statements',
      ...at('spec.expectations', ['spec', 'expectations'], object),
    });
    return undefined;
  }
  const statements: Statement[] = [];
  exps.forEach((e: unknown, index) => {
    const field = `spec.expectations[${index}]`;
    const path = ['spec', 'expectations', index];
    const line = lineOf(ctx, path);
    const origin: StatementOrigin = {
      file: ctx.path,
      document: ctx.document,
      ...(line !== undefined ? { line } : {}),
      object,
      index,
      field,
    };
    const s = readStatement(e, origin, (f, p, message, hint) =>
      out.push({
        code: 'expect-bad-statement',
        severity: 'error',
        message,
        ...at(`${field}${f ? `.${f}` : ''}`, [...path, ...p], object),
        ...(hint ? { hint } : {}),
      }),
    );
    if (s) statements.push(s);
  });
  return { file: ctx.path, name, statements };
}

type Report = (field: string, path: (string | number)[], message: string, hint?: string) => void;

const KIND_HINT = `one of ${STATEMENT_KINDS.join(', ')}`;

function readStatement(e: unknown, origin: StatementOrigin, report: Report): Statement | undefined {
  if (!isObj(e)) {
    report('', [], 'a statement must be an object', `an object with a name and ${KIND_HINT}`);
    return undefined;
  }
  const keys = Object.keys(e).filter((k) => (STATEMENT_KINDS as readonly string[]).includes(k));
  const unknown = Object.keys(e).filter(
    (k) => k !== 'name' && !(STATEMENT_KINDS as readonly string[]).includes(k),
  );
  if (unknown.length > 0) {
    report(unknown[0]!, [unknown[0]!], `unknown field ${JSON.stringify(unknown[0])}`, KIND_HINT);
    return undefined;
  }
  if (keys.length !== 1) {
    report(
      '',
      [],
      keys.length === 0
        ? 'no statement: the entry names none of the statement kinds'
        : `more than one statement in one entry: ${keys.join(', ')}`,
      `each entry holds exactly one of ${STATEMENT_KINDS.join(', ')}`,
    );
    return undefined;
  }
  if (e.name !== undefined && typeof e.name !== 'string') {
    report('name', ['name'], 'name must be a string');
    return undefined;
  }
  const kind = keys[0] as StatementKind;
  const body = e[kind];
  const base = { ...(typeof e.name === 'string' ? { name: e.name } : {}), origin };
  const sub: Report = (f, p, m, h) => report(f ? `${kind}.${f}` : kind, [kind, ...p], m, h);
  if (!isObj(body)) {
    sub('', [], `${kind} must be an object`);
    return undefined;
  }
  const allowed: Record<StatementKind, string[]> = {
    reach: ['from', 'to', 'port', 'via'],
    noReach: ['from', 'to', 'port', 'via'],
    noInternetIngress: ['namespace', 'except', 'via'],
    keepsClientAddress: ['from', 'to'],
    reachOnly: ['from', 'to'],
  };
  const extra = Object.keys(body).find((k) => !allowed[kind].includes(k));
  if (extra !== undefined) {
    sub(
      extra,
      [extra],
      `unknown field ${JSON.stringify(extra)}`,
      `${kind} takes ${allowed[kind].join(', ')}`,
    );
    return undefined;
  }
  const str = (f: string): string | undefined => {
    const v = body[f];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    sub(f, [f], v === undefined ? `${f} is required` : `${f} must be a non-empty string`);
    return undefined;
  };
  switch (kind) {
    case 'reach':
    case 'noReach': {
      const from = str('from');
      const to = str('to');
      let port: PortRef | undefined;
      if (body.port !== undefined) {
        port = parsePortRef(body.port);
        if (!port) {
          sub(
            'port',
            ['port'],
            `port ${JSON.stringify(body.port)} is not PROTOCOL/PORT`,
            'e.g. TCP/8080, UDP/53 or 8080',
          );
          return undefined;
        }
      }
      const via = body.via ?? 'policy';
      if (via !== 'policy' && via !== 'dataplane') {
        sub('via', ['via'], `via ${JSON.stringify(via)} is not policy or dataplane`);
        return undefined;
      }
      if (from === undefined || to === undefined) return undefined;
      return { kind, ...base, from, to, ...(port ? { port } : {}), via };
    }
    case 'noInternetIngress': {
      const namespace = str('namespace');
      const except = body.except ?? [];
      if (!Array.isArray(except) || except.some((c) => typeof c !== 'string' || !isCidr(c))) {
        sub('except', ['except'], 'except must be a list of CIDRs', 'e.g. [10.0.0.0/8]');
        return undefined;
      }
      const via = body.via ?? 'policy';
      if (via !== 'policy' && via !== 'dataplane') {
        sub('via', ['via'], `via ${JSON.stringify(via)} is not policy or dataplane`);
        return undefined;
      }
      if (namespace === undefined) return undefined;
      return { kind, ...base, namespace, except: except as string[], via };
    }
    case 'keepsClientAddress': {
      const from = str('from');
      const to = str('to');
      if (from === undefined || to === undefined) return undefined;
      return { kind, ...base, from, to };
    }
    case 'reachOnly': {
      const from = str('from');
      const list = body.to;
      if (!Array.isArray(list)) {
        sub('to', ['to'], 'to must be a list of destinations (REF, or {to: REF, port: TCP/80})');
        return undefined;
      }
      const to: Destination[] = [];
      for (let i = 0; i < list.length; i++) {
        const d: unknown = list[i];
        if (typeof d === 'string' && d.trim() !== '') {
          to.push({ to: d.trim() });
          continue;
        }
        const port = isObj(d) && d.port !== undefined ? parsePortRef(d.port) : undefined;
        if (
          !isObj(d) ||
          typeof d.to !== 'string' ||
          (d.port !== undefined && !port) ||
          Object.keys(d).some((k) => k !== 'to' && k !== 'port')
        ) {
          sub(`to[${i}]`, ['to', i], 'a destination is a REF or {to: REF, port: PROTOCOL/PORT}');
          return undefined;
        }
        to.push({ to: d.to, ...(port ? { port } : {}) });
      }
      if (from === undefined) return undefined;
      return { kind, ...base, from, to };
    }
  }
}
