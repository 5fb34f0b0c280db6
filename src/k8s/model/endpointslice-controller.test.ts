import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../load.js';
import { buildModel } from '../model.js';
import { deriveSlices } from './endpointslice-controller.js';
import type { ModelPod, ModelService } from './types.js';

const svc = (ports: ModelService['spec']['ports']): ModelService => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type: 'ClusterIP', ports, sessionAffinity: 'None', selector: { app: 'web' } },
});

const pod = (ns: string, name: string, ip: string, port: number): ModelPod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: 'web' } },
  spec: {
    nodeName: 'n1',
    hostNetwork: false,
    containers: [{ name: 'c', ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] }],
  },
  status: { podIP: ip, podIPs: [{ ip }], hostIP: '192.168.1.10' },
});

const withPorts = (p: ModelPod, ports: { name: string; containerPort: number }[]): ModelPod => ({
  ...p,
  spec: { ...p.spec, containers: [{ name: 'c', ports }] },
});

const endpointsOf = (slices: ReturnType<typeof deriveSlices>) =>
  slices.map((s) => [
    s.ports?.map((p) => `${p.port}/${p.appProtocol ?? ''}`),
    s.endpoints.map((e) => e.targetRef?.name),
  ]);

describe('deriveSlices', () => {
  const named = [{ name: 'web', port: 80, protocol: 'TCP' as const, targetPort: 'http' }];
  const cases: [string, ModelService, ModelPod[], unknown][] = [
    [
      'pods in any order come out in ns/name order (a-b/ sorts before a/)',
      svc(named),
      [
        pod('a', 'z', '10.0.0.3', 80),
        pod('a-b', 'y', '10.0.0.2', 80),
        pod('a', 'x', '10.0.0.1', 80),
      ],
      [[['80/'], ['y', 'x', 'z']]],
    ],
    [
      'one slice per resolved port set, in the order of each set first pod',
      svc(named),
      [pod('a', 'c', '10.0.0.3', 81), pod('a', 'b', '10.0.0.2', 80), pod('a', 'a', '10.0.0.1', 81)],
      [
        [['81/'], ['a', 'c']],
        [['80/'], ['b']],
      ],
    ],
    [
      'two Service ports alike: pods resolving either to one number share a slice',
      svc([
        { name: '', port: 80, protocol: 'TCP', targetPort: 'http' },
        { name: '', port: 81, protocol: 'TCP', targetPort: 'alt' },
      ]),
      [
        pod('a', 'a', '10.0.0.1', 8080),
        withPorts(pod('a', 'b', '10.0.0.2', 0), [{ name: 'alt', containerPort: 8080 }]),
        withPorts(pod('a', 'c', '10.0.0.3', 0), [
          { name: 'alt', containerPort: 8080 },
          { name: 'http', containerPort: 8080 },
        ]),
      ],
      [
        [['8080/'], ['a', 'b']],
        [['8080/', '8080/'], ['c']],
      ],
    ],
    [
      'more than 100 pods with one port set: slices of 100, in order',
      svc(named),
      Array.from({ length: 250 }, (_, i) =>
        pod('a', `p${String(i).padStart(3, '0')}`, `10.0.${i >> 8}.${i & 255}`, 80),
      ),
      [0, 100, 200].map((from) => [
        ['80/'],
        Array.from(
          { length: Math.min(100, 250 - from) },
          (_, i) => `p${String(from + i).padStart(3, '0')}`,
        ),
      ]),
    ],
    [
      'appProtocol is part of the port set',
      svc([{ ...named[0]!, appProtocol: 'http' }]),
      [pod('a', 'a', '10.0.0.1', 80)],
      [[['80/http'], ['a']]],
    ],
  ];
  it.each(cases)('%s', (_, s, pods, want) => {
    expect(endpointsOf(deriveSlices(s, pods, new Map()))).toEqual(want);
  });
  it('writes an endpoint and its ports with their fields in the controller order', () => {
    const p = pod('shop', 'a', '10.0.0.1', 80);
    p.metadata.uid = 'u-1';
    p.spec.hostname = 'a';
    p.spec.subdomain = 'web';
    const zoned = new Map([
      [
        'n1',
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } },
          spec: { podCIDR: '10.0.0.0/24' },
          status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
        } as never,
      ],
    ]);
    const [slice] = deriveSlices(svc([{ ...named[0]!, appProtocol: 'http' }]), [p], zoned);
    expect(JSON.stringify(slice!.endpoints[0])).toBe(
      '{"addresses":["10.0.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false},"hostname":"a","nodeName":"n1","zone":"z1","targetRef":{"kind":"Pod","namespace":"shop","name":"a","uid":"u-1"}}',
    );
    expect(JSON.stringify(slice!.ports)).toBe(
      '[{"name":"web","port":80,"protocol":"TCP","appProtocol":"http"}]',
    );
    const [plain] = deriveSlices(svc(named), [pod('shop', 'b', '10.0.0.2', 80)], new Map());
    expect(JSON.stringify(plain!.endpoints[0])).toBe(
      '{"addresses":["10.0.0.2"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"n1","targetRef":{"kind":"Pod","namespace":"shop","name":"b"}}',
    );
  });

  it('gives each endpoint the conditions of its pod', () => {
    const notReady = pod('a', 'b', '10.0.0.2', 80);
    notReady.status.conditions = [{ type: 'Ready', status: 'False' }];
    const leaving = pod('a', 'c', '10.0.0.3', 80);
    leaving.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const pods = [pod('a', 'a', '10.0.0.1', 80), notReady, leaving];
    const conditions = (s: ModelService) =>
      deriveSlices(s, pods, new Map()).flatMap((x) =>
        x.endpoints.map((e) => JSON.stringify(e.conditions)),
      );
    expect(conditions(svc(named))).toEqual([
      '{"ready":true,"serving":true,"terminating":false}',
      '{"ready":false,"serving":false,"terminating":false}',
      '{"ready":false,"serving":true,"terminating":true}',
    ]);
    const publish = svc(named);
    publish.spec.publishNotReadyAddresses = true;
    expect(conditions(publish)).toEqual([
      '{"ready":true,"serving":true,"terminating":false}',
      '{"ready":true,"serving":false,"terminating":false}',
      '{"ready":true,"serving":true,"terminating":true}',
    ]);
  });

  it('leaves the pods it is given in their order', () => {
    const pods = [pod('a', 'b', '10.0.0.2', 80), pod('a', 'a', '10.0.0.1', 80)];
    deriveSlices(svc(named), pods, new Map());
    expect(pods.map((p) => p.metadata.name)).toEqual(['b', 'a']);
  });
});

