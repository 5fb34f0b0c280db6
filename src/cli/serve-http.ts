/**
 * `packeteye serve`'s HTTP side (node's http module): the page at `/`, the
 * questions under `/api/` (cli/serve-api.ts), every answer and refusal as
 * JSON. Read-only: GET for questions; POST only for `/api/check` (the
 * expectations travel in the body; nothing is written) and `/api/reload`
 * (reads the same files again).
 *
 * For a server on loopback (the default), a request must name a loopback
 * host (`Host: 127.0.0.1:PORT`, `localhost`, `[::1]`), which keeps a web page
 * elsewhere from reaching it through DNS rebinding; a browser request from
 * another origin is refused, and no CORS header is ever sent. A POST must say
 * its body is JSON or YAML, which a cross-site form cannot.
 */
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { Command } from 'commander';
import { formatDiagnostic, type Diagnostic } from '../diag.js';
import { nsName } from '../k8s/model.js';
import { renderDefaultsBody, renderHopBodies, renderTraceFragment } from '../render/html.js';
import { renderServePage } from '../render/html-app.js';
import type { L7Trace } from '../trace/model.js';
import type { Io } from './io.js';
import {
  argvFor,
  refusal,
  ROUTES,
  runCommand,
  runKept,
  type Kept,
  type Outcome,
} from './serve-api.js';
import { askSockets, isHandshakeKey, type AskSockets, type OnAsk } from './serve-ws.js';

/** What the server serves from: the kept reading, or why there is none. */
export interface ServeState {
  /** The current reading, or the diagnostics that keep the files from being read. */
  current(): Kept | { readonly files: readonly string[]; readonly errors: readonly Diagnostic[] };
  /** Reads the files again (POST /api/reload, SIGHUP, a change on disk). */
  reload(): void;
  /** The nodes built ahead while idle for the current reading, and whether that is over. */
  ahead?(): { readonly nodes: number; readonly done: boolean };
}

export interface ServeOptions {
  readonly state: ServeState;
  /** A fresh `packeteye` program writing to an Io (cli/main.ts buildProgram). */
  readonly program: (io: Io) => Command;
  /** Bound beyond loopback on purpose (`--allow-remote`): any Host is accepted. */
  readonly allowRemote?: boolean;
  /** Hears of each question over the WebSocket, from its arrival until it is answered (serve.ts). */
  readonly onAsk?: OnAsk;
}

/** At most this much of a request body is read (an expectations file). */
const MAX_BODY = 1024 * 1024;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const BODY_TYPES = [
  'application/json',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
  'text/x-yaml',
];

export function createServeServer(opts: ServeOptions): Server {
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((e: unknown) => write(res, internalError(e)));
  });
  const sockets = askSockets(MAX_BODY, (target) => askOver(opts, target), opts.onAsk);
  sockets_.set(server, sockets);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refused = upgradeRefusal(opts, req);
    if (refused) return refuseUpgrade(socket, refused);
    sockets.upgrade(req, socket, head);
  });
  return server;
}

/** The WebSocket connections of each server (`GET /api/ws`): closed with it. */
const sockets_ = new WeakMap<Server, AskSockets>();

/** Ends every connection, WebSockets included (those left the server's own list when upgraded). */
export function closeServeConnections(server: Server): void {
  server.closeAllConnections();
  sockets_.get(server)?.closeAll();
}

/** An answer: the status, the body, and what it is. */
interface Reply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly html?: boolean;
  /** The methods a path takes (405). */
  readonly allow?: string;
}

function internalError(e: unknown): Reply {
  const msg = e instanceof Error ? e.message : String(e);
  return json(500, errorBody(refusal(500, 'internal-error', `internal error: ${msg}`)));
}

async function handle(
  opts: ServeOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://serve.invalid');
  const refused = guard(opts, req);
  if (refused) return write(res, json(refused.status, errorBody(refused)));
  const method = req.method ?? 'GET';
  const path = url.pathname;
  const post = path === '/api/reload' || ROUTES[path]?.method === 'POST';
  if (post ? method !== 'POST' : method !== 'GET' && method !== 'HEAD')
    return write(res, notAllowed(path, post));
  if (path === WS_PATH)
    return write(
      res,
      json(
        426,
        errorBody(
          refusal(
            426,
            'upgrade-required',
            `${WS_PATH} is a WebSocket: ask with Upgrade: websocket`,
          ),
        ),
      ),
    );
  let body: string | undefined;
  if (post) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!BODY_TYPES.includes(type))
      return write(
        res,
        json(
          415,
          errorBody(
            refusal(
              415,
              'bad-content-type',
              `a POST body must be JSON or YAML (Content-Type: ${BODY_TYPES.join(', ')})`,
            ),
          ),
        ),
      );
    body = await readBody(req);
    if (body === undefined)
      return write(
        res,
        json(413, errorBody(refusal(413, 'body-too-large', `a body of at most ${MAX_BODY} bytes`))),
      );
  }
  write(res, await answer(opts, path, url.searchParams, body));
}

