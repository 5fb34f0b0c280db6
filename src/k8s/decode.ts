/**
 * Raw documents to typed Kubernetes objects, validating each field the way
 * the API server's decoder and `pkg/apis/core/validation` would reject it:
 * wrong types, missing required fields, bad names, IP and CIDR syntax, port
 * ranges, protocol values, selector operators. Only the fields networking
 * depends on are kept; everything else (managedFields, resourceVersion,
 * ownerReferences, status conditions a data plane does not read) is dropped
 * without comment, so a `kubectl get -A -o yaml` dump reads cleanly.
 *
 * Cross-object checks (ranges, overlaps, duplicates of addresses) are
 * `model.ts`'s; this file only looks at one object at a time.
 */

import type { Diagnostic, Severity } from '../diag.js';
import { isCidr, isIpv4, parseCidr, formatCidr } from '../wire/addr.js';
import { formatPath, lineOf, scalarSource, type Path, type SourceRef } from './parse.js';
import { labelKeyProblem, labelValueProblem, validateSelector } from './selector.js';
import type {
  AdminNetworkPolicy,
  AdminNetworkPolicyPeer,
  NamespaceRelation,
  AdminNetworkPolicyPort,
  AdminNetworkPolicyRule,
  AdminNetworkPolicySubject,
  BaselineAdminNetworkPolicy,
  CniSpec,
  Cluster,
  Container,
  ContainerPort,
  Endpoint,
  EndpointPort,
  EndpointSlice,
  ExternalHost,
  Ingress,
  IngressBackend,
  KubeObject,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Node,
  NodeAddress,
  ObjectMeta,
  Pod,
  PodCondition,
  Protocol,
  Service,
  ServicePort,
} from './types.js';

type Rec = Record<string, unknown>;

/** The legacy v1 Endpoints object: read only to mirror it into EndpointSlices. */
export interface LegacyEndpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: ObjectMeta;
  subsets: {
    addresses: {
      ip: string;
      nodeName?: string;
      hostname?: string;
      targetRef?: Endpoint['targetRef'];
    }[];
    notReadyAddresses: {
      ip: string;
      nodeName?: string;
      hostname?: string;
      targetRef?: Endpoint['targetRef'];
    }[];
    ports: { name?: string; port: number; protocol: Protocol; appProtocol?: string }[];
  }[];
}

export interface DecodeContext {
  readonly file: string;
  readonly document: number;
  /** Line of the object's start. */
  readonly line: number;
  readonly source: SourceRef;
  readonly diagnostics: Diagnostic[];
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
// IANA_SVC_NAME (k8s.io/apimachinery validation.IsValidPortName): 1–15
// lower-case alphanumerics or '-', at least one letter, no leading, trailing
// or double '-'.
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function isValidPortName(name: string): boolean {
  return (
    name.length <= 15 && IANA_SVC_NAME.test(name) && /[a-z]/.test(name) && !name.includes('--')
  );
}

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Reads one object's fields, reporting problems with their field path. */
export class Decoder {
  constructor(
    readonly ctx: DecodeContext,
    public object: string | undefined,
    /** Where the decoded value sits in the document (a workload's pod template). */
    readonly prefix: Path = [],
  ) {}

  report(severity: Severity, rel: Path, code: string, message: string, hint?: string): void {
    const path = this.prefix.length > 0 ? [...this.prefix, ...rel] : rel;
    const line = lineOf(this.ctx.source, path) ?? this.ctx.line;
    this.ctx.diagnostics.push({
      code,
      severity,
      message,
      file: this.ctx.file,
      line,
      document: this.ctx.document,
      ...(this.object !== undefined ? { object: this.object } : {}),
      ...(path.length > 0 ? { field: formatPath(path) } : {}),
      ...(hint !== undefined ? { hint } : {}),
    });
  }

  error(path: Path, code: string, message: string, hint?: string): void {
    this.report('error', path, code, message, hint);
  }

  warn(path: Path, code: string, message: string, hint?: string): void {
    this.report('warning', path, code, message, hint);
  }

  private typeError(path: Path, want: string, v: unknown, hint?: string): void {
    this.error(path, 'k8s-field-type', `expected ${want}, found ${describe(v)}`, hint);
  }

