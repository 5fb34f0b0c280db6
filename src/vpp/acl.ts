/**
 * The ACL plugin's IPv4 data path (FD.io VPP `src/plugins/acl/fa_node.c` and
 * `fa_node.h`, v18.01, the version Contiv-VPP 1.x ran): the nodes
 * `acl-plugin-in-ip4-fa` and `acl-plugin-out-ip4-fa`.
 *
 * - `acl_fill_5tuple`: the packet's 5-tuple (`fa_5tuple_t`: two
 *   `ip46_address_t`, the l4 key `port[2] proto lsb_of_sw_if_index`, the
 *   packet info `sw_if_index mask_type_index_lsb tcp_flags flags`). On output
 *   the L3 header starts after the rewrite (`save_rewrite_length`).
 * - `acl_make_5tuple_session_key`: a session key is the packet's 5-tuple on
 *   input and its mirror on output, so a session made by a request entering
 *   an interface matches the reply leaving it.
 * - `acl_fa_node_fn`: an existing session first (action 3, `match_acl_in_index`
 *   ~0, the session's pool index exposed as the rule index, trace bit
 *   0x80000000); otherwise the interface's ACLs in order
 *   (`single_acl_match_5tuple`: first matching rule; `is_permit` 0 deny, 1
 *   permit, 2 permit+reflect), and a reflect adds a session
 *   (`acl_fa_add_session`, the lowest free pool index). No match denies.
 */
import { ipToInt, type Ipv4 } from '../wire/addr.js';

/** One ACL rule (`acl_rule_t`): prefixes, protocol (0 any), port ranges, TCP flags value/mask. */
export interface AclRule {
  readonly isPermit: 0 | 1 | 2;
  readonly src: { readonly addr: Ipv4; readonly len: number };
  readonly dst: { readonly addr: Ipv4; readonly len: number };
  readonly proto: number;
  readonly srcPorts: readonly [number, number];
  readonly dstPorts: readonly [number, number];
  readonly tcpFlagsValue?: number;
  readonly tcpFlagsMask?: number;
}

export interface Acl {
  /** The tag Contiv gave it (`contiv/vpp-policy-REFLECTION`, `…-GLOBAL`). */
  readonly tag: string;
  readonly rules: readonly AclRule[];
}

/** What `acl_fill_5tuple` extracts, field by field. */
export interface FiveTuple {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly proto: number;
  readonly ports: readonly [number, number];
  readonly l4Valid: boolean;
  readonly tcpFlags: number;
  readonly tcpFlagsValid: boolean;
  readonly nonFirstFragment: boolean;
}

/** `acl_fa_trace_t`: what `show trace` prints for the ACL nodes. */
export interface AclTrace {
  readonly node: 'acl-plugin-in-ip4-fa' | 'acl-plugin-out-ip4-fa';
  readonly swIfIndex: number;
  readonly nextIndex: number;
  readonly action: number;
  readonly matchAcl: number;
  readonly matchRule: number;
  readonly traceBits: number;
  /** `fa_5tuple_t` as six little-endian u64 (kv key[0..4], value). */
  readonly packetInfo: readonly bigint[];
  readonly isInput: boolean;
  readonly tuple: FiveTuple;
}

/** The u32 ~0 as the trace's `%d` prints it. */
export const NONE = -1;

const u64le = (bytes: readonly number[]): bigint =>
  bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b & 0xff), 0n);

const ipBytes = (ip: Ipv4): number[] => ip.split('.').map(Number);

/** The six u64 of `fa_5tuple_t` for an IPv4 packet, as the trace prints them. */
export function packetInfo(t: FiveTuple, swIfIndex: number, isInput: boolean): bigint[] {
  const addr = (ip: Ipv4): [bigint, bigint] => [0n, u64le([0, 0, 0, 0, ...ipBytes(ip)])];
  const l4 = u64le([
    t.ports[0] & 0xff,
    t.ports[0] >> 8,
    t.ports[1] & 0xff,
    t.ports[1] >> 8,
    t.proto & 0xff,
    t.proto >> 8,
    swIfIndex & 0xff,
    (swIfIndex >> 8) & 0xff,
  ]);
  const flags =
    (t.tcpFlagsValid ? 1 : 0) |
    (isInput ? 2 : 0) |
    (t.l4Valid ? 4 : 0) |
    (t.nonFirstFragment ? 8 : 0);
  const pkt = u64le([
    swIfIndex & 0xff,
    (swIfIndex >> 8) & 0xff,
    (swIfIndex >> 16) & 0xff,
    (swIfIndex >>> 24) & 0xff,
    0xff,
    0xff,
    t.tcpFlags,
    flags,
  ]);
  return [...addr(t.src), ...addr(t.dst), l4, pkt];
}

