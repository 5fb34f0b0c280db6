/**
 * The core kinds a data plane is built from: Node (podCIDRs, addresses),
 * Namespace, and Pod (containers and their ports, hostNetwork, pod IPs,
 * phase and readiness).
 */

import { isIpv4 } from '../../wire/addr.js';
import { formatPath } from '../parse.js';
import type {
  Container,
  ContainerPort,
  Namespace,
  Node,
  NodeAddress,
  Pod,
  PodCondition,
} from '../types.js';
import {
  at,
  each,
  hasField,
  isValidPortName,
  pathOf,
  step,
  type Decoder,
  type FieldPath,
  type Rec,
} from './decoder.js';

/** A pod's field paths, made once. */
const SPEC = at('spec');
const CONTAINERS = at('spec', 'containers');
const INIT_CONTAINERS = at('spec', 'initContainers');
const NODE_NAME = at('spec', 'nodeName');
const HOST_NETWORK = at('spec', 'hostNetwork');
const HOSTNAME = at('spec', 'hostname');
const SUBDOMAIN = at('spec', 'subdomain');
const STATUS = at('status');
const POD_IP = at('status', 'podIP');
const POD_IPS = at('status', 'podIPs');
const HOST_IP = at('status', 'hostIP');
const PHASE = at('status', 'phase');
const CONDITIONS = at('status', 'conditions');

/** A port number `port` takes without a word. */
function isPortNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

export function decodeNode(d: Decoder, raw: Rec): Node | undefined {
  const metadata = d.meta(raw, 'Node', false);
  if (!metadata) return undefined;
  const node: Node = { apiVersion: 'v1', kind: 'Node', metadata };
  const spec = d.map(raw.spec, ['spec']);
  if (spec) {
    const s: NonNullable<Node['spec']> = {};
    const podCIDR = d.cidr(spec.podCIDR, ['spec', 'podCIDR']);
    if (podCIDR) s.podCIDR = podCIDR;
    const podCIDRs = each(d, spec.podCIDRs, ['spec', 'podCIDRs'], (v, p) =>
      d.isV6(v) ? undefined : d.cidr(v, p),
    );
    if (podCIDRs && podCIDRs.length > 0) s.podCIDRs = podCIDRs;
    if (s.podCIDR && s.podCIDRs && s.podCIDRs[0] !== s.podCIDR) {
      d.error(
        ['spec', 'podCIDRs', 0],
        'k8s-invalid-cidr',
        `podCIDRs[0] (${s.podCIDRs[0]}) differs from podCIDR (${s.podCIDR})`,
        'the first of podCIDRs must equal podCIDR',
      );
    }
    const providerID = d.str(spec.providerID, ['spec', 'providerID']);
    if (providerID) s.providerID = providerID;
    node.spec = s;
  }
  const status = d.map(raw.status, ['status']);
  if (status) {
    const addresses = each(
      d,
      status.addresses,
      ['status', 'addresses'],
      (v, p): NodeAddress | undefined => {
        const a = d.map(v, p);
        if (!a) return undefined;
        const type = d.oneOf(a.type, step(p, 'type'), [
          'InternalIP',
          'ExternalIP',
          'Hostname',
          'InternalDNS',
          'ExternalDNS',
        ] as const);
        if (!type) return undefined;
        if (type === 'InternalIP' || type === 'ExternalIP') {
          const address = d.ip(a.address, step(p, 'address'));
          if (address === undefined) return undefined;
          return { type, address };
        }
        const address = d.str(a.address, step(p, 'address'));
        return address === undefined ? undefined : { type, address };
      },
    );
    if (addresses) node.status = { addresses };
  }
  return node;
}

export function decodeNamespace(d: Decoder, raw: Rec): Namespace | undefined {
  const metadata = d.meta(raw, 'Namespace', false);
  return metadata ? { apiVersion: 'v1', kind: 'Namespace', metadata } : undefined;
}

