import { describe, expect, it } from 'vitest';
import { emitIpv4Datagram } from '../wire/ipv4.js';
import { IPPROTO, tcpFlags } from '../wire/packet.js';
import { emitTcp } from '../wire/tcp.js';
import { vxlanEncap, vxlanSourcePort } from './l2.js';

const syn = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
  emitIpv4Datagram(
    { src, dst, ttl: 64, id: 0, df: true, tos: 0 },
    IPPROTO.TCP,
    emitTcp(
      {
        kind: 'tcp',
        sport,
        dport,
        seq: 1,
        ack: 0,
        flags: tcpFlags('S'),
        window: 29200,
        options: '020405b40402080a000000010000000001030307',
      },
      src,
      dst,
      new Uint8Array(0),
    ),
  );

describe('vxlan4-encap', () => {
  // The UDP source ports Contiv's packet-flow traces print for these inner flows
  // (docs/dev-guide/packet-flow/POD_TO_POD_DIFFERENT_NODES.md, POD_TO_SERVICE_DIFFERENT_NODES.md).
  it.each([
    ['10.1.1.12', '10.1.2.13', 60996, 8080, 50038],
    ['10.1.1.3', '10.1.2.4', 49710, 8080, 60039],
    ['10.1.2.4', '10.1.1.3', 8080, 49710, 25569],
  ])('%s:%i → %s:%i gets source port %i from the flow hash', (src, dst, sp, dp, port) => {
    expect(vxlanSourcePort(syn(src, dst, sp, dp))).toBe(port);
  });

  it('builds the outer header as the trace prints it: TTL 254, id 0, length, checksum, UDP checksum 0, VNI', () => {
    const inner = syn('10.1.1.3', '10.1.2.4', 49710, 8080);
    const frame = new Uint8Array(14 + inner.length);
    frame.set([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x01, 8, 0], 0);
    frame.set(inner, 14);
    const t = { index: 0, swIfIndex: 4, src: '192.168.16.1', dst: '192.168.16.2', vni: 10 };
    const o = vxlanEncap(t, frame);
    expect(o.length).toBe(20 + 8 + 8 + 74);
    expect([o[8], o[9], (o[2]! << 8) | o[3]!]).toEqual([254, 17, 110]);
    expect(((o[10]! << 8) | o[11]!).toString(16)).toBe('1b2b');
    expect([(o[22]! << 8) | o[23]!, (o[24]! << 8) | o[25]!, o[26], o[27]]).toEqual([
      4789, 90, 0, 0,
    ]);
    expect([...o.subarray(28, 36)]).toEqual([8, 0, 0, 0, 0, 0, 10, 0]);
    expect(o.subarray(36)).toEqual(frame);
  });
});
