/**
 * Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html),
 * the format `tcpdump -w` writes and Wireshark reads: a 24-byte global header
 * (magic 0xa1b2c3d4, version 2.4, snaplen, link type) and per frame a 16-byte
 * record header (seconds, microseconds, captured and original length).
 *
 * packeteye writes little-endian with LINKTYPE_ETHERNET (1), as tcpdump does
 * on x86; the bytes depend only on the records given, never on the machine.
 * Time is whatever the caller says (a trace has no clock). The reader accepts
 * either byte order and the nanosecond magic, so tests can read what tcpdump
 * captured; it returns errors as values, like every parser of outside bytes.
 */
import type { Step } from '../kernel/step.js';
import { emitFrame } from '../wire/index.js';
import { fail, ok, type WireResult } from '../wire/result.js';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_DEFAULT_SNAPLEN = 262144;

export interface PcapRecord {
  readonly seconds: number;
  /** Microseconds within the second, 0–999999. */
  readonly micros: number;
  /** The frame as on the wire (Ethernet, no FCS). */
  readonly frame: Uint8Array;
  /** Length on the wire when `frame` was cut to the snaplen; defaults to `frame.length`. */
  readonly originalLength?: number;
}

export interface PcapFile {
  readonly linktype: number;
  readonly snaplen: number;
  readonly records: readonly PcapRecord[];
}

/** The pcap file bytes for `records` (Ethernet frames), in order. */
export function writePcap(
  records: readonly PcapRecord[],
  snaplen = PCAP_DEFAULT_SNAPLEN,
): Uint8Array {
  let size = 24;
  for (const r of records) size += 16 + Math.min(r.frame.length, snaplen);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, PCAP_MAGIC, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true); // thiszone: UTC
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, LINKTYPE_ETHERNET, true);
  let at = 24;
  for (const [i, r] of records.entries()) {
    if (!Number.isInteger(r.seconds) || r.seconds < 0 || r.seconds > 0xffffffff) {
      throw new RangeError(`record ${i}: seconds out of range: ${r.seconds}`);
    }
    if (!Number.isInteger(r.micros) || r.micros < 0 || r.micros > 999_999) {
      throw new RangeError(`record ${i}: micros out of range: ${r.micros}`);
    }
    const caplen = Math.min(r.frame.length, snaplen);
    const orig = r.originalLength ?? r.frame.length;
    if (orig < caplen)
      throw new RangeError(`record ${i}: originalLength ${orig} below captured ${caplen}`);
    dv.setUint32(at, r.seconds, true);
    dv.setUint32(at + 4, r.micros, true);
    dv.setUint32(at + 8, caplen, true);
    dv.setUint32(at + 12, orig, true);
    out.set(r.frame.subarray(0, caplen), at + 16);
    at += 16 + caplen;
  }
  return out;
}

/** Reads a classic pcap file (either byte order; micro- or nanosecond magic, the latter rounded down to µs). */
export function readPcap(bytes: Uint8Array): WireResult<PcapFile> {
  if (bytes.length < 24)
    return fail('pcap', `truncated global header: ${bytes.length} of 24 bytes`, bytes.length);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  let nano: boolean;
  const m = dv.getUint32(0, true);
  if (m === PCAP_MAGIC || m === PCAP_MAGIC_NANO) {
    le = true;
    nano = m === PCAP_MAGIC_NANO;
  } else {
    const mb = dv.getUint32(0, false);
    if (mb !== PCAP_MAGIC && mb !== PCAP_MAGIC_NANO) {
      return fail('pcap', `magic 0x${mb.toString(16)} is not classic pcap (pcapng is not read)`, 0);
    }
    le = false;
    nano = mb === PCAP_MAGIC_NANO;
  }
  const major = dv.getUint16(4, le);
  if (major !== 2) return fail('pcap', `version ${major}, expected 2`, 4);
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let at = 24;
  while (at < bytes.length) {
    if (at + 16 > bytes.length) return fail('pcap', 'truncated record header', at);
    const seconds = dv.getUint32(at, le);
    const frac = dv.getUint32(at + 4, le);
    const caplen = dv.getUint32(at + 8, le);
    const originalLength = dv.getUint32(at + 12, le);
    if (at + 16 + caplen > bytes.length)
      return fail('pcap', `record of ${caplen} bytes runs past the end`, at + 8);
    const frame = bytes.slice(at + 16, at + 16 + caplen);
    records.push({
      seconds,
      micros: nano ? Math.floor(frac / 1000) : frac,
      frame,
      ...(originalLength !== caplen ? { originalLength } : {}),
    });
    at += 16 + caplen;
  }
  return ok({ linktype, snaplen, records });
}

/**
 * The frames a trace put on the wire: one record per `transmit` step that
 * carried an IPv4 packet, in the order the kernel sent them (request leg, then
 * reply), each as the device sent it — its MAC addresses, the packet after
 * every rewrite made before it left. A trace has no clock: record i is at
 * i microseconds, so the file sorts as the trace does.
 */
export function traceRecords(steps: readonly Step[]): PcapRecord[] {
  const out: PcapRecord[] = [];
  for (const s of steps) {
    if (s.kind !== 'transmit' || !s.packet) continue;
    const d = s.detail as { src?: unknown; dst?: unknown } | undefined;
    if (typeof d?.src !== 'string' || typeof d.dst !== 'string') continue;
    const frame = emitFrame({ kind: 'ipv4', src: d.src, dst: d.dst, packet: s.packet });
    out.push({ seconds: 0, micros: out.length, frame });
  }
  return out;
}
