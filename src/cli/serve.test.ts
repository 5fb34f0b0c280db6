/**
 * `packeteye serve` through its HTTP API: every answer is the command's own
 * `-o json` document (compared with the CLI run on the same files), refusals
 * carry the diagnostic codes, only loopback is served, and a change on disk
 * is read again (so is a failed reading, until fixed).
 */
import { request } from 'node:http';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InputError } from '../diag.js';
import { memoryIo, type Io } from './io.js';
import { diskIo } from './testing/disk-io.js';
import { buildProgram, main } from './main.js';
import { loadCommands } from './commands.js';
import { startServe, type ServeHandle } from './serve.js';
import { chainOf } from './serve-http.js';
import { runCommand, runKept, sharedProgram } from './serve-api.js';
import { TwinSession } from '../twin/session.js';
import { renderTraceFragment } from '../render/html.js';

// buildProgram registers the loaded commands; main loads what its command line needs.
await loadCommands();

const quiet = (): Io & { stderr: string } => diskIo();

async function cli(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const files = Object.fromEntries(
    argv.filter((a) => a.endsWith('.yaml')).map((f) => [f, readFileSync(f, 'utf8')] as const),
  );
  const io = memoryIo(files);
  const status = await main(argv, io);
  return { status, stdout: io.stdout, stderr: io.stderr };
}

/** A JSON answer, read field by field (the fields these tests read). */
type Field =
  | 'answer'
  | 'error'
  | 'code'
  | 'diagnostics'
  | 'chain'
  | 'rules'
  | 'pod'
  | 'host'
  | 'kind'
  | 'length'
  | 'text'
  | 'to'
  | 'port'
  | 'generation'
  | 'html'
  | 'hops'
  | 'defaults'
  | 'message'
  | 'ready'
  | 'results'
  | 'file'
  | 0;
type Doc = { readonly [K in Field]: Doc };

async function get(h: ServeHandle, path: string): Promise<{ status: number; body: Doc }> {
  const r = await fetch(new URL(path, h.url));
  return { status: r.status, body: (await r.json()) as Doc };
}

function raw(
  h: ServeHandle,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; body: Doc; headers: Record<string, unknown> }> {
  const u = new URL(path, h.url);
  return new Promise((ok, fail) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, body: JSON.parse(text) as Doc, headers: res.headers }),
        );
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/**
 * A brief view with every hop's body put in its placeholder (as the page
 * does), each exactly once, and the defaults' tables in place of their
 * closed stand-in (there is one exactly when there are tables).
 */
function withBodies(brief: string, bodies: Record<string, string>, defaults = ''): string {
  let n = 0;
  const filled = brief.replace(
    /(<li class="hop" id="([^"]+)".*?<div class="hopbody") data-later="">.*?<\/div>/g,
    (_m, open: string, id: string) => {
      n++;
      return `${open}>${bodies[id]}</div>`;
    },
  );
  expect(n).toBe(Object.keys(bodies).length);
  let m = 0;
  const whole = filled.replace(
    /<details class="later-defaults"><summary>.*?<\/summary><div class="defaultsbody" data-later="">.*?<\/div><\/details>/g,
    () => {
      m++;
      return defaults;
    },
  );
  expect(m).toBe(defaults === '' ? 0 : 1);
  return whole;
}

