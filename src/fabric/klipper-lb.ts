/**
 * K3s servicelb's svclb pods (k3s-io/k3s `pkg/cloudprovider/servicelb.go`
 * newDaemonSet; k3s-io/klipper-lb `entry`) as a compiler: a LoadBalancer
 * Service in, the rules inside one svclb pod's network namespace out.
 *
 * The DaemonSet has one container per Service port, named
 * `lb-<proto>-<port>`, with `containerPort = hostPort = port` (so the node's
 * portmap plugin DNATs nodeIP:port to the pod) and this environment:
 *   SRC_PORT   = port               SRC_RANGES = loadBalancerSourceRanges joined by " " (default 0.0.0.0/0)
 *   DEST_PROTO = protocol (TCP…)    ETP Cluster: DEST_PORT = port,     DEST_IPS = spec.clusterIPs joined by ","
 *                                   ETP Local:   DEST_PORT = nodePort, DEST_IPS = status.hostIPs (the node's IPs)
 * Each container runs `entry`'s start_proxy, which for every range and IP:
 *   iptables -t filter -I FORWARD -s <range> -p <proto> --dport <DEST_PORT> -j ACCEPT
 *   iptables -t filter -A FORWARD -d <ip>/32 -p <proto> --dport <DEST_PORT> -j DROP
 *   iptables -t nat    -I PREROUTING -p <proto> --dport <SRC_PORT> -j DNAT --to <ip>:<DEST_PORT>
 *   iptables -t nat    -I POSTROUTING -d <ip>/32 -p <proto> -j MASQUERADE
 * (ranges first, then per IP; `-I` puts each at the top, so later commands
 * end up first). Containers are taken in spec order — kubelet starts them in
 * that order; their scripts race in reality, and packeteye says so.
 *
 * So the client address survives the node's hostPort DNAT, but the svclb
 * pod MASQUERADEs towards DEST_IPS: the backend sees the svclb pod's IP
 * (reference §8.2). IPv6 ranges and IPs run through ip6tables, which
 * packeteye does not model: they are skipped with a diagnostic.
 *
 * `variant: 'source-guard'` reproduces an older `entry` (klipper-lb
 * @06a59bf): ranges split on spaces, FORWARD ACCEPT on SRC_PORT, and the DNAT
 * rule guarded by `! -s <ip>/32`.
 */

import type { Diagnostic } from '../diag.js';
import type { Service, ServicePort } from '../k8s/types.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';
import { isCidr, isIpv4, parseCidr } from '../wire/addr.js';

export const CODE_KLIPPER_ENV = 'klipper-lb-env';
export const CODE_KLIPPER_IPV6 = 'klipper-lb-ipv6';
export const CODE_KLIPPER_ORDER = 'klipper-lb-container-order';

/** One svclb container's environment, as servicelb.go writes it. */
export interface SvclbContainer {
  /** `lb-<proto>-<port>`. */
  readonly name: string;
  readonly SRC_PORT: string;
  readonly SRC_RANGES: string;
  readonly DEST_PROTO: string;
  readonly DEST_PORT: string;
  readonly DEST_IPS: string;
}

export interface KlipperLbInput {
  readonly containers: readonly SvclbContainer[];
  readonly variant?: 'current' | 'source-guard';
  /** Names the svclb pod in diagnostics. */
  readonly object?: string;
}

/**
 * The svclb containers servicelb.go creates for `svc`. `hostIPs` is the pod's
 * `status.hostIPs` (the node's addresses), used with externalTrafficPolicy Local.
 */
