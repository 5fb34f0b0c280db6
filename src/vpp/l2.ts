/**
 * VPP's L2 side as Contiv-VPP used it between nodes: one bridge domain (ID 1)
 * holding the VXLAN BVI `loop0` and one VXLAN tunnel per other node, with
 * learning off and a static L2 FIB entry per other node's BVI MAC
 * (contiv/vpp `plugins/contiv/remote_cni_server.go`: `vxlanBridgeDomain`,
 * `vxlanFibEntry`, `vxlanArpEntry`; VNI 10, `vxlanVNI`).
 *
 * What the nodes do, and what their trace functions record:
 * - `l2-input` (`src/vnet/l2/l2_input.c`, `format_l2input_trace`): a frame
 *   entering the bridge domain from a member (the BVI's output, a tunnel's
 *   decap); `l2-input: sw_if_index N dst MAC src MAC`.
 * - `l2-input-classify` (`l2_input_classify.c`) and `acl-plugin-in-ip4-l2`
 *   (`plugins/acl/fa_node.c`): the BVI's input ACL on the L2 path — the ACL
 *   plugin steers L2 input through a classifier table it creates per
 *   interface (`acl_hook_l2_input_classify`).
 * - `l2-fwd` (`l2_fwd.c`, `format_l2fwd_trace`): the L2 FIB lookup of the
 *   destination MAC; a hit on the BVI goes straight to `ip4-input` with the
 *   BVI as RX interface (`l2_to_bvi`, l2_bvi.h), otherwise to `l2-output`.
 * - `l2-output` (`l2_output.c`, `format_l2output_trace`): the TX member;
 *   `data` is the 12 bytes after the two MACs.
 * - `vxlan4-encap` (`src/vnet/vxlan/encap.c`): prepends the tunnel's rewrite
 *   (IPv4 TTL 254, id 0, no DF; UDP to 4789 with checksum 0; the VXLAN header
 *   with the I flag and the VNI), sets the IP length and the UDP source port
 *   to the inner frame's flow hash (`udp0->src_port = flow_hash0`: the u32
 *   hash's low 16 bits stored in host order), and goes on through the
 *   tunnel's stacked DPO — the load balance of the remote VTEP's FIB entry
 *   (`vxlan_tunnel_restack_dpo`) — to `ip4-load-balance`.
 * - `ip4-udp-lookup` (`src/vnet/udp/udp_local.c`) sends UDP 4789 arriving
 *   for a local address to `vxlan4-input` (`src/vnet/vxlan/decap.c`), which
 *   finds the tunnel by (outer source, VNI) and hands the inner frame to
 *   `l2-input` (next 1) with the tunnel as RX interface.
 */
import type { Ipv4 } from '../wire/addr.js';
import { internetChecksum } from '../wire/checksum.js';
import { emitVxlanHeader } from '../wire/vxlan.js';

export const VXLAN_PORT = 4789;

export interface VxlanTunnel {
  /** Pool index: the N of `vxlan_tunnelN`. */
  readonly index: number;
  readonly swIfIndex: number;
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly vni: number;
}

export interface BridgeDomain {
  readonly id: number;
  /** `bd_index`: the bridge domain's index in VPP's vector (0 is the default domain). */
  readonly index: number;
  readonly learn: boolean;
  bvi?: number;
  readonly members: number[];
  /** Static L2 FIB: MAC → the member's sw_if_index. */
  readonly fib: Map<string, number>;
}

/** The L2 nodes' trace records (format.ts prints them). */
export type L2TraceRecord =
  | {
      readonly node: 'l2-input' | 'l2-fwd';
      readonly swIfIndex: number;
      readonly dst: string;
      readonly src: string;
      readonly bdIndex?: number;
    }
  | {
      readonly node: 'l2-output';
      readonly swIfIndex: number;
      readonly dst: string;
      readonly src: string;
      readonly data: Uint8Array;
    }
  | {
      readonly node: 'l2-input-classify';
      readonly swIfIndex: number;
      readonly table: number;
      readonly nextIndex: number;
    }
  | { readonly node: 'vxlan4-encap'; readonly tunnelIndex: number; readonly vni: number }
  | {
      readonly node: 'vxlan4-input';
      readonly tunnelIndex: number;
      readonly vni: number;
      readonly nextIndex: number;
      readonly error: number;
    }
  | { readonly node: 'ip4-udp-lookup'; readonly sport: number; readonly dport: number };

