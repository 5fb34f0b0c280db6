/**
 * Drift and --node-state against a real kernel: the twin of a two-node
 * flannel (host-gw) cluster is built in network namespaces from its own
 * state (src/emulate), node-a is changed by hand — a kube-proxy rule
 * deleted, a stale Service chain left behind, the route to node-b's podCIDR
 * removed — and collected with `packeteye node collect --netns` (ip netns
 * exec); `drift` must name exactly those changes, with their owners and
 * Services. Root only; namespaces `pe-drift-<pid>-…`, always deleted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { memoryIo } from '../cli/io.js';
import { canEmulate } from '../emulate/netns.js';
import { connectForReal, realTwinSuite, twoNodeCluster } from '../emulate/testing/real-twin.js';
import { expectDocument } from '../render/testing/schema.js';

const CLUSTER = `${twoNodeCluster('drift', '{plugin: flannel, backend: host-gw}', '192.168.79')}---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec:
  nodeName: node-a
  containers: [{name: app, image: app}]
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: default, labels: {app: server}}
spec:
  nodeName: node-b
  containers: [{name: http, image: nginx, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: default}
spec:
  selector: {app: server}
  ports: [{name: http, port: 80, targetPort: http}]
`;

const can = canEmulate(['ip', 'iptables-restore', 'iptables-save', 'bridge', 'sysctl']);

describe.skipIf(!can)('drift against a node built in real namespaces', () => {
  const suite = realTwinSuite('drift.yaml', CLUSTER, {
    prefix: 'pe-drift',
    hosts: (h) => !h.name.startsWith('host/'),
  });
  const dir = mkdtempSync(join(tmpdir(), 'pe-drift-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = { 'drift.yaml': CLUSTER };

  const cli = async (...argv: string[]) => {
    const io = memoryIo(files);
    const code = await main(argv, io);
    return { code, out: io.stdout, err: io.stderr };
  };
  const collect = async (name: string) => {
    const ns = suite.real().ns.get('node-a')!.name;
    const r = await cli('node', 'collect', '--netns', ns, '-o', join(dir, name));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/iptables: (nft|legacy)\)/);
    return `node-a=${join(dir, name)}`;
  };
  const drift = async (state: string) => {
    const r = await cli('drift', '-f', 'drift.yaml', '--node-state', state, '-o', 'json');
    expect(r.code, r.err).toBe(0);
    const doc = expectDocument<{ nodes: { node: string; items: Record<string, string>[] }[] }>(
      r.out,
      'NodeDrift',
    );
    return doc.nodes[0]!.items;
  };
  const traceFate = async (state?: string) => {
    const r = await cli(
      'trace',
      '-f',
      'drift.yaml',
      ...(state ? ['--node-state', state] : []),
      '--from',
      'client',
      '--to',
      'svc/server:80',
      '--sport',
      '40100',
      '-o',
      'json',
    );
    expect(r.code, r.err).toBe(0);
    return expectDocument<{ request: { disposition: string } }>(r.out, 'Trace').request.disposition;
  };
  const clusterIp = () => suite.plan().model.services.get('default/server')!.spec.clusterIP!;
  const connect = async (sport: number) => {
    const { results } = await connectForReal(suite, {
      server: 'default/server',
      listen: 8080,
      from: 'default/client',
      dst: clusterIp(),
      port: 80,
      sport,
    });
    return results.some((x) => x.kind === 'connected');
  };

  it('an untouched node has no drift, and traces the same with its collected state', async () => {
    const state = await collect('before');
    expect(await drift(state)).toEqual([]);
    expect(await traceFate(state)).toBe('delivered');
    expect(await traceFate()).toBe('delivered');
    expect(await connect(40101)).toBe(true);
  }, 120000);

  it('names exactly the rule deleted, the stale Service chain and the route removed', async () => {
    const ns = suite.real().ns.get('node-a')!;
    // 1. delete kube-proxy's KUBE-SERVICES rule for default/server's cluster IP
    const rules = ns
      .exec(['iptables', '-t', 'nat', '-S', 'KUBE-SERVICES'])
      .split('\n')
      .filter((l) => l.startsWith('-A '));
    const n = rules.findIndex((l) => l.includes('default/server:http cluster IP'));
    expect(n).toBeGreaterThanOrEqual(0);
    const deleted = rules[n]!;
    ns.exec(['iptables', '-t', 'nat', '-D', 'KUBE-SERVICES', String(n + 1)]);
    // 2. leave a deleted Service's chains behind, as a kube-proxy that stopped mid-sync would
    ns.exec(['iptables-restore', '--noflush'], {
      input: [
        '*nat',
        ':KUBE-SVC-STALE0000000000A - [0:0]',
        ':KUBE-SEP-STALE0000000000A - [0:0]',
        '-A KUBE-SVC-STALE0000000000A -m comment --comment "default/gone:http -> 10.244.2.9:8080" -j KUBE-SEP-STALE0000000000A',
        '-A KUBE-SEP-STALE0000000000A -p tcp -m comment --comment "default/gone:http" -m tcp -j DNAT --to-destination 10.244.2.9:8080',
        'COMMIT',
        '',
      ].join('\n'),
    });
    // 3. remove flannel's host-gw route to node-b's podCIDR
    ns.exec(['ip', 'route', 'del', '10.244.2.0/24']);

    const state = await collect('after');
    const items = await drift(state);
    const got = items.map(
      (i) =>
        `${i['change']} ${i['kind']} ${i['table'] ?? ''} ${i['kind'] === 'chain' ? i['chain'] : i['text']} [${i['owner']}; ${i['serves'] ?? ''}]`,
    );
    const sep =
      '-A KUBE-SEP-STALE0000000000A -p tcp -m comment --comment "default/gone:http" -m tcp -j DNAT --to-destination 10.244.2.9:8080';
    const svc =
      '-A KUBE-SVC-STALE0000000000A -m comment --comment "default/gone:http -> 10.244.2.9:8080" -j KUBE-SEP-STALE0000000000A';
    expect(got.sort()).toEqual(
      [
        `missing rule nat ${deleted} [kube-proxy; Service default/server:http]`,
        'extra chain nat KUBE-SVC-STALE0000000000A [kube-proxy; Service default/gone:http (not in the cluster)]',
        'extra chain nat KUBE-SEP-STALE0000000000A [kube-proxy; Service default/gone:http (not in the cluster)]',
        `extra rule nat ${svc} [kube-proxy; Service default/gone:http (not in the cluster)]`,
        `extra rule nat ${sep} [kube-proxy; Service default/gone:http (not in the cluster)]`,
        'missing route  10.244.2.0/24 via 192.168.79.11 dev eth0 [flannel; Node node-b podCIDR]',
      ].sort(),
    );
    // The text view says the same, with a count per owner.
    const text = await cli('drift', '-f', 'drift.yaml', '--node-state', state);
    expect(text.out).toContain('node node-a');
    expect(text.out).toContain('6 differences');
    expect(text.out).toMatch(/by owner: .*kube-proxy 1 missing, 4 extra/);
  }, 120000);

  it('trace --node-state agrees with real traffic through the changed node', async () => {
    const state = `node-a=${join(dir, 'after')}`;
    // Without its KUBE-SERVICES rule, the cluster IP is not translated on node-a: no connection.
    expect(await traceFate()).toBe('delivered');
    expect(await traceFate(state)).not.toBe('delivered');
    expect(await connect(40102)).toBe(false);
  }, 120000);
});
