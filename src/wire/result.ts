/**
 * Parse results as values.
 *
 * Bytes from outside (a capture, a pcap, a fuzzer) are untrusted: every
 * parser in `wire/` returns a `WireResult` and never throws at its caller.
 * An error names the layer, what is wrong, and the byte offset (from the start
 * of the buffer the caller passed in) where it was found. `emit` functions are
 * different: they take values the program built, and a value that cannot be
 * put on the wire (a port above 65535, an options string of odd length) is a
 * bug in the caller, reported with a `RangeError`.
 */

export type WireLayer =
  'ethernet' | 'arp' | 'ipv4' | 'tcp' | 'udp' | 'icmp' | 'sctp' | 'vxlan' | 'pcap';

export interface WireError {
  readonly layer: WireLayer;
  /** What is wrong, in a few words: `truncated header`, `bad checksum`, … */
  readonly reason: string;
  /** Byte offset into the caller's buffer where the problem was found. */
  readonly offset: number;
}

export interface WireOk<T> {
  readonly ok: true;
  readonly value: T;
}

export interface WireErr {
  readonly ok: false;
  readonly error: WireError;
}

export type WireResult<T> = WireOk<T> | WireErr;

export function ok<T>(value: T): WireOk<T> {
  return { ok: true, value };
}

export function fail(layer: WireLayer, reason: string, offset: number): WireErr {
  return { ok: false, error: { layer, reason, offset } };
}

/** `ipv4 at byte 10: bad header checksum`, for messages and test failures. */
export function formatWireError(e: WireError): string {
  return `${e.layer} at byte ${e.offset}: ${e.reason}`;
}

/** Contract check for emitters: an integer field in [0, max]. */
export function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} out of range [0, ${max}]: ${value}`);
  }
}

/** Lower-case hex of bytes, the form fixtures and option strings use. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes from hex (whitespace allowed); throws RangeError on anything else. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new RangeError(`not an even-length hex string: ${JSON.stringify(hex.slice(0, 40))}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
