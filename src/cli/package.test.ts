/**
 * The package as a user gets it: `npm pack` (which builds dist/ through
 * `prepare`), the tarball installed into an empty directory, and from there
 * the `packeteye` command (version, a trace, a closed pipe) and the library
 * (a typed example compiled against the shipped declarations, then run).
 * Tests, test helpers and the bench stay out of the tarball. The runtime
 * dependencies travel inside it (the krew archive is this tarball as it is):
 * it is installed with an empty npm cache and no registry, so a dependency
 * left out of `bundleDependencies` fails the install here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve('.');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  bundleDependencies: string[];
};
let dir = '';
let files: string[] = [];

const bin = () => join(dir, 'node_modules', '.bin', 'packeteye');
const run = (args: string[]) =>
  spawnSync(bin(), args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pe-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const packed = JSON.parse(out.slice(out.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  files = packed[0]!.files.map((f) => f.path);
  writeFileSync(
    join(dir, 'package.json'),
    '{ "name": "user", "private": true, "type": "module" }\n',
  );
  // The dependencies are bundled: the tarball installs without a registry, from an empty cache.
  execFileSync(
    'npm',
    [
      'install',
      '--offline',
      '--cache',
      join(dir, '.npm-cache'),
      '--no-audit',
      '--no-fund',
      join(dir, packed[0]!.filename),
    ],
    // npm's stderr goes into the error (ENOTCACHED names a dependency not bundled).
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack, installed elsewhere', () => {
  it('ships the build, the licence and the examples; no tests, test helpers, bench or fuzzers', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'bin/packeteye.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli/main.js',
      ]),
    );
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toContain(
      'Apache License\n                           Version 2.0',
    );
    const stray = files.filter((f) =>
      /\.test\.|\/testing\/|testkit|^dist\/bench\/|^dist\/cli\/fuzz\//.test(f),
    );
    expect(stray).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
  });

  it('bundles every runtime dependency', () => {
    const deps = Object.keys(PKG.dependencies).sort();
    expect([...PKG.bundleDependencies].sort()).toEqual(deps);
    expect(files.filter((f) => /^node_modules\/[^/]+\/package\.json$/.test(f))).toEqual(
      expect.arrayContaining(deps.map((d) => `node_modules/${d}/package.json`)),
    );
  });

  it('packeteye --version', () => {
    const r = run(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(PKG.version);
    expect(r.status).toBe(0);
  });

  it('packeteye serve --help (serve loads every command and the WebSocket server)', () => {
    const r = run(['serve', '--help']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: packeteye serve /);
    expect(r.status).toBe(0);
  });

  it('packeteye trace on a shipped example', () => {
    const r = run([
      'trace',
      '-f',
      'node_modules/packeteye/examples/two-nodes.yaml',
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/⇒ delivered at default\/store-be-/);
  });

  it('a closed pipe ends the command quietly with status 0', () => {
    // `true` exits without reading: every write after that meets EPIPE.
    const bash = spawnSync(
      'bash',
      [
        '-c',
        `"${bin()}" reach -f node_modules/packeteye/examples/three-tier-policy.yaml | true; echo "\${PIPESTATUS[0]}"`,
      ],
      { cwd: dir, encoding: 'utf8', timeout: 60_000 },
    );
    expect(bash.stderr).toBe('');
    expect(bash.stdout.trim()).toBe('0');
  });

  it('the library: a typed example compiles against the declarations and runs', () => {
    writeFileSync(
      join(dir, 'example.ts'),
      `import { readFileSync } from 'node:fs';
import { loadCluster, planTwin, traceConnection, renderTraceText, type ConnectionTrace } from 'packeteye';

const path = 'node_modules/packeteye/examples/two-nodes.yaml';
const { model, diagnostics } = loadCluster([{ path, text: readFileSync(path, 'utf8') }]);
if (diagnostics.some((d) => d.severity === 'error')) throw new Error('unreadable input');
const plan = planTwin(model);
const trace: ConnectionTrace = traceConnection(plan, { from: 'default/frontend', to: 'svc/default/store-be:80' });
const step = trace.request.hops[0]!.steps[0]!;
const kind: string = step.kind;
console.log(JSON.stringify({ disposition: trace.request.disposition, at: trace.request.at, kind }));
process.stderr.write(renderTraceText(trace));
`,
    );
    execFileSync(
      join(ROOT, 'node_modules', '.bin', 'tsc'),
      [
        '--strict',
        '--noEmit',
        'false',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        '--outDir',
        'out',
        'example.ts',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    const r = spawnSync(process.execPath, ['out/example.js'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { disposition: string; at: string; kind: string };
    expect(got.disposition).toBe('delivered');
    expect(got.at).toMatch(/^default\/store-be-/);
    expect(r.stderr).toContain('trace default/frontend → svc/default/store-be:80');
  });
});
