/**
 * The cluster's edge, planned once per twin: who fills `status.loadBalancer`
 * (lb.ts), the GCE VPC (gce.ts), MetalLB's layer-2 speaker, ip-masq-agent's
 * rules on every node (ip-masq-agent.ts) and the svclb pods' rules
 * (klipper-lb.ts). The twin calls:
 *
 *   planEdge(model)                     once: Services as their LB controller
 *                                       leaves them, firewall, diagnostics
 *   edge.nodeFragments(node)            iptables text every node gets beyond
 *                                       kube-proxy and the CNI (ip-masq-agent)
 *   edge.setupNode(host, node)          guest-agent local routes for LB IPs
 *   edge.setupPod(podHost, pod)         a svclb pod's own rules (installIptables)
 *   edge.finish(network, router)        the VPC's hooks and NLB routes on the
 *                                       router; MetalLB's gratuitous ARP
 */
import type { Diagnostic } from '../diag.js';
import { mergeIptablesSaveWithDiagnostics, type IptablesFragment } from '../iptables/merge.js';
import { parseIptablesSave } from '../iptables/parse.js';
import type { ClusterModel, ModelDefault, ModelPod, ModelService } from '../k8s/model.js';
import { nsName } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import { compileRuleset } from '../kernel/netfilter/index.js';
import { installIptables } from '../kernel/netfilter/install.js';
import type { Network } from '../kernel/network.js';
import { cidrContains, parseCidr } from '../wire/addr.js';
import { installGceNode, installGceRouter, planGceVpc, type GceVpc } from './gce.js';
import { compileIpMasqAgent, ipMasqAgentForCluster } from './ip-masq-agent.js';
import { compileSvclbPod } from './klipper-lb.js';
import {
  KUBE_PROXY_HEALTHZ_PORT,
  LABEL_SVCLB,
  LABEL_SVCLB_NAMESPACE,
  metallbL2Speaker,
  metallbSpeakerNodes,
  resolveLoadBalancers,
  type LoadBalancers,
} from './lb.js';

export interface Edge {
  readonly lb: LoadBalancers;
  /** The Services kube-proxy sees (LoadBalancers with their controller's status). */
  readonly services: readonly ModelService[];
  readonly vpc?: GceVpc;
  /** LB address → the node MetalLB's layer-2 election chose to answer ARP for it. */
  readonly l2Leaders: ReadonlyMap<string, string>;
  readonly diagnostics: readonly Diagnostic[];
  readonly defaults: readonly ModelDefault[];
  /** Rules every node gets from edge components (ip-masq-agent), with a name for merge diagnostics. */
  nodeFragments(node: string): { name: string; fragment: IptablesFragment }[];
  setupNode(h: Host, node: string): void;
  /** Installs a svclb pod's own nat/filter rules in its namespace; returns diagnostics. */
  setupPod(podHost: Host, pod: ModelPod): Diagnostic[];
  finish(net: Network, router: Host): Diagnostic[];
}

export function planEdge(model: ClusterModel): Edge {
  const lb = resolveLoadBalancers(model);
  const diagnostics: Diagnostic[] = [...lb.diagnostics];
  const defaults: ModelDefault[] = [...lb.defaults];
  let vpc: GceVpc | undefined;
  if (model.cluster.cloud.provider === 'gce') {
    const g = planGceVpc(model, lb.frontends);
    vpc = g.vpc;
    diagnostics.push(...g.diagnostics);
    defaults.push(...g.defaults);
  }
  const l2Leaders = metallbL2Leaders(model, lb, diagnostics, defaults);
  const masq = ipMasqAgentForCluster({
    ...(model.cluster.masquerade ? { masquerade: model.cluster.masquerade } : {}),
    cloud: model.cluster.cloud,
  });
  // The one place ip-masq-agent is planned: GKE's default, or what spec.masquerade asks for.
  const masqFragment = masq
    ? compileIpMasqAgent({ ...masq, object: `Cluster ${model.cluster.name} spec.masquerade` })
    : undefined;
  if (masqFragment) {
    diagnostics.push(...masqFragment.diagnostics);
    defaults.push({
      object: `Cluster ${model.cluster.name}`,
      field: 'spec.masquerade',
      value: 'ip-masq-agent on every node',
      reason:
        model.cluster.cloud.provider === 'gce'
          ? 'GKE runs ip-masq-agent (default non-masquerade destinations: RFC 1918 and the reserved ranges)'
          : 'spec.masquerade asks for ip-masq-agent',
    });
  }
  const services = lb.services;
  const svclbCache = new Map<
    string,
    { compiled: ReturnType<typeof compileRuleset>; diagnostics: Diagnostic[] }
  >();
  const byKey = new Map(services.map((s) => [nsName(s), s]));
  let healthPorts: readonly { port: number; label: string }[] | undefined;
  return {
    lb,
    services,
    ...(vpc ? { vpc } : {}),
    l2Leaders,
    diagnostics,
    defaults,
    nodeFragments: () =>
      masqFragment && masqFragment.text !== ''
        ? [{ name: 'ip-masq-agent', fragment: masqFragment }]
        : [],
    setupNode: (h, node) => {
      if (vpc) installGceNode(h, node, vpc);
      if (model.cluster.kubeProxy.mode !== 'iptables') return;
      for (const p of (healthPorts ??= kubeProxyHealthPorts(services)))
        if (!h.sockets.findListener('tcp', '0.0.0.0', p.port))
          h.listen('tcp', p.port, { label: p.label });
    },
    setupPod: (podHost, pod) => {
      const l = pod.metadata.labels ?? {};
      const svcName = l[LABEL_SVCLB];
      if (svcName === undefined) return [];
      const svc = byKey.get(`${l[LABEL_SVCLB_NAMESPACE] ?? pod.metadata.namespace}/${svcName}`);
      if (!svc)
        return [
          {
            code: 'svclb-no-service',
            severity: 'warning',
            message: `svclb pod names Service ${svcName}, which does not exist; its rules are not installed`,
            object: `Pod ${nsName(pod)}`,
            field: `metadata.labels.${LABEL_SVCLB}`,
          },
        ];
      // Compiled once per pod for the plan: every instance (and --all-paths branch) reuses it.
      const key = nsName(pod);
      let c = svclbCache.get(key);
      if (!c) {
        const frag = compileSvclbPod(svc, [pod.status.hostIP]);
        const merged = mergeIptablesSaveWithDiagnostics([frag.text], [`svclb@${key}`]);
        const parsed = parseIptablesSave(merged.text, `iptables-save@${key}`);
        c = {
          compiled: compileRuleset(parsed.ruleset),
          diagnostics: [...frag.diagnostics, ...merged.diagnostics, ...parsed.diagnostics],
        };
        svclbCache.set(key, c);
      }
      installIptables(podHost, c.compiled);
      // The svclb containers run `entry`, which enables forwarding in the pod (sysctl -w net.ipv4.ip_forward=1).
      podHost.sysctl.set('net.ipv4.ip_forward', 1);
      return c.diagnostics;
    },
    finish: (net, router) => {
      const out: Diagnostic[] = [];
      if (vpc) installGceRouter(router, vpc, model);
      for (const [ip, node] of l2Leaders) {
        const h = net.host(node);
        if (!h) continue; // not built in this instance: the walk will not reach it
        const mac = h.links.get('eth0')?.mac;
        if (!mac) continue;
        // The speaker's gratuitous ARP (and its answers to who-has): the router's neighbour
        // entry for ip is the leader's MAC. The router reaches ip through its connected route.
        router.neigh.add(ip, 'eth0', { lladdr: mac, nud: 'reachable' });
      }
      return out;
    },
  };
}

