/**
 * Real-kernel checks for the edge compilers (portmap, flannel, Calico nat,
 * ip-masq-agent, klipper-lb) and mergeIptablesSave:
 *
 * 1. Each fragment, merged with a minimal kube-proxy base, loads with
 *    `iptables-restore` into a fresh netns `pe-edge-<pid>`, and `iptables-save`
 *    prints exactly the merged text back.
 * 2. Oracles: the upstream components' own commands, replayed with the real
 *    iptables (argument lists as the programs pass them, without a shell; the
 *    klipper-lb script itself under bash), leave exactly the `saveText` the
 *    compilers predict.
 * 3. portmap for real: client netns -> "node" netns holding the generated
 *    rules -> server netns ("pod"); the server sees the connection on its
 *    containerPort with the source the rules imply — the twin's own
 *    iptables trace of the same rules says which (client kept, or
 *    MASQUERADEd for hairpin).
 *
 * Runs only as root with ip, iptables-restore and iptables-save (socat and
 * bash for parts 2-3); every namespace is deleted in finally.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { compileIpMasqAgent } from '../fabric/ip-masq-agent.js';
import { compileKlipperLb, svclbContainers } from '../fabric/klipper-lb.js';
import type { Pod, Service } from '../k8s/types.js';
import { generateIptablesRules } from '../proxy/index.js';
import { traceIptables } from '../trace/iptables-trace.js';
import { compileCalicoNat } from './calico-nat.js';
import {
  parseNoErrors,
  upstreamFlannelForwardRules,
  upstreamFlannelMasqRules,
} from './testing/edge.js';
import { compileFlannelMasq } from './flannel-masq.js';
import { mergeIptablesSave, type IptablesFragment } from '../iptables/merge.js';
import { compilePortmap, dnatChainName } from './portmap.js';

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canRun =
  isRoot &&
  have('ip') &&
  have('iptables-restore') &&
  have('iptables-save') &&
  have('iptables') &&
  have('ipset');
const canBash = have('bash');
const canTraffic = have('socat');

const PREFIX = `pe-edge-${process.pid}`;
const created = new Set<string>();

function sh(argv: readonly string[], input?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 10_000,
  });
}

function inNs(
  ns: string,
  argv: readonly string[],
  input?: string,
  env?: Record<string, string>,
): string {
  if (env) {
    return execFileSync('ip', ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  }
  return sh(['ip', 'netns', 'exec', ns, ...argv], input);
}

function addNs(name: string): string {
  sh(['ip', 'netns', 'add', name]);
  created.add(name);
  inNs(name, ['ip', 'link', 'set', 'lo', 'up']);
  return name;
}

function delNs(name: string): void {
  try {
    sh(['ip', 'netns', 'del', name]);
  } catch {
    // already gone
  }
  created.delete(name);
}

afterAll(() => {
  for (const n of [...created]) delNs(n);
});

/** iptables-save output without `#` lines and with counters zeroed. */
function save(ns: string): string {
  return inNs(ns, ['iptables-save'])
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}

/** A fresh namespace for one check, removed afterwards. */
function withNs<T>(suffix: string, f: (ns: string) => T): T {
  const ns = addNs(`${PREFIX}-${suffix}`);
  try {
    return f(ns);
  } finally {
    delNs(ns);
  }
}

const base = generateIptablesRules({
  nodeName: 'n1',
  nodeIPs: ['192.168.50.1'],
  clusterCIDR: '10.244.0.0/16',
  services: [],
  endpointSlices: [],
  randomFully: true,
  nfacct: false,
}).text;

function pod(
  name: string,
  ports: { containerPort: number; hostPort: number; protocol?: 'TCP' | 'UDP'; hostIP?: string }[],
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', ports }] },
  };
}

const svc: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'traefik', namespace: 'kube-system' },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.43.12.7',
    clusterIPs: ['10.43.12.7'],
    loadBalancerSourceRanges: ['1.2.3.0/24', '5.6.7.8/32'],
    ports: [
      { port: 80, protocol: 'TCP', nodePort: 31080 },
      { port: 53, protocol: 'UDP', nodePort: 31053 },
    ],
  },
};