  map(v: unknown, path: Path): Rec | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isRec(v)) {
      this.typeError(path, 'a mapping', v);
      return undefined;
    }
    return v;
  }

  list(v: unknown, path: Path): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.typeError(path, 'a list', v, 'write it as a YAML list (lines starting with "- ")');
      return undefined;
    }
    return v;
  }

  str(v: unknown, path: Path): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.typeError(path, 'a string', v, `quote the value: "${String(v)}"`);
      return undefined;
    }
    return v;
  }

  int(v: unknown, path: Path): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.typeError(path, 'an integer', v);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, path: Path): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && /^(yes|no|on|off|y|n)$/i.test(v)) {
      // kubectl reads YAML 1.1, where these are booleans; YAML 1.2 made them strings.
      const b = /^(yes|on|y)$/i.test(v);
      this.warn(
        path,
        'k8s-yaml11-boolean',
        `${JSON.stringify(v)} read as ${b}, as kubectl's YAML 1.1 reads it`,
        `write ${b}`,
      );
      return b;
    }
    if (typeof v !== 'boolean') {
      this.typeError(path, 'true or false', v);
      return undefined;
    }
    return v;
  }

  required<T>(v: T | undefined, path: Path, what = 'this field'): v is T {
    if (v === undefined) {
      this.error(path, 'k8s-required', `${what} is required`, `add ${formatPath(path)}`);
      return false;
    }
    return true;
  }

  oneOf<T extends string>(v: unknown, path: Path, values: readonly T[]): T | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    if (!(values as readonly string[]).includes(s)) {
      this.error(
        path,
        'k8s-invalid-value',
        `${JSON.stringify(s)} is not one of ${values.join(', ')}`,
        `use one of ${values.join(', ')} (values are case-sensitive)`,
      );
      return undefined;
    }
    return s as T;
  }

  protocol(v: unknown, path: Path): Protocol | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    if (!(PROTOCOLS as readonly string[]).includes(s)) {
      const upper = s.toUpperCase();
      this.error(
        path,
        'k8s-invalid-protocol',
        `protocol ${JSON.stringify(s)} is not TCP, UDP or SCTP`,
        (PROTOCOLS as readonly string[]).includes(upper)
          ? `write it in capitals: ${upper}`
          : 'use TCP, UDP or SCTP',
      );
      return undefined;
    }
    return s as Protocol;
  }

  /** A port number in [min, 65535]. */
  port(v: unknown, path: Path, min = 1): number | undefined {
    const n = this.int(v, path);
    if (n === undefined) return undefined;
    if (n < min || n > 65535) {
      this.error(
        path,
        'k8s-invalid-port',
        `port ${n} is outside ${min}–65535`,
        `use a port number between ${min} and 65535`,
      );
      return undefined;
    }
    return n;
  }

  /** A port number, or a container port name (IANA_SVC_NAME). */
  portOrName(v: unknown, path: Path): number | string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return this.port(v, path);
    if (typeof v === 'string') {
      if (/^\d+$/.test(v)) {
        this.error(
          path,
          'k8s-invalid-port',
          `port ${JSON.stringify(v)} is a quoted number; a string here names a container port`,
          `write it unquoted (${v}) for a port number, or use a container port's name`,
        );
        return undefined;
      }
      if (!isValidPortName(v)) {
        this.error(
          path,
          'k8s-invalid-port',
          `port name ${JSON.stringify(v)} is not a valid port name (IANA_SVC_NAME: at most 15 lower-case letters, digits or '-', with at least one letter)`,
          "rename the port, e.g. 'http' or 'metrics-9090'",
        );
        return undefined;
      }
      return v;
    }
    this.typeError(path, 'a port number or name', v);
    return undefined;
  }

  /** An IPv4 address; IPv6 is reported as not modelled and dropped. */
  ip(v: unknown, path: Path): string | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    if (isIpv4(s)) return s;
    if (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s)) {
      this.warn(path, 'k8s-ipv6-ignored', `IPv6 address ${s} ignored: packeteye models IPv4 only`);
      return undefined;
    }
    this.error(
      path,
      'k8s-invalid-ip',
      `${JSON.stringify(s)} is not an IPv4 address`,
      'write a dotted quad such as 10.244.1.5',
    );
    return undefined;
  }

  /** True for an IPv6 address or prefix: the other family of a dual-stack list, skipped without comment. */
  isV6(v: unknown): boolean {
    return typeof v === 'string' && v.includes(':') && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(v);
  }

  /** An IPv4 CIDR with no host bits set (as the API server's ValidateCIDR requires for podCIDR etc.). */
  cidr(v: unknown, path: Path, strict = true): string | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    if (!isCidr(s)) {
      if (s.includes(':')) {
        this.warn(path, 'k8s-ipv6-ignored', `IPv6 prefix ${s} ignored: packeteye models IPv4 only`);
        return undefined;
      }
      this.error(
        path,
        'k8s-invalid-cidr',
        `${JSON.stringify(s)} is not an IPv4 CIDR`,
        'write an address and a prefix length, e.g. 10.244.0.0/16',
      );
      return undefined;
    }
    const canonical = formatCidr(parseCidr(s));
    if (strict && canonical !== s) {
      this.error(
        path,
        'k8s-invalid-cidr',
        `${s} has host bits set; the network is ${canonical}`,
        `write ${canonical}`,
      );
      return undefined;
    }
    return s;
  }

  labels(v: unknown, path: Path): Record<string, string> | undefined {
    const m = this.map(v, path);
    if (m === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, raw] of Object.entries(m)) {
      const p = [...path, k];
      const val = this.str(raw, p);
      if (val === undefined) continue;
      const kp = labelKeyProblem(k);
      if (kp) {
        this.error(p, 'k8s-invalid-label', kp);
        continue;
      }
      const vp = labelValueProblem(val);
      if (vp) {
        this.error(p, 'k8s-invalid-label', vp);
        continue;
      }
      out[k] = val;
    }
    return out;
  }

  stringMap(v: unknown, path: Path): Record<string, string> | undefined {
    const m = this.map(v, path);
    if (m === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, raw] of Object.entries(m)) {
      // Annotations are free text; coerce scalars rather than fail on them.
      if (typeof raw === 'string') out[k] = raw;
      else if (typeof raw === 'number' || typeof raw === 'boolean') out[k] = String(raw);
      else this.typeError([...path, k], 'a string', raw);
    }
    return out;
  }

  selector(v: unknown, path: Path): LabelSelector | undefined {
    if (v === undefined || v === null) return undefined;
    const m = this.map(v, path);
    if (m === undefined) return undefined;
    const sel: LabelSelector = {};
    if (m.matchLabels !== undefined && m.matchLabels !== null) {
      const ml = this.labels(m.matchLabels, [...path, 'matchLabels']);
      if (ml) sel.matchLabels = ml;
    }
    const me = this.list(m.matchExpressions, [...path, 'matchExpressions']);
    if (me) {
      sel.matchExpressions = me as LabelSelector['matchExpressions'];
      for (const p of validateSelector({ matchExpressions: sel.matchExpressions })) {
        this.error(
          [
            ...path,
            ...p.field
              .split(/[.[\]]+/)
              .filter((s) => s !== '')
              .map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
          ],
          'k8s-invalid-selector',
          p.message,
        );
      }
      // Keep only what the message left valid; an invalid selector selects nothing in matchesSelector.
      sel.matchExpressions = (me as Rec[]).map((r) => ({
        key: String(r.key),
        operator: r.operator as 'In',
        ...(Array.isArray(r.values) ? { values: r.values.map(String) } : {}),
      }));
    }
    return sel;
  }

  /** `metadata`, with the name checked by `nameRule`. */
  meta(raw: Rec, kind: string, namespaced: boolean): ObjectMeta | undefined {
    const m = this.map(raw.metadata, ['metadata']);
    if (m === undefined) {
      this.error(['metadata'], 'k8s-required', `${kind} has no metadata`, 'add metadata.name');
      return undefined;
    }
    const name = this.str(m.name, ['metadata', 'name']);
    if (name === undefined || name === '') {
      const gen = typeof m.generateName === 'string';
      this.error(
        ['metadata', 'name'],
        'k8s-required',
        gen
          ? `${kind} uses metadata.generateName; packeteye needs the name the API server generated`
          : `${kind} has no metadata.name`,
        gen
          ? 'use the object as the cluster returns it (kubectl get -o yaml)'
          : 'add metadata.name',
      );
      return undefined;
    }
    const namespace = this.str(m.namespace, ['metadata', 'namespace']);
    const meta: ObjectMeta = { name };
    // Inside a workload's template, messages name the workload (it is what the user wrote).
    if (this.prefix.length === 0)
      this.object = namespaced && namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
    const rule =
      kind === 'Service' || kind === 'Namespace'
        ? kind === 'Service'
          ? 'dns1035'
          : 'dns1123label'
        : 'subdomain';
    const ok =
      rule === 'dns1035'
        ? DNS1035_LABEL.test(name) && name.length <= 63
        : rule === 'dns1123label'
          ? DNS1123_LABEL.test(name) && name.length <= 63
          : DNS1123_SUBDOMAIN.test(name) && name.length <= 253;
    if (!ok) {
      const what =
        rule === 'dns1035'
          ? 'a DNS-1035 label (at most 63 lower-case letters, digits or "-", starting with a letter)'
          : rule === 'dns1123label'
            ? 'a DNS-1123 label (at most 63 lower-case letters, digits or "-")'
            : 'a DNS-1123 subdomain (lower-case letters, digits, "-" and ".")';
      this.error(
        ['metadata', 'name'],
        'k8s-invalid-name',
        `name ${JSON.stringify(name)} is not ${what}`,
      );
    }
    if (namespace !== undefined) {
      if (!namespaced) {
        this.warn(
          ['metadata', 'namespace'],
          'k8s-namespace-ignored',
          `${kind} is cluster-scoped; metadata.namespace ignored`,
        );
      } else if (!DNS1123_LABEL.test(namespace) || namespace.length > 63) {
        this.error(
          ['metadata', 'namespace'],
          'k8s-invalid-name',
          `namespace ${JSON.stringify(namespace)} is not a DNS-1123 label`,
        );
      } else {
        meta.namespace = namespace;
      }
    }
    const labels = this.labels(m.labels, ['metadata', 'labels']);
    if (labels && Object.keys(labels).length > 0) meta.labels = labels;
    const annotations = this.stringMap(m.annotations, ['metadata', 'annotations']);
    if (annotations && Object.keys(annotations).length > 0) meta.annotations = annotations;
    const uid = typeof m.uid === 'string' ? m.uid : undefined;
    if (uid) meta.uid = uid;
    const rv = typeof m.resourceVersion === 'string' ? m.resourceVersion : undefined;
    if (rv) meta.resourceVersion = rv;
    if (m.deletionTimestamp !== undefined && m.deletionTimestamp !== null) {
      meta.deletionTimestamp = String(m.deletionTimestamp);
    }
    return meta;
  }
}

function each<T>(
  d: Decoder,
  v: unknown,
  path: Path,
  f: (item: unknown, path: Path, i: number) => T | undefined,
): T[] | undefined {
  const l = d.list(v, path);
  if (l === undefined) return undefined;
  const out: T[] = [];
  l.forEach((item, i) => {
    const r = f(item, [...path, i], i);
    if (r !== undefined) out.push(r);
  });
  return out;
}

// ---------------------------------------------------------------- kinds

function decodeNode(d: Decoder, raw: Rec): Node | undefined {
  const metadata = d.meta(raw, 'Node', false);
  if (!metadata) return undefined;
  const node: Node = { apiVersion: 'v1', kind: 'Node', metadata };
  const spec = d.map(raw.spec, ['spec']);
  if (spec) {
    const s: NonNullable<Node['spec']> = {};
    const podCIDR = d.cidr(spec.podCIDR, ['spec', 'podCIDR']);
    if (podCIDR) s.podCIDR = podCIDR;
    const podCIDRs = each(d, spec.podCIDRs, ['spec', 'podCIDRs'], (v, p) =>
      d.isV6(v) ? undefined : d.cidr(v, p),
    );
    if (podCIDRs && podCIDRs.length > 0) s.podCIDRs = podCIDRs;
    if (s.podCIDR && s.podCIDRs && s.podCIDRs[0] !== s.podCIDR) {
      d.error(
        ['spec', 'podCIDRs', 0],
        'k8s-invalid-cidr',
        `podCIDRs[0] (${s.podCIDRs[0]}) differs from podCIDR (${s.podCIDR})`,
        'the first of podCIDRs must equal podCIDR',
      );
    }
    const providerID = d.str(spec.providerID, ['spec', 'providerID']);
    if (providerID) s.providerID = providerID;
    node.spec = s;
  }
  const status = d.map(raw.status, ['status']);
  if (status) {
    const addresses = each(
      d,
      status.addresses,
      ['status', 'addresses'],
      (v, p): NodeAddress | undefined => {
        const a = d.map(v, p);
        if (!a) return undefined;
        const type = d.oneOf(a.type, [...p, 'type'], [
          'InternalIP',
          'ExternalIP',
          'Hostname',
          'InternalDNS',
          'ExternalDNS',
        ] as const);
        if (!type) return undefined;
        if (type === 'InternalIP' || type === 'ExternalIP') {
          const address = d.ip(a.address, [...p, 'address']);
          if (address === undefined) return undefined;
          return { type, address };
        }
        const address = d.str(a.address, [...p, 'address']);
        return address === undefined ? undefined : { type, address };
      },
    );
    if (addresses) node.status = { addresses };
  }
  return node;
}

function decodeNamespace(d: Decoder, raw: Rec): Namespace | undefined {
  const metadata = d.meta(raw, 'Namespace', false);
  return metadata ? { apiVersion: 'v1', kind: 'Namespace', metadata } : undefined;
}

