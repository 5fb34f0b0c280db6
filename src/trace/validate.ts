/**
 * validateTrace: the invariants every ConnectionTrace holds (trace/model.ts).
 * It returns the problems found, one line each (`request.hops[2].steps[4]
 * (rule): detail.index is string, not number`); an empty list is a valid
 * trace. The tests run it on every golden and sweep trace, so a producer that
 * records a detail the model does not document, or a leg that ends without a
 * reason, fails there.
 */
import { DROP_REASONS } from '../kernel/drop.js';
import type { StepKind } from '../kernel/step.js';
import type {
  ConnectionTrace,
  Disposition,
  HostRole,
  L7Trace,
  Leg,
  LegSummary,
  PacketView,
  RewriteView,
  StepDetails,
  StepView,
} from './model.js';
import { rewriteOf } from './model.js';

/** A field's JSON type; `?` marks it optional. */
export type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string|number';
export type Spec = FieldType | `${FieldType}?`;

/** Every key of every member of a union. */
type AllKeys<U> = U extends unknown ? keyof U : never;

/**
 * Each kind's detail keys with their JSON types. The mapped type makes the
 * compiler hold this table to StepDetails: a key missing here, or one the
 * model does not document, does not compile. Kinds whose detail is a union
 * (nat, fabric, note) list every member's keys, all optional. The Trace
 * JSON Schema's step details (schema/trace.schema.json) are generated from it.
 */
export const STEP_DETAIL_FIELDS: {
  readonly [K in StepKind]: { readonly [F in AllKeys<StepDetails[K]>]-?: Spec };
} = {
  receive: { dev: 'string', src: 'string', dst: 'string' },
  transmit: { dev: 'string', src: 'string', dst: 'string' },
  route: {
    direction: 'string',
    result: 'string?',
    type: 'string?',
    dev: 'string?',
    gateway: 'string?',
    src: 'string?',
    route: 'string?',
    table: 'string?',
    rule: 'number?',
    errno: 'string?',
  },
  arp: {
    ip: 'string?',
    dev: 'string?',
    state: 'string?',
    lladdr: 'string?',
    hit: 'boolean?',
    from: 'string?',
    kind: 'string?',
    op: 'string?',
    senderMac: 'string?',
    senderIp: 'string?',
    targetMac: 'string?',
    targetIp: 'string?',
    proxy: 'boolean?',
  },
  bridge: { bridge: 'string', action: 'string', mac: 'string?', port: 'string?', ports: 'array?' },
  hook: { hook: 'string', table: 'string', chain: 'string?', priority: 'number', mark: 'string' },
  rule: {
    hook: 'string',
    table: 'string',
    chain: 'string',
    index: 'number',
    file: 'string?',
    line: 'number?',
    handle: 'number?',
    text: 'string',
    target: 'string',
    mark: 'string',
    depth: 'number',
  },
  policy: { hook: 'string', table: 'string', chain: 'string', policy: 'string' },
  conntrack: {
    ct: 'string|number',
    ctinfo: 'string?',
    original: 'object?',
    reply: 'object?',
    status: 'number?',
    tcpState: 'string?',
  },
  nat: {
    rewrite: 'string?',
    hook: 'string',
    field: 'string?',
    from: 'string?',
    to: 'string?',
    by: 'string?',
    rule: 'object?',
    stage: 'string?',
    label: 'string?',
    table: 'string?',
    chain: 'string?',
    index: 'number?',
    file: 'string?',
    line: 'number?',
    text: 'string?',
    binding: 'string?',
    kind: 'string?',
    manip: 'string?',
    ct: 'number?',
  },
  socket: { socket: 'object', response: 'string?' },
  icmp: {},
  encap: TUNNEL(),
  decap: TUNNEL(),
  proxy: REWRITE(),
  fabric: {
    segment: 'string?',
    endpoint: 'string?',
    stage: 'string?',
    service: 'string?',
    backend: 'string?',
    candidates: 'array?',
    healthChecks: 'string?',
    mark: 'string?',
    rewrite: 'string?',
    hook: 'string?',
    field: 'string?',
    from: 'string?',
    to: 'string?',
    by: 'string?',
    rule: 'object?',
    label: 'string?',
  },
  note: {
    table: 'string?',
    chain: 'string?',
    returnTo: 'string?',
    depth: 'number?',
    policy: 'object?',
    rule: 'object?',
  },
  drop: {
    reason: 'string?',
    where: 'string?',
    with: 'string?',
    response: 'string?',
    policy: 'object?',
  },
};

