/**
 * ICMP for IPv4 (RFC 792, RFC 1191): echo request/reply, destination
 * unreachable (with the next-hop MTU of code 4, "fragmentation needed and DF
 * set"), and time exceeded. Other types are reported as not modelled.
 *
 * This module handles the 8-byte header; the body is the echo data or, for
 * errors, the quote of the offending datagram (its IP header and at least 8
 * bytes of its transport; Linux `icmp_send` quotes up to 576 bytes in all).
 * Turning the quote into `IcmpMessage.inner` is the packet codec's job
 * (index.ts), since the quote is itself an IPv4 packet.
 */
import { be16, put16 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import type { IcmpMessage } from './packet.js';
import { checkField, fail, ok, type WireResult } from './result.js';
import type { L4ParseOptions } from './tcp.js';

export const ICMP_HEADER_LEN = 8;

/** Types (include/uapi/linux/icmp.h). */
export const ICMP = {
  ECHOREPLY: 0,
  DEST_UNREACH: 3,
  ECHO: 8,
  TIME_EXCEEDED: 11,
} as const;

/** Destination-unreachable codes (include/uapi/linux/icmp.h). */
export const ICMP_UNREACH = {
  NET_UNREACH: 0,
  HOST_UNREACH: 1,
  PROT_UNREACH: 2,
  PORT_UNREACH: 3,
  FRAG_NEEDED: 4,
  SR_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  HOST_ISOLATED: 8,
  NET_ANO: 9,
  HOST_ANO: 10,
  NET_UNR_TOS: 11,
  HOST_UNR_TOS: 12,
  PKT_FILTERED: 13,
  PREC_VIOLATION: 14,
  PREC_CUTOFF: 15,
} as const;

/** Time-exceeded codes. */
export const ICMP_EXC = { TTL: 0, FRAGTIME: 1 } as const;

export function isIcmpEcho(type: number): boolean {
  return type === ICMP.ECHO || type === ICMP.ECHOREPLY;
}

/** Errors carry a quote of the datagram that caused them (`icmp_is_err`). */
export function isIcmpError(type: number): boolean {
  return type === ICMP.DEST_UNREACH || type === ICMP.TIME_EXCEEDED;
}

export interface ParsedIcmp {
  /** The message without `inner`; the codec adds it from `body`. */
  readonly message: IcmpMessage;
  readonly checksum: number;
  /** Verified over header and body; false for a quote (its body may be cut). */
  readonly checksumOk: boolean;
  /** Echo data, or the quoted datagram of an error. */
  readonly body: Uint8Array;
}

/**
 * Parses the ICMP header. The 4 bytes after the checksum must be what the
 * model can say: id and sequence for echoes; zero (and the MTU for code 4)
 * for errors, as RFC 792 and RFC 1191 specify and Linux sends. Anything else
 * is reported, so a parse that succeeds always re-emits the same bytes.
 */
export function parseIcmp(
  bytes: Uint8Array,
  base = 0,
  opts: L4ParseOptions = {},
): WireResult<ParsedIcmp> {
  if (bytes.length < ICMP_HEADER_LEN) {
    return fail(
      'icmp',
      `truncated header: ${bytes.length} of ${ICMP_HEADER_LEN} bytes`,
      base + bytes.length,
    );
  }
  const type = bytes[0]!;
  const code = bytes[1]!;
  const checksum = be16(bytes, 2);
  let message: IcmpMessage;
  if (isIcmpEcho(type)) {
    message = { kind: 'icmp', type, code, id: be16(bytes, 4), seq: be16(bytes, 6) };
  } else if (isIcmpError(type)) {
    const fragNeeded = type === ICMP.DEST_UNREACH && code === ICMP_UNREACH.FRAG_NEEDED;
    const unused = fragNeeded ? be16(bytes, 4) : be16(bytes, 4) | be16(bytes, 6);
    if (unused !== 0) {
      // RFC 4884 extension lengths and other uses of the unused word.
      return fail('icmp', `unused header bytes not zero (not modelled)`, base + 4);
    }
    message = fragNeeded
      ? { kind: 'icmp', type, code, mtu: be16(bytes, 6) }
      : { kind: 'icmp', type, code };
  } else {
    return fail(
      'icmp',
      `type ${type} not modelled (only echo, dest-unreachable, time-exceeded)`,
      base,
    );
  }
  return ok({
    message,
    checksum,
    checksumOk: opts.quoted !== true && internetChecksum(bytes) === 0,
    body: bytes.subarray(ICMP_HEADER_LEN),
  });
}

/** The whole message (header and body) with its checksum; `message.inner` is ignored here. */
export function emitIcmp(message: IcmpMessage, body: Uint8Array): Uint8Array {
  checkField('icmp type', message.type, 0xff);
  checkField('icmp code', message.code, 0xff);
  const out = new Uint8Array(ICMP_HEADER_LEN + body.length);
  out[0] = message.type;
  out[1] = message.code;
  if (isIcmpEcho(message.type)) {
    checkField('icmp echo id', message.id ?? 0, 0xffff);
    checkField('icmp echo seq', message.seq ?? 0, 0xffff);
    put16(out, 4, message.id ?? 0);
    put16(out, 6, message.seq ?? 0);
  } else if (message.type === ICMP.DEST_UNREACH && message.code === ICMP_UNREACH.FRAG_NEEDED) {
    checkField('icmp next-hop mtu', message.mtu ?? 0, 0xffff);
    put16(out, 6, message.mtu ?? 0);
  } else if (!isIcmpError(message.type)) {
    throw new RangeError(`ICMP type ${message.type} is not modelled`);
  }
  out.set(body, ICMP_HEADER_LEN);
  put16(out, 2, internetChecksum(out));
  return out;
}

/**
 * How many bytes of `datagramLength` Linux quotes in an ICMP error
 * (net/ipv4/icmp.c `icmp_send`): the error may not exceed 576 bytes
 * (RFC 1812 §4.3.2.3), so room = 576 − 20 (IP) − 8 (ICMP) when the route MTU
 * is at least 576, and the quote is the datagram cut to that room.
 */
export function icmpQuoteLength(datagramLength: number, routeMtu = 1500): number {
  const room = Math.min(routeMtu, 576) - 20 - ICMP_HEADER_LEN;
  return Math.max(0, Math.min(datagramLength, room));
}
