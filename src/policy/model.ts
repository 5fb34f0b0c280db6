/**
 * The policy world: pods, namespaces and policies normalised for evaluation.
 *
 * `buildPolicyWorld` takes loaded objects, validates the policy fields the
 * way the API server would (`pkg/apis/networking/validation/validation.go`
 * ValidateNetworkPolicy; the network-policy-api CRD schemas for ANP/BANP), and
 * turns every peer into a `PeerMatcher`: one shape for NetworkPolicy peers and
 * ANP peers alike, so the evaluator and the grouped matrix share one matcher.
 * An object the API server would reject is reported and left out, as it would
 * not exist in a real cluster.
 */
import type { Diagnostic, Location } from '../diag.js';
import { matchesSelector, validateSelector } from '../k8s/selector.js';
import type {
  AdminNetworkPolicyPeer,
  AdminNetworkPolicyPort,
  AdminNetworkPolicySubject,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from '../k8s/types.js';
import { ipToInt, isCidr, isIpv4, maskOf, parseCidr } from '../wire/addr.js';
import { PortSet, PROTOCOLS, type L4Protocol } from './ports.js';

/** One loaded object and where it came from (`k8s/load` gives both). */
export interface SourceObject {
  readonly object: unknown;
  readonly origin?: Location;
}

export interface PodPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: L4Protocol;
}

