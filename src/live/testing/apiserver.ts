/**
 * A stand-in Kubernetes API server for tests of the live path: HTTPS on
 * 127.0.0.1 with a self-signed certificate made by `openssl` at test time,
 * serving the recorded responses in test/fixtures/live/apiserver.json
 * (discovery, then the lists) to the real kubectl. It can refuse paths the
 * way RBAC does (403 with the API server's Status body) and hang the lists
 * (a timeout), and it records every request so tests can check nothing but
 * GET was sent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURE = join(import.meta.dirname, '../../../test/fixtures/live/apiserver.json');

export interface FakeApiServer {
  readonly url: string;
  readonly dir: string;
  readonly kubeconfig: string;
  /** Every request: method and path (with query). */
  readonly requests: { method: string; path: string }[];
  /** Paths (without query) answered 403 Forbidden, with the API server's message. */
  readonly forbid: Map<string, { resource: string; group: string }>;
  /** Lists (non-discovery paths) never answered while set. */
  hangLists: boolean;
  close(): Promise<void>;
}

export function haveTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const DISCOVERY = /^\/(version|api|apis)(\/[^/]+(\/[^/]+)?)?$/;

export async function startFakeApiServer(user = 'jane'): Promise<FakeApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-apiserver-'));
  const key = join(dir, 'server.key');
  const cert = join(dir, 'server.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const responses = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  const requests: { method: string; path: string }[] = [];
  const forbid = new Map<string, { resource: string; group: string }>();
  const hanging: import('node:http').ServerResponse[] = [];
  const state = { hangLists: false };
  const server: Server = createServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      requests.push({ method: req.method ?? '', path: url.pathname + url.search });
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== 'Bearer recorded-token')
        return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      if (req.method !== 'GET') return send(405, status(405, 'MethodNotAllowed', 'read-only'));
      const p = url.pathname;
      if (state.hangLists && !DISCOVERY.test(p)) {
        hanging.push(res);
        return;
      }
      const f = forbid.get(p);
      if (f) {
        const g = f.group === '' ? '""' : `"${f.group}"`;
        const ns = /\/namespaces\/([^/]+)\//.exec(p)?.[1];
        const full = f.group === '' ? f.resource : `${f.resource}.${f.group}`;
        return send(
          403,
          status(
            403,
            'Forbidden',
            `${full} is forbidden: User "${user}" cannot list resource "${f.resource}" in API group ${g} ${ns ? `in the namespace "${ns}"` : 'at the cluster scope'}`,
            { group: f.group, kind: f.resource },
          ),
        );
      }
      const body = responses[p];
      if (body === undefined)
        return send(
          404,
          status(404, 'NotFound', 'the server could not find the requested resource'),
        );
      send(200, body);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(url, readFileSync(cert).toString('base64'), user));
  return {
    url,
    dir,
    kubeconfig,
    requests,
    forbid,
    get hangLists() {
      return state.hangLists;
    },
    set hangLists(v: boolean) {
      state.hangLists = v;
    },
    close: async () => {
      for (const r of hanging.splice(0)) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function status(code: number, reason: string, message: string, details?: object): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** A kubeconfig with two contexts: the recorded cluster, and one whose server refuses connections. */
export function kubeconfigText(url: string, caData: string, user: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: recorded
  cluster:
    server: ${url}
    certificate-authority-data: ${caData}
- name: nowhere
  cluster:
    server: https://127.0.0.1:1
    certificate-authority-data: ${caData}
users:
- name: ${user}
  user:
    token: recorded-token
contexts:
- name: recorded
  context: {cluster: recorded, user: ${user}}
- name: nowhere
  context: {cluster: nowhere, user: ${user}}
current-context: recorded
`;
}
