import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../load.js';
import { buildModel } from './build.js';

function build(text: string) {
  const loaded = loadDocuments([{ path: 'c.yaml', text }]);
  const { model, diagnostics } = buildModel(loaded.objects);
  return { model, diagnostics: [...loaded.diagnostics, ...diagnostics] };
}

const cluster = (version: string) => `apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  kubeProxy: {version: "${version}"}
---
`;

const service = (annotation: string, extra = '') => `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {service.beta.kubernetes.io/external-traffic: ${annotation}}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
${extra}`;

describe('legacy service.beta.kubernetes.io/external-traffic', () => {
  it.each([
    // version, annotation, extra spec, expected policy, message fragment
    ['1.6', 'OnlyLocal', '', 'Local', 'read as externalTrafficPolicy Local, as kube-proxy 1.6'],
    ['1.7', 'Global', '', 'Cluster', 'read as externalTrafficPolicy Cluster, as kube-proxy 1.7'],
    ['1.8', 'OnlyLocal', '', 'Cluster', 'not honoured by kube-proxy 1.8 (removed in 1.8)'],
    ['1.31', 'OnlyLocal', '', 'Cluster', 'not honoured by kube-proxy 1.31'],
    [
      '1.6',
      'OnlyLocal',
      '  externalTrafficPolicy: Cluster\n',
      'Cluster',
      'contradicts spec.externalTrafficPolicy Cluster',
    ],
    ['1.6', 'Sometimes', '', 'Cluster', 'is neither OnlyLocal nor Global'],
  ])('kube-proxy %s, %s %j → %s', (version, annotation, extra, policy, fragment) => {
    const { model, diagnostics } = build(cluster(version) + service(annotation, extra));
    expect(model.services.get('default/web')?.spec.externalTrafficPolicy).toBe(policy);
    const legacy = diagnostics.filter((d) => d.code === 'k8s-legacy-external-traffic');
    expect(legacy).toHaveLength(1);
    expect(legacy[0]!.severity).toBe('warning');
    expect(legacy[0]!.message).toContain(fragment);
    if (fragment.includes('not honoured'))
      expect(legacy[0]!.hint).toBe('the modern equivalent is spec.externalTrafficPolicy: Local');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('is silent without the annotation', () => {
    const { diagnostics } = build(
      cluster('1.6') + service('OnlyLocal').replace(/ {2}annotations.*\n/, ''),
    );
    expect(diagnostics.filter((d) => d.code.startsWith('k8s-legacy'))).toEqual([]);
  });
});

const namespace = (value: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations:
    net.beta.kubernetes.io/network-policy: '${value}'
---
`;

describe('legacy net.beta.kubernetes.io/network-policy DefaultDeny', () => {
  const deny = '{"ingress": {"isolation": "DefaultDeny"}}';
  it.each([
    // version, annotation, policies in shop, message fragment (undefined: no warning)
    [
      '1.5',
      deny,
      ['legacy-default-deny-ingress'],
      'read as NetworkPolicy shop/legacy-default-deny-ingress',
    ],
    ['1.6', deny, ['legacy-default-deny-ingress'], 'as Kubernetes 1.6 honoured it'],
    ['1.7', deny, [], 'not honoured in Kubernetes 1.7 (removed in 1.7)'],
    ['1.31', deny, [], 'pods of shop not selected by a NetworkPolicy accept all ingress'],
    ['1.5', '{"ingress": {"isolation": "None"}}', [], undefined],
    ['1.5', 'DefaultDeny', [], 'is not the JSON'],
  ])('Kubernetes %s, %s', (version, value, names, fragment) => {
    const { model, diagnostics } = build(cluster(version) + namespace(value));
    const policies = model.networkPoliciesByNamespace.get('shop') ?? [];
    expect(policies.map((p) => p.metadata.name)).toEqual(names);
    for (const p of policies) expect(p.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    const legacy = diagnostics.filter((d) => d.code === 'k8s-legacy-network-policy');
    if (fragment === undefined) expect(legacy).toEqual([]);
    else {
      expect(legacy).toHaveLength(1);
      expect(legacy[0]!.severity).toBe('warning');
      expect(legacy[0]!.message).toContain(fragment);
    }
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});

describe('legacy extensions/v1beta1 NetworkPolicy', () => {
  it('is read as networking.k8s.io/v1', () => {
    const { model, diagnostics } = build(`apiVersion: extensions/v1beta1
kind: NetworkPolicy
metadata: {name: access, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
`);
    const np = model.networkPoliciesByNamespace.get('shop')?.[0];
    expect(np?.apiVersion).toBe('networking.k8s.io/v1');
    expect(np?.spec.ingress?.[0]?.from?.[0]?.podSelector).toEqual({ matchLabels: { app: 'web' } });
    expect(diagnostics.map((d) => d.code)).toContain('k8s-deprecated-api-version');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});
