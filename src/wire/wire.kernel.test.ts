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
import { natPairs } from './testing/nat.js';

describe.skipIf(!canCapture())('wire against the real kernel', () => {
  it("every captured frame round-trips byte for byte, and NAT gives the kernel's checksums", async () => {
    const captures = await captureScenario(`k${process.pid}`);
    const read = (bytes: Uint8Array): Uint8Array[] => {
      const file = readPcap(bytes);
      if (!file.ok) throw new Error(formatWireError(file.error));
      expect(file.value.linktype).toBe(LINKTYPE_ETHERNET);
      return file.value.records.map((r) => r.frame);
    };
    const aFrames = read(captures.a);
    const cFrames = read(captures.c);
    const named = new Map<string, Uint8Array>();
    // The NAT half starts with the datagram to 10.250.0.2:9090.
    const natStart = aFrames.findIndex((f) => nameFrames([f])[0] === 'udp-40003-9090');
    expect(natStart).toBeGreaterThan(0);
    const aNames = [
      ...nameFrames(aFrames.slice(0, natStart)),
      ...nameFrames(aFrames.slice(natStart)).map((n) => `nat-${n}`),
    ];
    const cNames = nameFrames(cFrames).map((n) => `c-${n}`);
    // In order; extra ARP (a neighbour re-probe on a slow machine) and a frame sent again at once
    // (a retransmission on a loaded machine: the same name twice in a row) are tolerated.
    const expectedA = EXPECTED_NAMES.filter((n) => !n.startsWith('c-'));
    const expectedC = EXPECTED_NAMES.filter((n) => n.startsWith('c-'));
    const once = (names: string[]) => names.filter((n, i) => i === 0 || names[i - 1] !== n);
    expect(once(aNames.filter((n) => expectedA.includes(n)))).toEqual(expectedA);
    expect(once(cNames.filter((n) => expectedC.includes(n)))).toEqual(expectedC);
    const extra = [...aNames, ...cNames].filter((n) => !EXPECTED_NAMES.includes(n));
    expect(extra.filter((n) => !/^(nat-|c-)?arp-/.test(n))).toEqual([]);
    // The first of repeated frames is the one compared.
    aFrames.forEach((f, i) => named.has(aNames[i]!) || named.set(aNames[i]!, f));
    cFrames.forEach((f, i) => named.has(cNames[i]!) || named.set(cNames[i]!, f));

    const parsed = new Map<string, Frame>();
    for (const [name, bytes] of named) {
      const r = parseFrame(bytes);
      if (!r.ok) throw new Error(`${name}: ${formatWireError(r.error)}`);
      expect(r.length, name).toBe(bytes.length);
      expect(toHex(emitFrame(r.value, r.payload)), name).toBe(toHex(bytes));
      parsed.set(name, r.value);
      const v = vxlanDecapsulate(bytes);
      if (v.ok) {
        const inner = parseFrame(v.value.inner);
        if (!inner.ok) throw new Error(`${name} inner: ${formatWireError(inner.error)}`);
        expect(toHex(emitFrame(inner.value, inner.payload)), `${name} inner`).toBe(
          toHex(v.value.inner),
        );
        expect(
          toHex(vxlanEncapsulate(v.value.tunnel, v.value.inner)),
          `${name} re-encapsulated`,
        ).toBe(toHex(bytes));
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
      inner: {
        ip: { src: '10.250.0.1', dst: '10.250.1.2', df: true },
        l4: { type: 8 },
        payloadLength: 1400,
      },
    });
    const unreachable = parsed.get('icmp-port-unreachable');
    expect(unreachable?.kind === 'ipv4' && unreachable.packet.l4).toMatchObject({
      type: 3,
      code: 3,
      inner: { l4: { kind: 'udp', sport: 40000, dport: 9999 }, payloadLength: 6 },
    });
    const noCsum = vxlanDecapsulate(named.get('vxlan8472-icmp-echo-request')!);
    expect(noCsum.ok && noCsum.value.tunnel).toMatchObject({
      dport: 8472,
      vni: 1,
      udpChecksum: false,
    });
    const withCsum = vxlanDecapsulate(named.get('vxlan4789-icmp-echo-request')!);
    expect(withCsum.ok && withCsum.value.tunnel).toMatchObject({
      dport: 4789,
      vni: 42,
      udpChecksum: true,
    });

    // NAT: our rewrite of one side's frame equals the kernel's frame on the other side.
    for (const pair of natPairs((n) => named.get(n) ?? new Uint8Array())) {
      expect(toHex(pair.ours), pair.what).toBe(toHex(pair.kernels));
    }

    if (process.env.PE_UPDATE_FIXTURES === '1') {
      const fixture = {
        source:
          'tcpdump -w on veth0 of namespaces pe-wire-*-a (names without c-) and pe-wire-*-c (c-…); scenario in src/wire/testing/capture.ts',
        kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
        tcpdump: execFileSync('tcpdump', ['--version'], { encoding: 'utf8' }).split('\n')[0],
        frames: [...named].map(([name, f]) => ({ name, hex: toHex(f) })),
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
  'nat-udp-40003-9090',
  'nat-icmp-port-unreachable',
  'nat-tcp-40004-8090-S',
  'nat-tcp-8090-40004-RA',
  'nat-icmp-echo-request',
  'nat-icmp-echo-reply',
  'c-arp-request',
  'c-arp-reply',
  'c-udp-40003-9999',
  'c-icmp-port-unreachable',
  'c-tcp-40004-8080-S',
  'c-tcp-8080-40004-RA',
  'c-icmp-echo-request',
  'c-icmp-echo-reply',
];
