import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../load.js';
import { buildModel } from '../model.js';
import type { ClusterModel, ModelPod } from './types.js';

/** The indexes as read from the pods map in its order (what `model.pods` iteration promises). */
function indexesOf(pods: ReadonlyMap<string, ModelPod>) {
  const byIP = new Map<string, ModelPod>();
  const byNode = new Map<string, ModelPod[]>();
  const sharing = new Map<string, ModelPod[]>();
  for (const p of pods.values()) {
    if (!p.spec.hostNetwork && !byIP.has(p.status.podIP)) byIP.set(p.status.podIP, p);
    else if (!p.spec.hostNetwork)
      sharing.set(p.status.podIP, [...(sharing.get(p.status.podIP) ?? []), p]);
    byNode.set(p.spec.nodeName, [...(byNode.get(p.spec.nodeName) ?? []), p]);
  }
  return { byIP, byNode, sharing };
}

const keysOf = (m: ReadonlyMap<string, unknown>) => [...m.keys()];
const names = (m: ClusterModel['podsByNode']) =>
  [...m].map(([n, ps]) => [n, ps.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)]);

type P = { ns?: string; name: string; node?: string; ip?: string; hostNetwork?: boolean };
const pod = ({ ns, name, node, ip, hostNetwork }: P) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(ns ? { namespace: ns } : {}) },
  spec: {
    containers: [{ name: 'c' }],
    ...(node ? { nodeName: node } : {}),
    ...(hostNetwork ? { hostNetwork: true } : {}),
  },
  ...(ip ? { status: { podIP: ip } } : {}),
});

const nodes = ['n1', 'n2'].map((name, i) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: `10.244.${i}.0/24` },
  status: { addresses: [{ type: 'InternalIP', address: `192.168.1.${10 + i}` }] },
}));

const cases: [string, P[]][] = [
  [
    'in key order',
    [
      { ns: 'a', name: 'x', node: 'n1', ip: '10.244.0.5' },
      { ns: 'b', name: 'y', node: 'n2', ip: '10.244.1.5' },
    ],
  ],
  [
    'out of order, names sorting apart from their namespaces (a-b/ before a/)',
    [
      { ns: 'a', name: 'z', node: 'n2', ip: '10.244.1.7' },
      { ns: 'a-b', name: 'y', node: 'n1', ip: '10.244.0.7' },
      { name: 'w', node: 'n1', ip: '10.244.0.8' },
      { ns: 'a', name: 'q', node: 'n1', ip: '10.244.0.9' },
    ],
  ],
  [
    'addresses handed out afterwards, between pods that have theirs',
    [
      { ns: 'a', name: 'c', node: 'n1' },
      { ns: 'a', name: 'b', node: 'n1', ip: '10.244.0.2' },
      { ns: 'a', name: 'a', node: 'n1' },
      { ns: 'a', name: 'd', node: 'n2', ip: '10.244.1.3' },
    ],
  ],
  [
    'two pods with one address: the first in key order has it',
    [
      { ns: 'a', name: 'y', node: 'n1', ip: '10.244.0.4' },
      { ns: 'a', name: 'x', node: 'n2', ip: '10.244.0.4' },
    ],
  ],
  [
    'three pods with one address, one given none, a hostNetwork pod at a node address',
    [
      { ns: 'b', name: 'y', node: 'n1', ip: '10.244.0.4' },
      { ns: 'a', name: 'x', node: 'n2', ip: '10.244.0.4' },
      { ns: 'a', name: 'w', node: 'n2' },
      { ns: 'a', name: 'v', node: 'n1', ip: '10.244.0.4' },
      { ns: 'k', name: 'h', node: 'n1', hostNetwork: true },
    ],
  ],
  [
    'one name twice: the later pod, in the first place',
    [
      { ns: 'a', name: 'x', node: 'n1', ip: '10.244.0.4' },
      { ns: 'a', name: 'w', node: 'n2', ip: '10.244.1.4' },
      { ns: 'a', name: 'x', node: 'n2', ip: '10.244.1.9' },
    ],
  ],
  [
    'one name twice, the pods in order: the later pod',
    [
      { ns: 'a', name: 'w', node: 'n2', ip: '10.244.1.4' },
      { ns: 'a', name: 'x', node: 'n1', ip: '10.244.0.4' },
      { ns: 'a', name: 'x', node: 'n2', ip: '10.244.1.9' },
    ],
  ],
  [
    'hostNetwork pods at their node address, not indexed by it',
    [
      { ns: 'k', name: 'proxy', node: 'n2', hostNetwork: true },
      { ns: 'a', name: 'x', node: 'n2', ip: '10.244.1.4' },
      { ns: 'k', name: 'agent', node: 'n1', hostNetwork: true, ip: '192.168.1.10' },
    ],
  ],
  [
    'placed pods (no nodeName) among scheduled ones',
    [
      { ns: 'a', name: 'm', ip: '10.244.1.20' },
      { ns: 'a', name: 'l', node: 'n1', ip: '10.244.0.20' },
      { ns: 'a', name: 'k' },
    ],
  ],
];

