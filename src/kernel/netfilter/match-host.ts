/**
 * Matches that ask the host: xt_addrtype (the local table's address type),
 * xt_rpfilter (the reverse-path route lookup), xt_physdev (the bridge ports
 * br_netfilter recorded).
 */
import { type CMatch, type EvalCtx } from './eval.js';
import type { Match } from './types.js';

export function compileAddrtype(m: Extract<Match, { kind: 'addrtype' }>): CMatch {
  // xt_addrtype addrtype_mt_v1
  const src = m.srcType;
  const dst = m.dstType;
  const srcSet = src ? new Set(src.types) : null;
  const dstSet = dst ? new Set(dst.types) : null;
  const limIn = m.limitIfaceIn;
  const limOut = m.limitIfaceOut;
  return {
    test: (c) => {
      const dev = limIn ? c.inIface || undefined : limOut ? c.outIface || undefined : undefined;
      if (srcSet && srcSet.has(c.env.addrType(c.packet.ip.src, dev)) === src!.invert) return false;
      if (dstSet && dstSet.has(c.env.addrType(c.packet.ip.dst, dev)) === dst!.invert) return false;
      return true;
    },
  };
}

/** rpfilter_mt + rpfilter_lookup_reverse (net/ipv4/netfilter/ipt_rpfilter.c). */
export function compileRpfilter(m: Extract<Match, { kind: 'rpfilter' }>): CMatch {
  const decide = (c: EvalCtx): boolean => {
    if (c.inIface === 'lo') return true; // rpfilter_is_loopback
    const s = c.src >>> 0;
    const d = c.dst >>> 0;
    // A zero source to limited broadcast or link-local multicast (DHCP, IGMP) passes.
    if (s === 0 && (d === 0xffffffff || (d & 0xffffff00) >>> 0 === 0xe0000000)) return true;
    const r = c.env.reverseRoute!(c.packet.ip.src, c.packet.ip.dst, m.validmark ? c.mark : 0);
    if (r === null) return false;
    if (r.type !== 'unicast' && !(r.type === 'local' && m.acceptLocal)) return false;
    return r.devs.includes(c.inIface) || m.loose;
  };
  return {
    test: (c) => decide(c) !== m.invert,
    undecided: (c) =>
      c.v6
        ? '-m rpfilter on IPv6 (ip6t_rpfilter) is not modelled'
        : c.env.reverseRoute === undefined
          ? "-m rpfilter needs the host's routing table (ip route show table all), which an iptables-save dump does not hold"
          : c.inIface === ''
            ? '-m rpfilter needs the device the packet came in on (--in-iface)'
            : undefined,
  };
}

export function compilePhysdev(m: Extract<Match, { kind: 'physdev' }>): CMatch {
  const cmp = (dev: string, p: { name: string; wildcard: boolean }) =>
    p.wildcard ? dev.startsWith(p.name) : dev === p.name;
  return {
    test: (c) => {
      // physdev_mt (net/netfilter/xt_physdev.c)
      const br = c.hctx.bridge;
      if (!br) {
        if (m.isBridged && !m.isBridged.invert) return false;
        if (m.isIn && !m.isIn.invert) return false;
        if (m.isOut && !m.isOut.invert) return false;
        if (m.physdevIn && !m.physdevIn.invert) return false;
        if (m.physdevOut && !m.physdevOut.invert) return false;
        return true;
      }
      const outdev = br.physOut;
      const indev = br.physIn;
      if (m.isBridged && (outdev !== undefined) === m.isBridged.invert) return false;
      if (m.isIn && (indev !== undefined) === m.isIn.invert) return false;
      if (m.isOut && (outdev !== undefined) === m.isOut.invert) return false;
      if (m.physdevIn && indev !== undefined && cmp(indev, m.physdevIn) === m.physdevIn.invert)
        return false;
      if (!m.physdevOut) return true;
      if (outdev === undefined) return true;
      return cmp(outdev, m.physdevOut) !== m.physdevOut.invert;
    },
  };
}

// Targets.
