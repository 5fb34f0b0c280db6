/**
 * Loading cluster files: YAML or JSON, any number of `---` documents,
 * `kind: List` and the `*List` kinds (`PodList`, `ServiceList`, …) the API
 * returns, and `kubectl get -A -o yaml` dumps with all their noise.
 *
 * Each object is decoded and validated on its own (`decode.ts`); this file
 * expands lists, reports kinds packeteye does not model, and drops duplicate
 * objects. It never throws: every problem is a diagnostic naming the file,
 * line, document, object and field.
 */

import { evidenceOf, type EvidenceItem } from './detect/evidence.js';
import type { Diagnostic, Location } from '../diag.js';
import {
  IRRELEVANT_KINDS,
  PREFERRED_VERSIONS,
  WORKLOADS,
  decodeObject,
  decodeWorkload,
  rawObjectRef,
  type DecodeContext,
  type LegacyEndpoints,
  type Workload,
} from './decode/index.js';
import {
  childSource,
  formatPath,
  isCheap,
  lineOf,
  ItemSyntaxError,
  parseFile,
  parseFileByItem,
  parsePath,
  type RawDocument,
  type SourceRef,
} from './parse.js';
import { CLUSTER_SCOPED, Identities } from './identities.js';
import { Pending, Sourced } from './load-source.js';
import { matchesSelector } from './selector.js';
import { objectRef, type EndpointSlice, type KubeObject, type Pod } from './types.js';

export interface Origin {
  readonly file: string;
  /** 1-based document index in the file. */
  readonly document: number;
  /** 1-based line where the object starts. */
  readonly line: number;
  /** Index in `items` when the object came from a List. */
  readonly item?: number;
}

export interface LoadedObject {
  readonly object: KubeObject;
  readonly origin: Origin;
}

export interface LoadResult {
  objects: LoadedObject[];
  /** What the objects say about the data plane (k8s/detect), kept from every object read. */
  evidence: EvidenceItem[];
  /** Workload controllers (Deployment, CronJob, …): see `workloadPods`. */
  workloads: LoadedWorkload[];
  diagnostics: Diagnostic[];
}

export interface LoadedWorkload {
  readonly workload: Workload;
  readonly origin: Origin;
}

/**
 * Annotation on EndpointSlices that packeteye made from a legacy v1
 * `Endpoints` object (the endpointslicemirroring controller's job);
 * `buildModel` uses them only for selector-less Services without slices.
 */
export const MIRRORED_ANNOTATION = 'packeteye.dev/mirrored-from-endpoints';

/**
 * Annotation on a pod packeteye stands in for others: `Kind ns/name` of the
 * workload whose template it is (`workloadPods`), or of the EndpointSlice
 * whose endpoint address has no pod in the input.
 */
export const STAND_IN_ANNOTATION = 'packeteye.dev/stand-in-for';

/**
 * The location of `field` (e.g. `spec.ports[0].targetPort`) in a loaded
 * object: file, the field's own line when the source is YAML, document,
 * `Kind ns/name` and the field. Used by everything that reports on objects.
 */
export function locate(loaded: LoadedObject, field?: string): Location {
  const src = Sourced.get(loaded.object);
  const line =
    (src && field !== undefined ? lineOf(src, parsePath(field)) : undefined) ?? loaded.origin.line;
  return {
    file: loaded.origin.file,
    line,
    document: loaded.origin.document,
    object: objectRef(loaded.object),
    ...(field !== undefined ? { field } : {}),
  };
}

const MAX_LIST_DEPTH = 4;