function notAllowed(path: string, post: boolean): Reply {
  return {
    ...json(
      405,
      errorBody(refusal(405, 'method-not-allowed', `${path} takes ${post ? 'POST' : 'GET'}`)),
    ),
    allow: post ? 'POST' : 'GET, HEAD',
  };
}

/** The path of the page's WebSocket (cli/serve-ws.ts). */
const WS_PATH = '/api/ws';

/**
 * A question over the WebSocket (`PATH?QUERY`): answered as `GET PATH?QUERY`
 * is, questions only (no POST, no page).
 */
async function askOver(opts: ServeOptions, target: string): Promise<Reply> {
  try {
    const url = new URL(target, 'http://serve.invalid');
    const path = url.pathname;
    if (!path.startsWith('/api/') || path === WS_PATH)
      return json(404, errorBody(refusal(404, 'not-found', `no question ${path} over ${WS_PATH}`)));
    if (path === '/api/reload' || ROUTES[path]?.method === 'POST') return notAllowed(path, true);
    return await answer(opts, path, url.searchParams, undefined);
  } catch (e) {
    return internalError(e);
  }
}

/** Why an upgrade is refused: not `GET /api/ws` as RFC 6455 asks, or not from the page's own origin. */
function upgradeRefusal(opts: ServeOptions, req: IncomingMessage): Outcome | undefined {
  const refused = guard(opts, req);
  if (refused) return refused;
  const path = new URL(req.url ?? '/', 'http://serve.invalid').pathname;
  if (path !== WS_PATH)
    return refusal(404, 'not-found', `no WebSocket at ${path} (ask ${WS_PATH})`);
  if (req.method !== 'GET') return refusal(405, 'method-not-allowed', `${WS_PATH} takes GET`);
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return refusal(400, 'bad-upgrade', `${WS_PATH} upgrades to websocket only`);
  if (req.headers['sec-websocket-version'] !== '13')
    return refusal(426, 'bad-upgrade', 'WebSocket version 13 only');
  if (!isHandshakeKey(req.headers['sec-websocket-key']))
    return refusal(400, 'bad-upgrade', 'Sec-WebSocket-Key is not 16 bytes in base64');
  return undefined;
}

