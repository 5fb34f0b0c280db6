/**
 * The GCE VPC's edge, as the `vpc` router host's hooks: not iptables, but the
 * cloud's own stages, each recorded as a `fabric` step.
 *
 *  1:1 NAT    An instance's access config maps its ExternalIP to its
 *             InternalIP, statelessly (seed 000: "no need for conntrack to
 *             remember"): inbound dst ExternalIP → InternalIP, outbound src
 *             InternalIP → ExternalIP. Only the instance's own primary
 *             address is translated: a packet leaving for the internet from
 *             any other source (a pod IP that nobody masqueraded) is dropped
 *             (seed 003 "The 1:1 NAT only understands Node IPs — anything
 *             else gets dropped"; drop reason `vpc-no-nat`). Cloud NAT is not
 *             modelled: a node without an ExternalIP cannot reach out.
 *  firewall   VPC firewall rules are stateful (GCE docs "VPC firewall rules
 *             overview": a reply to an allowed connection is allowed). The
 *             implied rules allow all egress and deny all ingress; on top,
 *             packeteye models what a GKE cluster has (`vpcFirewallRules`):
 *               default-allow-icmp / default-allow-ssh  (the default network)
 *               k8s-fw-<svc>     GKE's service controller, per LoadBalancer
 *                                Service: its ports to the LB address from
 *                                loadBalancerSourceRanges (default 0.0.0.0/0)
 *               nodeport-<svc>   the rule GKE's docs tell you to create for a
 *                                NodePort Service (`gcloud compute
 *                                firewall-rules create … --allow tcp:NODEPORT`);
 *                                GKE does not create it, packeteye assumes it
 *                                exists only for type NodePort Services
 *               hostport-<pod>   likewise for a pod's hostPorts (seed 000's
 *                                author opened 80/443 for the Akrobateo pods)
 *             Internal traffic (underlay ↔ underlay) is GKE's
 *             `gke-<cluster>-…-vms/-all` rules: allowed.
 *  NLB        The passthrough network load balancer (Maglev) forwards a
 *             packet for a forwarding rule's address and port unchanged —
 *             the LB address stays the destination — to one backend node
 *             whose health check passes; with none healthy it spreads over
 *             all (GCE "traffic distribution": failover to all backends).
 *             The choice is a chance per node (enumerable with --all-paths);
 *             here it marks the packet, and the router's policy rules
 *             (`fwmark → table`, one per node) carry it to that node.
 *             Replies leave the node with the LB address as source (direct
 *             server return) and pass the edge untranslated.
 *
 * Each node gets a `local` route for every LB address it backs, as the GCE
 * guest agent does (google-guest-agent `addresses`: `ip route add to local
 * <ip>/32 dev eth0 proto 66`), so the kernel accepts the forwarded packet and
 * kube-proxy's `-d <lbIP>` rules see it.
 */
import type { Diagnostic } from '../diag.js';
import type { ClusterModel, ModelDefault } from '../k8s/model.js';
import { nodeExternalIP, nodeInternalIP, nsName } from '../k8s/model.js';
import type { Host } from '../kernel/host.js';
import type { HookCall, HookResult, NetfilterHooks, SkbMeta } from '../kernel/hooks.js';
import type { NetfilterEnv } from '../kernel/netfilter/index.js';
import type { Chooser } from '../kernel/random.js';
import type { Recorder } from '../kernel/step.js';
import { cidrContains, parseCidr, type Cidr } from '../wire/addr.js';
import type { Ipv4Packet, L4Proto } from '../wire/packet.js';
import { inRanges, type LbFrontend } from './lb.js';

/** The fwmark the NLB stage puts on a packet for backend i: LB_MARK_BASE + i. */
export const LB_MARK_BASE = 0x4c420000;
export const LB_MARK_MASK = 0xffff0000;
/** The first routing table the router uses for the NLB's per-node routes. */
export const LB_TABLE_BASE = 1000;
/** The guest agent's route protocol number (`proto 66`). */
export const GUEST_AGENT_PROTO = 66;

