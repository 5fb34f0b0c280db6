/**
 * ClusterIP allocation, as the API server's ipallocator does it
 * (`pkg/registry/core/service/ipallocator`): a requested clusterIP must be a
 * usable, free address of the serviceCIDR; the others get one.
 * `default/kubernetes` takes the first address (the apiserver's
 * ServiceIPRange), `kube-system/kube-dns` the tenth (kubeadm's
 * GetIndexedIP(cidr, 10)), every other Service the lowest free one from the
 * eleventh in namespace/name order (the real allocator picks at random).
 */

import {
  broadcastOf,
  cidrContains,
  cidrSize,
  intToIp,
  ipToInt,
  nthAddress,
  parseCidr,
  type Cidr,
} from '../../wire/addr.js';
import { objectRef, type Service } from '../types.js';
import { nsName } from './accessors.js';
import type { Builder, Entry } from './builder.js';
import type { ClusterConfig, ModelPod, ModelService } from './types.js';

export interface ServiceRange {
  readonly net: Cidr;
  readonly broadcast: string;
  readonly first: string;
}

/** The serviceCIDR read once for every Service's check. */
export function serviceRange(cluster: ClusterConfig): ServiceRange {
  const net = parseCidr(cluster.serviceCIDR);
  return { net, broadcast: broadcastOf(net), first: nthAddress(net, 1) };
}

/** A clusterIP the Service asks for: usable, not taken, not a pod's. */
export function checkRequestedClusterIP(
  b: Builder,
  cluster: ClusterConfig,
  e: Entry<Service>,
  svc: ModelService,
  ctx: {
    /** Addresses taken so far, by Service `ns/name`. */
    ipOwner: Map<string, string>;
    /** Whether `default/kubernetes` is the model's own (so holds the first address). */
    invented: boolean;
    podsByIP: ReadonlyMap<string, ModelPod>;
    /** The serviceCIDR, its broadcast and first addresses (`serviceRange`). */
    range: ServiceRange;
  },
): void {
  const { net: serviceNet, broadcast, first } = ctx.range;
  const key = nsName(svc);
  const ip = svc.spec.clusterIP;
  if (ip === undefined || ip === 'None') return;
  if (!cidrContains(serviceNet, ip) || ip === serviceNet.network || ip === broadcast) {
    b.error(
      e,
      'spec.clusterIP',
      'k8s-ip-out-of-range',
      `clusterIP ${ip} is not a usable address of the serviceCIDR ${cluster.serviceCIDR}`,
      `pick an address inside ${cluster.serviceCIDR}, or remove clusterIP to have one allocated`,
    );
  }
  const prev = ctx.ipOwner.get(ip);
  if (ctx.invented && key !== 'default/kubernetes' && ip === first) {
    b.error(
      e,
      'spec.clusterIP',
      'k8s-duplicate-cluster-ip',
      `clusterIP ${ip} is the kubernetes Service's: the API server takes the first address of the serviceCIDR`,
      'pick another address, or remove clusterIP to have one allocated',
    );
  } else if (prev !== undefined) {
    b.error(
      e,
      'spec.clusterIP',
      'k8s-duplicate-cluster-ip',
      `clusterIP ${ip} is also Service ${prev}'s`,
      'remove clusterIP from one of them to have a free one allocated',
    );
  } else ctx.ipOwner.set(ip, key);
  const pod = ctx.podsByIP.get(ip);
  if (pod)
    b.error(
      e,
      'spec.clusterIP',
      'k8s-duplicate-ip',
      `clusterIP ${ip} is also Pod ${nsName(pod)}'s address`,
      'pod and Service networks must be disjoint',
    );
}

/** Gives every Service that wants one (all but ExternalName) a clusterIP. */
export function allocateClusterIPs(
  b: Builder,
  cluster: ClusterConfig,
  services: Map<string, ModelService>,
  entryOf: Map<string, Entry<Service>>,
  ipOwner: Map<string, string>,
): void {
  const serviceNet = parseCidr(cluster.serviceCIDR);
  const usable = cidrSize(serviceNet) - 2;
  const base = ipToInt(serviceNet.network);
  const taken = (n: number) => ipOwner.has(intToIp((base + n) >>> 0));
  const assign = (key: string, n: number, reason: string) => {
    const s = services.get(key)!;
    const ip = intToIp((base + n) >>> 0);
    s.spec.clusterIP = ip;
    s.spec.clusterIPs = [ip];
    ipOwner.set(ip, key);
    b.note(objectRef(s), 'spec.clusterIP', ip, reason);
  };
  const wants = (s: ModelService) =>
    s.spec.type !== 'ExternalName' && s.spec.clusterIP === undefined;
  const k8s = services.get('default/kubernetes');
  if (k8s && wants(k8s) && usable >= 1 && !taken(1))
    assign(
      'default/kubernetes',
      1,
      'the API server gives its kubernetes Service the first address of the serviceCIDR',
    );
  const dns = services.get('kube-system/kube-dns');
  if (dns && wants(dns) && usable >= 10) {
    if (!taken(10))
      assign(
        'kube-system/kube-dns',
        10,
        "kubeadm gives the DNS Service the tenth address of the serviceCIDR (the kubelet's clusterDNS)",
      );
    else {
      b.warn(
        entryOf.get('kube-system/kube-dns')!,
        'spec.clusterIP',
        'k8s-dns-address-taken',
        `the tenth address ${nthAddress(serviceNet, 10)}, which kubeadm reserves for kube-dns and puts in every pod's resolv.conf, is taken by Service ${ipOwner.get(nthAddress(serviceNet, 10))}`,
        `give that Service another clusterIP, or set kube-dns's clusterIP to ${nthAddress(serviceNet, 10)}`,
      );
    }
  }
  let cursor = Math.min(11, usable);
  // forEach: a loop over the entries makes a pair and a result per Service until optimised.
  services.forEach((s, key) => {
    if (!wants(s)) return;
    let n = cursor;
    let tries = 0;
    while (tries < usable && (n < 1 || n > usable || taken(n))) {
      n = n >= usable ? 1 : n + 1;
      tries++;
    }
    if (tries >= usable) {
      b.error(
        entryOf.get(key)!,
        'spec.clusterIP',
        'k8s-range-exhausted',
        `the serviceCIDR ${cluster.serviceCIDR} has no free address left`,
        'use a larger Cluster spec.serviceCIDR',
      );
      return;
    }
    assign(
      key,
      n,
      'no clusterIP; the API server picks a free serviceCIDR address at random, packeteye the lowest free one from the eleventh, in namespace/name order',
    );
    cursor = n + 1;
  });
  services.forEach((s) => {
    if (s.spec.clusterIP !== undefined && s.spec.clusterIPs === undefined)
      s.spec.clusterIPs = [s.spec.clusterIP];
  });
}
