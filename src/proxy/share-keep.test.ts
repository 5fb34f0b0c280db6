/**
 * What a share keeps of the sync that filled it: the writers of the shared
 * ports' chains (written again when first read, for as long as the share
 * lives) hold what writing them reads, not the first node's sync — its line
 * buffers stay collectable once its dump is dropped.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ProxyShare } from './share.js';
import { syncProxyRules } from './sync.js';
import { mixed } from './testing/clusters.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A sync through the share, only a weak reference to its buffers kept. */
function syncOnce(share: ProxyShare, input: ReturnType<typeof mixed>): WeakRef<object>[] {
  const r = syncProxyRules(input, share);
  expect(r.natWhole?.chains.length ?? 0).toBeGreaterThan(0);
  const { w } = r;
  return [w.filterChains, w.filterRules, w.natChains, w.natRules].map((b) => new WeakRef(b));
}

describe('a share keeps nothing of the sync that filled it', () => {
  it("the first sync's buffers are collected while the share lives, its chains unread", async () => {
    const input = mixed();
    const share = new ProxyShare(input.services, input.endpointSlices);
    const refs = syncOnce(share, input);
    // WeakRefs hold their targets to the end of the job that made them.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true, true]);
    // The share still writes its chains when they are read.
    const again = syncProxyRules(input, share);
    for (const c of again.natWhole!.chains) expect(c.rules.length).toBe(c.count ?? c.rules.length);
  });
});
