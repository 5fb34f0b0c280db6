/**
 * What a trace asks of the whole cluster, indexed once per model instead of
 * scanned per trace: which node owns an address (its InternalIP, one of its
 * pods' addresses, its podCIDR) and which Services a node port or a
 * load-balancer port on a node's address leads to. A model never changes
 * once built, so each part is made on its first question and kept beside
 * the model: the nodes' addresses and podCIDRs, the Services' ports. Pods'
 * addresses are the model's own index (`podsByIP`, `podsSharingIP`): a trace
 * asks about a few addresses, and indexing 150,000 pods again cost more than
 * every trace's questions.
 */
import { nodeInternalIP, type ClusterModel } from '../k8s/model.js';
import { ipToInt, isIpv4, maskOf, parseCidrBits } from '../wire/addr.js';

export interface ClusterIndex {
  /** InternalIP → node (the last node listing it, as a scan in model order finds). */
  readonly nodeByInternalIP: ReadonlyMap<string, string>;
  /**
   * Whether `ip` belongs to a node not in `kept`: one of its addresses, one of
   * its pods' addresses (Calico's blocks need not match the podCIDR), or an
   * address in one of its IPv4 podCIDRs (pods, the flannel.1 and cni0 addresses).
   */
  outside(kept: ReadonlySet<string>, ip: string): boolean;
  /** The Services (keys, in model order) a connection to a node's `port` can be sent on to. */
  nodePortServices(port: number): readonly string[];
}

const indexes = new WeakMap<ClusterModel, ClusterIndex>();

export function clusterIndex(model: ClusterModel): ClusterIndex {
  let ix = indexes.get(model);
  if (!ix) indexes.set(model, (ix = new Index(model)));
  return ix;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** The nodes' own addresses and podCIDRs. */
interface NodeAddresses {
  readonly byInternalIP: Map<string, string>;
  /** Address → the nodes it is an address of. */
  readonly owners: Map<string, string[]>;
  /** Per prefix length: its mask, and network number → the nodes whose podCIDR it is. */
  readonly cidrs: readonly (readonly [mask: number, byNet: Map<number, string[]>])[];
}

function nodeAddresses(model: ClusterModel): NodeAddresses {
  const byInternalIP = new Map<string, string>();
  const owners = new Map<string, string[]>();
  const cidrs = new Map<number, Map<number, string[]>>();
  for (const [name, n] of model.nodes) {
    const ip = nodeInternalIP(n);
    if (ip !== undefined) byInternalIP.set(ip, name);
    for (const a of n.status?.addresses ?? []) push(owners, a.address, name);
    for (const c of n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])) {
      if (c.includes(':')) continue;
      const { prefix, net } = parseCidrBits(c);
      let byNet = cidrs.get(prefix);
      if (!byNet) cidrs.set(prefix, (byNet = new Map()));
      push(byNet, net, name);
    }
  }
  return {
    byInternalIP,
    owners,
    cidrs: [...cidrs.keys()].map((p) => [maskOf(p), cidrs.get(p)!] as const),
  };
}

/** Node port (and a LoadBalancer's port) → the Services, in model order. */
function servicesByPort(model: ClusterModel): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const [key, svc] of model.services) {
    const ports = new Set<number>();
    for (const p of svc.spec.ports) {
      if (p.nodePort !== undefined) ports.add(p.nodePort);
      // A LoadBalancer's address may be the node's own (servicelb, Akrobateo): its port too.
      if (svc.spec.type === 'LoadBalancer') ports.add(p.port);
    }
    for (const p of ports) push(byPort, p, key);
  }
  return byPort;
}

const notKept = (kept: ReadonlySet<string>, nodes: readonly string[] | undefined): boolean =>
  nodes !== undefined && nodes.some((n) => !kept.has(n));

class Index implements ClusterIndex {
  private nodes: NodeAddresses | undefined;
  private ports: Map<number, string[]> | undefined;

  constructor(private readonly model: ClusterModel) {}

  private ofNodes(): NodeAddresses {
    return (this.nodes ??= nodeAddresses(this.model));
  }

  get nodeByInternalIP(): ReadonlyMap<string, string> {
    return this.ofNodes().byInternalIP;
  }

  outside(kept: ReadonlySet<string>, ip: string): boolean {
    const { owners, cidrs } = this.ofNodes();
    if (notKept(kept, owners.get(ip))) return true;
    // A hostNetwork pod's address is its node's, among `owners`; every other pod's is here.
    const pod = this.model.podsByIP.get(ip);
    if (pod !== undefined && !kept.has(pod.spec.nodeName)) return true;
    if (this.model.podsSharingIP.get(ip)?.some((p) => !kept.has(p.spec.nodeName))) return true;
    if (!isIpv4(ip)) return false;
    const v = ipToInt(ip);
    return cidrs.some(([mask, byNet]) => notKept(kept, byNet.get((v & mask) >>> 0)));
  }

  nodePortServices(port: number): readonly string[] {
    return (this.ports ??= servicesByPort(this.model)).get(port) ?? [];
  }
}
