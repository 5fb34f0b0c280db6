/**
 * Refs in expectation statements, resolved to what the policy engine decides
 * on: endpoints (pods, or the external range an address falls in) and the
 * ports that matter at each.
 *
 * - `[NS/]POD[:PORT]`: the pod; PORT a number or a container port's name.
 * - `svc/[NS/]NAME[:PORT]` and `lb/[NS/]NAME[:PORT]`: the Service's backends
 *   (its selector over the pods, as the EndpointSlice controller picks them),
 *   each at the targetPort the Service port sends to (a named targetPort
 *   resolved on each pod, as kube-proxy does from the EndpointSlice).
 * - `host/NAME[:PORT]`: an ExternalHost, as the external range its address is in.
 * - `namespace/NS`: every pod in the namespace.
 * - `IP[:PORT]`: the pod with that address, else the external range; `CIDR`:
 *   the pods inside it and the external ranges wholly inside it.
 * - `node/NAME`: not something NetworkPolicy decides on (traffic from a node to
 *   its pods is always allowed; nodes are not in the matrix): an error that
 *   points to `via: dataplane`.
 */
import { matchesSelector } from '../../k8s/selector.js';
import type { Service } from '../../k8s/types.js';
import {
  cidrRange,
  type Endpoint,
  type ExternalEndpoint,
  type PodEndpoint,
  type PolicyWorld,
} from '../../policy/model.js';
import { PortSet, type L4Protocol } from '../../policy/ports.js';
import { RegionIndex } from '../../policy/externals.js';
import { ipToInt, isCidr, isIpv4 } from '../../wire/addr.js';
import type { PortRef } from './expectations.js';

export interface Target {
  readonly endpoint: Endpoint;
  /** The ports that matter at this endpoint; undefined: any port. */
  readonly ports?: PortSet;
  /** What was asked for, for messages (`svc/shop/api:8080 → shop/api-1 TCP/8080`). */
  readonly via?: string;
}

/** A ref that does not resolve: the message and a hint, located by the caller. */
export class RefError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface PolicyCatalog {
  readonly world: PolicyWorld;
  /** By `ns/name`. */
  readonly services: ReadonlyMap<string, Service>;
  /** ExternalHost name → address. */
  readonly externalHosts: ReadonlyMap<string, string>;
  /** The external ranges the policy CIDRs carve out (`0.0.0.0/0` at least). */
  readonly regions: readonly ExternalEndpoint[];
  readonly regionIndex: RegionIndex;
  readonly podsByKey: ReadonlyMap<string, PodEndpoint>;
  readonly podsByIp: ReadonlyMap<number, PodEndpoint>;
}

export function policyCatalog(world: PolicyWorld, objects: readonly unknown[]): PolicyCatalog {
  const services = new Map<string, Service>();
  const externalHosts = new Map<string, string>();
  for (const o of objects) {
    const obj = o as {
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      spec?: { address?: string };
    };
    if (obj.kind === 'Service' && obj.metadata?.name)
      services.set(`${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`, o as Service);
    if (obj.kind === 'ExternalHost' && obj.metadata?.name && typeof obj.spec?.address === 'string')
      externalHosts.set(obj.metadata.name, obj.spec.address);
  }
  const regionIndex = new RegionIndex(world.cidrs);
  const podsByIp = new Map<number, PodEndpoint>();
  for (const p of world.pods) if (p.ipInt !== undefined) podsByIp.set(p.ipInt, p);
  return {
    world,
    services,
    externalHosts,
    regions: regionIndex.externals(world.pods),
    regionIndex,
    podsByKey: new Map(world.pods.map((p) => [p.key, p])),
    podsByIp,
  };
}

function splitPort(s: string): { base: string; port?: string } {
  const i = s.lastIndexOf(':');
  return i < 0 ? { base: s } : { base: s.slice(0, i), port: s.slice(i + 1) };
}

function qualify(base: string): string {
  return base.includes('/') ? base : `default/${base}`;
}

/** The external range holding `addr` (a pod address is the pod, not a range). */
export function regionEndpoint(c: PolicyCatalog, addr: number): ExternalEndpoint {
  const key = c.regionIndex.regionOf(addr);
  const known = c.regions.find((r) => r.key === key);
  return known ?? { kind: 'external', key, cidr: key, except: [], probe: addr };
}

function addressTarget(
  c: PolicyCatalog,
  ip: string,
  ports: PortSet | undefined,
  via: string,
): Target {
  const n = ipToInt(ip);
  const endpoint = c.podsByIp.get(n) ?? regionEndpoint(c, n);
  return { endpoint, ...(ports ? { ports } : {}), via };
}

function numberPort(text: string, proto: L4Protocol): PortSet {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    throw new RefError(`port ${JSON.stringify(text)} is not a number in 1–65535`);
  return PortSet.port(proto, Number(text));
}

function podPorts(
  pod: PodEndpoint,
  port: string | undefined,
  given: PortRef | undefined,
): PortSet | undefined {
  if (port === undefined) return given ? PortSet.port(given.protocol, given.port) : undefined;
  const named = pod.ports.find((p) => p.name === port);
  if (named) return PortSet.port(named.protocol, named.port);
  if (given && String(given.port) !== port)
    throw new RefError(
      `the ref says port ${port} and port says ${given.port}`,
      'give the port once',
    );
  return numberPort(
    port,
    given?.protocol ?? pod.ports.find((p) => String(p.port) === port)?.protocol ?? 'TCP',
  );
}

