/**
 * Real-kernel check of policy enforcement exactly as the twin builds it: the
 * whole iptables ruleset the twin generates for node-a of
 * examples/policy-calico.yaml (kube-proxy's nat and filter rules, Calico's
 * natOutgoing, Felix's policy chains, merged — `twin.nodeRules`) is loaded
 * with iptables-restore into a node namespace whose pods hang off Calico-style
 * veths named as the twin names them (`cali…`, proxy ARP, /32 routes). Every
 * connection is traced through the twin and attempted for real — pod to pod
 * and pod to ClusterIP (the real nat PREROUTING DNATs before the real filter
 * FORWARD) — and must succeed exactly when the twin delivers it.
 * Runs only as root with ip, iptables-restore and socat; namespaces are
 * `pe-pol-<pid>-…` and are deleted in afterAll.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addCalicoPod,
  addNode,
  connects,
  listen,
  run as sh,
  stopAll,
} from '../../src/emulate/testing/calico-node.js';
import { canRunKernelTests } from '../../src/emulate/testing/kernel.js';
import { loadDocuments } from '../../src/k8s/load.js';
import { buildModel } from '../../src/k8s/model.js';
import { traceConnection } from '../../src/trace/connection.js';
import { planTwin } from '../../src/twin/index.js';

const canRun = canRunKernelTests(['ip', 'iptables-restore', 'socat', 'ipset']);
const tag = `${process.pid}`;
const created: string[] = [];
const listeners: ChildProcess[] = [];

afterAll(() => stopAll(listeners, created));

const EXAMPLE = 'examples/policy-calico.yaml';
const NODE = 'node-a';
/** [from, to ref, address, port] — `to` as traceConnection takes it; address is what the real client dials. */
const CONNECTIONS: [string, string, string, number][] = [
  ['store/fe-1', 'store/be-2:8080', '10.244.1.22', 8080],
  ['store/fe-1', 'store/db-1:6379', '10.244.1.31', 6379],
  ['store/be-2', 'store/db-1:6379', '10.244.1.31', 6379],
  ['store/db-1', 'store/be-2:8080', '10.244.1.22', 8080],
  ['store/be-2', 'store/fe-1:80', '10.244.1.11', 80],
  ['store/fe-1', 'svc/store/db:6379', '10.96.0.63', 6379],
  ['store/be-2', 'svc/store/db:6379', '10.96.0.63', 6379],
];

describe.skipIf(!canRun)(
  'the twin’s node ruleset enforces in a real kernel what the twin traces',
  () => {
    it(`${EXAMPLE} ${NODE}`, async () => {
      const loaded = loadDocuments([{ path: EXAMPLE, text: readFileSync(EXAMPLE, 'utf8') }]);
      const plan = planTwin(buildModel(loaded.objects).model);
      const twin = plan.instantiate();
      const rules = twin.nodeRules.get(NODE)!.text;
      // The rules really are Felix's and kube-proxy's, merged.
      expect(rules).toContain('-A FORWARD -j cali-FORWARD');
      expect(rules).toContain('-A KUBE-SERVICES -d 10.96.0.63/32');

      const node = `pe-pol-${tag}-node`;
      // An uplink with a default route: proxy ARP answers 169.254.1.1 only when the node can route it.
      addNode(node, created, { dev: 'eth0', cidr: '192.168.1.10/24', gateway: '192.168.1.1' });
      const podNs = new Map<string, string>();
      const local = [...twin.pods.values()].filter((p) => p.node === NODE && !p.hostNetwork);
      expect(local.map((p) => p.key).sort()).toEqual(['store/be-2', 'store/db-1', 'store/fe-1']);
      local.forEach((pod, i) => {
        const ns = `pe-pol-${tag}-p${i}`;
        podNs.set(pod.key, ns);
        const iface = pod.hostIface!;
        expect(iface).toMatch(/^cali[0-9a-f]{11}$/);
        addCalicoPod(node, ns, created, iface, pod.ip!);
        for (const c of pod.pod.spec.containers)
          for (const p of c.ports ?? []) {
            listeners.push(listen(ns, p.containerPort));
          }
      });
      // Felix programs its IP sets before the rules that name them.
      sh(['ip', 'netns', 'exec', node, 'ipset', 'restore'], twin.nodeRules.get(NODE)!.ipsetSave);
      sh(['ip', 'netns', 'exec', node, 'iptables-restore'], rules);
      await new Promise((r) => setTimeout(r, 300));

      const results: string[] = [];
      let allowed = 0;
      let denied = 0;
      for (const [from, to, addr, port] of CONNECTIONS) {
        const t = traceConnection(plan, { from, to });
        const twinSays = t.request.disposition === 'delivered';
        if (twinSays) allowed++;
        else denied++;
        const got = await connects(podNs.get(from)!, addr, port);
        results.push(
          `${from} -> ${to}: twin ${twinSays ? 'allows' : 'denies'}, kernel ${got ? 'allows' : 'denies'}`,
        );
      }
      for (const r of results) expect(r).toMatch(/twin (allows|denies), kernel \1$/);
      // Both verdicts are exercised.
      expect(allowed).toBeGreaterThanOrEqual(3);
      expect(denied).toBeGreaterThanOrEqual(3);
    }, 60_000);
  },
);
