/**
 * Real-kernel check of the Calico rules the twin renders: one node namespace
 * with a Calico-style veth (`cali…`, proxy ARP, /32 routes) per pod namespace,
 * the rendered IP sets loaded with `ipset restore` and the filter table with
 * iptables-restore, as Felix programs them, and a TCP connection attempted for every
 * ordered pair of pods on the corpus ports. Each must succeed exactly when the
 * policy engine says the pair is allowed on that port.
 * Runs only as root with ip, ipset, iptables-restore and socat; every namespace is
 * deleted in afterAll.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addCalicoPod,
  addNode,
  connects,
  listen,
  run as sh,
  stopAll,
} from '../emulate/testing/calico-node.js';
import { canRunKernelTests } from '../emulate/testing/kernel.js';
import { renderCalicoFilter } from './calico.js';
import { computeMatrix } from './matrix.js';
import { buildPolicyWorld } from './world.js';
import { sourcesFromYaml, type CorpusCase } from './testing/yaml.js';

const canRun = canRunKernelTests(['ip', 'ipset', 'iptables-restore', 'socat']);
const tag = `${process.pid % 100000}`;
const created: string[] = [];
const listeners: ChildProcess[] = [];

afterAll(() => stopAll(listeners, created));

const CASES = [
  'e2e_egress_cidr_except.json',
  'e2e_ingress_one_named_port.json',
  'e2e_multiple_podselectors_and_nsselectors.json',
];

describe.skipIf(!canRun)('Calico rules in a real kernel enforce what the engine decides', () => {
  CASES.forEach((file, caseNo) => {
    it(file, async () => {
      const c = JSON.parse(
        readFileSync(join(import.meta.dirname, '../../test/fixtures/netpol', file), 'utf8'),
      ) as CorpusCase;
      const world = buildPolicyWorld(sourcesFromYaml(c.objects, file));
      const rules = renderCalicoFilter(world, world.pods, { ipsets: 'ipset' });
      const node = `pe-cal${caseNo}-n-${tag}`;
      // An uplink with a default route: proxy ARP answers only for addresses the node can route.
      addNode(node, created, { dev: 'up0', cidr: '192.0.2.1/24', gateway: '192.0.2.254' });
      const podNs = new Map<string, string>();
      world.pods.forEach((pod, i) => {
        const ns = `pe-cal${caseNo}-p${i}-${tag}`;
        podNs.set(pod.key, ns);
        const iface = rules.interfaces.get(pod.key)!;
        addCalicoPod(node, ns, created, iface, pod.ip!);
      });
      sh(['ip', 'netns', 'exec', node, 'ipset', 'restore'], rules.ipsetSave);
      sh(['ip', 'netns', 'exec', node, 'iptables-restore'], rules.iptablesSave);

      const ports = [
        ...new Set(c.expected.filter((e) => e.port.protocol === 'TCP').map((e) => e.port.port)),
      ];
      for (const pod of world.pods) {
        for (const port of ports) {
          listeners.push(listen(podNs.get(pod.key)!, port));
        }
      }
      await new Promise((r) => setTimeout(r, 300));

      const m = computeMatrix(world);
      const checks: Promise<string>[] = [];
      for (const a of world.pods) {
        for (const b of world.pods) {
          // a === b too: a pod to its own IP goes through lo, never crossing the node (always allowed)
          for (const port of ports) {
            const want = m.allowed(m.indexOf(a.key)!, m.indexOf(b.key)!).has('TCP', port);
            checks.push(
              connects(podNs.get(a.key)!, b.ip!, port).then(
                (got) =>
                  `${a.key} -> ${b.key} TCP/${port}: ${got === want ? 'ok' : `kernel ${got}, engine ${want}`}`,
              ),
            );
          }
        }
      }
      const results = await Promise.all(checks);
      expect(results.filter((r) => !r.endsWith(': ok'))).toEqual([]);
      expect(results.length).toBeGreaterThan(0);
    });
  });
});