function REWRITE(): { readonly [F in keyof Required<StepDetails['proxy']>]: Spec } {
  return {
    rewrite: 'string',
    hook: 'string',
    field: 'string',
    from: 'string',
    to: 'string',
    by: 'string',
    rule: 'object?',
    stage: 'string?',
    label: 'string?',
  };
}

function TUNNEL(): { readonly [F in keyof Required<StepDetails['encap']>]: Spec } {
  return {
    ...REWRITE(),
    device: 'string?',
    outer: 'object?',
    inner: 'object?',
    nexthop: 'string?',
    fdb: 'string?',
  };
}

const DISPOSITIONS: ReadonlySet<Disposition> = new Set([
  'delivered',
  'dropped',
  'rejected',
  'left-model',
  'unsupported',
]);
const ROLES: ReadonlySet<HostRole> = new Set(['pod', 'node', 'router', 'external']);

function jsonType(v: unknown): FieldType {
  if (Array.isArray(v)) return 'array';
  return typeof v as FieldType;
}

function checkDetail(s: StepView, where: string, out: string[]): void {
  const fields: Readonly<Record<string, Spec>> | undefined = STEP_DETAIL_FIELDS[s.kind];
  if (!fields) {
    out.push(`${where}: unknown step kind ${JSON.stringify(s.kind)}`);
    return;
  }
  if (s.detail === undefined) return;
  const d = s.detail as Readonly<Record<string, unknown>>;
  for (const [k, v] of Object.entries(d)) {
    const spec = fields[k];
    if (spec === undefined) {
      out.push(`${where} (${s.kind}): detail.${k} is not in the model`);
      continue;
    }
    const want = spec.replace(/\?$/, '').split('|');
    const got = jsonType(v);
    if (!want.includes(got))
      out.push(`${where} (${s.kind}): detail.${k} is ${got}, not ${want.join(' or ')}`);
  }
  for (const [k, spec] of Object.entries(fields)) {
    if (!spec.endsWith('?') && !(k in d)) out.push(`${where} (${s.kind}): detail.${k} is missing`);
  }
}

function checkPacket(p: PacketView | undefined, where: string, out: string[]): void {
  if (p === undefined) return;
  if (!p.text) out.push(`${where}: a packet without text`);
  if ((p.proto === 'ipip') !== (p.inner !== undefined))
    out.push(`${where}: an IP-in-IP packet carries its inner packet, no other does`);
  checkPacket(p.inner, `${where}.inner`, out);
}

function checkEnd(l: Leg | LegSummary, where: string, out: string[]): void {
  if (!DISPOSITIONS.has(l.disposition)) {
    out.push(`${where}: disposition ${JSON.stringify(l.disposition)} is not one of the model's`);
    return;
  }
  if (l.disposition === 'delivered') {
    if (l.reason !== undefined) out.push(`${where}: delivered, yet a reason ${l.reason}`);
    if (l.at === undefined) out.push(`${where}: delivered nowhere (no at)`);
    return;
  }
  if (l.reason === undefined) {
    out.push(`${where}: ${l.disposition} without a reason`);
    return;
  }
  if (l.disposition === 'left-model') {
    if (l.reason !== 'left-model') out.push(`${where}: left the model, reason ${l.reason}`);
  } else if (!(l.reason in DROP_REASONS)) {
    out.push(`${where}: reason ${JSON.stringify(l.reason)} is not a DROP_REASONS name`);
  }
}

