/**
 * The real kernel as the oracle for kube-router's policy rules as the twin
 * renders them: the policy-kube-router example (bridge CNI, two nodes,
 * kube-router beside it) built in real namespaces from the twin's own state —
 * each node's IP sets loaded with `ipset restore`, its merged ruleset with
 * `iptables-restore` — and a real TCP connection for each case. What the
 * client gets (connected, refused, nothing) must be what the twin's trace
 * says: a delivered request and reply, a REJECT whose ICMP error reaches the
 * client, or one that is lost on the way back.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canEmulate } from '../emulate/netns.js';
import { connectForReal, realTwinSuite } from '../emulate/testing/real-twin.js';
import { traceConnectionWithTwin } from '../trace/connection.js';

const EXAMPLE = 'examples/policy-kube-router.yaml';
const can = canEmulate(['ip', 'iptables-restore', 'ipset', 'bridge', 'sysctl', 'socat']);

describe.skipIf(!can)('kube-router policy rules in a real kernel', () => {
  const suite = realTwinSuite(EXAMPLE, readFileSync(EXAMPLE, 'utf8'), {
    hosts: (h) => !h.name.startsWith('host/'),
  });

  // [from, to, server pod, its port, why]
  const CASES: [string, string, string, number, string][] = [
    ['store/fe-1', 'store/be-2:8080', 'store/be-2', 8080, 'fe → be, same node: allowed'],
    ['store/fe-1', 'store/be-1:8080', 'store/be-1', 8080, 'fe → be, across nodes: allowed'],
    ['store/be-1', 'svc/store/db:6379', 'store/db-1', 6379, 'be → db via the ClusterIP: allowed'],
    ['store/fe-1', 'store/db-1:6379', 'store/db-1', 6379, 'fe → db, same node: rejected'],
    ['store/fe-2', 'store/db-1:6379', 'store/db-1', 6379, 'fe → db, across nodes: rejected'],
    ['store/db-1', 'store/be-2:8080', 'store/be-2', 8080, 'db egress denied'],
  ];

  it.each(CASES)(
    '%s → %s (%s)',
    async (from, to, server, port, _why) => {
      const sport = 42100 + CASES.findIndex((c) => c[0] === from && c[1] === to);
      const { trace: t } = traceConnectionWithTwin(suite.plan(), { from, to, sport });
      const twin =
        t.request.disposition === 'delivered' && t.reply?.disposition === 'delivered'
          ? 'connected'
          : t.reply?.disposition === 'delivered' && /ECONNREFUSED/.test(t.reply.socket ?? '')
            ? 'refused'
            : 'no answer';
      const { results } = await connectForReal(suite, {
        server,
        listen: port,
        from,
        dst: t.to.ip,
        port: t.to.port!,
        sport,
      });
      const r = results[0];
      const kernel =
        r?.kind === 'connected' ? 'connected' : r?.kind === 'refused' ? 'refused' : 'no answer';
      expect(kernel, JSON.stringify(r)).toBe(twin);
    },
    20_000,
  );
});