export interface FirewallAllow {
  readonly proto: L4Proto | 'all';
  /** Absent: every port. */
  readonly ports?: readonly number[];
}

export interface FirewallRule {
  readonly name: string;
  readonly sourceRanges: readonly string[];
  /** Destinations the rule applies to (an LB address, nodes' external addresses); absent: any. */
  readonly destinations?: readonly string[];
  readonly allow: readonly FirewallAllow[];
  /** Who creates it, and why packeteye has it. */
  readonly origin: string;
}

export interface NatEntry {
  readonly node: string;
  readonly internal: string;
  readonly external: string;
}

export interface GceVpc {
  /** ExternalIP → entry. */
  readonly byExternal: ReadonlyMap<string, NatEntry>;
  /** InternalIP → entry (nodes without an ExternalIP are absent). */
  readonly byInternal: ReadonlyMap<string, NatEntry>;
  /** Every node's InternalIP → name (for the NLB's backends and "is an instance" checks). */
  readonly instances: ReadonlyMap<string, string>;
  readonly frontends: ReadonlyMap<string, LbFrontend>;
  readonly firewall: readonly FirewallRule[];
  readonly internal: readonly Cidr[];
  /** Backend node → its index (mark LB_MARK_BASE+i, table LB_TABLE_BASE+i). */
  readonly backendIndex: ReadonlyMap<string, number>;
}

/** The VPC firewall's ingress allow rules for this cluster (see module doc). */
export function vpcFirewallRules(
  model: ClusterModel,
  frontends: ReadonlyMap<string, LbFrontend>,
): FirewallRule[] {
  const rules: FirewallRule[] = [
    {
      name: 'default-allow-icmp',
      sourceRanges: ['0.0.0.0/0'],
      allow: [{ proto: 'icmp' }],
      origin: 'the default network',
    },
    {
      name: 'default-allow-ssh',
      sourceRanges: ['0.0.0.0/0'],
      allow: [{ proto: 'tcp', ports: [22] }],
      origin: 'the default network',
    },
  ];
  const externals = [...model.nodes.values()]
    .map((n) => nodeExternalIP(n))
    .filter((x): x is string => x !== undefined);
  for (const f of frontends.values()) {
    rules.push({
      name: `k8s-fw-${f.service.replace('/', '-')}`,
      sourceRanges: f.sourceRanges,
      destinations: [f.ip],
      allow: f.ports.map((p) => ({ proto: p.proto, ports: [p.port] })),
      origin: "GKE's service controller (LoadBalancer Service)",
    });
  }
  for (const svc of model.services.values()) {
    if (svc.spec.type !== 'NodePort') continue;
    const allow = svc.spec.ports
      .filter((p) => p.nodePort !== undefined)
      .map((p) => ({
        proto: (p.protocol ?? 'TCP').toLowerCase() as L4Proto,
        ports: [p.nodePort!],
      }));
    if (allow.length === 0) continue;
    rules.push({
      name: `nodeport-${nsName(svc).replace('/', '-')}`,
      sourceRanges: ['0.0.0.0/0'],
      destinations: externals,
      allow,
      origin: 'assumed: the rule GKE docs require for a NodePort Service',
    });
  }
  for (const p of model.pods.values()) {
    const allow: FirewallAllow[] = [];
    for (const c of p.spec.containers)
      for (const cp of c.ports ?? [])
        if (cp.hostPort !== undefined && cp.hostPort > 0)
          allow.push({
            proto: (cp.protocol ?? 'TCP').toLowerCase() as L4Proto,
            ports: [cp.hostPort],
          });
    if (allow.length === 0) continue;
    const n = model.nodes.get(p.spec.nodeName);
    const ext = n ? nodeExternalIP(n) : undefined;
    if (!ext) continue;
    rules.push({
      name: `hostport-${nsName(p).replace('/', '-')}`,
      sourceRanges: ['0.0.0.0/0'],
      destinations: [ext],
      allow,
      origin: "assumed: the rule opening a pod's hostPort to the internet",
    });
  }
  return rules;
}

