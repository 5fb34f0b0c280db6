/**
 * The policy world: pods, namespaces and policies normalised for evaluation.
 *
 * `buildPolicyWorld` takes loaded objects, compiles every NetworkPolicy
 * (`networkpolicy.ts`) and AdminNetworkPolicy / BaselineAdminNetworkPolicy
 * (`adminpolicy.ts`) into one matcher shape, so the evaluator and the grouped
 * matrix share one matcher, and turns pods into endpoints. An object the API
 * server would reject is reported and left out, as it would not exist in a
 * real cluster.
 */
import type { Location } from '../diag.js';
import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  KubeObject,
  Namespace,
  NetworkPolicy,
  Pod,
} from '../k8s/types.js';
import { ipv4Value } from '../wire/addr.js';
import { compileAdmin, expandRelations } from './adminpolicy.js';
import { Notes, type Ctx } from './compile.js';
import {
  NS_NAME_LABEL,
  type CompiledAdminPolicy,
  type CompiledNetworkPolicy,
  type PodEndpoint,
  type PodPort,
  type PolicyWorld,
  type SourceObject,
} from './model.js';
import { compileNetworkPolicy } from './networkpolicy.js';

/** A pod's container ports (decoded and validated; protocol defaults to TCP). */
function podPorts(pod: Pod): PodPort[] {
  const out: PodPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      out.push(
        typeof p.name === 'string'
          ? { name: p.name, port: p.containerPort, protocol }
          : { port: p.containerPort, protocol },
      );
    }
  }
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Builds the policy world from decoded objects (`k8s/load`: the decoder has
 * validated them and refused what the API server would). Kinds other than
 * Namespace, Pod, NetworkPolicy, AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy are ignored. The diagnostics are the notes
 * compiling adds: lints and what the twin does not model.
 */
export function buildPolicyWorld(sources: readonly SourceObject[]): PolicyWorld {
  const ctx: Ctx = { diagnostics: [], cidrs: new Map() };
  const nsLabels = new Map<string, Record<string, string>>();
  const rawPods: { pod: Pod; origin?: Location }[] = [];
  const policies: CompiledNetworkPolicy[] = [];
  const admin: CompiledAdminPolicy[] = [];
  const baselines: CompiledAdminPolicy[] = [];

  for (const { object, origin } of sources) {
    const o = object as KubeObject | null | undefined;
    switch (o?.kind) {
      case 'Namespace': {
        const ns = o as Namespace;
        // The API server sets kubernetes.io/metadata.name on every namespace (1.21+).
        nsLabels.set(ns.metadata.name, {
          ...(ns.metadata.labels ?? {}),
          [NS_NAME_LABEL]: ns.metadata.name,
        });
        break;
      }
      case 'Pod':
        rawPods.push({ pod: o as Pod, ...(origin ? { origin } : {}) });
        break;
      case 'NetworkPolicy':
        policies.push(compileNetworkPolicy(ctx, o as NetworkPolicy, origin));
        break;
      case 'AdminNetworkPolicy':
        admin.push(compileAdmin(ctx, o as AdminNetworkPolicy, origin));
        break;
      case 'BaselineAdminNetworkPolicy':
        baselines.push(compileAdmin(ctx, o as BaselineAdminNetworkPolicy, origin));
        break;
    }
  }

  const pods: PodEndpoint[] = [];
  for (const { pod, origin } of rawPods) {
    const name = pod.metadata.name;
    const ns = pod.metadata.namespace || 'default';
    const key = `${ns}/${name}`;
    let nsl = nsLabels.get(ns);
    if (nsl === undefined) {
      nsl = { [NS_NAME_LABEL]: ns };
      nsLabels.set(ns, nsl);
      new Notes(ctx, origin, `Pod ${key}`).info(
        'policy-implicit-namespace',
        'metadata.namespace',
        `no Namespace object for ${ns}; assumed with only the label ${NS_NAME_LABEL}=${ns}`,
      );
    }
    const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
    // Made field by field, in one order for every pod (one object shape).
    const ep: Mutable<PodEndpoint> = {
      kind: 'pod',
      key,
      namespace: ns,
      name,
      labels: pod.metadata.labels ?? {},
      nsLabels: nsl,
    } as Mutable<PodEndpoint>;
    const ipInt = typeof ip === 'string' ? ipv4Value(ip) : -1;
    if (ipInt >= 0) {
      ep.ip = ip;
      ep.ipInt = ipInt;
    }
    ep.ports = podPorts(pod);
    if (pod.spec?.nodeName) ep.node = pod.spec.nodeName;
    // Its address is the node's (status.podIP as the kubelet reports it, or as the model gives it).
    if (pod.spec?.hostNetwork === true) ep.hostNetwork = true;
    pods.push(ep);
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
