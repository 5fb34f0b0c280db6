/**
 * Workload controllers (Deployment, ReplicaSet, DaemonSet, StatefulSet, Job,
 * CronJob, ReplicationController) read as the pod their template would
 * create, for stand-in pods where the input has no Pods. Unknown fields in
 * the pod template warn as they do in a Pod.
 */

import { formatPath, type Path } from '../parse.js';
import type { LabelSelector, ObjectMeta, Pod } from '../types.js';
import { decodePod } from './core.js';
import { Decoder, isRec, type DecodeContext, step, type Rec } from './decoder.js';
import { checkPodTemplateFields } from './fields.js';

export const WORKLOADS: ReadonlySet<string> = new Set([
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'ReplicationController',
]);

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
  checkPodTemplateFields(d, template, at);
  const tmeta = d.map(template.metadata, step(at, 'metadata'));
  const labels = (tmeta && d.labels(tmeta.labels, step(at, 'metadata', 'labels'))) ?? {};
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
