/**
 * Real-kernel proof that packeteye refuses exactly the `ipset save` files
 * `ipset restore` refuses (testing/ipset-cases.ts), in a namespace of its
 * own (IP sets are per network namespace). Runs only as root with ip and
 * ipset; the namespace is deleted in afterAll.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunKernelTests, deleteNamespaces } from '../emulate/testing/kernel.js';
import { IPSET_CASES } from './testing/ipset-cases.js';

const canRun = canRunKernelTests(['ip', 'ipset']);
const NS = `pe-${process.pid}-ipsetv`;

function inNs(args: readonly string[], input?: string): { ok: boolean; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', NS, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    ...(input !== undefined ? { input } : {}),
  });
  return { ok: r.status === 0, stderr: r.stderr };
}

describe.skipIf(!canRun)('ipset restore refuses what packeteye refuses', () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'add', NS]);
  });
  afterAll(() => deleteNamespaces([NS]));

  it.each(IPSET_CASES)('$name', (c) => {
    inNs(['ipset', 'destroy']);
    const r = inNs(['ipset', 'restore'], c.text);
    expect(r.ok, r.stderr).toBe(c.line === null);
  });
});
