/**
 * L7: a connection that ends at an ingress controller is not the end of the
 * request. The controller (Traefik, ingress-nginx) terminates the TCP
 * connection in user space, picks an Ingress rule by Host and path, and
 * dials the backend anew — a new 5-tuple from the controller pod's own
 * address and an ephemeral port (seed 001: "User-space TCP termination by
 * Traefik (i.e., new dial to the pod-ip)"). `traceThroughIngress` traces
 * both connections and joins them: the request's leg 1 rewrites, a `proxy`
 * rewrite (old 5-tuple → new), leg 2's rewrites; then the reply back through
 * leg 2 and leg 1.
 *
 * The controller pod is found by convention: label
 * `app.kubernetes.io/name` (or `app`) `traefik` or `ingress-nginx`. It
 * serves the Ingresses whose `spec.ingressClassName` is its class (`traefik`,
 * `nginx`) or absent (the default class). Traefik dials the Service's
 * ClusterIP only with `nativeLB`; by default Traefik and ingress-nginx both
 * dial an endpoint's pod IP directly (they watch EndpointSlices). packeteye
 * follows the default: the backend is the first ready endpoint of the
 * Service port (in EndpointSlice order), recorded as a default.
 */
import { InputError, type Diagnostic } from '../diag.js';
import type { ClusterModel, ModelPod } from '../k8s/model.js';
import { nsName } from '../k8s/model.js';
import type { TwinPlan } from '../twin/index.js';
import { traceConnection, type TraceOptions } from './connection.js';
import type { L7Trace, RewriteView } from './model.js';

export interface L7Options extends TraceOptions {
  /** The HTTP Host header (default: the first rule's host). */
  readonly httpHost?: string;
  /** The HTTP path (default `/`). */
  readonly path?: string;
}

const CONTROLLERS: Readonly<Record<string, string>> = {
  traefik: 'traefik',
  'ingress-nginx': 'nginx',
};

/** The ingress class a pod serves, when it is an ingress controller by the labels convention. */
export function controllerClass(pod: ModelPod): string | undefined {
  const l = pod.metadata.labels ?? {};
  const name = l['app.kubernetes.io/name'] ?? l['app'];
  return name !== undefined ? CONTROLLERS[name] : undefined;
}

function pathMatches(type: string | undefined, rule: string | undefined, path: string): boolean {
  const r = rule ?? '/';
  if (type === 'Exact') return r === path;
  // Prefix (and ImplementationSpecific, as both controllers treat it): element-wise prefix.
  if (r === '/') return true;
  const t = r.endsWith('/') ? r.slice(0, -1) : r;
  return path === t || path.startsWith(`${t}/`);
}

/** The Ingress backend for host/path among the Ingresses of `klass`: longest matching path wins (Ingress spec). */
export function routeIngress(
  model: ClusterModel,
  klass: string,
  host: string | undefined,
  path: string,
): { ingress: string; namespace: string; service: string; port: number | string } | undefined {
  let best:
    | { ingress: string; namespace: string; service: string; port: number | string; len: number }
    | undefined;
  for (const ing of model.ingresses) {
    const c = ing.spec.ingressClassName;
    if (c !== undefined && c !== klass) continue;
    for (const rule of ing.spec.rules ?? []) {
      if (host !== undefined && rule.host !== undefined && rule.host !== host) continue;
      for (const p of rule.http?.paths ?? []) {
        const svc = p.backend.service;
        if (!svc || !pathMatches(p.pathType, p.path, path)) continue;
        const len = (p.path ?? '/').length;
        if (best && best.len >= len) continue;
        best = {
          ingress: nsName(ing),
          namespace: ing.metadata.namespace,
          service: svc.name,
          port: svc.port?.number ?? svc.port?.name ?? 80,
          len,
        };
      }
    }
    const d = ing.spec.defaultBackend?.service;
    if (!best && d)
      best = {
        ingress: nsName(ing),
        namespace: ing.metadata.namespace,
        service: d.name,
        port: d.port?.number ?? d.port?.name ?? 80,
        len: 0,
      };
  }
  if (!best) return undefined;
  const { len: _len, ...r } = best;
  return r;
}

/** The endpoint the controller dials for Service port `port` (first ready endpoint, slice order). */
function pickEndpoint(
  model: ClusterModel,
  svcKey: string,
  port: number | string,
): { ip: string; port: number } | undefined {
  const svc = model.services.get(svcKey);
  if (!svc) return undefined;
  const sp = svc.spec.ports.find((p) => p.port === port || p.name === port);
  if (!sp) return undefined;
  for (const slice of model.slicesByService.get(svcKey) ?? []) {
    const ep = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? ''));
    if (!ep || ep.port === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      const ip = e.addresses[0];
      if (ip !== undefined) return { ip, port: ep.port };
    }
  }
  return undefined;
}