function decodeContainer(
  d: Decoder,
  v: unknown,
  p: Path,
): (Container & { restartPolicy?: string }) | undefined {
  const c = d.map(v, p);
  if (!c) return undefined;
  const name = d.str(c.name, [...p, 'name']);
  if (!d.required(name, [...p, 'name'], 'a container name')) return undefined;
  const container: Container & { restartPolicy?: string } = { name };
  const image = d.str(c.image, [...p, 'image']);
  if (image) container.image = image;
  if (typeof c.restartPolicy === 'string') container.restartPolicy = c.restartPolicy;
  const ports = each(d, c.ports, [...p, 'ports'], (pv, pp): ContainerPort | undefined => {
    const po = d.map(pv, pp);
    if (!po) return undefined;
    const containerPort = d.port(po.containerPort, [...pp, 'containerPort']);
    if (
      !d.required(po.containerPort ?? undefined, [...pp, 'containerPort'], 'containerPort') ||
      containerPort === undefined
    )
      return undefined;
    const cp: ContainerPort = { containerPort };
    if (po.name !== undefined && po.name !== null) {
      const name = d.str(po.name, [...pp, 'name']);
      if (name !== undefined && !isValidPortName(name)) {
        d.error(
          [...pp, 'name'],
          'k8s-invalid-port',
          `port name ${JSON.stringify(name)} is not a valid port name (IANA_SVC_NAME: at most 15 lower-case letters, digits or '-', with at least one letter)`,
        );
      } else if (name !== undefined) cp.name = name;
    }
    const protocol = d.protocol(po.protocol, [...pp, 'protocol']);
    if (protocol) cp.protocol = protocol;
    const hostPort = d.port(po.hostPort, [...pp, 'hostPort']);
    if (hostPort !== undefined) cp.hostPort = hostPort;
    if (po.hostIP !== undefined && po.hostIP !== null) {
      const hostIP = d.ip(po.hostIP, [...pp, 'hostIP']);
      if (hostIP) cp.hostIP = hostIP;
    }
    return cp;
  });
  if (ports && ports.length > 0) container.ports = ports;
  return container;
}

function decodePod(d: Decoder, raw: Rec): Pod | undefined {
  const metadata = d.meta(raw, 'Pod', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const containers = each(d, spec.containers, ['spec', 'containers'], (v, p) =>
    decodeContainer(d, v, p),
  );
  if (!containers || containers.length === 0) {
    d.error(
      ['spec', 'containers'],
      'k8s-required',
      'a Pod needs at least one container',
      'add spec.containers with a name and image',
    );
    return undefined;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    if (names.has(c.name))
      d.error(
        ['spec', 'containers', i, 'name'],
        'k8s-duplicate',
        `container name ${JSON.stringify(c.name)} is used twice`,
        'give each container a unique name',
      );
    names.add(c.name);
  });
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers: containers.map(({ restartPolicy: _r, ...c }) => c) },
  };
  const initContainers = each(d, spec.initContainers, ['spec', 'initContainers'], (v, p) =>
    decodeContainer(d, v, p),
  );
  if (initContainers && initContainers.length > 0) pod.spec.initContainers = initContainers;
  const nodeName = d.str(spec.nodeName, ['spec', 'nodeName']);
  if (nodeName) pod.spec.nodeName = nodeName;
  const hostNetwork = d.bool(spec.hostNetwork, ['spec', 'hostNetwork']);
  if (hostNetwork !== undefined) pod.spec.hostNetwork = hostNetwork;
  const hostname = d.str(spec.hostname, ['spec', 'hostname']);
  if (hostname) pod.spec.hostname = hostname;
  const subdomain = d.str(spec.subdomain, ['spec', 'subdomain']);
  if (subdomain) pod.spec.subdomain = subdomain;
  const status = d.map(raw.status, ['status']);
  if (status) {
    const st: NonNullable<Pod['status']> = {};
    if (status.podIP !== undefined && status.podIP !== null && status.podIP !== '') {
      const podIP = d.ip(status.podIP, ['status', 'podIP']);
      if (podIP) st.podIP = podIP;
    }
    const podIPs = each(d, status.podIPs, ['status', 'podIPs'], (v, p) => {
      const m = d.map(v, p);
      if (!m || d.isV6(m.ip)) return undefined;
      const ip = d.ip(m.ip, [...p, 'ip']);
      return ip ? { ip } : undefined;
    });
    if (podIPs && podIPs.length > 0) {
      st.podIPs = podIPs;
      if (st.podIP === undefined) st.podIP = podIPs[0]!.ip;
      else if (podIPs[0]!.ip !== st.podIP) {
        d.error(
          ['status', 'podIPs', 0, 'ip'],
          'k8s-invalid-ip',
          `podIPs[0] (${podIPs[0]!.ip}) differs from podIP (${st.podIP})`,
          'the first of podIPs must equal podIP',
        );
      }
    }
    if (status.hostIP !== undefined && status.hostIP !== null && status.hostIP !== '') {
      const hostIP = d.ip(status.hostIP, ['status', 'hostIP']);
      if (hostIP) st.hostIP = hostIP;
    }
    const phase = d.str(status.phase, ['status', 'phase']);
    if (phase) st.phase = phase;
    const conditions = each(
      d,
      status.conditions,
      ['status', 'conditions'],
      (v, p): PodCondition | undefined => {
        const m = d.map(v, p);
        if (!m) return undefined;
        const type = d.str(m.type, [...p, 'type']);
        const s = d.oneOf(m.status, [...p, 'status'], ['True', 'False', 'Unknown'] as const);
        return type && s ? { type, status: s } : undefined;
      },
    );
    if (conditions) st.conditions = conditions;
    if (Object.keys(st).length > 0) pod.status = st;
  }
  return pod;
}