function serviceTargets(
  c: PolicyCatalog,
  ref: string,
  rest: string,
  given: PortRef | undefined,
): Target[] {
  const { base, port } = splitPort(rest);
  const key = qualify(base);
  const svc = c.services.get(key);
  if (!svc) {
    const near = [...c.services.keys()]
      .filter((k) => k.split('/')[0] === key.split('/')[0])
      .slice(0, 5);
    throw new RefError(
      `no Service ${key}`,
      near.length ? `Services there: ${near.join(', ')}` : undefined,
    );
  }
  const ports = svc.spec.ports ?? [];
  const wanted =
    port !== undefined
      ? ports.filter((p) => String(p.port) === port || p.name === port)
      : given
        ? ports.filter((p) => p.port === given.port && (p.protocol ?? 'TCP') === given.protocol)
        : ports;
  if (wanted.length === 0)
    throw new RefError(
      `Service ${key} has no port ${port ?? `${given?.protocol}/${given?.port}`}`,
      `it has ${ports.map((p) => `${p.protocol ?? 'TCP'}/${p.port}${p.name ? ` (${p.name})` : ''}`).join(', ') || 'no ports'}`,
    );
  const selector = svc.spec.selector;
  if (!selector || Object.keys(selector).length === 0)
    throw new RefError(
      `Service ${key} has no selector: its endpoints are not chosen from pods`,
      'name the backend pods themselves, or check it with via: dataplane',
    );
  const ns = key.split('/')[0]!;
  const out: Target[] = [];
  for (const pod of c.world.pods) {
    if (pod.namespace !== ns || !matchesSelector(pod.labels, { matchLabels: selector })) continue;
    let set = PortSet.EMPTY;
    for (const sp of wanted) {
      const proto = (sp.protocol ?? 'TCP') as L4Protocol;
      const tp = sp.targetPort ?? sp.port;
      if (typeof tp === 'number') set = set.union(PortSet.port(proto, tp));
      else {
        // A named targetPort resolves per pod; a pod without it is not an endpoint for this port.
        const named = pod.ports.find((p) => p.name === tp && p.protocol === proto);
        if (named) set = set.union(PortSet.port(proto, named.port));
      }
    }
    if (!set.isEmpty()) out.push({ endpoint: pod, ports: set, via: ref });
  }
  return out;
}

/**
 * Resolves one ref for the policy engine. `given` is the statement's `port`
 * (for a Service, the Service port; for a pod, the port itself).
 */
export function resolveTargets(c: PolicyCatalog, ref: string, given?: PortRef): Target[] {
  const anyPort = given ? PortSet.port(given.protocol, given.port) : undefined;
  if (ref.startsWith('svc/')) return serviceTargets(c, ref, ref.slice(4), given);
  if (ref.startsWith('lb/')) return serviceTargets(c, ref, ref.slice(3), given);
  if (ref.startsWith('node/'))
    throw new RefError(
      `${ref}: NetworkPolicy does not decide traffic between a node and its pods`,
      'check it through the data plane: via: dataplane',
    );
  if (ref.startsWith('host/')) {
    const { base, port } = splitPort(ref.slice(5));
    const addr = c.externalHosts.get(base);
    if (addr === undefined)
      throw new RefError(
        `no ExternalHost ${base}`,
        c.externalHosts.size
          ? `ExternalHosts: ${[...c.externalHosts.keys()].slice(0, 5).join(', ')}`
          : undefined,
      );
    return [
      addressTarget(
        c,
        addr,
        port !== undefined ? numberPort(port, given?.protocol ?? 'TCP') : anyPort,
        ref,
      ),
    ];
  }
  if (ref.startsWith('namespace/')) {
    const ns = ref.slice('namespace/'.length);
    if (!c.world.namespaces.has(ns))
      throw new RefError(
        `no namespace ${ns}`,
        `namespaces: ${[...c.world.namespaces.keys()].sort().slice(0, 8).join(', ')}`,
      );
    return c.world.pods
      .filter((p) => p.namespace === ns)
      .map((p) => ({ endpoint: p, ...(anyPort ? { ports: anyPort } : {}), via: ref }));
  }
  if (isCidr(ref) && ref.includes('/')) {
    const r = cidrRange(ref);
    const inside = (lo: number, hi: number) => lo >= r.lo && hi <= r.hi;
    const pods = c.world.pods.filter((p) => p.ipInt !== undefined && inside(p.ipInt, p.ipInt));
    const regions = c.regions.filter((e) => {
      const er = cidrRange(e.cidr);
      return inside(er.lo, er.hi);
    });
    return [...pods, ...regions].map((endpoint) => ({
      endpoint,
      ...(anyPort ? { ports: anyPort } : {}),
      via: ref,
    }));
  }
  const { base, port } = splitPort(ref);
  if (isIpv4(base))
    return [
      addressTarget(
        c,
        base,
        port !== undefined ? numberPort(port, given?.protocol ?? 'TCP') : anyPort,
        ref,
      ),
    ];
  const key = qualify(base);
  const pod = c.podsByKey.get(key);
  if (!pod) {
    const [ns, name] = key.split('/');
    const near = c.world.pods
      .filter((p) => p.name === name || p.namespace === ns)
      .slice(0, 5)
      .map((p) => p.key);
    throw new RefError(
      c.world.namespaces.has(ns!)
        ? `no pod ${key}`
        : `no namespace ${JSON.stringify(ns)} (in ${JSON.stringify(ref)})`,
      near.length
        ? `known pods include ${near.join(', ')}`
        : 'refs are NS/POD[:PORT], svc/NS/NAME:PORT, lb/NS/NAME:PORT, host/NAME, namespace/NS, IP[:PORT] or CIDR',
    );
  }
  const ports = podPorts(pod, port, given);
  return [{ endpoint: pod, ...(ports ? { ports } : {}), via: ref }];
}