/**
 * MetalLB layer 2: per LB address, the node whose speaker answers ARP for it
 * (or a warning why none does).
 */
function metallbL2Leaders(
  model: ClusterModel,
  lb: LoadBalancers,
  diagnostics: Diagnostic[],
  defaults: ModelDefault[],
): Map<string, string> {
  const l2Leaders = new Map<string, string>();
  // No LB address, nothing to announce (and no need to ask which controller runs).
  if (lb.frontends.size === 0 || lb.controller !== 'metallb') return l2Leaders;
  const underlay = parseCidr(model.cluster.underlay.cidr);
  const speakers = metallbSpeakerNodes(model);
  for (const f of lb.frontends.values()) {
    const leader = metallbL2Speaker(model, f, speakers);
    if (leader === undefined) {
      diagnostics.push({
        code: 'metallb-no-speaker',
        severity: 'warning',
        message: `MetalLB layer 2: no eligible speaker node announces ${f.ip}${f.externalTrafficPolicy === 'Local' ? ' (externalTrafficPolicy Local: no node with a ready local endpoint runs a speaker)' : ''}; nothing answers ARP for it`,
        object: `Service ${f.service}`,
        field: 'status.loadBalancer.ingress',
      });
      continue;
    }
    if (!cidrContains(underlay, f.ip)) {
      // Layer 2 mode only works for addresses on the nodes' segment: nobody routes others to it.
      diagnostics.push({
        code: 'metallb-l2-off-segment',
        severity: 'warning',
        message: `MetalLB layer 2 announces ${f.ip} by ARP, but it is outside the nodes' segment ${model.cluster.underlay.cidr}; the gateway never ARPs for it, so it is unreachable from outside`,
        object: `Service ${f.service}`,
        field: 'status.loadBalancer.ingress',
      });
      continue;
    }
    l2Leaders.set(f.ip, leader);
    defaults.push({
      object: `Service ${f.service}`,
      field: 'status.loadBalancer.ingress',
      value: `${f.ip} announced by ${leader}`,
      reason:
        'MetalLB layer 2: the speaker first in sha256(node + "#" + ip) order among eligible nodes answers ARP (layer2_controller.go ShouldAnnounce)',
    });
  }
  return l2Leaders;
}

/**
 * kube-proxy's health servers on every node (pkg/proxy/healthcheck): /healthz
 * on 0.0.0.0:10256, and one server per externalTrafficPolicy Local
 * LoadBalancer on its healthCheckNodePort.
 */
function kubeProxyHealthPorts(
  services: readonly ModelService[],
): readonly { port: number; label: string }[] {
  const ports: { port: number; label: string }[] = [
    { port: KUBE_PROXY_HEALTHZ_PORT, label: 'kube-proxy /healthz' },
  ];
  for (const svc of services)
    if (
      svc.spec.type === 'LoadBalancer' &&
      svc.spec.externalTrafficPolicy === 'Local' &&
      svc.spec.healthCheckNodePort
    )
      ports.push({
        port: svc.spec.healthCheckNodePort,
        label: `kube-proxy health check for Service ${nsName(svc)}`,
      });
  return ports;
}