/**
 * The last image read: an equal one is kept as that same string, and its
 * own copy, made by the parser, is garbage at once instead of being copied
 * by the young collections it lives through (150,000 pods' worth).
 */
let lastImage: string | undefined;

/** Container `i` of a list; an init container keeps its `restartPolicy` (a sidecar's is Always). */
function decodeContainer(
  d: Decoder,
  v: unknown,
  p: FieldPath,
  i: number,
  init: boolean,
): (Container & { restartPolicy?: string }) | undefined {
  const c = d.map(v, p);
  if (!c) return undefined;
  // What the checks take without a word is read without making its path.
  let name = typeof c.name === 'string' ? c.name : d.str(c.name, step(p, 'name'));
  if (name === undefined) {
    // The name does not change a network answer; the container's ports still do.
    name = `container-${i}`;
    d.warn(
      step(p, 'name'),
      'k8s-container-no-name',
      `container has no name; read as ${JSON.stringify(name)}`,
      `add ${formatPath(pathOf(step(p, 'name')))}`,
    );
  }
  let image =
    (typeof c.image === 'string' ? c.image : d.str(c.image, step(p, 'image'))) || undefined;
  // The last container's image when equal: a Deployment's pods come one after another.
  if (image !== undefined) {
    if (image === lastImage) image = lastImage;
    else lastImage = image;
  }
  const restartPolicy = init && typeof c.restartPolicy === 'string' ? c.restartPolicy : undefined;
  let ports = each(d, c.ports, step(p, 'ports'), containerPortOf);
  if (ports && ports.length === 0) ports = undefined;
  // The usual shapes as literals (see objectMeta in decoder.ts).
  if (restartPolicy === undefined && image !== undefined)
    return ports !== undefined ? { name, image, ports } : { name, image };
  // Made empty and filled: an empty literal has room for four fields in the object itself.
  const container = {} as Container & { restartPolicy?: string };
  container.name = name;
  if (image !== undefined) container.image = image;
  if (restartPolicy !== undefined) container.restartPolicy = restartPolicy;
  if (ports !== undefined) container.ports = ports;
  return container;
}

/** One of a container's ports. */
function decodeContainerPort(d: Decoder, pv: unknown, pp: FieldPath): ContainerPort | undefined {
  const po = d.map(pv, pp);
  if (!po) return undefined;
  // What the checks take without a word is read without making its path.
  let containerPort: number;
  if (isPortNumber(po.containerPort)) containerPort = po.containerPort;
  else {
    const n = d.port(po.containerPort, step(pp, 'containerPort'));
    if (
      !d.required(po.containerPort ?? undefined, step(pp, 'containerPort'), 'containerPort') ||
      n === undefined
    )
      return undefined;
    containerPort = n;
  }
  let name: string | undefined;
  if (po.name !== undefined && po.name !== null) {
    name = typeof po.name === 'string' ? po.name : d.str(po.name, step(pp, 'name'));
    if (name !== undefined && !isValidPortName(name)) {
      d.error(
        step(pp, 'name'),
        'k8s-invalid-port',
        `port name ${JSON.stringify(name)} is not a valid port name (IANA_SVC_NAME: at most 15 lower-case letters, digits or '-', with at least one letter)`,
      );
      name = undefined;
    }
  }
  const pr = po.protocol;
  const protocol =
    pr === 'TCP' || pr === 'UDP' || pr === 'SCTP' ? pr : d.protocol(pr, step(pp, 'protocol'));
  const hostPort =
    po.hostPort === undefined || po.hostPort === null
      ? undefined
      : d.port(po.hostPort, step(pp, 'hostPort'));
  let hostIP: string | undefined;
  if (po.hostIP !== undefined && po.hostIP !== null)
    hostIP = d.ip(po.hostIP, step(pp, 'hostIP')) || undefined;
  // The usual shapes as literals (see objectMeta in decoder.ts).
  if (hostPort === undefined && hostIP === undefined && protocol !== undefined)
    return name !== undefined ? { containerPort, name, protocol } : { containerPort, protocol };
  // Made empty and filled: an empty literal has room for four fields in the object itself.
  const cp = {} as ContainerPort;
  cp.containerPort = containerPort;
  if (name !== undefined) cp.name = name;
  if (protocol) cp.protocol = protocol;
  if (hostPort !== undefined) cp.hostPort = hostPort;
  if (hostIP !== undefined) cp.hostIP = hostIP;
  return cp;
}