describe('serve: the API answers as the CLI does', () => {
  const file = 'examples/two-nodes.yaml';
  let h: ServeHandle;
  beforeAll(async () => {
    h = await startServe(quiet(), {
      files: [file],
      port: 0,
      // As `packeteye serve` runs: one program for every question.
      program: sharedProgram((io) => buildProgram(io)),
    });
  });
  afterAll(() => h.close());

  it.each([
    ['a pod to a Service', { from: 'default/frontend', to: 'svc/default/store-be:80' }],
    [
      'every path, another seed',
      { from: 'frontend', to: 'svc/store-be:80', seed: '7', 'all-paths': '1' },
    ],
    ['UDP to a pod port', { from: 'default/frontend', to: 'default/store-be-1:80', proto: 'udp' }],
    [
      'only the touched defaults',
      { from: 'default/frontend', to: 'svc/default/store-be:80', defaults: 'touched' },
    ],
    // After questions that built node-1 only: node-2's rule steps name node-2's rules.
    ['a pod on the other node', { from: 'default/frontend', to: 'default/store-be-3:80' }],
  ])('trace: %s equals trace -o json', async (_, q: Record<string, string>) => {
    const { status, body } = await get(h, `/api/trace?${new URLSearchParams(q)}`);
    expect(status).toBe(200);
    const argv = ['trace', '-f', file, '--from', q.from!, '--to', q.to!, '-o', 'json'];
    if (q.seed) argv.push('--seed', q.seed);
    if (q.proto) argv.push('--proto', q.proto);
    if (q['all-paths']) argv.push('--all-paths');
    if (q.defaults) argv.push('--defaults', q.defaults);
    const c = await cli(argv);
    expect(c.status).toBe(0);
    expect(body.answer).toEqual(JSON.parse(c.stdout));
    expect(body.generation).toBe(1);
  });

  it('trace with html=1 adds the trace view the page shows, the document as without it', async () => {
    const q = '/api/trace?from=default/frontend&to=svc/default/store-be:80&defaults=touched';
    const { body } = await get(h, `${q}&html=1`);
    expect(body.html).toMatch(/^<header>.*<\/main>$/s);
    expect(body.html).toContain('class="hop"');
    const plain = (await get(h, q)).body;
    expect(body.answer).toEqual(plain.answer);
    expect({ ...body, html: undefined, answer: undefined }).toEqual({
      ...plain,
      html: undefined,
      answer: undefined,
    });
  });

  it.each([
    ['a pod to a Service', 'from=default/frontend&to=svc/default/store-be:80'],
    ['every path', 'from=default/frontend&to=svc/default/store-be:80&all-paths=1&seed=3'],
    ['UDP, every default', 'from=default/frontend&to=default/store-be-1:80&proto=udp'],
    ['the other node', 'from=default/frontend&to=default/store-be-3:80&defaults=touched'],
  ])('trace views (%s): the view of the document; brief, then its hops', async (_, q) => {
    const path = `/api/trace?${q}`;
    const whole = (await get(h, `${path}&html=1`)).body;
    const doc = (await get(h, path)).body;
    expect(whole.answer).toEqual(doc.answer);
    // Rendered from the trace itself, it is the view of the document the CLI writes.
    expect(whole.html).toBe(
      renderTraceFragment(doc.answer as unknown as Parameters<typeof renderTraceFragment>[0]),
    );
    const brief = (await get(h, `${path}&html=brief&answer=0`)).body;
    expect(brief.answer).toBeUndefined();
    expect(brief.generation).toBe(1);
    const hops = (await get(h, `${path}&html=hops`)).body;
    expect(hops.answer).toBeUndefined();
    const bodies = hops.hops as unknown as Record<string, string>;
    const defaults = (await get(h, `${path}&html=defaults`)).body;
    expect(defaults.answer).toBeUndefined();
    const tables = defaults.defaults as unknown as string;
    // The brief view holds no defaults table; the tables come with html=defaults.
    expect(brief.html).not.toContain('<caption>For the objects this connection touched');
    expect(tables.includes('<caption>For the objects')).toBe(
      (whole.html as unknown as string).includes('<caption>For the objects'),
    );
    // Put back, they are the whole view, but for how many defaults were left out: the brief
    // view's summary says it, the tables fetched under it do not say it again.
    const left =
      /<p>(\d+) more, about objects this connection did not touch, left out of this answer\.<\/p>/;
    const wholeHtml = whole.html as unknown as string;
    const omitted = left.exec(wholeHtml)?.[1];
    expect(omitted !== undefined).toBe(q.includes('defaults=touched'));
    if (omitted !== undefined)
      expect(brief.html).toContain(
        `(${omitted} more, about objects this connection did not touch, left out of this answer)</summary>`,
      );
    expect(withBodies(brief.html as unknown as string, bodies, tables)).toBe(
      wholeHtml.replace(left, ''),
    );
  });

  it('the endpoint index names what a trace question takes', async () => {
    const r = await fetch(new URL('/api', h.url));
    const index = (await r.json()) as { endpoints: { path: string; parameters: string[] }[] };
    const trace = index.endpoints.find((e) => e.path === '/api/trace');
    expect(trace?.parameters).toEqual(
      expect.arrayContaining(['from', 'to', 'defaults', 'html', 'answer']),
    );
    expect(index.endpoints.find((e) => e.path === '/api/reach')?.parameters).not.toContain('html');
  });

  it('the hops of a kept trace are as its view was, after other questions', async () => {
    const q = '/api/trace?from=default/frontend&to=default/store-be-3:80&seed=5';
    const whole = (await get(h, `${q}&html=1`)).body.html as unknown as string;
    const brief = (await get(h, `${q}&html=brief&answer=0`)).body.html as unknown as string;
    // Other questions over the same nodes in between: they reuse what the kept trace saw.
    for (const to of ['default/store-be-1:80', 'svc/default/store-be:80', 'default/store-be-3:80'])
      await get(h, `/api/trace?from=default/frontend&to=${to}&html=brief`);
    const bodies = (await get(h, `${q}&html=hops`)).body.hops as unknown as Record<string, string>;
    const tables = (await get(h, `${q}&html=defaults`)).body.defaults as unknown as string;
    expect(withBodies(brief, bodies, tables)).toBe(whole);
  });

  it('the hops of a question no longer kept are traced again', async () => {
    const q = '/api/trace?from=default/frontend&to=default/store-be-2:80';
    const first = (await get(h, `${q}&html=hops`)).body;
    for (let seed = 1; seed <= 10; seed++)
      await get(
        h,
        `/api/trace?from=default/frontend&to=svc/default/store-be:80&seed=${seed}&html=brief`,
      );
    expect((await get(h, `${q}&html=hops`)).body).toEqual(first);
  });

  it.each([
    ['html=maybe', 'html=maybe: give 1, brief, hops, defaults or 0'],
    ['html=toString', 'html=toString: give 1, brief, hops, defaults or 0'],
    ['html=constructor', 'html=constructor: give 1, brief, hops, defaults or 0'],
    ['answer=perhaps', 'answer=perhaps: give true or false'],
  ])('trace refuses %s', async (param, message) => {
    const r = await get(h, `/api/trace?from=default/frontend&to=svc/default/store-be:80&${param}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad-parameter');
    expect(r.body.error.message).toContain(message);
  });

  it.each([
    ['reach --port', '/api/reach?port=TCP/80', ['reach', '--port', 'TCP/80']],
    [
      'reach -n',
      '/api/reach?namespace=default&no-externals=1',
      ['reach', '-n', 'default', '--no-externals'],
    ],
    [
      'explain',
      '/api/explain?from=default/frontend&to=default/store-be-1&port=TCP/80',
      ['reach', '--explain', 'default/frontend', 'default/store-be-1', '--port', 'TCP/80'],
    ],
  ])('%s equals the CLI -o json', async (_, path, args) => {
    const { status, body } = await get(h, path);
    expect(status).toBe(200);
    const c = await cli([...args, '-f', file, '-o', 'json']);
    expect(body.answer).toEqual(JSON.parse(c.stdout));
  });

  it('rules: the NodeRules document, and one chain as iptables-save prints it', async () => {
    const { status, body } = await get(h, '/api/rules?node=node-1&only=iptables');
    expect(status).toBe(200);
    const c = await cli([
      'rules',
      '-f',
      file,
      '--node',
      'node-1',
      '--only',
      'iptables',
      '-o',
      'json',
    ]);
    expect(body.answer).toEqual(JSON.parse(c.stdout));
    expect(body.answer.kind).toBe('NodeRules');
    // One chain, as iptables-save prints it: the same lines as the command's text.
    const one = await get(h, '/api/rules?host=node-1&table=nat&chain=KUBE-SERVICES');
    expect(one.body.chain).toEqual(chainOf(JSON.parse(c.stdout), 'nat', 'KUBE-SERVICES'));
    const save = await cli(['rules', '-f', file, '--node', 'node-1', '--only', 'iptables']);
    const lines = save.stdout.split('\n');
    const nat = lines.slice(lines.indexOf('*nat'));
    expect(one.body.chain.rules).toEqual(
      nat.slice(0, nat.indexOf('COMMIT')).filter((l) => l.startsWith('-A KUBE-SERVICES ')),
    );
    expect(one.body.chain.rules.length).toBeGreaterThan(0);
    // A pod's hop: its node, in the pod's namespace.
    const pod = await get(h, '/api/rules?host=default/frontend&only=routes');
    expect(pod.status).toBe(200);
    expect(pod.body.answer.host).toBe('default/frontend');
  });

  it('check: POST the expectations, get check -o json (an expectation that fails is an answer)', async () => {
    const expectations = [
      'apiVersion: packeteye.dev/v1alpha1',
      'kind: ConnectivityExpectations',
      'metadata: {name: t}',
      'spec:',
      '  expectations:',
      '    - reach: {from: default/frontend, to: svc/default/store-be:80}',
      '    - noReach: {from: default/frontend, to: svc/default/store-be:80}',
    ].join('\n');
    const r = await fetch(new URL('/api/check', h.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/yaml' },
      body: expectations,
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as Doc;
    const io = memoryIo({ [file]: readFileSync(file, 'utf8'), 'request-body.yaml': expectations });
    expect(
      await main(['check', '-f', file, '--expect', 'request-body.yaml', '-o', 'json'], io),
    ).toBe(1);
    expect(body.answer).toEqual(JSON.parse(io.stdout));
    expect((body.answer.results as unknown as { holds: boolean }[]).map((x) => x.holds)).toEqual([
      true,
      false,
    ]);
  });

  it.each([
    [
      'an unknown pod',
      '/api/trace?from=default/nobody&to=svc/default/store-be:80',
      400,
      'unknown-ref',
    ],
    ['an unknown parameter', '/api/trace?form=x&to=y', 400, 'unknown-parameter'],
    ['a missing parameter', '/api/trace?to=svc/default/store-be:80', 400, 'bad-parameter'],
    ['a bad port', '/api/reach?port=TCP/http', 400, 'reach-bad-port'],
    ['an unknown node', '/api/rules?node=node-9', 400, 'unknown-node'],
    ['no such endpoint', '/api/nothing', 404, 'not-found'],
  ])('refuses %s with its code', async (_, path, status, code) => {
    const r = await get(h, path);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.diagnostics[0].code).toBe(code);
  });

  it('is read-only: GET questions, POST only for check and reload, with a JSON or YAML body', async () => {
    expect((await raw(h, '/api/trace', {}, 'POST')).status).toBe(405);
    expect((await raw(h, '/api/check', {}, 'GET')).status).toBe(405);
    const plain = await raw(h, '/api/reload', { 'Content-Type': 'text/plain' }, 'POST');
    expect(plain.status).toBe(415);
    expect(plain.body.error.code).toBe('bad-content-type');
  });

  it('answers loopback names only, never another origin, and sends no CORS header', async () => {
    const evil = await raw(h, '/api/status', { Host: 'attacker.example:80' });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('bad-host');
    const port = new URL(h.url).port;
    const cross = await raw(h, '/api/status', {
      Host: `127.0.0.1:${port}`,
      Origin: 'http://attacker.example',
    });
    expect(cross.status).toBe(403);
    expect(cross.body.error.code).toBe('cross-origin');
    const same = await raw(h, '/api/status', {
      Host: `localhost:${port}`,
      Origin: `http://localhost:${port}`,
    });
    expect(same.status).toBe(200);
    expect(Object.keys(same.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
  });
});

describe('serve: binding and reading again', () => {
  it.each(['0.0.0.0', '192.168.1.10', '::'])(
    'refuses to listen on %s without --allow-remote',
    async (address) => {
      const e = await startServe(quiet(), {
        files: ['examples/two-nodes.yaml'],
        port: 0,
        address,
        program: (io) => buildProgram(io),
      }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).diagnostics[0]!.code).toBe('serve-not-loopback');
    },
  );

  it('refuses through the command too, with exit 2', async () => {
    const io = memoryIo({ 'c.yaml': readFileSync('examples/two-nodes.yaml', 'utf8') });
    expect(await main(['serve', '-f', 'c.yaml', '--address', '0.0.0.0', '--port', '0'], io)).toBe(
      2,
    );
    expect(io.stderr).toContain('[serve-not-loopback]');
  });

  it('reads the files again when they change, and refuses questions while they are broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pe-serve-'));
    const f = join(dir, 'cluster.yaml');
    copyFileSync('examples/two-nodes.yaml', f);
    const h = await startServe(quiet(), {
      files: [f],
      port: 0,
      debounceMs: 50,
      program: (io) => buildProgram(io),
    });
    const waitFor = async (gen: number): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        const s = await get(h, '/api/status');
        if (Number(s.body.generation ?? 0) >= gen) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no reading ${gen}`);
    };
    try {
      const q = '/api/trace?from=default/frontend&to=svc/default/store-be:80';
      expect((await get(h, q)).body.answer.to.port).toBe(80);
      // The Service's port 80 becomes 8080 on disk.
      const text = readFileSync(f, 'utf8');
      writeFileSync(f, text.replace(/^ {6}port: 80$/m, '      port: 8080'));
      await waitFor(2);
      expect((await get(h, q)).status).toBe(400);
      const moved = await get(h, '/api/trace?from=default/frontend&to=svc/default/store-be:8080');
      expect(moved.status).toBe(200);
      expect(moved.body.generation).toBeGreaterThanOrEqual(2);
      // Broken: every question refused with the reading's diagnostics.
      writeFileSync(f, 'kind: Pod\nmetadata: [\n');
      for (
        let i = 0;
        i < 200 && ((await get(h, '/api/status')).body.ready as unknown) !== false;
        i++
      )
        await new Promise((r) => setTimeout(r, 25));
      const broken = await get(h, q);
      expect(broken.status).toBe(503);
      expect(broken.body.error.code).toBe('input-unreadable');
      expect(broken.body.error.diagnostics[0].file).toBe(f);
      // Fixed, and read again on request.
      writeFileSync(f, text);
      const r = await fetch(new URL('/api/reload', h.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { ready: boolean }).ready).toBe(true);
      expect((await get(h, q)).status).toBe(200);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve builds nodes ahead while idle', () => {
  const file = 'examples/two-nodes.yaml';
  const ahead = async (h: ServeHandle): Promise<{ nodes: number; done: boolean }> => {
    for (let i = 0; i < 400; i++) {
      const s = (await (await fetch(new URL('/api/status', h.url))).json()) as {
        builtAhead: { nodes: number; done: boolean };
      };
      if (s.builtAhead.done) return s.builtAhead;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('building ahead did not finish');
  };

  it('builds every node no question needed, answers as the CLI after, and again after a reload', async () => {
    const h = await startServe(quiet(), {
      files: [file],
      port: 0,
      program: sharedProgram((io) => buildProgram(io)),
    });
    try {
      expect(await ahead(h)).toEqual({ nodes: 2, done: true });
      const q = { from: 'default/frontend', to: 'default/store-be-3:80' };
      const served = await get(h, `/api/trace?${new URLSearchParams(q)}`);
      const c = await cli(['trace', '-f', file, '--from', q.from, '--to', q.to, '-o', 'json']);
      expect(served.body.answer).toEqual(JSON.parse(c.stdout));
      const r = await fetch(new URL('/api/reload', h.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      expect(r.status).toBe(200);
      expect(await ahead(h)).toEqual({ nodes: 2, done: true });
      expect((await get(h, `/api/trace?${new URLSearchParams(q)}`)).body.answer).toEqual(
        JSON.parse(c.stdout),
      );
    } finally {
      await h.close();
    }
  });

  it.each([
    // flannel's reports cannot be sliced per node: its plan keeps none, whatever it built.
    ['examples/flannel-vxlan.yaml', 0],
    [file, 2],
  ])('reports the nodes kept, not the builds (%s)', async (f, kept) => {
    const h = await startServe(quiet(), {
      files: [f],
      port: 0,
      program: sharedProgram((io) => buildProgram(io)),
    });
    try {
      expect(await ahead(h)).toEqual({ nodes: kept, done: true });
    } finally {
      await h.close();
    }
  });

  it('builds nothing ahead when asked not to', async () => {
    const h = await startServe(quiet(), {
      files: [file],
      port: 0,
      buildAhead: false,
      program: sharedProgram((io) => buildProgram(io)),
    });
    try {
      expect(await ahead(h)).toEqual({ nodes: 0, done: true });
    } finally {
      await h.close();
    }
  });

  it('waits while a question over the page’s WebSocket is being answered, as for a request', async () => {
    // Each command waits at `gate` once it has said it started.
    let gate: Promise<void> = Promise.resolve();
    let started: () => void = () => undefined;
    const h = await startServe(quiet(), {
      files: [file],
      port: 0,
      program: sharedProgram((io) =>
        buildProgram(io).hook('preAction', () => {
          started();
          return gate;
        }),
      ),
    });
    try {
      expect(await ahead(h)).toEqual({ nodes: 2, done: true });
      let release: () => void = () => undefined;
      gate = new Promise((ok) => (release = ok));
      const asking = new Promise<void>((ok) => (started = ok));
      const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}api/ws`);
      await new Promise((ok, fail) => {
        ws.once('open', ok);
        ws.once('error', fail);
      });
      const answered = new Promise<string>((ok) =>
        ws.once('message', (d: Buffer) => ok(d.toString())),
      );
      ws.send(
        `1 /api/trace?${new URLSearchParams({ from: 'default/frontend', to: 'default/store-be-3:80' })}`,
      );
      await asking;
      // A new reading while the question is being answered: nothing is built ahead until it is.
      h.reload('test');
      await new Promise((ok) => setTimeout(ok, 200));
      const mid = (await (await fetch(new URL('/api/status', h.url))).json()) as {
        builtAhead: { nodes: number; done: boolean };
      };
      expect(mid.builtAhead).toEqual({ nodes: 0, done: false });
      release();
      expect((await answered).split('\n')[0]).toBe('1 200');
      expect(await ahead(h)).toEqual({ nodes: 2, done: true });
      ws.close();
    } finally {
      await h.close();
    }
  });

  it('counts the current reading’s kept nodes without building ahead, after a reload too', async () => {
    const h = await startServe(quiet(), {
      files: [file],
      port: 0,
      buildAhead: false,
      program: sharedProgram((io) => buildProgram(io)),
    });
    try {
      const q = { from: 'default/frontend', to: 'default/store-be-3:80' };
      expect((await get(h, `/api/trace?${new URLSearchParams(q)}`)).status).toBe(200);
      // The question built the nodes it crossed; they are kept.
      expect(await ahead(h)).toEqual({ nodes: 2, done: true });
      h.reload('test');
      // A new reading has built nothing yet: none of the first reading's nodes are counted.
      expect(await ahead(h)).toEqual({ nodes: 0, done: true });
      expect((await get(h, `/api/trace?${new URLSearchParams(q)}`)).status).toBe(200);
      expect(await ahead(h)).toEqual({ nodes: 2, done: true });
    } finally {
      await h.close();
    }
  });
});

