/**
 * `show trace` as VPP prints it (v18.01): `format_vlib_trace` (src/vlib/trace.c)
 * writes, per node, `\n%U: %v` (the time since the main loop started, as
 * h:m:s:u, and the node's name), then `\n  ` and the node's trace format
 * function. The format functions follow VPP's own:
 *
 * - `format_ip4_header` (src/vnet/ip/ip4_format.c): `PROTO: src -> dst`, then
 *   at two more columns `tos`, `ttl`, `length`, `checksum` (with `(should be
 *   0x…)` when the header's checksum is wrong), `fragment id` and flags, then
 *   the next header at the starting column;
 * - `format_tcp_header` (src/vnet/tcp/tcp_format.c), `format_udp_header`
 *   (src/vnet/udp/udp_format.c);
 * - `format_ethernet_header_with_length` (src/vnet/ethernet/format.c);
 * - `format_hex_bytes` (src/vppinfra/format.c): 32 bytes a line with an
 *   offset when longer than 32;
 * - the nodes' own: `format_virtio_input_trace`, `format_acl_fa_trace` and
 *   `format_fa_5tuple` (acl/fa_node.c), `format_snat_out2in_trace`,
 *   `format_snat_in2out_trace` (nat/), `format_ip4_lookup_trace`,
 *   `format_ip4_rewrite_trace` with `format_adj_nbr` (ip4_forward.c,
 *   adj/adj_nbr.c), `format_vnet_interface_output_trace` (interface_output.c).
 *
 * The packet data a node records is its trace struct's: 32 bytes for
 * ethernet-input, 64 for ip4-input, 60 for ip4-lookup/ip4-rewrite
 * (`packet_data[64 - sizeof (u32)]`), 124 for interface output.
 */
import type { AclTrace } from './acl.js';
import type { VppTraceEntry, VppTraceRecord } from './vswitch.js';