function checkLeg(l: Leg, name: 'request' | 'reply', out: string[]): number {
  checkEnd(l, name, out);
  if (!l.what) out.push(`${name}: says not what was sent`);
  if (l.disposition === 'delivered' && (l.socket === undefined || l.received === undefined))
    out.push(`${name}: delivered without a socket and the packet it received`);
  checkPacket(l.sent, `${name}.sent`, out);
  checkPacket(l.received, `${name}.received`, out);
  let rewrites = 0;
  l.hops.forEach((h, i) => {
    const where = `${name}.hops[${i}]`;
    if (!ROLES.has(h.role)) out.push(`${where}: role ${JSON.stringify(h.role)}`);
    if (h.steps.length === 0) out.push(`${where}: a hop without steps`);
    if (i > 0 && l.hops[i - 1]!.host === h.host)
      out.push(`${where}: the same host as the hop before (${h.host}); one hop per visit`);
    h.steps.forEach((s, j) => {
      const at = `${where}.steps[${j}]`;
      if (!s.summary) out.push(`${at} (${s.kind}): no summary`);
      checkDetail(s, at, out);
      checkPacket(s.packet, `${at}.packet`, out);
      checkPacket(s.before, `${at}.before`, out);
      if (rewriteOf(s) && s.before && s.packet) rewrites++;
    });
  });
  if (l.at !== undefined && l.hops.length > 0 && !l.hops.some((h) => h.host === l.at))
    out.push(`${name}: ended at ${l.at}, a host none of its hops is on`);
  return rewrites;
}

function checkRewrites(rs: readonly RewriteView[], where: string, out: string[]): void {
  rs.forEach((r, i) => {
    if (!r.kind || !r.hook || !r.field || !r.by)
      out.push(`${where}[${i}]: a rewrite must say what, where, which field and by whom`);
    checkPacket(r.before, `${where}[${i}].before`, out);
    checkPacket(r.after, `${where}[${i}].after`, out);
  });
}

const isPort = (n: number | undefined): boolean =>
  n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65535;

/**
 * The problems of trace `t`, one line each; empty when every invariant of the
 * model holds. An L7 trace's upstream connection is checked too, and its
 * rewrites counted in the joined list beside the `proxy` rewrites.
 */
export function validateTrace(t: ConnectionTrace | L7Trace): string[] {
  const out: string[] = [];
  const upstream = 'upstream' in t ? t.upstream : undefined;
  if (upstream) out.push(...validateTrace(upstream).map((p) => `upstream: ${p}`));
  if (!t.from.ip || !t.to.ip) out.push('from/to: an address is missing');
  if (!['tcp', 'udp', 'sctp', 'icmp'].includes(t.proto)) out.push(`proto ${t.proto}`);
  if (!isPort(t.sport) && !(t.proto === 'icmp' && Number.isInteger(t.sport) && t.sport >= 0))
    out.push(`sport ${t.sport} is not a port`);
  if (t.to.port !== undefined && !isPort(t.to.port)) out.push(`to.port ${t.to.port} is not a port`);
  if (!Number.isInteger(t.seed)) out.push(`seed ${t.seed} is not an integer`);
  const reqRewrites = checkLeg(t.request, 'request', out);
  const repRewrites = t.reply ? checkLeg(t.reply, 'reply', out) : 0;
  checkRewrites(t.rewrites, 'rewrites', out);
  const count = (rs: readonly RewriteView[], leg: 'request' | 'reply') =>
    rs.filter((r) => r.leg === leg && r.kind !== 'proxy').length;
  const made = (leg: 'request' | 'reply', own: number) =>
    own + (upstream ? count(upstream.rewrites, leg) : 0);
  for (const [leg, own] of [
    ['request', reqRewrites],
    ['reply', repRewrites],
  ] as const) {
    if (count(t.rewrites, leg) !== made(leg, own))
      out.push(
        `rewrites: ${count(t.rewrites, leg)} for the ${leg}, its steps made ${made(leg, own)}`,
      );
  }
  if (t.alternatives) {
    let sum = 0;
    t.alternatives.forEach((a, i) => {
      const where = `alternatives[${i}]`;
      if (!(a.probability > 0 && a.probability <= 1))
        out.push(`${where}: probability ${a.probability}`);
      sum += a.probability;
      for (const d of a.decisions)
        if (!(d.p > 0 && d.p <= 1)) out.push(`${where}: decision ${d.label} has p ${d.p}`);
      checkEnd(a.request, `${where}.request`, out);
      if (a.reply) checkEnd(a.reply, `${where}.reply`, out);
      checkRewrites(a.rewrites, `${where}.rewrites`, out);
    });
    if (t.alternatives.length > 0 && Math.abs(sum - 1) > 1e-9)
      out.push(`alternatives: probabilities sum to ${sum}, not 1`);
  }
  return out;
}