const fragments: [string, IptablesFragment][] = [
  [
    'portmap',
    compilePortmap({
      node: 'n1',
      pods: [
        {
          pod: pod('web', [
            { containerPort: 80, hostPort: 8080 },
            { containerPort: 53, hostPort: 5353, protocol: 'UDP' },
          ]),
          containerNet: '10.244.1.5/24',
        },
        {
          pod: pod('api', [{ containerPort: 443, hostPort: 8443, hostIP: '192.168.50.1' }]),
          containerNet: '10.244.1.6/24',
        },
      ],
    }),
  ],
  ['flannel', compileFlannelMasq({ network: '10.244.0.0/16', subnet: '10.244.1.0/24' })],
  [
    'calico',
    compileCalicoNat({
      pools: [{ cidr: '10.244.0.0/16', natOutgoing: true }, { cidr: '10.10.0.0/16' }],
      ipipTunnelAddress: '10.244.1.0',
      natPortRange: { min: 1024, max: 65535 },
    }),
  ],
  ['ip-masq-agent', compileIpMasqAgent({ nomasqAllReservedRanges: true })],
  [
    'klipper-lb',
    compileKlipperLb({ containers: svclbContainers(svc, ['192.168.50.1']).containers }),
  ],
];

describe.skipIf(!canRun)('edge fragments in a real kernel', () => {
  it.each(fragments)(
    '%s: merged with a kube-proxy base, iptables-restore then iptables-save gives it back',
    (name, frag) => {
      expect(frag.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const merged = mergeIptablesSave([base, frag.text]);
      expect(parseNoErrors(merged).errors).toEqual([]);
      withNs(name, (ns) => {
        // The IP sets the fragment's rules name exist before the rules (Felix programs them first).
        if (frag.ipsetSave) inNs(ns, ['ipset', 'restore'], frag.ipsetSave);
        inNs(ns, ['iptables-restore'], merged);
        expect(save(ns)).toBe(merged);
      });
    },
  );

  it('all five merged: one node ruleset the kernel accepts as is', () => {
    const merged = mergeIptablesSave([
      base,
      ...fragments.filter(([n]) => n !== 'calico' && n !== 'klipper-lb').map(([, f]) => f.text),
    ]);
    withNs('all', (ns) => {
      inNs(ns, ['iptables-restore'], merged);
      expect(save(ns)).toBe(merged);
    });
  });
});

describe.skipIf(!canRun)("oracles: the components' own commands in a real kernel", () => {
  const ipt = (ns: string, table: string, args: readonly string[]) =>
    inNs(ns, ['iptables', '-t', table, ...args]);

  it("portmap: the plugin's go-iptables calls for the upstream test input (portmap_iptables_test.go)", () => {
    const up = JSON.parse(readFileSync('test/fixtures/edge/portmap-upstream.json', 'utf8')) as {
      containerID: string;
      netName: string;
      containerNet: string;
      portMappings: {
        hostPort: number;
        containerPort: number;
        protocol: string;
        hostIP?: string;
      }[];
      entryRules: string[][];
      rulesSnat: string[][];
      markChains: {
        masqBit: number;
        setMark: string[];
        masqEntry: string[];
        masq: string[];
        topLevelEntry: string[];
      };
    };
    const chain = dnatChainName(up.netName, up.containerID);
    const out = compilePortmap({
      node: 'n',
      networkName: up.netName,
      markMasqBit: up.markChains.masqBit,
      pods: [
        {
          pod: pod(
            'upstream',
            up.portMappings.map((m) => ({
              containerPort: m.containerPort,
              hostPort: m.hostPort,
              protocol: m.protocol.toUpperCase() as 'TCP',
              ...(m.hostIP ? { hostIP: m.hostIP } : {}),
            })),
          ),
          containerNet: up.containerNet,
          containerId: up.containerID,
        },
      ],
    });
    withNs('pm-oracle', (ns) => {
      const m = up.markChains;
      // forwardPorts: SETMARK, MASQ (+ prepended POSTROUTING entry), top-level DNAT, the container's chain.
      ipt(ns, 'nat', ['-N', 'CNI-HOSTPORT-SETMARK']);
      ipt(ns, 'nat', ['-A', 'CNI-HOSTPORT-SETMARK', ...m.setMark]);
      ipt(ns, 'nat', ['-N', 'CNI-HOSTPORT-MASQ']);
      ipt(ns, 'nat', ['-A', 'CNI-HOSTPORT-MASQ', ...m.masq]);
      ipt(ns, 'nat', ['-I', 'POSTROUTING', '1', ...m.masqEntry, '-j', 'CNI-HOSTPORT-MASQ']);
      ipt(ns, 'nat', ['-N', 'CNI-HOSTPORT-DNAT']);
      for (const c of ['PREROUTING', 'OUTPUT'])
        ipt(ns, 'nat', ['-A', c, ...m.topLevelEntry, '-j', 'CNI-HOSTPORT-DNAT']);
      ipt(ns, 'nat', ['-N', chain]);
      for (const r of up.rulesSnat) ipt(ns, 'nat', ['-A', chain, ...r]);
      for (const r of up.entryRules)
        ipt(ns, 'nat', [
          '-A',
          'CNI-HOSTPORT-DNAT',
          ...r.map((w) => w.replace('CONTAINER_ID', up.containerID)),
          '-j',
          chain,
        ]);
      expect(save(ns)).toBe(out.saveText);
    });
  });

  it.each([
    ['10.244.0.0/16', '10.244.1.0/24', true],
    ['172.20.0.0/14', '172.21.128.0/25', false],
  ])('flannel: masqRules/forwardRules for %s, lease %s, random-fully %s', (network, subnet, rf) => {
    const out = compileFlannelMasq({ network, subnet, randomFully: rf });
    withNs('fl-oracle', (ns) => {
      ipt(ns, 'nat', ['-N', 'FLANNEL-POSTRTG']);
      for (const [c, argv] of upstreamFlannelMasqRules(network, subnet, rf))
        ipt(ns, 'nat', ['-A', c, ...argv]);
      ipt(ns, 'filter', ['-N', 'FLANNEL-FWD']);
      for (const [c, argv] of upstreamFlannelForwardRules(network))
        ipt(ns, 'filter', ['-A', c, ...argv]);
      expect(save(ns)).toBe(out.saveText);
    });
  });

  it('ip-masq-agent: EnsureChain, EnsureRule(Append) of the quoted-comment jump, then its iptables-restore', () => {
    const fx = JSON.parse(
      readFileSync('test/fixtures/edge/ip-masq-agent-upstream.json', 'utf8'),
    ) as { cases: { desc: string; input: object; chain: string[] }[] };
    const c = fx.cases.find((x) => x.desc === 'default config not masquerading reserved ranges')!;
    const out = compileIpMasqAgent(c.input);
    withNs('ima-oracle', (ns) => {
      ipt(ns, 'nat', ['-N', 'IP-MASQ-AGENT']);
      // postRoutingMasqChainCommentFormat wraps the text in literal quotes; exec passes them through.
      ipt(ns, 'nat', [
        '-A',
        'POSTROUTING',
        '-m',
        'comment',
        '--comment',
        '"ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain"',
        '-m',
        'addrtype',
        '!',
        '--dst-type',
        'LOCAL',
        '-j',
        'IP-MASQ-AGENT',
      ]);
      inNs(
        ns,
        ['iptables-restore', '--noflush'],
        `*nat\n:IP-MASQ-AGENT - [0:0]\n${c.chain.join('\n')}\nCOMMIT\n`,
      );
      expect(save(ns)).toBe(out.saveText);
    });
  });

  it("calico: the real dump's Felix lines are what iptables-save prints, and ours equal them", () => {
    const fx = JSON.parse(readFileSync('test/fixtures/edge/calico-dump.json', 'utf8')) as {
      lines: string[];
    };
    const out = compileCalicoNat({
      pools: [{ cidr: '192.168.0.0/16', natOutgoing: true }],
      vxlanTunnelAddress: '192.168.185.0',
    });
    withNs('cal-oracle', (ns) => {
      const decl = [
        'cali-OUTPUT',
        'cali-POSTROUTING',
        'cali-PREROUTING',
        'cali-fip-dnat',
        'cali-fip-snat',
        'cali-nat-outgoing',
      ].map((c) => `:${c} - [0:0]`);
      inNs(ns, ['iptables-restore'], `*nat\n${decl.join('\n')}\n${fx.lines.join('\n')}\nCOMMIT\n`);
      const real = save(ns)
        .split('\n')
        .filter((l) => l.startsWith('-A '));
      expect(real).toEqual(fx.lines);
      const ours = out.saveText
        .split('\n')
        .filter((l) => l.startsWith('-A ') && !l.startsWith('-A cali-nat-outgoing '));
      expect(ours).toEqual(real);
    });
  });

  describe.skipIf(!canBash)('klipper-lb: the entry script itself', () => {
    it.each([
      ['current', 'test/fixtures/edge/klipper-start-proxy-current.sh'],
      ['source-guard', 'test/fixtures/edge/klipper-start-proxy-source-guard.sh'],
    ] as const)(
      '%s variant, two containers (TCP and UDP ports), two source ranges',
      (variant, script) => {
        const { containers } = svclbContainers(svc, ['192.168.50.1']);
        const out = compileKlipperLb({ containers, variant });
        withNs(`kl-${variant}`, (ns) => {
          inNs(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
          for (const c of containers) {
            inNs(ns, ['bash', script], undefined, {
              SRC_PORT: c.SRC_PORT,
              SRC_RANGES: c.SRC_RANGES,
              DEST_PROTO: c.DEST_PROTO,
              DEST_PORT: c.DEST_PORT,
              DEST_IPS: c.DEST_IPS,
            });
          }
          expect(save(ns)).toBe(out.saveText);
        });
      },
    );
  });
});

/**
 * Starts `socat` in `ns` answering each TCP connection with what the server
 * saw: peer address, peer port, local address, local port (space-separated:
 * socat would eat colons in the SYSTEM command).
 */
function startEchoPeer(ns: string, port: number): { stop: () => void; ready: Promise<void> } {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'socat',
      `TCP-LISTEN:${port},reuseaddr,fork`,
      'SYSTEM:echo $SOCAT_PEERADDR $SOCAT_PEERPORT $SOCAT_SOCKADDR $SOCAT_SOCKPORT',
    ],
    {
      stdio: 'ignore',
    },
  );
  const ready = new Promise<void>((resolve, reject) => {
    const deadline = 3000;
    let waited = 0;
    const poll = () => {
      try {
        const out = inNs(ns, ['ss', '-Hltn', `sport = :${port}`]);
        if (out.trim() !== '') return resolve();
      } catch {
        // keep polling
      }
      waited += 50;
      if (waited > deadline) return reject(new Error(`server on ${ns}:${port} did not start`));
      setTimeout(poll, 50);
    };
    poll();
  });
  return { stop: () => child.kill('SIGKILL'), ready };
}

