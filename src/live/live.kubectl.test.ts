/**
 * The live path with the real kubectl client against a stand-in API server
 * serving recorded responses (src/live/testing/apiserver.ts,
 * test/fixtures/live/): discovery, the lists, an RBAC refusal, a timeout and
 * an unreachable server. Skipped when kubectl or openssl is not installed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.js';
import { memoryIo } from '../cli/io.js';
import { haveTool, startFakeApiServer, type FakeApiServer } from './testing/apiserver.js';

const ready = haveTool('kubectl') && haveTool('openssl');

describe.skipIf(!ready)('a live cluster through the real kubectl', () => {
  let api: FakeApiServer;
  let cache: string;
  const saved = process.env.KUBECACHEDIR;
  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'pe-kubecache-'));
    process.env.KUBECACHEDIR = cache;
    api = await startFakeApiServer();
  });
  afterAll(async () => {
    await api?.close();
    rmSync(cache, { recursive: true, force: true });
    if (saved === undefined) delete process.env.KUBECACHEDIR;
    else process.env.KUBECACHEDIR = saved;
  });
  afterEach(() => {
    api.forbid.clear();
    api.hangLists = false;
  });
  const run = async (...argv: string[]) => runWith({}, ...argv);
  const runWith = async (files: Record<string, string>, ...argv: string[]) => {
    const io = memoryIo(files);
    const code = await main(argv, io);
    return { code, out: io.stdout, err: io.stderr };
  };

  it('rules reads the context with GETs only and builds the node from the listing', async () => {
    api.requests.length = 0;
    const r = await run(
      'rules',
      '--kubeconfig',
      api.kubeconfig,
      '--node',
      'worker-1',
      '--only',
      'iptables',
    );
    expect(r.code, r.err).toBe(0);
    // kube-proxy's chain for the recorded Service shop/api, and its endpoint on worker-2
    expect(r.out).toMatch(/-A KUBE-SERVICES -d 10\.100\.23\.7\/32 .*"shop\/api:http cluster IP"/);
    expect(r.out).toContain('-j DNAT --to-destination 10.244.2.4:8080');
    expect(api.requests.length).toBeGreaterThan(0);
    expect(new Set(api.requests.map((q) => q.method))).toEqual(new Set(['GET']));
    // the lists asked for, kube-system's ConfigMaps only in kube-system
    const paths = api.requests.map((q) => q.path.replace(/\?.*/, ''));
    for (const p of [
      '/api/v1/nodes',
      '/api/v1/pods',
      '/apis/discovery.k8s.io/v1/endpointslices',
      '/apis/apps/v1/daemonsets',
      '/api/v1/namespaces/kube-system/configmaps',
    ])
      expect(paths).toContain(p);
    expect(paths).not.toContain('/api/v1/configmaps');
    // Calico's CRD is not served here: skipped without a warning
    expect(r.err).not.toContain('ippools');
  }, 60000);

  it('detection reads the live listing as it reads a dump (DaemonSets, kube-system ConfigMaps)', async () => {
    const r = await run(
      'rules',
      '--kubeconfig',
      api.kubeconfig,
      '--node',
      'worker-1',
      '--only',
      'defaults',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(
      'spec.cni = flannel vxlan: detected from DaemonSet kube-flannel/kube-flannel-ds',
    );
    expect(r.out).toContain(
      'spec.kubeProxy.mode = iptables: detected from ConfigMap kube-system/kube-proxy',
    );
    expect(r.out).toContain(
      'spec.clusterCIDR = 10.244.0.0/16: detected from ConfigMap kube-system/kubeadm-config',
    );
  }, 60000);

  it('trace follows web-1 to svc/api:80 in namespace shop', async () => {
    const r = await run(
      'trace',
      '--kubeconfig',
      api.kubeconfig,
      '--context',
      'recorded',
      '-n',
      'shop',
      '--from',
      'web-1',
      '--to',
      'svc/api:80',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/delivered/);
    expect(r.out).toMatch(/10\.100\.23\.7:80/);
  }, 60000);

  it('check without -f reads the whole context and decides each statement on it', async () => {
    const expect_ = [
      'apiVersion: packeteye.dev/v1alpha1',
      'kind: ConnectivityExpectations',
      'metadata: {name: shop}',
      'spec:',
      '  expectations:',
      '    - reach: {from: shop/web-1, to: svc/shop/api:80}',
      '    - reach: {from: shop/web-1, to: svc/shop/api:80, via: dataplane}',
      '    - noReach: {from: shop/api-6d8f7c9b44-k2v7d, to: shop/api-6d8f7c9b44-q9x2m, port: TCP/8080}',
      '',
    ].join('\n');
    const holds = await runWith(
      { 'shop.yaml': expect_ },
      'check',
      '--kubeconfig',
      api.kubeconfig,
      '--expect',
      'shop.yaml',
      '-o',
      'tap',
    );
    expect(holds.code, holds.err + holds.out).toBe(0);
    expect(holds.out).toContain('1..3');
    expect(holds.out).not.toMatch(/^not ok/m);
    // ANPs are optional kinds: not served, no warning; every namespace was listed
    const paths = api.requests.map((q) => q.path.replace(/\?.*/, ''));
    expect(paths).toContain('/api/v1/pods');
    expect(paths).toContain('/apis/networking.k8s.io/v1/networkpolicies');
    // the recorded policy lets only web reach api: the api pods reaching each other fails
    const fails = await runWith(
      {
        'shop.yaml': expect_.replace(
          'noReach: {from: shop/api-6d8f7c9b44-k2v7d',
          'reach: {from: shop/api-6d8f7c9b44-k2v7d',
        ),
      },
      'check',
      '--kubeconfig',
      api.kubeconfig,
      '--expect',
      'shop.yaml',
    );
    expect(fails.code, fails.err).toBe(1);
    expect(fails.out).toMatch(/FAIL.*api-6d8f7c9b44-k2v7d/);
  }, 90000);

  it('a kind RBAC refuses is a warning naming what is unknown; -n reads it in that namespace', async () => {
    api.forbid.set('/apis/networking.k8s.io/v1/networkpolicies', {
      resource: 'networkpolicies',
      group: 'networking.k8s.io',
    });
    api.requests.length = 0;
    const r = await run(
      'reach',
      '--kubeconfig',
      api.kubeconfig,
      '-n',
      'shop',
      '--port',
      'TCP/8080',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      'warning: networkpolicies.networking.k8s.io -A: forbidden (User "jane" cannot list resource "networkpolicies"',
    );
    expect(r.err).toContain(
      'NetworkPolicies: every pod is treated as open; reading namespace shop only [live-forbidden]',
    );
    expect(api.requests.map((q) => q.path)).toContainEqual(
      expect.stringMatching(/^\/apis\/networking\.k8s\.io\/v1\/namespaces\/shop\/networkpolicies/),
    );
    // the namespace's policy was read: web may reach api on 8080, one api pod may not reach the other
    expect(r.out).toMatch(/shop\/web-1\s+✓\s+✓/);
    // (the diagonal is a pod reaching itself, which no policy stops)
    expect(r.out).toMatch(/shop\/api-6d8f7c9b44-k2v7d\s+✓\s+✗/);
    // with -A nothing narrower is tried: the policies are unknown, every pod open
    const all = await run('reach', '--kubeconfig', api.kubeconfig, '-A', '--port', 'TCP/8080');
    expect(all.code, all.err).toBe(0);
    expect(all.err).not.toContain('reading namespace');
    expect(all.out).toMatch(/shop\/api-6d8f7c9b44-k2v7d\s+✓\s+✓/);
  }, 60000);

  it('a server that does not answer is exit 2 naming the context and the server', async () => {
    api.hangLists = true;
    const r = await run(
      'rules',
      '--kubeconfig',
      api.kubeconfig,
      '--node',
      'worker-1',
      '--request-timeout',
      '1s',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain(`cannot read context recorded (server ${api.url})`);
    expect(r.err).toMatch(/Client\.Timeout exceeded|deadline exceeded/);
    expect(r.err).toContain('[live-timeout]');
    expect(r.err).toContain('raise --request-timeout');
    expect(r.out).toBe('');
  }, 60000);

  it('an unreachable server and an unknown context are exit 2 with what to check', async () => {
    const r = await run(
      'trace',
      '--kubeconfig',
      api.kubeconfig,
      '--context',
      'nowhere',
      '--from',
      'a',
      '--to',
      'b',
      '--request-timeout',
      '2s',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'cannot read context nowhere (server https://127.0.0.1:1): The connection to the server 127.0.0.1:1 was refused',
    );
    expect(r.err).toContain('[live-unreachable]');
    expect(r.err).not.toMatch(/memcache\.go/);
    const c = await run(
      'trace',
      '--kubeconfig',
      api.kubeconfig,
      '--context',
      'nope',
      '--from',
      'a',
      '--to',
      'b',
    );
    expect(c.code).toBe(2);
    expect(c.err).toContain('cannot locate context nope [live-kubeconfig]');
  }, 60000);
});
