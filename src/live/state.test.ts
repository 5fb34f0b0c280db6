/**
 * --node-state without a kernel: bundles written from the twin's own state
 * (as `packeteye rules` prints it), one changed, read back by `trace` and
 * `drift` through the CLI.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { memoryIo } from '../cli/io.js';
import { formatManifest, parseCollectOutput } from './bundle.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/two-nodes.yaml');
const files = { 'two-nodes.yaml': readFileSync(EXAMPLE, 'utf8') };
const tmp = mkdtempSync(join(tmpdir(), 'pe-state-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const io = memoryIo(files);
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

/** A bundle of node-1 holding `rules` as its iptables (nft back end), and `nft` as its nft list ruleset. */
function bundle(name: string, hostname: string, rules: string, nft?: string): string {
  const out = `@@PACKETEYE-BEGIN hostname\n${hostname}\n\n@@PACKETEYE-END hostname rc=0\n@@PACKETEYE-BEGIN uid\n0\n\n@@PACKETEYE-END uid rc=0\n@@PACKETEYE-BEGIN iptables-nft.save\n${rules}\n@@PACKETEYE-END iptables-nft.save rc=0\n${nft !== undefined ? `@@PACKETEYE-BEGIN nft.ruleset\n${nft}\n@@PACKETEYE-END nft.ruleset rc=0\n` : ''}`;
  const b = parseCollectOutput(out);
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'manifest.yaml'), formatManifest(b.manifest));
  for (const [f, t] of b.files) writeFileSync(join(dir, f), t);
  return dir;
}

describe('trace and drift with --node-state', () => {
  it("a node on its collected rules: the same trace when they are the twin's, a changed one when a rule is gone", async () => {
    const rules = (
      await cli('rules', '-f', 'two-nodes.yaml', '--node', 'node-1', '--only', 'iptables')
    ).out;
    expect(rules).toContain('-A KUBE-SERVICES');
    const same = bundle('same', 'node-1', rules);
    const base = await cli(
      'trace',
      '-f',
      'two-nodes.yaml',
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
    );
    const onState = await cli(
      'trace',
      '-f',
      'two-nodes.yaml',
      '--node-state',
      same,
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
    );
    expect(onState.code, onState.err).toBe(0);
    expect(onState.out).toBe(base.out);
    expect(onState.err).toContain(
      `node-1 runs on the state collected in ${same} (iptables-nft.save)`,
    );
    expect((await cli('drift', '-f', 'two-nodes.yaml', '--node-state', same)).out).toContain(
      'no drift',
    );

    const cut = rules
      .split('\n')
      .filter((l) => !(l.startsWith('-A KUBE-SERVICES') && l.includes('default/store-be')))
      .join('\n');
    const changed = bundle('changed', 'vm-1234', cut);
    const t = await cli(
      'trace',
      '-f',
      'two-nodes.yaml',
      '--node-state',
      `node-1=${changed}`,
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
      '-o',
      'json',
    );
    expect(t.code, t.err).toBe(0);
    expect(
      (JSON.parse(t.out) as { request: { disposition: string } }).request.disposition,
    ).not.toBe('delivered');
    const d = await cli('drift', '-f', 'two-nodes.yaml', '--node-state', `node-1=${changed}`);
    expect(d.out).toMatch(
      /missing +nat -A KUBE-SERVICES .*default\/store-be.* \[kube-proxy; Service default\/store-be/,
    );
  });

  it("a node's native nftables tables run beside its iptables rules", async () => {
    const rules = (
      await cli('rules', '-f', 'two-nodes.yaml', '--node', 'node-1', '--only', 'iptables')
    ).out;
    // What nft -a list ruleset prints on such a node: iptables-nft's own tables, and a firewall.
    const nft = `table ip nat { # handle 3\n\tchain PREROUTING { # handle 1\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t}\n}\ntable inet fw { # handle 7\n\tchain pre { # handle 1\n\t\ttype filter hook prerouting priority -400; policy accept;\n\t\ttcp dport 80 drop # handle 2\n\t}\n}\n`;
    const dir = bundle('with-nft', 'node-1', rules, nft);
    const argv = [
      'trace',
      '-f',
      'two-nodes.yaml',
      '--node-state',
      dir,
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
    ];
    const t = await cli(...argv, '-o', 'json');
    expect(t.code, t.err).toBe(0);
    expect(t.err).toContain(`(iptables-nft.save, nft.ruleset)`);
    expect(
      (JSON.parse(t.out) as { request: { disposition: string } }).request.disposition,
    ).not.toBe('delivered');
    expect((await cli(...argv)).out).toContain('inet fw');
    // The collected listing has handles: the firewall's hit names its rule by handle.
    expect(t.out).toMatch(/"table": "inet fw",\s*"chain": "pre",[^}]*"handle": 2/);
  });

  it('a bundle of a host that is not a Node, or not a bundle, is exit 2 saying what to do', async () => {
    const other = bundle('other', 'vm-9', '');
    const r = await cli(
      'trace',
      '-f',
      'two-nodes.yaml',
      '--node-state',
      other,
      '--from',
      'frontend',
      '--to',
      'svc/store-be:80',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('the bundle is of vm-9, which is not a Node of the cluster');
    expect(r.err).toContain(`--node-state NODE=${other}`);
    const n = await cli('drift', '-f', 'two-nodes.yaml', '--node-state', tmp);
    expect(n.code).toBe(2);
    expect(n.err).toContain('no manifest.yaml');
  });
});