/** A container name used before in the list (a pod has a few containers: no set is made). */
function reportDuplicateNames(d: Decoder, containers: readonly Container[]): void {
  for (let i = 1; i < containers.length; i++) {
    const name = containers[i]!.name;
    let j = 0;
    while (j < i && containers[j]!.name !== name) j++;
    if (j < i)
      d.error(
        ['spec', 'containers', i, 'name'],
        'k8s-duplicate',
        `container name ${JSON.stringify(name)} is used twice`,
        'give each container a unique name',
      );
  }
}

/**
 * The last pod's containers and conditions as decoded: the next pod's, when
 * equal field for field, are read as those same lists, and their own copies
 * are garbage at once (a Deployment's pods come one after another, with the
 * same containers and, running, the same Ready condition: seven objects for
 * each of 150,000 pods were kept and copied by the young collections). They
 * are then shared as the labels are (see lastLabels in decoder.ts): nothing
 * in packeteye writes loaded containers or conditions.
 */
let lastContainers: Container[] | undefined;
let lastConditions: PodCondition[] | undefined;

/** Equal ports: the decoder sets their fields in one order, so equal fields are equal keys too. */
function samePorts(
  a: readonly ContainerPort[] | undefined,
  b: readonly ContainerPort[] | undefined,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.containerPort !== y.containerPort ||
      x.name !== y.name ||
      x.protocol !== y.protocol ||
      x.hostPort !== y.hostPort ||
      x.hostIP !== y.hostIP
    )
      return false;
  }
  return true;
}

/** `containers`, or the last pod's when equal (decodeContainer sets a container's fields in one order). */
function sharedContainers(containers: Container[]): Container[] {
  const last = lastContainers;
  if (last !== undefined && last.length === containers.length) {
    let i = 0;
    for (; i < last.length; i++) {
      const x = last[i]! as Container & { restartPolicy?: string };
      const y = containers[i]! as Container & { restartPolicy?: string };
      if (
        x.name !== y.name ||
        x.image !== y.image ||
        x.restartPolicy !== y.restartPolicy ||
        !samePorts(x.ports, y.ports)
      )
        break;
    }
    if (i === last.length) return last;
  }
  return (lastContainers = containers);
}

/** `conditions`, or the last pod's when equal (each has a type and a status, in that order). */
function sharedConditions(conditions: PodCondition[]): PodCondition[] {
  const last = lastConditions;
  if (last !== undefined && last.length === conditions.length) {
    let i = 0;
    while (
      i < last.length &&
      last[i]!.type === conditions[i]!.type &&
      last[i]!.status === conditions[i]!.status
    )
      i++;
    if (i === last.length) return last;
  }
  return (lastConditions = conditions);
}

/**
 * Whether two values as read from JSON or YAML are equal: the same scalars,
 * lists of equal items, mappings of the same keys with equal values. Any
 * other object (a YAML timestamp read as a `Date`) equals only itself: it
 * has no own keys to compare.
 */
