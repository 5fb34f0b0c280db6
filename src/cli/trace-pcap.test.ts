/**
 * `trace -o pcap` read back by tshark: every frame the request and the reply
 * put on the wire, in order, with the Service address DNAT'd to the endpoint
 * and un-DNAT'd on the way back.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPcap } from '../render/pcap.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const hasTshark = spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status === 0;
const FILES = { 'two-nodes.yaml': readFileSync('examples/two-nodes.yaml', 'utf8') };
const ARGS = ['trace', '-f', 'two-nodes.yaml', '--from', 'frontend', '--to', 'svc/store-be:80'];

async function pcapOf(extra: string[] = [], tty = false) {
  const io = memoryIo(FILES);
  const code = await main([...ARGS, ...extra], tty ? { ...io, isTty: true } : io);
  return { code, bytes: io.stdoutBytes, err: io.stderr };
}

describe('packeteye trace -o pcap', () => {
  it('refuses a terminal and says how to redirect', async () => {
    const io = memoryIo(FILES);
    const code = await main([...ARGS, '-o', 'pcap'], Object.assign(io, { isTty: true }));
    expect(code).toBe(2);
    expect(io.stderr).toMatch(/> trace\.pcap/);
    expect(io.stdoutBytes.length).toBe(0);
  });

  it('holds one record per transmitted frame (ARP included), as many as the -o json trace transmits', async () => {
    const r = await pcapOf(['-o', 'pcap']);
    expect(r.code).toBe(0);
    const file = readPcap(r.bytes);
    if (!file.ok) throw new Error(JSON.stringify(file));
    const io = memoryIo(FILES);
    await main([...ARGS, '-o', 'json'], io);
    const t = JSON.parse(io.stdout) as { request: Leg; reply: Leg };
    interface Leg {
      hops: { steps: { kind: string; packet?: unknown; detail?: { src?: string } }[] }[];
    }
    const tx = [t.request, t.reply].flatMap((l) =>
      l.hops.flatMap((h) => h.steps.filter((s) => s.kind === 'transmit' && s.detail?.src)),
    );
    expect(tx.length).toBeGreaterThan(2);
    expect(file.value.records.length).toBe(tx.length);
  });

  it.skipIf(!hasTshark)(
    'tshark reads it: frame count, DNAT and un-DNAT, checksums good',
    async () => {
      const r = await pcapOf(['-o', 'pcap']);
      const dir = mkdtempSync(join(tmpdir(), 'pe-pcap-'));
      try {
        const f = join(dir, 'trace.pcap');
        writeFileSync(f, r.bytes);
        const ts = spawnSync(
          'tshark',
          [
            '-r',
            f,
            '-o',
            'ip.check_checksum:TRUE',
            '-o',
            'tcp.check_checksum:TRUE',
            '-T',
            'fields',
            '-e',
            'ip.src',
            '-e',
            'ip.dst',
            '-e',
            'tcp.flags.str',
            '-e',
            'ip.checksum.status',
            '-e',
            'tcp.checksum.status',
            '-e',
            'arp.opcode',
          ],
          { encoding: 'utf8' },
        );
        expect(ts.status, ts.stderr).toBe(0);
        const all = ts.stdout
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => l.split('\t'));
        const file = readPcap(r.bytes);
        expect(file.ok && all.length === file.value.records.length).toBe(true);
        // The ARP exchanges the trace made are in the capture: requests (1) and replies (2).
        const arp = all.filter((c) => c[0] === '').map((c) => c[5]);
        expect(new Set(arp)).toEqual(new Set(['1', '2']));
        const rows = all.filter((c) => c[0] !== '');
        const io = memoryIo(FILES);
        await main([...ARGS, '-o', 'json'], io);
        const t = JSON.parse(io.stdout) as {
          request: { sent: { src: string; dst: string } };
          rewrites: { leg: string; kind: string; to: string }[];
        };
        const { src: client, dst: service } = t.request.sent;
        const dnat = t.rewrites.find((w) => w.leg === 'request' && w.kind === 'DNAT');
        const endpoint = dnat!.to.split(':')[0]!;
        expect(endpoint).not.toBe(service);
        // The pod sends to the Service address; past kube-proxy's DNAT the frames carry the endpoint.
        expect(rows[0]!.slice(0, 3)).toEqual([client, service, '··········S·']);
        expect(rows.some((c) => c[0] === client && c[1] === endpoint)).toBe(true);
        expect(rows.some((c) => c[0] === endpoint && c[1] === client)).toBe(true);
        // The last frame reaches the client un-DNAT'd: a SYN-ACK from the Service address.
        expect(rows.at(-1)!.slice(0, 3)).toEqual([service, client, '·······A··S·']);
        for (const c of rows) expect(c.slice(3, 5)).toEqual(['1', '1']); // 1: Good
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(!hasTshark)(
    '-o pcapng: tshark reads one interface per host and device, each frame with its step',
    async () => {
      const ng = await pcapOf(['-o', 'pcapng']);
      expect(ng.code, ng.err).toBe(0);
      const classic = readPcap((await pcapOf(['-o', 'pcap'])).bytes);
      const dir = mkdtempSync(join(tmpdir(), 'pe-pcapng-'));
      try {
        const f = join(dir, 'trace.pcapng');
        writeFileSync(f, ng.bytes);
        const ts = spawnSync(
          'tshark',
          [
            '-r',
            f,
            '-o',
            'ip.check_checksum:TRUE',
            '-o',
            'tcp.check_checksum:TRUE',
            '-T',
            'fields',
            '-e',
            'frame.interface_name',
            '-e',
            'frame.comment',
            '-e',
            'ip.checksum.status',
            '-e',
            'tcp.checksum.status',
            '-e',
            'arp.opcode',
          ],
          { encoding: 'utf8' },
        );
        expect(ts.status, ts.stderr).toBe(0);
        const rows = ts.stdout
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => l.split('\t'));
        // The same frames as the classic file, in the same order.
        expect(classic.ok && rows.length === classic.value.records.length).toBe(true);
        // Each frame is on the interface that sent it, named HOST DEV, and its comment is the step.
        const io = memoryIo(FILES);
        await main([...ARGS, '-o', 'json'], io);
        const t = JSON.parse(io.stdout) as {
          request: {
            hops: {
              host: string;
              steps: { kind: string; summary: string; detail?: { dev?: string; src?: string } }[];
            }[];
          };
          reply: {
            hops: {
              host: string;
              steps: { kind: string; summary: string; detail?: { dev?: string; src?: string } }[];
            }[];
          };
        };
        const tx = [t.request, t.reply].flatMap((l) =>
          l.hops.flatMap((h) =>
            h.steps
              .filter((s) => s.kind === 'transmit' && s.detail?.src)
              .map((s) => [`${h.host} ${s.detail!.dev}`, `${h.host}: ${s.summary}`]),
          ),
        );
        expect(rows.map((r) => r.slice(0, 2))).toEqual(tx);
        expect(new Set(rows.map((r) => r[0])).size).toBeGreaterThan(3);
        expect(new Set(rows.map((r) => r[4]).filter((x) => x !== ''))).toEqual(new Set(['1', '2']));
        for (const r of rows.filter((x) => x[4] === '')) expect(r.slice(2, 4)).toEqual(['1', '1']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
