/**
 * `packeteye node collect [NODE] [-o DIR]`: a node's own state as one bundle
 * (live/bundle.ts). Without NODE, of the machine (or network namespace) it
 * runs in, as root; with NODE, through `kubectl debug node/NODE` — a
 * short-lived debug pod, said before it is created and deleted afterwards.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../diag.js';
import {
  collectComplete,
  collectScript,
  debugNodeArgs,
  debugPodName,
  formatManifest,
  MANIFEST,
  parseCollectOutput,
  type Bundle,
} from '../live/bundle.js';
import { targetArgs } from '../live/kubectl.js';
import { processRunner, type RunResult } from '../live/run.js';
import type { Io } from './io.js';

interface CollectOpts {
  output?: string;
  netns?: string;
  kubeconfig?: string;
  context?: string;
  image: string;
  debugNamespace: string;
  profile: string;
  timeout: string;
}

const EXAMPLES = `
Examples:
  # On a node, as root: its iptables, IP sets, nftables, routes, neighbours, FDB, conntrack, sysctls
  sudo packeteye node collect -o node-1.state

  # Through kubectl debug (a debug pod on the node, deleted afterwards)
  kubectl packeteye node collect worker-1 -o worker-1.state

  # Then trace through what the node really holds, or compare it with the twin
  kubectl packeteye trace --node-state worker-1.state --from web-1 --to svc/api:80
`;

/** Writes the bundle's directory: the manifest and one file per tool. */
export function writeBundle(dir: string, b: Bundle): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MANIFEST), formatManifest(b.manifest));
    for (const [name, text] of b.files) writeFileSync(join(dir, name), text);
  } catch (e) {
    throw InputError.of(
      'node-state-unwritable',
      `cannot write the bundle: ${(e as Error).message}`,
      { file: dir },
      'give -o a directory you can write',
    );
  }
}

function failed(what: string, r: RunResult): InputError {
  const why = r.spawnError
    ? `cannot run it (${r.spawnError})`
    : r.timedOut
      ? 'it did not finish in time'
      : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
  return InputError.of('node-collect-failed', `${what}: ${why}`, {}, undefined);
}

async function collectHere(timeoutMs: number, netns: string | undefined): Promise<Bundle> {
  const sh = ['sh', '-c', collectScript()];
  const r =
    netns === undefined
      ? await processRunner(sh[0]!, sh.slice(1), { timeoutMs })
      : await processRunner('ip', ['netns', 'exec', netns, ...sh], { timeoutMs });
  if (
    r.spawnError ||
    r.timedOut ||
    (netns !== undefined && r.code !== 0 && !r.stdout.includes('@@PACKETEYE-BEGIN'))
  )
    throw failed(netns === undefined ? 'sh -c (collect script)' : `ip netns exec ${netns}`, r);
  return parseCollectOutput(r.stdout);
}

async function collectThroughKubectl(
  io: Io,
  node: string,
  o: CollectOpts,
  timeoutMs: number,
): Promise<Bundle> {
  const target = {
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context !== undefined ? { context: o.context } : {}),
  };
  io.err(
    `packeteye: creating a debug pod on node ${node} (kubectl debug node/${node}, image ${o.image}, namespace ${o.debugNamespace}, profile ${o.profile}) to read its state; it is deleted afterwards\n`,
  );
  const args = debugNodeArgs(target, node, {
    image: o.image,
    namespace: o.debugNamespace,
    profile: o.profile,
  });
  let r = await processRunner('kubectl', args, { timeoutMs });
  const pod = debugPodName(r.stderr);
  if (pod !== undefined) {
    // A script that ends before kubectl attaches leaves its output in the container's log only.
    if (!collectComplete(r.stdout) && !r.spawnError) {
      const logs = await processRunner(
        'kubectl',
        [...targetArgs(target), '--namespace', o.debugNamespace, 'logs', pod],
        { timeoutMs: 60000 },
      );
      if (collectComplete(logs.stdout)) r = { ...r, stdout: logs.stdout };
    }
    const del = await processRunner(
      'kubectl',
      [
        ...targetArgs(target),
        '--namespace',
        o.debugNamespace,
        'delete',
        'pod',
        pod,
        '--wait=false',
      ],
      { timeoutMs: 60000 },
    );
    if (del.code === 0) io.err(`packeteye: deleted debug pod ${o.debugNamespace}/${pod}\n`);
    else
      io.err(
        `packeteye: warning: could not delete debug pod ${o.debugNamespace}/${pod}: ${del.stderr.trim()}; delete it with kubectl delete pod -n ${o.debugNamespace} ${pod}\n`,
      );
  } else if (r.code !== 0 || r.timedOut) {
    io.err(
      `packeteye: kubectl debug did not say which pod it created; check kubectl get pods -n ${o.debugNamespace} for node-debugger-${node}-*\n`,
    );
  }
  if (r.spawnError || r.timedOut || !r.stdout.includes('@@PACKETEYE-BEGIN'))
    throw failed(`kubectl debug node/${node}`, r);
  return parseCollectOutput(r.stdout);
}

export function register(program: Command, io: Io): void {
  const node = program
    .command('node')
    .description("A node's own state: collect it (then trace --node-state DIR, or drift)");
  node
    .command('collect')
    .description(
      "Collect a node's kernel state into one bundle: iptables-save/ip6tables-save (legacy and nft), ipset save, nft list ruleset, ip -j addr/link/route/rule/neigh, bridge -j fdb, conntrack -L, sysctls",
    )
    .argument(
      '[node]',
      'collect from this cluster node through kubectl debug (default: this machine)',
    )
    .option('-o, --output <dir>', 'the bundle directory (default: node-state-HOSTNAME)')
    .option(
      '--netns <name>',
      'without NODE: collect inside this named network namespace (ip netns exec)',
    )
    .option('--kubeconfig <file>', 'with NODE: the kubeconfig file kubectl uses')
    .option('--context <name>', 'with NODE: the kubeconfig context')
    .option('--image <image>', 'with NODE: the debug pod image', 'busybox:1.36')
    .option('--debug-namespace <ns>', 'with NODE: where the debug pod runs', 'default')
    .option(
      '--profile <p>',
      'with NODE: kubectl debug --profile (sysadmin: privileged; legacy: kubectl before 1.26, no flag)',
      'sysadmin',
    )
    .option('--timeout <seconds>', 'give up after this long', '120')
    .addHelpText('after', EXAMPLES)
    .action(async (name: string | undefined, o: CollectOpts) => {
      const secs = Number(o.timeout);
      if (!Number.isInteger(secs) || secs <= 0)
        throw InputError.of(
          'bad-option',
          `--timeout ${JSON.stringify(o.timeout)}: not a number of seconds`,
          {
            field: '--timeout',
          },
        );
      const b =
        name === undefined
          ? await collectHere(secs * 1000, o.netns)
          : await collectThroughKubectl(io, name, o, secs * 1000);
      const dir = o.output ?? `node-state-${b.manifest.metadata.name}`;
      writeBundle(dir, b);
      const missing = b.manifest.spec.files.filter((f) => f.missing).map((f) => f.command);
      for (const w of b.manifest.spec.warnings) io.err(`packeteye: warning: ${w}\n`);
      if (missing.length > 0)
        io.err(`packeteye: not on the node (recorded as missing): ${missing.join(', ')}\n`);
      io.out(
        `${dir}: ${b.files.size} files from ${b.manifest.metadata.name} (iptables: ${b.manifest.spec.iptablesMode})\n`,
      );
    });
}