function decodeService(d: Decoder, raw: Rec): Service | undefined {
  const metadata = d.meta(raw, 'Service', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']) ?? {};
  const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata, spec: {} };
  const s = svc.spec;
  const type = d.oneOf(spec.type, ['spec', 'type'], [
    'ClusterIP',
    'NodePort',
    'LoadBalancer',
    'ExternalName',
  ] as const);
  if (type) s.type = type;
  if (spec.selector !== undefined && spec.selector !== null) {
    const sel = d.labels(spec.selector, ['spec', 'selector']);
    if (sel) s.selector = sel;
  }
  if (spec.clusterIP !== undefined && spec.clusterIP !== null && spec.clusterIP !== '') {
    if (spec.clusterIP === 'None') s.clusterIP = 'None';
    else {
      const ip = d.ip(spec.clusterIP, ['spec', 'clusterIP']);
      if (ip) s.clusterIP = ip;
    }
  }
  const clusterIPs = each(d, spec.clusterIPs, ['spec', 'clusterIPs'], (v, p) =>
    v === 'None' ? 'None' : d.isV6(v) ? undefined : d.ip(v, p),
  );
  if (clusterIPs && clusterIPs.length > 0) {
    s.clusterIPs = clusterIPs;
    if (s.clusterIP === undefined) s.clusterIP = clusterIPs[0];
    else if (clusterIPs[0] !== s.clusterIP) {
      d.error(
        ['spec', 'clusterIPs', 0],
        'k8s-invalid-ip',
        `clusterIPs[0] (${clusterIPs[0]}) differs from clusterIP (${s.clusterIP})`,
        'the first of clusterIPs must equal clusterIP',
      );
    }
  }
  const ports = each(d, spec.ports, ['spec', 'ports'], (v, p): ServicePort | undefined => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const port = d.port(m.port, [...p, 'port']);
    if (!d.required(m.port ?? undefined, [...p, 'port'], 'port') || port === undefined)
      return undefined;
    const sp: ServicePort = { port };
    const name = d.str(m.name, [...p, 'name']);
    if (name !== undefined && name !== '') {
      if (!DNS1123_LABEL.test(name) || name.length > 63) {
        d.error(
          [...p, 'name'],
          'k8s-invalid-name',
          `port name ${JSON.stringify(name)} is not a DNS-1123 label`,
          'use lower-case letters, digits and "-"',
        );
      } else sp.name = name;
    }
    const protocol = d.protocol(m.protocol, [...p, 'protocol']);
    if (protocol) sp.protocol = protocol;
    if (
      m.targetPort !== undefined &&
      m.targetPort !== null &&
      m.targetPort !== 0 &&
      m.targetPort !== ''
    ) {
      const tp = d.portOrName(m.targetPort, [...p, 'targetPort']);
      if (tp !== undefined) sp.targetPort = tp;
    }
    if (m.nodePort !== undefined && m.nodePort !== null && m.nodePort !== 0) {
      const np = d.port(m.nodePort, [...p, 'nodePort']);
      if (np !== undefined) sp.nodePort = np;
    }
    const appProtocol = d.str(m.appProtocol, [...p, 'appProtocol']);
    if (appProtocol) sp.appProtocol = appProtocol;
    return sp;
  });
  if (ports) {
    s.ports = ports;
    // ValidateService: names required and unique with more than one port; (port, protocol) unique.
    const names = new Map<string, number>();
    const seen = new Map<string, number>();
    ports.forEach((p, i) => {
      if (ports.length > 1 && p.name === undefined) {
        d.error(
          ['spec', 'ports', i, 'name'],
          'k8s-required',
          'a Service with more than one port must name every port',
          'add a name such as "http"',
        );
      }
      if (p.name !== undefined) {
        const prev = names.get(p.name);
        if (prev !== undefined)
          d.error(
            ['spec', 'ports', i, 'name'],
            'k8s-duplicate',
            `port name ${JSON.stringify(p.name)} is also used by spec.ports[${prev}]`,
            'give each port a unique name',
          );
        else names.set(p.name, i);
      }
      const key = `${p.port}/${p.protocol ?? 'TCP'}`;
      const prevP = seen.get(key);
      if (prevP !== undefined)
        d.error(
          ['spec', 'ports', i, 'port'],
          'k8s-duplicate',
          `port ${key} is also declared by spec.ports[${prevP}]`,
          'remove one of them',
        );
      else seen.set(key, i);
    });
  }
  const externalIPs = each(d, spec.externalIPs, ['spec', 'externalIPs'], (v, p) => d.ip(v, p));
  if (externalIPs && externalIPs.length > 0) s.externalIPs = externalIPs;
  if (
    spec.loadBalancerIP !== undefined &&
    spec.loadBalancerIP !== null &&
    spec.loadBalancerIP !== ''
  ) {
    const ip = d.ip(spec.loadBalancerIP, ['spec', 'loadBalancerIP']);
    if (ip) s.loadBalancerIP = ip;
  }
  const lbsr = each(
    d,
    spec.loadBalancerSourceRanges,
    ['spec', 'loadBalancerSourceRanges'],
    (v, p) => d.cidr(v, p, false),
  );
  if (lbsr && lbsr.length > 0) s.loadBalancerSourceRanges = lbsr;
  const lbc = d.str(spec.loadBalancerClass, ['spec', 'loadBalancerClass']);
  if (lbc) s.loadBalancerClass = lbc;
  const etp = d.oneOf(spec.externalTrafficPolicy, ['spec', 'externalTrafficPolicy'], [
    'Cluster',
    'Local',
  ] as const);
  if (etp) s.externalTrafficPolicy = etp;
  const itp = d.oneOf(spec.internalTrafficPolicy, ['spec', 'internalTrafficPolicy'], [
    'Cluster',
    'Local',
  ] as const);
  if (itp) s.internalTrafficPolicy = itp;
  if (
    spec.healthCheckNodePort !== undefined &&
    spec.healthCheckNodePort !== null &&
    spec.healthCheckNodePort !== 0
  ) {
    const h = d.port(spec.healthCheckNodePort, ['spec', 'healthCheckNodePort']);
    if (h !== undefined) s.healthCheckNodePort = h;
  }
  const sa = d.oneOf(spec.sessionAffinity, ['spec', 'sessionAffinity'], [
    'None',
    'ClientIP',
  ] as const);
  if (sa) s.sessionAffinity = sa;
  const sac = d.map(spec.sessionAffinityConfig, ['spec', 'sessionAffinityConfig']);
  if (sac) {
    const cip = d.map(sac.clientIP, ['spec', 'sessionAffinityConfig', 'clientIP']);
    if (cip) {
      const path = ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'];
      const t = d.int(cip.timeoutSeconds, path);
      if (t !== undefined && (t <= 0 || t > 86400)) {
        d.error(
          path,
          'k8s-invalid-value',
          `timeoutSeconds ${t} is outside 1–86400`,
          'use a value between 1 and 86400 (a day)',
        );
      }
      s.sessionAffinityConfig = {
        clientIP: t !== undefined && t > 0 && t <= 86400 ? { timeoutSeconds: t } : {},
      };
    }
  }
  const pnra = d.bool(spec.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']);
  if (pnra !== undefined) s.publishNotReadyAddresses = pnra;
  const en = d.str(spec.externalName, ['spec', 'externalName']);
  if (en) s.externalName = en;
  const fams = each(d, spec.ipFamilies, ['spec', 'ipFamilies'], (v, p) =>
    d.oneOf(v, p, ['IPv4', 'IPv6'] as const),
  );
  if (fams && fams.length > 0) s.ipFamilies = fams;
  const ifp = d.oneOf(spec.ipFamilyPolicy, ['spec', 'ipFamilyPolicy'], [
    'SingleStack',
    'PreferDualStack',
    'RequireDualStack',
  ] as const);
  if (ifp) s.ipFamilyPolicy = ifp;
  const alnp = d.bool(spec.allocateLoadBalancerNodePorts, [
    'spec',
    'allocateLoadBalancerNodePorts',
  ]);
  if (alnp !== undefined) s.allocateLoadBalancerNodePorts = alnp;

  if (s.type === 'ExternalName' && !s.externalName) {
    d.error(
      ['spec', 'externalName'],
      'k8s-required',
      'an ExternalName Service needs spec.externalName',
      'add spec.externalName: a DNS name such as db.example.com',
    );
  }
  if (s.type !== 'ExternalName' && (!s.ports || s.ports.length === 0) && s.clusterIP !== 'None') {
    d.error(
      ['spec', 'ports'],
      'k8s-required',
      'a Service needs at least one port (unless it is headless, clusterIP: None)',
      'add spec.ports with a port number',
    );
  }
  if (
    (s.type === undefined || s.type === 'ClusterIP') &&
    s.ports?.some((p) => p.nodePort !== undefined)
  ) {
    const i = s.ports.findIndex((p) => p.nodePort !== undefined);
    d.error(
      ['spec', 'ports', i, 'nodePort'],
      'k8s-invalid-value',
      'nodePort may only be set on NodePort and LoadBalancer Services',
      'remove nodePort or set spec.type: NodePort',
    );
  }
  if (s.clusterIP === 'None' && (s.type === 'NodePort' || s.type === 'LoadBalancer')) {
    d.error(
      ['spec', 'clusterIP'],
      'k8s-invalid-value',
      `a ${s.type} Service cannot be headless (clusterIP: None)`,
      'remove clusterIP: None or use type ClusterIP',
    );
  }
  if (s.externalTrafficPolicy !== undefined && s.type !== 'NodePort' && s.type !== 'LoadBalancer') {
    d.warn(
      ['spec', 'externalTrafficPolicy'],
      'k8s-invalid-value',
      'externalTrafficPolicy only applies to NodePort and LoadBalancer Services; ignored',
    );
    delete s.externalTrafficPolicy;
  }
  const status = d.map(raw.status, ['status']);
  const lb = status ? d.map(status.loadBalancer, ['status', 'loadBalancer']) : undefined;
  if (lb) {
    const ingress = each(d, lb.ingress, ['status', 'loadBalancer', 'ingress'], (v, p) => {
      const m = d.map(v, p);
      if (!m) return undefined;
      const e: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' } = {};
      if (m.ip !== undefined && m.ip !== null) {
        const ip = d.ip(m.ip, [...p, 'ip']);
        if (ip) e.ip = ip;
      }
      const hostname = d.str(m.hostname, [...p, 'hostname']);
      if (hostname) e.hostname = hostname;
      const ipMode = d.oneOf(m.ipMode, [...p, 'ipMode'], ['VIP', 'Proxy'] as const);
      if (ipMode) e.ipMode = ipMode;
      return e;
    });
    if (ingress && ingress.length > 0) svc.status = { loadBalancer: { ingress } };
  }
  return svc;
}

function decodeEndpointSlice(d: Decoder, raw: Rec, apiVersion: string): EndpointSlice | undefined {
  const metadata = d.meta(raw, 'EndpointSlice', true);
  if (!metadata) return undefined;
  const addressType = d.oneOf(raw.addressType, ['addressType'], ['IPv4', 'IPv6', 'FQDN'] as const);
  if (!d.required(raw.addressType ?? undefined, ['addressType'], 'addressType') || !addressType)
    return undefined;
  const v4 = addressType === 'IPv4';
  const endpoints =
    each(d, raw.endpoints, ['endpoints'], (v, p): Endpoint | undefined => {
      const m = d.map(v, p);
      if (!m) return undefined;
      const addresses = each(d, m.addresses, [...p, 'addresses'], (a, ap) =>
        v4 ? d.ip(a, ap) : d.str(a, ap),
      );
      if (!addresses || addresses.length === 0) {
        d.error(
          [...p, 'addresses'],
          'k8s-required',
          'an endpoint needs at least one address',
          'add addresses: [the pod IP]',
        );
        return undefined;
      }
      const e: Endpoint = { addresses };
      const c = d.map(m.conditions, [...p, 'conditions']);
      if (c) {
        const cond: NonNullable<Endpoint['conditions']> = {};
        for (const k of ['ready', 'serving', 'terminating'] as const) {
          const b = d.bool(c[k], [...p, 'conditions', k]);
          if (b !== undefined) cond[k] = b;
        }
        e.conditions = cond;
      }
      const hostname = d.str(m.hostname, [...p, 'hostname']);
      if (hostname) e.hostname = hostname;
      const nodeName = d.str(m.nodeName, [...p, 'nodeName']);
      if (nodeName) e.nodeName = nodeName;
      const zone = d.str(m.zone, [...p, 'zone']);
      if (zone) e.zone = zone;
      if (apiVersion === 'discovery.k8s.io/v1beta1') {
        // v1beta1 had `topology` (with topology.kubernetes.io/zone) instead of nodeName/zone.
        const topo = d.map(m.topology, [...p, 'topology']);
        if (topo) {
          if (!e.nodeName && typeof topo['kubernetes.io/hostname'] === 'string')
            e.nodeName = topo['kubernetes.io/hostname'];
          if (!e.zone && typeof topo['topology.kubernetes.io/zone'] === 'string')
            e.zone = topo['topology.kubernetes.io/zone'];
        }
      }
      const hints = d.map(m.hints, [...p, 'hints']);
      if (hints) {
        const fz = each(d, hints.forZones, [...p, 'hints', 'forZones'], (z, zp) => {
          const zm = d.map(z, zp);
          const name = zm ? d.str(zm.name, [...zp, 'name']) : undefined;
          return name ? { name } : undefined;
        });
        if (fz) e.hints = { forZones: fz };
      }
      const tr = d.map(m.targetRef, [...p, 'targetRef']);
      if (tr) {
        const t: NonNullable<Endpoint['targetRef']> = {};
        for (const k of ['kind', 'namespace', 'name', 'uid'] as const)
          if (typeof tr[k] === 'string') t[k] = tr[k];
        e.targetRef = t;
      }
      return e;
    }) ?? [];
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata,
    addressType,
    endpoints,
  };
  const ports = each(d, raw.ports, ['ports'], (v, p): EndpointPort | undefined => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const ep: EndpointPort = {};
    const name = d.str(m.name, [...p, 'name']);
    if (name !== undefined) ep.name = name;
    const protocol = d.protocol(m.protocol, [...p, 'protocol']);
    if (protocol) ep.protocol = protocol;
    const port = d.port(m.port, [...p, 'port']);
    if (port !== undefined) ep.port = port;
    const appProtocol = d.str(m.appProtocol, [...p, 'appProtocol']);
    if (appProtocol) ep.appProtocol = appProtocol;
    return ep;
  });
  if (ports) slice.ports = ports;
  return slice;
}