export function planGceVpc(
  model: ClusterModel,
  frontends: ReadonlyMap<string, LbFrontend>,
): { vpc: GceVpc; diagnostics: Diagnostic[]; defaults: ModelDefault[] } {
  const byExternal = new Map<string, NatEntry>();
  const byInternal = new Map<string, NatEntry>();
  const instances = new Map<string, string>();
  const backendIndex = new Map<string, number>();
  const diagnostics: Diagnostic[] = [];
  let i = 0;
  for (const [name, n] of model.nodes) {
    const internal = nodeInternalIP(n);
    if (internal === undefined) continue;
    instances.set(internal, name);
    backendIndex.set(name, i++);
    const external = nodeExternalIP(n);
    if (external === undefined) continue;
    const e = { node: name, internal, external };
    if (byExternal.has(external)) {
      diagnostics.push({
        code: 'duplicate-external-ip',
        severity: 'error',
        message: `ExternalIP ${external} is also node ${byExternal.get(external)!.node}'s; an access config maps one address to one instance`,
        object: `Node ${name}`,
        field: 'status.addresses',
      });
      continue;
    }
    byExternal.set(external, e);
    byInternal.set(internal, e);
  }
  const firewall = vpcFirewallRules(model, frontends);
  const c = model.cluster;
  const internal = [parseCidr(c.underlay.cidr), parseCidr(c.clusterCIDR)];
  const defaults: ModelDefault[] = [
    {
      object: `Cluster ${c.name}`,
      field: 'spec.cloud',
      value: `VPC firewall: ${firewall.map((r) => r.name).join(', ')}; internal ${c.underlay.cidr}, ${c.clusterCIDR} allowed`,
      reason:
        'GCE firewall rules are not Kubernetes objects: the default network, GKE-created and the usual user rules are assumed (fabric/gce.ts)',
    },
  ];
  return {
    vpc: { byExternal, byInternal, instances, frontends, firewall, internal, backendIndex },
    diagnostics,
    defaults,
  };
}

/** The router's NLB plumbing: one fwmark rule and table per backend node. */
export function installGceRouter(router: Host, vpc: GceVpc, model: ClusterModel): void {
  router.netfilter = new GceVpcHooks(vpc);
  if (vpc.frontends.size === 0) return;
  for (const [node, i] of vpc.backendIndex) {
    const n = model.nodes.get(node);
    const ip = n ? nodeInternalIP(n) : undefined;
    if (ip === undefined) continue;
    router.rule.add({
      priority: 100 + i,
      fwmark: { value: LB_MARK_BASE + i, mask: 0xffffffff },
      table: LB_TABLE_BASE + i,
    });
    router.route.add({ dst: 'default', via: ip, dev: 'eth0', table: LB_TABLE_BASE + i });
  }
}

/** The guest agent's local routes on a node for every LB address it backs. */
export function installGceNode(h: Host, node: string, vpc: GceVpc): void {
  for (const f of vpc.frontends.values()) {
    if (!f.backends.some((b) => b.node === node)) continue;
    h.route.add({
      type: 'local',
      dst: `${f.ip}/32`,
      dev: 'eth0',
      table: 'local',
      proto: GUEST_AGENT_PROTO,
      scope: 'host',
    });
  }
}

function ports(p: Ipv4Packet): { sport?: number; dport?: number } {
  const t = p.l4;
  if (t.kind === 'icmp') return t.id !== undefined ? { sport: t.id, dport: t.id } : {};
  if (t.kind === 'ipip') return {}; // IP-in-IP (protocol 4) has no ports
  return { sport: t.sport, dport: t.dport };
}

/**
 * The packet an ICMP error quotes (RFC 792: the offending datagram's header
 * and first 8 bytes), or undefined for any other packet.
 */
function quoted(p: Ipv4Packet): Ipv4Packet | undefined {
  return p.l4.kind === 'icmp' ? p.l4.inner : undefined;
}

/**
 * `p` with the quoted packet's `field` rewritten to `to` when it is `from`: a
 * NAT that rewrites a flow's address rewrites it inside the ICMP errors about
 * that flow too (RFC 5508 §3.2), or the sender's socket never learns of them.
 */
