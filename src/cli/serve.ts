/**
 * `packeteye serve -f FILE|DIR... [--port N] [--address ADDR] [--allow-remote] [--no-build-ahead]`:
 * the twin built once and kept, answering over HTTP (cli/serve-http.ts) with
 * the commands' own JSON documents (cli/serve-api.ts) and an interactive
 * trace page at `/` (render/html-app.ts). The files are read again when they
 * change (watched, debounced), on `POST /api/reload` and on SIGHUP; a reading
 * that fails leaves every question refused with its diagnostics until the
 * files are fixed. Loopback only unless `--allow-remote`.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, basename, resolve } from 'node:path';
import type { Server, ServerResponse } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import type { Command } from 'commander';
import { formatDiagnostic, InputError, type Diagnostic } from '../diag.js';
import { SERVE_KEEP, TwinSession } from '../twin/session.js';
import { parseIntOption, readInputs } from './cluster.js';
import type { Io } from './io.js';
import { count } from './output.js';
import { sharedProgram, type Kept } from './serve-api.js';
import { closeServeConnections, createServeServer, type ServeState } from './serve-http.js';

interface ServeOpts {
  file?: string[];
  port?: string;
  address?: string;
  allowRemote?: boolean;
  buildAhead?: boolean;
}

export const DEFAULT_PORT = 7878;

const EXAMPLES = `
Examples:
  # The twin of two nodes, kept; open the printed address in a browser
  packeteye serve -f examples/two-nodes.yaml

  # The same questions over HTTP (answers are the commands' -o json documents)
  curl 'http://127.0.0.1:${DEFAULT_PORT}/api/trace?from=default/frontend&to=svc/default/store-be:80'
  curl 'http://127.0.0.1:${DEFAULT_PORT}/api/reach?port=TCP/80'

Endpoints, parameters and answers: docs/serve.md.
`;

/** A running server: its address, and how to stop it or read the files again. */
export interface ServeHandle {
  readonly url: string;
  readonly server: Server;
  reload(why?: string): void;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly files: readonly string[];
  readonly port?: number;
  readonly address?: string;
  readonly allowRemote?: boolean;
  /** The program a question runs in (cli/main.ts buildProgram; serve shares one: serve-api.ts sharedProgram). */
  readonly program: (io: Io) => Command;
  /** Debounce of file changes, ms (default 250). */
  readonly debounceMs?: number;
  /** Build the nodes no question has needed yet while idle (default true). */
  readonly buildAhead?: boolean;
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);
}

/** Reads the files, builds the model and the plan: the kept cluster, or why there is none. */
function readKept(
  io: Io,
  files: readonly string[],
  generation: number,
): Kept | { files: readonly string[]; errors: readonly Diagnostic[] } {
  const t0 = performance.now();
  let session: TwinSession;
  try {
    session = TwinSession.open(
      readInputs(io, files),
      (what, n) => {
        if (what === 'load')
          io.err(`packeteye serve: reading ${count(n)} file${n === 1 ? '' : 's'}…\n`);
        else io.err(`packeteye serve: building the model from ${count(n)} objects…\n`);
      },
      SERVE_KEEP,
    );
  } catch (e) {
    if (e instanceof InputError) return failed(io, files, e.diagnostics);
    throw e;
  }
  if (session.failed) return failed(io, files, session.diagnostics);
  const m = session.model;
  io.err(
    `packeteye serve: planning the twin: ${count(m.nodes.size)} nodes, ${count(m.pods.size)} pods, ${count(m.services.size)} Services…\n`,
  );
  const plan = session.plan();
  const warnings = [...session.diagnostics, ...plan.diagnostics].filter(
    (d) => d.severity === 'warning',
  );
  for (const d of warnings) io.err(`${formatDiagnostic(d)}\n`);
  io.err(
    `packeteye serve: ready in ${((performance.now() - t0) / 1000).toFixed(2)} s (reading ${generation})\n`,
  );
  return { files, session, generation };
}

function failed(
  io: Io,
  files: readonly string[],
  errors: readonly Diagnostic[],
): { files: readonly string[]; errors: readonly Diagnostic[] } {
  const es = errors.filter((d) => d.severity === 'error');
  for (const d of es) io.err(`${formatDiagnostic(d)}\n`);
  io.err('packeteye serve: the files cannot be read; questions are refused until they change\n');
  return { files, errors: es };
}

