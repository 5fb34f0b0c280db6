/**
 * `packeteye rules --node` on a cluster whose kube-proxy runs in nftables
 * mode: the node's `kube-proxy` table as kube-proxy loads it (`nft -f`
 * script, the lines trace steps cite), alone with `--only nftables`, and in
 * the NodeRules document (`-o json`), which validates against its schema.
 * Nodes without native nftables tables print no such section.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectDocument } from '../render/testing/schema.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const IPTABLES = readFileSync('examples/two-nodes.yaml', 'utf8');
const NFTABLES = IPTABLES.replace('mode: iptables\n', 'mode: nftables\n    version: "1.34"\n');

interface Table {
  family: string;
  name: string;
  chains: { name: string; rules: unknown[] }[];
  sets: { name: string; elements: string[] }[];
}

async function run(files: Record<string, string>, args: string[]) {
  const io = memoryIo(files);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('rules --node with kube-proxy in nftables mode', () => {
  it('prints the node’s kube-proxy table as its own section, and no kube-proxy iptables rules', async () => {
    expect(NFTABLES).not.toBe(IPTABLES);
    const r = await run({ 'c.yaml': NFTABLES }, ['rules', '-f', 'c.yaml', '--node', 'node-1']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toContain('proxy-mode-not-modelled');
    expect(r.out).toContain('# nft -f kube-proxy.nft@node-1 (node-1:');
    expect(r.out).toContain('add table ip kube-proxy { comment "rules for kube-proxy" ; }');
    expect(r.out).toContain('add element ip kube-proxy nodeport-ips { 10.128.0.2 }');
    expect(r.out).not.toContain('KUBE-SERVICES');
  });

  it('--only nftables is the script alone', async () => {
    const r = await run({ 'c.yaml': NFTABLES }, [
      'rules',
      '-f',
      'c.yaml',
      '--node',
      'node-1',
      '--only',
      'nftables',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toBe(
      'add table ip kube-proxy { comment "rules for kube-proxy" ; }',
    );
  });

  it('-o json carries the tables, chains with hooks, rules with their lines, and set elements', async () => {
    const r = await run({ 'c.yaml': NFTABLES }, [
      'rules',
      '-f',
      'c.yaml',
      '--node',
      'node-1',
      '-o',
      'json',
    ]);
    expect(r.code, r.err).toBe(0);
    const doc = expectDocument<{ nftables: { tables: Table[] } }>(r.out, 'NodeRules');
    const t = doc.nftables.tables[0]!;
    expect([t.family, t.name]).toEqual(['ip', 'kube-proxy']);
    const nat = t.chains.find((c) => c.name === 'nat-prerouting');
    expect(nat).toMatchObject({
      type: 'nat',
      hook: 'prerouting',
      priority: -100,
      policy: 'accept',
    });
    expect(nat?.rules).toEqual([expect.objectContaining({ index: 1, text: 'jump services' })]);
    const ips = t.sets.find((s) => s.name === 'service-ips');
    expect(ips?.elements).toContain(
      '10.9.3.76 . tcp . 80 : goto service-ATIGOZOE-default/store-be/tcp/http',
    );
  });

  it('an iptables-mode node has no nftables section', async () => {
    const text = await run({ 'c.yaml': IPTABLES }, ['rules', '-f', 'c.yaml', '--node', 'node-1']);
    expect(text.out).not.toContain('# nft -f');
    const json = await run({ 'c.yaml': IPTABLES }, [
      'rules',
      '-f',
      'c.yaml',
      '--node',
      'node-1',
      '-o',
      'json',
    ]);
    expect(JSON.parse(json.out).nftables).toBeUndefined();
  });
});