function withQuoted(p: Ipv4Packet, field: 'src' | 'dst', from: string, to: string): Ipv4Packet {
  const inner = quoted(p);
  if (p.l4.kind !== 'icmp' || inner === undefined || inner.ip[field] !== from) return p;
  return { ...p, l4: { ...p.l4, inner: { ...inner, ip: { ...inner.ip, [field]: to } } } };
}

function fmt(ip: string, port: number | undefined, proto: L4Proto | 'ipip'): string {
  return port === undefined || proto === 'icmp' ? ip : `${ip}:${port}`;
}

/** The `vpc` router's stages (module doc). Per instance: its firewall connection table starts empty. */
export class GceVpcHooks implements NetfilterHooks {
  /** The stateful firewall's memory of allowed flows: `proto remote:port local:port` of the expected inbound packet. */
  private readonly flows = new Set<string>();
  /** Connections the internet opened through a 1:1 NAT: `proto int:port remote:port` of the expected reply. */
  private readonly inbound = new Set<string>();
  constructor(readonly vpc: GceVpc) {}

  /** The VPC's hooks with no flows seen. */
  cold(): GceVpcHooks {
    return new GceVpcHooks(this.vpc);
  }

  private key(
    proto: L4Proto | 'ipip',
    src: string,
    sport: number | undefined,
    dst: string,
    dport: number | undefined,
  ): string {
    return `${proto} ${src}:${sport ?? ''} ${dst}:${dport ?? ''}`;
  }

  /** The key of the reply to the connection `p` opened (or continued): `p` turned around. */
  private flowReplyKey(p: Ipv4Packet): string {
    const { sport, dport } = ports(p);
    return this.key(p.l4.kind, p.ip.dst, dport, p.ip.src, sport);
  }

  private isInternal(ip: string): boolean {
    return this.vpc.internal.some((c) => cidrContains(c, ip));
  }

  /** The first ingress allow rule for the packet, or undefined (the implied deny). */
  firewallAllows(p: Ipv4Packet): FirewallRule | undefined {
    const proto = p.l4.kind;
    const { dport } = ports(p);
    for (const r of this.vpc.firewall) {
      if (r.destinations && !r.destinations.includes(p.ip.dst)) continue;
      if (!inRanges(p.ip.src, r.sourceRanges)) continue;
      for (const a of r.allow) {
        if (a.proto !== 'all' && a.proto !== proto) continue;
        if (a.ports && proto !== 'icmp' && (dport === undefined || !a.ports.includes(dport)))
          continue;
        return r;
      }
    }
    return undefined;
  }

  hook(
    call: HookCall,
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
    chooser: Chooser,
  ): HookResult {
    if (call.hook === 'PREROUTING' && call.inIface !== undefined && call.inIface !== 'eth0')
      return this.ingress(packet, meta, host, rec, chooser); // from the internet
    if (call.hook === 'POSTROUTING' && call.outIface !== undefined && call.outIface !== 'eth0') {
      const e = this.egress(packet, meta, host, rec); // to the internet
      return 'verdict' in e ? e : { verdict: 'ACCEPT', packet: e.packet, meta };
    }
    if (
      call.hook === 'PREROUTING' &&
      (this.vpc.frontends.has(packet.ip.dst) || this.vpc.byExternal.has(packet.ip.dst))
    ) {
      // From inside the VPC to one of its external addresses: out through the edge and back in
      // (a VM reaching another's external IP or an external LB is NATed both ways).
      const e = this.egress(packet, meta, host, rec);
      if ('verdict' in e) return e;
      return this.ingress(e.packet, meta, host, rec, chooser);
    }
    return { verdict: 'ACCEPT', packet, meta };
  }

  private dropped(
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
    reason: 'vpc-firewall' | 'vpc-no-nat' | 'lb-no-forwarding-rule',
    why: string,
  ): HookResult {
    rec.record({
      kind: 'fabric',
      host: host.host,
      summary: why,
      packet,
      detail: { stage: reason },
    });
    return { verdict: 'DROP', packet, meta, reason, why };
  }