/** Starts the server: reads the files, plans the twin, listens, and watches the files. */
export async function startServe(io: Io, opts: StartOptions): Promise<ServeHandle> {
  const address = opts.address ?? '127.0.0.1';
  if (opts.files.length === 0)
    throw InputError.of(
      'no-input',
      'no cluster file given',
      { field: '-f' },
      'pass -f FILE or -f DIR',
    );
  if (opts.files.includes('-'))
    throw InputError.of(
      'serve-stdin',
      'serve reads its files again when they change; stdin cannot be read again',
      { field: '-f' },
      'save the input to a file and give its path',
    );
  if (!opts.allowRemote && !isLoopback(address))
    throw InputError.of(
      'serve-not-loopback',
      `--address ${address} is not a loopback address: the twin would answer anyone who can reach it`,
      { field: '--address' },
      'serve on 127.0.0.1 (the default) or ::1, or add --allow-remote if that is what you mean',
    );
  if (isIP(address) === 0 && address !== 'localhost')
    throw InputError.of('bad-option', `--address ${address}: not an IP address`, {
      field: '--address',
    });
  let generation = 1;
  let current = readKept(io, opts.files, generation);
  if ('errors' in current) throw new InputError(current.errors);
  let closed = false;
  let asking = 0;
  const ahead = aheadOf(opts.buildAhead !== false);
  const reload = (why = 'asked'): void => {
    generation++;
    io.err(`packeteye serve: reading the files again (${why})\n`);
    current = readKept(io, opts.files, generation);
    restart(ahead, current);
  };
  // Read from the current reading: no reference to an earlier one is kept (its model, plan and nodes go with it).
  const keptNodes = (): number =>
    'session' in current ? (current.session.plan().keptNodes?.() ?? 0) : 0;
  const state: ServeState = {
    current: () => current,
    reload: () => reload('POST /api/reload'),
    ahead: () => ({ nodes: keptNodes(), done: ahead.done }),
  };
  // A question (an HTTP request, or one over the page's WebSocket) being answered: asked() → its end.
  const asked = (): (() => void) => {
    asking++;
    let over = false;
    return () => {
      if (over) return;
      over = true;
      asking--;
      if (asking === 0) schedule();
    };
  };
  const server = createServeServer({
    state,
    program: opts.program,
    allowRemote: opts.allowRemote === true,
    onAsk: asked,
  });
  // Nodes built ahead only while no question is being answered; a question waits for one node's build at most.
  const step = (): void => {
    ahead.scheduled = false;
    if (closed || asking > 0 || ahead.done) return;
    let more = false;
    try {
      more = buildOneAhead(ahead, current);
    } catch (e) {
      // A node that cannot be built is the question's to report (it builds it again); nothing to answer here.
      ahead.done = true;
      io.err(
        `packeteye serve: stopped building nodes ahead: ${e instanceof Error ? e.message : String(e)}\n`,
      );
    }
    if (more) schedule();
  };
  const schedule = (): void => {
    if (ahead.scheduled || ahead.done || closed) return;
    ahead.scheduled = true;
    setImmediate(step);
  };
  ahead.wake = schedule;
  server.on('request', (_req, res: ServerResponse) => res.once('close', asked()));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? DEFAULT_PORT, address, () => ok());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.port;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}/`;
  schedule();
  const watchers = watchFiles(opts.files, opts.debounceMs ?? 250, (what) =>
    reload(`${what} changed`),
  );
  return {
    url,
    server,
    reload,
    close: () =>
      new Promise<void>((ok) => {
        closed = true;
        watchers.close();
        closeServeConnections(server);
        server.close(() => ok());
      }),
  };
}

/**
 * Building nodes ahead: while the server has nothing to answer it builds the
 * nodes no question has needed yet, one at a time (TwinPlan.buildAhead), so
 * later questions only lend kept nodes. Bounded twice: by the nodes the plan
 * keeps (SERVE_KEEP: none are built ahead when the cluster has more), and by the heap: it stops once the heap holds more
 * than AHEAD_HEAP of what V8 will let it grow to (a node of 30 pods keeps
 * about 0.3 MB), leaving the rest to questions, which build lazily as before.
 */
interface Ahead {
  /** Whether to build ahead at all (StartOptions.buildAhead). */
  readonly on: boolean;
  done: boolean;
  scheduled: boolean;
  wake: () => void;
}

/** At most this share of the heap limit is filled by nodes built ahead. */
const AHEAD_HEAP = 0.5;

function aheadOf(on: boolean): Ahead {
  return { on, done: !on, scheduled: false, wake: () => undefined };
}

/** A new reading: building ahead starts over on its plan (the old one's nodes go with it). */
function restart(a: Ahead, current: Kept | { readonly errors: readonly Diagnostic[] }): void {
  if (!a.on) return;
  a.done = !('session' in current);
  a.wake();
}

/** Builds one node of the current reading ahead; whether to go on. */
function buildOneAhead(
  a: Ahead,
  current: Kept | { readonly errors: readonly Diagnostic[] },
): boolean {
  const plan = 'session' in current ? current.session.plan() : undefined;
  const heap = getHeapStatistics();
  if (heap.used_heap_size > heap.heap_size_limit * AHEAD_HEAP || !plan?.buildAhead?.()) {
    a.done = true;
    return false;
  }
  return true;
}

/**
 * Watches each input's directory (an editor replaces a file rather than
 * writing it in place, so the file itself cannot be watched) and calls
 * `changed` once a burst of changes has settled.
 */
function watchFiles(
  files: readonly string[],
  debounceMs: number,
  changed: (what: string) => void,
): { close(): void } {
  // Directory → the names in it that are inputs ('all' for a directory input).
  const dirs = new Map<string, Set<string> | 'all'>();
  for (const f of files) {
    const p = resolve(f);
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      continue;
    }
    const dir = isDir ? p : dirname(p);
    const names = dirs.get(dir);
    if (isDir) dirs.set(dir, 'all');
    else if (names === undefined) dirs.set(dir, new Set([basename(p)]));
    else if (names !== 'all') names.add(basename(p));
  }
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of dirs) {
    const w = watch(dir, (_event, file) => {
      const name = file === null ? undefined : String(file);
      if (names !== 'all' && (name === undefined || !names.has(name))) return;
      clearTimeout(timer);
      timer = setTimeout(() => changed(name ?? dir), debounceMs);
    });
    w.on('error', () => undefined);
    watchers.push(w);
  }
  return {
    close: () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

export function register(program: Command, io: Io): void {
  program
    .command('serve')
    .description(
      'Keep the twin built and answer trace, reach, explain, check and rules over HTTP, with an interactive trace page',
    )
    .requiredOption('-f, --file <files...>', 'cluster files or directories (YAML/JSON), watched')
    .option('--port <n>', `the port (0: any free one)`, String(DEFAULT_PORT))
    .option(
      '--address <ip>',
      'the address to listen on (loopback only, unless --allow-remote)',
      '127.0.0.1',
    )
    .option(
      '--allow-remote',
      'allow an address other hosts can reach: anyone who reaches it can ask',
    )
    .option(
      '--no-build-ahead',
      'build nodes only when a question needs them (by default, idle time builds the others: about 0.3 MB a node of 30 pods)',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (opts: ServeOpts) => {
      const port = parseIntOption(opts.port, '--port', 0, 65535);
      // One program answers every question (sharedProgram); main.js holds the command list.
      const { buildProgram } = await import('./main.js');
      const h = await startServe(io, {
        files: opts.file ?? [],
        ...(port !== undefined ? { port } : {}),
        ...(opts.address !== undefined ? { address: opts.address } : {}),
        allowRemote: opts.allowRemote === true,
        buildAhead: opts.buildAhead !== false,
        program: sharedProgram((qio) => buildProgram(qio)),
      });
      io.err(
        `packeteye serve: ${h.url} (SIGHUP or POST /api/reload reads the files again; Ctrl-C stops)\n`,
      );
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGHUP', hup);
          void h.close().then(done);
        };
        const hup = (): void => h.reload('SIGHUP');
        process.on('SIGHUP', hup);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