function decodeLegacyEndpoints(d: Decoder, raw: Rec): LegacyEndpoints | undefined {
  const metadata = d.meta(raw, 'Endpoints', true);
  if (!metadata) return undefined;
  const addr = (v: unknown, p: Path) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const ip = d.ip(m.ip, [...p, 'ip']);
    if (!ip) return undefined;
    const a: LegacyEndpoints['subsets'][number]['addresses'][number] = { ip };
    if (typeof m.nodeName === 'string') a.nodeName = m.nodeName;
    if (typeof m.hostname === 'string') a.hostname = m.hostname;
    if (isRec(m.targetRef)) {
      const t: NonNullable<Endpoint['targetRef']> = {};
      for (const k of ['kind', 'namespace', 'name', 'uid'] as const)
        if (typeof m.targetRef[k] === 'string') t[k] = m.targetRef[k] as string;
      a.targetRef = t;
    }
    return a;
  };
  const subsets =
    each(d, raw.subsets, ['subsets'], (v, p) => {
      const m = d.map(v, p);
      if (!m) return undefined;
      return {
        addresses: each(d, m.addresses, [...p, 'addresses'], addr) ?? [],
        notReadyAddresses: each(d, m.notReadyAddresses, [...p, 'notReadyAddresses'], addr) ?? [],
        ports:
          each(d, m.ports, [...p, 'ports'], (pv, pp) => {
            const pm = d.map(pv, pp);
            if (!pm) return undefined;
            const port = d.port(pm.port, [...pp, 'port']);
            if (port === undefined) return undefined;
            const r: LegacyEndpoints['subsets'][number]['ports'][number] = {
              port,
              protocol: d.protocol(pm.protocol, [...pp, 'protocol']) ?? 'TCP',
            };
            if (typeof pm.name === 'string' && pm.name !== '') r.name = pm.name;
            if (typeof pm.appProtocol === 'string') r.appProtocol = pm.appProtocol;
            return r;
          }) ?? [],
      };
    }) ?? [];
  return { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
}

function decodeNetpolPort(d: Decoder, v: unknown, p: Path): NetworkPolicyPort | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const np: NetworkPolicyPort = {};
  const protocol = d.protocol(m.protocol, [...p, 'protocol']);
  if (protocol) np.protocol = protocol;
  const port = d.portOrName(m.port, [...p, 'port']);
  if (port !== undefined) np.port = port;
  if (m.endPort !== undefined && m.endPort !== null) {
    const endPort = d.port(m.endPort, [...p, 'endPort']);
    if (endPort !== undefined) {
      if (typeof np.port !== 'number') {
        d.error(
          [...p, 'endPort'],
          'k8s-invalid-value',
          'endPort needs a numeric port',
          'set port to the first number of the range',
        );
      } else if (endPort < np.port) {
        d.error(
          [...p, 'endPort'],
          'k8s-invalid-port',
          `endPort ${endPort} is below port ${np.port}`,
          'endPort must be greater than or equal to port',
        );
      } else np.endPort = endPort;
    }
  }
  return np;
}

function decodeNetpolPeer(d: Decoder, v: unknown, p: Path): NetworkPolicyPeer | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const peer: NetworkPolicyPeer = {};
  const ps = d.selector(m.podSelector, [...p, 'podSelector']);
  if (ps) peer.podSelector = ps;
  const ns = d.selector(m.namespaceSelector, [...p, 'namespaceSelector']);
  if (ns) peer.namespaceSelector = ns;
  const ib = d.map(m.ipBlock, [...p, 'ipBlock']);
  if (ib) {
    const cidr = d.cidr(ib.cidr, [...p, 'ipBlock', 'cidr'], false);
    if (d.required(ib.cidr ?? undefined, [...p, 'ipBlock', 'cidr'], 'ipBlock.cidr') && cidr) {
      const block = parseCidr(cidr);
      const except = each(d, ib.except, [...p, 'ipBlock', 'except'], (ev, ep) => {
        const e = d.cidr(ev, ep, false);
        if (!e) return undefined;
        const ec = parseCidr(e);
        if (
          ec.prefix <= block.prefix ||
          !((parseCidrInt(ec) & maskInt(block.prefix)) >>> 0 === parseCidrInt(block))
        ) {
          d.error(
            ep,
            'k8s-invalid-cidr',
            `except ${e} is not strictly inside ${cidr}`,
            'each except entry must be a smaller range within ipBlock.cidr',
          );
          return undefined;
        }
        return e;
      });
      peer.ipBlock = { cidr, ...(except && except.length > 0 ? { except } : {}) };
    }
    if (peer.podSelector || peer.namespaceSelector) {
      d.error(
        [...p, 'ipBlock'],
        'k8s-invalid-value',
        'ipBlock cannot be combined with podSelector or namespaceSelector in one peer',
        'make them separate peers (separate "- " items)',
      );
    }
  }
  if (!peer.podSelector && !peer.namespaceSelector && !peer.ipBlock) {
    d.error(
      p,
      'k8s-required',
      'a peer needs podSelector, namespaceSelector or ipBlock',
      'an empty peer is rejected by the API server; use podSelector: {} to mean all pods in the namespace',
    );
    return undefined;
  }
  return peer;
}

function parseCidrInt(c: { network: string }): number {
  const [a, b, cc, dd] = c.network.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (cc << 8) | dd) >>> 0;
}

function maskInt(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function decodeNetworkPolicy(d: Decoder, raw: Rec): NetworkPolicy | undefined {
  const metadata = d.meta(raw, 'NetworkPolicy', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  // spec.podSelector is a struct, not a pointer, in the Go API: an absent or
  // null value decodes to the empty selector, which selects every pod.
  const podSelector = d.selector(spec.podSelector, ['spec', 'podSelector']) ?? {};
  const np: NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: { podSelector },
  };
  const pt = each(d, spec.policyTypes, ['spec', 'policyTypes'], (v, p) =>
    d.oneOf(v, p, ['Ingress', 'Egress'] as const),
  );
  if (pt) np.spec.policyTypes = pt;
  const ingress = each(d, spec.ingress, ['spec', 'ingress'], (v, p) => {
    const m = d.map(v, p) ?? {};
    const r: NonNullable<NetworkPolicy['spec']['ingress']>[number] = {};
    const from = each(d, m.from, [...p, 'from'], (pv, pp) => decodeNetpolPeer(d, pv, pp));
    if (from) r.from = from;
    const ports = each(d, m.ports, [...p, 'ports'], (pv, pp) => decodeNetpolPort(d, pv, pp));
    if (ports) r.ports = ports;
    return r;
  });
  if (ingress) np.spec.ingress = ingress;
  const egress = each(d, spec.egress, ['spec', 'egress'], (v, p) => {
    const m = d.map(v, p) ?? {};
    const r: NonNullable<NetworkPolicy['spec']['egress']>[number] = {};
    const to = each(d, m.to, [...p, 'to'], (pv, pp) => decodeNetpolPeer(d, pv, pp));
    if (to) r.to = to;
    const ports = each(d, m.ports, [...p, 'ports'], (pv, pp) => decodeNetpolPort(d, pv, pp));
    if (ports) r.ports = ports;
    return r;
  });
  if (egress) np.spec.egress = egress;
  return np;
}

function decodeIngressBackend(d: Decoder, v: unknown, p: Path): IngressBackend | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const s = d.map(m.service, [...p, 'service']);
  if (!s) {
    if (m.resource !== undefined)
      d.warn([...p, 'resource'], 'k8s-not-modelled', 'resource backends are not modelled; ignored');
    return {};
  }
  const name = d.str(s.name, [...p, 'service', 'name']);
  if (!d.required(name, [...p, 'service', 'name'], 'service.name')) return undefined;
  const b: IngressBackend = { service: { name } };
  const port = d.map(s.port, [...p, 'service', 'port']);
  if (port) {
    const number = d.port(port.number, [...p, 'service', 'port', 'number']);
    const pname = d.str(port.name, [...p, 'service', 'port', 'name']);
    b.service!.port = {
      ...(number !== undefined ? { number } : {}),
      ...(pname ? { name: pname } : {}),
    };
  }
  return b;
}

