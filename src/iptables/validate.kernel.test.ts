/**
 * Real-kernel proof of validate.ts: every case of testing/validate-cases.ts
 * goes through iptables-nft-restore and iptables-legacy-restore in a fresh
 * network namespace; each backend must refuse exactly what packeteye
 * refuses (the nf_tables depth limit only where nft is the backend), and
 * iptables-nft-restore must name the same line. Runs only as root with ip
 * and the restore tools; the namespace is deleted in afterAll.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunKernelTests, deleteNamespaces, has } from '../emulate/testing/kernel.js';
import { VALIDATE_CASES } from './testing/validate-cases.js';

const canRun = canRunKernelTests(['ip', 'iptables-nft-restore']);
const NS = `pe-${process.pid}-validate`;

function restore(tool: string, text: string): { ok: boolean; stderr: string } {
  // -w: wait for the xtables lock rather than fail on another test's restore.
  const r = spawnSync('ip', ['netns', 'exec', NS, tool, '-w'], {
    input: text,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ok: r.status === 0, stderr: r.stderr };
}

function flush(tool: string): void {
  restore(tool, ['raw', 'mangle', 'nat', 'filter'].map((t) => `*${t}\n-F\n-X\nCOMMIT\n`).join(''));
}

describe.skipIf(!canRun)('iptables-restore refuses what packeteye refuses', () => {
  let legacy = false;
  beforeAll(() => {
    spawnSync('ip', ['netns', 'add', NS]);
    legacy =
      has('iptables-legacy-restore') && restore('iptables-legacy-restore', '*filter\nCOMMIT\n').ok;
  });
  afterAll(() => deleteNamespaces([NS]));

  it.each(VALIDATE_CASES)('$name', (c) => {
    flush('iptables-nft-restore');
    const nft = restore('iptables-nft-restore', c.text);
    expect(nft.ok, nft.stderr).toBe(c.line === null && c.legacyAccepts !== true);
    if (!nft.ok && c.line !== null) {
      // "line N: RULE_APPEND failed (…)" or "Error occurred at line: N"
      const m = /line:? (\d+)/.exec(nft.stderr);
      expect(Number(m?.[1]), nft.stderr).toBe(c.nftLine ?? c.line);
    }
    if (legacy) {
      flush('iptables-legacy-restore');
      const l = restore('iptables-legacy-restore', c.text);
      expect(l.ok, l.stderr).toBe(c.line === null || c.legacyAccepts === true);
    }
  });
});
