/**
 * The field reader every kind's decoder uses: one object's fields read the
 * way the API server's decoder and `pkg/apis/core/validation` would take or
 * reject them (types, required fields, names, IPs and CIDRs, ports,
 * protocols, labels, selectors, metadata), each problem a diagnostic with
 * the field's path and line.
 */

import type { Diagnostic, Severity } from '../../diag.js';
import { isCidr, isIpv4, parseCidr, formatCidr } from '../../wire/addr.js';
import { formatPath, lineOf, type Path, type SourceRef } from '../parse.js';
import { labelKeyProblem, labelValueProblem, validateSelector } from '../selector.js';
import type { LabelSelector, ObjectMeta, Protocol } from '../types.js';

export type Rec = Record<string, unknown>;

/**
 * A field's path as the decoders pass it down: an array, or one step below
 * another path. A step is one small object; the array is made only when a
 * diagnostic names the field (a copied array per field read, 150,000 pods
 * times, was most of what decoding allocated).
 */
export type FieldPath = Path | Step;

export class Step {
  constructor(
    readonly up: FieldPath,
    readonly key: string | number,
  ) {}
}

/** The path of `key` below `up` (and `key2`, `key3` below that). */
export function step(
  up: FieldPath,
  key: string | number,
  key2?: string | number,
  key3?: string | number,
): FieldPath {
  const s = new Step(up, key);
  if (key2 === undefined) return s;
  const s2 = new Step(s, key2);
  return key3 === undefined ? s2 : new Step(s2, key3);
}

/** The path as an array. */
export function pathOf(p: FieldPath): Path {
  if (!(p instanceof Step)) return p;
  const keys: (string | number)[] = [];
  let at: FieldPath = p;
  while (at instanceof Step) {
    keys.push(at.key);
    at = at.up;
  }
  keys.reverse();
  const top: Path = at;
  return top.length > 0 ? [...top, ...keys] : keys;
}

export interface DecodeContext {
  readonly file: string;
  readonly document: number;
  /** Line of the object's start. */
  readonly line: number;
  readonly source: SourceRef;
  readonly diagnostics: Diagnostic[];
}

export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
// IANA_SVC_NAME (k8s.io/apimachinery validation.IsValidPortName): 1–15
// lower-case alphanumerics or '-', at least one letter, no leading, trailing
// or double '-'.
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Port names found valid (the check is pure; 150,000 pods repeat a few): a bounded memo, emptied when full. */
const VALID_PORT_NAMES = new Set<string>();

export function isValidPortName(name: string): boolean {
  if (VALID_PORT_NAMES.has(name)) return true;
  const ok =
    name.length <= 15 && IANA_SVC_NAME.test(name) && /[a-z]/.test(name) && !name.includes('--');
  if (ok) remember(VALID_PORT_NAMES, name);
  return ok;
}

/** True when `o` has a field of its own (Object.keys(o).length > 0, without the array). */
export function hasField(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

export function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Label keys and values found valid (validation is pure): a bounded memo, emptied when full. */
const VALID_KEYS = new Set<string>();
const VALID_VALUES = new Set<string>();
function remember(set: Set<string>, s: string): void {
  if (set.size >= 65536) set.clear();
  set.add(s);
}

/** True when every field of `m` is a label key and value found valid before. */
function knownLabels(m: Rec): boolean {
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    const v = m[k];
    if (typeof v !== 'string' || !VALID_KEYS.has(k) || !VALID_VALUES.has(v)) return false;
  }
  return true;
}

/**
 * The last `metadata.labels` kept as the input's own mapping (every key and
 * value found valid), and its keys in order. The objects of a dump come in
 * runs with the same labels (a Deployment's pods one after another): one
 * equal to the last, key for key in the same order, is read as that same
 * mapping. Its own copy is then garbage at once, where 150,000 kept copies
 * were each copied by the young collections they lived through. The mapping
 * is then shared by those objects (and by a later reading's, this memo being
 * the module's): nothing in packeteye writes loaded labels (model/shared.test.ts
 * builds every example from deeply frozen objects); a caller that edits one
 * object's labels must copy them first.
 */