/**
 * traceConnection, continued through an ingress controller: when the request
 * is delivered to a controller pod, its upstream connection is traced too and
 * the two are joined (module doc). Otherwise the plain trace.
 */
export function traceThroughIngress(plan: TwinPlan, opts: L7Options): L7Trace {
  const model = plan.model;
  const leg1 = traceConnection(plan, opts);
  const at = leg1.request.at;
  const pod = leg1.request.disposition === 'delivered' && at ? model.pods.get(at) : undefined;
  const klass = pod ? controllerClass(pod) : undefined;
  if (!pod || !klass) return leg1;
  const path = opts.path ?? '/';
  const route = routeIngress(model, klass, opts.httpHost, path);
  const diagnostics: Diagnostic[] = [...leg1.diagnostics];
  if (!route) {
    diagnostics.push({
      code: 'ingress-no-route',
      severity: 'warning',
      message: `${nsName(pod)} (${klass}) has no Ingress rule for host ${opts.httpHost ?? '(any)'} path ${path}: it answers 404 itself`,
      object: `Pod ${nsName(pod)}`,
    });
    return { ...leg1, diagnostics };
  }
  const svcKey = `${route.namespace}/${route.service}`;
  const ep = pickEndpoint(model, svcKey, route.port);
  if (!ep) {
    diagnostics.push({
      code: 'ingress-no-endpoint',
      severity: 'warning',
      message: `Ingress ${route.ingress}: Service ${svcKey} port ${route.port} has no ready endpoint; ${klass} answers 503 itself`,
      object: `Ingress ${route.ingress}`,
    });
    return { ...leg1, diagnostics };
  }
  if (opts.proto !== undefined && opts.proto !== 'tcp')
    throw InputError.of(
      'bad-proto',
      `an ingress controller proxies HTTP over TCP, not ${opts.proto}`,
    );
  const leg2 = traceConnection(plan, {
    from: nsName(pod),
    to: `${ep.ip}:${ep.port}`,
    proto: 'tcp',
    seed: opts.seed ?? 1,
  });
  const recv = leg1.request.received!;
  const sent = leg2.request.sent;
  const fromT = `${recv.src}:${recv.sport} > ${recv.dst}:${recv.dport}`;
  const toT = `${sent.src}:${sent.sport} > ${sent.dst}:${sent.dport}`;
  const by = `${klass} in ${nsName(pod)}: Ingress ${route.ingress} → Service ${svcKey}:${route.port} → endpoint ${ep.ip}:${ep.port}`;
  const proxyReq: RewriteView = {
    leg: 'request',
    kind: 'proxy',
    host: nsName(pod),
    hook: 'user space',
    field: '5-tuple',
    from: fromT,
    to: toT,
    by,
    before: recv,
    after: sent,
  };
  const back1 = leg1.reply?.sent;
  const back2 = leg2.reply?.received;
  const proxyRep: RewriteView | undefined =
    back1 && back2
      ? {
          leg: 'reply',
          kind: 'proxy',
          host: nsName(pod),
          hook: 'user space',
          field: '5-tuple',
          from: `${back2.src}:${back2.sport} > ${back2.dst}:${back2.dport}`,
          to: `${back1.src}:${back1.sport} > ${back1.dst}:${back1.dport}`,
          by: `${klass} copies the response back onto the client's connection`,
          before: back2,
          after: back1,
        }
      : undefined;
  const rewrites: RewriteView[] = [
    ...leg1.rewrites.filter((r) => r.leg === 'request'),
    proxyReq,
    ...leg2.rewrites,
    ...(proxyRep ? [proxyRep] : []),
    ...leg1.rewrites.filter((r) => r.leg === 'reply'),
  ];
  const seen = new Set(leg1.defaults.map((d) => `${d.object} ${d.field}`));
  const defaults = [
    ...leg1.defaults,
    ...leg2.defaults.filter((d) => !seen.has(`${d.object} ${d.field}`)),
    {
      object: `Pod ${nsName(pod)}`,
      field: 'upstream',
      value: `${ep.ip}:${ep.port}`,
      reason: `${klass} dials an endpoint of the Ingress backend directly (EndpointSlices), not the ClusterIP; packeteye takes the first ready one`,
    },
  ];
  return {
    ...leg1,
    rewrites,
    defaults,
    diagnostics,
    upstream: leg2,
    proxy: {
      controller: nsName(pod),
      ingress: route.ingress,
      service: `${svcKey}:${route.port}`,
      backend: `${ep.ip}:${ep.port}`,
      why: by,
    },
  };
}
