/**
 * Who writes a LoadBalancer Service's `status.loadBalancer`, and which nodes
 * may receive its traffic — modelled the way the real controllers do it.
 *
 *   gce        the cloud-controller-manager's service controller (GCE
 *              `ensureExternalLoadBalancer`) creates a forwarding rule for
 *              `spec.loadBalancerIP` or a fresh regional address, and
 *              records it in `status.loadBalancer.ingress[].ip`. packeteye
 *              allocates from GCE_LB_RANGE (RFC 5737 TEST-NET-3) in
 *              `ns/name` order — deterministic, recorded as a default.
 *   servicelb  K3s servicelb (k3s `pkg/cloudprovider/servicelb.go`
 *              `getStatus`): the addresses of the nodes running the
 *              Service's svclb pods (label `svccontroller.k3s.cattle.io/svcname`),
 *              each node's ExternalIP if it has one, else its InternalIP.
 *   metallb    MetalLB (a pod labelled `app.kubernetes.io/name: metallb` or
 *              `app: metallb`): the address comes from an IPAddressPool,
 *              which packeteye does not load, so a Service without a status
 *              gets a diagnostic; with one, layer-2 mode elects the node
 *              that answers ARP for it (metallbL2Speaker).
 *   none       nothing fills it: the Service stays `<pending>` and only its
 *              node ports work — a diagnostic, never a guess.
 *
 * A Service with `spec.loadBalancerClass` is left alone by the GCE and
 * servicelb controllers (KEP-1959; servicelb skips any class but
 * `io.cattle.k3s/servicelb`... packeteye treats any class as "another
 * controller's"), so without a status it gets the same diagnostic.
 *
 * Backends: the nodes a cloud LB sends to are every node not labelled
 * `node.kubernetes.io/exclude-from-external-load-balancers`; its health
 * check asks kube-proxy (pkg/proxy/healthcheck): for
 * `externalTrafficPolicy: Local`, `healthCheckNodePort` answers 200 only on a
 * node with a local ready endpoint; for Cluster, `/healthz` on 10256 answers
 * 200 unless the node is being deleted (taint
 * `ToBeDeletedByClusterAutoscaler`, kube-proxy ≥ 1.28) — modelled as healthy
 * unless its Ready condition is False or it carries that taint.
 */
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../diag.js';
import type { ClusterModel, ModelDefault, ModelNode, ModelService } from '../k8s/model.js';
import { nodeExternalIP, nodeInternalIP, nsName } from '../k8s/model.js';
import { cidrContains, parseCidr } from '../wire/addr.js';
import type { L4Proto } from '../wire/packet.js';

/** Where packeteye's GCE allocates external LB addresses from (RFC 5737 TEST-NET-3). */
export const GCE_LB_RANGE = '203.0.113.0/24';
/** Google's health-check probers (GCE docs "Probe IP ranges and firewall rules"). */
export const GCE_HEALTH_CHECK_RANGES: readonly string[] = ['35.191.0.0/16', '130.211.0.0/22'];
/** kube-proxy's `--healthz-bind-address` port: `/healthz`, what GCE checks for Cluster Services. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const LABEL_EXCLUDE_LB = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const LABEL_SVCLB = 'svccontroller.k3s.cattle.io/svcname';
export const LABEL_SVCLB_NAMESPACE = 'svccontroller.k3s.cattle.io/svcnamespace';
export const TAINT_TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';

export const CODE_LB_PENDING = 'lb-status-pending';
export const CODE_LB_POOL = 'lb-pool-not-modelled';

export type LbController = 'gce' | 'servicelb' | 'metallb' | 'none';

export interface LbBackend {
  readonly node: string;
  readonly ip: string;
  readonly healthy: boolean;
  /** What the health check saw, in the prober's words. */
  readonly check: string;
}

