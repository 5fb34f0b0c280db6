/**
 * Ethernet II frames (IEEE 802.3 with an EtherType), without preamble or FCS,
 * which is what a packet socket and `tcpdump -w` see on Linux.
 *
 * MAC addresses travel as lower-case `aa:bb:cc:dd:ee:ff` strings, like
 * `ip link` prints them. Short frames are not padded to 60 bytes here: on a
 * veth or bridge the kernel sends them as they are (padding is the NIC's
 * job, `eth_skb_pad` in drivers), and a capture shows them unpadded.
 */
import { checkField, fail, ok, type WireResult } from './result.js';

export type Mac = string;

export const ETHER_HEADER_LEN = 14;
export const BROADCAST_MAC: Mac = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC: Mac = '00:00:00:00:00:00';

/** EtherTypes the model names (include/uapi/linux/if_ether.h). */
export const ETHERTYPE = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPV6: 0x86dd } as const;

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** True for the canonical lower-case colon form only. */
export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

/** Canonical form of a MAC written with upper-case digits or `-` separators; throws RangeError otherwise. */
export function normalizeMac(s: string): Mac {
  const m = s.toLowerCase().replace(/-/g, ':');
  if (!isMac(m)) throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
  return m;
}

/** Writes `mac` as 6 bytes at `buf[at]`; throws RangeError on a non-canonical string. */
export function writeMac(buf: Uint8Array, at: number, mac: Mac): void {
  if (!isMac(mac)) throw new RangeError(`not a MAC address: ${JSON.stringify(mac)}`);
  for (let i = 0; i < 6; i++) buf[at + i] = parseInt(mac.slice(3 * i, 3 * i + 2), 16);
}

export function readMac(buf: Uint8Array, at: number): Mac {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(buf[at + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Group bit (I/G) of the first octet: multicast and broadcast destinations. */
export function isMulticastMac(mac: Mac): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export interface EthernetHeader {
  readonly dst: Mac;
  readonly src: Mac;
  readonly ethertype: number;
}

export interface ParsedEthernet {
  readonly header: EthernetHeader;
  /** Everything after the 14-byte header (a view, not a copy). */
  readonly payload: Uint8Array;
}

export function parseEthernet(bytes: Uint8Array): WireResult<ParsedEthernet> {
  if (bytes.length < ETHER_HEADER_LEN) {
    return fail(
      'ethernet',
      `truncated header: ${bytes.length} of ${ETHER_HEADER_LEN} bytes`,
      bytes.length,
    );
  }
  const ethertype = (bytes[12]! << 8) | bytes[13]!;
  if (ethertype < 0x0600) {
    // An 802.3 length field (LLC/SNAP follows), not an EtherType.
    return fail('ethernet', `802.3 length field ${ethertype}, not an EtherType`, 12);
  }
  return ok({
    header: { dst: readMac(bytes, 0), src: readMac(bytes, 6), ethertype },
    payload: bytes.subarray(ETHER_HEADER_LEN),
  });
}

export function emitEthernet(header: EthernetHeader, payload: Uint8Array): Uint8Array {
  checkField('ethertype', header.ethertype, 0xffff);
  const out = new Uint8Array(ETHER_HEADER_LEN + payload.length);
  writeMac(out, 0, header.dst);
  writeMac(out, 6, header.src);
  out[12] = header.ethertype >> 8;
  out[13] = header.ethertype & 0xff;
  out.set(payload, ETHER_HEADER_LEN);
  return out;
}
