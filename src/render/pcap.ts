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
import type { ArpPacket } from '../wire/arp.js';
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

/** A frame of a trace with where it was sent: the host, the device, and the step that sent it. */
export interface TraceFrame extends PcapRecord {
  readonly host: string;
  readonly dev: string;
  /** The sending step's summary (`eth0: tx 10.244.1.5:50471 > … (mac > mac)`). */
  readonly summary: string;
  /** For an ARP frame: the `arp` step that made it (`arp who-has … tell …`). */
  readonly arp?: string;
}

/**
 * The frames a trace put on the wire: one record per `transmit` step, in the
 * order the kernel sent them (request leg, then reply), each as the device
 * sent it — its MAC addresses, the packet after every rewrite made before it
 * left. An ARP request or reply is the frame the `arp` step just before its
 * transmit on the same host made (arp_solicit, arp_process). A trace has no
 * clock: record i is at i microseconds, so the file sorts as the trace does.
 */
export function traceFrames(steps: readonly Step[]): TraceFrame[] {
  const out: TraceFrame[] = [];
  // The ARP replies the hosts made, by the address they answer for: a reply's transmit
  // line names its sender, and a bridge port's copy comes after the step that made it.
  const replies = new Map<string, { packet: ArpPacket; summary: string }>();
  const requests = new Map<string, string>();
  for (const s of steps) {
    if (s.kind === 'arp') {
      const d = s.detail as Partial<ArpPacket> | undefined;
      if (d?.op === 'reply' && d.senderIp && d.senderMac && d.targetIp && d.targetMac)
        replies.set(d.senderIp, { packet: arpOf(d as ArpPacket), summary: s.summary });
      if (d?.op === 'request' && d.senderIp && d.targetIp)
        requests.set(`${d.senderIp} ${d.targetIp}`, s.summary);
      continue;
    }
    if (s.kind !== 'transmit') continue;
    const d = s.detail as { dev?: unknown; src?: unknown; dst?: unknown } | undefined;
    if (typeof d?.src !== 'string' || typeof d.dst !== 'string' || typeof d.dev !== 'string')
      continue;
    const where = { host: s.host, dev: d.dev, summary: s.summary };
    if (s.packet) {
      const frame = emitFrame({ kind: 'ipv4', src: d.src, dst: d.dst, packet: s.packet });
      out.push({ seconds: 0, micros: out.length, frame, ...where });
      continue;
    }
    // An ARP frame: its transmit line says which (kernel/frame.ts describeFrame). A request's
    // sender hardware address is the frame's source (arp_create), its target's is zero.
    const req = / arp who-has (\S+) tell (\S+)$/.exec(s.summary.replace(/ \([^)]*\)$/, ''));
    const rep = / arp reply (\S+) is-at (\S+)/.exec(s.summary);
    let arp: ArpPacket | undefined;
    let made: string | undefined;
    if (req) {
      arp = arpOf({
        op: 'request',
        senderMac: d.src,
        senderIp: req[2]!,
        targetMac: '00:00:00:00:00:00',
        targetIp: req[1]!,
      });
      made = requests.get(`${req[2]} ${req[1]}`);
    } else if (rep) {
      const r = replies.get(rep[1]!);
      if (r && r.packet.senderMac === rep[2]) ({ packet: arp, summary: made } = r);
    }
    if (!arp) continue;
    const frame = emitFrame({ kind: 'arp', src: d.src, dst: d.dst, arp });
    out.push({ seconds: 0, micros: out.length, frame, ...where, ...(made ? { arp: made } : {}) });
  }
  return out;
}

function arpOf(p: Omit<ArpPacket, 'kind'>): ArpPacket {
  return {
    kind: 'arp',
    op: p.op,
    senderMac: p.senderMac,
    senderIp: p.senderIp,
    targetMac: p.targetMac,
    targetIp: p.targetIp,
  };
}

/** The records of `traceFrames` (for `writePcap`). */
export function traceRecords(steps: readonly Step[]): PcapRecord[] {
  return traceFrames(steps).map(({ seconds, micros, frame }) => ({ seconds, micros, frame }));
}

// ------------------------------------------------------------------ pcapng

/** One option (code, UTF-8 value), padded to 32 bits. */
function option(code: number, value: string): Uint8Array {
  const v = new TextEncoder().encode(value);
  const out = new Uint8Array(4 + ((v.length + 3) & ~3));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, code, true);
  dv.setUint16(2, v.length, true);
  out.set(v, 4);
  return out;
}

/** A block: type, total length, body, its options (then opt_endofopt), total length again. */
function block(type: number, body: Uint8Array, options: readonly Uint8Array[]): Uint8Array {
  const opts = options.length > 0 ? [...options, new Uint8Array(4)] : [];
  const bodyLen = (body.length + 3) & ~3;
  const len = 12 + bodyLen + opts.reduce((n, o) => n + o.length, 0);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, len, true);
  out.set(body, 8);
  let at = 8 + bodyLen;
  for (const o of opts) {
    out.set(o, at);
    at += o.length;
  }
  dv.setUint32(len - 4, len, true);
  return out;
}

/**
 * A pcapng file (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html)
 * of a trace's frames: one interface per (host, device) that sent a frame,
 * named `HOST DEV` (`default/frontend eth0`, `node-1 cni0`), each frame on the
 * interface that sent it with a comment naming the hop and the step (for
 * ARP too). Little-endian, microsecond stamps.
 */
export function writePcapng(
  frames: readonly TraceFrame[],
  snaplen = PCAP_DEFAULT_SNAPLEN,
): Uint8Array {
  const blocks: Uint8Array[] = [];
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true); // byte-order magic
  sv.setUint16(4, 1, true); // major
  sv.setUint16(6, 0, true); // minor
  sv.setBigInt64(8, -1n, true); // section length: not given
  blocks.push(block(0x0a0d0d0a, shb, [option(4, 'packeteye')]));
  const ifaces = new Map<string, number>();
  for (const f of frames) {
    const name = `${f.host} ${f.dev}`;
    if (ifaces.has(name)) continue;
    ifaces.set(name, ifaces.size);
    const idb = new Uint8Array(8);
    const iv = new DataView(idb.buffer);
    iv.setUint16(0, LINKTYPE_ETHERNET, true);
    iv.setUint32(4, snaplen, true);
    blocks.push(block(1, idb, [option(2, name)]));
  }
  for (const f of frames) {
    const caplen = Math.min(f.frame.length, snaplen);
    const epb = new Uint8Array(20 + caplen);
    const ev = new DataView(epb.buffer);
    const ts = BigInt(f.seconds) * 1_000_000n + BigInt(f.micros);
    ev.setUint32(0, ifaces.get(`${f.host} ${f.dev}`)!, true);
    ev.setUint32(4, Number(ts >> 32n), true);
    ev.setUint32(8, Number(ts & 0xffffffffn), true);
    ev.setUint32(12, caplen, true);
    ev.setUint32(16, f.frame.length, true);
    epb.set(f.frame.subarray(0, caplen), 20);
    const comment = `${f.host}: ${f.summary}`;
    blocks.push(block(6, epb, [option(1, comment)]));
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
