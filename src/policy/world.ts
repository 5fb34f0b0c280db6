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
import type { Namespace, Pod } from '../k8s/types.js';
import { ipToInt, isIpv4 } from '../wire/addr.js';
import { compileAdmin, expandRelations } from './adminpolicy.js';
import { isObj, isPortNumber, protocolOf, Reporter, type Ctx } from './compile.js';
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