export interface PodEndpoint {
  readonly kind: 'pod';
  /** `ns/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nsLabels: Readonly<Record<string, string>>;
  readonly ip?: string;
  readonly ipInt?: number;
  readonly ports: readonly PodPort[];
}

/**
 * An address range outside the known pods that the policies' CIDRs carve out:
 * `cidr` minus the more specific policy CIDRs inside it (`except`). Every
 * address in it is treated alike by every policy, so one `probe` address
 * stands for all.
 */
export interface ExternalEndpoint {
  readonly kind: 'external';
  /** The CIDR, e.g. `0.0.0.0/4`; the key used in matrices. */
  readonly key: string;
  readonly cidr: string;
  readonly except: readonly string[];
  readonly probe: number;
}

export type Endpoint = PodEndpoint | ExternalEndpoint;

/** [lo, hi] address range of a CIDR, as unsigned 32-bit integers. */
export interface AddrRange {
  readonly lo: number;
  readonly hi: number;
  readonly text: string;
}

export type PeerMatcher =
  | {
      /** Pods: in `namespace` if set, in namespaces matching `namespaceSelector` if set, matching `podSelector` if set. */
      readonly kind: 'pods';
      readonly namespace?: string;
      readonly namespaceSelector?: LabelSelector;
      readonly podSelector?: LabelSelector;
      /**
       * An ANP peer's namespaces relative to the subject's: only while
       * compiling; buildPolicyWorld resolves it per subject namespace
       * (expandRelations), so the world never holds one.
       */
      readonly relation?: Relation;
      readonly text: string;
    }
  | {
      /** Addresses in any of `include` and none of `exclude` (ipBlock, ANP networks). */
      readonly kind: 'ip';
      readonly include: readonly AddrRange[];
      readonly exclude: readonly AddrRange[];
      readonly text: string;
    }
  | {
      /** ANP `nodes`: host-network endpoints, none of which are in the pod matrix. */
      readonly kind: 'nodes';
      readonly text: string;
    };

/** Namespaces relative to an ANP subject's own (the earlier v1alpha1 NamespaceSet forms). */
export type Relation =
  | { readonly kind: 'self' | 'notSelf' }
  | { readonly kind: 'sameLabels' | 'notSameLabels'; readonly keys: readonly string[] };

/**
 * Whether namespace `ns` (labels `nsLabels`) is related to the subject's
 * namespace `subjectNs` (labels `subjectLabels`) as `r` says. sameLabels: every
 * key present on both with equal values; notSameLabels: every key present on
 * both and some value different; an empty key list selects nothing (the API's
 * NamespaceSet doc; network-policy-api policy-assistant's matchers).
 */
export function related(
  r: Relation,
  ns: string,
  nsLabels: Readonly<Record<string, string>>,
  subjectNs: string,
  subjectLabels: Readonly<Record<string, string>>,
): boolean {
  switch (r.kind) {
    case 'self':
      return ns === subjectNs;
    case 'notSelf':
      return ns !== subjectNs;
    case 'sameLabels':
    case 'notSameLabels': {
      if (r.keys.length === 0) return false;
      let differs = false;
      for (const k of r.keys) {
        const a = nsLabels[k];
        const b = subjectLabels[k];
        if (a === undefined || b === undefined) return false;
        if (a !== b) differs = true;
      }
      return r.kind === 'sameLabels' ? !differs : differs;
    }
  }
}

/** Ports of a rule: numeric ports are fixed, named ports resolve on the destination pod. */
export interface PortSpec {
  readonly numeric: PortSet;
  readonly named: readonly { readonly name: string; readonly protocol: L4Protocol }[];
  readonly text: string;
}

export type Direction = 'ingress' | 'egress';

export interface NpRule {
  readonly index: number;
  /** `spec.ingress[0]`. */
  readonly field: string;
  /** null: no `from`/`to` (or empty), every peer. */
  readonly peers: readonly PeerMatcher[] | null;
  readonly ports: PortSpec;
}

export interface CompiledNetworkPolicy {
  readonly ref: string;
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  readonly isolates: Readonly<Record<Direction, boolean>>;
  readonly rules: Readonly<Record<Direction, readonly NpRule[]>>;
}

export interface AdminRule {
  readonly index: number;
  readonly field: string;
  readonly name: string;
  readonly action: 'Allow' | 'Deny' | 'Pass';
  readonly peers: readonly PeerMatcher[];
  readonly ports: PortSpec;
}

export interface CompiledAdminPolicy {
  readonly kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  readonly ref: string;
  readonly name: string;
  /** ANP priority; the BANP has none. */
  readonly priority?: number;
  readonly subject: PeerMatcher & { kind: 'pods' };
  readonly rules: Readonly<Record<Direction, readonly AdminRule[]>>;
}

export interface PolicyWorld {
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Sorted by key. */
  readonly pods: readonly PodEndpoint[];
  readonly policies: readonly CompiledNetworkPolicy[];
  /** Sorted by priority, then name (evaluation order). */
  readonly admin: readonly CompiledAdminPolicy[];
  readonly baseline?: CompiledAdminPolicy;
  /**
   * The baseline as evaluated: `[baseline]`, or one copy per subject namespace
   * when its peers are relative (expandRelations). Read it with baselineParts.
   */
  readonly baselineParts?: readonly CompiledAdminPolicy[];
  /** Every CIDR in an ipBlock, an except or an ANP network: the external ranges. */
  readonly cidrs: readonly AddrRange[];
  readonly diagnostics: readonly Diagnostic[];
}

export const ALL_PORTS: PortSpec = { numeric: PortSet.ALL, named: [], text: 'all ports' };

export const NS_NAME_LABEL = 'kubernetes.io/metadata.name';

// ---------------------------------------------------------------------------

/** Does the peer match the endpoint? Pod selectors never match external ranges. */
export function peerMatches(m: PeerMatcher, ep: Endpoint): boolean {
  switch (m.kind) {
    case 'pods':
      if (ep.kind !== 'pod' || m.relation !== undefined) return false;
      if (m.namespace !== undefined && ep.namespace !== m.namespace) return false;
      if (m.namespaceSelector !== undefined && !matchesSelector(ep.nsLabels, m.namespaceSelector))
        return false;
      return m.podSelector === undefined || matchesSelector(ep.labels, m.podSelector);
    case 'ip': {
      const a = ep.kind === 'pod' ? ep.ipInt : ep.probe;
      if (a === undefined) return false;
      return (
        m.include.some((r) => a >= r.lo && a <= r.hi) &&
        !m.exclude.some((r) => a >= r.lo && a <= r.hi)
      );
    }
    case 'nodes':
      return false;
  }
}

/** The ports a rule allows towards `dest` (named ports look at dest's containers). */
export function resolvePorts(spec: PortSpec, dest: Endpoint): PortSet {
  if (spec.named.length === 0 || dest.kind !== 'pod') return spec.numeric;
  let out = spec.numeric;
  for (const n of spec.named) {
    for (const p of dest.ports) {
      if (p.name === n.name && p.protocol === n.protocol)
        out = out.union(PortSet.port(p.protocol, p.port));
    }
  }
  return out;
}

export function npSelects(p: CompiledNetworkPolicy, pod: PodEndpoint): boolean {
  return pod.namespace === p.namespace && matchesSelector(pod.labels, p.podSelector);
}

export function cidrRange(text: string): AddrRange {
  const c = parseCidr(text);
  const lo = ipToInt(c.network);
  return { lo, hi: (lo | (~maskOf(c.prefix) >>> 0)) >>> 0, text };
}

// ---------------------------------------------------------------------------
// Building

interface Ctx {
  readonly diagnostics: Diagnostic[];
  readonly cidrs: Map<string, AddrRange>;
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function refOf(kind: string, meta: Record<string, unknown>): string {
  const name = typeof meta.name === 'string' ? meta.name : '<unnamed>';
  const ns = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}

class Reporter {
  ok = true;
  constructor(
    private readonly ctx: Ctx,
    private readonly origin: Location | undefined,
    private readonly object: string,
  ) {}
  error(code: string, field: string, message: string, hint?: string): void {
    this.ok = false;
    this.push('error', code, field, message, hint);
  }
  warn(code: string, field: string, message: string, hint?: string): void {
    this.push('warning', code, field, message, hint);
  }
  info(code: string, field: string, message: string): void {
    this.push('info', code, field, message);
  }
  private push(
    severity: Diagnostic['severity'],
    code: string,
    field: string,
    message: string,
    hint?: string,
  ): void {
    this.ctx.diagnostics.push({
      ...(this.origin ?? {}),
      object: this.object,
      ...(field ? { field } : {}),
      code,
      severity,
      message,
      ...(hint ? { hint } : {}),
    });
  }
  selector(sel: unknown, field: string): LabelSelector | undefined {
    if (sel === undefined || sel === null) return undefined;
    const problems = validateSelector(sel as LabelSelector);
    for (const p of problems)
      this.error('policy-bad-selector', p.field ? `${field}.${p.field}` : field, p.message);
    return problems.length === 0 ? (sel as LabelSelector) : undefined;
  }
}

function protocolOf(r: Reporter, v: unknown, field: string): L4Protocol | undefined {
  if (v === undefined || v === null) return 'TCP';
  if (typeof v === 'string' && (PROTOCOLS as readonly string[]).includes(v)) return v as L4Protocol;
  const upper = typeof v === 'string' ? v.toUpperCase() : '';
  r.error(
    'policy-bad-protocol',
    field,
    `protocol ${JSON.stringify(v)} is not one of TCP, UDP, SCTP`,
    (PROTOCOLS as readonly string[]).includes(upper)
      ? `protocols are upper case: write ${upper}`
      : undefined,
  );
  return undefined;
}

// IANA_SVC_NAME (k8s.io/apimachinery validation.IsValidPortName): 1-15 chars,
// lower-case alphanumerics and '-', at least one letter, no leading/trailing
// or double '-'.
function isPortName(s: string): boolean {
  return (
    s.length >= 1 &&
    s.length <= 15 &&
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) &&
    /[a-z]/.test(s) &&
    !s.includes('--')
  );
}

function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

function npPorts(r: Reporter, raw: unknown, field: string): PortSpec {
  if (raw === undefined || raw === null) return ALL_PORTS;
  if (!Array.isArray(raw)) {
    r.error('policy-bad-ports', field, 'ports must be a list');
    return ALL_PORTS;
  }
  if (raw.length === 0) return ALL_PORTS;
  let numeric = PortSet.EMPTY;
  const named: { name: string; protocol: L4Protocol }[] = [];
  const texts: string[] = [];
  raw.forEach((p: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(p)) {
      r.error('policy-bad-ports', f, 'each port must be a mapping with protocol, port and endPort');
      return;
    }
    const np = p as NetworkPolicyPort;
    const proto = protocolOf(r, np.protocol, `${f}.protocol`);
    if (!proto) return;
    if (np.port === undefined || np.port === null) {
      if (np.endPort !== undefined && np.endPort !== null) {
        r.error('policy-bad-endport', `${f}.endPort`, 'endPort needs a numeric port');
        return;
      }
      numeric = numeric.union(PortSet.protocol(proto));
      texts.push(`${proto} (all ports)`);
      return;
    }
    if (typeof np.port === 'string' && !/^\d+$/.test(np.port)) {
      if (!isPortName(np.port)) {
        r.error(
          'policy-bad-port',
          `${f}.port`,
          `${JSON.stringify(np.port)} is neither a port number nor a valid port name`,
        );
        return;
      }
      if (np.endPort !== undefined && np.endPort !== null) {
        r.error('policy-bad-endport', `${f}.endPort`, 'endPort may not be used with a named port');
        return;
      }
      named.push({ name: np.port, protocol: proto });
      texts.push(`${proto} ${np.port}`);
      return;
    }
    const port = Number(np.port);
    if (!isPortNumber(port)) {
      r.error('policy-bad-port', `${f}.port`, `port ${JSON.stringify(np.port)} is not in 1-65535`);
      return;
    }
    if (typeof np.port === 'string') {
      r.error(
        'policy-bad-port',
        `${f}.port`,
        `port ${JSON.stringify(np.port)} is a string of digits: the API server reads it as a port name, and a port name must contain a letter`,
        'write the number without quotes',
      );
      return;
    }
    if (np.endPort !== undefined && np.endPort !== null) {
      if (!isPortNumber(np.endPort) || np.endPort < port) {
        r.error(
          'policy-bad-endport',
          `${f}.endPort`,
          `endPort ${JSON.stringify(np.endPort)} must be a port number >= port (${port})`,
        );
        return;
      }
      numeric = numeric.union(PortSet.range(proto, port, np.endPort));
      texts.push(`${proto} ${port}-${np.endPort}`);
      return;
    }
    numeric = numeric.union(PortSet.port(proto, port));
    texts.push(`${proto} ${port}`);
  });
  return { numeric, named, text: texts.join(', ') || 'no valid ports' };
}

