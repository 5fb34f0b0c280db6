/**
 * Real-kernel check of the Calico rules the twin renders: one node namespace
 * with a Calico-style veth (`cali…`, proxy ARP, /32 routes) per pod namespace,
 * the rendered filter table loaded with iptables-restore (IP sets expanded:
 * the ipset tool is not assumed), and a TCP connection attempted for every
 * ordered pair of pods on the corpus ports. Each must succeed exactly when the
 * policy engine says the pair is allowed on that port.
 * Runs only as root with ip, iptables-restore and socat; every namespace is
 * deleted in afterAll.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCalicoFilter } from './calico.js';
import { computeMatrix } from './matrix.js';
import { buildPolicyWorld } from './model.js';
import { sourcesFromYaml, type CorpusCase } from './testkit.js';

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canRun = isRoot && have('ip') && have('iptables-restore') && have('socat');
const tag = `${process.pid % 100000}`;
const created: string[] = [];
const listeners: ChildProcess[] = [];

function sh(args: string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 20_000,
  });
}

function connects(ns: string, ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, 'socat', '-u', '/dev/null', `TCP:${ip}:${port},connect-timeout=1.5`],
      { timeout: 5_000 },
      (err) => resolve(err === null),
    );
  });
}

afterAll(() => {
  for (const l of listeners) l.kill('SIGKILL');
  for (const ns of created) {
    try {
      sh(['ip', 'netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
});

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
      const rules = renderCalicoFilter(world, world.pods, { ipsets: 'expand' });
      const node = `pe-cal${caseNo}-n-${tag}`;
      sh(['ip', 'netns', 'add', node]);
      created.push(node);
      sh(['ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // An uplink with a default route: proxy ARP answers only for addresses the node can route.
      sh(['ip', '-n', node, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', node, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
      sh(['ip', '-n', node, 'link', 'set', 'up0', 'up']);
      sh(['ip', '-n', node, 'link', 'set', 'up1', 'up']);
      sh(['ip', '-n', node, 'addr', 'add', '192.0.2.1/24', 'dev', 'up0']);
      sh([
        'ip',
        '-n',
        node,
        'route',
        'add',
        'default',
        'via',
        '192.0.2.254',
        'dev',
        'up0',
        'onlink',
      ]);
      const podNs = new Map<string, string>();
      world.pods.forEach((pod, i) => {
        const ns = `pe-cal${caseNo}-p${i}-${tag}`;
        sh(['ip', 'netns', 'add', ns]);
        created.push(ns);
        podNs.set(pod.key, ns);
        const iface = rules.interfaces.get(pod.key)!;
        sh([
          'ip',
          'link',
          'add',
          iface,
          'netns',
          node,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          ns,
        ]);
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
        sh(['ip', '-n', ns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
        sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
        // Calico's pod side: a link-local gateway reached by proxy ARP on the host veth.
        sh(['ip', '-n', ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
        sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
        sh(['ip', '-n', node, 'link', 'set', iface, 'up']);
        // As Calico's CNI plugin: proxy ARP without delay on the host side.
        sh([
          'ip',
          'netns',
          'exec',
          node,
          'sysctl',
          '-qw',
          `net.ipv4.conf.${iface}.proxy_arp=1`,
          `net.ipv4.neigh.${iface}.proxy_delay=0`,
        ]);
        sh(['ip', '-n', node, 'route', 'add', `${pod.ip}/32`, 'dev', iface, 'scope', 'link']);
      });
      sh(['ip', 'netns', 'exec', node, 'iptables-restore'], rules.iptablesSave);

      const ports = [
        ...new Set(c.expected.filter((e) => e.port.protocol === 'TCP').map((e) => e.port.port)),
      ];
      for (const pod of world.pods) {
        for (const port of ports) {
          const l = spawn(
            'ip',
            [
              'netns',
              'exec',
              podNs.get(pod.key)!,
              'socat',
              `TCP-LISTEN:${port},fork,reuseaddr`,
              'SYSTEM:true',
            ],
            { stdio: 'ignore' },
          );
          listeners.push(l);
        }
      }
      await new Promise((r) => setTimeout(r, 300));

      const m = computeMatrix(world);
      const checks: Promise<string>[] = [];
      for (const a of world.pods) {
        for (const b of world.pods) {
          if (a === b) continue; // loopback never crosses the node
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
