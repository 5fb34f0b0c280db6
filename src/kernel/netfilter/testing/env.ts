/**
 * Test helpers for netfilter: a small host environment and packet builders.
 * Used by the tests beside this file and by the Host's tests.
 */
import type { Ipv4 } from '../../../wire/addr.js';
import { NO_FLAGS, type Ipv4Packet, type TcpFlags } from '../../../wire/packet.js';
import { DEFAULT_CONNTRACK_SYSCTLS, type ConntrackSysctls } from '../../conntrack/core.js';
import type { NetfilterEnv } from '../env.js';
import type { AddrType } from '../types.js';

/** A host whose local table holds `locals` (address → device), plus 127/8 on lo. */
export class TestEnv implements NetfilterEnv {
  readonly host = 'test';
  time = 0;
  sysctls: ConntrackSysctls;
  constructor(
    private readonly locals: Readonly<Record<Ipv4, string>> = {},
    sysctls: Partial<ConntrackSysctls> = {},
  ) {
    this.sysctls = { ...DEFAULT_CONNTRACK_SYSCTLS, ...sysctls };
  }
  addrType(ip: Ipv4, dev?: string): AddrType {
    if (ip.startsWith('0.') || ip === '255.255.255.255') return 'BROADCAST';
    const first = Number(ip.split('.')[0]);
    if (first >= 224 && first <= 239) return 'MULTICAST';
    const on = ip.startsWith('127.') ? 'lo' : this.locals[ip];
    if (on === undefined) return 'UNICAST';
    return dev === undefined || dev === on ? 'LOCAL' : 'UNICAST';
  }
  masqueradeSource(outIface: string): Ipv4 | null {
    const mine = Object.entries(this.locals).find(([, dev]) => dev === outIface);
    return mine ? mine[0] : null;
  }
  primaryAddress(iface: string): Ipv4 | null {
    return this.masqueradeSource(iface);
  }
  now(): number {
    return this.time;
  }
}

export function tcp(
  src: Ipv4,
  sport: number,
  dst: Ipv4,
  dport: number,
  flags: Partial<TcpFlags> = { syn: true },
  seq = 1000,
  ack = 0,
  payloadLength = 0,
): Ipv4Packet {
  return {
    ip: { src, dst, ttl: 64, id: 0, df: true, tos: 0 },
    l4: { kind: 'tcp', sport, dport, seq, ack, flags: { ...NO_FLAGS, ...flags }, window: 64240 },
    payloadLength,
  };
}

export function udp(src: Ipv4, sport: number, dst: Ipv4, dport: number): Ipv4Packet {
  return {
    ip: { src, dst, ttl: 64, id: 0, df: false, tos: 0 },
    l4: { kind: 'udp', sport, dport },
    payloadLength: 10,
  };
}

export function icmpEcho(src: Ipv4, dst: Ipv4, id: number, type = 8): Ipv4Packet {
  return {
    ip: { src, dst, ttl: 64, id: 0, df: false, tos: 0 },
    l4: { kind: 'icmp', type, code: 0, id, seq: 1 },
    payloadLength: 0,
  };
}

/** An ICMP error from `src` to `dst` quoting `inner`. */
export function icmpError(
  src: Ipv4,
  dst: Ipv4,
  type: number,
  code: number,
  inner: Ipv4Packet,
): Ipv4Packet {
  return {
    ip: { src, dst, ttl: 64, id: 0, df: false, tos: 0xc0 },
    l4: { kind: 'icmp', type, code, inner },
    payloadLength: 0,
  };
}
