/**
 * Connection tracking (net/netfilter/nf_conntrack_*.c, nf_nat_core.c).
 *
 * Addresses are text of either family: IPv6 tuples (the single-host
 * ip6tables trace only) track and NAT the same way, with ICMPv6's echo
 * types (nf_conntrack_proto_icmpv6.c) and IPv6 NAT ranges compared as
 * 128-bit numbers. The Host/cluster twin uses IPv4 only.
 *
 * - `tuple.ts`: the 5-tuple as an immutable value; `invertTuple` is the pure
 *   `reply()` of a tuple (nf_ct_invert_tuple).
 * - `entry.ts`: `ConntrackEntry` (original + reply tuple, status bits IPS_*,
 *   mark, expiry, TCP state) and `CtInfo`.
 * - `table.ts`: one host's table (`ConntrackTable`): lookup by either tuple,
 *   confirm (insert), tuple-taken checks for NAT, lazy expiry on a simulated
 *   clock.
 * - `core.ts`: the hooks' work: `conntrackIn` (nf_conntrack_in: NEW /
 *   ESTABLISHED / RELATED / INVALID, TCP tracking with tcp_loose and
 *   tcp_be_liberal) and `confirm` (__nf_conntrack_confirm).
 * - `nat.ts`: NAT bindings: `setupInfo` (nf_nat_setup_info + get_unique_tuple
 *   with source-port clash handling), `nullBinding`, `natPacket`
 *   (nf_nat_packet: un-NAT of replies falls out of the reply tuple),
 *   `icmpReplyTranslation`.
 * - `format.ts`: `conntrack -L` text.
 *
 * The netfilter hook pipeline (../netfilter) decides *when* each of these
 * runs; this module only knows *what* they do.
 */
export * from './tuple.js';
export * from './entry.js';
export * from './table.js';
export * from './core.js';
export * from './nat.js';
export * from './format.js';
export type { TcpState, TcpCt } from './tcp.js';
export { invertTuple as reply } from './tuple.js';