const sp = (n: number): string => ' '.repeat(n);
const h2 = (n: number): string => n.toString(16).padStart(2, '0');
const h4 = (n: number): string => n.toString(16).padStart(4, '0');
const h8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const be16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const be32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
const ip4 = (b: Uint8Array, at: number): string =>
  `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const mac = (b: Uint8Array, at: number): string => Array.from(b.subarray(at, at + 6), h2).join(':');

const PROTOCOLS: Record<number, string> = {
  1: 'ICMP',
  6: 'TCP',
  17: 'UDP',
  47: 'GRE',
  4: 'IP_IN_IP',
};
const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

function ones(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** `format_tcp_header`, starting at column `col`. */
export function formatTcpHeader(b: Uint8Array, max: number, col: number): string {
  if (max < 20) return 'TCP header truncated';
  const ind = sp(col + 2);
  const flags = b[13]!;
  const names = TCP_FLAGS.filter((_, i) => flags & (1 << i))
    .map((n) => ` ${n}`)
    .join('');
  return (
    `TCP: ${be16(b, 0)} -> ${be16(b, 2)}` +
    `\n${ind}seq. 0x${h8(be32(b, 4))} ack 0x${h8(be32(b, 8))}` +
    `\n${ind}flags 0x${h2(flags)}${names}, tcp header: ${(b[12]! >> 4) * 4} bytes` +
    `\n${ind}window ${be16(b, 14)}, checksum 0x${h4(be16(b, 16))}`
  );
}

/** `format_udp_header`. */
export function formatUdpHeader(b: Uint8Array, max: number, col: number): string {
  if (max < 8) return 'UDP header truncated';
  return `UDP: ${be16(b, 0)} -> ${be16(b, 2)}\n${sp(col + 2)}length ${be16(b, 4)}, checksum 0x${h4(be16(b, 6))}`;
}

/** `foreach_icmp4_type` (icmp46_packet.h). */
const ICMP4_TYPES: Record<number, string> = {
  0: 'echo_reply',
  3: 'destination_unreachable',
  4: 'source_quench',
  5: 'redirect',
  6: 'alternate_host_address',
  8: 'echo_request',
  9: 'router_advertisement',
  10: 'router_solicitation',
  11: 'time_exceeded',
  12: 'parameter_problem',
  13: 'timestamp_request',
  14: 'timestamp_reply',
  15: 'information_request',
  16: 'information_reply',
  17: 'address_mask_request',
  18: 'address_mask_reply',
  30: 'traceroute',
  31: 'datagram_conversion_error',
  32: 'mobile_host_redirect',
  33: 'ip6_where_are_you',
  34: 'ip6_i_am_here',
  35: 'mobile_registration_request',
  36: 'mobile_registration_reply',
  37: 'domain_name_request',
  38: 'domain_name_reply',
  39: 'skip',
  40: 'photuris',
};

/** `foreach_icmp4_code`, keyed `type << 8 | code`. */
const ICMP4_CODES: Record<number, string> = {
  ...Object.fromEntries(
    [
      'destination_unreachable_net',
      'destination_unreachable_host',
      'protocol_unreachable',
      'port_unreachable',
      'fragmentation_needed_and_dont_fragment_set',
      'source_route_failed',
      'destination_network_unknown',
      'destination_host_unknown',
      'source_host_isolated',
      'network_administratively_prohibited',
      'host_administratively_prohibited',
      'network_unreachable_for_type_of_service',
      'host_unreachable_for_type_of_service',
      'communication_administratively_prohibited',
      'host_precedence_violation',
      'precedence_cutoff_in_effect',
    ].map((n, i) => [(3 << 8) | i, n]),
  ),
  [(5 << 8) | 0]: 'network_redirect',
  [(5 << 8) | 1]: 'host_redirect',
  [(5 << 8) | 2]: 'type_of_service_and_network_redirect',
  [(5 << 8) | 3]: 'type_of_service_and_host_redirect',
  [(9 << 8) | 0]: 'normal_router_advertisement',
  [(9 << 8) | 16]: 'does_not_route_common_traffic',
  [(11 << 8) | 0]: 'ttl_exceeded_in_transit',
  [(11 << 8) | 1]: 'fragment_reassembly_time_exceeded',
  [(12 << 8) | 0]: 'pointer_indicates_error',
  [(12 << 8) | 1]: 'missing_required_option',
  [(12 << 8) | 2]: 'bad_length',
};

/** `format_ip4_icmp_header` (icmp4.c): the checksum printed `0x%x`, unpadded. */
export function formatIcmp4Header(b: Uint8Array, max: number): string {
  if (max < 4) return 'ICMP header truncated';
  const type = ICMP4_TYPES[b[0]!];
  const code = ICMP4_CODES[(b[0]! << 8) | b[1]!];
  const name =
    type === undefined ? `unknown 0x${b[0]!.toString(16)}` : `${type}${code ? ` ${code}` : ''}`;
  return `ICMP ${name} checksum 0x${be16(b, 2).toString(16)}`;
}

/** `format_ip4_header` over `max` bytes of packet data, starting at column `col`. */
export function formatIp4Header(b: Uint8Array, max: number, col: number): string {
  if (max < 20) return 'IP header truncated';
  const ind = sp(col + 2);
  const version = b[0]! >> 4;
  const hl = (b[0]! & 0x0f) * 4;
  const proto = b[9]!;
  let s = `${PROTOCOLS[proto] ?? `unknown ${proto}`}: ${ip4(b, 12)} -> ${ip4(b, 16)}`;
  if (version !== 4 || hl !== 20) s += `\n${ind}version ${version}, header length ${hl}`;
  s += `\n${ind}tos 0x${h2(b[1]!)}, ttl ${b[8]}, length ${be16(b, 2)}, checksum 0x${h4(be16(b, 10))}`;
  // ip4_header_checksum: the checksum the header should carry.
  const copy = Uint8Array.from(b.subarray(0, hl));
  copy[10] = 0;
  copy[11] = 0;
  const should = ~ones(copy) & 0xffff;
  if (should !== be16(b, 10)) s += ` (should be 0x${h4(should)})`;
  let f = be16(b, 6);
  const o = 8 * (f & 0x1fff);
  f ^= f & 0x1fff;
  s += `\n${ind}fragment id 0x${h4(be16(b, 4))}`;
  if (o !== 0) s += ` offset ${o}`;
  if (f !== 0) {
    s += ', flags ';
    if (f & 0x2000) s += 'MORE_FRAGMENTS';
    if (f & 0x4000) s += 'DONT_FRAGMENT';
    if (f & 0x8000) s += 'CONGESTION';
  }
  if (hl < max) {
    const next = b.subarray(hl, max);
    if (proto === 6) s += `\n${sp(col)}${formatTcpHeader(next, max - hl, col)}`;
    else if (proto === 17) s += `\n${sp(col)}${formatUdpHeader(next, max - hl, col)}`;
    else if (proto === 1) s += `\n${sp(col)}${formatIcmp4Header(next, max - hl)}`;
  }
  return s;
}

/** `format_ethernet_header_with_length` (max 0: the header alone, as `format_ethernet_header`). */
export function formatEthernetHeader(b: Uint8Array, max: number, col: number): string {
  if (max !== 0 && max < 14) return 'ethernet header truncated';
  const type = be16(b, 12);
  const name =
    type === 0x0800 ? 'IP4' : type === 0x0806 ? 'ARP' : type === 0x86dd ? 'IP6' : `0x${h4(type)}`;
  let s = `${name}: ${mac(b, 6)} -> ${mac(b, 0)}`;
  if (max !== 0 && 14 < max && type === 0x0800)
    s += `\n${sp(col)}${formatIp4Header(b.subarray(14), max - 14, col)}`;
  return s;
}

/** `format_hex_bytes`. */
export function formatHexBytes(b: Uint8Array, col: number): string {
  const short = b.length <= 32;
  let s = '';
  for (let i = 0; i < b.length; i++) {
    if (!short && i % 32 === 0) s += `${h8(i)}: `;
    s += h2(b[i]!);
    if (!short && (i + 1) % 32 === 0 && i + 1 < b.length) s += `\n${sp(col)}`;
  }
  return s;
}

/** `format_fa_5tuple`. */
function formatFiveTuple(t: Omit<AclTrace, 'node'>): string {
  const x = t.tuple;
  return (
    `${t.isInput ? 'input' : 'output'} sw_if_index ${t.swIfIndex} (lsb16 ${t.swIfIndex & 0xffff}) l3 ip4` +
    `${x.nonFirstFragment ? ' non-initial fragment' : ''} ${x.src} -> ${x.dst}` +
    ` l4 proto ${x.proto} l4_valid ${x.l4Valid ? 1 : 0} port ${x.ports[0]} -> ${x.ports[1]}` +
    ` tcp flags (${x.tcpFlagsValid ? 'valid' : 'invalid'}) ${h2(x.tcpFlags)} rsvd 0`
  );
}

/** One node's trace record, formatted from column 2 as `format_vlib_trace` calls it. */
export function formatRecord(r: VppTraceRecord): string {
  const col = 2;
  switch (r.node) {
    case 'virtio-input':
      return (
        `virtio: hw_if_index ${r.hwIfIndex} next-index ${r.nextIndex} vring 0 len ${r.len}` +
        `\n${sp(col + 2)}hdr: flags 0x00 gso_type 0x00 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0 num_buffers 1`
      );
    case 'ethernet-input':
      return formatEthernetHeader(r.data, 0, col);
    case 'arp-input':
      return formatArp(r.data);
    case 'ip4-input':
      return formatIp4Header(r.data, r.data.length, col);
    case 'ip4-local':
      // format_ip4_forward_next_trace indents the header two more columns here.
      return `  ${formatIp4Header(r.data, r.data.length, col + 2)}`;
    case 'dpdk-input':
      return formatDpdkRx(r.ifName, r.frame);
    case 'l2-input':
      return `l2-input: sw_if_index ${r.swIfIndex} dst ${r.dst} src ${r.src}`;
    case 'l2-fwd':
      return `l2-fwd:   sw_if_index ${r.swIfIndex} dst ${r.dst} src ${r.src} bd_index ${r.bdIndex ?? 0}`;
    case 'l2-input-classify':
      return `l2-classify: sw_if_index ${r.swIfIndex}, table ${r.table}, offset 0, next ${r.nextIndex}`;
    case 'vxlan4-encap':
      return `VXLAN encap to vxlan_tunnel${r.tunnelIndex} vni ${r.vni}`;
    case 'vxlan4-input':
      return r.tunnelIndex < 0
        ? `VXLAN decap error - tunnel for vni ${r.vni} does not exist`
        : `VXLAN decap from vxlan_tunnel${r.tunnelIndex} vni ${r.vni} next ${r.nextIndex} error ${r.error}`;
    case 'ip4-udp-lookup':
      return `UDP: src-port ${r.sport} dst-port ${r.dport}`;
    case 'error-drop':
      return r.reason ?? 'drop';
    case 'acl-plugin-in-ip4-fa':
    case 'acl-plugin-out-ip4-fa':
    case 'acl-plugin-in-ip4-l2':
      return (
        `acl-plugin: sw_if_index ${r.swIfIndex}, next index ${r.nextIndex}, action: ${r.action},` +
        ` match: acl ${r.matchAcl} rule ${r.matchRule} trace_bits ${h8(r.traceBits)}` +
        `\n  pkt info ${r.packetInfo.map((v) => v.toString(16).padStart(16, '0')).join(' ')}` +
        `\n   ${formatFiveTuple(r)}`
      );
    case 'nat44-out2in':
      return `NAT44_OUT2IN: sw_if_index ${r.swIfIndex}, next index ${r.nextIndex}, session index ${r.sessionIndex}`;
    case 'nat44-in2out':
    case 'nat44-in2out-slowpath': {
      const tag = r.node === 'nat44-in2out' ? 'NAT44_IN2OUT_FAST_PATH' : 'NAT44_IN2OUT_SLOW_PATH';
      return `${tag}: sw_if_index ${r.swIfIndex}, next index ${r.nextIndex}, session ${r.sessionIndex}`;
    }
    case 'ip4-lookup':
    case 'ip4-load-balance':
      return (
        `fib ${r.fibIndex} dpo-idx ${r.dpoIndex} flow hash: 0x${h8(r.flowHash ?? 0)}` +
        `\n${sp(col)}${formatIp4Header(r.data, r.data.length, col)}`
      );
    case 'ip4-rewrite':
      return (
        `tx_sw_if_index ${r.txSwIfIndex} dpo-idx ${r.adj.index} : ipv4 via ${r.adj.nextHop} ${r.adj.ifName}:` +
        ` ${formatHexBytes(r.adj.rewrite, col)} flow hash: 0x00000000` +
        `\n${sp(col)}${formatHexBytes(r.data, col)}`
      );
    default:
      if (!('ifName' in r))
        return `l2-output: sw_if_index ${r.swIfIndex} dst ${r.dst} src ${r.src} data ${Array.from(r.data, h2).join(' ')}`;
      return `${r.ifName}\n${sp(col)}${formatEthernetHeader(r.data, r.data.length, col)}`;
  }
}

/**
 * `format_dpdk_rx_trace` (src/plugins/dpdk/device/format.c): the queue, the
 * vlib buffer, the DPDK mbuf, then the frame. The buffer index and the
 * mbuf's physical address are addresses in VPP's buffer pool, which the twin
 * does not have: printed as 0x0.
 */
function formatDpdkRx(ifName: string, f: Uint8Array): string {
  const len = f.length;
  return (
    `${ifName} rx queue 0` +
    `\n  buffer 0x0: current data 14, length ${len - 14}, free-list 0, clone-count 0, totlen-nifb 0, trace 0x0` +
    `\n                 l4-cksum-computed l4-cksum-correct l2-hdr-offset 0 l3-hdr-offset 14 ` +
    `\n  PKT MBUF: port 0, nb_segs 1, pkt_len ${len}` +
    `\n    buf_len 2176, data_len ${len}, ol_flags 0x0, data_off 128, phys_addr 0x0` +
    `\n    packet_type 0x0 l2_len 0 l3_len 0 outer_l2_len 0 outer_l3_len 0` +
    `\n  ${formatEthernetHeader(f, len, 2)}`
  );
}

function formatArp(b: Uint8Array): string {
  const op = be16(b, 6) === 1 ? 'request' : 'reply';
  return `${op}, type ethernet/IP4, address size 6/4\n  ${mac(b, 8)}/${ip4(b, 14)} -> ${mac(b, 18)}/${ip4(b, 24)}`;
}

/**
 * The `h:m:s:u` column. A real trace prints the time since VPP's main loop
 * started; the twin has no clock, so every node gets `clock` (default
 * 00:00:00:000000, microseconds), said so by the caller.
 */
export function formatTime(micros: number): string {
  const u = micros % 1_000_000;
  const s = Math.floor(micros / 1_000_000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${p2(Math.floor(s / 3600))}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}:${String(u).padStart(6, '0')}`;
}

/** One packet's trace, as `show trace` prints it after `Packet N`. */
export function formatPacketTrace(entries: readonly VppTraceEntry[], clock = 0): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`${formatTime(clock)}: ${e.record.node}`);
    out.push(`  ${formatRecord(e.record)}`);
  }
  return out.join('\n');
}
