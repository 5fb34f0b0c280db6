import { describe, expect, it } from 'vitest';
import { HOST_MAC, PG0_MAC, frameOf, pgVswitch } from './testing/packets.js';

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
    proto: 6,
    locals: [{ addr: '172.16.2.3', port: 0, probability: 0 }],
  });
  for (const i of vs.interfaces) vs.configureFeatures(i);
  const nodes = (dst: string): string[] =>
    vs
      .receive(
        'pg0',
        frameOf({ src: '172.16.1.2', dst, proto: 'tcp', dport: 80, smac: HOST_MAC, dmac: PG0_MAC }),
      )
      .trace.map((e) => e.record.node);

  it('sends a port mapping’s external address to in2out (the address-only lookup misses), leaving no trace record of its own', () => {
    expect(nodes('10.0.0.3')).toEqual([
      'virtio-input',
      'ethernet-input',
      'ip4-input',
      'nat44-in2out',
      'nat44-in2out-slowpath',
      'ip4-lookup',
      'error-drop',
    ]);
  });

  it('sends an address-only mapping’s external address to out2in', () => {
    expect(nodes('10.0.0.4')).toContain('nat44-out2in');
  });
});