function isRec(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Expands Lists into their items, with inherited apiVersion/kind for typed
 * lists, handing each object to `emit` as it is reached (a List read item by
 * item is never held whole).
 */
function expand(
  doc: RawDocument,
  diagnostics: Diagnostic[],
  objectDiagnostics: Diagnostic[],
  emit: (p: Pending) => void,
): void {
  const lazy = doc.lazyItems;
  // `given` is undefined for an item of `lazy`: its source is made only when asked for.
  const walk = (
    value: unknown,
    given: SourceRef | undefined,
    line: number,
    depth: number,
    item: number | undefined,
    inherit?: { apiVersion: string; kind: string },
  ) => {
    if (!isRec(value)) {
      diagnostics.push({
        code: 'k8s-not-an-object',
        severity: 'error',
        message: `expected a Kubernetes object (a mapping with apiVersion and kind), found ${Array.isArray(value) ? 'a list' : typeof value === 'string' ? 'a string' : String(value)}`,
        file: doc.file,
        line,
        document: doc.document,
        hint: 'each document must be one object; separate objects with a line "---"',
      });
      return;
    }
    // Copied only when written to (an inherited kind, a missing apiVersion): the parsed value is the input's.
    let raw: Record<string, unknown> = value;
    if (inherit && (raw.kind === undefined || raw.apiVersion === undefined)) {
      raw = { ...value };
      if (raw.kind === undefined) raw.kind = inherit.kind;
      if (raw.apiVersion === undefined) raw.apiVersion = inherit.apiVersion;
    }
    const kind = raw.kind;
    const apiVersion = raw.apiVersion as unknown;
    if (typeof kind !== 'string' || kind === '') {
      diagnostics.push({
        code: 'k8s-missing-kind',
        severity: 'error',
        message: 'document has no kind',
        file: doc.file,
        line,
        document: doc.document,
        ...(rawObjectRef(raw, '?') ? { object: rawObjectRef(raw, '?') } : {}),
        field: 'kind',
        hint: 'add kind (e.g. Pod, Service, Node) and apiVersion',
      });
      return;
    }
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      // The API server needs apiVersion, but the kind alone has one reading:
      // a kind packeteye models is read in its current version (a warning), any
      // other kind is ignored as it would be with an apiVersion.
      const preferred = PREFERRED_VERSIONS.get(kind);
      if (preferred !== undefined) {
        diagnostics.push({
          code: 'k8s-missing-apiversion',
          severity: 'warning',
          message: `${kind} has no apiVersion; read as ${preferred}`,
          file: doc.file,
          line,
          document: doc.document,
          ...(rawObjectRef(raw, kind) ? { object: rawObjectRef(raw, kind) } : {}),
          field: 'apiVersion',
          hint: `add apiVersion: ${preferred}`,
        });
      }
      if (raw === value) raw = { ...value };
      raw.apiVersion = preferred ?? '';
    }
    if (kind === 'List' || (kind.endsWith('List') && Array.isArray(raw.items))) {
      if (depth >= MAX_LIST_DEPTH) {
        diagnostics.push({
          code: 'k8s-not-an-object',
          severity: 'error',
          message: `Lists nested more than ${MAX_LIST_DEPTH} deep`,
          file: doc.file,
          line,
          document: doc.document,
        });
        return;
      }
      if (raw.items === undefined || raw.items === null) return;
      if (!Array.isArray(raw.items)) {
        diagnostics.push({
          code: 'k8s-field-type',
          severity: 'error',
          message: `${kind}.items must be a list`,
          file: doc.file,
          line,
          document: doc.document,
          field: 'items',
        });
        return;
      }
      // `PodList` items carry no kind of their own when they come from the API.
      const itemInherit =
        kind === 'List'
          ? undefined
          : { apiVersion: raw.apiVersion as string, kind: kind.slice(0, -'List'.length) };
      if (depth === 0 && lazy !== undefined) {
        for (let i = 0; i < lazy.count; i++)
          walk(lazy.value(i), undefined, lazy.line(i), 1, i, itemInherit);
        return;
      }
      const source = given ?? lazy!.source(item!);
      raw.items.forEach((it: unknown, i) => {
        const src =
          (depth === 0 ? doc.itemSources?.[i] : undefined) ?? childSource(source, ['items', i]);
        const itemLine =
          depth === 0 && doc.itemLines
            ? doc.itemLines[i]
            : isCheap(source)
              ? lineOf(source, ['items', i])
              : undefined;
        walk(it, src, itemLine ?? line, depth + 1, i, itemInherit);
      });
      return;
    }
    emit(
      new Pending(
        raw,
        doc.file,
        doc.document,
        line,
        item,
        given,
        given === undefined ? lazy : undefined,
        objectDiagnostics,
      ),
    );
  };
  walk(doc.value, doc.source, doc.line, 0, undefined);
}