function decodeIngress(d: Decoder, raw: Rec): Ingress | undefined {
  const metadata = d.meta(raw, 'Ingress', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']) ?? {};
  const ing: Ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec: {} };
  const cls = d.str(spec.ingressClassName, ['spec', 'ingressClassName']);
  if (cls) ing.spec.ingressClassName = cls;
  const db = decodeIngressBackend(d, spec.defaultBackend, ['spec', 'defaultBackend']);
  if (db) ing.spec.defaultBackend = db;
  const rules = each(d, spec.rules, ['spec', 'rules'], (v, p) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const r: NonNullable<Ingress['spec']['rules']>[number] = {};
    const host = d.str(m.host, [...p, 'host']);
    if (host) r.host = host;
    const http = d.map(m.http, [...p, 'http']);
    if (http) {
      const paths =
        each(d, http.paths, [...p, 'http', 'paths'], (pv, pp) => {
          const pm = d.map(pv, pp);
          if (!pm) return undefined;
          const backend = decodeIngressBackend(d, pm.backend, [...pp, 'backend']);
          if (!d.required(backend, [...pp, 'backend'], 'backend')) return undefined;
          const path = d.str(pm.path, [...pp, 'path']);
          const pathType = d.oneOf(pm.pathType, [...pp, 'pathType'], [
            'Exact',
            'Prefix',
            'ImplementationSpecific',
          ] as const);
          return { ...(path ? { path } : {}), ...(pathType ? { pathType } : {}), backend };
        }) ?? [];
      r.http = { paths };
    }
    return r;
  });
  if (rules) ing.spec.rules = rules;
  return ing;
}

const RELATIONS = ['self', 'notSelf', 'related', 'sameLabels', 'notSameLabels'] as const;

/**
 * ANP selectors changed shape during v1alpha1: early releases wrapped the
 * namespace selector in a NamespaceSet (`namespaces: {namespaceSelector: …}`
 * and `pods: {namespaces: {namespaceSelector: …}, podSelector: …}`), which
 * could instead select namespaces relative to the subject's (`self`,
 * `notSelf`, `related`, `sameLabels`, `notSameLabels`); current ones use a
 * plain LabelSelector. All are read; a relation is kept as written (the
 * policy engine resolves it per subject), never widened to "all namespaces".
 */
function anpNamespaces(
  d: Decoder,
  v: unknown,
  p: Path,
  relative: boolean,
): LabelSelector | NamespaceRelation | undefined {
  const m = isRec(v) ? v : undefined;
  const rel = m ? RELATIONS.filter((k) => m[k] !== undefined) : [];
  if (!m || (!('namespaceSelector' in m) && rel.length === 0)) return d.selector(v, p);
  const forms = [...('namespaceSelector' in m ? ['namespaceSelector'] : []), ...rel];
  if (forms.length !== 1) {
    d.error(
      p,
      'k8s-invalid-value',
      `a namespace set takes exactly one of namespaceSelector, ${RELATIONS.join(', ')}; found ${forms.join(', ')}`,
    );
    return undefined;
  }
  const k = rel[0];
  if (k === undefined) return d.selector(m.namespaceSelector ?? {}, [...p, 'namespaceSelector']);
  if (!relative) {
    d.error(
      [...p, k],
      'k8s-invalid-value',
      `${k} selects namespaces relative to the subject's; the subject itself cannot use it`,
      'use a namespace label selector',
    );
    return undefined;
  }
  const val = m[k];
  switch (k) {
    case 'self':
    case 'notSelf':
      if (val !== true) {
        d.error([...p, k], 'k8s-invalid-value', `${k} can only be true`);
        return undefined;
      }
      return k === 'self' ? { self: true } : { notSelf: true };
    case 'related': {
      const r = d.oneOf(val, [...p, k], ['Self', 'NotSelf'] as const);
      return r === undefined ? undefined : { related: r };
    }
    case 'sameLabels':
    case 'notSameLabels': {
      const keys = each(d, val, [...p, k], (kv, kp) => {
        const key = d.str(kv, kp);
        const problem = key === undefined ? undefined : labelKeyProblem(key);
        if (problem) d.error(kp, 'k8s-invalid-label', problem);
        return problem ? undefined : key;
      });
      if (keys === undefined) return undefined;
      return k === 'sameLabels' ? { sameLabels: keys } : { notSameLabels: keys };
    }
  }
}

function anpPods(
  d: Decoder,
  v: unknown,
  p: Path,
  relative: boolean,
):
  { namespaceSelector: LabelSelector | NamespaceRelation; podSelector: LabelSelector } | undefined {
  const pods = d.map(v, p);
  if (!pods) return undefined;
  const nsSel =
    pods.namespaces !== undefined
      ? anpNamespaces(d, pods.namespaces, [...p, 'namespaces'], relative)
      : d.selector(pods.namespaceSelector, [...p, 'namespaceSelector']);
  const podSel = d.selector(pods.podSelector, [...p, 'podSelector']);
  if (
    d.required(nsSel, [...p, 'namespaceSelector'], 'pods.namespaceSelector') &&
    d.required(podSel, [...p, 'podSelector'], 'pods.podSelector')
  ) {
    return { namespaceSelector: nsSel, podSelector: podSel };
  }
  return undefined;
}

function decodeAnpSubject(d: Decoder, v: unknown, p: Path): AdminNetworkPolicySubject | undefined {
  const m = d.map(v, p);
  if (!d.required(m, p, 'subject')) return undefined;
  const s: AdminNetworkPolicySubject = {};
  const ns =
    m.namespaces === undefined
      ? undefined
      : (anpNamespaces(d, m.namespaces, [...p, 'namespaces'], false) as LabelSelector | undefined);
  if (ns) s.namespaces = ns;
  // Without relations (relative = false), the namespace part is a plain selector.
  const pods = m.pods === undefined ? undefined : anpPods(d, m.pods, [...p, 'pods'], false);
  if (pods) s.pods = pods as NonNullable<AdminNetworkPolicySubject['pods']>;
  if ((s.namespaces === undefined) === (s.pods === undefined)) {
    d.error(p, 'k8s-invalid-value', 'subject must set exactly one of namespaces or pods');
    return undefined;
  }
  return s;
}

function decodeAnpPeer(
  d: Decoder,
  v: unknown,
  p: Path,
  egress: boolean,
): AdminNetworkPolicyPeer | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const peer: AdminNetworkPolicyPeer = {};
  const ns =
    m.namespaces === undefined
      ? undefined
      : anpNamespaces(d, m.namespaces, [...p, 'namespaces'], true);
  if (ns) peer.namespaces = ns;
  const pods = m.pods === undefined ? undefined : anpPods(d, m.pods, [...p, 'pods'], true);
  if (pods) peer.pods = pods;
  if (egress) {
    const nodes = d.selector(m.nodes, [...p, 'nodes']);
    if (nodes) peer.nodes = nodes;
    const networks = each(d, m.networks, [...p, 'networks'], (nv, np) => d.cidr(nv, np, false));
    if (networks) peer.networks = networks;
  } else {
    for (const k of ['nodes', 'networks']) {
      if (m[k] !== undefined)
        d.error([...p, k], 'k8s-invalid-value', `${k} peers are only allowed in egress rules`);
    }
  }
  const set = [peer.namespaces, peer.pods, peer.nodes, peer.networks].filter(
    (x) => x !== undefined,
  ).length;
  if (set !== 1) {
    d.error(
      p,
      'k8s-invalid-value',
      `a peer must set exactly one of namespaces, pods${egress ? ', nodes, networks' : ''}`,
    );
    return undefined;
  }
  return peer;
}

function decodeAnpPort(d: Decoder, v: unknown, p: Path): AdminNetworkPolicyPort | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const port: AdminNetworkPolicyPort = {};
  const pn = d.map(m.portNumber, [...p, 'portNumber']);
  if (pn) {
    const n = d.port(pn.port, [...p, 'portNumber', 'port']);
    const proto = d.protocol(pn.protocol, [...p, 'portNumber', 'protocol']) ?? 'TCP';
    if (n !== undefined) port.portNumber = { protocol: proto, port: n };
  }
  const named = d.str(m.namedPort, [...p, 'namedPort']);
  if (named) port.namedPort = named;
  const pr = d.map(m.portRange, [...p, 'portRange']);
  if (pr) {
    const start = d.port(pr.start, [...p, 'portRange', 'start']);
    const end = d.port(pr.end, [...p, 'portRange', 'end']);
    const proto = d.protocol(pr.protocol, [...p, 'portRange', 'protocol']);
    if (start !== undefined && end !== undefined) {
      if (end < start)
        d.error(
          [...p, 'portRange', 'end'],
          'k8s-invalid-port',
          `end ${end} is below start ${start}`,
        );
      else port.portRange = { start, end, ...(proto ? { protocol: proto } : {}) };
    }
  }
  const set = [port.portNumber, port.namedPort, port.portRange].filter(
    (x) => x !== undefined,
  ).length;
  if (set !== 1) {
    d.error(
      p,
      'k8s-invalid-value',
      'a port must set exactly one of portNumber, namedPort, portRange',
    );
    return undefined;
  }
  return port;
}

