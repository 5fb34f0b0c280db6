/**
 * Decoding keeps one copy of what runs of objects repeat (a pod's labels
 * equal to the last pod's, key for key in the same order; its image; podIPs'
 * first address equal to podIP): the values are the input's, in its order,
 * whatever came before, and every invalid label is still reported on the
 * object that has it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath, loadDocuments } from '../load.js';
import { labelKeyProblem, labelValueProblem } from '../selector.js';
import type { Pod } from '../types.js';
import { sameRaw } from './core.js';

interface P {
  labels: readonly (readonly [string, string])[];
  image: string;
  podIPs: readonly string[];
}

const pod = (p: P, i: number) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `p${i}`, namespace: 'ns', labels: Object.fromEntries(p.labels) },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: p.image }] },
  status: { podIP: '10.0.0.1', podIPs: p.podIPs.map((ip) => ({ ip })) },
});

/** Loads pods as a kubectl JSON list, one item a line. */
function load(pods: object[]) {
  const text = `{"apiVersion":"v1","kind":"List","items":[\n${pods.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`;
  const r = loadDocuments([{ path: 'pods.json', text }]);
  return { pods: r.objects.map((o) => o.object as Pod), diagnostics: r.diagnostics };
}

const valid = ([k, v]: readonly [string, string]) =>
  labelKeyProblem(k) === undefined && labelValueProblem(v) === undefined;

describe('values repeated by a run of objects are read as the input has them', () => {
  it('equal labels, images and podIPs are one value; another order or value is its own', () => {
    const app = { app: 'web', tier: 'a' };
    const { pods, diagnostics } = load([
      pod({ labels: Object.entries(app), image: 'img:1', podIPs: ['10.0.0.1'] }, 0),
      pod({ labels: Object.entries(app), image: 'img:1', podIPs: ['10.0.0.1'] }, 1),
      pod({ labels: Object.entries(app), image: 'img:1', podIPs: ['10.0.0.1'] }, 2),
      pod(
        {
          labels: [
            ['tier', 'a'],
            ['app', 'web'],
          ],
          image: 'img:2',
          podIPs: [],
        },
        3,
      ),
      pod({ labels: [['app', 'web']], image: 'img:1', podIPs: [] }, 4),
      pod(
        {
          labels: [
            ['app', 'web'],
            ['tier', 'b'],
          ],
          image: 'img:1',
          podIPs: [],
        },
        5,
      ),
    ]);
    expect(diagnostics).toEqual([]);
    const labels = pods.map((p) => p.metadata.labels!);
    expect(labels[2]).toBe(labels[1]);
    expect(pods[2]!.spec.containers[0]!.image).toBe(pods[1]!.spec.containers[0]!.image);
    expect(pods[0]!.status!.podIPs![0]!.ip).toBe(pods[0]!.status!.podIP);
    expect(labels.map((l) => Object.entries(l))).toEqual([
      [
        ['app', 'web'],
        ['tier', 'a'],
      ],
      [
        ['app', 'web'],
        ['tier', 'a'],
      ],
      [
        ['app', 'web'],
        ['tier', 'a'],
      ],
      [
        ['tier', 'a'],
        ['app', 'web'],
      ],
      [['app', 'web']],
      [
        ['app', 'web'],
        ['tier', 'b'],
      ],
    ]);
  });

  it('on random runs: each pod has its own valid labels in order, and a warning per invalid one', () => {
    const key = fc.constantFrom('app', 'tier', 'x/y', 'Bad Key', 'k');
    const value = fc.constantFrom('web', 'db', '', 'not valid!', '-');
    // A few sets in both orders, so that runs meet their own permutations, and any set.
    const few = fc.constantFrom<[string, string][]>(
      [
        ['app', 'web'],
        ['tier', 'db'],
      ],
      [
        ['tier', 'db'],
        ['app', 'web'],
      ],
      [['app', 'web']],
      [
        ['app', 'web'],
        ['tier', 'db'],
        ['k', '-'],
      ],
    );
    const labels = fc.oneof(
      few,
      fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 4 }),
    );
    const p = fc.record({
      labels,
      image: fc.constantFrom('img:1', 'img:2'),
      podIPs: fc.constantFrom(['10.0.0.1'], [], ['10.0.0.1', '10.0.0.2']),
    });
    // Runs: a pod repeated a few times, as a Deployment's pods come in a dump.
    const runs = fc.array(fc.tuple(p, fc.integer({ min: 1, max: 3 })), { maxLength: 8 });
    fc.assert(
      fc.property(runs, (rs) => {
        const ps = rs.flatMap(([x, n]) => Array.from({ length: n }, () => x));
        const { pods, diagnostics } = load(ps.map(pod));
        expect(pods).toHaveLength(ps.length);
        ps.forEach((x, i) => {
          const want = x.labels.filter(valid);
          expect(Object.entries(pods[i]!.metadata.labels ?? {})).toEqual(want);
          expect(pods[i]!.spec.containers[0]!.image).toBe(x.image);
          expect(pods[i]!.status!.podIPs?.map((a) => a.ip)).toEqual(
            x.podIPs.length > 0 ? x.podIPs : undefined,
          );
          const own = diagnostics.filter(
            (d) => d.object === `Pod ns/p${i}` && d.code === 'k8s-invalid-label',
          );
          expect(own.map((d) => d.field)).toEqual(
            x.labels.filter((l) => !valid(l)).map(([k]) => formatPath(['metadata', 'labels', k])),
          );
        });
      }),
      { numRuns: 200 },
    );
  });

  it('a namespace that is not a DNS-1123 label is warned on every object in it, between valid ones', () => {
    const nsPod = (ns: string, name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: { containers: [{ name: 'c' }] },
    });
    const { diagnostics } = load([
      nsPod('ok', 'a'),
      nsPod('ok', 'b'),
      nsPod('Bad_NS', 'c'),
      nsPod('Bad_NS', 'd'),
      nsPod('ok', 'e'),
      nsPod('Bad_NS', 'f'),
    ]);
    expect(diagnostics.map((d) => [d.code, d.object])).toEqual([
      ['k8s-invalid-name', 'Pod Bad_NS/c'],
      ['k8s-invalid-name', 'Pod Bad_NS/d'],
      ['k8s-invalid-name', 'Pod Bad_NS/f'],
    ]);
  });
});