const rot = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * `ip4_compute_flow_hash` (src/vnet/ip/ip4.h) with `IP_FLOW_HASH_DEFAULT`
 * (addresses, protocol, ports): Bob Jenkins' lookup3 `hash_v3_mix32` and
 * `hash_v3_finalize32` (src/vppinfra/hash.h) over the addresses and ports
 * as the CPU loads them (little-endian words of network-order bytes).
 */
export function ip4FlowHash(ip: Uint8Array): number {
  const le32 = (at: number): number =>
    (ip[at]! | (ip[at + 1]! << 8) | (ip[at + 2]! << 16) | (ip[at + 3]! << 24)) >>> 0;
  const le16 = (at: number): number => ip[at]! | (ip[at + 1]! << 8);
  const proto = ip[9]!;
  const l4 = (ip[0]! & 0x0f) * 4;
  const tcpUdp = proto === 6 || proto === 17;
  let a = le32(12);
  let b = (le32(16) ^ proto) >>> 0;
  const t1 = tcpUdp ? le16(l4) : 0;
  const t2 = tcpUdp ? le16(l4 + 2) : 0;
  let c = ((t2 << 16) | t1) >>> 0;
  const mix: [number, number][] = [
    [4, 0],
    [6, 1],
    [8, 2],
    [16, 0],
    [19, 1],
    [4, 2],
  ];
  // hash_v3_mix32: a -= c; a ^= rot(c, 4); c += b; b -= a; b ^= rot(a, 6); a += c; …
  for (const [k, which] of mix) {
    if (which === 0) {
      a = ((a - c) >>> 0) ^ rot(c, k);
      c = (c + b) >>> 0;
    } else if (which === 1) {
      b = ((b - a) >>> 0) ^ rot(a, k);
      a = (a + c) >>> 0;
    } else {
      c = ((c - b) >>> 0) ^ rot(b, k);
      b = (b + a) >>> 0;
    }
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
  }
  // hash_v3_finalize32
  c = ((c ^ b) - rot(b, 14)) >>> 0;
  a = ((a ^ c) - rot(c, 11)) >>> 0;
  b = ((b ^ a) - rot(a, 25)) >>> 0;
  c = ((c ^ b) - rot(b, 16)) >>> 0;
  a = ((a ^ c) - rot(c, 4)) >>> 0;
  b = ((b ^ a) - rot(a, 14)) >>> 0;
  c = ((c ^ b) - rot(b, 24)) >>> 0;
  return c;
}

/** The UDP source port `vxlan4-encap` writes: the flow hash's low u16, stored in host (little-endian) order. */
export function vxlanSourcePort(innerIp: Uint8Array): number {
  const h = ip4FlowHash(innerIp);
  return ((h & 0xff) << 8) | ((h >>> 8) & 0xff);
}

/**
 * `vxlan4-encap` of one L2 frame: the outer IPv4 (TTL 254, id 0, flags 0 as
 * `vxlan_rewrite` builds it), UDP (checksum 0: no offload, IPv4) and VXLAN
 * header, then the frame. The IP checksum is the template's updated for the
 * length, which equals the full header checksum.
 */
export function vxlanEncap(t: VxlanTunnel, frame: Uint8Array): Uint8Array {
  const innerIp = frame.subarray(14);
  const vx = emitVxlanHeader(t.vni);
  const total = 20 + 8 + vx.length + frame.length;
  const out = new Uint8Array(total);
  const ip = (s: Ipv4): number[] => s.split('.').map(Number);
  out.set([0x45, 0, total >> 8, total & 0xff, 0, 0, 0, 0, 254, 17, 0, 0], 0);
  out.set(ip(t.src), 12);
  out.set(ip(t.dst), 16);
  const c = internetChecksum(out.subarray(0, 20));
  out[10] = c >> 8;
  out[11] = c & 0xff;
  const sport = vxlanSourcePort(innerIp);
  const ulen = total - 20;
  out.set(
    [sport >> 8, sport & 0xff, VXLAN_PORT >> 8, VXLAN_PORT & 0xff, ulen >> 8, ulen & 0xff, 0, 0],
    20,
  );
  out.set(vx, 28);
  out.set(frame, 28 + vx.length);
  return out;
}
