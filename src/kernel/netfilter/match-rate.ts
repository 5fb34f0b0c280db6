/**
 * Matches that count: xt_statistic (random and nth), xt_limit (token
 * bucket on the simulated clock), xt_recent (address lists).
 */
import { ipToInt, ipv6ToBigInt, isIpv4 } from '../../wire/addr.js';
import { RECENT_LIST_TOT, RECENT_PKT_LIST_TOT, type CMatch } from './eval.js';
import type { Match } from './types.js';

export function compileStatistic(m: Extract<Match, { kind: 'statistic' }>): CMatch {
  if (m.mode === 'random') {
    // iptables stores lround(p * 2^31); the kernel matches when
    // (get_random_u32() & 0x7FFFFFFF) < that, so the effective chance is the fraction.
    const cut = Math.min(0x80000000, Math.max(0, Math.round(m.probability * 0x80000000)));
    const p = cut / 0x80000000;
    const inv = m.invert;
    return {
      test: (c) => c.chooser.chance(p, c.label) !== inv,
    };
  }
  // nth: iptables stores every-1 and count = every-1-packet; a packet
  // matches when the shared counter wraps to 0 (statistic_mt).
  const every = m.every - 1;
  const start = every - m.packet;
  const inv = m.invert;
  return {
    test: (c) => {
      let st = c.state.nth.get(m);
      if (!st) {
        c.state.written = true;
        c.state.nth.set(m, (st = { count: start }));
      }
      st.count = st.count === every ? 0 : st.count + 1;
      return (st.count === 0) !== inv;
    },
  };
}

export function compileLimit(m: Extract<Match, { kind: 'limit' }>): CMatch {
  // limit_mt: credit grows with time up to burst packets; a packet that finds a full
  // packet's credit takes it and matches. Time is the simulated clock.
  const perSecond = 10000 / m.avg;
  return {
    test: (c) => {
      const now = c.env.now();
      let st = c.state.limit.get(m);
      if (!st) {
        c.state.written = true;
        c.state.limit.set(m, (st = { credit: m.burst, prev: now }));
      }
      st.credit = Math.min(m.burst, st.credit + (now - st.prev) * perSecond);
      st.prev = now;
      const hit = st.credit >= 1;
      if (hit) st.credit -= 1;
      return hit !== m.invert;
    },
  };
}

export function compileRecent(m: Extract<Match, { kind: 'recent' }>): CMatch {
  let maskInt = 0xffffffff;
  let mask6 = (1n << 128n) - 1n;
  if (m.mask !== undefined) {
    if (m.mask.indexOf(':') >= 0) {
      const v = ipv6ToBigInt(m.mask);
      if (v === null) return { unsupported: `--mask ${m.mask}` };
      mask6 = v;
    } else {
      if (!isIpv4(m.mask)) return { unsupported: `--mask ${m.mask}` };
      maskInt = ipToInt(m.mask);
    }
  }
  return {
    test: (c) => {
      // recent_mt (net/netfilter/xt_recent.c)
      const key = c.v6
        ? `6:${((m.side === 'source' ? c.src6 : c.dst6) & mask6).toString(16)}`
        : String(((m.side === 'source' ? c.src : c.dst) & maskInt) >>> 0);
      const ttl = c.packet.ip.ttl;
      let table = c.state.recent.get(m.name);
      if (!table) {
        c.state.written = true;
        c.state.recent.set(m.name, (table = new Map()));
      }
      let ret = m.invert;
      let e = table.get(key);
      if (e && m.rttl && e.ttl !== ttl) e = undefined;
      if (!e) {
        if (m.action !== 'set') return ret;
        if (table.size >= RECENT_LIST_TOT) {
          const oldest = table.keys().next().value;
          if (oldest !== undefined) table.delete(oldest);
        }
        table.set(key, { stamps: [c.now], ttl });
        return !ret;
      }
      if (m.action === 'set') ret = !ret;
      else if (m.action === 'remove') {
        table.delete(key);
        return !ret;
      } else {
        const since = c.now - (m.seconds ?? 0);
        let hits = 0;
        for (const s of e.stamps) {
          if (m.seconds && s < since) continue;
          if (!m.hitcount || ++hits >= m.hitcount) {
            ret = !ret;
            break;
          }
        }
        if (m.reap && m.seconds) e.stamps = e.stamps.filter((s) => s >= since);
      }
      if (m.action === 'set' || (m.action === 'update' && ret)) {
        e.stamps.push(c.now);
        if (e.stamps.length > RECENT_PKT_LIST_TOT) e.stamps.shift();
        e.ttl = ttl;
        // recent_entry_update moves the entry to the LRU tail.
        table.delete(key);
        table.set(key, e);
      }
      return ret;
    },
  };
}