describe('buildModel: pods and their indexes in key order', () => {
  it.each(cases)('%s', (_, ps) => {
    // Each pod read on its own: one file would keep only the first of two with one name.
    const read = (items: object[], path: string) =>
      loadDocuments([{ path, text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) }])
        .objects;
    const { model } = buildModel([
      ...read(nodes, 'nodes.json'),
      ...ps.flatMap((p, i) => read([pod(p)], `p${i}.json`)),
    ]);
    const keys = keysOf(model.pods);
    expect(keys).toEqual([...new Set(ps.map((p) => `${p.ns ?? 'default'}/${p.name}`))].sort());
    const { byIP, byNode, sharing } = indexesOf(model.pods);
    expect([...model.podsByIP]).toEqual([...byIP]);
    expect(names(model.podsSharingIP)).toEqual(names(sharing));
    for (const [k, p] of model.pods) expect(model.pods.get(k)).toBe(p);
    // Of pods with one name, the later in the input.
    for (const p of ps)
      if (p.ip !== undefined && ps.filter((q) => q.ns === p.ns && q.name === p.name).at(-1) === p)
        expect(model.pods.get(`${p.ns ?? 'default'}/${p.name}`)?.status.podIP).toBe(p.ip);
    for (const k of ['a/', 'a', 'a/zz', 'b/a', 'k/proxy-'])
      expect(model.pods.get(k)).toBeUndefined();
    for (const p of model.pods.values())
      expect(model.podsByIP.get(p.status.podIP)).toBe(byIP.get(p.status.podIP));
    expect(model.podsByIP.size).toBe(byIP.size);
    expect(names(model.podsByNode)).toEqual(names(byNode));
    for (const p of model.pods.values()) {
      expect(p.spec.nodeName).toMatch(/^n[12]$/);
      expect(p.status.podIPs[0]?.ip ?? p.status.podIP).toBeDefined();
      expect([undefined, true, false]).toContain(p.spec.hostNetwork);
    }
  });

  it('leaves the loaded pods as they were read', () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [...nodes, ...cases.flatMap(([, ps]) => ps).map(pod)],
    });
    const loaded = loadDocuments([{ path: 'c.json', text }]);
    const before = JSON.stringify(loaded.objects);
    buildModel(loaded.objects);
    expect(JSON.stringify(loaded.objects)).toBe(before);
    const again = buildModel(loaded.objects);
    expect(JSON.stringify([...again.model.pods])).toBe(
      JSON.stringify([...buildModel(loaded.objects).model.pods]),
    );
  });

  it('keeps the loaded pod itself when the model writes nothing into it', () => {
    const items = [
      ...nodes,
      {
        ...pod({ ns: 'a', name: 'dump', node: 'n1' }),
        status: { podIP: '10.244.0.5', podIPs: [{ ip: '10.244.0.5' }], hostIP: '192.168.1.10' },
      },
      pod({ ns: 'a', name: 'no-host-ip', node: 'n1', ip: '10.244.0.6' }),
      pod({ name: 'no-namespace', node: 'n1', ip: '10.244.0.7' }),
      pod({ ns: 'a', name: 'placed', ip: '10.244.1.8' }),
    ];
    const loaded = loadDocuments([
      { path: 'c.json', text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) },
    ]);
    const { model } = buildModel(loaded.objects);
    const given = (name: string) =>
      loaded.objects.find((l) => l.object.metadata.name === name)!.object;
    expect(model.pods.get('a/dump')).toBe(given('dump'));
    for (const [key, name] of [
      ['a/no-host-ip', 'no-host-ip'],
      ['default/no-namespace', 'no-namespace'],
      ['a/placed', 'placed'],
    ] as const) {
      const p = model.pods.get(key)!;
      expect(p).not.toBe(given(name));
      expect(p.spec.containers).toBe((given(name) as typeof p).spec.containers);
      expect(p.status.hostIP).toMatch(/^192\.168\.1\.1[01]$/);
    }
    expect(model.pods.get('a/placed')!.spec.nodeName).toBe('n2');
    expect((given('placed') as { spec: { nodeName?: string } }).spec.nodeName).toBeUndefined();
  });

  it('shares a complete status with the loaded pod, and completes one that is not', () => {
    const full = { podIP: '10.244.0.5', podIPs: [{ ip: '10.244.0.5' }], hostIP: '192.168.1.10' };
    const items = [
      ...nodes,
      { ...pod({ ns: 'a', name: 'full', node: 'n1' }), status: full },
      {
        ...pod({ ns: 'a', name: 'other-host', node: 'n1' }),
        status: {
          ...full,
          podIP: '10.244.0.6',
          podIPs: [{ ip: '10.244.0.6' }],
          hostIP: '192.168.1.99',
        },
      },
      pod({ ns: 'a', name: 'bare', node: 'n1', ip: '10.244.0.7' }),
    ];
    const loaded = loadDocuments([
      { path: 'c.json', text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) },
    ]);
    const { model } = buildModel(loaded.objects);
    expect(model.pods.get('a/full')!.status).toEqual(full);
    expect(model.pods.get('a/other-host')!.status.hostIP).toBe('192.168.1.10');
    expect(model.pods.get('a/bare')!.status).toEqual({
      podIP: '10.244.0.7',
      podIPs: [{ ip: '10.244.0.7' }],
      hostIP: '192.168.1.10',
    });
  });
});