function ipMatcher(
  r: Reporter,
  ctx: Ctx,
  cidrs: unknown[],
  excepts: unknown[],
  field: string,
  exceptField: string,
): PeerMatcher | undefined {
  const include: AddrRange[] = [];
  const exclude: AddrRange[] = [];
  let ok = true;
  cidrs.forEach((c, i) => {
    const f = cidrs.length > 1 || field.endsWith('networks') ? `${field}[${i}]` : field;
    if (typeof c === 'string' && c.includes(':')) {
      r.info('policy-ipv6-ignored', f, `IPv6 CIDR ${c} matches nothing in the twin's IPv4 world`);
      return;
    }
    if (typeof c !== 'string' || !isCidr(c)) {
      r.error('policy-bad-cidr', f, `${JSON.stringify(c)} is not an IPv4 CIDR like 10.0.0.0/8`);
      ok = false;
      return;
    }
    include.push(cidrRange(c));
  });
  excepts.forEach((c, i) => {
    const f = `${exceptField}[${i}]`;
    if (typeof c === 'string' && c.includes(':')) return;
    if (typeof c !== 'string' || !isCidr(c)) {
      r.error('policy-bad-cidr', f, `${JSON.stringify(c)} is not an IPv4 CIDR like 10.0.0.0/8`);
      ok = false;
      return;
    }
    const e = cidrRange(c);
    // ValidateIPBlock: each except must be a strict subset of cidr.
    const outer = include[0];
    if (
      outer &&
      !(e.lo >= outer.lo && e.hi <= outer.hi && (e.lo !== outer.lo || e.hi !== outer.hi))
    ) {
      r.error('policy-bad-except', f, `except ${c} must be strictly inside cidr ${outer.text}`);
      ok = false;
      return;
    }
    exclude.push(e);
  });
  if (!ok) return undefined;
  for (const x of [...include, ...exclude]) ctx.cidrs.set(x.text, canonicalRange(x));
  const text =
    include.map((x) => x.text).join(',') +
    (exclude.length ? ` except ${exclude.map((x) => x.text).join(',')}` : '');
  return { kind: 'ip', include, exclude, text: include.length ? text : 'no IPv4 addresses' };
}

function canonicalRange(x: AddrRange): AddrRange {
  // Name external ranges by their canonical network (10.0.1.7/24 -> 10.0.1.0/24).
  const c = parseCidr(x.text);
  return { ...x, text: `${c.network}/${c.prefix}` };
}

