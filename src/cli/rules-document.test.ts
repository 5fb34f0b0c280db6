/**
 * `rules -o json|yaml`: the NodeRules document holds what the text report
 * prints, section by section (same rules, routes, links, neighbours, FDB and
 * conntrack entries), and validates against its schema.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectDocument } from '../render/testing/schema.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const FILES = {
  'two-nodes.yaml': readFileSync(
    join(import.meta.dirname, '../../examples/two-nodes.yaml'),
    'utf8',
  ),
  'calico.yaml': readFileSync(
    join(import.meta.dirname, '../../examples/policy-calico.yaml'),
    'utf8',
  ),
};

async function run(args: string[]) {
  const io = memoryIo(FILES);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

interface Doc {
  node: string;
  host: string;
  iptables: {
    tables: {
      name: string;
      chains: { name: string; rules: { text: string; target: { kind: string } | null }[] }[];
    }[];
  };
  ipsets: { name: string; members: { element: string }[] }[];
  routes: { table: string; dst: string }[];
  links: { name: string }[];
  neigh: { ip: string; state: string }[];
  fdb: { mac: string }[];
  conntrack: { original: { src: string; dport: number }; reply: { src: string } }[];
  defaults: unknown[];
}

const AFTER = ['--after-trace', '--from', 'default/frontend', '--to', 'svc/default/store-be:80'];

describe('rules -o json', () => {
  it.each([
    ['the node', ['rules', '-f', 'two-nodes.yaml', '--node', 'node-1', ...AFTER]],
    ['a pod', ['rules', '-f', 'two-nodes.yaml', '--node', 'node-1', '--pod', 'frontend', ...AFTER]],
    ['a Calico node with IP sets', ['rules', '-f', 'calico.yaml', '--node', 'node-a']],
  ])('%s: the text report, structured', async (_name, args) => {
    const text = await run(args);
    expect(text.code, text.err).toBe(0);
    const j = await run([...args, '-o', 'json']);
    expect(j.code, j.err).toBe(0);
    const doc = expectDocument<Doc>(j.out, 'NodeRules');
    const section = (title: string) => {
      const parts = text.out.split(/^# /m);
      const p = parts.find((x) => x.startsWith(title)) ?? '';
      return p
        .split('\n')
        .slice(1)
        .filter((l) => l.trim() !== '');
    };
    const rules = doc.iptables.tables.flatMap((t) =>
      t.chains.flatMap((c) =>
        c.rules.map((r) => (r.text ? `-A ${c.name} ${r.text}` : `-A ${c.name}`)),
      ),
    );
    expect(rules).toEqual(section('iptables-save').filter((l) => l.startsWith('-A ')));
    expect(doc.routes.filter((r) => r.table === 'main').length).toBe(section('ip route').length);
    expect(doc.links.length).toBe(section('ip link').filter((l) => /^\d+: /.test(l)).length);
    expect(doc.neigh.length).toBe(section('ip neigh').length);
    expect(doc.fdb.length).toBe(section('bridge fdb').length);
    expect(doc.conntrack.length).toBe(
      section('conntrack -L').filter((l) => !l.startsWith('conntrack v')).length,
    );
    expect(doc.ipsets.flatMap((s) => s.members).length).toBe(
      section('ipset save').filter((l) => l.startsWith('add ')).length,
    );
    expect(doc.defaults.length).toBe(section('defaults').length);
  });

  it('after a connection: its conntrack entry, the neighbours and FDB entries it left', async () => {
    const j = await run([
      'rules',
      '-f',
      'two-nodes.yaml',
      '--node',
      'node-1',
      ...AFTER,
      '-o',
      'json',
    ]);
    const doc = expectDocument<Doc>(j.out, 'NodeRules');
    expect(doc.conntrack.length).toBeGreaterThan(0);
    expect(doc.conntrack[0]!.original.dport).toBe(80);
    expect(doc.neigh.length).toBeGreaterThan(0);
    expect(doc.iptables.tables.map((t) => t.name)).toContain('nat');
    expect(
      doc.iptables.tables
        .flatMap((t) => t.chains)
        .flatMap((c) => c.rules)
        .some((r) => r.target?.kind === 'DNAT'),
    ).toBe(true);
  });

  it('--only gives that section alone; -o yaml is the same document; a bad -o is refused', async () => {
    const j = await run([
      'rules',
      '-f',
      'two-nodes.yaml',
      '--node',
      'node-1',
      '--only',
      'routes',
      '-o',
      'json',
    ]);
    const doc = expectDocument<Record<string, unknown>>(j.out, 'NodeRules');
    expect(Object.keys(doc)).toEqual(['apiVersion', 'kind', 'node', 'host', 'routes']);
    const y = await run([
      'rules',
      '-f',
      'two-nodes.yaml',
      '--node',
      'node-1',
      '--only',
      'routes',
      '-o',
      'yaml',
    ]);
    expect(y.out).toMatch(/^apiVersion: packeteye\.dev\/v1alpha1\nkind: NodeRules\n/);
    const bad = await run(['rules', '-f', 'two-nodes.yaml', '--node', 'node-1', '-o', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/field --output/);
  });
});
