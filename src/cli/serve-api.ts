/**
 * `packeteye serve`'s questions: each endpoint is one of the commands, run
 * in-process with the same options, `-o json`, and the twin session the
 * server keeps (cli/cluster.ts answers from it instead of reading `-f` again).
 * An answer is therefore the command's own JSON document, by construction;
 * what the command would write on stderr (the input's warnings, notes) comes
 * back beside it, and a refusal comes back with the command's diagnostic codes.
 *
 * Only the options listed here pass: nothing that reads a file, runs kubectl
 * or writes anything (`-f`, `--against`, `--node-state`, `--kubeconfig`,
 * `--context`, `-o` are the server's own).
 */
import { CommanderError, type Command } from 'commander';
import { InputError, type Diagnostic } from '../diag.js';
import { closeMatches } from '../trace/refs.js';
import type { TwinSession } from '../twin/session.js';
import { ExitStatus } from './exit.js';
import type { Io } from './io.js';

/** The cluster as the server holds it: the files, and their last reading. */
export interface Kept {
  readonly files: readonly string[];
  readonly session: TwinSession;
  /** Counts up with every reading (the page shows it; a reload makes a new one). */
  readonly generation: number;
}

/** One endpoint: the command it runs and the query parameters it takes. */
interface Route {
  readonly method: 'GET' | 'POST';
  readonly command: string;
  /** Parameter → the command's option taking its value. */
  readonly values: Readonly<Record<string, string>>;
  /** Parameter → the command's switch, given when the value is true/1/yes/empty. */
  readonly switches: Readonly<Record<string, string>>;
  /** The output option (every command's answer is its `-o json` document). */
  readonly output?: string;
  /** What a parameter does (for the endpoint table in the docs and the error for an unknown one). */
  readonly about: string;
}

const TRACE_VALUES = {
  from: '--from',
  to: '--to',
  namespace: '-n',
  proto: '--proto',
  sport: '--sport',
  seed: '--seed',
  http: '--http',
  defaults: '--defaults',
};

export const ROUTES: Readonly<Record<string, Route>> = {
  '/api/trace': {
    method: 'GET',
    command: 'trace',
    values: TRACE_VALUES,
    switches: { 'all-paths': '--all-paths', strict: '--strict' },
    output: 'json',
    about: 'packeteye trace -o json',
  },
  '/api/reach': {
    method: 'GET',
    command: 'reach',
    values: { port: '--port', namespace: '-n' },
    switches: { 'no-externals': '--no-externals', strict: '--strict' },
    output: 'json',
    about: 'packeteye reach -o json',
  },
  '/api/explain': {
    method: 'GET',
    command: 'reach',
    values: { from: '--explain', to: '--explain', port: '--port', namespace: '-n' },
    switches: { strict: '--strict' },
    output: 'json',
    about: 'packeteye reach --explain FROM TO -o json',
  },
  '/api/rules': {
    method: 'GET',
    command: 'rules',
    values: {
      node: '--node',
      pod: '--pod',
      namespace: '-n',
      only: '--only',
      from: '--from',
      to: '--to',
    },
    switches: { 'after-trace': '--after-trace', strict: '--strict' },
    output: 'json',
    about: 'packeteye rules -o json (the NodeRules document)',
  },
  '/api/check': {
    method: 'POST',
    command: 'check',
    values: {},
    switches: {},
    output: 'json',
    about: 'packeteye check --expect BODY -o json',
  },
};

/** The path an expectations body is known by in diagnostics (`check`). */
export const BODY_PATH = 'request-body.yaml';

/** A question answered, or refused. */
export interface Outcome {
  readonly status: number;
  /** The command's stdout: its JSON document. */
  readonly stdout: string;
  /** What the command wrote on stderr, line by line (warnings, notes). */
  readonly stderr: readonly string[];
  /** Why it was refused: the command's diagnostics, with their codes. */
  readonly errors?: readonly Diagnostic[];
  /** The command's exit status (`check`: 1 when an expectation does not hold). */
  readonly exit: number;
}

/** A refusal before any command runs: status and one diagnostic. */
export function refusal(status: number, code: string, message: string, hint?: string): Outcome {
  return {
    status,
    stdout: '',
    stderr: [],
    errors: [{ code, severity: 'error', message, ...(hint ? { hint } : {}) }],
    exit: 2,
  };
}

/** The command line a query stands for, or a refusal naming the parameter. */
export function argvFor(
  path: string,
  query: URLSearchParams,
  files: readonly string[],
): string[] | Outcome {
  const route = ROUTES[path];
  if (!route) return refusal(404, 'not-found', `no endpoint ${path}`);
  const argv = [route.command, '-f', ...files];
  const explain: string[] = [];
  for (const [name, value] of query) {
    const opt = route.values[name];
    const sw = route.switches[name];
    if (opt === '--explain') explain[name === 'from' ? 0 : 1] = value;
    else if (opt !== undefined) argv.push(opt, value);
    else if (sw !== undefined) {
      if (!['', '1', 'true', 'yes', '0', 'false', 'no'].includes(value))
        return refusal(400, 'bad-parameter', `${name}=${value}: give true or false`);
      if (['', '1', 'true', 'yes'].includes(value)) argv.push(sw);
    } else {
      const known = [...Object.keys(route.values), ...Object.keys(route.switches)];
      const near = closeMatches(name, known);
      return refusal(
        400,
        'unknown-parameter',
        `${path} takes no parameter ${JSON.stringify(name)}`,
        near.length > 0
          ? `did you mean ${near.join(', ')}?`
          : known.length > 0
            ? `it takes ${known.join(', ')}`
            : 'it takes none',
      );
    }
  }
  if (route.values.from === '--explain') {
    if (explain[0] === undefined || explain[1] === undefined)
      return refusal(400, 'bad-parameter', `${path} needs from and to`, 'e.g. ?from=ns/a&to=ns/b');
    argv.push('--explain', explain[0], explain[1]);
  }
  if (route.command === 'check') argv.push('--expect', BODY_PATH);
  if (route.output) argv.push('-o', route.output);
  return argv;
}