function npPeer(
  r: Reporter,
  ctx: Ctx,
  raw: unknown,
  field: string,
  ns: string,
): PeerMatcher | undefined {
  if (!isObj(raw)) {
    r.error(
      'policy-bad-peer',
      field,
      'a peer must be a mapping with podSelector, namespaceSelector or ipBlock',
    );
    return undefined;
  }
  const p = raw as NetworkPolicyPeer;
  const hasSel = p.podSelector != null || p.namespaceSelector != null;
  if (p.ipBlock != null) {
    if (hasSel) {
      r.error(
        'policy-bad-peer',
        field,
        'ipBlock may not be combined with podSelector or namespaceSelector in one peer',
        'make them separate peers (list items)',
      );
      return undefined;
    }
    if (!isObj(p.ipBlock)) {
      r.error(
        'policy-bad-peer',
        `${field}.ipBlock`,
        'ipBlock must be a mapping with cidr and except',
      );
      return undefined;
    }
    const except = p.ipBlock.except ?? [];
    if (!Array.isArray(except)) {
      r.error('policy-bad-cidr', `${field}.ipBlock.except`, 'except must be a list of CIDRs');
      return undefined;
    }
    return ipMatcher(
      r,
      ctx,
      [p.ipBlock.cidr],
      except,
      `${field}.ipBlock.cidr`,
      `${field}.ipBlock.except`,
    );
  }
  if (!hasSel) {
    r.error('policy-bad-peer', field, 'a peer must set podSelector, namespaceSelector or ipBlock');
    return undefined;
  }
  const before = r.ok;
  r.ok = true;
  const podSelector = r.selector(p.podSelector, `${field}.podSelector`);
  const namespaceSelector = r.selector(p.namespaceSelector, `${field}.namespaceSelector`);
  const ok = r.ok;
  r.ok = before && ok;
  if (!ok) return undefined;
  // networking/v1 NetworkPolicyPeer: podSelector alone = pods in the policy's
  // namespace; namespaceSelector alone = all pods in matching namespaces; both
  // = matching pods in matching namespaces.
  if (namespaceSelector === undefined) {
    return {
      kind: 'pods',
      namespace: ns,
      podSelector: podSelector ?? {},
      text: `pods ${fmt(podSelector)} in namespace ${ns}`,
    };
  }
  return {
    kind: 'pods',
    namespaceSelector,
    ...(podSelector ? { podSelector } : {}),
    text: `pods ${fmt(podSelector ?? {})} in namespaces ${fmt(namespaceSelector)}`,
  };
}

function fmt(sel: LabelSelector | undefined): string {
  if (sel === undefined) return '<none>';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vs = (e.values ?? []).join(',');
    parts.push(
      e.operator === 'In'
        ? `${e.key} in (${vs})`
        : e.operator === 'NotIn'
          ? `${e.key} notin (${vs})`
          : e.operator === 'Exists'
            ? e.key
            : `!${e.key}`,
    );
  }
  return parts.length ? `{${parts.join(',')}}` : '{} (all)';
}