/** One LoadBalancer ingress address and what serves it. */
export interface LbFrontend {
  readonly ip: string;
  readonly service: string;
  readonly ports: readonly { readonly proto: L4Proto; readonly port: number }[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly sourceRanges: readonly string[];
  readonly backends: readonly LbBackend[];
  /** Who wrote the address: `status` (given) or the controller that allocated it. */
  readonly origin: 'status' | LbController;
}

export interface LoadBalancers {
  readonly controller: LbController;
  /** Every Service, LoadBalancers with the status their controller writes. */
  readonly services: readonly ModelService[];
  readonly frontends: ReadonlyMap<string, LbFrontend>;
  readonly diagnostics: readonly Diagnostic[];
  readonly defaults: readonly ModelDefault[];
}

/** Which controller fills `status.loadBalancer` in this cluster (see module doc). */
export function lbControllerOf(model: ClusterModel): LbController {
  if (model.cluster.cloud.provider === 'gce') return 'gce';
  let metallb = false;
  for (const p of model.pods.values()) {
    const l = p.metadata.labels ?? {};
    if (l[LABEL_SVCLB] !== undefined) return 'servicelb';
    if (l['app.kubernetes.io/name'] === 'metallb' || l['app'] === 'metallb') metallb = true;
  }
  return metallb ? 'metallb' : 'none';
}

function nodeHealthyForCluster(n: ModelNode): { ok: boolean; why: string } {
  const ready = (n.status as { conditions?: { type: string; status: string }[] }).conditions?.find(
    (c) => c.type === 'Ready',
  );
  if (ready?.status === 'False') return { ok: false, why: 'node NotReady: no answer' };
  const taints = (n.spec as { taints?: { key: string }[] }).taints ?? [];
  if (taints.some((t) => t.key === TAINT_TO_BE_DELETED))
    return { ok: false, why: `/healthz 503 (taint ${TAINT_TO_BE_DELETED})` };
  return { ok: true, why: `GET :${KUBE_PROXY_HEALTHZ_PORT}/healthz 200` };
}

/** Nodes holding a ready endpoint of the Service (kube-proxy's localEndpoints count, per node). */
export function nodesWithLocalEndpoints(model: ClusterModel, svcKey: string): Map<string, number> {
  const out = new Map<string, number>();
  const byIP = new Map<string, string>();
  for (const [name, n] of model.nodes) {
    const ip = nodeInternalIP(n);
    if (ip) byIP.set(ip, name);
  }
  for (const slice of model.slicesByService.get(svcKey) ?? []) {
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const node =
        ep.nodeName ??
        ep.addresses.map((a) => model.podsByIP.get(a)?.spec.nodeName ?? byIP.get(a)).find(Boolean);
      if (node !== undefined) out.set(node, (out.get(node) ?? 0) + 1);
    }
  }
  return out;
}

/** The GCE backends (every eligible node) with their health-check result. */
export function lbBackends(model: ClusterModel, svc: ModelService): LbBackend[] {
  const key = nsName(svc);
  const local = svc.spec.externalTrafficPolicy === 'Local';
  const counts = local ? nodesWithLocalEndpoints(model, key) : undefined;
  const out: LbBackend[] = [];
  for (const [name, n] of model.nodes) {
    if (n.metadata.labels?.[LABEL_EXCLUDE_LB] !== undefined) continue;
    const ip = nodeInternalIP(n);
    if (ip === undefined) continue;
    if (counts) {
      const c = counts.get(name) ?? 0;
      const hc = svc.spec.healthCheckNodePort;
      out.push({
        node: name,
        ip,
        healthy: c > 0,
        check:
          `GET :${hc ?? '?'}/ ${c > 0 ? '200' : '503'}` +
          ` (kube-proxy: ${c} local endpoint${c === 1 ? '' : 's'})`,
      });
    } else {
      const h = nodeHealthyForCluster(n);
      out.push({ node: name, ip, healthy: h.ok, check: h.why });
    }
  }
  return out;
}

/**
 * The Services as their LoadBalancer controller leaves them, the frontends
 * (LB addresses) the fabric must serve, and what could not be known.
 */