/** `acl_fill_5tuple` over an IPv4 header at `l3` in `b`. */
export function fillFiveTuple(b: Uint8Array, l3: number): FiveTuple {
  const ihl = (b[l3]! & 0x0f) * 4;
  const proto = b[l3 + 9]!;
  const frag = ((b[l3 + 6]! << 8) | b[l3 + 7]!) & 0xfff;
  const src = [0, 1, 2, 3].map((i) => b[l3 + 12 + i]).join('.');
  const dst = [0, 1, 2, 3].map((i) => b[l3 + 16 + i]).join('.');
  const l4 = l3 + ihl;
  // offset_within_packet: at least 8 bytes after the L4 offset; non-first fragments have none.
  const l4Valid = frag === 0 && l4 <= b.length - 8;
  let ports: [number, number] = [0, 0];
  let tcpFlags = 0;
  if (l4Valid && proto === 1) ports = [b[l4]!, b[l4 + 1]!];
  else if (l4Valid && (proto === 6 || proto === 17)) {
    ports = [(b[l4]! << 8) | b[l4 + 1]!, (b[l4 + 2]! << 8) | b[l4 + 3]!];
    tcpFlags = b[l4 + 13] ?? 0;
  }
  return {
    src,
    dst,
    proto,
    ports,
    l4Valid,
    tcpFlags,
    tcpFlagsValid: l4Valid && proto === 6,
    nonFirstFragment: frag !== 0,
  };
}

function prefixMatch(ip: Ipv4, p: { addr: Ipv4; len: number }): boolean {
  if (p.len === 0) return true;
  const mask = p.len === 32 ? 0xffffffff : ~((1 << (32 - p.len)) - 1);
  return ((ipToInt(ip) ^ ipToInt(p.addr)) & mask) === 0;
}

/**
 * `single_acl_match_5tuple`: the first rule of `acl` the packet matches, or
 * undefined. A non-initial fragment has no ports: with `l4_match_nonfirst_fragment`
 * (1 by default, acl.c) it matches a rule on its protocol alone, and sets
 * trace bit 0x80000000.
 */
export function matchAcl(
  acl: Acl,
  t: FiveTuple,
): { rule: number; action: 0 | 1 | 2; fragment?: true } | undefined {
  for (let i = 0; i < acl.rules.length; i++) {
    const r = acl.rules[i]!;
    if (!prefixMatch(t.dst, r.dst) || !prefixMatch(t.src, r.src)) continue;
    if (r.proto) {
      if (t.proto !== r.proto) continue;
      if (t.nonFirstFragment) return { rule: i, action: r.isPermit, fragment: true };
      if (!t.l4Valid) continue;
      if (t.ports[0] < r.srcPorts[0] || t.ports[0] > r.srcPorts[1]) continue;
      if (t.ports[1] < r.dstPorts[0] || t.ports[1] > r.dstPorts[1]) continue;
      if (t.tcpFlagsValid && (t.tcpFlags & (r.tcpFlagsMask ?? 0)) !== (r.tcpFlagsValue ?? 0))
        continue;
    }
    return { rule: i, action: r.isPermit };
  }
  return undefined;
}

interface Session {
  readonly key: string;
  readonly swIfIndex: number;
  tcpFlagsSeen: [number, number];
}

/**
 * The ACL plugin's state on one vswitch: the ACLs by index, the per-interface
 * input and output lists, and the session pool (one worker).
 */
export class AclPlugin {
  private readonly acls: (Acl | undefined)[] = [];
  private readonly input = new Map<number, number[]>();
  private readonly output = new Map<number, number[]>();
  private readonly pool: (Session | undefined)[] = [];
  private readonly byKey = new Map<string, number>();

  /** `acl_add_replace` with index ~0: the lowest free ACL index. */
  add(acl: Acl): number {
    let i = this.acls.indexOf(undefined);
    if (i < 0) i = this.acls.length;
    this.acls[i] = acl;
    return i;
  }

  get(index: number): Acl | undefined {
    return this.acls[index];
  }

  /** Every ACL with its index, and the interfaces it is applied on (`show acl-plugin acl`). */
  list(): { index: number; acl: Acl; inbound: number[]; outbound: number[] }[] {
    const on = (m: Map<number, number[]>, i: number): number[] =>
      [...m].filter(([, l]) => l.includes(i)).map(([sw]) => sw);
    return this.acls.flatMap((acl, index) =>
      acl ? [{ index, acl, inbound: on(this.input, index), outbound: on(this.output, index) }] : [],
    );
  }

  /** `acl_interface_add_del_inout_acl`: append `acl` to the interface's input or output list. */
  apply(swIfIndex: number, isInput: boolean, acl: number): void {
    const m = isInput ? this.input : this.output;
    m.set(swIfIndex, [...(m.get(swIfIndex) ?? []), acl]);
  }

