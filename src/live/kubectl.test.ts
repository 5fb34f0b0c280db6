import { describe, expect, it } from 'vitest';
import { classifyGetError, getArgs, parseConfigView, TWIN_KINDS } from './kubectl.js';
import { fetchCluster } from './fetch.js';
import type { Runner, RunResult } from './run.js';

const asked = TWIN_KINDS.map((k) => k.resource);

describe('classifyGetError: what kubectl said on stderr', () => {
  const cases: [string, string, Partial<ReturnType<typeof classifyGetError>>][] = [
    [
      'RBAC refusal of one kind',
      'Error from server (Forbidden): networkpolicies.networking.k8s.io is forbidden: User "jane" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope',
      {
        forbidden: [
          {
            resource: 'networkpolicies.networking.k8s.io',
            message:
              'User "jane" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope',
          },
        ],
        absent: [],
      },
    ],
    [
      'a core kind refused, named without a group',
      'Error from server (Forbidden): nodes is forbidden: User "system:serviceaccount:ci:bot" cannot list resource "nodes" in API group "" at the cluster scope',
      {
        forbidden: [
          {
            resource: 'nodes',
            message:
              'User "system:serviceaccount:ci:bot" cannot list resource "nodes" in API group "" at the cluster scope',
          },
        ],
        absent: [],
      },
    ],
    [
      'a CRD not installed',
      'error: the server doesn\'t have a resource type "ippools"',
      { forbidden: [], absent: ['ippools.crd.projectcalico.org'] },
    ],
    [
      'connection refused, after klog noise',
      'E1207 04:04:45.464486   23840 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: Get \\"https://10.0.0.1:6443/api?timeout=20s\\": dial tcp 10.0.0.1:6443: connect: connection refused"\nThe connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?',
      {
        fatal: {
          kind: 'unreachable',
          message:
            'The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?',
        },
      },
    ],
    [
      'timeout',
      'Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)',
      {
        fatal: {
          kind: 'timeout',
          message:
            'Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)',
        },
      },
    ],
    [
      'an expired token',
      'error: You must be logged in to the server (Unauthorized)',
      {
        fatal: {
          kind: 'unauthorized',
          message: 'error: You must be logged in to the server (Unauthorized)',
        },
      },
    ],
    [
      'an untrusted certificate',
      'Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority',
      {
        fatal: {
          kind: 'tls',
          message:
            'Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority',
        },
      },
    ],
    [
      'no such host',
      'Unable to connect to the server: dial tcp: lookup api.example.internal on 127.0.0.53:53: no such host',
      {
        fatal: {
          kind: 'unreachable',
          message:
            'Unable to connect to the server: dial tcp: lookup api.example.internal on 127.0.0.53:53: no such host',
        },
      },
    ],
  ];
  it.each(cases)('%s', (_name, stderr, want) => {
    expect(classifyGetError(stderr, asked)).toMatchObject(want);
  });
});

describe('argv and kubeconfig', () => {
  it('builds one read-only get per scope', () => {
    expect(
      getArgs({ kubeconfig: 'k', context: 'c' }, ['nodes', 'pods'], { all: true }, 20),
    ).toEqual([
      '--kubeconfig',
      'k',
      '--context',
      'c',
      'get',
      'nodes,pods',
      '--all-namespaces',
      '--output',
      'json',
      '--request-timeout=20s',
    ]);
    expect(getArgs({}, ['configmaps'], { name: 'kube-system' }, 5)).toEqual([
      'get',
      'configmaps',
      '--namespace',
      'kube-system',
      '--output',
      'json',
      '--request-timeout=5s',
    ]);
  });
  it('reads the context and server from config view --minify', () => {
    const v = JSON.stringify({
      'current-context': 'prod',
      contexts: [{ name: 'prod', context: { cluster: 'gke_p_z_c', user: 'u' } }],
      clusters: [{ name: 'gke_p_z_c', cluster: { server: 'https://34.1.2.3' } }],
    });
    expect(parseConfigView(v)).toEqual({
      context: 'prod',
      cluster: 'gke_p_z_c',
      server: 'https://34.1.2.3',
      user: 'u',
    });
    expect(parseConfigView('not json')).toBeUndefined();
  });
});

/** A kubectl that answers from a table: argv joined by spaces → result. */
function recorded(table: (args: string) => Partial<RunResult>): { run: Runner; calls: string[] } {
  const calls: string[] = [];
  const run: Runner = async (_cmd, args) => {
    const a = args.join(' ');
    calls.push(a);
    return { code: 0, stdout: '', stderr: '', timedOut: false, ...table(a) };
  };
  return { run, calls };
}
const VIEW = JSON.stringify({
  'current-context': 'dev',
  contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'me' } }],
  clusters: [{ name: 'dev', cluster: { server: 'https://10.0.0.1:6443' } }],
});

describe('fetchCluster', () => {
  it('kubectl missing is exit 2 saying so', async () => {
    const { run } = recorded(() => ({ code: null, spawnError: 'ENOENT' }));
    await expect(
      fetchCluster(run, { target: {}, kinds: TWIN_KINDS, requestTimeoutS: 5 }),
    ).rejects.toThrow(/kubectl is not on PATH/);
  });
  it('drops refused kinds and reads the rest, one listing per scope', async () => {
    const { run, calls } = recorded((a) => {
      if (a.startsWith('config view')) return { stdout: VIEW };
      if (a.includes('nodes') && a.includes('--all-namespaces'))
        return {
          code: 1,
          stderr:
            'Error from server (Forbidden): nodes is forbidden: User "me" cannot list resource "nodes" in API group "" at the cluster scope\n',
        };
      return { stdout: '{"kind":"List","apiVersion":"v1","items":[]}' };
    });
    const r = await fetchCluster(run, { target: {}, kinds: TWIN_KINDS, requestTimeoutS: 5 });
    expect(calls.length).toBe(4);
    expect(calls[2]).not.toMatch(/\bnodes\b/);
    expect(calls[3]).toContain('get configmaps --namespace kube-system');
    expect(r.inputs.length).toBe(2);
    expect(r.diagnostics.map((d) => `${d.code} ${d.severity}`)).toEqual(['live-forbidden warning']);
    expect(r.diagnostics[0]!.message).toContain('the nodes (addresses, podCIDRs)');
  });
  it("an unexplained failure stops with kubectl's own words", async () => {
    const { run } = recorded((a) =>
      a.startsWith('config view')
        ? { stdout: VIEW }
        : { code: 1, stderr: 'error: something new happened\n' },
    );
    await expect(
      fetchCluster(run, { target: {}, kinds: TWIN_KINDS, requestTimeoutS: 5 }),
    ).rejects.toThrow(
      /cannot read context dev \(server https:\/\/10\.0\.0\.1:6443\): error: something new happened/,
    );
  });
});