  private rewrite(
    rec: Recorder,
    host: NetfilterEnv,
    before: Ipv4Packet,
    after: Ipv4Packet,
    kind: string,
    field: 'src' | 'dst',
    node: string,
    extra: string,
  ): void {
    const proto = before.l4.kind;
    const { sport: bs, dport: bd } = ports(before);
    const from = field === 'src' ? fmt(before.ip.src, bs, proto) : fmt(before.ip.dst, bd, proto);
    const to = field === 'src' ? fmt(after.ip.src, bs, proto) : fmt(after.ip.dst, bd, proto);
    rec.record({
      kind: 'fabric',
      host: host.host,
      summary: `1:1 NAT (access config of ${node}): ${kind} ${field} ${from} → ${to}, stateless${extra}`,
      packet: after,
      before,
      detail: {
        stage: '1:1-nat',
        rewrite: kind,
        hook: 'access-config',
        label: 'GCE 1:1 NAT',
        field,
        from,
        to,
        by: `GCE 1:1 NAT (access config of ${node}, stateless)`,
      },
    });
  }

  /** A packet entering the VPC from the internet: forwarding rule, firewall, then 1:1 NAT or the NLB. */
  private ingress(
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
    chooser: Chooser,
  ): HookResult {
    const proto = packet.l4.kind;
    const { sport, dport } = ports(packet);
    const dst = packet.ip.dst;
    const front = this.vpc.frontends.get(dst);
    const nat = this.vpc.byExternal.get(dst);
    if (!front && !nat)
      return this.dropped(
        packet,
        meta,
        host,
        rec,
        'vpc-no-nat',
        `${dst} is no external address of this VPC (no access config, no forwarding rule)`,
      );
    // The forwarding rule comes first: a port it does not list never reaches an instance.
    if (
      front &&
      !front.ports.some((p) => p.proto === proto && (proto === 'icmp' || p.port === dport))
    )
      return this.dropped(
        packet,
        meta,
        host,
        rec,
        'lb-no-forwarding-rule',
        `passthrough NLB ${front.ip}: no forwarding rule for ${proto}/${dport ?? ''} (Service ${front.service})`,
      );
    const inner = quoted(packet);
    const established =
      this.flows.has(this.key(proto, packet.ip.src, sport, dst, dport)) ||
      // An ICMP error about a connection the VPC let out is that connection's (RELATED).
      (inner !== undefined && this.flows.has(this.flowReplyKey(inner)));
    let fw: string;
    if (established) fw = 'firewall: reply to an allowed connection (stateful)';
    else {
      const r = this.firewallAllows(packet);
      if (!r)
        return this.dropped(
          packet,
          meta,
          host,
          rec,
          'vpc-firewall',
          `VPC firewall: no ingress rule allows ${proto} ${fmt(packet.ip.src, sport, proto)} → ${fmt(dst, dport, proto)} (implied deny ingress)`,
        );
      fw = `firewall: allowed by ${r.name} (${r.origin})`;
    }
    if (front) return this.loadBalance(front, packet, meta, host, rec, chooser, fw);
    const after: Ipv4Packet = withQuoted(
      { ...packet, ip: { ...packet.ip, dst: nat!.internal } },
      'src',
      nat!.external,
      nat!.internal,
    );
    // Stateless: the same static mapping either way. A reply to a connection the node opened is
    // labelled un-SNAT (the inverse of the outbound rewrite), like conntrack's reply-direction rewrites.
    const kind = established ? 'un-SNAT' : 'DNAT';
    if (!established) this.inbound.add(this.key(proto, nat!.internal, dport, packet.ip.src, sport));
    this.rewrite(rec, host, packet, after, kind, 'dst', nat!.node, `; ${fw}`);
    return { verdict: 'ACCEPT', packet: after, meta };
  }