/** An EndpointSlice per Endpoints subset, as the endpointslicemirroring controller writes them. */
function mirror(ep: LegacyEndpoints): EndpointSlice[] {
  return ep.subsets.map((subset, i) => {
    const toEndpoint = (
      a: LegacyEndpoints['subsets'][number]['addresses'][number],
      ready: boolean,
    ) => ({
      addresses: [a.ip],
      conditions: { ready },
      ...(a.hostname ? { hostname: a.hostname } : {}),
      ...(a.nodeName ? { nodeName: a.nodeName } : {}),
      ...(a.targetRef ? { targetRef: a.targetRef } : {}),
    });
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${ep.metadata.name}-mirrored-${i}`,
        ...(ep.metadata.namespace ? { namespace: ep.metadata.namespace } : {}),
        labels: {
          'kubernetes.io/service-name': ep.metadata.name,
          'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
        },
        annotations: {
          [MIRRORED_ANNOTATION]: `Endpoints ${ep.metadata.namespace ?? 'default'}/${ep.metadata.name}`,
        },
      },
      addressType: 'IPv4',
      endpoints: [
        ...subset.addresses.map((a) => toEndpoint(a, true)),
        ...subset.notReadyAddresses.map((a) => toEndpoint(a, false)),
      ],
      ports: subset.ports.map((p) => ({
        name: p.name ?? '',
        port: p.port,
        protocol: p.protocol,
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      })),
    } satisfies EndpointSlice;
  });
}

type Duplicates = Map<string, { count: number; first: LoadedObject; prev: LoadedObject }>;
type UnknownKinds = Map<
  string,
  { first: Location; count: number; kind: string; apiVersion: string; irrelevant: boolean }
>;

/** parseFile, with a last line of defence: it does not throw by design. */
function parseGuarded(
  f: { path: string; text: string },
  diagnostics: Diagnostic[],
  byItem: boolean,
): ReturnType<typeof parseFile> | undefined {
  try {
    return byItem ? parseFileByItem(f.path, f.text) : parseFile(f.path, f.text);
  } catch (e) {
    diagnostics.push({
      code: 'k8s-parse',
      severity: 'error',
      message: `cannot read: ${(e as Error).message}`,
      file: f.path,
    });
    return undefined;
  }
}

/** A workload whose problems are warnings that leave it out (undefined), never errors. */
function decodeWorkloadLeniently(
  ctx: Parameters<typeof decodeWorkload>[0],
  raw: Parameters<typeof decodeWorkload>[1],
  kind: Parameters<typeof decodeWorkload>[2],
): ReturnType<typeof decodeWorkload> {
  const own: Diagnostic[] = [];
  // Field by field: a context's source may be a getter, which a spread would not copy.
  const w = decodeWorkload(
    {
      file: ctx.file,
      document: ctx.document,
      line: ctx.line,
      source: ctx.source,
      diagnostics: own,
    },
    raw,
    kind,
  );
  for (const d of own) {
    ctx.diagnostics.push(
      d.severity === 'error'
        ? { ...d, severity: 'warning', message: `${d.message}; the ${kind} is left out` }
        : d,
    );
  }
  return w;
}

/** One warning per pair of files that define the same objects. */
function reportDuplicates(duplicates: Duplicates, diagnostics: Diagnostic[]): void {
  for (const { count, first, prev } of duplicates.values()) {
    const more =
      count > 1
        ? ` (and ${count - 1} more object${count > 2 ? 's' : ''} of ${first.origin.file} defined before in ${prev.origin.file})`
        : '';
    diagnostics.push({
      code: 'k8s-duplicate-object',
      severity: 'warning',
      message: `${objectRef(first.object)} is defined twice; the first, at ${prev.origin.file}:${prev.origin.line} (document ${prev.origin.document}), is used and this one ignored${more}`,
      ...locate(first),
      hint:
        prev.origin.file === first.origin.file
          ? 'remove one of them, or give them different names'
          : 'every -f input is read as one cluster: pass the files of one cluster only, or give the objects different names',
    });
  }
}

/** One diagnostic per file and unknown kind, with the count of the rest. */
function reportUnknownKinds(unknown: UnknownKinds, diagnostics: Diagnostic[]): void {
  for (const u of unknown.values()) {
    const many = u.count > 1 ? ` (and ${u.count - 1} more in this file)` : '';
    diagnostics.push(
      u.irrelevant
        ? {
            code: 'k8s-ignored-kind',
            severity: 'info',
            message: `${u.kind} ignored: it does not affect the data plane${many}`,
            ...u.first,
          }
        : {
            code: 'k8s-unknown-kind',
            severity: 'warning',
            message: `${u.apiVersion} ${u.kind} is not modelled by packeteye and is ignored${many}`,
            ...u.first,
            hint: 'packeteye reads Node, Namespace, Pod, Service, EndpointSlice, NetworkPolicy, Ingress, AdminNetworkPolicy, BaselineAdminNetworkPolicy, Cluster and ExternalHost',
          },
    );
  }
}

/**
 * What one file adds to the reading, kept apart until the file is read
 * through: a JSON List read item by item whose item turns out not to be JSON
 * is read again whole (the whole reading words the error), as if the first
 * attempt had not been.
 */
interface FileReading {
  readonly objects: LoadedObject[];
  readonly workloads: LoadedWorkload[];
  readonly evidence: EvidenceItem[];
  readonly diagnostics: Diagnostic[];
  /** The identities this file defines first. */
  readonly seen: Identities<LoadedObject>;
  readonly duplicates: Duplicates;
  readonly unknown: UnknownKinds;
}

/** One file's objects, decoded as each is reached; `seen` holds the earlier files' identities (read only). */
function readFile(
  f: { path: string; text: string },
  seen: Identities<LoadedObject>,
  byItem: boolean,
): FileReading {
  const r: FileReading = {
    objects: [],
    workloads: [],
    evidence: [],
    diagnostics: [],
    seen: new Identities<LoadedObject>(),
    duplicates: new Map(),
    unknown: new Map(),
  };
  const parsed = parseGuarded(f, r.diagnostics, byItem);
  if (parsed === undefined) return r;
  append(r.diagnostics, parsed.diagnostics);
  for (const doc of parsed.documents) {
    // A document's List problems come before its objects' (as when the List was expanded first).
    const listDiagnostics: Diagnostic[] = [];
    const objectDiagnostics: Diagnostic[] = [];
    expand(doc, listDiagnostics, objectDiagnostics, (p) => readObject(p, r, seen));
    append(r.diagnostics, listDiagnostics);
    append(r.diagnostics, objectDiagnostics);
  }
  return r;
}

/** `to.push(...from)` without spreading a long list onto the stack. */
function append<T>(to: T[], from: readonly T[]): void {
  for (const x of from) to.push(x);
}

/** Decodes one object of a file into its reading. */
function readObject(p: Pending, r: FileReading, seen: Identities<LoadedObject>): void {
  const diagnostics = p.diagnostics;
  const kind = p.raw.kind as string;
  const apiVersion = p.raw.apiVersion as string;
  // One literal or the other, not a spread: made for every object.
  const origin: Origin =
    p.item !== undefined
      ? { file: p.file, document: p.document, line: p.line, item: p.item }
      : { file: p.file, document: p.document, line: p.line };
  const ev = evidenceOf(p.raw, kind, apiVersion);
  if (ev) r.evidence.push(ev);
  // The object reached is the decoders' context: its source is made only if a line is asked for.
  const ctx: DecodeContext = p;
  let decoded: ReturnType<typeof decodeObject>;
  try {
    decoded = decodeObject(ctx, p.raw, apiVersion, kind);
  } catch (e) {
    diagnostics.push({
      code: 'k8s-internal',
      severity: 'error',
      message: `could not read this ${kind}: ${(e as Error).message}`,
      file: p.file,
      line: p.line,
      document: p.document,
      hint: 'this is a packeteye bug; please report it with this document',
    });
    return;
  }
  if (decoded.status === 'skipped') return;
  if (decoded.status === 'unknown') {
    const ref = rawObjectRef(p.raw, kind);
    const loc: Location = {
      file: p.file,
      line: p.line,
      document: p.document,
      ...(ref ? { object: ref } : {}),
    };
    if (WORKLOADS.has(kind)) {
      // Only `reach` uses a workload (as a stand-in for its pods): a problem in one is a
      // warning that leaves it out, never an error that stops a trace.
      const w = decodeWorkloadLeniently(ctx, p.raw, kind);
      if (w) r.workloads.push({ workload: w, origin });
      return;
    }
    const key = `${p.file}\u0000${apiVersion}\u0000${kind}`;
    const u = r.unknown.get(key);
    if (u) u.count++;
    else
      r.unknown.set(key, {
        first: loc,
        count: 1,
        kind,
        apiVersion,
        irrelevant: IRRELEVANT_KINDS.has(kind),
      });
    return;
  }
  const obj = decoded.object;
  if (obj.kind === 'Endpoints') {
    for (const slice of mirror(obj)) {
      const lo = { object: slice, origin };
      p.stamp(slice);
      r.objects.push(lo);
    }
    return;
  }
  p.stamp(obj);
  const loaded: LoadedObject = { object: obj, origin };
  // The earlier files' first (none for the first file), then this file's, set when there is none.
  const prev = (seen.size > 0 ? seen.get(obj) : undefined) ?? r.seen.claim(obj, loaded);
  if (prev) {
    // Reported once per pair of files (a directory of separate scenarios repeats many names).
    const pair = `${prev.origin.file}\u0000${p.file}`;
    const d = r.duplicates.get(pair);
    if (d) d.count++;
    else r.duplicates.set(pair, { count: 1, first: loaded, prev });
    return;
  }
  r.objects.push(loaded);
}

/**
 * Loads cluster files. Objects come back in input order (file, document,
 * list item); problems are diagnostics, never exceptions.
 */
export function loadDocuments(files: readonly { path: string; text: string }[]): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const objects: LoadedObject[] = [];
  const workloads: LoadedWorkload[] = [];
  const evidence: EvidenceItem[] = [];
  let seen = new Identities<LoadedObject>();
  const duplicates: Duplicates = new Map();
  // Unknown kinds are reported once per file and kind, with a count: a dump holds hundreds.
  const unknown: UnknownKinds = new Map();

  const given = new Set<string>();
  let empty = 0;
  for (const f of files) {
    // The same file named twice (`-f a.yaml -f a.yaml`, or a file and its directory) is read once.
    const key = f.path.replace(/^(?:\.\/)+/, '').replace(/\/{2,}/g, '/');
    if (given.has(key)) {
      diagnostics.push({
        code: 'k8s-file-given-twice',
        severity: 'warning',
        message: 'given twice; read once',
        file: f.path,
      });
      continue;
    }
    given.add(key);
    if (isEmptyInput(f.text)) {
      empty++;
      diagnostics.push({
        code: 'k8s-empty-input',
        severity: 'warning',
        message:
          f.path === '-'
            ? 'stdin is empty: no YAML or JSON came in'
            : 'the file is empty: no YAML or JSON in it',
        file: f.path,
      });
      continue;
    }
    let r: FileReading;
    try {
      r = readFile(f, seen, true);
    } catch (e) {
      if (!(e instanceof ItemSyntaxError)) throw e;
      r = readFile(f, seen, false);
    }
    append(objects, r.objects);
    append(workloads, r.workloads);
    append(evidence, r.evidence);
    append(diagnostics, r.diagnostics);
    // The first file's identities are the set (one file of 150,000 objects is the usual dump).
    if (seen.size === 0) seen = r.seen;
    else seen.add(r.seen);
    for (const [pair, d] of r.duplicates) {
      const had = duplicates.get(pair);
      if (had) had.count += d.count;
      else duplicates.set(pair, d);
    }
    for (const [k, u] of r.unknown) {
      const had = unknown.get(k);
      if (had) had.count += u.count;
      else unknown.set(k, u);
    }
  }
  reportDuplicates(duplicates, diagnostics);
  reportUnknownKinds(unknown, diagnostics);
  if (empty > 0 && empty === given.size) {
    // Nothing but empty inputs: say it as the error it is, not as "no such Pod" later.
    diagnostics.forEach((d, i) => {
      if (d.code === 'k8s-empty-input') diagnostics[i] = { ...d, severity: 'error' };
    });
  }
  return { objects, evidence, workloads, diagnostics };
}

/** Whitespace, comments and `---` separators only. */
function isEmptyInput(text: string): boolean {
  // Line by line: one regex over the text backtracks exponentially on a line of many '#'.
  // Without splitting the text: the first line with content answers for a 100 MB dump.
  for (let from = 0; from <= text.length;) {
    let nl = text.indexOf('\n', from);
    if (nl === -1) nl = text.length;
    const line = text.slice(from, nl).trim();
    if (line !== '' && !line.startsWith('#') && line !== '---') return false;
    from = nl + 1;
  }
  return true;
}

/**
 * The workloads none of whose pods are in the input (no Pod in the workload's
 * namespace matches its selector) and whose owner is not in the input either
 * (a Deployment's ReplicaSet is the Deployment's): for each, one pod that stands for all its
 * replicas, made from its template and named `NAME[Kind]`. Policies select
 * pods by labels, so for `reach` that pod is as good as the real ones; it has
 * no node and no address, so a trace cannot use it.
 */
export function workloadPods(
  loaded: LoadResult,
): { workload: LoadedWorkload; pod: LoadedObject }[] {
  const podsByNs = new Map<string, Pod[]>();
  for (const o of loaded.objects) {
    if (o.object.kind !== 'Pod') continue;
    const ns = o.object.metadata.namespace ?? 'default';
    let l = podsByNs.get(ns);
    if (!l) podsByNs.set(ns, (l = []));
    l.push(o.object);
  }
  const out: { workload: LoadedWorkload; pod: LoadedObject }[] = [];
  const present = new Set(
    loaded.workloads.map(
      ({ workload: w }) => `${w.metadata.namespace ?? 'default'}/${w.kind}/${w.metadata.name}`,
    ),
  );
  for (const lw of loaded.workloads) {
    const w = lw.workload;
    const ns = w.metadata.namespace ?? 'default';
    // A ReplicaSet whose Deployment is in the input (a Job and its CronJob) is that workload's.
    if (w.owners.some((o) => present.has(`${ns}/${o}`))) continue;
    const hasPods = (podsByNs.get(ns) ?? []).some((p) =>
      matchesSelector(p.metadata.labels ?? {}, w.selector),
    );
    if (hasPods) continue;
    const pod: Pod = {
      ...w.template,
      metadata: {
        ...w.template.metadata,
        name: `${w.metadata.name}[${w.kind}]`,
        namespace: ns,
        annotations: {
          ...w.template.metadata.annotations,
          [STAND_IN_ANNOTATION]: `${w.kind} ${ns}/${w.metadata.name}`,
        },
      },
    };
    out.push({ workload: lw, pod: { object: pod, origin: lw.origin } });
  }
  return out;
}

export { CLUSTER_SCOPED, formatPath };
