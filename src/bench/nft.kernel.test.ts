import { describe, expect, it } from 'vitest';
import { canEmulate, withTopology } from '../emulate/index.js';
import { kubeProxyNftScale } from './nft.js';

describe.skipIf(!canEmulate(['ip', 'nft']))('the nftables bench ruleset', () => {
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
});
