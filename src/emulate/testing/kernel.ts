/**
 * What the real-kernel test suites (`*.kernel.test.ts`) share: whether this
 * machine can run them (root, Linux, the tools on PATH, `ip netns` working),
 * running a command and failing loudly, and deleting the `pe-…` network
 * namespaces a suite created. Test-only (tsconfig.build.json leaves
 * `testing/` out of the build).
 */
import { spawnSync } from 'node:child_process';

/** Is `cmd` on PATH? */
export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Root on Linux with every one of `tools` on PATH, and `ip netns` usable. */
export function canRunKernelTests(tools: readonly string[]): boolean {
  return (
    process.platform === 'linux' &&
    typeof process.getuid === 'function' &&
    process.getuid() === 0 &&
    tools.every(has) &&
    spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0
  );
}

/** Runs argv (5 s limit) and returns its stdout; throws with its stderr when it fails. */
export function sh(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0)
    throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** Deletes the namespaces named (and empties the list); one already gone is no error. */
export function deleteNamespaces(names: string[]): void {
  for (const ns of names.splice(0)) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
}
