/**
 * Ingress (networking.k8s.io/v1): the Services its rules and default backend
 * name (an ingress controller's data plane is not modelled).
 */

import type { Ingress, IngressBackend } from '../types.js';
import { each, type Decoder, step, type FieldPath, type Rec } from './decoder.js';

function decodeIngressBackend(d: Decoder, v: unknown, p: FieldPath): IngressBackend | undefined {
  const m = d.map(v, p);
  if (!m) return undefined;
  const s = d.map(m.service, step(p, 'service'));
  if (!s) {
    if (m.resource !== undefined)
      d.warn(
        step(p, 'resource'),
        'k8s-not-modelled',
        'resource backends are not modelled; ignored',
      );
    return {};
  }
  const name = d.str(s.name, step(p, 'service', 'name'));
  if (!d.required(name, step(p, 'service', 'name'), 'service.name')) return undefined;
  const b: IngressBackend = { service: { name } };
  const port = d.map(s.port, step(p, 'service', 'port'));
  if (port) {
    const number = d.port(port.number, step(p, 'service', 'port', 'number'));
    const pname = d.str(port.name, step(p, 'service', 'port', 'name'));
    b.service!.port = {
      ...(number !== undefined ? { number } : {}),
      ...(pname ? { name: pname } : {}),
    };
  }
  return b;
}

export function decodeIngress(d: Decoder, raw: Rec): Ingress | undefined {
  const metadata = d.meta(raw, 'Ingress', true);
  if (!metadata) return undefined;
  const spec = d.map(raw.spec, ['spec']) ?? {};
  const ing: Ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec: {} };
  const cls = d.str(spec.ingressClassName, ['spec', 'ingressClassName']);
  if (cls) ing.spec.ingressClassName = cls;
  const db = decodeIngressBackend(d, spec.defaultBackend, ['spec', 'defaultBackend']);
  if (db) ing.spec.defaultBackend = db;
  const rules = each(d, spec.rules, ['spec', 'rules'], (v, p) => {
    const m = d.map(v, p);
    if (!m) return undefined;
    const r: NonNullable<Ingress['spec']['rules']>[number] = {};
    const host = d.str(m.host, step(p, 'host'));
    if (host) r.host = host;
    const http = d.map(m.http, step(p, 'http'));
    if (http) {
      const paths =
        each(d, http.paths, step(p, 'http', 'paths'), (pv, pp) => {
          const pm = d.map(pv, pp);
          if (!pm) return undefined;
          const backend = decodeIngressBackend(d, pm.backend, step(pp, 'backend'));
          if (!d.required(backend, step(pp, 'backend'), 'backend')) return undefined;
          const path = d.str(pm.path, step(pp, 'path'));
          const pathType = d.oneOf(pm.pathType, step(pp, 'pathType'), [
            'Exact',
            'Prefix',
            'ImplementationSpecific',
          ] as const);
          return { ...(path ? { path } : {}), ...(pathType ? { pathType } : {}), backend };
        }) ?? [];
      r.http = { paths };
    }
    return r;
  });
  if (rules) ing.spec.rules = rules;
  return ing;
}