export function resolveLoadBalancers(model: ClusterModel): LoadBalancers {
  // Read from every pod only when a LoadBalancer Service asks who writes its status.
  let found: LbController | undefined;
  const controller = (): LbController => (found ??= lbControllerOf(model));
  const diagnostics: Diagnostic[] = [];
  const defaults: ModelDefault[] = [];
  const frontends = new Map<string, LbFrontend>();
  const services: ModelService[] = [];
  const used = new Set<string>();
  for (const s of model.services.values())
    for (const i of s.status?.loadBalancer?.ingress ?? []) if (i.ip) used.add(i.ip);
  const nodeAddrs = new Set<string>();
  for (const n of model.nodes.values())
    for (const a of n.status.addresses)
      if (a.type === 'InternalIP' || a.type === 'ExternalIP') nodeAddrs.add(a.address);
  const pool = parseCidr(GCE_LB_RANGE);
  let next = 10;
  const allocate = (): string | undefined => {
    const base = pool.network.split('.').slice(0, 3).join('.');
    while (next < 255) {
      const ip = `${base}.${next++}`;
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    return undefined;
  };
  for (const svc of model.services.values()) {
    if (svc.spec.type !== 'LoadBalancer') {
      services.push(svc);
      continue;
    }
    const key = nsName(svc);
    let ingress = (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip !== undefined);
    let origin: LbFrontend['origin'] = 'status';
    const otherClass = svc.spec.loadBalancerClass !== undefined;
    if (ingress.length === 0) {
      if (controller() === 'gce' && !otherClass) {
        const ip = svc.spec.loadBalancerIP ?? allocate();
        if (ip) {
          ingress = [{ ip }];
          origin = 'gce';
          defaults.push({
            object: `Service ${key}`,
            field: 'status.loadBalancer.ingress',
            value: ip,
            reason: svc.spec.loadBalancerIP
              ? "GCE's service controller reserves spec.loadBalancerIP for the forwarding rule"
              : `GCE's service controller allocates an ephemeral regional address (packeteye: the next free one in ${GCE_LB_RANGE}, in ns/name order)`,
          });
        }
      } else if (controller() === 'servicelb' && !otherClass) {
        const ips: string[] = [];
        for (const p of model.pods.values()) {
          const l = p.metadata.labels ?? {};
          if (
            l[LABEL_SVCLB] !== svc.metadata.name ||
            (l[LABEL_SVCLB_NAMESPACE] ?? p.metadata.namespace) !== svc.metadata.namespace
          )
            continue;
          const n = model.nodes.get(p.spec.nodeName);
          const ip = n ? (nodeExternalIP(n) ?? nodeInternalIP(n)) : undefined;
          if (ip && !ips.includes(ip)) ips.push(ip);
        }
        if (ips.length > 0) {
          ingress = ips.map((ip) => ({ ip }));
          origin = 'servicelb';
          defaults.push({
            object: `Service ${key}`,
            field: 'status.loadBalancer.ingress',
            value: ips.join(','),
            reason:
              "K3s servicelb writes the addresses of the nodes running the Service's svclb pods (ExternalIP, else InternalIP)",
          });
        }
      }
      if (ingress.length === 0) {
        diagnostics.push({
          code: controller() === 'metallb' && !otherClass ? CODE_LB_POOL : CODE_LB_PENDING,
          severity: 'warning',
          message:
            controller() === 'metallb' && !otherClass
              ? 'MetalLB would assign an address from an IPAddressPool, which packeteye does not load; give status.loadBalancer.ingress'
              : otherClass
                ? `loadBalancerClass ${svc.spec.loadBalancerClass}: another controller would fill status.loadBalancer, and none is modelled; the Service stays <pending> (its node ports still work)`
                : controller() === 'servicelb'
                  ? 'K3s servicelb runs no svclb pod for this Service, so it writes no address; the Service stays <pending>'
                  : 'no controller in this cluster writes status.loadBalancer (no cloud provider, no MetalLB or servicelb pods); the Service stays <pending> and only its node ports work',
          object: `Service ${key}`,
          field: 'status.loadBalancer',
        });
        services.push(svc);
        continue;
      }
      services.push({
        ...svc,
        status: { ...(svc.status ?? {}), loadBalancer: { ingress } },
      } as ModelService);
    } else services.push(svc);
    const ports = svc.spec.ports.map((p) => ({
      proto: (p.protocol ?? 'TCP').toLowerCase() as L4Proto,
      port: p.port,
    }));
    const backends = controller() === 'servicelb' ? [] : lbBackends(model, svc);
    for (const i of ingress) {
      const ip = i.ip!;
      // A node's own address (servicelb, Akrobateo): the traffic is the node's (hostPort), no LB frontend.
      if (nodeAddrs.has(ip)) continue;
      frontends.set(ip, {
        ip,
        service: key,
        ports,
        externalTrafficPolicy: svc.spec.externalTrafficPolicy ?? 'Cluster',
        sourceRanges: svc.spec.loadBalancerSourceRanges ?? ['0.0.0.0/0'],
        backends,
        origin,
      });
    }
  }
  return {
    get controller() {
      return controller();
    },
    services,
    frontends,
    diagnostics,
    defaults,
  };
}

/**
 * MetalLB layer-2 leader election (metallb `internal/speaker/layer2_controller.go`
 * ShouldAnnounce): the candidate nodes — speaker nodes, and for
 * `externalTrafficPolicy: Local` only those with a ready local endpoint — are
 * sorted by sha256(nodeName + "#" + ip) and the first answers ARP for `ip`.
 * Every speaker computes the same order, so there is exactly one winner.
 */
export function metallbL2Speaker(
  model: ClusterModel,
  front: LbFrontend,
  speakerNodes: readonly string[],
): string | undefined {
  let cand = [...speakerNodes];
  if (front.externalTrafficPolicy === 'Local') {
    const local = nodesWithLocalEndpoints(model, front.service);
    cand = cand.filter((n) => (local.get(n) ?? 0) > 0);
  }
  const h = (n: string): string =>
    createHash('sha256').update(`${n}#${front.ip}`, 'utf8').digest('hex');
  cand.sort((a, b) => (h(a) < h(b) ? -1 : h(a) > h(b) ? 1 : 0));
  return cand[0];
}

/** Nodes running a MetalLB speaker pod (label `app.kubernetes.io/component: speaker` or `component: speaker`). */
export function metallbSpeakerNodes(model: ClusterModel): string[] {
  const out = new Set<string>();
  for (const p of model.pods.values()) {
    const l = p.metadata.labels ?? {};
    const isMetallb = l['app.kubernetes.io/name'] === 'metallb' || l['app'] === 'metallb';
    const speaker = l['app.kubernetes.io/component'] === 'speaker' || l['component'] === 'speaker';
    if (isMetallb && speaker) out.add(p.spec.nodeName);
  }
  return [...out].sort();
}

/** Whether `ip` is in any of `ranges` (loadBalancerSourceRanges, firewall source ranges). */
export function inRanges(ip: string, ranges: readonly string[]): boolean {
  return ranges.some((r) => cidrContains(parseCidr(r.includes('/') ? r : `${r}/32`), ip));
}
