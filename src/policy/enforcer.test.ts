import { describe, expect, it } from 'vitest';
import type { Cluster } from '../k8s/types.js';
import { policyEnforcement } from './enforcer.js';

const cluster = (spec: Cluster['spec']): Cluster => ({
  apiVersion: 'packeteye.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'c' },
  spec,
});

describe('policyEnforcement', () => {
  it.each([
    ['calico CNI', cluster({ cni: { plugin: 'calico' } }), 'calico', undefined],
    [
      'canal: flannel + Calico policy',
      cluster({ cni: { plugin: 'flannel' }, networkPolicy: { enforcer: 'calico' } }),
      'calico',
      undefined,
    ],
    [
      'bridge + kube-router',
      cluster({ cni: { plugin: 'bridge' }, networkPolicy: { enforcer: 'kube-router' } }),
      'kube-router',
      undefined,
    ],
    ['plain bridge', cluster({ cni: { plugin: 'bridge' } }), 'none', 'policy-not-enforced'],
    [
      'flannel alone',
      cluster({ cni: { plugin: 'flannel', backend: 'vxlan' } }),
      'none',
      'policy-not-enforced',
    ],
    [
      'calico with enforcement off',
      cluster({ cni: { plugin: 'calico' }, networkPolicy: { enforcer: 'none' } }),
      'none',
      'policy-not-enforced',
    ],
    ['no Cluster object', undefined, 'unknown', 'policy-enforcer-unknown'],
  ])('%s', (_name, c, enforcer, code) => {
    const e = policyEnforcement(c, 2);
    expect(e.enforcer).toBe(enforcer);
    expect(e.diagnostic?.code).toBe(code);
  });

  it('says nothing when there are no policies', () => {
    expect(policyEnforcement(cluster({ cni: { plugin: 'bridge' } }), 0).diagnostic).toBeUndefined();
  });
});
