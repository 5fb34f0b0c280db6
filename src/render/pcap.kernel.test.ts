/**
 * tshark as the oracle for pcap export: frames packeteye emits from packet
 * values, written with writePcap, read back by Wireshark's dissectors with
 * every checksum check on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  arpRequest,
  emitFrame,
  tcpFlags,
  vxlanEncapsulate,
  type Frame,
  type Ipv4Packet,
} from '../wire/index.js';
import { writePcap } from './pcap.js';

const hasTshark = spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status === 0;

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const ip = (src: string, dst: string) => ({ src, dst, ttl: 64, id: 4660, df: true, tos: 0 });

const syn: Ipv4Packet = {
  ip: ip('10.244.1.5', '10.96.0.10'),
  l4: {
    kind: 'tcp',
    sport: 41000,
    dport: 80,
    seq: 1000,
    ack: 0,
    flags: tcpFlags('S'),
    window: 64240,
    options: '020405b4',
  },
  payloadLength: 0,
};
const frames: { frame: Frame; src: string; dst: string; proto: string }[] = [
  {
    frame: { kind: 'ipv4', src: A, dst: B, packet: syn },
    src: '10.244.1.5',
    dst: '10.96.0.10',
    proto: 'tcp',
  },
  {
    frame: {
      kind: 'ipv4',
      src: A,
      dst: B,
      packet: {
        ip: ip('10.244.1.5', '10.96.0.10'),
        l4: { kind: 'udp', sport: 5353, dport: 53 },
        payloadLength: 33,
      },
    },
    src: '10.244.1.5',
    dst: '10.96.0.10',
    proto: 'udp',
  },
  {
    frame: {
      kind: 'ipv4',
      src: B,
      dst: A,
      packet: {
        ip: ip('10.0.0.1', '10.0.0.2'),
        l4: { kind: 'icmp', type: 8, code: 0, id: 7, seq: 1 },
        payloadLength: 56,
      },
    },
    src: '10.0.0.1',
    dst: '10.0.0.2',
    proto: 'icmp',
  },
  {
    frame: {
      kind: 'ipv4',
      src: B,
      dst: A,
      packet: {
        ip: { ...ip('10.0.0.254', '10.244.1.5'), df: false, tos: 0xc0 },
        l4: { kind: 'icmp', type: 3, code: 4, mtu: 1450, inner: { ...syn, payloadLength: 1460 } },
        payloadLength: 548,
      },
    },
    src: '10.0.0.254',
    dst: '10.244.1.5',
    proto: 'icmp',
  },
  {
    frame: {
      kind: 'ipv4',
      src: A,
      dst: B,
      packet: {
        ip: ip('10.1.0.1', '10.1.0.2'),
        l4: { kind: 'sctp', sport: 5000, dport: 5000, vtag: 0xdeadbeef },
        payloadLength: 0,
      },
    },
    src: '10.1.0.1',
    dst: '10.1.0.2',
    proto: 'sctp',
  },
];

describe.skipIf(!hasTshark)('pcap export read by tshark', () => {
  it('gives the addresses we wrote and good checksums everywhere', () => {
    const inner = emitFrame({ kind: 'ipv4', src: A, dst: B, packet: syn });
    const vx = vxlanEncapsulate(
      {
        outerSrcMac: A,
        outerDstMac: B,
        ip: { ...ip('192.168.1.10', '192.168.1.11'), df: false },
        sport: 51000,
        dport: 4789,
        vni: 1,
      },
      inner,
    );
    const records = [
      ...frames.map((f, i) => ({
        seconds: 1_700_000_000 + i,
        micros: 0,
        frame: emitFrame(f.frame),
      })),
      { seconds: 1_700_000_010, micros: 500, frame: vx },
      {
        seconds: 1_700_000_011,
        micros: 0,
        frame: emitFrame({
          kind: 'arp',
          src: A,
          dst: 'ff:ff:ff:ff:ff:ff',
          arp: arpRequest(A, '10.0.0.1', '10.0.0.2'),
        }),
      },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'pe-pcap-'));
    try {
      const file = join(dir, 'trace.pcap');
      writeFileSync(file, writePcap(records));
      const out = spawnSync(
        'tshark',
        [
          '-r',
          file,
          '-o',
          'ip.check_checksum:TRUE',
          '-o',
          'tcp.check_checksum:TRUE',
          '-o',
          'udp.check_checksum:TRUE',
          '-o',
          'sctp.checksum:CRC-32C',
          '-T',
          'fields',
          '-E',
          'separator=|',
          '-e',
          'frame.time_epoch',
          '-e',
          'ip.src',
          '-e',
          'ip.dst',
          '-e',
          'ip.checksum.status',
          '-e',
          'tcp.checksum.status',
          '-e',
          'udp.checksum.status',
          '-e',
          'icmp.checksum.status',
          '-e',
          'sctp.checksum.status',
          '-e',
          'arp.src.proto_ipv4',
          '-e',
          'vxlan.vni',
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(out.status, out.stderr).toBe(0);
      const rows = out.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('|'));
      expect(rows).toHaveLength(records.length);
      const GOOD = '1';
      frames.forEach((f, i) => {
        const [time, src, dst, ipStatus, tcpS, udpS, icmpS, sctpS] = rows[i]!;
        expect(Number(time)).toBe(1_700_000_000 + i);
        // An ICMP error lists the outer then the quoted header's fields.
        expect(src?.split(',')[0]).toBe(f.src);
        expect(dst?.split(',')[0]).toBe(f.dst);
        expect(ipStatus?.split(',')[0]).toBe(GOOD);
        const l4Status = { tcp: tcpS, udp: udpS, icmp: icmpS, sctp: sctpS }[f.proto];
        // The frag-needed row carries two checksums: ICMP's and the quoted TCP's (unverifiable, 2).
        expect(l4Status?.split(',')[0]).toBe(GOOD);
      });
      // The frag-needed quote: both IP headers good; src lists outer then inner.
      expect(rows[3]![1]).toBe('10.0.0.254,10.244.1.5');
      expect(rows[3]![3]).toBe('1,1');
      // VXLAN: outer and inner IP headers and the outer UDP and inner TCP checksums good.
      const vxRow = rows[frames.length]!;
      expect(vxRow[1]).toBe('192.168.1.10,10.244.1.5');
      expect(vxRow[3]).toBe('1,1');
      expect(vxRow[4]).toBe(GOOD);
      expect(vxRow[5]).toBe(GOOD);
      expect(vxRow[9]).toBe('1');
      expect(Number(vxRow[0])).toBeCloseTo(1_700_000_010.0005, 6);
      expect(rows[frames.length + 1]![8]).toBe('10.0.0.1');
      // The SCTP CRC really is checked: corrupt a byte and tshark says bad (0).
      const bad = emitFrame(frames[4]!.frame);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
      writeFileSync(file, writePcap([{ seconds: 0, micros: 0, frame: bad }]));
      const out2 = spawnSync(
        'tshark',
        ['-r', file, '-o', 'sctp.checksum:CRC-32C', '-T', 'fields', '-e', 'sctp.checksum.status'],
        { encoding: 'utf8' },
      );
      expect(out2.stdout.trim()).toBe('0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
