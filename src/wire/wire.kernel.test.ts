/**
 * The real kernel as the oracle for wire/: capture what Linux puts on a veth
 * (src/wire/testing/capture.ts), and check that every frame parses and that
 * emitting the parsed value gives back the kernel's bytes, checksums and all.
 *
 * `PE_UPDATE_FIXTURES=1 npx vitest run src/wire/wire.kernel.test.ts`
 * rewrites test/fixtures/wire/captures.json from a fresh capture.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, readPcap } from '../render/pcap.js';
import {
  emitFrame,
  formatWireError,
  parseFrame,
  toHex,
  vxlanDecapsulate,
  vxlanEncapsulate,
  type Frame,
} from './index.js';
import { canCapture, captureScenario, nameFrames } from './testing/capture.js';

describe.skipIf(!canCapture())('wire against the real kernel', () => {
  it('every captured frame round-trips byte for byte', async () => {
    const file = readPcap(await captureScenario(`k${process.pid}`));
    if (!file.ok) throw new Error(formatWireError(file.error));
    expect(file.value.linktype).toBe(LINKTYPE_ETHERNET);
    const frames = file.value.records.map((r) => r.frame);
    const names = nameFrames(frames);
    expect(names).toEqual(EXPECTED_NAMES);

    const parsed = new Map<string, Frame>();
    for (const [i, bytes] of frames.entries()) {
      const r = parseFrame(bytes);
      if (!r.ok) throw new Error(`${names[i]}: ${formatWireError(r.error)}`);
      expect(r.length, names[i]).toBe(bytes.length);
      expect(toHex(emitFrame(r.value, r.payload)), names[i]).toBe(toHex(bytes));
      parsed.set(names[i]!, r.value);
      const v = vxlanDecapsulate(bytes);
      if (v.ok) {
        const inner = parseFrame(v.value.inner);
        if (!inner.ok) throw new Error(`${names[i]} inner: ${formatWireError(inner.error)}`);
        expect(toHex(emitFrame(inner.value, inner.payload)), `${names[i]} inner`).toBe(toHex(v.value.inner));
        expect(toHex(vxlanEncapsulate(v.value.tunnel, v.value.inner)), `${names[i]} re-encapsulated`).toBe(toHex(bytes));
      }
    }

    // What the scenario must have produced, field by field.
    const echo = parsed.get('icmp-echo-request');
    expect(echo?.kind === 'ipv4' && echo.packet).toMatchObject({
      ip: { src: '10.250.0.1', dst: '10.250.0.2', ttl: 64, df: true },
      l4: { kind: 'icmp', type: 8, code: 0, seq: 1 },
      payloadLength: 56,
    });
    const fragNeeded = parsed.get('icmp-frag-needed');
    expect(fragNeeded?.kind === 'ipv4' && fragNeeded.packet.l4).toMatchObject({
      type: 3,
      code: 4,
      mtu: 1280,
      inner: { ip: { src: '10.250.0.1', dst: '10.250.1.2', df: true }, l4: { type: 8 }, payloadLength: 1400 },
    });
    const unreachable = parsed.get('icmp-port-unreachable');
    expect(unreachable?.kind === 'ipv4' && unreachable.packet.l4).toMatchObject({
      type: 3,
      code: 3,
      inner: { l4: { kind: 'udp', sport: 40000, dport: 9999 }, payloadLength: 6 },
    });
    const noCsum = vxlanDecapsulate(frames[names.indexOf('vxlan8472-icmp-echo-request')]!);
    expect(noCsum.ok && noCsum.value.tunnel).toMatchObject({ dport: 8472, vni: 1, udpChecksum: false });
    const withCsum = vxlanDecapsulate(frames[names.indexOf('vxlan4789-icmp-echo-request')]!);
    expect(withCsum.ok && withCsum.value.tunnel).toMatchObject({ dport: 4789, vni: 42, udpChecksum: true });

    if (process.env.PE_UPDATE_FIXTURES === '1') {
      const fixture = {
        source:
          'tcpdump -w on veth0 of namespace pe-wire-*-a; scenario and topology in src/wire/testing/capture.ts',
        kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
        tcpdump: execFileSync('tcpdump', ['--version'], { encoding: 'utf8' }).split('\n')[0],
        frames: frames.map((f, i) => ({ name: names[i], hex: toHex(f) })),
      };
      writeFileSync('test/fixtures/wire/captures.json', JSON.stringify(fixture, null, 2) + '\n');
    }
  });
});

/** The scenario's frames in capture order (see captureScenario). */
export const EXPECTED_NAMES = [
  'arp-request',
  'arp-reply',
  'icmp-echo-request',
  'icmp-echo-reply',
  'udp-40000-9999',
  'icmp-port-unreachable',
  'tcp-40001-8080-S',
  'tcp-8080-40001-SA',
  'tcp-40001-8080-A',
  'tcp-40001-8080-PA',
  'tcp-8080-40001-A',
  'tcp-40001-8080-FA',
  'tcp-8080-40001-FA',
  'tcp-40001-8080-A-2',
  'tcp-40002-8081-S',
  'tcp-8081-40002-RA',
  'icmp-echo-request-ttl1',
  'icmp-time-exceeded',
  'icmp-echo-request-df-big',
  'icmp-frag-needed',
  'vxlan4789-arp-request',
  'vxlan4789-arp-reply',
  'vxlan4789-icmp-echo-request',
  'vxlan4789-icmp-echo-reply',
  'vxlan8472-arp-request',
  'vxlan8472-arp-reply',
  'vxlan8472-icmp-echo-request',
  'vxlan8472-icmp-echo-reply',
];