describe("a pod's containers and conditions equal to the last pod's are that same list", () => {
  const port = (containerPort: number, name?: string, extra: object = {}) => ({
    containerPort,
    ...(name !== undefined ? { name } : {}),
    ...extra,
  });
  const web = [{ name: 'app', image: 'img:1', ports: [port(8080, 'http'), port(9090, 'metrics')] }];
  const ready = [{ type: 'Ready', status: 'True' }];
  const p = (i: number, containers: object[], conditions: object[] = ready) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'ns' },
    spec: { containers },
    status: { podIP: `10.0.0.${i + 1}`, conditions },
  });
  /** Each row: the pod's containers and conditions, and whether they are the last pod's (containers, conditions). */
  const rows: [string, object[], object[], boolean, boolean][] = [
    ['the first pod', web, ready, false, false],
    ['equal', structuredClone(web), structuredClone(ready), true, true],
    ['another image', [{ ...web[0], image: 'img:2' }], ready, false, true],
    ['back to the first image', web, [{ type: 'Ready', status: 'False' }], false, false],
    [
      'a port with another protocol',
      [{ ...web[0], ports: [port(8080, 'http', { protocol: 'UDP' }), port(9090, 'metrics')] }],
      [{ type: 'Ready', status: 'False' }],
      false,
      true,
    ],
    [
      'a port with a hostPort',
      [{ ...web[0], ports: [port(8080, 'http', { hostPort: 80 }), port(9090, 'metrics')] }],
      ready,
      false,
      false,
    ],
    [
      'a port without its name',
      [{ ...web[0], ports: [port(8080), port(9090, 'metrics')] }],
      ready,
      false,
      true,
    ],
    [
      'one port fewer',
      [{ ...web[0], ports: [port(8080)] }],
      [...ready, { type: 'PodScheduled', status: 'True' }],
      false,
      false,
    ],
    [
      'a second container',
      [...web, { name: 'side', image: 'img:1' }],
      [...ready, { type: 'PodScheduled', status: 'True' }],
      false,
      true,
    ],
    ['a second container again', [...web, { name: 'side', image: 'img:1' }], ready, true, false],
    ['another name', [{ ...web[0], name: 'other' }], ready, false, true],
  ];

  it.each(rows.map((r, i) => [i, ...r] as const))(
    'pod %i, %s',
    (i, _what, _c, _s, sameContainers, sameConditions) => {
      const { pods, diagnostics } = load(rows.map(([, c, s], j) => p(j, c, s)));
      expect(diagnostics).toEqual([]);
      const alone = load([p(i, rows[i]![1], rows[i]![2])]).pods[0]!;
      // The values are the pod's own, as read alone.
      expect(pods[i]!.spec.containers).toEqual(alone.spec.containers);
      expect(JSON.stringify(pods[i])).toBe(JSON.stringify(alone));
      if (i === 0) return;
      expect(pods[i]!.spec.containers === pods[i - 1]!.spec.containers).toBe(sameContainers);
      expect(pods[i]!.status!.conditions === pods[i - 1]!.status!.conditions).toBe(sameConditions);
    },
  );
});

