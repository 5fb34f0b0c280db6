/**
 * The underlay router built again from a memo: the podCIDR routes the first
 * build checked are added to the next router as they were (same routes, same
 * order and sequence numbers, same lookups), without checking each again.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { Network } from '../kernel/network.js';
import { buildFabric, type FabricMemo } from './index.js';

function model(file: string) {
  const loaded = loadDocuments([{ path: file, text: readFileSync(file, 'utf8') }]);
  return buildModel(loaded.objects).model;
}

describe('buildFabric with a memo', () => {
  it.each(['examples/two-nodes.yaml', 'examples/gce-egress.yaml', 'examples/flannel-vxlan.yaml'])(
    '%s',
    (file) => {
      const m = model(file);
      const memo: FabricMemo = {};
      const a = buildFabric(new Network(), m, memo);
      expect(memo.podRoutes?.length).toBe(m.nodes.size);
      const b = buildFabric(new Network(), m, memo);
      const fresh = buildFabric(new Network(), m);
      expect(b.router.route.list()).toEqual(a.router.route.list());
      expect(b.router.route.list()).toEqual(fresh.router.route.list());
      // The same next hop for every node's pods, from either router.
      for (const node of m.nodes.values()) {
        const dst = node.spec.podCIDR.replace(/0\/\d+$/, '7');
        const q = { dst, iif: 'eth0', mark: 0, tos: 0, scope: 0 };
        expect(b.router.fib(q)).toEqual(fresh.router.fib(q));
      }
    },
  );
});
