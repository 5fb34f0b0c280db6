import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canEmulate, withTopology } from '../emulate/index.js';
import { benchNftKernel, kubeProxyNftScale } from './nft.js';

const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

describe.skipIf(!canEmulate(['ip', 'nft', 'conntrack', 'python3']))(
  'the nftables bench ruleset',
  () => {
    it('loads with nft -f, every rule and element in place', async () => {
      await withTopology({ netns: { node: {} }, veths: [] }, (lab) => {
        const node = lab.ns('node');
        const s = kubeProxyNftScale(500);
        node.exec(['nft', '-f', '-'], { input: s.text });
        const listed = node.exec(['nft', 'list', 'ruleset']);
        expect(listed.match(/ dnat to /g)).toHaveLength(500);
        expect(listed.match(/ : goto service-/g)).toHaveLength(500);
      });
    }, 60_000);

    it("times the kernel's first packets with it loaded: every SYN DNATed, the namespaces deleted", () => {
      const k = benchNftKernel(300, 400);
      // 200 warm-up connections and the 400 timed, each to a new tuple.
      expect(k.dnatted).toBe(600);
      expect(k.rulesUs).toBeGreaterThan(0);
      expect(k.emptyUs).toBeGreaterThan(0);
      expect(k.tool).toMatch(/^nftables v\d/);
      expect(netns()).not.toContain(`pe-${process.pid}-`);
    }, 120_000);
  },
);
