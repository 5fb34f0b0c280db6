/**
 * REF resolution for `packeteye trace`: `NS/POD[:PORT]`, `node/NAME`,
 * `host/NAME` (an ExternalHost), `svc/NS/NAME:PORT` (port number or name),
 * `IP[:PORT]`. An unknown ref is an InputError that names it and lists the
 * closest known refs. A bare `POD[:PORT]` or `svc/NAME:PORT` is in namespace
 * `default`, or in the one `qualifyRef` (the CLI's `-n`) puts it in.
 */
import { InputError } from '../diag.js';
import type { ClusterModel, ModelService } from '../k8s/model.js';
import { nodeInternalIP, nsName } from '../k8s/model.js';
import { isIpv4 } from '../wire/addr.js';
import type { L4Proto } from '../wire/packet.js';

export type EndpointKind = 'pod' | 'node' | 'external' | 'service' | 'ip';

export interface Resolved {
  readonly ref: string;
  readonly kind: EndpointKind;
  /** The namespace (twin host) it lives in, when it is one of the twin's. */
  readonly host?: string;
  readonly ip: string;
  readonly port?: number;
  /** The protocol the ref implies (a Service port's protocol, a container port's). */
  readonly proto?: L4Proto;
  readonly service?: ModelService;
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** Every ref the model knows, for suggestions. */
export function knownRefs(model: ClusterModel): string[] {
  const out: string[] = [];
  for (const k of model.pods.keys()) out.push(k);
  for (const n of model.nodes.keys()) out.push(`node/${n}`);
  for (const n of model.externalHosts.keys()) out.push(`host/${n}`);
  for (const [k, s] of model.services) for (const p of s.spec.ports) out.push(`svc/${k}:${p.port}`);
  // A port served over TCP and UDP (DNS) is one ref.
  return [...new Set(out)];
}

export function closeMatches(ref: string, candidates: readonly string[], n = 3): string[] {
  return candidates
    .map((c) => ({ c, d: editDistance(ref.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, n)
    .map((x) => x.c);
}

/** Four dot-separated numbers: meant as an IPv4 address, whether or not it is one. */
const DOTTED_QUAD = /^\d+\.\d+\.\d+\.\d+$/;

function unknown(model: ClusterModel, ref: string, what: string, option: string): InputError {
  const near = closeMatches(ref, knownRefs(model));
  return InputError.of(
    'unknown-ref',
    `${option} ${ref}: ${what}`,
    {},
    near.length > 0
      ? `did you mean ${near.join(', ')}?`
      : 'refs are [NS/]POD, node/NAME, host/NAME, svc/[NS/]NAME:PORT or IP[:PORT]',
  );
}

/**
 * Puts a namespace-less pod or Service ref into `namespace`, as kubectl's
 * `-n` does: `frontend[:PORT]` → `NS/frontend[:PORT]`, `svc/NAME[:PORT]` →
 * `svc/NS/NAME[:PORT]`. Every other form (NS/POD, node/, host/, svc/NS/NAME,
 * IP[:PORT]) is returned unchanged.
 */
export function qualifyRef(ref: string, namespace: string): string {
  if (ref.startsWith('svc/')) {
    const { base } = splitPort(ref.slice(4));
    return base.includes('/') ? ref : `svc/${namespace}/${ref.slice(4)}`;
  }
  if (ref.startsWith('node/') || ref.startsWith('host/') || ref.includes('/')) return ref;
  const { base } = splitPort(ref);
  if (base === '' || isIpv4(base) || DOTTED_QUAD.test(base)) return ref;
  return `${namespace}/${ref}`;
}

function splitPort(s: string): { base: string; port?: string } {
  const i = s.lastIndexOf(':');
  if (i < 0) return { base: s };
  return { base: s.slice(0, i), port: s.slice(i + 1) };
}

function parsePortNumber(model: ClusterModel, ref: string, port: string, option: string): number {
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw unknown(model, ref, `port ${JSON.stringify(port)} is not a number in 1–65535`, option);
  return Number(port);
}

/** Resolves one REF; `option` is `--from` or `--to`, for the message. */
export function resolveRef(
  model: ClusterModel,
  ref: string,
  option: string,
  proto?: L4Proto,
): Resolved {
  if (ref.startsWith('svc/')) {
    const { base, port } = splitPort(ref.slice(4));
    const svc = model.services.get(base.includes('/') ? base : `default/${base}`);
    if (!svc) throw unknown(model, ref, 'no such Service', option);
    if (!svc.spec.clusterIP || svc.spec.clusterIP === 'None')
      throw InputError.of(
        'unknown-ref',
        `${option} ${ref}: Service ${nsName(svc)} has no cluster IP (headless or ExternalName)`,
      );
    const ports = svc.spec.ports;
    const want = proto?.toUpperCase();
    let sp =
      port === undefined
        ? ports[0]
        : ports.find(
            (p) =>
              (String(p.port) === port || p.name === port) &&
              (want === undefined || p.protocol === want),
          );
    if (!sp && port !== undefined)
      sp = ports.find((p) => String(p.port) === port || p.name === port);
    if (!sp)
      throw unknown(
        model,
        ref,
        `Service ${nsName(svc)} has no port ${port ?? ''}; it has ${ports.map((p) => `${p.port}/${p.protocol}`).join(', ')}`,
        option,
      );
    return {
      ref,
      kind: 'service',
      ip: svc.spec.clusterIP,
      port: sp.port,
      proto: (sp.protocol ?? 'TCP').toLowerCase() as L4Proto,
      service: svc,
    };
  }
  if (ref.startsWith('node/')) {
    const { base, port } = splitPort(ref.slice(5));
    const node = model.nodes.get(base);
    if (!node) throw unknown(model, ref, 'no such Node', option);
    const ip = nodeInternalIP(node)!;
    return {
      ref,
      kind: 'node',
      host: base,
      ip,
      ...(port !== undefined ? { port: parsePortNumber(model, ref, port, option) } : {}),
    };
  }
  if (ref.startsWith('host/')) {
    const { base, port } = splitPort(ref.slice(5));
    const eh = model.externalHosts.get(base);
    if (!eh) throw unknown(model, ref, 'no such ExternalHost', option);
    const p =
      port !== undefined ? parsePortNumber(model, ref, port, option) : eh.spec.listen?.[0]?.port;
    return {
      ref,
      kind: 'external',
      host: `host/${base}`,
      ip: eh.spec.address,
      ...(p !== undefined ? { port: p } : {}),
    };
  }
  const { base, port } = splitPort(ref);
  if (isIpv4(base)) {
    const p = port !== undefined ? parsePortNumber(model, ref, port, option) : undefined;
    const pod = model.podsByIP.get(base);
    if (pod)
      return {
        ref,
        kind: 'pod',
        host: nsName(pod),
        ip: base,
        ...(p !== undefined ? { port: p } : {}),
      };
    for (const [name, node] of model.nodes)
      if (nodeInternalIP(node) === base)
        return { ref, kind: 'node', host: name, ip: base, ...(p !== undefined ? { port: p } : {}) };
    const eh = model.externalHostsByIP.get(base);
    if (eh)
      return {
        ref,
        kind: 'external',
        host: `host/${eh.metadata.name}`,
        ip: base,
        ...(p !== undefined ? { port: p } : {}),
      };
    const svc = model.servicesByClusterIP.get(base);
    if (svc)
      return {
        ref,
        kind: 'service',
        ip: base,
        ...(p !== undefined ? { port: p } : {}),
        service: svc,
      };
    return { ref, kind: 'ip', ip: base, ...(p !== undefined ? { port: p } : {}) };
  }
  const key = base.includes('/') ? base : `default/${base}`;
  const pod = model.pods.get(key);
  if (!pod && DOTTED_QUAD.test(base))
    throw InputError.of(
      'unknown-ref',
      `${option} ${ref}: ${base} is not an IPv4 address`,
      {},
      'an IPv4 address is four numbers 0–255 without leading zeros, e.g. 10.244.1.5',
    );
  if (!pod) throw unknown(model, ref, 'no such Pod (or unknown ref form)', option);
  let p: number | undefined;
  let pr: L4Proto | undefined;
  const cports = pod.spec.containers.flatMap((c) => c.ports ?? []);
  if (port !== undefined) {
    const named = cports.find((c) => c.name === port);
    p = named ? named.containerPort : parsePortNumber(model, ref, port, option);
    const cp = cports.find(
      (c) =>
        c.containerPort === p &&
        (proto === undefined || (c.protocol ?? 'TCP') === proto.toUpperCase()),
    );
    if (cp) pr = (cp.protocol ?? 'TCP').toLowerCase() as L4Proto;
  } else {
    const cp = cports.find(
      (c) => proto === undefined || (c.protocol ?? 'TCP') === proto.toUpperCase(),
    );
    if (cp) {
      p = cp.containerPort;
      pr = (cp.protocol ?? 'TCP').toLowerCase() as L4Proto;
    }
  }
  const host = pod.spec.hostNetwork ? pod.spec.nodeName : key;
  return {
    ref,
    kind: 'pod',
    host,
    ip: pod.status.podIP,
    ...(p !== undefined ? { port: p } : {}),
    ...(pr ? { proto: pr } : {}),
  };
}