function compileNetworkPolicy(
  ctx: Ctx,
  raw: Record<string, unknown>,
  origin: Location | undefined,
): CompiledNetworkPolicy | undefined {
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const ref = refOf('NetworkPolicy', { ...meta, namespace: meta.namespace ?? 'default' });
  const r = new Reporter(ctx, origin, ref);
  if (typeof meta.name !== 'string' || meta.name === '')
    r.error('policy-missing-name', 'metadata.name', 'a NetworkPolicy needs a name');
  if (raw.apiVersion === 'extensions/v1beta1') {
    r.warn(
      'policy-old-api',
      'apiVersion',
      'extensions/v1beta1 NetworkPolicy was removed in Kubernetes 1.16; read as networking.k8s.io/v1',
    );
  }
  const ns =
    typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const spec = isObj(raw.spec) ? (raw.spec as Partial<NetworkPolicy['spec']>) : undefined;
  if (!spec) {
    r.error('policy-missing-spec', 'spec', 'a NetworkPolicy needs a spec');
    return undefined;
  }
  const podSelector =
    spec.podSelector == null ? {} : r.selector(spec.podSelector, 'spec.podSelector');
  // policyTypes default (pkg/apis/networking/v1/defaults.go
  // SetDefaults_NetworkPolicy): when empty, Ingress, plus Egress when
  // len(spec.egress) != 0 — so `egress: []` alone does not isolate egress.
  let types: Set<string>;
  if (
    spec.policyTypes == null ||
    (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)
  ) {
    types = new Set([
      'Ingress',
      ...(Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Egress'] : []),
    ]);
  } else if (!Array.isArray(spec.policyTypes)) {
    r.error(
      'policy-bad-policytypes',
      'spec.policyTypes',
      'policyTypes must be a list of Ingress and/or Egress',
    );
    types = new Set();
  } else {
    types = new Set();
    spec.policyTypes.forEach((t, i) => {
      if (t === 'Ingress' || t === 'Egress') types.add(t);
      else
        r.error(
          'policy-bad-policytypes',
          `spec.policyTypes[${i}]`,
          `${JSON.stringify(t)} is not Ingress or Egress`,
        );
    });
  }
  const rules = { ingress: [] as NpRule[], egress: [] as NpRule[] };
  for (const dir of ['ingress', 'egress'] as const) {
    const list: unknown = spec[dir];
    if (list == null) continue;
    if (!Array.isArray(list)) {
      r.error('policy-bad-rules', `spec.${dir}`, `${dir} must be a list of rules`);
      continue;
    }
    const peerKey = dir === 'ingress' ? 'from' : 'to';
    list.forEach((rule: unknown, i) => {
      const field = `spec.${dir}[${i}]`;
      if (rule === null || rule === undefined) rule = {};
      if (!isObj(rule)) {
        r.error('policy-bad-rules', field, 'a rule must be a mapping with ports and ' + peerKey);
        return;
      }
      const ports = npPorts(r, rule.ports, `${field}.ports`);
      const rawPeers = rule[peerKey];
      let peers: PeerMatcher[] | null = null;
      if (rawPeers != null) {
        if (!Array.isArray(rawPeers)) {
          r.error('policy-bad-peer', `${field}.${peerKey}`, `${peerKey} must be a list of peers`);
          return;
        }
        if (rawPeers.length > 0) {
          peers = [];
          rawPeers.forEach((p: unknown, j) => {
            const m = npPeer(r, ctx, p, `${field}.${peerKey}[${j}]`, ns);
            if (m) peers!.push(m);
          });
        }
      }
      rules[dir].push({ index: i, field, peers, ports });
    });
  }
  if (!types.has('Egress') && rules.egress.length > 0) {
    r.warn(
      'policy-egress-ignored',
      'spec.policyTypes',
      'spec.egress is given but policyTypes does not include Egress, so the egress rules have no effect',
    );
  }
  if (!types.has('Ingress') && rules.ingress.length > 0) {
    r.warn(
      'policy-ingress-ignored',
      'spec.policyTypes',
      'spec.ingress is given but policyTypes does not include Ingress, so the ingress rules have no effect',
    );
  }
  if (!r.ok || podSelector === undefined) return undefined;
  return {
    ref,
    namespace: ns,
    name: String(meta.name),
    podSelector,
    isolates: { ingress: types.has('Ingress'), egress: types.has('Egress') },
    rules: {
      ingress: types.has('Ingress') ? rules.ingress : [],
      egress: types.has('Egress') ? rules.egress : [],
    },
  };
}

/** The subject's namespaces: a selector (or an earlier NamespaceSet of one); a relation has nothing to be relative to. */
function subjectNamespaces(r: Reporter, raw: unknown, field: string): LabelSelector | undefined {
  const ns = namespaceSet(r, raw, field);
  if (ns === undefined) return undefined;
  if ('selector' in ns) return ns.selector;
  r.error(
    'anp-bad-subject',
    field,
    `${ns.relation.kind} selects namespaces relative to the subject's; the subject itself cannot use it`,
    'use a namespace label selector',
  );
  return undefined;
}

function adminSubject(r: Reporter, raw: unknown): (PeerMatcher & { kind: 'pods' }) | undefined {
  if (!isObj(raw)) {
    r.error('anp-bad-subject', 'spec.subject', 'subject must set namespaces or pods');
    return undefined;
  }
  const s = raw as AdminNetworkPolicySubject;
  if ((s.namespaces != null) === (s.pods != null)) {
    r.error('anp-bad-subject', 'spec.subject', 'subject must set exactly one of namespaces, pods');
    return undefined;
  }
  if (s.namespaces != null) {
    const ns = subjectNamespaces(r, s.namespaces, 'spec.subject.namespaces');
    return ns
      ? { kind: 'pods', namespaceSelector: ns, text: `pods in namespaces ${fmt(ns)}` }
      : undefined;
  }
  const pods = s.pods as unknown;
  if (!isObj(pods)) {
    r.error(
      'anp-bad-subject',
      'spec.subject.pods',
      'pods must set namespaceSelector and podSelector',
    );
    return undefined;
  }
  const nsSel = subjectNamespaces(
    r,
    pods.namespaces ?? pods.namespaceSelector ?? {},
    `spec.subject.pods.${pods.namespaces != null ? 'namespaces' : 'namespaceSelector'}`,
  );
  const podSel = r.selector(pods.podSelector ?? {}, 'spec.subject.pods.podSelector');
  if (!nsSel || !podSel) return undefined;
  return {
    kind: 'pods',
    namespaceSelector: nsSel,
    podSelector: podSel,
    text: `pods ${fmt(podSel)} in namespaces ${fmt(nsSel)}`,
  };
}

const SELECTOR_KEYS = new Set(['matchLabels', 'matchExpressions']);

/**
 * A namespaces peer: a label selector (v0.1.2+), or the earlier NamespaceSet
 * `{namespaceSelector | self | notSelf | related | sameLabels | notSameLabels}`
 * (earlier v1alpha1 revisions, still in parts of the conformance suite); the
 * relative forms select namespaces relative to the subject's.
 */
function namespaceSet(
  r: Reporter,
  raw: unknown,
  field: string,
): { selector: LabelSelector } | { relation: Relation } | undefined {
  const sel = (v: unknown, f: string) => {
    const s = r.selector(v, f);
    return s ? { selector: s } : undefined;
  };
  if (!isObj(raw)) return sel(raw, field);
  const keys = Object.keys(raw);
  if (keys.every((k) => SELECTOR_KEYS.has(k))) return sel(raw, field);
  if (keys.length === 1 && raw.namespaceSelector != null)
    return sel(raw.namespaceSelector, `${field}.namespaceSelector`);
  if (keys.length === 1) {
    const k = keys[0]!;
    const v = raw[k];
    if ((k === 'self' || k === 'notSelf') && v === true) return { relation: { kind: k } };
    if (k === 'related' && (v === 'Self' || v === 'NotSelf'))
      return { relation: { kind: v === 'Self' ? 'self' : 'notSelf' } };
    if (
      (k === 'sameLabels' || k === 'notSameLabels') &&
      Array.isArray(v) &&
      v.every((x) => typeof x === 'string')
    )
      return { relation: { kind: k, keys: v } };
  }
  r.error(
    'anp-bad-peer',
    field,
    `unknown fields ${keys.join(', ')}: expected matchLabels/matchExpressions, or one of namespaceSelector, self, notSelf, related, sameLabels, notSameLabels`,
  );
  return undefined;
}

function relationText(rel: Relation): string {
  switch (rel.kind) {
    case 'self':
      return "the subject's namespace";
    case 'notSelf':
      return "namespaces other than the subject's";
    case 'sameLabels':
      return `namespaces with the subject's values of ${rel.keys.join(', ')}`;
    case 'notSameLabels':
      return `namespaces with other values of ${rel.keys.join(', ')} than the subject's`;
  }
}

/** A pods matcher for pods matching `podSelector` (all when undefined) in the namespaces `ns` describes. */
function podsIn(
  ns: { selector: LabelSelector } | { relation: Relation },
  podSelector?: LabelSelector,
): PeerMatcher {
  const pods = podSelector ? `pods ${fmt(podSelector)}` : 'pods';
  return 'selector' in ns
    ? {
        kind: 'pods',
        namespaceSelector: ns.selector,
        ...(podSelector ? { podSelector } : {}),
        text: `${pods} in namespaces ${fmt(ns.selector)}`,
      }
    : {
        kind: 'pods',
        relation: ns.relation,
        ...(podSelector ? { podSelector } : {}),
        text: `${pods} in ${relationText(ns.relation)}`,
      };
}

function adminPeer(
  r: Reporter,
  ctx: Ctx,
  raw: unknown,
  field: string,
  egress: boolean,
): PeerMatcher | undefined {
  if (!isObj(raw)) {
    r.error('anp-bad-peer', field, 'a peer must be a mapping');
    return undefined;
  }
  const p = raw as AdminNetworkPolicyPeer;
  const set = (['namespaces', 'pods', 'nodes', 'networks'] as const).filter((k) => p[k] != null);
  if (set.length !== 1) {
    r.error(
      'anp-bad-peer',
      field,
      `a peer must set exactly one of namespaces, pods${egress ? ', nodes, networks' : ''}`,
    );
    return undefined;
  }
  const k = set[0]!;
  if (!egress && (k === 'nodes' || k === 'networks')) {
    r.error('anp-bad-peer', `${field}.${k}`, `${k} peers are only allowed in egress rules`);
    return undefined;
  }
  switch (k) {
    case 'namespaces': {
      const ns = namespaceSet(r, p.namespaces, `${field}.namespaces`);
      return ns ? podsIn(ns) : undefined;
    }
    case 'pods': {
      const pods = p.pods as unknown;
      if (!isObj(pods)) {
        r.error('anp-bad-peer', `${field}.pods`, 'pods must set namespaceSelector and podSelector');
        return undefined;
      }
      // Earlier v1alpha1 revisions nested the namespace part: pods: {namespaces: {namespaceSelector}, podSelector}.
      const ns =
        pods.namespaces != null
          ? namespaceSet(r, pods.namespaces, `${field}.pods.namespaces`)
          : namespaceSet(r, pods.namespaceSelector ?? {}, `${field}.pods.namespaceSelector`);
      const podSel = r.selector(pods.podSelector ?? {}, `${field}.pods.podSelector`);
      if (!ns || !podSel) return undefined;
      return podsIn(ns, podSel);
    }
    case 'nodes': {
      const sel = r.selector(p.nodes, `${field}.nodes`);
      r.info(
        'anp-nodes-peer',
        `${field}.nodes`,
        'nodes peers select host-network endpoints, which are not in the pod reachability matrix',
      );
      return sel ? { kind: 'nodes', text: `nodes ${fmt(sel)}` } : undefined;
    }
    case 'networks': {
      if (!Array.isArray(p.networks) || p.networks.length === 0) {
        r.error('anp-bad-peer', `${field}.networks`, 'networks must be a non-empty list of CIDRs');
        return undefined;
      }
      return ipMatcher(r, ctx, p.networks, [], `${field}.networks`, `${field}.networks`);
    }
  }
}

function adminPorts(r: Reporter, raw: unknown, field: string): PortSpec {
  if (raw == null) return ALL_PORTS;
  if (!Array.isArray(raw) || raw.length === 0) {
    r.error('anp-bad-ports', field, 'ports must be a non-empty list when present');
    return ALL_PORTS;
  }
  let numeric = PortSet.EMPTY;
  const named: { name: string; protocol: L4Protocol }[] = [];
  const texts: string[] = [];
  raw.forEach((p: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(p)) {
      r.error('anp-bad-ports', f, 'a port must set one of portNumber, namedPort, portRange');
      return;
    }
    const ap = p as AdminNetworkPolicyPort;
    const set = (['portNumber', 'namedPort', 'portRange'] as const).filter((k) => ap[k] != null);
    if (set.length !== 1) {
      r.error(
        'anp-bad-ports',
        f,
        'a port must set exactly one of portNumber, namedPort, portRange',
      );
      return;
    }
    if (ap.portNumber != null) {
      const proto = protocolOf(r, ap.portNumber.protocol, `${f}.portNumber.protocol`);
      if (!proto) return;
      if (!isPortNumber(ap.portNumber.port)) {
        r.error('anp-bad-ports', `${f}.portNumber.port`, 'port must be a number in 1-65535');
        return;
      }
      numeric = numeric.union(PortSet.port(proto, ap.portNumber.port));
      texts.push(`${proto} ${ap.portNumber.port}`);
    } else if (ap.namedPort != null) {
      if (typeof ap.namedPort !== 'string' || !isPortName(ap.namedPort)) {
        r.error(
          'anp-bad-ports',
          `${f}.namedPort`,
          `${JSON.stringify(ap.namedPort)} is not a valid port name`,
        );
        return;
      }
      // ANP namedPort has no protocol: it matches the container port of that
      // name, whatever its protocol.
      for (const proto of PROTOCOLS) named.push({ name: ap.namedPort, protocol: proto });
      texts.push(`port named ${ap.namedPort}`);
    } else if (ap.portRange != null) {
      const pr = ap.portRange;
      const proto = protocolOf(r, pr.protocol, `${f}.portRange.protocol`);
      if (!proto) return;
      if (!isPortNumber(pr.start) || !isPortNumber(pr.end) || pr.end < pr.start) {
        r.error('anp-bad-ports', `${f}.portRange`, 'portRange needs start <= end, both in 1-65535');
        return;
      }
      numeric = numeric.union(PortSet.range(proto, pr.start, pr.end));
      texts.push(`${proto} ${pr.start}-${pr.end}`);
    }
  });
  return { numeric, named, text: texts.join(', ') };
}