let lastLabels: Record<string, string> | undefined;
const lastLabelKeys: string[] = [];

/** The last labels when `m` has the same keys, in the same order, with the same values. */
function sameAsLastLabels(m: Rec): Record<string, string> | undefined {
  const last = lastLabels;
  if (last === undefined) return undefined;
  const keys = lastLabelKeys;
  let i = 0;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    if (i >= keys.length || keys[i] !== k || m[k] !== last[k]) return undefined;
    i++;
  }
  return i === keys.length ? last : undefined;
}

/** Remembers `m` (labels kept as the input's own mapping) as the last labels. */
function rememberLabels(m: Record<string, string>): void {
  // One array, refilled: the first object of every run remembers its labels.
  const keys = lastLabelKeys;
  keys.length = 0;
  for (const k in m) if (Object.hasOwn(m, k)) keys.push(k);
  lastLabels = m;
}

/** The last namespace found a DNS-1123 label: a dump's objects come namespace by namespace. */
let lastValidNamespace: string | undefined;

function isDns1123Label(namespace: string): boolean {
  const ok = DNS1123_LABEL.test(namespace) && namespace.length <= 63;
  if (ok) lastValidNamespace = namespace;
  return ok;
}

/** A field path made once (an array made at each read was most of what decoding allocated). */
export const at = (...keys: string[]): Path => Object.freeze(keys);

/** The document's top: the path of an object's own fields. */
const TOP: Path = at();

/** Metadata's field paths. */
const METADATA = at('metadata');
const META_NAME = at('metadata', 'name');
const META_NAMESPACE = at('metadata', 'namespace');
const META_LABELS = at('metadata', 'labels');
const META_ANNOTATIONS = at('metadata', 'annotations');

/** Reads one object's fields, reporting problems with their field path. */
export class Decoder {
  #object: string | undefined;
  /** Who `object` names until it is first read (a message is rare: the text is not made for each object). */
  #kind: string | undefined;
  #namespace: string | undefined;
  #name: string | undefined;

  constructor(
    readonly ctx: DecodeContext,
    object: string | undefined,
    /** Where the decoded value sits in the document (a workload's pod template). */
    readonly prefix: Path = TOP,
  ) {
    this.#object = object;
  }

  /** `Kind ns/name` (`Kind name` without a namespace): the object messages name. */
  get object(): string | undefined {
    if (this.#kind !== undefined) {
      const ns = this.#namespace;
      this.#object =
        ns !== undefined ? `${this.#kind} ${ns}/${this.#name}` : `${this.#kind} ${this.#name}`;
      this.#kind = undefined;
    }
    return this.#object;
  }

  set object(object: string | undefined) {
    this.#object = object;
    this.#kind = undefined;
  }

