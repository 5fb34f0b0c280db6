/**
 * ARP for IPv4 over Ethernet (RFC 826): the only hardware/protocol pair the
 * kernel model resolves (net/ipv4/arp.c `arp_rcv` drops the rest for an
 * Ethernet device, as we do with a named reason).
 */
import type { Ipv4 } from './addr.js';
import { be16, readIp, writeIp } from './bytes.js';
import { readMac, writeMac, ZERO_MAC, type Mac } from './ethernet.js';
import { fail, ok, type WireResult } from './result.js';

export const ARP_LEN = 28;
export const ARPOP = { REQUEST: 1, REPLY: 2 } as const;

export interface ArpPacket {
  readonly kind: 'arp';
  readonly op: 'request' | 'reply';
  readonly senderMac: Mac;
  readonly senderIp: Ipv4;
  /** 00:00:00:00:00:00 in a request, as Linux `arp_send` leaves it. */
  readonly targetMac: Mac;
  readonly targetIp: Ipv4;
}

/** `who-has target tell sender`: what `arp_solicit` sends. */
export function arpRequest(senderMac: Mac, senderIp: Ipv4, targetIp: Ipv4): ArpPacket {
  return { kind: 'arp', op: 'request', senderMac, senderIp, targetMac: ZERO_MAC, targetIp };
}

/** The reply `arp_process` sends to `request` for an address it owns with `mac`. */
export function arpReplyTo(request: ArpPacket, mac: Mac): ArpPacket {
  return {
    kind: 'arp',
    op: 'reply',
    senderMac: mac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  };
}

/** Parses the 28-byte ARP body; Ethernet padding after it is ignored. */
export function parseArp(bytes: Uint8Array, base = 0): WireResult<ArpPacket> {
  if (bytes.length < ARP_LEN) {
    return fail('arp', `truncated: ${bytes.length} of ${ARP_LEN} bytes`, base + bytes.length);
  }
  const htype = be16(bytes, 0);
  const ptype = be16(bytes, 2);
  if (htype !== 1)
    return fail('arp', `hardware type ${htype} not modelled (only 1, Ethernet)`, base);
  if (ptype !== 0x0800)
    return fail('arp', `protocol type 0x${ptype.toString(16)} not modelled (only IPv4)`, base + 2);
  if (bytes[4] !== 6 || bytes[5] !== 4) {
    return fail('arp', `address lengths ${bytes[4]}/${bytes[5]}, expected 6/4`, base + 4);
  }
  const opcode = be16(bytes, 6);
  if (opcode !== ARPOP.REQUEST && opcode !== ARPOP.REPLY) {
    return fail('arp', `opcode ${opcode} not modelled (only request 1, reply 2)`, base + 6);
  }
  return ok({
    kind: 'arp',
    op: opcode === ARPOP.REQUEST ? 'request' : 'reply',
    senderMac: readMac(bytes, 8),
    senderIp: readIp(bytes, 14),
    targetMac: readMac(bytes, 18),
    targetIp: readIp(bytes, 24),
  });
}

export function emitArp(p: ArpPacket): Uint8Array {
  const out = new Uint8Array(ARP_LEN);
  out.set([0, 1, 0x08, 0x00, 6, 4, 0, p.op === 'request' ? ARPOP.REQUEST : ARPOP.REPLY]);
  writeMac(out, 8, p.senderMac);
  writeIp(out, 14, p.senderIp);
  writeMac(out, 18, p.targetMac);
  writeIp(out, 24, p.targetIp);
  return out;
}