function decodeAnpRules<A extends string>(
  d: Decoder,
  v: unknown,
  p: Path,
  egress: boolean,
  actions: readonly A[],
): AdminNetworkPolicyRule<A>[] | undefined {
  const rules = each(d, v, p, (rv, rp): AdminNetworkPolicyRule<A> | undefined => {
    const m = d.map(rv, rp);
    if (!m) return undefined;
    const action = d.oneOf(m.action, [...rp, 'action'], actions);
    if (!d.required(m.action ?? undefined, [...rp, 'action'], 'action') || !action)
      return undefined;
    const rule: AdminNetworkPolicyRule<A> = { action };
    const name = d.str(m.name, [...rp, 'name']);
    if (name) rule.name = name;
    const key = egress ? 'to' : 'from';
    const peers = each(d, m[key], [...rp, key], (pv, pp) => decodeAnpPeer(d, pv, pp, egress));
    if (!peers || peers.length === 0) {
      d.error([...rp, key], 'k8s-required', `a rule needs at least one ${key} peer`);
      return undefined;
    }
    rule[key] = peers;
    const ports = each(d, m.ports, [...rp, 'ports'], (pv, pp) => decodeAnpPort(d, pv, pp));
    if (ports) rule.ports = ports;
    return rule;
  });
  if (rules && rules.length > 100)
    d.error(
      p,
      'k8s-invalid-value',
      `at most 100 ${egress ? 'egress' : 'ingress'} rules are allowed, found ${rules.length}`,
    );
  return rules;
}

function decodeAdminNetworkPolicy(d: Decoder, raw: Rec): AdminNetworkPolicy | undefined {
  const metadata = d.meta(raw, 'AdminNetworkPolicy', false);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const priority = d.int(spec.priority, ['spec', 'priority']);
  if (
    !d.required(spec.priority ?? undefined, ['spec', 'priority'], 'spec.priority') ||
    priority === undefined
  )
    return undefined;
  if (priority < 0 || priority > 1000) {
    d.error(['spec', 'priority'], 'k8s-invalid-value', `priority ${priority} is outside 0–1000`);
    return undefined;
  }
  const subject = decodeAnpSubject(d, spec.subject, ['spec', 'subject']);
  if (!subject) return undefined;
  const anp: AdminNetworkPolicy = {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata,
    spec: { priority, subject },
  };
  const actions = ['Allow', 'Deny', 'Pass'] as const;
  const ingress = decodeAnpRules(d, spec.ingress, ['spec', 'ingress'], false, actions);
  if (ingress) anp.spec.ingress = ingress;
  const egress = decodeAnpRules(d, spec.egress, ['spec', 'egress'], true, actions);
  if (egress) anp.spec.egress = egress;
  return anp;
}

function decodeBaselineAdminNetworkPolicy(
  d: Decoder,
  raw: Rec,
): BaselineAdminNetworkPolicy | undefined {
  const metadata = d.meta(raw, 'BaselineAdminNetworkPolicy', false);
  if (!metadata) return undefined;
  if (metadata.name !== 'default') {
    d.error(
      ['metadata', 'name'],
      'k8s-invalid-name',
      `a BaselineAdminNetworkPolicy must be named "default", not ${JSON.stringify(metadata.name)}`,
      'rename it to default (there is at most one per cluster)',
    );
    return undefined;
  }
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const subject = decodeAnpSubject(d, spec.subject, ['spec', 'subject']);
  if (!subject) return undefined;
  const banp: BaselineAdminNetworkPolicy = {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'BaselineAdminNetworkPolicy',
    metadata,
    spec: { subject },
  };
  const actions = ['Allow', 'Deny'] as const;
  const ingress = decodeAnpRules(d, spec.ingress, ['spec', 'ingress'], false, actions);
  if (ingress) banp.spec.ingress = ingress;
  const egress = decodeAnpRules(d, spec.egress, ['spec', 'egress'], true, actions);
  if (egress) banp.spec.egress = egress;
  return banp;
}

function decodeCluster(d: Decoder, raw: Rec): Cluster | undefined {
  const metadata = d.meta(raw, 'Cluster', false);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']) ?? {};
  const c: Cluster = { apiVersion: 'packeteye.dev/v1alpha1', kind: 'Cluster', metadata, spec: {} };
  const s = c.spec;
  const cc = d.cidr(spec.clusterCIDR, ['spec', 'clusterCIDR']);
  if (cc) s.clusterCIDR = cc;
  const sc = d.cidr(spec.serviceCIDR, ['spec', 'serviceCIDR']);
  if (sc) s.serviceCIDR = sc;
  const cd = d.str(spec.clusterDomain, ['spec', 'clusterDomain']);
  if (cd) s.clusterDomain = cd;
  if (spec.nodeCIDRMaskSize !== undefined && spec.nodeCIDRMaskSize !== null) {
    const m = d.int(spec.nodeCIDRMaskSize, ['spec', 'nodeCIDRMaskSize']);
    if (m !== undefined && (m < 8 || m > 30)) {
      d.error(
        ['spec', 'nodeCIDRMaskSize'],
        'k8s-invalid-value',
        `nodeCIDRMaskSize ${m} is outside 8–30`,
        'use 24 (the kube-controller-manager default)',
      );
    } else if (m !== undefined) s.nodeCIDRMaskSize = m;
  }
  const cni = d.map(spec.cni, ['spec', 'cni']);
  if (cni) {
    const plugin = d.oneOf(cni.plugin, ['spec', 'cni', 'plugin'], [
      'bridge',
      'flannel',
      'calico',
    ] as const);
    if (plugin === 'bridge') {
      const b: Extract<CniSpec, { plugin: 'bridge' }> = { plugin };
      const hp = d.bool(cni.hairpinMode, ['spec', 'cni', 'hairpinMode']);
      if (hp !== undefined) b.hairpinMode = hp;
      const im = d.bool(cni.ipMasq, ['spec', 'cni', 'ipMasq']);
      if (im !== undefined) b.ipMasq = im;
      const br = d.str(cni.bridge, ['spec', 'cni', 'bridge']);
      if (br) b.bridge = br;
      s.cni = b;
    } else if (plugin === 'flannel') {
      const f: Extract<CniSpec, { plugin: 'flannel' }> = { plugin };
      const be = d.oneOf(cni.backend, ['spec', 'cni', 'backend'], ['vxlan', 'host-gw'] as const);
      if (be) f.backend = be;
      s.cni = f;
    } else if (plugin === 'calico') {
      const k: Extract<CniSpec, { plugin: 'calico' }> = { plugin };
      const enc = d.oneOf(cni.encapsulation, ['spec', 'cni', 'encapsulation'], [
        'None',
        'IPIP',
        'VXLAN',
      ] as const);
      if (enc) k.encapsulation = enc;
      const no = d.bool(cni.natOutgoing, ['spec', 'cni', 'natOutgoing']);
      if (no !== undefined) k.natOutgoing = no;
      s.cni = k;
    }
  }
  const kp = d.map(spec.kubeProxy, ['spec', 'kubeProxy']);
  if (kp) {
    const k: NonNullable<Cluster['spec']['kubeProxy']> = {};
    const mode = d.oneOf(kp.mode, ['spec', 'kubeProxy', 'mode'], [
      'iptables',
      'ipvs',
      'nftables',
    ] as const);
    if (mode) k.mode = mode;
    if (kp.version !== undefined && kp.version !== null) {
      const path = ['spec', 'kubeProxy', 'version'];
      let version: string | undefined;
      if (typeof kp.version === 'number') {
        // YAML reads 1.30 as the number 1.3; take the text as written.
        version = scalarSource(d.ctx.source, path) ?? String(kp.version);
        d.warn(
          path,
          'k8s-version-number',
          `kubeProxy.version is a number; read as "${version}"`,
          `quote it: version: "${version}"`,
        );
      } else version = d.str(kp.version, path);
      if (version !== undefined) {
        const m = /^v?(\d+)\.(\d+)(\.\d+)?$/.exec(version);
        if (!m)
          d.error(
            path,
            'k8s-invalid-value',
            `kubeProxy.version ${JSON.stringify(version)} is not a Kubernetes release like "1.31"`,
            'write MAJOR.MINOR, e.g. "1.31" or "1.27"',
          );
        else k.version = `${m[1]}.${m[2]}`;
      }
    }
    const ma = d.bool(kp.masqueradeAll, ['spec', 'kubeProxy', 'masqueradeAll']);
    if (ma !== undefined) k.masqueradeAll = ma;
    const lnp = d.bool(kp.localhostNodePorts, ['spec', 'kubeProxy', 'localhostNodePorts']);
    if (lnp !== undefined) k.localhostNodePorts = lnp;
    s.kubeProxy = k;
  }
  const masq = d.map(spec.masquerade, ['spec', 'masquerade']);
  if (masq) {
    const m: NonNullable<Cluster['spec']['masquerade']> = {};
    const en = d.bool(masq.enabled, ['spec', 'masquerade', 'enabled']);
    if (en !== undefined) m.enabled = en;
    const nm = each(
      d,
      masq.nonMasqueradeCIDRs,
      ['spec', 'masquerade', 'nonMasqueradeCIDRs'],
      (v, p) => d.cidr(v, p),
    );
    if (nm) m.nonMasqueradeCIDRs = nm;
    s.masquerade = m;
  }
  const np = d.map(spec.networkPolicy, ['spec', 'networkPolicy']);
  if (np) {
    const e = d.oneOf(np.enforcer, ['spec', 'networkPolicy', 'enforcer'], [
      'none',
      'calico',
      'kube-router',
    ] as const);
    s.networkPolicy = e ? { enforcer: e } : {};
  }
  const cloud = d.map(spec.cloud, ['spec', 'cloud']);
  if (cloud) {
    const p = d.oneOf(cloud.provider, ['spec', 'cloud', 'provider'], ['none', 'gce'] as const);
    s.cloud = p ? { provider: p } : {};
  }
  const ul = d.map(spec.underlay, ['spec', 'underlay']);
  if (ul) {
    const u: NonNullable<Cluster['spec']['underlay']> = {};
    const cidr = d.cidr(ul.cidr, ['spec', 'underlay', 'cidr']);
    if (cidr) u.cidr = cidr;
    const gw = d.ip(ul.gateway, ['spec', 'underlay', 'gateway']);
    if (gw) u.gateway = gw;
    if (ul.mtu !== undefined && ul.mtu !== null) {
      const mtu = d.int(ul.mtu, ['spec', 'underlay', 'mtu']);
      if (mtu !== undefined && (mtu < 576 || mtu > 9216))
        d.error(['spec', 'underlay', 'mtu'], 'k8s-invalid-value', `mtu ${mtu} is outside 576–9216`);
      else if (mtu !== undefined) u.mtu = mtu;
    }
    s.underlay = u;
  }
  return c;
}

