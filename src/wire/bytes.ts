/** Big-endian field access shared by the header modules (network byte order). */
import { intToIp, ipToInt, type Ipv4 } from './addr.js';

export function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function be32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

export function readIp(b: Uint8Array, at: number): Ipv4 {
  return intToIp(be32(b, at));
}

export function writeIp(b: Uint8Array, at: number, ip: Ipv4): void {
  put32(b, at, ipToInt(ip));
}