  report(severity: Severity, at: FieldPath, code: string, message: string, hint?: string): void {
    const rel = pathOf(at);
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

  error(path: FieldPath, code: string, message: string, hint?: string): void {
    this.report('error', path, code, message, hint);
  }

  warn(path: FieldPath, code: string, message: string, hint?: string): void {
    this.report('warning', path, code, message, hint);
  }

  private typeError(path: FieldPath, want: string, v: unknown, hint?: string): void {
    this.error(path, 'k8s-field-type', `expected ${want}, found ${describe(v)}`, hint);
  }

  map(v: unknown, path: FieldPath): Rec | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isRec(v)) {
      this.typeError(path, 'a mapping', v);
      return undefined;
    }
    return v;
  }

  list(v: unknown, path: FieldPath): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.typeError(path, 'a list', v, 'write it as a YAML list (lines starting with "- ")');
      return undefined;
    }
    return v;
  }

  str(v: unknown, path: FieldPath): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.typeError(path, 'a string', v, `quote the value: "${String(v)}"`);
      return undefined;
    }
    return v;
  }

  int(v: unknown, path: FieldPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.typeError(path, 'an integer', v);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, path: FieldPath): boolean | undefined {
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

  required<T>(v: T | undefined, path: FieldPath, what = 'this field'): v is T {
    if (v === undefined) {
      this.error(path, 'k8s-required', `${what} is required`, `add ${formatPath(pathOf(path))}`);
      return false;
    }
    return true;
  }

  oneOf<T extends string>(v: unknown, path: FieldPath, values: readonly T[]): T | undefined {
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

  protocol(v: unknown, path: FieldPath): Protocol | undefined {
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
  port(v: unknown, path: FieldPath, min = 1): number | undefined {
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
  portOrName(v: unknown, path: FieldPath): number | string | undefined {
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
  ip(v: unknown, path: FieldPath): string | undefined {
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
  cidr(v: unknown, path: FieldPath, strict = true): string | undefined {
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

  labels(v: unknown, path: FieldPath): Record<string, string> | undefined {
    const m = this.map(v, path);
    if (m === undefined) return undefined;
    // Every key and value checked before (150,000 pods repeat a few): the input's mapping is
    // the labels as they are, not copied key by key.
    if (knownLabels(m)) return m as Record<string, string>;
    const out: Record<string, string> = {};
    let fields = 0;
    let kept = 0;
    for (const k in m) {
      if (!Object.hasOwn(m, k)) continue;
      fields++;
      const raw = m[k];
      if (typeof raw === 'string' && VALID_KEYS.has(k) && VALID_VALUES.has(raw)) {
        out[k] = raw;
        kept++;
        continue;
      }
      const p = step(path, k);
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
      remember(VALID_KEYS, k);
      remember(VALID_VALUES, val);
      out[k] = val;
      kept++;
    }
    // Every field kept (each a string, as it was): the input's mapping is the labels, as when
    // all were known before.
    return kept === fields ? (m as Record<string, string>) : out;
  }

  stringMap(v: unknown, path: FieldPath): Record<string, string> | undefined {
    const m = this.map(v, path);
    if (m === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const k in m) {
      if (!Object.hasOwn(m, k)) continue;
      const raw = m[k];
      // Annotations are free text; coerce scalars rather than fail on them.
      if (typeof raw === 'string') out[k] = raw;
      else if (typeof raw === 'number' || typeof raw === 'boolean') out[k] = String(raw);
      else this.typeError(step(path, k), 'a string', raw);
    }
    return out;
  }

  selector(v: unknown, path: FieldPath): LabelSelector | undefined {
    if (v === undefined || v === null) return undefined;
    const m = this.map(v, path);
    if (m === undefined) return undefined;
    const sel: LabelSelector = {};
    if (m.matchLabels !== undefined && m.matchLabels !== null) {
      const ml = this.labels(m.matchLabels, step(path, 'matchLabels'));
      if (ml) sel.matchLabels = ml;
    }
    const me = this.list(m.matchExpressions, step(path, 'matchExpressions'));
    if (me) {
      sel.matchExpressions = me as LabelSelector['matchExpressions'];
      for (const p of validateSelector({ matchExpressions: sel.matchExpressions })) {
        this.error(
          [
            ...pathOf(path),
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
    const m = this.map(raw.metadata, METADATA);
    if (m === undefined) {
      this.error(METADATA, 'k8s-required', `${kind} has no metadata`, 'add metadata.name');
      return undefined;
    }
    const name = this.str(m.name, META_NAME);
    if (name === undefined || name === '') {
      const gen = typeof m.generateName === 'string';
      this.error(
        META_NAME,
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
    const namespace = this.str(m.namespace, META_NAMESPACE);
    // Inside a workload's template, messages name the workload (it is what the user wrote).
    if (this.prefix.length === 0) {
      this.#kind = kind;
      this.#namespace = namespaced && namespace ? namespace : undefined;
      this.#name = name;
    }
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
      // Names are identities here, not addresses: one the API server would refuse still reads.
      this.warn(
        META_NAME,
        'k8s-invalid-name',
        `name ${JSON.stringify(name)} is not ${what}; read as written`,
      );
    }
    let ns: string | undefined;
    if (namespace !== undefined) {
      if (!namespaced) {
        this.warn(
          META_NAMESPACE,
          'k8s-namespace-ignored',
          `${kind} is cluster-scoped; metadata.namespace ignored`,
        );
      } else {
        if (namespace !== lastValidNamespace && !isDns1123Label(namespace))
          this.warn(
            META_NAMESPACE,
            'k8s-invalid-name',
            `namespace ${JSON.stringify(namespace)} is not a DNS-1123 label; read as written`,
          );
        ns = namespace;
      }
    }
    const rawLabels = m.labels;
    let labels = isRec(rawLabels) ? sameAsLastLabels(rawLabels) : undefined;
    if (labels === undefined) {
      labels = this.labels(rawLabels, META_LABELS);
      if (labels !== undefined && labels === rawLabels) rememberLabels(labels);
    }
    if (labels && !hasField(labels)) labels = undefined;
    let annotations = this.stringMap(m.annotations, META_ANNOTATIONS);
    if (annotations && !hasField(annotations)) annotations = undefined;
    const uid = typeof m.uid === 'string' && m.uid !== '' ? m.uid : undefined;
    const rv =
      typeof m.resourceVersion === 'string' && m.resourceVersion !== ''
        ? m.resourceVersion
        : undefined;
    const deletion =
      m.deletionTimestamp !== undefined && m.deletionTimestamp !== null
        ? String(m.deletionTimestamp)
        : undefined;
    return objectMeta(name, ns, labels, annotations, uid, rv, deletion);
  }
}

/**
 * An ObjectMeta with the fields that are set, in this order. The usual
 * shapes are each one literal: objects that outlive the reading are made by
 * literals, which V8 allocates straight into the old generation once it sees
 * they survive (an object made empty and filled is copied by every young
 * collection it lives through: 150,000 pods' worth).
 */
function objectMeta(
  name: string,
  namespace: string | undefined,
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
  uid: string | undefined,
  resourceVersion: string | undefined,
  deletionTimestamp: string | undefined,
): ObjectMeta {
  if (deletionTimestamp === undefined && annotations === undefined) {
    if (uid === undefined && resourceVersion === undefined) {
      if (namespace !== undefined)
        return labels !== undefined ? { name, namespace, labels } : { name, namespace };
      return labels !== undefined ? { name, labels } : { name };
    }
    if (namespace !== undefined && labels !== undefined && uid !== undefined)
      return resourceVersion !== undefined
        ? { name, namespace, labels, uid, resourceVersion }
        : { name, namespace, labels, uid };
  }
  // Made empty and filled: an empty literal has room for four fields in the object itself.
  const meta = {} as ObjectMeta;
  meta.name = name;
  if (namespace !== undefined) meta.namespace = namespace;
  if (labels !== undefined) meta.labels = labels;
  if (annotations !== undefined) meta.annotations = annotations;
  if (uid !== undefined) meta.uid = uid;
  if (resourceVersion !== undefined) meta.resourceVersion = resourceVersion;
  if (deletionTimestamp !== undefined) meta.deletionTimestamp = deletionTimestamp;
  return meta;
}

export function each<T>(
  d: Decoder,
  v: unknown,
  path: FieldPath,
  /** Called with the decoder too: a function that needs nothing else is made once, not per list. */
  f: (item: unknown, path: FieldPath, i: number, d: Decoder) => T | undefined,
): T[] | undefined {
  const l = d.list(v, path);
  if (l === undefined) return undefined;
  // One or two items (most lists of a pod): a literal, which V8 allocates in the old
  // generation once it sees such lists survive (see objectMeta).
  if (l.length === 1) {
    const r = f(l[0], new Step(path, 0), 0, d);
    return r === undefined ? [] : [r];
  }
  if (l.length === 2) {
    const a = f(l[0], new Step(path, 0), 0, d);
    const b = f(l[1], new Step(path, 1), 1, d);
    if (a === undefined) return b === undefined ? [] : [b];
    return b === undefined ? [a] : [a, b];
  }
  // Allocated at its final size: a list grown by push keeps room for 17 (150,000 pods hold 600,000 lists).
  const out = new Array<T>(l.length);
  let n = 0;
  for (let i = 0; i < l.length; i++) {
    const r = f(l[i], new Step(path, i), i, d);
    if (r !== undefined) out[n++] = r;
  }
  if (n < out.length) out.length = n;
  return out;
}
