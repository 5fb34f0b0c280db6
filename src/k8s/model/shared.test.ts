/**
 * The model shares what it does not write with the loaded objects (a pod's
 * metadata and containers, a Service's selector and metadata): built from
 * deeply frozen objects, where a write would throw, every example and a
 * cluster of every defaulted and allocated Service field give the model (and
 * the diagnostics) that unfrozen objects give.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments, type LoadedObject } from '../load.js';
import { buildModel } from '../model.js';

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** The model as its JSON shows it, maps as entry lists. */
function form(objects: readonly LoadedObject[]): string {
  const { model, diagnostics } = buildModel(objects);
  return JSON.stringify({ ...model, origins: undefined, diagnostics }, (_, v: unknown) =>
    v instanceof Map || (typeof v === 'object' && v !== null && 'entries' in v && 'get' in v)
      ? [...(v as Map<unknown, unknown>)]
      : v,
  );
}

const svc = (name: string, spec: object, annotations?: object) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { selector: { app: 'a' }, ...spec },
});

const services = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'packeteye.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'c' },
      spec: { kubeProxy: { version: '1.6' } },
    },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { app: 'a' } },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    },
    svc('bare', { ports: [{ port: 80 }, { port: 81, targetPort: 'http' }] }),
    svc('affinity', {
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: {} },
      ports: [{ port: 80, protocol: 'UDP' }],
    }),
    svc('none', {
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } },
      ports: [{ port: 80 }],
    }),
    svc('np', { type: 'NodePort', ports: [{ port: 80 }, { port: 80, protocol: 'UDP' }] }),
    svc(
      'lb',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        ipFamilies: ['IPv6', 'IPv4'],
        ports: [{ port: 443, nodePort: 30443 }],
      },
      { 'service.beta.kubernetes.io/external-traffic': 'Global' },
    ),
    svc(
      'legacy',
      { type: 'NodePort', ports: [{ port: 80 }] },
      { 'service.beta.kubernetes.io/external-traffic': 'OnlyLocal' },
    ),
    svc('health', { type: 'NodePort', healthCheckNodePort: 31000, ports: [{ port: 80 }] }),
    svc('ext', { type: 'ExternalName', externalName: 'example.com', clusterIP: '10.96.0.99' }),
    svc('fixed', { clusterIP: '10.96.0.50', ports: [{ port: 53, protocol: 'UDP' }] }),
  ],
};

const inputs: [string, string][] = [
  ['services.json', JSON.stringify(services)],
  ...readdirSync('examples')
    .filter((f) => f.endsWith('.yaml'))
    .map((f): [string, string] => [`examples/${f}`, readFileSync(`examples/${f}`, 'utf8')]),
  ...['eks-vpc-cni.yaml', 'kubectl-get-all.yaml'].map((f): [string, string] => [
    `test/fixtures/k8s/${f}`,
    readFileSync(`test/fixtures/k8s/${f}`, 'utf8'),
  ]),
];

describe('buildModel writes only what is its own', () => {
  it.each(inputs)('%s: frozen loaded objects give the same model', (path, text) => {
    const want = form(loadDocuments([{ path, text }]).objects);
    const frozen = deepFreeze(loadDocuments([{ path, text }]).objects.map((l) => l.object));
    const objects = loadDocuments([{ path, text }]).objects.map((l, i) => ({
      ...l,
      object: frozen[i]!,
    }));
    expect(form(objects)).toBe(want);
  });
});
