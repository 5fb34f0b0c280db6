/**
 * Where a Service's traffic goes: EndpointSlice (discovery.k8s.io/v1, and
 * v1beta1's `topology` read as nodeName/zone) and the legacy v1 Endpoints,
 * read only to be mirrored into EndpointSlices.
 */

import type { Endpoint, EndpointPort, EndpointSlice, ObjectMeta, Protocol } from '../types.js';
import { each, isRec, type Decoder, step, type FieldPath, type Rec } from './decoder.js';

export interface LegacyEndpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: ObjectMeta;
  subsets: {
    addresses: {
      ip: string;
      nodeName?: string;
      hostname?: string;
      targetRef?: Endpoint['targetRef'];
    }[];
    notReadyAddresses: {
      ip: string;
      nodeName?: string;
      hostname?: string;
      targetRef?: Endpoint['targetRef'];
    }[];
    ports: { name?: string; port: number; protocol: Protocol; appProtocol?: string }[];
  }[];
}

export function decodeEndpointSlice(
  d: Decoder,
  raw: Rec,
  apiVersion: string,
): EndpointSlice | undefined {
  const metadata = d.meta(raw, 'EndpointSlice', true);
  if (!metadata) return undefined;
  const addressType = d.oneOf(raw.addressType, ['addressType'], ['IPv4', 'IPv6', 'FQDN'] as const);
  if (!d.required(raw.addressType ?? undefined, ['addressType'], 'addressType') || !addressType)
    return undefined;
  const v4 = addressType === 'IPv4';
  const endpoints =
    each(d, raw.endpoints, ['endpoints'], (v, p): Endpoint | undefined => {
      const m = d.map(v, p);
      if (!m) return undefined;
      const addresses = each(d, m.addresses, step(p, 'addresses'), (a, ap) =>
        v4 ? d.ip(a, ap) : d.str(a, ap),
      );
      if (!addresses || addresses.length === 0) {
        d.error(
          step(p, 'addresses'),
          'k8s-required',
          'an endpoint needs at least one address',
          'add addresses: [the pod IP]',
        );
        return undefined;
      }
      const e: Endpoint = { addresses };
      const c = d.map(m.conditions, step(p, 'conditions'));
      if (c) {
        const cond: NonNullable<Endpoint['conditions']> = {};
        for (const k of ['ready', 'serving', 'terminating'] as const) {
          const b = d.bool(c[k], step(p, 'conditions', k));
          if (b !== undefined) cond[k] = b;
        }
        e.conditions = cond;
      }
      const hostname = d.str(m.hostname, step(p, 'hostname'));
      if (hostname) e.hostname = hostname;
      const nodeName = d.str(m.nodeName, step(p, 'nodeName'));
      if (nodeName) e.nodeName = nodeName;
      const zone = d.str(m.zone, step(p, 'zone'));
      if (zone) e.zone = zone;
      if (apiVersion === 'discovery.k8s.io/v1beta1') {
        // v1beta1 had `topology` (with topology.kubernetes.io/zone) instead of nodeName/zone.
        const topo = d.map(m.topology, step(p, 'topology'));
        if (topo) {
          if (!e.nodeName && typeof topo['kubernetes.io/hostname'] === 'string')
            e.nodeName = topo['kubernetes.io/hostname'];
          if (!e.zone && typeof topo['topology.kubernetes.io/zone'] === 'string')
            e.zone = topo['topology.kubernetes.io/zone'];
        }
      }
      const hints = d.map(m.hints, step(p, 'hints'));
      if (hints) {
        const fz = each(d, hints.forZones, step(p, 'hints', 'forZones'), (z, zp) => {
          const zm = d.map(z, zp);
          const name = zm ? d.str(zm.name, step(zp, 'name')) : undefined;
          return name ? { name } : undefined;
        });
        if (fz) e.hints = { forZones: fz };
      }
      const tr = d.map(m.targetRef, step(p, 'targetRef'));
      if (tr) {
        const t: NonNullable<Endpoint['targetRef']> = {};
        for (const k of ['kind', 'namespace', 'name', 'uid'] as const)
          if (typeof tr[k] === 'string') t[k] = tr[k];
        e.targetRef = t;
      }
      return e;
    }) ?? [];
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata,
    addressType,
    endpoints,
  };
  const ports = each(d, raw.ports, ['ports'], (v, p): EndpointPort | undefined => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const ep: EndpointPort = {};
    const name = d.str(m.name, step(p, 'name'));
    if (name !== undefined) ep.name = name;
    const protocol = d.protocol(m.protocol, step(p, 'protocol'));
    if (protocol) ep.protocol = protocol;
    const port = d.port(m.port, step(p, 'port'));
    if (port !== undefined) ep.port = port;
    const appProtocol = d.str(m.appProtocol, step(p, 'appProtocol'));
    if (appProtocol) ep.appProtocol = appProtocol;
    return ep;
  });
  if (ports) slice.ports = ports;
  return slice;
}

export function decodeLegacyEndpoints(d: Decoder, raw: Rec): LegacyEndpoints | undefined {
  const metadata = d.meta(raw, 'Endpoints', true);
  if (!metadata) return undefined;
  const addr = (v: unknown, p: FieldPath) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const ip = d.ip(m.ip, step(p, 'ip'));
    if (!ip) return undefined;
    const a: LegacyEndpoints['subsets'][number]['addresses'][number] = { ip };
    if (typeof m.nodeName === 'string') a.nodeName = m.nodeName;
    if (typeof m.hostname === 'string') a.hostname = m.hostname;
    if (isRec(m.targetRef)) {
      const t: NonNullable<Endpoint['targetRef']> = {};
      for (const k of ['kind', 'namespace', 'name', 'uid'] as const)
        if (typeof m.targetRef[k] === 'string') t[k] = m.targetRef[k] as string;
      a.targetRef = t;
    }
    return a;
  };
  const subsets =
    each(d, raw.subsets, ['subsets'], (v, p) => {
      const m = d.map(v, p);
      if (!m) return undefined;
      return {
        addresses: each(d, m.addresses, step(p, 'addresses'), addr) ?? [],
        notReadyAddresses: each(d, m.notReadyAddresses, step(p, 'notReadyAddresses'), addr) ?? [],
        ports:
          each(d, m.ports, step(p, 'ports'), (pv, pp) => {
            const pm = d.map(pv, pp);
            if (!pm) return undefined;
            const port = d.port(pm.port, step(pp, 'port'));
            if (port === undefined) return undefined;
            const r: LegacyEndpoints['subsets'][number]['ports'][number] = {
              port,
              protocol: d.protocol(pm.protocol, step(pp, 'protocol')) ?? 'TCP',
            };
            if (typeof pm.name === 'string' && pm.name !== '') r.name = pm.name;
            if (typeof pm.appProtocol === 'string') r.appProtocol = pm.appProtocol;
            return r;
          }) ?? [],
      };
    }) ?? [];
  return { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
}