function connect(ns: string, ip: string, port: number): string {
  return inNs(ns, ['socat', '-T', '3', '-', `TCP:${ip}:${port},connect-timeout=3`], '').trim();
}

describe.skipIf(!canRun || !canTraffic)('portmap hostPort DNAT for real', () => {
  it('client -> nodeIP:hostPort reaches pod:containerPort with the source the rules imply (external and hairpin)', async () => {
    const node = addNs(`${PREFIX}-node`);
    const srv = addNs(`${PREFIX}-srv`);
    const cli = addNs(`${PREFIX}-cli`);
    const pod2 = addNs(`${PREFIX}-pod2`);
    let server: { stop: () => void; ready: Promise<void> } | undefined;
    try {
      const link = (a: string, aIf: string, b: string, bIf: string) => {
        sh([
          'ip',
          'link',
          'add',
          'tmp-a',
          'netns',
          a,
          'type',
          'veth',
          'peer',
          'name',
          'tmp-b',
          'netns',
          b,
        ]);
        inNs(a, ['ip', 'link', 'set', 'tmp-a', 'name', aIf]);
        inNs(b, ['ip', 'link', 'set', 'tmp-b', 'name', bIf]);
        inNs(a, ['ip', 'link', 'set', aIf, 'up']);
        inNs(b, ['ip', 'link', 'set', bIf, 'up']);
      };
      // node <-> client on 192.168.50.0/24; node <-> pods routed like ptp (gateway 10.244.1.1/32 on each host veth).
      link(node, 'eth0', cli, 'eth0');
      inNs(node, ['ip', 'addr', 'add', '192.168.50.1/24', 'dev', 'eth0']);
      inNs(cli, ['ip', 'addr', 'add', '192.168.50.2/24', 'dev', 'eth0']);
      link(node, 'vsrv', srv, 'eth0');
      link(node, 'vpod2', pod2, 'eth0');
      for (const [ns, ip] of [
        [srv, '10.244.1.5'],
        [pod2, '10.244.1.6'],
      ] as const) {
        inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        inNs(ns, ['ip', 'route', 'add', 'default', 'via', '10.244.1.1', 'dev', 'eth0']);
      }
      inNs(node, ['ip', 'addr', 'add', '10.244.1.1/32', 'dev', 'vsrv']);
      inNs(node, ['ip', 'addr', 'add', '10.244.1.1/32', 'dev', 'vpod2']);
      inNs(node, ['ip', 'route', 'add', '10.244.1.5/32', 'dev', 'vsrv']);
      inNs(node, ['ip', 'route', 'add', '10.244.1.6/32', 'dev', 'vpod2']);
      inNs(node, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

      const pm = compilePortmap({
        node: 'n1',
        pods: [
          {
            pod: pod('web', [{ containerPort: 80, hostPort: 8080 }]),
            containerNet: '10.244.1.5/24',
          },
        ],
      });
      const merged = mergeIptablesSave([base, pm.text]);
      inNs(node, ['iptables-restore'], merged);

      server = startEchoPeer(srv, 80);
      await server.ready;

      const localIps = [
        { ip: '192.168.50.1', prefix: 24, iface: 'eth0' },
        { ip: '10.244.1.1', prefix: 32, iface: 'vsrv' },
        { ip: '10.244.1.1', prefix: 32, iface: 'vpod2' },
      ];
      const { ruleset } = parseNoErrors(merged);
      // What the plugin does besides rules: route_localnet on the interface routing to the pod.
      expect(pm.routeLocalnetFor).toEqual(['10.244.1.5']);
      inNs(node, ['sysctl', '-q', '-w', 'net.ipv4.conf.vsrv.route_localnet=1']);
      for (const [who, ns, src, dst, inIface] of [
        ['external client', cli, '192.168.50.2', '192.168.50.1', 'eth0'],
        ['hairpin pod', pod2, '10.244.1.6', '192.168.50.1', 'vpod2'],
        ['the node itself via 127.0.0.1', node, '127.0.0.1', '127.0.0.1', undefined],
      ] as const) {
        const twin = traceIptables({
          ruleset,
          src,
          dst,
          proto: 'tcp',
          dport: 8080,
          localIps,
          ...(inIface !== undefined ? { inIface } : {}),
          outIface: 'vsrv',
          allPaths: false,
          seed: 1,
        });
        const alt = twin.alternatives[0]!;
        expect(alt.dnat, who).toBe('10.244.1.5:80');
        const expectedSrc = alt.snat ? alt.snat.to.split(':')[0]! : src;
        expect(expectedSrc, who).toBe(who === 'external client' ? '192.168.50.2' : '10.244.1.1');
        const seen = connect(ns, dst, 8080);
        const [peer, , sockIp, sockPort] = seen.split(' ');
        expect(peer, who).toBe(expectedSrc);
        expect(`${sockIp}:${sockPort}`, who).toBe('10.244.1.5:80');
      }
    } finally {
      server?.stop();
      for (const n of [node, srv, cli, pod2]) delNs(n);
    }
  });
});

describe.skipIf(!canRun || !canTraffic)('klipper-lb svclb pod for real', () => {
  it.each([
    [
      'client inside loadBalancerSourceRanges: DNAT to the ClusterIP, MASQUERADEd to the svclb pod',
      ['192.168.60.0/24'],
      true,
    ],
    ['client outside loadBalancerSourceRanges: FORWARD DROP', ['1.2.3.0/24'], false],
  ] as const)('%s', async (_name, ranges, reaches) => {
    const cli = addNs(`${PREFIX}-lbcli`);
    const lb = addNs(`${PREFIX}-svclb`);
    const be = addNs(`${PREFIX}-lbbe`);
    let server: { stop: () => void; ready: Promise<void> } | undefined;
    try {
      const link = (a: string, aIf: string, b: string, bIf: string) => {
        sh([
          'ip',
          'link',
          'add',
          'tmp-a',
          'netns',
          a,
          'type',
          'veth',
          'peer',
          'name',
          'tmp-b',
          'netns',
          b,
        ]);
        inNs(a, ['ip', 'link', 'set', 'tmp-a', 'name', aIf]);
        inNs(b, ['ip', 'link', 'set', 'tmp-b', 'name', bIf]);
        inNs(a, ['ip', 'link', 'set', aIf, 'up']);
        inNs(b, ['ip', 'link', 'set', bIf, 'up']);
      };
      // client 192.168.60.1 -- svclb pod 192.168.60.2 | 10.43.12.1 -- "ClusterIP" 10.43.12.7 (stands in for
      // the node's kube-proxy DNAT, which is proxy/'s business).
      link(cli, 'eth0', lb, 'eth0');
      link(lb, 'eth1', be, 'eth0');
      inNs(cli, ['ip', 'addr', 'add', '192.168.60.1/24', 'dev', 'eth0']);
      inNs(lb, ['ip', 'addr', 'add', '192.168.60.2/24', 'dev', 'eth0']);
      inNs(lb, ['ip', 'addr', 'add', '10.43.12.1/24', 'dev', 'eth1']);
      inNs(be, ['ip', 'addr', 'add', '10.43.12.7/24', 'dev', 'eth0']);
      inNs(lb, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

      const service: Service = {
        ...svc,
        spec: {
          ...svc.spec,
          loadBalancerSourceRanges: [...ranges],
          ports: [{ port: 80, protocol: 'TCP', nodePort: 31080 }],
        },
      };
      const frag = compileKlipperLb({
        containers: svclbContainers(service, ['192.168.50.1']).containers,
      });
      const merged = mergeIptablesSave([frag.text]);
      inNs(lb, ['iptables-restore'], merged);

      server = startEchoPeer(be, 80);
      await server.ready;

      const { ruleset } = parseNoErrors(merged);
      const twin = traceIptables({
        ruleset,
        src: '192.168.60.1',
        dst: '192.168.60.2',
        proto: 'tcp',
        dport: 80,
        localIps: [
          { ip: '192.168.60.2', prefix: 24, iface: 'eth0' },
          { ip: '10.43.12.1', prefix: 24, iface: 'eth1' },
        ],
        inIface: 'eth0',
        outIface: 'eth1',
        allPaths: false,
        seed: 1,
      });
      const alt = twin.alternatives[0]!;
      expect(alt.dnat).toBe('10.43.12.7:80');
      expect(alt.verdict).toBe(reaches ? 'ACCEPT' : 'DROP');
      let seen = '';
      try {
        seen = connect(cli, '192.168.60.2', 80);
      } catch {
        seen = '';
      }
      if (reaches) {
        expect(alt.snat?.to.split(':')[0]).toBe('10.43.12.1');
        const [peer, , sockIp, sockPort] = seen.split(' ');
        expect(peer).toBe('10.43.12.1');
        expect(`${sockIp}:${sockPort}`).toBe('10.43.12.7:80');
      } else {
        expect(seen).toBe('');
      }
    } finally {
      server?.stop();
      for (const n of [cli, lb, be]) delNs(n);
    }
  });
});

describe.skipIf(!canRun || !canTraffic)(
  'seed 001 Akrobateo/K3s path for real: hostPort -> svclb pod -> ClusterIP -> backend',
  () => {
    it('the backend sees the svclb pod as the source, on its targetPort, as the twin predicts hop by hop', async () => {
      const node = addNs(`${PREFIX}-k3snode`);
      const cli = addNs(`${PREFIX}-k3scli`);
      const lb = addNs(`${PREFIX}-k3slb`);
      const be = addNs(`${PREFIX}-k3sbe`);
      let server: { stop: () => void; ready: Promise<void> } | undefined;
      try {
        const link = (a: string, aIf: string, b: string, bIf: string) => {
          sh([
            'ip',
            'link',
            'add',
            'tmp-a',
            'netns',
            a,
            'type',
            'veth',
            'peer',
            'name',
            'tmp-b',
            'netns',
            b,
          ]);
          inNs(a, ['ip', 'link', 'set', 'tmp-a', 'name', aIf]);
          inNs(b, ['ip', 'link', 'set', 'tmp-b', 'name', bIf]);
          inNs(a, ['ip', 'link', 'set', aIf, 'up']);
          inNs(b, ['ip', 'link', 'set', bIf, 'up']);
        };
        link(node, 'eth0', cli, 'eth0');
        inNs(node, ['ip', 'addr', 'add', '192.168.50.1/24', 'dev', 'eth0']);
        inNs(cli, ['ip', 'addr', 'add', '192.168.50.2/24', 'dev', 'eth0']);
        for (const [ns, dev, ip] of [
          [lb, 'vlb', '10.42.0.5'],
          [be, 'vbe', '10.42.0.9'],
        ] as const) {
          link(node, dev, ns, 'eth0');
          // Pod side as the ptp plugin leaves it (reference §4.6): the pod subnet goes via the
          // gateway, which is on-link (pods of one node do not share a link here).
          inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
          inNs(ns, ['ip', 'route', 'del', '10.42.0.0/24', 'dev', 'eth0']);
          inNs(ns, ['ip', 'route', 'add', '10.42.0.1', 'dev', 'eth0', 'scope', 'link']);
          inNs(ns, ['ip', 'route', 'add', '10.42.0.0/24', 'via', '10.42.0.1', 'dev', 'eth0']);
          inNs(ns, ['ip', 'route', 'add', 'default', 'via', '10.42.0.1', 'dev', 'eth0']);
          inNs(node, ['ip', 'addr', 'add', '10.42.0.1/32', 'dev', dev]);
          inNs(node, ['ip', 'route', 'add', `${ip}/32`, 'dev', dev]);
        }
        inNs(node, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
        inNs(lb, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

        const service: Service = {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'traefik', namespace: 'kube-system' },
          spec: {
            type: 'LoadBalancer',
            clusterIP: '10.43.12.7',
            clusterIPs: ['10.43.12.7'],
            selector: { app: 'traefik' },
            ports: [{ name: 'web', port: 80, targetPort: 8000, protocol: 'TCP', nodePort: 31080 }],
          },
        };
        const proxy = generateIptablesRules({
          nodeName: 'n1',
          nodeIPs: ['192.168.50.1'],
          clusterCIDR: '10.42.0.0/16',
          services: [service],
          endpointSlices: [
            {
              apiVersion: 'discovery.k8s.io/v1',
              kind: 'EndpointSlice',
              metadata: {
                name: 'traefik-abc',
                namespace: 'kube-system',
                labels: { 'kubernetes.io/service-name': 'traefik' },
              },
              addressType: 'IPv4',
              endpoints: [
                { addresses: ['10.42.0.9'], conditions: { ready: true }, nodeName: 'n1' },
              ],
              ports: [{ name: 'web', port: 8000, protocol: 'TCP' }],
            },
          ],
          randomFully: true,
          nfacct: false,
        });
        // The svclb DaemonSet pod: containerPort = hostPort = 80 (servicelb.go), IP 10.42.0.5 from host-local /24.
        const svclbPod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'svclb-traefik-x', namespace: 'kube-system' },
          spec: {
            containers: [
              {
                name: 'lb-tcp-80',
                ports: [{ name: 'lb-tcp-80', containerPort: 80, hostPort: 80, protocol: 'TCP' }],
              },
            ],
          },
        };
        const pm = compilePortmap({
          node: 'n1',
          pods: [{ pod: svclbPod, containerNet: '10.42.0.5/24' }],
        });
        const nodeRules = mergeIptablesSave([proxy.text, pm.text]);
        const lbRules = mergeIptablesSave([
          compileKlipperLb({ containers: svclbContainers(service, ['192.168.50.1']).containers })
            .text,
        ]);
        inNs(node, ['iptables-restore'], nodeRules);
        inNs(lb, ['iptables-restore'], lbRules);

        // The twin's prediction, hop by hop, through the same texts.
        const nodeRs = parseNoErrors(nodeRules).ruleset;
        const lbRs = parseNoErrors(lbRules).ruleset;
        const nodeIps = [
          { ip: '192.168.50.1', prefix: 24, iface: 'eth0' },
          { ip: '10.42.0.1', prefix: 32, iface: 'vlb' },
          { ip: '10.42.0.1', prefix: 32, iface: 'vbe' },
        ];
        const hop1 = traceIptables({
          ruleset: nodeRs,
          src: '192.168.50.2',
          dst: '192.168.50.1',
          proto: 'tcp',
          dport: 80,
          localIps: nodeIps,
          inIface: 'eth0',
          outIface: 'vlb',
          allPaths: false,
          seed: 1,
        }).alternatives[0]!;
        expect([hop1.dnat, hop1.snat]).toEqual(['10.42.0.5:80', null]);
        const hop2 = traceIptables({
          ruleset: lbRs,
          src: '192.168.50.2',
          dst: '10.42.0.5',
          proto: 'tcp',
          dport: 80,
          localIps: [{ ip: '10.42.0.5', prefix: 24, iface: 'eth0' }],
          inIface: 'eth0',
          outIface: 'eth0',
          allPaths: false,
          seed: 1,
        }).alternatives[0]!;
        expect([hop2.dnat, hop2.snat?.to.split(':')[0]]).toEqual(['10.43.12.7:80', '10.42.0.5']);
        const hop3 = traceIptables({
          ruleset: nodeRs,
          src: '10.42.0.5',
          dst: '10.43.12.7',
          proto: 'tcp',
          dport: 80,
          localIps: nodeIps,
          inIface: 'vlb',
          outIface: 'vbe',
          allPaths: false,
          seed: 1,
        }).alternatives[0]!;
        expect([hop3.dnat, hop3.snat]).toEqual(['10.42.0.9:8000', null]);

        server = startEchoPeer(be, 8000);
        await server.ready;
        const [peer, , sockIp, sockPort] = connect(cli, '192.168.50.1', 80).split(' ');
        expect(peer).toBe('10.42.0.5');
        expect(`${sockIp}:${sockPort}`).toBe('10.42.0.9:8000');
      } finally {
        server?.stop();
        for (const n of [node, cli, lb, be]) delNs(n);
      }
    });
  },
);
