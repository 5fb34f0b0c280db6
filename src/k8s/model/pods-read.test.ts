/**
 * The model reads what its passes over every pod need in one pass in the
 * input's order, and reads a pod again only when there is something to say
 * about it (`pods.ts` readPods). Checked two ways on random clusters: a pod
 * whose status is complete (kept as loaded, not read again) gives the same
 * model and diagnostics as the same pod without `podIPs` (always read
 * again, and completed); and the pods in any input order give the same
 * model, indexes, derived EndpointSlices and diagnostics.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../diag.js';
import { loadDocuments, STAND_IN_ANNOTATION } from '../load.js';
import { buildModel } from '../model.js';
import type { ClusterModel } from './types.js';

const NODES = ['n1', 'n2'].map((name, i) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: `10.244.${i}.0/24` },
  status: { addresses: [{ type: 'InternalIP', address: `192.168.1.${10 + i}` }] },
}));

const SERVICES = ['a', 'b'].flatMap((ns) =>
  ['web', 'db'].map((app) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app, namespace: ns },
    spec: { selector: { app }, ports: [{ port: 80, targetPort: 'http' }] },
  })),
);

interface P {
  ns: string;
  name: string;
  node: string | undefined;
  ip: string | undefined;
  hostIP: string | undefined;
  hostNetwork: boolean;
  hostPort: number | undefined;
  phase: string | undefined;
  app: string | undefined;
  standIn: boolean;
}

/** Mostly pods a dump has (on their node, in its podCIDR, its hostIP), a few shared addresses, and every oddity. */
const arbPod: fc.Arbitrary<P> = fc
  .record({
    ns: fc.constantFrom('a', 'b', 'a-b'),
    name: fc.stringMatching(/^[a-c][a-c0-9-]{0,3}$/),
    node: fc.constantFrom('n1', 'n1', 'n2', 'n2', 'n3', undefined),
    // In the node's podCIDR (host part), else another's, else not a pod address.
    ip: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(2, 3, 4, 5).map((h) => ({ own: h })) },
      { weight: 1, arbitrary: fc.constantFrom(0, 1, 255).map((h) => ({ own: h })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '10.244.2.3',
          '10.244.0.3',
          '192.168.1.10',
          '010.244.0.3',
          'fd00::1',
          undefined,
        ),
      },
    ),
    hostIP: fc.constantFrom('node', 'node', 'node', '192.168.1.99', undefined),
    hostNetwork: fc.nat(7).map((x) => x === 0),
    hostPort: fc.option(fc.constantFrom(8080, 8081), { nil: undefined, freq: 4 }),
    phase: fc.constantFrom('Running', 'Running', 'Running', 'Pending', 'Succeeded', undefined),
    app: fc.constantFrom('web', 'db', undefined),
    standIn: fc.nat(9).map((x) => x === 0),
  })
  .map((r) => {
    const n = r.node === 'n2' ? 1 : 0;
    return {
      ...r,
      ip: typeof r.ip === 'object' ? `10.244.${n}.${r.ip.own}` : r.ip,
      hostIP: r.hostIP === 'node' ? `192.168.1.${10 + n}` : r.hostIP,
    };
  });

function podOf(p: P, podIPs: boolean): object {
  const status: Record<string, unknown> = {};
  if (p.phase !== undefined) status.phase = p.phase;
  if (p.hostIP !== undefined) status.hostIP = p.hostIP;
  if (p.ip !== undefined) {
    status.podIP = p.ip;
    // A hostNetwork pod's given podIPs are kept whatever its podIP becomes (its node's).
    if (podIPs || p.hostNetwork) status.podIPs = [{ ip: p.ip }];
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.ns,
      ...(p.app !== undefined ? { labels: { app: p.app } } : {}),
      ...(p.standIn ? { annotations: { [STAND_IN_ANNOTATION]: 'Deployment a/x' } } : {}),
    },
    spec: {
      ...(p.node !== undefined ? { nodeName: p.node } : {}),
      ...(p.hostNetwork ? { hostNetwork: true } : {}),
      containers: [
        {
          name: 'c',
          ports: [
            { name: 'http', containerPort: 8080, ...(p.hostPort ? { hostPort: p.hostPort } : {}) },
          ],
        },
      ],
    },
    ...(Object.keys(status).length > 0 ? { status } : {}),
  };
}

/** The model and diagnostics as data, without where in the input each object was. */
function reading(pods: object[]): { model: unknown; diagnostics: unknown } {
  const text = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [...NODES, ...SERVICES, ...pods],
  });
  const loaded = loadDocuments([{ path: 'c.json', text }]);
  const { model, diagnostics } = buildModel(loaded.objects);
  const m: ClusterModel = model;
  const names = (l: readonly { metadata: { namespace?: string; name: string } }[]) =>
    l.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  return {
    model: {
      pods: JSON.parse(JSON.stringify([...m.pods])) as unknown,
      podsByIP: [...m.podsByIP].map(([ip, p]) => [ip, names([p])]),
      podsByNode: [...m.podsByNode].map(([n, l]) => [n, names(l)]),
      podsSharingIP: [...m.podsSharingIP].map(([ip, l]) => [ip, names(l)]),
      slices: JSON.parse(JSON.stringify(m.endpointSlices)) as unknown,
      slicesByService: [...m.slicesByService].map(([k, l]) => [k, l.map((s) => s.metadata.name)]),
      namespaces: [...m.namespaces.keys()],
      defaults: m.defaults,
    },
    diagnostics: diagnostics.map(({ line: _l, document: _d, ...d }: Diagnostic) => d),
  };
}

/** Pods with distinct names (of two with one name, the model keeps the later in the input). */
const arbPods = fc.uniqueArray(arbPod, { selector: (p) => `${p.ns}/${p.name}`, maxLength: 24 });

describe('buildModel reads each pod once, in the input order', () => {
  it('a complete status kept as loaded says what the completed one says', () => {
    fc.assert(
      fc.property(arbPods, (ps) => {
        expect(reading(ps.map((p) => podOf(p, true)))).toEqual(
          reading(ps.map((p) => podOf(p, false))),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('gives one model whatever order the pods come in', () => {
    fc.assert(
      fc.property(
        arbPods.chain((ps) =>
          fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length })),
        ),
        ([ps, shuffled]) => {
          expect(reading(shuffled.map((p) => podOf(p, true)))).toEqual(
            reading(ps.map((p) => podOf(p, true))),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
