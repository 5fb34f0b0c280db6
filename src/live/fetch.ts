/**
 * Reads a live cluster with the user's kubectl: which context it is (from the
 * kubeconfig alone), then one `kubectl get … -o json` per scope (every
 * namespace; kube-system's ConfigMaps). A kind the user may not list is a
 * warning naming what is then unknown, and the listing is read again without
 * it (a namespaced kind refused at cluster scope is read in `-n NS` when one
 * is given); a kind the server does not serve (a CRD not installed) is
 * skipped; a server that cannot be reached, or answers too late, is an
 * InputError (exit 2) naming the context and the server and what to check.
 */
import { InputError, type Diagnostic } from '../diag.js';
import {
  classifyGetError,
  configViewArgs,
  fatalHint,
  getArgs,
  parseConfigView,
  parseListJson,
  type ContextInfo,
  type KindSpec,
  type KubeTarget,
} from './kubectl.js';
import type { Runner } from './run.js';

export interface FetchOptions {
  readonly target: KubeTarget;
  readonly kinds: readonly KindSpec[];
  /** `-n NS`: where namespaced kinds refused at cluster scope are read instead. */
  readonly namespace?: string;
  readonly requestTimeoutS: number;
  /** The kubectl to run (default `kubectl` on PATH). */
  readonly kubectl?: string;
}

export interface FetchResult {
  /** One text per listing, named by the command that produced it: what `-f` would have read. */
  readonly inputs: { path: string; text: string }[];
  readonly diagnostics: Diagnostic[];
  readonly context?: ContextInfo;
  /** The kubectl argv run, in order (for tests and `-v`). */
  readonly commands: string[][];
}

type Scope = { all: true } | { name: string };

function scopeText(s: Scope): string {
  return 'all' in s ? '-A' : `-n ${s.name}`;
}

export async function fetchCluster(run: Runner, o: FetchOptions): Promise<FetchResult> {
  const kubectl = o.kubectl ?? 'kubectl';
  const commands: string[][] = [];
  const diagnostics: Diagnostic[] = [];
  const inputs: { path: string; text: string }[] = [];
  const processTimeoutMs = o.requestTimeoutS * 2000 + 5000;

  const cv = configViewArgs(o.target);
  commands.push(cv);
  const view = await run(kubectl, cv, { timeoutMs: 15000 });
  if (view.spawnError !== undefined) {
    throw InputError.of(
      'live-no-kubectl',
      view.spawnError === 'ENOENT'
        ? `${kubectl} is not on PATH: packeteye reads a live cluster through kubectl`
        : `cannot run ${kubectl}: ${view.spawnError}`,
      { field: '-f' },
      'install kubectl (or put it on PATH), or give the cluster as files with -f (kubectl get -A -o yaml …)',
    );
  }
  const ctx = view.code === 0 ? parseConfigView(view.stdout) : undefined;
  if (view.code !== 0 || ctx === undefined || ctx.server === '') {
    const msg = (view.stderr.trim() || view.stdout.trim() || 'no current context').split('\n')[0];
    throw InputError.of(
      'live-kubeconfig',
      `no cluster to read: ${msg}`,
      { field: o.target.context !== undefined ? '--context' : '--kubeconfig' },
      'check --kubeconfig / KUBECONFIG and --context (kubectl config get-contexts lists them), or give the cluster as files with -f',
    );
  }
  const where = `context ${ctx.context}`;

  const groups = new Map<string, { scope: Scope; kinds: KindSpec[] }>();
  for (const k of o.kinds) {
    const key = k.scope;
    const scope: Scope = k.scope === 'all' ? { all: true } : { name: 'kube-system' };
    const g = groups.get(key) ?? { scope, kinds: [] };
    g.kinds.push(k);
    groups.set(key, g);
  }
  const queue = [...groups.values()];
  while (queue.length > 0) {
    const g = queue.shift()!;
    let kinds = [...g.kinds];
    // Each pass drops at least one kind, so this ends.
    while (kinds.length > 0) {
      const resources = kinds.map((k) => k.resource);
      const args = getArgs(o.target, resources, g.scope, o.requestTimeoutS);
      commands.push(args);
      const r = await run(kubectl, args, { timeoutMs: processTimeoutMs });
      const path = `kubectl get ${resources.join(',')} ${scopeText(g.scope)} (${where})`;
      if (r.timedOut) {
        throw InputError.of(
          'live-timeout',
          `kubectl did not finish in ${Math.round(processTimeoutMs / 1000)}s reading ${where} (server ${ctx.server})`,
          { file: path },
          fatalHint('timeout', ctx),
        );
      }
      if (r.code === 0) {
        if (parseListJson(r.stdout) === undefined)
          throw InputError.of(
            'live-bad-output',
            'kubectl -o json printed something that is not a JSON list',
            { file: path },
            'run the same command by hand to see what it prints',
          );
        inputs.push({ path, text: r.stdout });
        break;
      }
      const f = classifyGetError(r.stderr, resources);
      const dropped = new Set([...f.forbidden.map((x) => x.resource), ...f.absent]);
      if (dropped.size === 0 || !kinds.some((k) => dropped.has(k.resource))) {
        const kind = f.fatal?.kind ?? 'other';
        const first = f.fatal?.message ?? (r.stderr.trim().split('\n')[0] || `exit ${r.code}`);
        throw InputError.of(
          `live-${kind}`,
          `cannot read ${where} (server ${ctx.server}): ${first}`,
          { file: path },
          fatalHint(kind, ctx),
        );
      }
      const refusedHere: KindSpec[] = [];
      for (const fb of f.forbidden) {
        const k = kinds.find((x) => x.resource === fb.resource);
        if (!k) continue;
        const retry = k.namespaced && 'all' in g.scope && o.namespace !== undefined;
        if (retry) refusedHere.push(k);
        diagnostics.push({
          code: 'live-forbidden',
          severity: 'warning',
          message: `${k.resource} ${scopeText(g.scope)}: forbidden (${fb.message}); unknown: ${k.unknown}${retry ? `; reading namespace ${o.namespace} only` : ''}`,
          file: path,
          hint: `ask for list permission on ${k.resource}, or give it as a file with -f`,
        });
      }
      for (const a of f.absent) {
        const k = kinds.find((x) => x.resource === a);
        if (!k) continue;
        diagnostics.push({
          code: 'live-kind-absent',
          severity: k.optional ? 'info' : 'warning',
          message: `the server does not serve ${k.resource}; unknown: ${k.unknown}`,
          file: path,
        });
      }
      kinds = kinds.filter((k) => !dropped.has(k.resource));
      if (refusedHere.length > 0) queue.push({ scope: { name: o.namespace! }, kinds: refusedHere });
    }
  }
  return { inputs, diagnostics, context: ctx, commands };
}