function compileAdmin(
  ctx: Ctx,
  raw: Record<string, unknown>,
  origin: Location | undefined,
  kind: CompiledAdminPolicy['kind'],
): CompiledAdminPolicy | undefined {
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const ref = refOf(kind, meta);
  const r = new Reporter(ctx, origin, ref);
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!name) r.error('policy-missing-name', 'metadata.name', `an ${kind} needs a name`);
  const spec = isObj(raw.spec) ? raw.spec : undefined;
  if (!spec) {
    r.error('policy-missing-spec', 'spec', `an ${kind} needs a spec`);
    return undefined;
  }
  let priority: number | undefined;
  if (kind === 'AdminNetworkPolicy') {
    const pr = spec.priority;
    if (typeof pr !== 'number' || !Number.isInteger(pr) || pr < 0 || pr > 1000) {
      r.error('anp-bad-priority', 'spec.priority', 'priority must be an integer in 0-1000');
    } else priority = pr;
  } else if (name !== 'default') {
    r.error(
      'banp-not-default',
      'metadata.name',
      'only one BaselineAdminNetworkPolicy may exist and it must be named "default"',
    );
  }
  const subject = adminSubject(r, spec.subject);
  const actions = kind === 'AdminNetworkPolicy' ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
  const rules = { ingress: [] as AdminRule[], egress: [] as AdminRule[] };
  for (const dir of ['ingress', 'egress'] as const) {
    const list = spec[dir];
    if (list == null) continue;
    if (!Array.isArray(list)) {
      r.error('anp-bad-rules', `spec.${dir}`, `${dir} must be a list of rules`);
      continue;
    }
    if (list.length > 100)
      r.error('anp-bad-rules', `spec.${dir}`, `at most 100 ${dir} rules are allowed`);
    const peerKey = dir === 'ingress' ? 'from' : 'to';
    list.forEach((rule: unknown, i) => {
      const field = `spec.${dir}[${i}]`;
      if (!isObj(rule)) {
        r.error(
          'anp-bad-rules',
          field,
          'a rule must be a mapping with action, ports and ' + peerKey,
        );
        return;
      }
      if (typeof rule.action !== 'string' || !actions.includes(rule.action)) {
        r.error(
          'anp-bad-action',
          `${field}.action`,
          `action ${JSON.stringify(rule.action ?? null)} is not one of ${actions.join(', ')}`,
        );
        return;
      }
      const rawPeers = rule[peerKey];
      if (!Array.isArray(rawPeers) || rawPeers.length === 0) {
        r.error('anp-bad-peer', `${field}.${peerKey}`, `${peerKey} must list at least one peer`);
        return;
      }
      const peers: PeerMatcher[] = [];
      rawPeers.forEach((p: unknown, j) => {
        const m = adminPeer(r, ctx, p, `${field}.${peerKey}[${j}]`, dir === 'egress');
        if (m) peers.push(m);
      });
      rules[dir].push({
        index: i,
        field,
        name: typeof rule.name === 'string' && rule.name ? rule.name : `${dir}[${i}]`,
        action: rule.action as AdminRule['action'],
        peers,
        ports: adminPorts(r, rule.ports, `${field}.ports`),
      });
    });
  }
  if (!r.ok || !subject) return undefined;
  return { kind, ref, name, ...(priority !== undefined ? { priority } : {}), subject, rules };
}

