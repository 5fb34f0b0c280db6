/**
 * vpp/: a second data plane beside kernel/, sharing wire/: FD.io VPP as
 * Contiv-VPP ran it (v18.01). A `Vswitch` (vswitch.ts) holds software
 * interfaces with their `sw_if_index`, the FIB with adjacencies, the ACL
 * plugin (acl.ts: reflexive sessions) and NAT44 (nat44.ts: static mappings
 * with load-balanced locals, sessions), and walks a frame through the graph
 * nodes, recording what each node's trace function records; format.ts
 * prints those records as `show trace` does. Each behaviour cites the
 * upstream file it follows.
 */
export { Vswitch } from './vswitch.js';
export type {
  Adjacency,
  Dpo,
  FibEntry,
  Mac,
  SwInterface,
  VppFate,
  VppPass,
  VppTraceEntry,
  VppTraceRecord,
} from './vswitch.js';
export { AclPlugin, type Acl, type AclRule, type AclTrace, type FiveTuple } from './acl.js';
export {
  Nat44,
  type LbLocal,
  type NatChooser,
  type NatSession,
  type NatTrace,
  type StaticMapping,
} from './nat44.js';
export { formatPacketTrace, formatRecord, formatTime } from './format.js';