/**
 * One program for every question, its output sent to the question's own Io:
 * commander's command tree (every command, every option) costs more to build
 * than many answers, and commander puts a program back to its state before
 * each parse. Questions through it must run one at a time (runCommand does).
 */
export function sharedProgram(build: (io: Io) => Command): (io: Io) => Command {
  let current: Io | undefined;
  const now = (): Io => current!;
  const io: Io = {
    out: (t) => now().out(t),
    outBytes: (b) => now().outBytes(b),
    err: (t) => now().err(t),
    readFile: (path) => now().readFile(path),
    listDir: (path) => now().listDir(path),
    get isTty() {
      return now().isTty;
    },
    get errIsTty() {
      return now().errIsTty;
    },
    get session() {
      return now().session;
    },
    get compactJson() {
      return now().compactJson;
    },
    get onTrace() {
      return now().onTrace;
    },
  };
  let program: Command | undefined;
  return (q) => {
    current = q;
    return (program ??= build(io));
  };
}

/** The question being answered: the next waits for it (a shared program parses one at a time). */
let answering: Promise<unknown> = Promise.resolve();

/**
 * Runs one command line against the kept session, in memory: its stdout and
 * stderr captured, its refusals as diagnostics. `body` is what `--expect`
 * reads (check). Questions run one at a time, in the order asked.
 */
export function runCommand(
  program: (io: Io) => Command,
  kept: Kept,
  argv: readonly string[],
  body?: string,
  onTrace?: Io['onTrace'],
): Promise<Outcome> {
  const run = answering.then(() => runOne(program, kept, argv, body, onTrace));
  answering = run.catch(() => undefined);
  return run;
}

async function runOne(
  program: (io: Io) => Command,
  kept: Kept,
  argv: readonly string[],
  body: string | undefined,
  onTrace: Io['onTrace'],
): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    outBytes: () => undefined,
    err: (t) => void err.push(t),
    readFile: (path) => {
      if (path === BODY_PATH && body !== undefined) return body;
      throw InputError.of('file-unreadable', 'the server reads no file for a question', {
        file: path,
      });
    },
    listDir: () => undefined,
    isTty: false,
    errIsTty: false,
    session: { files: kept.files, session: kept.session },
    // The answer goes out inside the envelope as written: no indentation to send and parse.
    compactJson: true,
    ...(onTrace ? { onTrace } : {}),
  };
  const lines = (): string[] =>
    err
      .join('')
      .split('\n')
      .filter((l) => l !== '');
  let exit = 0;
  try {
    await program(io).parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof ExitStatus) exit = e.code;
    else if (e instanceof InputError)
      return { status: 400, stdout: '', stderr: lines(), errors: e.diagnostics, exit: 2 };
    else if (e instanceof CommanderError) {
      // The usage error commander wrote to stderr is the message.
      const said = lines().filter((l) => l.startsWith('error:'));
      return {
        ...refusal(400, 'bad-parameter', (said[0] ?? e.message).replace(/^error: /, '')),
        stderr: [],
      };
    } else throw e;
  }
  return { status: 200, stdout: out.join(''), stderr: lines(), exit };
}

/** Commands whose answers are kept per reading: the policy world and its matrix are built once per question. */
const KEPT_COMMANDS = new Set(['reach', 'check']);
/** At most this much answer text is kept per reading (the least recently asked dropped first). */
const KEPT_ANSWER_BYTES = 128 * 1024 * 1024;

const answers = new WeakMap<Kept, { readonly byArgv: Map<string, Outcome>; bytes: number }>();

/**
 * runCommand, answering a `reach`, `reach --explain` or `check` question asked
 * before of the same reading from what it answered then: a reading never
 * changes (a reload is a new one), and the commands read nothing else.
 */
export async function runKept(
  program: (io: Io) => Command,
  kept: Kept,
  argv: readonly string[],
  body?: string,
): Promise<Outcome> {
  if (!KEPT_COMMANDS.has(argv[0] ?? '')) return runCommand(program, kept, argv, body);
  let a = answers.get(kept);
  if (!a) answers.set(kept, (a = { byArgv: new Map(), bytes: 0 }));
  const key = JSON.stringify([argv, body ?? null]);
  const hit = a.byArgv.get(key);
  if (hit) {
    a.byArgv.delete(key);
    a.byArgv.set(key, hit);
    return hit;
  }
  const o = await runCommand(program, kept, argv, body);
  const size = o.stdout.length;
  if (size > KEPT_ANSWER_BYTES) return o;
  a.byArgv.set(key, o);
  a.bytes += size;
  for (const [k, old] of a.byArgv) {
    if (a.bytes <= KEPT_ANSWER_BYTES) break;
    a.byArgv.delete(k);
    a.bytes -= old.stdout.length;
  }
  return o;
}