describe('Services select their pods (selector index)', () => {
  const items = [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { podCIDR: '10.244.0.0/24' },
      status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
    },
    ...[
      ['shop', 'a', { app: 'web', tier: 'front' }],
      ['shop', 'b', { app: 'web', tier: 'back' }],
      ['shop', 'c', { app: 'db', tier: 'front' }],
      ['other', 'd', { app: 'web', tier: 'front' }],
      ['shop', 'e', {}],
    ].map(([ns, name, labels], i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels },
      spec: { nodeName: 'n1', containers: [{ name: 'c' }] },
      status: { podIP: `10.244.0.${10 + i}` },
    })),
  ];
  const cases: [selector: Record<string, string>, ns: string, want: string[]][] = [
    [{ app: 'web' }, 'shop', ['a', 'b']],
    [{ app: 'web', tier: 'front' }, 'shop', ['a']],
    [{ tier: 'front' }, 'shop', ['a', 'c']],
    [{ app: 'web' }, 'other', ['d']],
    [{ app: 'web', tier: 'none' }, 'shop', []],
    [{ app: 'cache' }, 'shop', []],
    [{ app: 'web' }, 'empty', []],
  ];
  const service = (name: string, ns: string, selector: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector, ports: [{ port: 80 }] },
  });
  // Services selecting on many other keys: the index walks each pod's labels instead.
  const many = ['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => service(`by-${k}`, 'shop', { [k]: 'v' }));
  it.each(
    [
      ...cases,
      [{ constructor: 'x' }, 'shop', []] as (typeof cases)[number],
      [{ toString: 'x', app: 'web' }, 'shop', []] as (typeof cases)[number],
    ].flatMap((c) => [
      [...c, []],
      [...c, many],
    ]) as [Record<string, string>, string, string[], object[]][],
  )('%j in %s', (selector, ns, want, others) => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [...items, service('s', ns, selector), ...others],
    });
    const { model } = buildModel(loadDocuments([{ path: 'c.json', text }]).objects);
    const slices = model.slicesByService.get(`${ns}/s`) ?? [];
    expect(slices.flatMap((s) => s.endpoints.map((e) => e.targetRef?.name))).toEqual(want);
  });
});