export function svclbContainers(
  svc: Service,
  hostIPs: readonly string[],
): { containers: SvclbContainer[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const object = `Service ${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
  const local = svc.spec.externalTrafficPolicy === 'Local';
  const ranges = svc.spec.loadBalancerSourceRanges ?? [];
  const srcRanges = ranges.length > 0 ? ranges.map((r) => r.trim()) : ['0.0.0.0/0'];
  const clusterIPs =
    svc.spec.clusterIPs ?? (svc.spec.clusterIP !== undefined ? [svc.spec.clusterIP] : []);
  const containers: SvclbContainer[] = [];
  (svc.spec.ports ?? []).forEach((p: ServicePort, i) => {
    const proto = p.protocol ?? 'TCP';
    if (local && p.nodePort === undefined) {
      diagnostics.push({
        code: CODE_KLIPPER_ENV,
        severity: 'error',
        message:
          'externalTrafficPolicy Local needs the allocated nodePort (DEST_PORT); none is set',
        object,
        field: `spec.ports[${i}].nodePort`,
      });
      return;
    }
    containers.push({
      name: `lb-${proto.toLowerCase()}-${p.port}`,
      SRC_PORT: String(p.port),
      SRC_RANGES: srcRanges.join(' '),
      DEST_PROTO: proto,
      DEST_PORT: String(local ? p.nodePort : p.port),
      DEST_IPS: local ? hostIPs.join(',') : clusterIPs.join(','),
    });
  });
  if (!local && clusterIPs.length === 0) {
    diagnostics.push({
      code: CODE_KLIPPER_ENV,
      severity: 'error',
      message: 'the Service has no clusterIP for DEST_IPS',
      object,
      field: 'spec.clusterIPs',
    });
  }
  return { containers, diagnostics };
}

function split(v: string, commas: boolean): string[] {
  return v.split(commas ? /[\s,]+/ : /\s+/).filter((s) => s !== '');
}

/** The rules the svclb pod's containers leave in its netns (see the module doc). */
export function compileKlipperLb(input: KlipperLbInput): IptablesFragment {
  const diagnostics: Diagnostic[] = [];
  const where = input.object !== undefined ? { object: input.object } : {};
  const guard = input.variant === 'source-guard';
  const b = new FragmentBuilder();
  if (input.containers.length > 1) {
    diagnostics.push({
      code: CODE_KLIPPER_ORDER,
      severity: 'info',
      message: `${input.containers.length} svclb containers insert rules concurrently; packeteye applies them in spec order (${input.containers.map((c) => c.name).join(', ')})`,
      ...where,
    });
  }
  input.containers.forEach((c, ci) => {
    const f = (name: string) => `spec.containers[${ci}].env.${name}`;
    const proto = c.DEST_PROTO.toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(proto)) {
      diagnostics.push({
        code: CODE_KLIPPER_ENV,
        severity: 'error',
        message: `DEST_PROTO "${c.DEST_PROTO}" is not TCP, UDP or SCTP`,
        ...where,
        field: f('DEST_PROTO'),
      });
      return;
    }
    const port = (v: string, name: string): number | undefined => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
        diagnostics.push({
          code: CODE_KLIPPER_ENV,
          severity: 'error',
          message: `${name} "${v}" is not a port`,
          ...where,
          field: f(name),
        });
        return undefined;
      }
      return n;
    };
    const srcPort = port(c.SRC_PORT, 'SRC_PORT');
    const destPort = port(c.DEST_PORT, 'DEST_PORT');
    if (srcPort === undefined || destPort === undefined) return;
    const acceptPort = guard ? srcPort : destPort;

    for (const r of split(c.SRC_RANGES, !guard)) {
      if (r.includes(':')) {
        diagnostics.push({
          code: CODE_KLIPPER_IPV6,
          severity: 'info',
          message: `source range ${r} goes to ip6tables (not modelled)`,
          ...where,
          field: f('SRC_RANGES'),
        });
        continue;
      }
      if (!isCidr(r) && !isIpv4(r)) {
        diagnostics.push({
          code: CODE_KLIPPER_ENV,
          severity: 'error',
          message: `source range "${r}" is not an IPv4 CIDR; iptables would refuse the rule`,
          ...where,
          field: f('SRC_RANGES'),
        });
        continue;
      }
      const cidr = parseCidr(r);
      const src = cidr.prefix === 0 ? '' : `-s ${cidr.network}/${cidr.prefix} `;
      b.insert(
        'filter',
        'FORWARD',
        `${src}-p ${proto} -m ${proto} --dport ${acceptPort} -j ACCEPT`,
      );
    }
    for (const ip of split(c.DEST_IPS, !guard)) {
      if (ip.includes(':')) {
        diagnostics.push({
          code: CODE_KLIPPER_IPV6,
          severity: 'info',
          message: `destination ${ip} goes to ip6tables (not modelled)`,
          ...where,
          field: f('DEST_IPS'),
        });
        continue;
      }
      if (!isIpv4(ip)) {
        diagnostics.push({
          code: CODE_KLIPPER_ENV,
          severity: 'error',
          message: `destination "${ip}" is not an IPv4 address`,
          ...where,
          field: f('DEST_IPS'),
        });
        continue;
      }
      b.append(
        'filter',
        'FORWARD',
        `-d ${ip}/32 -p ${proto} -m ${proto} --dport ${destPort} -j DROP`,
      );
      b.insert(
        'nat',
        'PREROUTING',
        `${guard ? `! -s ${ip}/32 ` : ''}-p ${proto} -m ${proto} --dport ${srcPort} -j DNAT --to-destination ${ip}:${destPort}`,
      );
      b.insert('nat', 'POSTROUTING', `-d ${ip}/32 -p ${proto} -j MASQUERADE`);
    }
  });
  return b.fragment(diagnostics);
}

/** `svclbContainers` then `compileKlipperLb`. */
export function compileSvclbPod(
  svc: Service,
  hostIPs: readonly string[],
  variant?: 'current' | 'source-guard',
): IptablesFragment {
  const { containers, diagnostics } = svclbContainers(svc, hostIPs);
  const object = `svclb pod of Service ${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
  const out = compileKlipperLb({
    containers,
    ...(variant !== undefined ? { variant } : {}),
    object,
  });
  return { ...out, diagnostics: [...diagnostics, ...out.diagnostics] };
}