function podPorts(r: Reporter, pod: Pod): PodPort[] {
  const out: PodPort[] = [];
  const containers = Array.isArray(pod.spec?.containers) ? pod.spec.containers : [];
  containers.forEach((c, i) => {
    (Array.isArray(c?.ports) ? c.ports : []).forEach((p, j) => {
      const f = `spec.containers[${i}].ports[${j}]`;
      const proto = protocolOf(r, p?.protocol, `${f}.protocol`);
      if (!proto || !isPortNumber(p?.containerPort)) {
        if (proto)
          r.warn(
            'pod-bad-port',
            `${f}.containerPort`,
            'containerPort must be a number in 1-65535; ignored',
          );
        return;
      }
      out.push({
        ...(typeof p.name === 'string' ? { name: p.name } : {}),
        port: p.containerPort,
        protocol: proto,
      });
    });
  });
  return out;
}

/** The BaselineAdminNetworkPolicy as evaluated: its parts have disjoint subjects. */
export function baselineParts(world: PolicyWorld): readonly CompiledAdminPolicy[] {
  return world.baselineParts ?? (world.baseline ? [world.baseline] : []);
}

/**
 * Resolves relative namespace peers (sameLabels, self, …): a policy that has
 * one becomes one copy per namespace, its subject narrowed to that namespace
 * and each relative peer replaced by the namespaces related to it. Copies keep
 * the policy's name, priority and rules, and their subjects are disjoint, so
 * evaluation order and explanations are the policy's own.
 */
function expandRelations(
  list: readonly CompiledAdminPolicy[],
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>,
): CompiledAdminPolicy[] {
  const names = [...namespaces.keys()].sort();
  return list.flatMap((p) => {
    const relative = (['ingress', 'egress'] as const).some((d) =>
      p.rules[d].some((r) => r.peers.some((m) => m.kind === 'pods' && m.relation)),
    );
    if (!relative) return [p];
    return names.map((ns) => {
      const nsLabels = namespaces.get(ns)!;
      const resolve = (m: PeerMatcher): PeerMatcher => {
        if (m.kind !== 'pods' || m.relation === undefined) return m;
        const { relation, ...rest } = m;
        const values = names.filter((n) => related(relation, n, namespaces.get(n)!, ns, nsLabels));
        return {
          ...rest,
          // No related namespace: an `In` with no values selects nothing.
          namespaceSelector: {
            matchExpressions: [{ key: NS_NAME_LABEL, operator: 'In', values }],
          },
        };
      };
      const rules = {
        ingress: p.rules.ingress.map((r) => ({ ...r, peers: r.peers.map(resolve) })),
        egress: p.rules.egress.map((r) => ({ ...r, peers: r.peers.map(resolve) })),
      };
      return { ...p, subject: { ...p.subject, namespace: ns }, rules };
    });
  });
}

