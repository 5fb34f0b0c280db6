/**
 * Without `-f`, `trace`, `rules` and `reach` read the current kubeconfig
 * context through the user's kubectl (live/fetch.ts): the options kubectl has
 * for choosing a cluster, and the step that turns a live read into the same
 * inputs `-f` would give, so the rest of each command does not know the
 * difference.
 */
import { Option, type Command } from 'commander';
import { formatDiagnostic, InputError } from '../diag.js';
import { fetchCluster } from '../live/fetch.js';
import { DEFAULT_REQUEST_TIMEOUT_S, type KindSpec } from '../live/kubectl.js';
import { processRunner, type Runner } from '../live/run.js';
import type { Io } from './io.js';

export interface LiveOpts {
  file?: string[];
  kubeconfig?: string;
  context?: string;
  allNamespaces?: boolean;
  requestTimeout?: string;
}

export const FILE_HELP =
  'cluster files or directories (YAML/JSON, multi-document; - for stdin); without -f, the current kubectl context is read';

/** kubectl's flags for choosing a cluster, on a command that reads one. */
export function addLiveOptions(cmd: Command, allNamespacesHelp: string): Command {
  return cmd
    .option('--kubeconfig <file>', 'without -f: the kubeconfig file kubectl uses')
    .option('--context <name>', 'without -f: the kubeconfig context to read')
    .addOption(new Option('-A, --all-namespaces', allNamespacesHelp))
    .option(
      '--request-timeout <duration>',
      `without -f: how long kubectl waits for the API server (e.g. 10s, 1m)`,
      `${DEFAULT_REQUEST_TIMEOUT_S}s`,
    );
}

function parseDuration(text: string): number {
  const m = /^(\d+)(s|m)?$/.exec(text.trim());
  if (!m || Number(m[1]) === 0)
    throw InputError.of(
      'bad-option',
      `--request-timeout ${JSON.stringify(text)}: not a duration like 20s or 1m`,
      { field: '--request-timeout' },
      'e.g. --request-timeout 30s',
    );
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/** The runner live reads use; tests swap it for a recorded one. */
let runner: Runner = processRunner;
export function setLiveRunner(r: Runner): Runner {
  const old = runner;
  runner = r;
  return old;
}

/**
 * The files to read: `-f`'s as given, or the live cluster's listings behind
 * an Io that serves them as if they were files (named by the kubectl command
 * that produced them, so diagnostics say where an object came from).
 */
export async function clusterSources(
  io: Io,
  opts: LiveOpts,
  kinds: readonly KindSpec[],
  namespace: string | undefined,
): Promise<{ io: Io; files: string[] }> {
  if (opts.file !== undefined && opts.file.length > 0) {
    for (const flag of ['kubeconfig', 'context'] as const)
      if (opts[flag] !== undefined)
        io.err(`packeteye: --${flag} is ignored: -f gives the cluster\n`);
    return { io, files: opts.file };
  }
  const requestTimeoutS = parseDuration(opts.requestTimeout ?? `${DEFAULT_REQUEST_TIMEOUT_S}s`);
  const r = await fetchCluster(runner, {
    target: {
      ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context !== undefined ? { context: opts.context } : {}),
    },
    kinds,
    ...(namespace !== undefined && opts.allNamespaces !== true ? { namespace } : {}),
    requestTimeoutS,
  });
  for (const d of r.diagnostics) if (d.severity !== 'info') io.err(`${formatDiagnostic(d)}\n`);
  if (r.inputs.length === 0)
    throw InputError.of(
      'live-nothing-read',
      `nothing could be read from context ${r.context?.context ?? '?'}: every kind was refused`,
      { field: '--context' },
      'ask for list permission on pods, services and nodes, or give the cluster as files with -f',
    );
  const texts = new Map(r.inputs.map((i) => [i.path, i.text]));
  const live: Io = {
    ...io,
    out: (t) => io.out(t),
    err: (t) => io.err(t),
    readFile: (p) => texts.get(p) ?? io.readFile(p),
    listDir: (p) => (texts.has(p) ? undefined : io.listDir(p)),
  };
  return { io: live, files: [...texts.keys()] };
}