describe('serve keeps reach and check answers per reading', () => {
  it('answers a question asked again from the same reading without running the command', async () => {
    const file = 'examples/two-nodes.yaml';
    const open = (generation: number) => ({
      files: [file],
      session: TwinSession.open([{ path: file, text: readFileSync(file, 'utf8') }]),
      generation,
    });
    let runs = 0;
    const program = (io: Io) => {
      runs++;
      return buildProgram(io);
    };
    const reading = open(1);
    const argv = ['reach', '-f', file, '--port', 'TCP/80', '-o', 'json'];
    const first = await runKept(program, reading, argv);
    expect(first.status).toBe(200);
    expect(await runKept(program, reading, argv)).toEqual(first);
    expect(runs).toBe(1);
    // Another question, a trace (never kept), and a new reading each run the command.
    await runKept(program, reading, ['reach', '-f', file, '--port', 'TCP/8080', '-o', 'json']);
    expect(runs).toBe(2);
    const trace = [
      'trace',
      '-f',
      file,
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
      '-o',
      'json',
    ];
    await runKept(program, reading, trace);
    await runKept(program, reading, trace);
    expect(runs).toBe(4);
    expect(await runKept(program, open(2), argv)).toEqual(first);
    expect(runs).toBe(5);
  });
});

describe('serve: one program answers every question', () => {
  it('answers questions asked together, refusals among them, as a program of its own each', async () => {
    const file = 'examples/two-nodes.yaml';
    const reading = {
      files: [file],
      session: TwinSession.open([{ path: file, text: readFileSync(file, 'utf8') }]),
      generation: 1,
    };
    const trace = (...more: string[]) => ['trace', '-f', file, '-o', 'json', ...more];
    const questions = [
      trace('--from', 'frontend', '--to', 'svc/store-be:80', '--all-paths', '--seed', '7'),
      trace('--from', 'frontend', '--to', 'svc/store-be:80'),
      trace('--from', 'nobody', '--to', 'svc/store-be:80'),
      trace('--from', 'frontend', '--to', 'svc/store-be:80', '--bogus'),
      trace('--from', 'frontend', '--to', 'default/store-be-3:80', '--proto', 'udp'),
      ['reach', '-f', file, '--port', 'TCP/80', '-o', 'json'],
      trace('--from', 'frontend', '--to', 'svc/store-be:80', '--defaults', 'touched'),
    ];
    const alone = [];
    for (const q of questions) alone.push(await runCommand((io) => buildProgram(io), reading, q));
    let built = 0;
    const shared = sharedProgram((io) => {
      built++;
      return buildProgram(io);
    });
    // Asked all at once, twice over: each answer as its own program gave it, no option left over.
    const together = await Promise.all(
      [...questions, ...questions].map((q) => runCommand(shared, reading, q)),
    );
    expect(together).toEqual([...alone, ...alone]);
    expect(built).toBe(1);
    expect(alone.map((o) => o.status)).toEqual([200, 200, 400, 400, 200, 200, 200]);
    // A trace's document comes without indentation (the envelope carries it as written).
    expect(alone[1]!.stdout).toBe(`${JSON.stringify(JSON.parse(alone[1]!.stdout))}\n`);
  });
});
