import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from './io.js';
import { main } from './main.js';
import { expectDocument } from '../render/testing/schema.js';

const STORE = readFileSync(join(import.meta.dirname, '../../examples/policy-calico.yaml'), 'utf8');
// The change under review: be-from-fe also admits the database's port 6379 to fe, and the
// database gets an egress rule towards the backends.
const AFTER = STORE.replace(
  `      ports:
        - protocol: TCP
          port: api`,
  `      ports:
        - protocol: TCP
          port: api
        - protocol: TCP
          port: 9090`,
)
  .replace(
    `  policyTypes: [Egress]`,
    `  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {role: be}}}]`,
  )
  .replace(/---\n# "Switch the network isolation mode to DefaultDeny"[^]*?podSelector: \{\}\n/, '');

async function run(args: string[], files: Record<string, string>) {
  const io = memoryIo(files);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('packeteye reach --diff', () => {
  const files = { 'old/cluster.yaml': STORE, 'new/cluster.yaml': AFTER };

  it('groups what opens and what is cut by the policy that causes it', async () => {
    expect(AFTER).not.toBe(STORE);
    const r = await run(['reach', '--diff', '-f', 'old/', '--against', 'new/'], files);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^reach --diff: \d+ pairs opened, \d+ pairs? cut\n {2}before: old\/\n {2}after: {2}new\/\n/,
    );
    expect(r.out).toMatch(
      /policies changed: NetworkPolicy store\/be-from-fe \(modified\), NetworkPolicy store\/db-no-egress \(modified\), NetworkPolicy store\/default-deny \(removed\)/,
    );
    // The removed default deny opens the frontends to everyone (the backends stay isolated by
    // be-from-fe, the database by store-net-policy).
    expect(r.out).toContain(
      [
        'NetworkPolicy store/default-deny (removed):',
        '  opened  0.0.0.0/0 → store/fe-1, store/fe-2: all (2 pairs)',
        '  opened  store/be-1, store/be-2 → store/fe-1, store/fe-2: all (4 pairs)',
        '  opened  store/fe-1, store/fe-2 → store/fe-1, store/fe-2: all (2 pairs)',
      ].join('\n'),
    );
    // The new port on be-from-fe opens TCP 9090 from the frontends to the backends.
    expect(r.out).toMatch(
      /^NetworkPolicy store\/be-from-fe \(modified\).*:\n {2}opened {2}store\/fe-1, store\/fe-2 → store\/be-1, store\/be-2: TCP 9090 \(4 pairs\)$/m,
    );
    // The database's new egress rule opens nothing: the backends admit only the frontends.
    expect(r.out).not.toMatch(/^NetworkPolicy store\/db-no-egress \(modified\):/m);
    expect(r.out).toMatch(/^reach --diff: 12 pairs opened, 0 pairs cut$/m);
    expect(r.out).not.toMatch(/^ {2}cut /m);
  });

  it('writes the ReachabilityDiff document', async () => {
    const r = await run(
      ['reach', '--diff', '-f', 'old/cluster.yaml', '--against', 'new/cluster.yaml', '-o', 'json'],
      files,
    );
    expect(r.code).toBe(0);
    const d = expectDocument<{
      kind: string;
      summary: { opened: number; cut: number };
      changes: {
        causes: { policy: string }[];
        opened: { from: string[]; to: string[]; ports: unknown }[];
      }[];
    }>(r.out, 'ReachabilityDiff');
    expect(d.kind).toBe('ReachabilityDiff');
    const schema = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../schema/reachability-diff.schema.json'), 'utf8'),
    ) as { required: string[] };
    expect(Object.keys(d).sort()).toEqual([...schema.required].sort());
    expect(d.summary.cut).toBe(0);
    const total = d.changes
      .flatMap((c) => c.opened)
      .reduce(
        (n, b) => n + b.from.length * b.to.length - b.from.filter((f) => b.to.includes(f)).length,
        0,
      );
    expect(total).toBe(d.summary.opened);
  });

  it('reports nothing for the same input', async () => {
    const r = await run(['reach', '--diff', '-f', 'old/', '--against', 'old/'], files);
    expect(r.out).toMatch(/0 pairs opened, 0 pairs cut/);
    expect(r.out).toMatch(/no policy changed/);
    expect(r.out).toMatch(/no pair gains or loses a port/);
  });

  it('needs --against', async () => {
    const r = await run(['reach', '--diff', '-f', 'old/'], files);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /field --against: error: --diff compares -f \(before\) with --against \(after\)/,
    );
  });
});

describe('reach --diff: a data-plane change, traced in both twins', () => {
  const LB = `${readFileSync(join(import.meta.dirname, '../../examples/metallb-l2.yaml'), 'utf8')}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec: {nodeName: node-1, containers: [{name: c, image: curl}]}
status: {podIP: 10.244.1.9}
`;
  const files = {
    'before.yaml': LB,
    'after.yaml': LB.replace('externalTrafficPolicy: Cluster', 'externalTrafficPolicy: Local'),
  };

  it('externalTrafficPolicy Local: the node ports without an endpoint stop answering, the rule that parts them named', async () => {
    const r = await run(['reach', '--diff', '-f', 'before.yaml', '--against', 'after.yaml'], files);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^no pair gains or loses a port$/m);
    expect(r.out).toMatch(/^data plane: Services default\/web/m);
    expect(r.out).toMatch(
      /traced \d+ connections in both twins \(every one the change can affect\): 4 answer differently/,
    );
    expect(r.out).toContain(
      [
        '  host/user → node/node-1:30090 (Service default/web changed)',
        '    before: tcp/30090: answered on 1 of 1 path; the receiver sees 192.168.60.11',
        '    after:  tcp/30090: answered on 0 of 1 path',
        '    the traces part at request hop 8 on node-1:',
      ].join('\n'),
    );
    expect(r.out).toMatch(/before: rule: nat KUBE-EXT-\w+ #1: .*-j KUBE-MARK-MASQ/);
  });

  it('-o json carries the dataplane part the schema describes', async () => {
    const r = await run(
      ['reach', '--diff', '-f', 'before.yaml', '--against', 'after.yaml', '-o', 'json'],
      files,
    );
    expect(r.code, r.err).toBe(0);
    const d = expectDocument(r.out, 'ReachabilityDiff') as {
      dataplane: {
        changes: { to: string; divergence: Record<string, unknown> }[];
        leftOut: number;
      };
    };
    const schema = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../schema/reachability-diff.schema.json'), 'utf8'),
    ) as { properties: { dataplane: { required: string[] } } };
    expect(Object.keys(d.dataplane).sort()).toEqual(
      [...schema.properties.dataplane.required].sort(),
    );
    expect(d.dataplane.leftOut).toBe(0);
    expect(d.dataplane.changes.map((c) => c.to)).toContain('node/node-2:30090');
  });

  it('--max-traces bounds it and says how many were left out; 0 turns it off', async () => {
    const r = await run(
      ['reach', '--diff', '-f', 'before.yaml', '--against', 'after.yaml', '--max-traces', '2'],
      files,
    );
    expect(r.out).toMatch(
      /traced 2 connections in both twins \(the first 2 of \d+ the change can affect; raise --max-traces for the rest\)/,
    );
    const off = await run(
      ['reach', '--diff', '-f', 'before.yaml', '--against', 'after.yaml', '--max-traces', '0'],
      files,
    );
    expect(off.out).not.toContain('data plane');
  });
});
