import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { readReach } from '../render/testing/reach.js';
import { expectDocument } from '../render/testing/schema.js';

const fixtures = join(import.meta.dirname, '../../test/fixtures/netpol');

interface Corpus {
  objects: string;
  expected: {
    port: { protocol: string; port: number };
    allowed: Record<string, Record<string, boolean | null>>;
  }[];
}

async function run(args: string[], files: Record<string, string>) {
  const io = memoryIo(files);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

const SMALL = `
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: y}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: not-80, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - ports: [{port: 1, endPort: 79}, {port: 81, endPort: 65535}, {protocol: UDP, port: 53}]
`;

describe('packeteye reach -o json --port (corpus through the CLI)', () => {
  for (const f of [
    'e2e_egress_cidr_except.json',
    'e2e_ingress_one_named_port.json',
    'e2e_sctp_ports.json',
    'e2e_udp_only_policy_blocks_tcp.json',
    'e2e_multiple_podselectors_and_nsselectors.json',
  ]) {
    it(f, async () => {
      const c = JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as Corpus;
      for (const exp of c.expected) {
        const r = await run(
          [
            'reach',
            '-f',
            'cluster.yaml',
            '-o',
            'json',
            '--port',
            `${exp.port.protocol}/${exp.port.port}`,
          ],
          { 'cluster.yaml': c.objects },
        );
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        const got = readReach(r.out);
        expect(got.doc.port).toEqual(exp.port);
        expect([...got.pods].sort()).toEqual(Object.keys(exp.allowed).sort());
        for (const [from, row] of Object.entries(exp.allowed)) {
          for (const [to, want] of Object.entries(row)) {
            if (want !== null)
              expect(`${from} -> ${to}: ${got.allows(from, to)}`).toBe(`${from} -> ${to}: ${want}`);
          }
        }
      }
    });
  }
});

describe('packeteye reach with AdminNetworkPolicy (through the loader)', () => {
  it('applies the baseline gress rules of the conformance suite', async () => {
    const dir = join(import.meta.dirname, '../../test/fixtures/anp');
    const files = {
      'base.yaml': readFileSync(join(dir, 'base.yaml'), 'utf8'),
      'banp.yaml': readFileSync(join(dir, 'banp-gress-rules.yaml'), 'utf8'),
    };
    const r = await run(['reach', '-f', 'base.yaml', 'banp.yaml', '-o', 'json'], files);
    expect(r.err).toBe('');
    const got = readReach(r.out);
    expect(got.pods).toHaveLength(10);
    const g = 'network-policy-conformance-gryffindor/harry-potter-0';
    expect(got.text(g, 'network-policy-conformance-hufflepuff/cedric-diggory-1')).toEqual({
      TCP: '8080',
      UDP: '5353',
      SCTP: '9003',
    });
    expect(got.text(g, 'network-policy-conformance-ravenclaw/luna-lovegood-0')).toEqual({
      TCP: '1-65535',
      UDP: '1-65535',
      SCTP: '1-65535',
    });
    expect(got.text('network-policy-conformance-slytherin/draco-malfoy-0', g)).toEqual({
      TCP: '1-79,81-65535',
      UDP: '1-52,54-65535',
      SCTP: '1-9002,9004-65535',
    });
    const ex = await run(
      [
        'reach',
        '-f',
        'base.yaml',
        'banp.yaml',
        '--explain',
        g,
        'network-policy-conformance-hogwarts-staff/professor-quirrell-0',
        '--port',
        'TCP/8080',
      ],
      files,
    );
    expect(ex.out).toContain('TCP/8080 DENIED');
    expect(ex.out).toContain(
      'BaselineAdminNetworkPolicy default rule "deny-to-quirrell-at-tcp-udp-sctp" (spec.egress[6]): Deny TCP 8080; UDP 5353; SCTP 9003',
    );
  });
});

describe('packeteye reach', () => {
  it('writes the full matrix as per-protocol port ranges', async () => {
    const r = await run(['reach', '-f', 's.yaml', '-o', 'json'], { 's.yaml': SMALL });
    expect(r.code).toBe(0);
    const got = readReach(r.out);
    expect(got.doc.grouping).toBe('pods');
    expect(got.pods).toEqual(['x/a', 'x/b', 'y/c']);
    expect(got.cell('x/a', 'x/b')).toEqual({
      TCP: [
        [1, 79],
        [81, 65535],
      ],
      UDP: [[53, 53]],
    });
    expect(got.text('x/b', 'x/a')).toEqual({ TCP: '1-65535', UDP: '1-65535', SCTP: '1-65535' });
    expect(got.externals).toEqual([]); // no ipBlocks, no external ranges
  });

  it('adds the external ranges ipBlocks carve out, as groups of their own', async () => {
    const c = JSON.parse(
      readFileSync(join(fixtures, 'e2e_egress_cidr_except.json'), 'utf8'),
    ) as Corpus;
    const r = await run(['reach', '-f', 'c.yaml', '-o', 'json', '--port', 'TCP/80'], {
      'c.yaml': c.objects,
    });
    const got = readReach(r.out);
    expect(got.pods).toEqual(['x/a', 'x/b', 'x/c']);
    expect(
      got.doc.groups
        .filter((g) => g.kind === 'external')
        .map((g) => ({ members: g.members, cidr: g.cidr, except: g.except })),
    ).toEqual([
      { members: ['0.0.0.0/4'], cidr: '0.0.0.0/4', except: ['10.0.1.2/32'] },
      { members: ['0.0.0.0/0'], cidr: '0.0.0.0/0', except: ['0.0.0.0/4'] },
    ]);
    expect(got.allows('x/a', '0.0.0.0/4')).toBe(true);
    expect(got.allows('x/a', '0.0.0.0/0')).toBe(false);
    for (const p of ['x/a', 'x/b', 'x/c']) expect(got.allows('0.0.0.0/0', p)).toBe(true);
    const ex = await run(['reach', '-f', 'c.yaml', '--explain', 'x/a', '0.0.0.0/0'], {
      'c.yaml': c.objects,
    });
    expect(ex.out.split('\n')[0]).toBe(
      'x/a (10.0.1.1) -> 0.0.0.0/0 (except 0.0.0.0/4): allowed: none',
    );
    const none = await run(['reach', '-f', 'c.yaml', '-o', 'json', '--no-externals'], {
      'c.yaml': c.objects,
    });
    expect(readReach(none.out).externals).toEqual([]);
  });

  it('-o html: a standalone page of the groups and the matrix', async () => {
    const r = await run(['reach', '-f', 's.yaml', '-o', 'html', '--port', 'TCP/80'], {
      's.yaml': SMALL,
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^<!DOCTYPE html>/);
    expect(r.out).toContain('script-src &#39;none&#39;');
    // x/a and y/c: no policy tells them apart.
    expect(r.out.match(/<tr><th scope="row">/g)).toHaveLength(2);
    expect(r.out).toContain('<code>x/b</code>');
  });

  it('restricts rows and columns with -n', async () => {
    const r = await run(['reach', '-f', 's.yaml', '-o', 'json', '--port', 'TCP/80', '-n', 'x'], {
      's.yaml': SMALL,
    });
    const got = readReach(r.out);
    expect(got.pods).toEqual(['x/a', 'x/b']);
    expect(got.doc.namespace).toBe('x');
    expect(got.doc.portSets).toEqual([{ TCP: [[80, 80]] }, {}]);
    expect(got.doc.allowed).toEqual([
      [0, 1],
      // A pod always reaches itself: its own address never leaves its network namespace.
      [0, 0],
    ]);
  });

  it('renders aligned tables, csv and markdown', async () => {
    const t = await run(['reach', '-f', 's.yaml', '--port', 'tcp/80'], { 's.yaml': SMALL });
    expect(t.out).toBe(
      [
        'TCP/80 from\\to  x/a  x/b  y/c',
        'x/a             ✓    ✗    ✓',
        'x/b             ✓    ✓    ✓',
        'y/c             ✓    ✗    ✓',
        '',
      ].join('\n'),
    );
    const full = await run(['reach', '-f', 's.yaml'], { 's.yaml': SMALL });
    expect(full.out.split('\n')[1]).toBe('x/a      all  TCP 1-79,81-65535; UDP 53  all');
    const csv = await run(['reach', '-f', 's.yaml', '-o', 'csv'], { 's.yaml': SMALL });
    expect(csv.out.split('\n')[1]).toBe('x/a,all,"TCP 1-79,81-65535; UDP 53",all');
    const md = await run(['reach', '-f', 's.yaml', '-o', 'md', '--port', 'UDP/53'], {
      's.yaml': SMALL,
    });
    expect(md.out.split('\n').slice(0, 3)).toEqual([
      '| UDP/53 from\\to | x/a | x/b | y/c |',
      '| --- | --- | --- | --- |',
      '| x/a | ✓ | ✓ | ✓ |',
    ]);
  });

  it('explains one pair', async () => {
    const r = await run(['reach', '-f', 's.yaml', '--explain', 'x/a', 'x/b', '--port', 'TCP/80'], {
      's.yaml': SMALL,
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain('x/a (10.0.0.1) -> x/b (10.0.0.2): TCP/80 DENIED');
    expect(r.out).toContain('isolated for ingress by NetworkPolicy x/not-80');
    expect(r.out).toContain(
      'NetworkPolicy x/not-80 spec.ingress[0]: its ports are TCP 1-79,81-65535; UDP 53',
    );
    const j = await run(['reach', '-f', 's.yaml', '--explain', '10.0.1.1', 'x/b', '-o', 'json'], {
      's.yaml': SMALL,
    });
    const got = expectDocument<{
      from: string;
      allowed: unknown;
      ingress: { isolatedBy: string[] };
    }>(j.out, 'ReachabilityExplanation');
    expect(got.from).toBe('y/c');
    expect(got.allowed).toEqual({
      TCP: [
        [1, 79],
        [81, 65535],
      ],
      UDP: [[53, 53]],
    });
    expect(got.ingress.isolatedBy).toEqual(['NetworkPolicy x/not-80']);
  });

  it.each([
    [['--port', 'TCP/0'], 'is not PROTOCOL/PORT'],
    [['--port', 'ICMP/8'], 'is not PROTOCOL/PORT'],
    [['--port', '80'], 'is not PROTOCOL/PORT'],
    [['--explain', 'q/a', 'x/b'], 'unknown namespace "q"'],
    [['--explain', 'x/zz', 'x/b'], 'no pod x/zz'],
    [['--explain', 'x/a'], 'two endpoints'],
    [['-n', 'nope'], 'no namespace "nope"'],
    [['-o', 'xml'], 'is not one of table, wide, json, yaml, csv, md'],
  ])('rejects bad input %j with exit 2', async (args, message) => {
    const r = await run(['reach', '-f', 's.yaml', ...args], { 's.yaml': SMALL });
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.out).toBe('');
  });

  it('reports invalid policies with file and document, exit 2', async () => {
    const bad = SMALL.replace('{protocol: UDP, port: 53}', '{protocol: udp, port: 53}');
    const r = await run(['reach', '-f', 's.yaml'], { 's.yaml': bad });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^s\.yaml:\d+: document 5: NetworkPolicy x\/not-80: field spec\.ingress\[0\]\.ports\[2\]\.protocol: error: .*udp/,
    );
    expect(r.out).toBe('');
  });

  it('warns when the network plugin enforces no policy', async () => {
    const cluster =
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {cni: {plugin: flannel}}\n---\n';
    const r = await run(['reach', '-f', 's.yaml', '--port', 'TCP/80'], {
      's.yaml': cluster + SMALL,
    });
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: flannel does not implement NetworkPolicy');
    expect(r.err).toContain('[policy-not-enforced]');
    const calico = await run(['reach', '-f', 's.yaml'], {
      's.yaml': cluster.replace('flannel', 'calico') + SMALL,
    });
    expect(calico.err).toBe('');
  });

  it('reports a missing file', async () => {
    const r = await run(['reach', '-f', 'nope.yaml'], {});
    expect(r.code).toBe(2);
    expect(r.err).toContain('nope.yaml');
  });
});

describe('packeteye reach on a manifest repository (workloads, no pods)', () => {
  const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres, ports: [{containerPort: 5432, name: pg}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: pg}]}]
`;

  it('stands one pod from its template for each workload, named NAME[Kind], and says so', async () => {
    const r = await run(['reach', '-f', 'm.yaml', '-o', 'json'], { 'm.yaml': MANIFESTS });
    expect(r.code).toBe(0);
    expect(r.err).toContain('2 workloads without pods in the input');
    const m = readReach(r.out);
    expect(m.pods).toEqual(['shop/db[StatefulSet]', 'shop/web[Deployment]']);
    // The named port resolves on the template's container.
    expect(m.text('shop/web[Deployment]', 'shop/db[StatefulSet]')).toEqual({ TCP: '5432' });
    expect(m.text('shop/db[StatefulSet]', 'shop/web[Deployment]')).toMatchObject({
      TCP: '1-65535',
    });
  });

  it('trace and rules stand in the same pods, placed on a node, and trace between them', async () => {
    const r = await run(
      [
        'trace',
        '-f',
        'm.yaml',
        '--from',
        'shop/web[Deployment]',
        '--to',
        'shop/db[StatefulSet]:5432',
        '-o',
        'json',
      ],
      { 'm.yaml': MANIFESTS },
    );
    expect(r.err).toContain('2 workloads without pods in the input');
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out) as { request: { disposition: string } };
    expect(t.request.disposition).toBe('delivered');
    const rules = await run(['rules', '-f', 'm.yaml', '--node', 'node-1', '--only', 'defaults'], {
      'm.yaml': MANIFESTS,
    });
    expect(rules.code).toBe(0);
    expect(rules.out).toContain('stand-in for Deployment shop/web');
  });
});

describe('reach with hostNetwork pods', () => {
  const HOST = `${SMALL}---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: x, labels: {app: a}}
spec: {hostNetwork: true, nodeName: n1, containers: [{name: c}]}
status: {podIP: 192.168.1.10}
`;
  it('marks them in the table, wide and JSON views', async () => {
    const t = await run(['reach', '-f', 'h.yaml', '--port', 'tcp/80'], { 'h.yaml': HOST });
    expect(t.code).toBe(0);
    expect(t.out.split('\n')[0]).toContain('x/agent (hostNetwork)');
    expect(t.out).toMatch(/^x\/agent \(hostNetwork\) /m);
    const wide = await run(['reach', '-f', 'h.yaml', '-o', 'wide'], { 'h.yaml': HOST });
    expect(wide.out).toMatch(/^x\/agent \(hostNetwork\) +192\.168\.1\.10 /m);
    const j = await run(['reach', '-f', 'h.yaml', '-o', 'json'], { 'h.yaml': HOST });
    const doc = readReach(j.out);
    expect(doc.pods).toContain('x/agent');
    expect(doc.hostNetwork).toEqual(['x/agent']);
  });
});