/**
 * Builds the policy world from loaded objects. Kinds other than Namespace,
 * Pod, NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy are
 * ignored. Errors leave the offending policy out (as the API server would
 * have refused it) and are returned as diagnostics.
 */
export function buildPolicyWorld(sources: readonly SourceObject[]): PolicyWorld {
  const ctx: Ctx = { diagnostics: [], cidrs: new Map() };
  const nsLabels = new Map<string, Record<string, string>>();
  const rawPods: { pod: Pod; origin?: Location }[] = [];
  const policies: CompiledNetworkPolicy[] = [];
  const admin: CompiledAdminPolicy[] = [];
  const baselines: CompiledAdminPolicy[] = [];

  for (const { object, origin } of sources) {
    if (!isObj(object)) continue;
    const meta = isObj(object.metadata) ? object.metadata : {};
    switch (object.kind) {
      case 'Namespace': {
        const ns = object as unknown as Namespace;
        if (typeof ns.metadata?.name === 'string') {
          // The API server sets kubernetes.io/metadata.name on every namespace (1.21+).
          nsLabels.set(ns.metadata.name, {
            ...(ns.metadata.labels ?? {}),
            [NS_NAME_LABEL]: ns.metadata.name,
          });
        }
        break;
      }
      case 'Pod':
        rawPods.push({ pod: object as unknown as Pod, ...(origin ? { origin } : {}) });
        break;
      case 'NetworkPolicy': {
        const p = compileNetworkPolicy(ctx, object, origin);
        if (p) policies.push(p);
        break;
      }
      case 'AdminNetworkPolicy': {
        const p = compileAdmin(ctx, object, origin, 'AdminNetworkPolicy');
        if (p) admin.push(p);
        break;
      }
      case 'BaselineAdminNetworkPolicy': {
        const p = compileAdmin(ctx, object, origin, 'BaselineAdminNetworkPolicy');
        if (p) baselines.push(p);
        break;
      }
      default:
        void meta;
    }
  }

  const pods: PodEndpoint[] = [];
  const seen = new Map<string, string>();
  for (const { pod, origin } of rawPods) {
    const meta = isObj(pod.metadata) ? pod.metadata : ({} as Pod['metadata']);
    const name = typeof meta.name === 'string' ? meta.name : '';
    const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
    const r = new Reporter(ctx, origin, `Pod ${ns}/${name || '<unnamed>'}`);
    if (!name) {
      r.error('pod-missing-name', 'metadata.name', 'a Pod needs a name');
      continue;
    }
    const key = `${ns}/${name}`;
    if (seen.has(key)) {
      r.error('pod-duplicate', 'metadata.name', `Pod ${key} is defined twice`);
      continue;
    }
    seen.set(key, key);
    if (pod.spec?.hostNetwork === true) {
      r.info(
        'policy-hostnetwork-pod',
        'spec.hostNetwork',
        "host-network pods use the node's address and are not subject to NetworkPolicy; left out of the matrix",
      );
      continue;
    }
    if (!nsLabels.has(ns)) {
      nsLabels.set(ns, { [NS_NAME_LABEL]: ns });
      r.info(
        'policy-implicit-namespace',
        'metadata.namespace',
        `no Namespace object for ${ns}; assumed with only the label ${NS_NAME_LABEL}=${ns}`,
      );
    }
    const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
    let ipInt: number | undefined;
    if (typeof ip === 'string' && isIpv4(ip)) ipInt = ipToInt(ip);
    else if (ip !== undefined)
      r.warn(
        'pod-bad-ip',
        'status.podIP',
        `${JSON.stringify(ip)} is not an IPv4 address; ipBlock peers cannot match this pod`,
      );
    const labels = isObj(meta.labels) ? (meta.labels as Record<string, string>) : {};
    pods.push({
      kind: 'pod',
      key,
      namespace: ns,
      name,
      labels,
      nsLabels: nsLabels.get(ns)!,
      ...(ipInt !== undefined ? { ip: ip as string, ipInt } : {}),
      ports: podPorts(r, pod),
    });
  }
  pods.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  // ANP priority ties are undefined behaviour in the API (KEP-2091: "the
  // implementation decides"); the twin breaks them by name so results are
  // stable, and says so.
  admin.sort(
    (a, b) => a.priority! - b.priority! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  for (let i = 1; i < admin.length; i++) {
    const a = admin[i - 1]!;
    const b = admin[i]!;
    if (a.priority === b.priority) {
      ctx.diagnostics.push({
        code: 'anp-priority-tie',
        severity: 'warning',
        object: b.ref,
        field: 'spec.priority',
        message: `${a.ref} and ${b.ref} have the same priority ${a.priority}; the API leaves their order undefined, the twin evaluates them by name`,
      });
    }
  }
  let baseline: CompiledAdminPolicy | undefined;
  for (const b of baselines) {
    if (b.name === 'default' && !baseline) baseline = b;
  }

  const parts = baseline ? expandRelations([baseline], nsLabels) : [];
  return {
    namespaces: nsLabels,
    pods,
    policies,
    admin: expandRelations(admin, nsLabels),
    ...(baseline ? { baseline, baselineParts: parts } : {}),
    cidrs: [...ctx.cidrs.values()].sort((a, b) => a.lo - b.lo || b.hi - a.hi),
    diagnostics: ctx.diagnostics,
  };
}