  /** Whether the interface has the input (or output) ACL feature enabled. */
  enabled(swIfIndex: number, isInput: boolean): boolean {
    return ((isInput ? this.input : this.output).get(swIfIndex)?.length ?? 0) > 0;
  }

  aclsOn(swIfIndex: number, isInput: boolean): readonly number[] {
    return (isInput ? this.input : this.output).get(swIfIndex) ?? [];
  }

  /** Sessions in the pool (for tests and `show acl-plugin sessions`). */
  sessionCount(): number {
    return this.byKey.size;
  }

  /** `acl_make_5tuple_session_key`, as a string key. */
  private sessionKey(t: FiveTuple, swIfIndex: number, isInput: boolean): string {
    const [a0, a1] = isInput ? [t.src, t.dst] : [t.dst, t.src];
    const [p0, p1] = isInput ? t.ports : [t.ports[1], t.ports[0]];
    return `${a0} ${a1} ${t.proto} ${p0} ${p1} ${swIfIndex & 0xffff}`;
  }

  /**
   * One packet through `acl-plugin-{in,out}-ip4-fa` (`acl_fa_node_fn`). The
   * returned trace's `nextIndex` is the feature arc's next (1 when permitted,
   * 0 error-drop when not), as `vnet_feature_next` gives for the arcs Contiv's
   * interfaces have.
   */
  run(
    b: Uint8Array,
    l3: number,
    swIfIndex: number,
    isInput: boolean,
    nextOnPermit: number,
  ): AclTrace {
    const tuple = fillFiveTuple(b, l3);
    const key = this.sessionKey(tuple, swIfIndex, isInput);
    let action = 0;
    let matchAcl = NONE;
    let matchRule = NONE;
    let traceBits = 0;
    const hit = this.byKey.get(key);
    if (hit !== undefined) {
      traceBits |= 0x80000000;
      const s = this.pool[hit]!;
      if (tuple.tcpFlagsValid) s.tcpFlagsSeen[isInput ? 1 : 0] |= tuple.tcpFlags;
      action = 3; // acl_fa_track_session
      matchRule = hit; // "expose the session id to the tracer"
    } else {
      for (const index of this.aclsOn(swIfIndex, isInput)) {
        const acl = this.acls[index];
        if (!acl) {
          // "the ACL does not exist but is used for policy. Block traffic."
          matchAcl = index;
          matchRule = NONE;
          break;
        }
        const m = matchAcl_(acl, tuple);
        if (m) {
          if (m.fragment) traceBits |= 0x80000000;
          action = m.action;
          matchAcl = index;
          matchRule = m.rule;
          break;
        }
      }
      if (action === 2) this.addSession(key, swIfIndex, tuple, isInput);
    }
    return {
      node: isInput ? 'acl-plugin-in-ip4-fa' : 'acl-plugin-out-ip4-fa',
      swIfIndex,
      nextIndex: action > 0 ? nextOnPermit : 0,
      action,
      matchAcl,
      matchRule,
      traceBits: traceBits >>> 0,
      packetInfo: packetInfo(tuple, swIfIndex, isInput),
      isInput,
      tuple,
    };
  }

  /** `acl_fa_add_session`: `pool_get` takes the lowest free index. */
  private addSession(key: string, swIfIndex: number, t: FiveTuple, isInput: boolean): void {
    let i = this.pool.indexOf(undefined);
    if (i < 0) i = this.pool.length;
    const s: Session = { key, swIfIndex, tcpFlagsSeen: [0, 0] };
    if (t.tcpFlagsValid) s.tcpFlagsSeen[isInput ? 1 : 0] |= t.tcpFlags;
    this.pool[i] = s;
    this.byKey.set(key, i);
  }

  /**
   * Sessions other connections hold already (`show acl-plugin sessions`):
   * they take the pool's lowest slots and match no packet here.
   */
  reserveSessions(n: number): void {
    for (let i = 0; i < n; i++) {
      const slot = this.pool.indexOf(undefined);
      const at = slot < 0 ? this.pool.length : slot;
      this.pool[at] = { key: `reserved ${at}`, swIfIndex: -1, tcpFlagsSeen: [0, 0] };
    }
  }

  /** `clear acl-plugin sessions`. */
  clearSessions(): void {
    for (let i = 0; i < this.pool.length; i++) this.deleteSession(i);
  }

  /** Session deletion (idle timeout, `acl_fa_delete_session`): frees the pool slot. */
  deleteSession(index: number): void {
    const s = this.pool[index];
    if (!s) return;
    this.byKey.delete(s.key);
    this.pool[index] = undefined;
  }
}

const matchAcl_ = matchAcl;
