import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { expectDocument } from '../../src/render/testing/schema.js';

const FILES = {
  'examples/gke-lb-traefik.yaml': readFileSync('examples/gke-lb-traefik.yaml', 'utf8'),
};

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo(FILES);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('packeteye trace at the edge', () => {
  it('--http follows the request through Traefik to the Ingress backend', async () => {
    const r = await run([
      'trace',
      '-f',
      'examples/gke-lb-traefik.yaml',
      '--from',
      'host/user',
      '--to',
      '35.211.100.7:80',
      '--sport',
      '32345',
      '--http',
      'whoami.example.com/',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const t = expectDocument(r.out, 'Trace') as {
      rewrites: { kind: string }[];
      proxy: { backend: string };
    };
    expect(t.rewrites.map((x) => x.kind)).toContain('proxy');
    expect(t.proxy.backend).toBe('10.24.0.9:80');
  });

  it('text output shows the upstream connection after the client leg', async () => {
    const r = await run([
      'trace',
      '-f',
      'examples/gke-lb-traefik.yaml',
      '--from',
      'host/user',
      '--to',
      '35.211.100.7:80',
      '--http',
      'whoami.example.com',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('upstream, traefik in kube-system/traefik');
  });

  it('a host no Ingress serves: the controller answers itself, with a diagnostic', async () => {
    const r = await run([
      'trace',
      '-f',
      'examples/gke-lb-traefik.yaml',
      '--from',
      'host/user',
      '--to',
      '35.211.100.7:80',
      '--http',
      'other.example.com',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const t = expectDocument(r.out, 'Trace') as {
      diagnostics: { code: string }[];
      upstream?: unknown;
    };
    expect(t.upstream).toBeUndefined();
    expect(t.diagnostics.map((d) => d.code)).toContain('ingress-no-route');
  });

  it('a packet from the internet to a closed port dies at the VPC firewall, named', async () => {
    const r = await run([
      'trace',
      '-f',
      'examples/gke-lb-traefik.yaml',
      '--from',
      'host/user',
      '--to',
      '35.211.248.125:31080',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const t = expectDocument(r.out, 'Trace') as { request: { reason: string; at: string } };
    expect(t.request).toMatchObject({ reason: 'vpc-firewall', at: 'vpc' });
  });
});

describe("kube-proxy's health servers on the nodes", () => {
  it.each([
    ['node/node-2:32100', 'kube-proxy health check for Service default/store-be-local'],
    ['node/node-3:10256', 'kube-proxy /healthz'],
  ])('%s is answered by %s', async (to, label) => {
    const r = await run([
      'trace',
      '-f',
      'examples/gke-lb-traefik.yaml',
      '--from',
      'default/store-be-1',
      '--to',
      to,
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const t = expectDocument(r.out, 'Trace') as {
      request: { disposition: string; socket: string };
    };
    expect(t.request.disposition).toBe('delivered');
    expect(t.request.socket).toContain(label);
  });
});