function decodeExternalHost(d: Decoder, raw: Rec): ExternalHost | undefined {
  const metadata = d.meta(raw, 'ExternalHost', false);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  const address = d.ip(spec.address, ['spec', 'address']);
  if (!d.required(spec.address ?? undefined, ['spec', 'address'], 'spec.address') || !address)
    return undefined;
  const h: ExternalHost = {
    apiVersion: 'packeteye.dev/v1alpha1',
    kind: 'ExternalHost',
    metadata,
    spec: { address },
  };
  const listen = each(d, spec.listen, ['spec', 'listen'], (v, p) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const port = d.port(m.port, [...p, 'port']);
    if (port === undefined) return undefined;
    const protocol = d.protocol(m.protocol, [...p, 'protocol']);
    return { port, ...(protocol ? { protocol } : {}) };
  });
  if (listen) h.spec.listen = listen;
  return h;
}

// ------------------------------------------------------------ dispatch

/** What a known (apiVersion, kind) decodes to. */
type KindDecoder = (
  d: Decoder,
  raw: Rec,
  apiVersion: string,
) => KubeObject | LegacyEndpoints | undefined;

const DECODERS: Record<
  string,
  { versions: readonly string[]; decode: KindDecoder; deprecated?: readonly string[] }
> = {
  Node: { versions: ['v1'], decode: decodeNode },
  Namespace: { versions: ['v1'], decode: decodeNamespace },
  Pod: { versions: ['v1'], decode: decodePod },
  Service: { versions: ['v1'], decode: decodeService },
  Endpoints: { versions: ['v1'], decode: decodeLegacyEndpoints },
  EndpointSlice: {
    versions: ['discovery.k8s.io/v1', 'discovery.k8s.io/v1beta1'],
    deprecated: ['discovery.k8s.io/v1beta1'],
    decode: decodeEndpointSlice,
  },
  NetworkPolicy: {
    versions: ['networking.k8s.io/v1', 'extensions/v1beta1'],
    deprecated: ['extensions/v1beta1'],
    decode: decodeNetworkPolicy,
  },
  Ingress: { versions: ['networking.k8s.io/v1'], decode: decodeIngress },
  AdminNetworkPolicy: {
    versions: ['policy.networking.k8s.io/v1alpha1'],
    decode: decodeAdminNetworkPolicy,
  },
  BaselineAdminNetworkPolicy: {
    versions: ['policy.networking.k8s.io/v1alpha1'],
    decode: decodeBaselineAdminNetworkPolicy,
  },
  Cluster: { versions: ['packeteye.dev/v1alpha1'], decode: decodeCluster },
  ExternalHost: { versions: ['packeteye.dev/v1alpha1'], decode: decodeExternalHost },
};

const WORKLOADS = new Set([
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'ReplicationController',
]);

/** Kinds a cluster dump is full of that have no bearing on the data plane: ignored with one info per file. */
export const IRRELEVANT_KINDS: ReadonlySet<string> = new Set([
  'ConfigMap',
  'Secret',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'Event',
  'ControllerRevision',
  'Lease',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'StorageClass',
  'CustomResourceDefinition',
  'PodDisruptionBudget',
  'HorizontalPodAutoscaler',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'LimitRange',
  'ResourceQuota',
  'IngressClass',
  'RuntimeClass',
  'ComponentStatus',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'CertificateSigningRequest',
]);

/** `Kind ns/name` from an undecoded object, for messages about it. */
export function rawObjectRef(raw: Rec, kind: string): string | undefined {
  const m = isRec(raw.metadata) ? raw.metadata : undefined;
  const name = m && typeof m.name === 'string' ? m.name : undefined;
  if (name === undefined) return undefined;
  const ns = m && typeof m.namespace === 'string' ? m.namespace : undefined;
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}

export type Decoded =
  | { readonly status: 'object'; readonly object: KubeObject | LegacyEndpoints }
  | { readonly status: 'skipped' }
  | { readonly status: 'unknown'; readonly apiVersion: string; readonly kind: string };

/**
 * Decodes one raw object whose apiVersion and kind are known strings. Returns
 * `unknown` for kinds packeteye does not model (the caller reports them, once
 * per kind), `skipped` when the object was unusable (already reported).
 */
export function decodeObject(
  ctx: DecodeContext,
  raw: Rec,
  apiVersion: string,
  kind: string,
): Decoded {
  const entry = DECODERS[kind];
  if (entry === undefined || !entry.versions.includes(apiVersion)) {
    if (entry !== undefined) {
      const d = new Decoder(ctx, rawObjectRef(raw, kind));
      d.warn(
        ['apiVersion'],
        'k8s-unsupported-api-version',
        `${kind} in ${apiVersion} is not read; packeteye reads ${kind} as ${entry.versions.join(' or ')}`,
        `convert it to ${entry.versions[0]} (kubectl get returns the current version)`,
      );
      return { status: 'skipped' };
    }
    return { status: 'unknown', apiVersion, kind };
  }
  const d = new Decoder(ctx, undefined);
  if (entry.deprecated?.includes(apiVersion)) {
    d.report(
      'info',
      ['apiVersion'],
      'k8s-deprecated-api-version',
      `${apiVersion} ${kind} is read as ${entry.versions[0]}`,
    );
  }
  const obj = entry.decode(d, raw, apiVersion);
  return obj === undefined ? { status: 'skipped' } : { status: 'object', object: obj };
}

export { WORKLOADS };

/**
 * A workload controller (Deployment, StatefulSet, CronJob, …) as the pod it
 * would create: its template, named after the workload, with the template's
 * labels and containers. `selector` is how the controller finds its pods
 * (for a Job or CronJob, the template's labels).
 */
export interface Workload {
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly selector: LabelSelector;
  readonly template: Pod;
  /** `Kind/name` of the controllers that own it (a Deployment's ReplicaSet, a CronJob's Job). */
  readonly owners: readonly string[];
}

/** Decodes a workload of `kind` (one of WORKLOADS); undefined when it is unusable (reported). */
export function decodeWorkload(ctx: DecodeContext, raw: Rec, kind: string): Workload | undefined {
  const d = new Decoder(ctx, undefined);
  const metadata = d.meta(raw, kind, true);
  if (!metadata) return undefined;
  d.object = `${kind} ${metadata.namespace ?? 'default'}/${metadata.name}`;
  const spec = d.map(raw.spec, ['spec']);
  if (!d.required(spec, ['spec'], 'spec')) return undefined;
  let at: Path = ['spec', 'template'];
  let tmpl: unknown = spec.template;
  if (kind === 'CronJob') {
    const job = d.map(spec.jobTemplate, ['spec', 'jobTemplate']);
    const jobSpec = job && d.map(job.spec, ['spec', 'jobTemplate', 'spec']);
    at = ['spec', 'jobTemplate', 'spec', 'template'];
    tmpl = jobSpec?.template;
  }
  const template = d.map(tmpl, at);
  if (!d.required(template, at, formatPath(at))) return undefined;
  const tmeta = d.map(template.metadata, [...at, 'metadata']);
  const labels = (tmeta && d.labels(tmeta.labels, [...at, 'metadata', 'labels'])) ?? {};
  const pd = new Decoder(ctx, d.object, at);
  const pod = decodePod(pd, {
    metadata: { name: metadata.name, namespace: metadata.namespace ?? 'default', labels },
    spec: template.spec,
  });
  if (!pod) return undefined;
  let selector: LabelSelector | undefined;
  if (kind === 'ReplicationController') {
    const m = spec.selector !== undefined ? d.labels(spec.selector, ['spec', 'selector']) : labels;
    selector = { matchLabels: m ?? labels };
  } else if (kind !== 'Job' && kind !== 'CronJob') {
    selector = d.selector(spec.selector, ['spec', 'selector']);
  }
  const meta = isRec(raw.metadata) ? raw.metadata : {};
  const owners = (Array.isArray(meta.ownerReferences) ? meta.ownerReferences : []).flatMap((o) =>
    isRec(o) && typeof o.kind === 'string' && typeof o.name === 'string'
      ? [`${o.kind}/${o.name}`]
      : [],
  );
  return { kind, metadata, selector: selector ?? { matchLabels: labels }, template: pod, owners };
}