function refuseUpgrade(socket: Duplex, o: Outcome): void {
  const body = Buffer.from(`${JSON.stringify(errorBody(o), null, 2)}\n`);
  socket.end(
    `HTTP/1.1 ${o.status} ${STATUS_CODES[o.status] ?? ''}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
      (o.status === 426 ? 'Sec-WebSocket-Version: 13\r\n' : '') +
      'Connection: close\r\n\r\n' +
      body.toString(),
  );
}

/** What a question to `path` is answered with (GET, or POST with its body). */
async function answer(
  opts: ServeOptions,
  path: string,
  params: URLSearchParams,
  body: string | undefined,
): Promise<Reply> {
  if (path === '/') return { status: 200, body: renderServePage(), html: true };
  if (path === '/api/reload') opts.state.reload();
  const state = opts.state.current();
  if (path === '/api' || path === '/api/') return json(200, { endpoints: endpointIndex() });
  if (path === '/api/status' || path === '/api/reload')
    return json(200, status(state, opts.state.ahead?.()));
  if (!('session' in state))
    return json(503, {
      error: {
        status: 503,
        code: 'input-unreadable',
        message: 'the cluster files cannot be read; the server reads them again when they change',
        diagnostics: state.errors,
      },
    });
  if (path === '/api/endpoints') return json(200, endpoints(state, params));
  if (path === '/api/rules') return rules(opts, state, params);
  if (path === '/api/trace') return trace(opts, state, params);
  const query = new URLSearchParams(params);
  query.delete('html');
  const argv = argvFor(path, query, state.files);
  if (!Array.isArray(argv)) return json(argv.status, errorBody(argv));
  const outcome = await runKept(opts.program, state, argv, body);
  if (outcome.errors) return json(outcome.status, errorBody(outcome, state));
  // The command's document goes out as it wrote it (not parsed and written again).
  return { status: 200, body: envelopeWith(envelope(state, outcome), outcome.stdout) };
}

const ON_VALUES = ['', '1', 'true', 'yes'];
const OFF_VALUES = ['0', 'false', 'no'];
const SWITCH_VALUES = [...ON_VALUES, ...OFF_VALUES];

/**
 * What `html=` asks beside a trace: the whole view, the view with its hops'
 * bodies and its defaults' tables left out, those bodies, or those tables.
 */
const VIEWS: ReadonlyMap<string, 'whole' | 'brief' | 'hops' | 'defaults'> = new Map([
  ...ON_VALUES.map((v) => [v, 'whole'] as const),
  ['brief', 'brief'],
  ['hops', 'hops'],
  ['defaults', 'defaults'],
]);

/** The traces the page asked last, by command line, for the hop bodies it fetches next (per reading). */
const recent = new WeakMap<Kept, Map<string, { t: L7Trace; o: Outcome }>>();
const RECENT_TRACES = 8;

/**
 * `/api/trace`: the `trace -o json` document; with `html=1` the trace view
 * beside it, rendered from the trace itself (not from the document read
 * back); `html=brief` the view with each hop's body and the defaults'
 * tables left out, `html=hops` those bodies alone (`hops`, by hop id), which
 * the page fetches when a hop is first opened, and `html=defaults` those
 * tables alone (`defaults`), fetched when their section is first opened;
 * `answer=0` leaves the document out (the page
 * draws the view alone). Every form is the same question's one trace.
 */
async function trace(opts: ServeOptions, state: Kept, params: URLSearchParams): Promise<Reply> {
  const query = new URLSearchParams(params);
  const asked = query.get('html');
  const answer = query.get('answer');
  query.delete('html');
  query.delete('answer');
  const off = asked === null || OFF_VALUES.includes(asked);
  const view = off ? undefined : VIEWS.get(asked);
  if (!off && view === undefined)
    return refuse(`html=${asked}: give 1, brief, hops, defaults or 0`);
  if (answer !== null && !SWITCH_VALUES.includes(answer))
    return refuse(`answer=${answer}: give true or false`);
  const later = view === 'hops' || view === 'defaults';
  const withAnswer = !later && (answer === null || ON_VALUES.includes(answer));
  const argv = argvFor('/api/trace', query, state.files);
  if (!Array.isArray(argv)) return json(argv.status, errorBody(argv));
  if (view === undefined && withAnswer) {
    const o = await runCommand(opts.program, state, argv);
    if (o.errors) return json(o.status, errorBody(o, state));
    return { status: 200, body: envelopeWith(envelope(state, o), o.stdout) };
  }
  const key = argv.join('\0');
  let traces = recent.get(state);
  if (!traces) recent.set(state, (traces = new Map()));
  let last = later ? traces.get(key) : undefined;
  if (last === undefined) {
    let t: L7Trace | undefined;
    const o = await runCommand(opts.program, state, argv, undefined, (traced) => {
      t = traced;
      return withAnswer;
    });
    if (o.errors) return json(o.status, errorBody(o, state));
    // A trace the command answered without handing it over (a VPP cluster's): its document.
    last = { t: t ?? (JSON.parse(o.stdout) as L7Trace), o };
    traces.delete(key);
    traces.set(key, last);
    for (const k of traces.keys()) {
      if (traces.size <= RECENT_TRACES) break;
      traces.delete(k);
    }
  }
  const { t, o } = last;
  const head = envelope(state, o);
  if (view === 'hops') head.hops = renderHopBodies(t);
  else if (view === 'defaults') head.defaults = renderDefaultsBody(t);
  else if (view !== undefined) head.html = renderTraceFragment(t, { brief: view === 'brief' });
  return {
    status: 200,
    body: withAnswer ? envelopeWith(head, o.stdout) : `${JSON.stringify(head, null, 2)}\n`,
  };
}

function refuse(message: string): Reply {
  return json(400, errorBody(refusal(400, 'bad-parameter', message)));
}

/**
 * `{...head, "answer": DOC}` with DOC the command's own JSON text as it wrote
 * it (not indented again: a trace's text runs to megabytes at scale).
 */
function envelopeWith(head: Record<string, unknown>, doc: string): Buffer {
  const top = JSON.stringify(head, null, 2);
  // Each part encoded once, the document apart: not joined into one string to be encoded again.
  return Buffer.concat([
    Buffer.from(`${top.slice(0, top.length - 2)},\n  "answer": `),
    Buffer.from(doc.endsWith('\n') ? doc.slice(0, -1) : doc.trimEnd()),
    Buffer.from('\n}\n'),
  ]);
}

/** Loopback only (unless allowed otherwise), and never a request from another origin. */
function guard(opts: ServeOptions, req: IncomingMessage): Outcome | undefined {
  const host = req.headers.host ?? '';
  const name = host.replace(/:\d+$/, '').toLowerCase();
  if (!opts.allowRemote && !LOOPBACK_HOSTS.has(name))
    return refusal(
      403,
      'bad-host',
      `Host ${JSON.stringify(host)} is not a loopback name`,
      'ask http://127.0.0.1:PORT/ or http://localhost:PORT/ (serve --allow-remote accepts any)',
    );
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let from = '';
    try {
      from = new URL(origin).host;
    } catch {
      from = origin;
    }
    if (from.toLowerCase() !== host.toLowerCase())
      return refusal(403, 'cross-origin', `a request from ${origin} is refused (no CORS)`);
  } else if (origin === 'null') return refusal(403, 'cross-origin', 'an opaque origin is refused');
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Warnings beside every answer: the command's stderr, line by line, as the CLI prints it. */
function envelope(state: Kept, o: Outcome): Record<string, unknown> {
  return { generation: state.generation, warnings: warningsOf(state), stderr: o.stderr };
}

function warningsOf(state: Kept): readonly Diagnostic[] {
  return state.session.diagnostics.filter((d) => d.severity === 'warning');
}

function errorBody(o: Outcome, state?: Kept): Record<string, unknown> {
  const first = o.errors?.[0];
  return {
    ...(state ? { generation: state.generation } : {}),
    error: {
      status: o.status,
      code: first?.code ?? 'error',
      message: (o.errors ?? []).map((d) => formatDiagnostic(d)).join('\n'),
      diagnostics: o.errors ?? [],
    },
    ...(o.stderr.length > 0 ? { stderr: o.stderr } : {}),
  };
}

function status(
  state: ReturnType<ServeState['current']>,
  ahead: ReturnType<NonNullable<ServeState['ahead']>> | undefined,
): Record<string, unknown> {
  if (!('session' in state)) return { files: state.files, ready: false, errors: state.errors };
  const m = state.session.model;
  return {
    files: state.files,
    ready: true,
    generation: state.generation,
    planned: state.session.isPlanned,
    objects: state.session.loaded.objects.length,
    namespaces: m.namespaces.size,
    nodes: m.nodes.size,
    pods: m.pods.size,
    services: m.services.size,
    ...(ahead ? { builtAhead: ahead } : {}),
    warnings: state.session.diagnostics.filter((d) => d.severity === 'warning'),
  };
}

function endpointIndex(): { path: string; method: string; runs: string; parameters: string[] }[] {
  return Object.entries(ROUTES).map(([path, r]) => ({
    path,
    method: r.method,
    runs: r.about,
    parameters: [
      ...new Set([
        ...Object.keys(r.values),
        ...Object.keys(r.switches),
        // What the server itself reads of a trace question: the view beside it, and whether the document goes.
        ...(path === '/api/trace' ? ['html', 'answer'] : []),
      ]),
    ],
  }));
}

/** One thing a trace can start or end at, as `trace --from/--to` names it. */
interface Pick {
  readonly ref: string;
  readonly kind: 'pod' | 'service' | 'node' | 'external';
  readonly ip?: string;
  readonly node?: string;
  /** `PROTO/PORT` it listens on (pods: container ports; Services: their ports). */
  readonly ports: readonly string[];
}

/** What the page offers to pick: `?q=` filters by substring, `?limit=` (default 50, at most 1000). */
function endpoints(state: Kept, q: URLSearchParams): Record<string, unknown> {
  const m = state.session.model;
  const needle = (q.get('q') ?? '').toLowerCase();
  const limit = Math.max(1, Math.min(1000, Number(q.get('limit') ?? 50) || 50));
  const out: Pick[] = [];
  let total = 0;
  const add = (p: () => Pick, ref: string): void => {
    if (needle !== '' && !ref.toLowerCase().includes(needle)) return;
    total++;
    if (out.length < limit) out.push(p());
  };
  for (const [key, pod] of m.pods)
    add(
      () => ({
        ref: key,
        kind: 'pod',
        ...(pod.status?.podIP ? { ip: pod.status.podIP } : {}),
        node: pod.spec.nodeName ?? '',
        ports: pod.spec.containers.flatMap((c) =>
          (c.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.containerPort}`),
        ),
      }),
      key,
    );
  for (const [key, svc] of m.services)
    add(
      () => ({
        ref: `svc/${key}`,
        kind: 'service',
        ...(svc.spec.clusterIP ? { ip: svc.spec.clusterIP } : {}),
        ports: (svc.spec.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`),
      }),
      `svc/${key}`,
    );
  for (const [name] of m.nodes)
    add(() => ({ ref: `node/${name}`, kind: 'node', ports: [] }), `node/${name}`);
  for (const [name, h] of m.externalHosts)
    add(
      () => ({ ref: `host/${name}`, kind: 'external', ip: h.spec.address, ports: [] }),
      `host/${name}`,
    );
  return { generation: state.generation, total, endpoints: out };
}

/**
 * `/api/rules`: `packeteye rules -o json` for a node (or `host=` a trace's hop
 * names: a node, or a pod `NS/NAME`): the NodeRules document as the command
 * writes it; with `table=` and `chain=` also the chain's rules alone, as
 * `iptables-save` prints them (what the page opens for a hop), beside it.
 */
async function rules(opts: ServeOptions, state: Kept, params: URLSearchParams): Promise<Reply> {
  const q = new URLSearchParams(params);
  const table = q.get('table');
  const chain = q.get('chain');
  q.delete('table');
  q.delete('chain');
  const host = q.get('host');
  if (host !== null) {
    q.delete('host');
    const pod = state.session.model.pods.get(host);
    if (pod) {
      q.set('node', pod.spec.nodeName ?? '');
      q.set('pod', nsName(pod));
    } else q.set('node', host);
  }
  if (chain !== null && !q.has('only')) q.set('only', 'iptables');
  const argv = argvFor('/api/rules', q, state.files);
  if (!Array.isArray(argv)) return json(argv.status, errorBody(argv));
  const o = await runCommand(opts.program, state, argv);
  if (o.errors) return json(o.status, errorBody(o, state));
  const head: Record<string, unknown> = envelope(state, o);
  if (chain !== null)
    head.chain = chainOf(JSON.parse(o.stdout) as NodeRulesJson, table ?? 'filter', chain);
  return { status: 200, body: envelopeWith(head, o.stdout) };
}

/** What chainOf reads of a NodeRules document. */
interface NodeRulesJson {
  readonly iptables?: {
    readonly tables: readonly {
      readonly name: string;
      readonly chains: readonly {
        readonly name: string;
        readonly policy: string | null;
        readonly rules: readonly { readonly text: string }[];
      }[];
    }[];
  };
}

/** One chain's rules from a NodeRules document, as `iptables-save` prints them (rule 1 first). */
export function chainOf(
  doc: NodeRulesJson,
  table: string,
  chain: string,
): { table: string; chain: string; policy?: string; rules: string[] } {
  const c = doc.iptables?.tables
    .find((t) => t.name === table)
    ?.chains.find((x) => x.name === chain);
  const policy = c?.policy ?? undefined;
  return {
    table,
    chain,
    ...(policy !== undefined ? { policy } : {}),
    rules: (c?.rules ?? []).map((r) => `-A ${chain} ${r.text}`),
  };
}

/** A JSON answer, indented (the commands' own documents go out as they wrote them: envelopeWith). */
function json(status: number, body: unknown): Reply {
  return { status, body: `${JSON.stringify(body, null, 2)}\n` };
}

/** Writes an answer, its bytes encoded once (a string would be measured for its length, then encoded). */
function write(res: ServerResponse, r: Reply): void {
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  if (r.allow !== undefined) res.setHeader('Allow', r.allow);
  res.writeHead(
    r.status,
    r.html
      ? {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': body.length,
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
          'X-Frame-Options': 'DENY',
        }
      : {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': body.length,
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
        },
  );
  res.end(body);
}