export function sameRaw(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameRaw(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !plainMapping(a) || !plainMapping(b)) return false;
  const x = a as Rec;
  const y = b as Rec;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k)) continue;
    if (!Object.hasOwn(y, k) || !sameRaw(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (Object.hasOwn(y, k)) n--;
  return n === 0;
}

/** Whether `o` is a mapping as JSON or YAML reads one (not a `Date` or other class instance). */
function plainMapping(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A pod list's last reading: the input's value, what it was read as, and whether reading it said nothing. */
interface LastRead<T> {
  raw: unknown;
  value: T | undefined;
  quiet: boolean;
}

const LAST_CONTAINERS: LastRead<Container[]> = { raw: undefined, value: undefined, quiet: false };
const LAST_CONDITIONS: LastRead<PodCondition[]> = {
  raw: undefined,
  value: undefined,
  quiet: false,
};

/**
 * `raw` read by `read`, or, when it equals the last pod's and reading that
 * said nothing, the last pod's value without reading it again (reading is a
 * function of the value; its messages name the pod, so a list that had any is
 * read again for each pod). The input's lists are compared, not the values
 * made from them: a list read and then found equal was garbage that kept
 * the reader's allocation sites from being placed in the old generation.
 */
function readOnce<T>(
  d: Decoder,
  raw: unknown,
  last: LastRead<T>,
  read: (d: Decoder, raw: unknown) => T | undefined,
): T | undefined {
  if (last.quiet && raw !== undefined && sameRaw(raw, last.raw)) return last.value;
  const before = d.ctx.diagnostics.length;
  const value = read(d, raw);
  last.raw = raw;
  last.value = value;
  last.quiet = d.ctx.diagnostics.length === before;
  return value;
}

/** `spec.containers`, the last pod's when equal as read; names used twice reported. */
function decodeContainers(d: Decoder, raw: unknown): Container[] | undefined {
  const decoded = each(d, raw, CONTAINERS, containerOf);
  const containers = decoded && decoded.length > 0 ? sharedContainers(decoded) : decoded;
  if (containers) reportDuplicateNames(d, containers);
  return containers;
}

/** `status.conditions`, the last pod's when equal as read. */
function decodeConditions(d: Decoder, raw: unknown): PodCondition[] | undefined {
  const decoded = each(d, raw, CONDITIONS, conditionOf);
  return decoded && decoded.length > 0 ? sharedConditions(decoded) : decoded;
}

export function decodePod(d: Decoder, raw: Rec): Pod | undefined {
  const metadata = d.meta(raw, 'Pod', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, SPEC);
  if (!d.required(spec, SPEC, 'spec')) return undefined;
  const containers = readOnce(d, spec.containers, LAST_CONTAINERS, decodeContainers);
  if (!containers || containers.length === 0) {
    // The API server requires one, but a pod's network presence does not depend on it.
    d.warn(
      CONTAINERS,
      'k8s-pod-no-containers',
      'pod has no containers; read as a pod with no container ports',
      'add spec.containers with a name and image',
    );
  }
  const initContainers =
    spec.initContainers === undefined
      ? undefined
      : each(d, spec.initContainers, INIT_CONTAINERS, initContainerOf);
  const nodeName = d.str(spec.nodeName, NODE_NAME) || undefined;
  const hostNetwork = d.bool(spec.hostNetwork, HOST_NETWORK);
  const hostname = d.str(spec.hostname, HOSTNAME) || undefined;
  const subdomain = d.str(spec.subdomain, SUBDOMAIN) || undefined;
  let podSpec: Pod['spec'];
  if (
    (initContainers === undefined || initContainers.length === 0) &&
    hostNetwork === undefined &&
    hostname === undefined &&
    subdomain === undefined &&
    noPodDns(spec)
  ) {
    // The usual shapes as literals (see objectMeta in decoder.ts).
    podSpec =
      nodeName !== undefined
        ? { containers: containers ?? [], nodeName }
        : { containers: containers ?? [] };
  } else {
    // Made empty and filled (room for four fields in the object itself).
    podSpec = {} as Pod['spec'];
    podSpec.containers = containers ?? [];
    if (initContainers && initContainers.length > 0) podSpec.initContainers = initContainers;
    if (nodeName !== undefined) podSpec.nodeName = nodeName;
    if (hostNetwork !== undefined) podSpec.hostNetwork = hostNetwork;
    if (hostname !== undefined) podSpec.hostname = hostname;
    if (subdomain !== undefined) podSpec.subdomain = subdomain;
    decodePodDns(d, spec, podSpec);
  }
  // The pod is made last, with its status.
  const status = decodePodStatus(d, raw);
  return status
    ? { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec, status }
    : { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec };
}

const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

// A pod's list items, made once (`each` passes the decoder): a function made in decodePod or
// decodePodStatus for each pod was garbage, with the context it kept the decoder in.
const containerOf = (v: unknown, p: FieldPath, i: number, d: Decoder) =>
  decodeContainer(d, v, p, i, false);
const initContainerOf = (v: unknown, p: FieldPath, i: number, d: Decoder) =>
  decodeContainer(d, v, p, i, true);
const containerPortOf = (v: unknown, p: FieldPath, _i: number, d: Decoder) =>
  decodeContainerPort(d, v, p);

/** One of `status.podIPs`; the IPv6 family of a dual-stack pod is skipped. */
function podIPOf(v: unknown, p: FieldPath, _i: number, d: Decoder): { ip: string } | undefined {
  const m = d.map(v, p);
  if (!m || d.isV6(m.ip)) return undefined;
  // What the check takes without a word is read without making its path.
  const ip = typeof m.ip === 'string' && isIpv4(m.ip) ? m.ip : d.ip(m.ip, step(p, 'ip'));
  return ip ? { ip } : undefined;
}

/** One of `status.conditions`. */
function conditionOf(v: unknown, p: FieldPath, _i: number, d: Decoder): PodCondition | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const type = typeof m.type === 'string' ? m.type : d.str(m.type, step(p, 'type'));
  const ms = m.status;
  const s =
    ms === 'True' || ms === 'False' || ms === 'Unknown'
      ? ms
      : d.oneOf(ms, step(p, 'status'), CONDITION_STATUSES);
  return type && s ? { type, status: s } : undefined;
}

/**
 * Host addresses found valid, each kept as one string: a node's pods name its
 * address (30 pods a node at 150,000), each with a copy of its own made by
 * the parser, kept and copied by the young collections. A bounded memo,
 * emptied when full.
 */
const HOST_IPS = new Map<string, string>();

/** A pod's `status`: addresses, phase, conditions; undefined when it has none of them. */
function decodePodStatus(d: Decoder, raw: Rec): Pod['status'] {
  const status = d.map(raw.status, STATUS);
  if (!status) return undefined;
  let podIP: string | undefined;
  if (status.podIP !== undefined && status.podIP !== null && status.podIP !== '') {
    podIP = d.ip(status.podIP, POD_IP) || undefined;
  }
  let podIPs = each(d, status.podIPs, POD_IPS, podIPOf);
  if (podIPs && podIPs.length === 0) podIPs = undefined;
  // podIP's own string when equal (the usual case): one string kept, not two.
  if (podIPs && podIP !== undefined && podIPs[0]!.ip === podIP) podIPs[0]!.ip = podIP;
  if (podIPs && podIP !== undefined && podIPs[0]!.ip !== podIP) {
    d.error(
      ['status', 'podIPs', 0, 'ip'],
      'k8s-invalid-ip',
      `podIPs[0] (${podIPs[0]!.ip}) differs from podIP (${podIP})`,
      'the first of podIPs must equal podIP',
    );
  }
  let hostIP: string | undefined;
  const h = status.hostIP;
  if (h !== undefined && h !== null && h !== '') {
    hostIP = typeof h === 'string' ? HOST_IPS.get(h) : undefined;
    if (hostIP === undefined) {
      hostIP = d.ip(h, HOST_IP) || undefined;
      if (hostIP !== undefined) {
        if (HOST_IPS.size >= 65536) HOST_IPS.clear();
        HOST_IPS.set(hostIP, hostIP);
      }
    }
  }
  const phase = d.str(status.phase, PHASE) || undefined;
  const conditions = readOnce(d, status.conditions, LAST_CONDITIONS, decodeConditions);
  // A running pod has all five: one literal, its fields in the object itself (five fields
  // added one by one to an empty one would need a property array beside it).
  if (podIP !== undefined && podIPs && hostIP !== undefined && phase !== undefined && conditions)
    return { podIP, podIPs, hostIP, phase, conditions };
  const st: NonNullable<Pod['status']> = {};
  if (podIP !== undefined) st.podIP = podIP;
  if (podIPs) {
    st.podIPs = podIPs;
    if (podIP === undefined) st.podIP = podIPs[0]!.ip;
  }
  if (hostIP !== undefined) st.hostIP = hostIP;
  if (phase !== undefined) st.phase = phase;
  if (conditions) st.conditions = conditions;
  return hasField(st) ? st : undefined;
}

/** True when the pod says nothing of its DNS: decodePodDns would neither set nor report anything. */
function noPodDns(spec: Rec): boolean {
  return (
    (spec.dnsPolicy === undefined || spec.dnsPolicy === null) &&
    (spec.dnsConfig === undefined || spec.dnsConfig === null) &&
    (spec.hostAliases === undefined || spec.hostAliases === null)
  );
}

const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;

/** `spec.dnsPolicy`, `spec.dnsConfig` and `spec.hostAliases`: what the kubelet writes into resolv.conf and /etc/hosts. */
function decodePodDns(d: Decoder, spec: Rec, podSpec: Pod['spec']): void {
  const policy = d.str(spec.dnsPolicy, ['spec', 'dnsPolicy']);
  if (policy !== undefined) {
    if ((DNS_POLICIES as readonly string[]).includes(policy))
      podSpec.dnsPolicy = policy as (typeof DNS_POLICIES)[number];
    else
      d.warn(
        ['spec', 'dnsPolicy'],
        'k8s-invalid-value',
        `dnsPolicy ${JSON.stringify(policy)} is not one of ${DNS_POLICIES.join(', ')}; read as ClusterFirst, the default`,
      );
  }
  const dc = d.map(spec.dnsConfig, ['spec', 'dnsConfig']);
  if (dc) {
    const cfg: NonNullable<Pod['spec']['dnsConfig']> = {};
    const strs = (k: string): string[] | undefined =>
      each(d, dc[k], ['spec', 'dnsConfig', k], (v, p) => d.str(v, p));
    const ns = each(d, dc.nameservers, ['spec', 'dnsConfig', 'nameservers'], (v, p) =>
      d.isV6(v) ? undefined : d.ip(v, p),
    );
    if (ns) cfg.nameservers = ns;
    const searches = strs('searches');
    if (searches) cfg.searches = searches;
    const options = each(d, dc.options, ['spec', 'dnsConfig', 'options'], (v, p) => {
      const m = d.map(v, p);
      const name = m ? d.str(m.name, step(p, 'name')) : undefined;
      if (!m || name === undefined) return undefined;
      const raw = m.value;
      const value = typeof raw === 'number' ? String(raw) : d.str(raw, step(p, 'value'));
      return value !== undefined ? { name, value } : { name };
    });
    if (options) cfg.options = options;
    podSpec.dnsConfig = cfg;
  }
  if (podSpec.dnsPolicy === 'None' && !dc)
    d.warn(
      ['spec', 'dnsConfig'],
      'k8s-missing-field',
      'dnsPolicy None without dnsConfig: the pod gets an empty resolv.conf (the API server requires dnsConfig)',
      'add spec.dnsConfig.nameservers',
    );
  const aliases = each(d, spec.hostAliases, ['spec', 'hostAliases'], (v, p) => {
    const m = d.map(v, p);
    const ip = m ? d.ip(m.ip, step(p, 'ip')) : undefined;
    if (!m || ip === undefined) return undefined;
    const hostnames = each(d, m.hostnames, step(p, 'hostnames'), (x, q) => d.str(x, q));
    return hostnames ? { ip, hostnames } : { ip };
  });
  if (aliases && aliases.length > 0) podSpec.hostAliases = aliases;
}
