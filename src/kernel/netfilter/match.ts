/**
 * compileMatch: one match of a rule to its test, by kind, each family in the
 * file named after its kernel module (see compile.ts).
 */
import { type CMatch } from './eval.js';
import { compileConntrack, compileState } from './match-conntrack.js';
import { compileAddrtype, compilePhysdev, compileRpfilter } from './match-host.js';
import { cidrTest, compileProtocol, ifaceTest } from './match-ip.js';
import { compileIcmp, compileIcmp6, compileMultiport, compileTcpUdp } from './match-l4.js';
import { compileConnmarkMatch, compileMarkMatch } from './match-mark.js';
import { compileLimit, compileRecent, compileStatistic } from './match-rate.js';
import { compileSetMatch } from './match-set.js';
import type { Match } from './types.js';

export function compileMatch(m: Match): CMatch {
  switch (m.kind) {
    case 'protocol':
      return compileProtocol(m);
    case 'source':
      return cidrTest(m.cidr, 'src', m.invert);
    case 'destination':
      return cidrTest(m.cidr, 'dst', m.invert);
    case 'in-interface':
      return ifaceTest(m.name, m.wildcard, 'in', m.invert);
    case 'out-interface':
      return ifaceTest(m.name, m.wildcard, 'out', m.invert);
    case 'fragment':
      // Packets are never non-first fragments in the model (no fragmentation).
      return { test: () => m.invert };
    case 'comment':
      return { test: () => true };
    case 'nfacct':
      // xt_nfacct: matches unless over quota; no quotas are modelled.
      return { test: () => true };
    case 'l4':
      return compileTcpUdp(m);
    case 'multiport':
      return compileMultiport(m);
    case 'icmp':
      return compileIcmp(m);
    case 'icmp6':
      return compileIcmp6(m);
    case 'conntrack':
      return compileConntrack(m);
    case 'state':
      return compileState(m);
    case 'mark':
      return compileMarkMatch(m);
    case 'connmark':
      return compileConnmarkMatch(m);
    case 'addrtype':
      return compileAddrtype(m);
    case 'statistic':
      return compileStatistic(m);
    case 'recent':
      return compileRecent(m);
    case 'physdev':
      return compilePhysdev(m);
    case 'rpfilter':
      return compileRpfilter(m);
    case 'limit':
      return compileLimit(m);
    case 'set':
      return compileSetMatch(m);
    case 'unsupported':
      // xt_nfacct nfacct_mt only counts: it returns `overquota != NFACCT_UNDERQUOTA`,
      // true for objects without a quota (NFACCT_NO_QUOTA), which is what
      // kube-proxy creates (`nfacct add NAME`). The dump cannot carry a quota.
      if (m.module === 'nfacct') return { test: () => true };
      return { unsupported: `match -m ${m.module}${m.args.length ? ' ' + m.args.join(' ') : ''}` };
  }
}
