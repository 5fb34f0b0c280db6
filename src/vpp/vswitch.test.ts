import { describe, expect, it } from 'vitest';
import { HOST_MAC, PG0_MAC, frameOf, pgVswitch } from './testing/packets.js';

/**
 * nat44-classify as Contiv's VPP build has it (nat.c
 * `nat44_classify_node_fn_inline`, stable-1801-contiv): the address-only
 * lookup, then the lookup by destination port and protocol; an identity
 * mapping (local = external) goes the in2out way.
 */
describe('nat44-classify (an interface both NAT inside and outside)', () => {
  const vs = pgVswitch();
  vs.ifByIndex(1).natInside = true;
  vs.ifByIndex(1).natOutside = true;
  vs.nat.addStaticMapping({
    externalAddr: '10.0.0.3',
    externalPort: 80,
    proto: 6,
    locals: [{ addr: '172.16.2.2', port: 8080, probability: 0 }],
  });
  vs.nat.addStaticMapping({
    externalAddr: '10.0.0.4',
    externalPort: 0,
    proto: 0,
    locals: [{ addr: '172.16.2.3', port: 0, probability: 0 }],
  });
  vs.nat.addIdentityMapping('172.16.2.4');
  vs.nat.addIdentityMapping('172.16.2.2', 6, 80);
  for (const i of vs.interfaces) vs.configureFeatures(i);
  const nodes = (dst: string, dport = 80): string[] =>
    vs
      .receive(
        'pg0',
        frameOf({ src: '172.16.1.2', dst, proto: 'tcp', dport, smac: HOST_MAC, dmac: PG0_MAC }),
      )
      .trace.map((e) => e.record.node);

  it.each([
    ['a port mapping’s external address and port', '10.0.0.3', 80, 'nat44-out2in'],
    ['a port mapping’s external address, another port', '10.0.0.3', 81, 'nat44-in2out'],
    ['an address-only mapping’s external address', '10.0.0.4', 80, 'nat44-out2in'],
    ['an address-only identity mapping', '172.16.2.4', 80, 'nat44-in2out'],
    ['an identity mapping’s address and port', '172.16.2.2', 80, 'nat44-in2out'],
    ['an address no mapping has', '172.16.2.3', 80, 'nat44-in2out'],
  ])('sends %s to %s, leaving no trace record of its own', (_what, dst, dport, node) => {
    const n = nodes(dst, dport);
    expect(n).toContain(node);
    expect(n).not.toContain('nat44-classify');
    expect(n.slice(0, 4)).toEqual(['virtio-input', 'ethernet-input', 'ip4-input', node]);
  });
});
