import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel, nsName } from '../k8s/model.js';
import { withTouchedDefaults } from '../render/trace.js';
import { traceConnection } from '../trace/connection.js';
import { planTwin } from '../twin/index.js';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { expectDocument } from '../render/testing/schema.js';

const FILES: Record<string, string> = {
  'examples/same-node.yaml': readFileSync('examples/same-node.yaml', 'utf8'),
  'examples/two-nodes.yaml': readFileSync('examples/two-nodes.yaml', 'utf8'),
  'bad.yaml':
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: nowhere, containers: [{name: c, ports: [{containerPort: http}]}]}\n',
};

async function cli(...args: string[]) {
  const io = memoryIo(FILES);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('packeteye trace', () => {
  it.each([
    [
      'text',
      [],
      (out: string) =>
        expect(out).toMatch(/dst 10\.96\.0\.11:80 → 10\.244\.4\.40:80 \(DNAT, KUBE-SEP-/),
    ],
    [
      'json',
      ['-o', 'json'],
      (out: string) => expect(expectDocument(out, 'Trace').reply.received.src).toBe('10.96.0.11'),
    ],
    [
      'mermaid',
      ['-o', 'mermaid'],
      (out: string) => expect(out.startsWith('sequenceDiagram\n')).toBe(true),
    ],
    ['verbose', ['-v'], (out: string) => expect(out).toMatch(/^ {2}\d{4}: hook$/m)],
  ])('-o %s', async (_name, extra, check) => {
    const r = await cli(
      'trace',
      '-f',
      'examples/same-node.yaml',
      '--from',
      'default/pod-a',
      '--to',
      'svc/default/web:80',
      ...extra,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    check(r.out);
  });

  it.each([
    [
      ['--from', 'default/pod-x', '--to', 'svc/default/web:80'],
      /--from default\/pod-x: no such Pod[\s\S]*did you mean default\/pod-a/,
    ],
    [
      ['--from', 'default/pod-a', '--to', 'svc/default/wbe:80'],
      /no such Service[\s\S]*svc\/default\/web:80/,
    ],
    [['--from', 'default/pod-a', '--to', 'svc/default/web:81'], /has no port 81; it has 80\/TCP/],
    [
      ['--from', 'default/pod-a', '--to', 'default/pod-b', '--proto', 'sctp'],
      /--proto "sctp" is not one of/,
    ],
    [
      ['--from', 'default/pod-a', '--to', 'default/pod-b:80', '-o', 'xml'],
      /-o "xml" is not one of/,
    ],
    [
      ['--from', 'svc/default/web:80', '--to', 'default/pod-b:80'],
      /a Service does not send packets/,
    ],
    [
      ['--from', 'default/pod-a', '--to', 'default/pod-b:80', '--sport', '70000'],
      /--sport "70000": not an integer/,
    ],
  ])('bad input %j → exit 2', async (args, message) => {
    const r = await cli('trace', '-f', 'examples/same-node.yaml', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('a cluster file with an error → exit 2 naming the object', async () => {
    const r = await cli('trace', '-f', 'bad.yaml', '--from', 'default/p', '--to', '1.2.3.4:80');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.yaml/);
  });

  it('--sport and --seed are honoured', async () => {
    const r = await cli(
      'trace',
      '-f',
      'examples/same-node.yaml',
      '--from',
      'default/pod-a',
      '--to',
      'default/pod-b:80',
      '--sport',
      '40001',
      '-o',
      'json',
    );
    expect(expectDocument(r.out, 'Trace').request.received.sport).toBe(40001);
  });

  it('container-to-container over localhost stays in the pod namespace', async () => {
    const r = await cli(
      'trace',
      '-f',
      'examples/same-node.yaml',
      '--from',
      'default/pod-b',
      '--to',
      '127.0.0.1:80',
      '-o',
      'json',
    );
    const t = expectDocument(r.out, 'Trace');
    expect(t.request.disposition).toBe('delivered');
    expect(t.request.at).toBe('default/pod-b');
    expect(new Set(t.request.hops.map((h: { host: string }) => h.host))).toEqual(
      new Set(['default/pod-b']),
    );
  });
});

describe('packeteye trace --defaults touched', () => {
  const args = [
    'trace',
    '-f',
    'examples/two-nodes.yaml',
    '--from',
    'frontend',
    '--to',
    'svc/store-be:80',
  ];
  it('keeps the defaults about what the connection touched and counts the others', async () => {
    const all = await cli(...args, '-o', 'json');
    const touched = await cli(...args, '-o', 'json', '--defaults', 'touched');
    expect([all.code, touched.code]).toEqual([0, 0]);
    const a = expectDocument(all.out, 'Trace');
    const t = expectDocument(touched.out, 'Trace');
    const svc = (o: string) => o.startsWith('Service ') || o.startsWith('EndpointSlice ');
    // Two-nodes has Services the connection does not touch: their defaults go, counted.
    expect(a.defaults.filter((d: { object: string }) => svc(d.object)).length).toBeGreaterThan(
      t.defaults.filter((d: { object: string }) => svc(d.object)).length,
    );
    expect(t.defaultsOmitted).toBe(a.defaults.length - t.defaults.length);
    expect(t.defaults).toEqual(
      a.defaults.filter((d: unknown) =>
        (t.defaults as unknown[]).some((x) => JSON.stringify(x) === JSON.stringify(d)),
      ),
    );
    const { defaults: _a, ...restA } = a;
    const { defaults: _t, defaultsOmitted: _o, ...restT } = t;
    expect(restT).toEqual(restA);
    // The text shows the touched ones either way, and the same count of the others.
    expect((await cli(...args, '--defaults', 'touched')).out).toBe((await cli(...args)).out);
  });

  it.each(
    readdirSync('examples')
      .filter((f) => f.endsWith('.yaml') && !f.startsWith('contiv-vpp'))
      .map((f) => `examples/${f}`),
  )('%s: the model defaults looked up by name keep what reading each keeps', (path) => {
    const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
    const m = buildModel(loaded.objects, loaded.evidence).model;
    const plan = planTwin(m);
    const pods = [...m.pods.values()].filter((p) => p.status.podIP).slice(0, 3);
    for (const p of pods)
      for (const svc of [...m.services.values()].filter((x) => x.spec.ports[0]).slice(0, 3)) {
        const t = traceConnection(plan, {
          from: nsName(p),
          to: `svc/${nsName(svc)}:${svc.spec.ports[0]!.port}`,
          ...(svc.spec.ports[0]!.protocol === 'UDP' ? { proto: 'udp' as const } : {}),
        });
        // The trace's defaults begin with the model's, the same objects: the index serves.
        expect(t.defaults.slice(0, m.defaults.length)).toEqual(m.defaults);
        const want = withTouchedDefaults(t);
        expect(withTouchedDefaults(t, m.defaults)).toEqual(want);
        // A list the trace does not begin with is read default by default.
        expect(withTouchedDefaults(t, [...m.defaults].reverse())).toEqual(want);
      }
  });

  it('refuses another value', async () => {
    const r = await cli(...args, '--defaults', 'some');
    expect(r.code).toBe(2);
    expect(r.err).toContain('[bad-defaults]');
  });
});

describe('packeteye rules', () => {
  it("prints the node kernel in the real tools' formats", async () => {
    const r = await cli('rules', '-f', 'examples/same-node.yaml', '--node', 'node-a');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# iptables-save \(node-a\)\n\*filter/m);
    expect(r.out).toMatch(/-A KUBE-SERVICES .*-d 10\.96\.0\.11\/32/);
    expect(r.out).toMatch(/^default via 192\.168\.1\.1 dev eth0/m);
    expect(r.out).toMatch(/^10\.244\.4\.0\/24 dev cni0 proto kernel scope link src 10\.244\.4\.1/m);
    expect(r.out).toMatch(/veth[0-9a-f]{8}@if2: .* master cni0/);
  });

  it('--after-trace shows the conntrack entry and the learned neighbours', async () => {
    const r = await cli(
      'rules',
      '-f',
      'examples/same-node.yaml',
      '--node',
      'node-a',
      '--after-trace',
      '--from',
      'default/pod-a',
      '--to',
      'svc/default/web:80',
      '--only',
      'conntrack',
    );
    expect(r.out).toMatch(
      /^tcp +6 .*src=10\.244\.4\.2 dst=10\.96\.0\.11 .*src=10\.244\.4\.40 dst=10\.244\.4\.2/m,
    );
  });

  it('--pod shows the pod namespace: eth0 with the pod IP, default via the gateway', async () => {
    const r = await cli(
      'rules',
      '-f',
      'examples/same-node.yaml',
      '--node',
      'node-a',
      '--pod',
      'default/pod-b',
      '--only',
      'routes',
    );
    expect(r.out).toBe(
      'default via 10.244.4.1 dev eth0 \n10.244.4.0/24 dev eth0 proto kernel scope link src 10.244.4.40 \n',
    );
  });

  it.each([
    [['--node', 'node-z'], /--node node-z: no such Node/],
    [['--node', 'node-a', '--only', 'bogus'], /--only "bogus" is not one of/],
    [['--node', 'node-a', '--after-trace'], /--after-trace needs --from and --to/],
  ])('bad input %j → exit 2', async (args, message) => {
    const r = await cli('rules', '-f', 'examples/same-node.yaml', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