  /** A packet leaving the VPC for the internet: 1:1 NAT of a node's address, the NLB's direct return, or a drop. */
  private egress(
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
  ): { packet: Ipv4Packet } | HookResult {
    const proto = packet.l4.kind;
    const { sport, dport } = ports(packet);
    const src = packet.ip.src;
    const nat = this.vpc.byInternal.get(src);
    if (nat) {
      const after: Ipv4Packet = withQuoted(
        { ...packet, ip: { ...packet.ip, src: nat.external } },
        'dst',
        nat.internal,
        nat.external,
      );
      const inner = quoted(packet);
      const reply =
        this.inbound.has(this.key(proto, src, sport, packet.ip.dst, dport)) ||
        (inner !== undefined && this.inbound.has(this.flowReplyKey(inner)));
      const kind = reply ? 'un-DNAT' : 'SNAT';
      if (!reply) this.flows.add(this.key(proto, packet.ip.dst, dport, nat.external, sport));
      this.rewrite(rec, host, packet, after, kind, 'src', nat.node, '');
      return { packet: after };
    }
    const front = this.vpc.frontends.get(src);
    if (front) {
      this.flows.add(this.key(proto, packet.ip.dst, dport, src, sport));
      rec.record({
        kind: 'fabric',
        host: host.host,
        summary: `passthrough NLB: the reply leaves with the forwarding rule's address ${src} as source (direct server return), untranslated`,
        packet,
        detail: { stage: 'nlb-return', service: front.service },
      });
      return { packet };
    }
    const inst = this.vpc.instances.get(src);
    return this.dropped(
      packet,
      meta,
      host,
      rec,
      'vpc-no-nat',
      inst !== undefined
        ? `1:1 NAT: node ${inst} has no ExternalIP (no access config; Cloud NAT is not modelled), so ${src} cannot leave the VPC`
        : this.isInternal(src)
          ? `1:1 NAT: source ${src} is not a node's address (the 1:1 NAT only translates node IPs; pod IPs must be masqueraded first)`
          : `source ${src} is not an address of this VPC`,
    );
  }

  private loadBalance(
    front: LbFrontend,
    packet: Ipv4Packet,
    meta: SkbMeta,
    host: NetfilterEnv,
    rec: Recorder,
    chooser: Chooser,
    fw: string,
  ): HookResult {
    const healthy = front.backends.filter((b) => b.healthy);
    const pool = healthy.length > 0 ? healthy : front.backends;
    if (pool.length === 0) {
      rec.record({
        kind: 'fabric',
        host: host.host,
        summary: `passthrough NLB ${front.ip}: no backend instances`,
        packet,
        detail: { stage: 'nlb' },
      });
      return { verdict: 'DROP', packet, meta, reason: 'lb-no-forwarding-rule', why: 'no backends' };
    }
    // One chance per backend, like kube-proxy's statistic chain: 1/n, 1/(n-1), …, 1.
    let chosen = pool[pool.length - 1]!;
    for (let i = 0; i < pool.length - 1; i++) {
      const b = pool[i]!;
      if (chooser.chance(1 / (pool.length - i), `NLB ${front.ip} → ${b.node}`)) {
        chosen = b;
        break;
      }
    }
    const idx = this.vpc.backendIndex.get(chosen.node) ?? 0;
    const checks = front.backends
      .map((b) => `${b.node} ${b.healthy ? 'healthy' : 'unhealthy'} (${b.check})`)
      .join('; ');
    rec.record({
      kind: 'fabric',
      host: host.host,
      summary:
        `passthrough NLB ${front.ip} (Service ${front.service}, externalTrafficPolicy ${front.externalTrafficPolicy}): ` +
        `forwarded unchanged to ${chosen.node} ${chosen.ip}, 1 of ${pool.length}` +
        `${healthy.length === 0 ? ' (no healthy backend: spread over all)' : ''}; ${fw}`,
      packet,
      detail: {
        stage: 'nlb',
        service: front.service,
        backend: chosen.node,
        candidates: pool.map((b) => b.node),
        healthChecks: checks,
        mark: `0x${(LB_MARK_BASE + idx).toString(16)}`,
      },
    });
    return { verdict: 'ACCEPT', packet, meta: { ...meta, mark: LB_MARK_BASE + idx } };
  }
}
