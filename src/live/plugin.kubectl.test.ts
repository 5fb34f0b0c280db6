/**
 * packeteye as kubectl's plugin, through the real kubectl's plugin discovery:
 * the package built into a temporary directory, `kubectl-packeteye` on PATH,
 * `kubectl plugin list`, `kubectl packeteye --help`, and a trace of the
 * recorded cluster (src/live/testing/apiserver.ts) through the plugin.
 * Skipped when kubectl or openssl is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { haveTool, startFakeApiServer, type FakeApiServer } from './testing/apiserver.js';

const ROOT = join(import.meta.dirname, '../..');
const ready = haveTool('kubectl') && haveTool('openssl');

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { env, timeout: 60000 }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

describe('the krew manifest', () => {
  it('names the plugin and a bin the package ships', () => {
    const m = parse(readFileSync(join(ROOT, 'plugins/packeteye.yaml'), 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { version: string; platforms: { bin: string; uri: string; sha256: string }[] };
    };
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
      bin: Record<string, string>;
    };
    expect(m.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
    expect(m.kind).toBe('Plugin');
    expect(m.metadata.name).toBe('packeteye');
    expect(m.spec.version).toBe(`v${pkg.version}`);
    expect(pkg.bin['kubectl-packeteye']).toBe('bin/kubectl-packeteye.js');
    for (const p of m.spec.platforms) {
      expect(`${p.bin}`).toBe(pkg.bin['kubectl-packeteye']);
      expect(p.uri).toContain(`packeteye-${pkg.version}.tgz`);
      expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe.skipIf(!ready)('kubectl packeteye, found by kubectl on PATH', () => {
  let api: FakeApiServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pe-plugin-'));
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
      { stdio: 'ignore' },
    );
    copyFileSync(join(ROOT, 'bin/kubectl-packeteye.js'), join(pkg, 'bin/kubectl-packeteye.js'));
    writeFileSync(join(pkg, 'package.json'), '{"type":"module"}\n');
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    // what npm (and krew) put on PATH: an executable named kubectl-packeteye
    mkdirSync(join(dir, 'path'));
    symlinkSync(join(pkg, 'bin/kubectl-packeteye.js'), join(dir, 'path/kubectl-packeteye'));
    api = await startFakeApiServer();
    env = {
      ...process.env,
      PATH: `${join(dir, 'path')}:${process.env.PATH ?? ''}`,
      KUBECONFIG: api.kubeconfig,
      KUBECACHEDIR: join(dir, 'cache'),
    };
  }, 240000);
  afterAll(async () => {
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl plugin list finds it', async () => {
    const r = await run(['plugin', 'list'], env);
    expect(r.out).toContain(join(dir, 'path/kubectl-packeteye'));
  }, 60000);

  it('help and usage say kubectl packeteye', async () => {
    const r = await run(['packeteye', '--help'], env);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Usage: kubectl packeteye [options] [command]');
    expect(r.out).toContain('  kubectl packeteye trace -f examples/two-nodes.yaml');
    expect(r.out).not.toMatch(/(^|[^-\w])(?<!kubectl )packeteye trace/m);
    const t = await run(['packeteye', 'trace', '--help'], env);
    expect(t.out).toContain('Usage: kubectl packeteye trace [options]');
    expect(t.out).toContain('  kubectl packeteye trace -n shop --from web-1 --to svc/api:80');
    expect(t.out).not.toContain('kubectl kubectl');
    const bad = await run(['packeteye', 'trace', '--bogus'], env);
    expect(bad.code).toBe(2);
  }, 60000);

  it('kubectl packeteye trace reads the current context', async () => {
    api.requests.length = 0;
    const r = await run(
      ['packeteye', 'trace', '-n', 'shop', '--from', 'web-1', '--to', 'svc/api:80'],
      env,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/delivered/);
    expect(api.requests.some((q) => q.path.startsWith('/api/v1/pods'))).toBe(true);
  }, 60000);
});