describe("a pod's hostIP, read through the memo of valid host addresses", () => {
  const p = (i: number, hostIP: unknown) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `h${i}`, namespace: 'ns' },
    spec: { containers: [{ name: 'c' }] },
    status: { hostIP },
  });

  it("is each pod's own value, apart or not; an invalid one is reported on each pod", () => {
    const { pods, diagnostics } = load([
      p(0, '192.168.0.10'),
      p(1, '192.168.0.11'),
      p(2, '192.168.0.10'),
      p(3, 'not-an-ip'),
      p(4, 'not-an-ip'),
      p(5, '192.168.0.11'),
    ]);
    const hosts = pods.map((x) => x.status?.hostIP);
    expect(hosts).toEqual([
      '192.168.0.10',
      '192.168.0.11',
      '192.168.0.10',
      undefined,
      undefined,
      '192.168.0.11',
    ]);
    expect(diagnostics.map((d) => [d.code, d.object, d.field])).toEqual([
      ['k8s-invalid-ip', 'Pod ns/h3', 'status.hostIP'],
      ['k8s-invalid-ip', 'Pod ns/h4', 'status.hostIP'],
    ]);
  });
});

describe('a pod list equal to the last pod’s as written', () => {
  const p = (
    i: number,
    containers: unknown,
    conditions: unknown = [{ type: 'Ready', status: 'True' }],
  ) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `w${i}`, namespace: 'ns' },
    spec: { containers },
    status: { conditions },
  });
  const bad = [{ name: 'c', ports: [{ containerPort: 80, name: 'Not_Valid' }] }];
  const twice = [{ name: 'c' }, { name: 'c' }];

  it.each([
    ['an invalid port name', bad, [], 'k8s-invalid-port'],
    ['a container name used twice', twice, [], 'k8s-duplicate'],
    [
      'an invalid condition status',
      [{ name: 'c' }],
      [{ type: 'Ready', status: 'Yes' }],
      'k8s-invalid-value',
    ],
  ])('with %s, is reported on every pod that has it', (_what, containers, conditions, code) => {
    const { pods, diagnostics } = load([0, 1, 2].map((i) => p(i, containers, conditions)));
    expect(pods).toHaveLength(3);
    expect(diagnostics.filter((d) => d.code === code).map((d) => d.object)).toEqual([
      'Pod ns/w0',
      'Pod ns/w1',
      'Pod ns/w2',
    ]);
    const alone = load([p(0, containers, conditions)]).pods[0]!;
    for (const x of pods) expect(x.spec.containers).toEqual(alone.spec.containers);
  });

  it('with its fields in another order, or a field more, is read as its own', () => {
    const { pods, diagnostics } = load([
      p(0, [{ name: 'c', image: 'i', ports: [{ containerPort: 80, name: 'http' }] }]),
      p(1, [{ image: 'i', ports: [{ name: 'http', containerPort: 80 }], name: 'c' }]),
      p(2, [
        { image: 'i', ports: [{ name: 'http', containerPort: 80, protocol: 'UDP' }], name: 'c' },
      ]),
      p(3, [{ image: 'i', ports: [{ name: 'http', containerPort: 80 }], name: 'c' }]),
    ]);
    expect(diagnostics).toEqual([]);
    expect(pods.map((x) => x.spec.containers[0]!.ports![0]!.protocol)).toEqual([
      undefined,
      undefined,
      'UDP',
      undefined,
    ]);
    expect(pods[1]!.spec.containers).toBe(pods[0]!.spec.containers);
    expect(pods[3]!.spec.containers).toEqual(pods[0]!.spec.containers);
  });
});

describe('sameRaw: equality of values as read from JSON or YAML', () => {
  const bare = Object.create(null) as Record<string, unknown>;
  bare.a = 1;
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal scalars', 'a', 'a', true],
    ['different scalars', 1, 2, false],
    ['null and a mapping', null, {}, false],
    ['equal lists', [1, { a: 'x' }], [1, { a: 'x' }], true],
    ['lists of other lengths', [1], [1, 2], false],
    ['a list and a mapping', [], {}, false],
    ['equal mappings', { a: 1, b: [2] }, { a: 1, b: [2] }, true],
    ['a key more', { a: 1 }, { a: 1, b: 2 }, false],
    ['a null-prototype mapping and a plain one', bare, { a: 1 }, true],
    ['two empty mappings', {}, {}, true],
    ['two different Dates', new Date(0), new Date(1000), false],
    ['two equal Dates (not the same object)', new Date(0), new Date(0), false],
    ['a Date and an empty mapping', new Date(0), {}, false],
    ['an empty mapping and a Date', {}, new Date(0), false],
    ['mappings holding different Dates', { t: new Date(0) }, { t: new Date(1) }, false],
  ];
  it.each(cases)('%s', (_name, a, b, want) => {
    expect(sameRaw(a, b)).toBe(want);
  });
  it('the same Date object is itself', () => {
    const d = new Date(0);
    expect(sameRaw(d, d)).toBe(true);
  });
});
