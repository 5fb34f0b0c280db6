import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diag.js';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import type { ContainerPort, Pod } from '../k8s/types.js';
import { argvToSave, chainLines, parseNoErrors } from './testing/edge.js';
import { containerId } from './names.js';
import {
  CODE_FAMILY_SKIPPED,
  CODE_HOSTPORT_CONFLICT,
  CODE_HOSTPORT_DUPLICATE,
  CODE_NO_POD_IP,
  checkHostPorts,
  compilePortmap,
  compilePortmapForNode,
  dnatChainName,
  formatChainNameWithPrefix,
  podPortMappings,
  type PortmapInput,
} from './portmap.js';

interface Upstream {
  formatChainName: { name: string; id: string; prefix: string; want: string }[];
  containerID: string;
  dnatChainNames: { netName: string; want: string }[];
  portMappings: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
  netName: string;
  containerNet: string;
  entryRules: string[][];
  rulesSnat: string[][];
  rulesNoSnat: string[][];
  externalMark: {
    chain: string;
    portMappings: { hostPort: number; containerPort: number; protocol: string }[];
    rules: string[][];
  };
  markChains: {
    masqBit: number;
    setMark: string[];
    masqEntry: string[];
    masq: string[];
    topLevelEntry: string[];
  };
}

const upstream = JSON.parse(
  readFileSync('test/fixtures/edge/portmap-upstream.json', 'utf8'),
) as Upstream;

function pod(
  name: string,
  ports: ContainerPort[][],
  opts: { ns?: string; hostNetwork?: boolean } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.ns ?? 'default' },
    spec: {
      ...(opts.hostNetwork ? { hostNetwork: true } : {}),
      containers: ports.map((p, i) => ({ name: `c${i}`, ports: p })),
    },
  };
}

/** The upstream test's mappings as one container's ports. */
function upstreamPod(
  maps: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[],
): Pod {
  return pod('upstream', [
    maps.map((m) => ({
      containerPort: m.containerPort,
      hostPort: m.hostPort,
      protocol: m.protocol.toUpperCase() as 'TCP' | 'UDP',
      ...(m.hostIP !== undefined ? { hostIP: m.hostIP } : {}),
    })),
  ]);
}

describe('chain names (pkg/utils/utils_test.go, portmap_iptables_test.go)', () => {
  it.each(upstream.formatChainName)('FormatChainName($name, $id, "$prefix") = $want', (c) => {
    expect(formatChainNameWithPrefix(c.name, c.id, c.prefix)).toBe(c.want);
  });
  it.each(upstream.dnatChainNames)('genDnatChain($netName, containerID) = $want', (c) => {
    expect(dnatChainName(c.netName, upstream.containerID)).toBe(c.want);
  });
  it('panics (throws) when the prefix is too long', () => {
    expect(() => formatChainNameWithPrefix('test', '1234', 'PREFIX-'.repeat(4))).toThrow(
      'invalid length',
    );
  });
});

describe('fillDnatRules goldens (portmap_iptables_test.go "generates a correct standard container chain")', () => {
  const base: PortmapInput = {
    node: 'n',
    networkName: upstream.netName,
    pods: [
      {
        pod: upstreamPod(upstream.portMappings),
        containerNet: upstream.containerNet,
        containerId: upstream.containerID,
      },
    ],
  };
  const chain = dnatChainName(upstream.netName, upstream.containerID);

  it('per-container chain rules with snat', () => {
    const out = compilePortmap(base);
    const want = upstream.rulesSnat.map((r) => `-A ${chain} ${argvToSave(r)}`);
    expect(chainLines(out.saveText, 'nat', chain)).toEqual(want);
  });

  it('per-container chain rules without snat (and no SETMARK/MASQ chains)', () => {
    const out = compilePortmap({ ...base, snat: false });
    const want = upstream.rulesNoSnat.map((r) => `-A ${chain} ${argvToSave(r)}`);
    expect(chainLines(out.saveText, 'nat', chain)).toEqual(want);
    expect(out.saveText).not.toContain('CNI-HOSTPORT-SETMARK');
    expect(out.saveText).not.toContain('CNI-HOSTPORT-MASQ');
    expect(out.routeLocalnetFor).toEqual([]);
  });

  it('entry rules: one multiport rule per protocol, IPv6 hostIP ports included', () => {
    const out = compilePortmap(base);
    const want = upstream.entryRules.map(
      (r) =>
        `-A CNI-HOSTPORT-DNAT ${argvToSave([...r.map((w) => w.replace('CONTAINER_ID', upstream.containerID)), '-j', chain])}`,
    );
    expect(chainLines(out.saveText, 'nat', 'CNI-HOSTPORT-DNAT')).toEqual(want);
    // The IPv6 hostIPs are reported, not silently dropped.
    expect(
      out.diagnostics.filter((d) => d.code === CODE_FAMILY_SKIPPED).map((d) => d.field),
    ).toEqual(['spec.containers[0].ports[6].hostIP', 'spec.containers[0].ports[7].hostIP']);
  });

  it('external set-mark chain', () => {
    const out = compilePortmap({
      node: 'n',
      networkName: upstream.netName,
      externalSetMarkChain: upstream.externalMark.chain,
      pods: [
        {
          pod: upstreamPod(upstream.externalMark.portMappings),
          containerNet: upstream.containerNet,
          containerId: upstream.containerID,
        },
      ],
    });
    expect(chainLines(out.saveText, 'nat', chain)).toEqual(
      upstream.externalMark.rules.map((r) => `-A ${chain} ${argvToSave(r)}`),
    );
    expect(out.saveText).not.toContain(':CNI-HOSTPORT-SETMARK');
  });

  it('mark chains for markMasqBit 5 and the top-level entry', () => {
    const m = upstream.markChains;
    const out = compilePortmap({ ...base, markMasqBit: m.masqBit });
    expect(chainLines(out.saveText, 'nat', 'CNI-HOSTPORT-SETMARK')).toEqual([
      `-A CNI-HOSTPORT-SETMARK ${argvToSave(m.setMark)}`,
    ]);
    expect(chainLines(out.saveText, 'nat', 'CNI-HOSTPORT-MASQ')).toEqual([
      `-A CNI-HOSTPORT-MASQ ${argvToSave(m.masq)}`,
    ]);
    expect(chainLines(out.saveText, 'nat', 'POSTROUTING')).toEqual([
      `-A POSTROUTING ${argvToSave([...m.masqEntry, '-j', 'CNI-HOSTPORT-MASQ'])}`,
    ]);
    for (const c of ['PREROUTING', 'OUTPUT']) {
      expect(chainLines(out.saveText, 'nat', c)).toEqual([
        `-A ${c} ${argvToSave([...m.topLevelEntry, '-j', 'CNI-HOSTPORT-DNAT'])}`,
      ]);
    }
  });

  it('every generated text parses without errors', () => {
    for (const opts of [
      {},
      { snat: false },
      { markMasqBit: 5 },
      { masqAll: true },
      { dnatEntryOrder: 'prepend' as const },
    ]) {
      const out = compilePortmap({ ...base, ...opts });
      expect(parseNoErrors(out.text).errors).toEqual([]);
      expect(parseNoErrors(out.saveText).errors).toEqual([]);
    }
  });
});

describe('compilePortmap on a node', () => {
  const a = pod('a', [[{ containerPort: 80, hostPort: 8080 }]]);
  const b = pod('b', [[{ containerPort: 53, hostPort: 5353, protocol: 'UDP' }]], {
    ns: 'kube-system',
  });
  const chainA = dnatChainName('cbr0', containerId('default/a'));
  const chainB = dnatChainName('cbr0', containerId('kube-system/b'));

  it('golden: two pods, the command sequence and the save text', () => {
    const out = compilePortmap({
      node: 'n1',
      pods: [
        { pod: a, containerNet: '10.244.1.5/24' },
        { pod: b, containerNet: '10.244.1.6/24' },
      ],
    });
    const idA = containerId('default/a');
    const idB = containerId('kube-system/b');
    expect(out.text).toBe(
      [
        '*nat',
        ':CNI-HOSTPORT-SETMARK - [0:0]',
        ':CNI-HOSTPORT-MASQ - [0:0]',
        ':CNI-HOSTPORT-DNAT - [0:0]',
        `:${chainA} - [0:0]`,
        `:${chainB} - [0:0]`,
        '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
        '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
        '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
        '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
        '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
        `-A ${chainA} -s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
        `-A ${chainA} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
        `-A ${chainA} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80`,
        `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"${idA}\\"" -m multiport --dports 8080 -j ${chainA}`,
        `-A ${chainB} -s 10.244.1.0/24 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
        `-A ${chainB} -s 127.0.0.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
        `-A ${chainB} -p udp -m udp --dport 5353 -j DNAT --to-destination 10.244.1.6:53`,
        `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"cbr0\\" id: \\"${idB}\\"" -m multiport --dports 5353 -j ${chainB}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(
      out.mappings.map(
        (m) => `${m.pod} ${m.protocol} ${m.hostPort} -> ${m.podIP}:${m.containerPort}`,
      ),
    ).toEqual(['default/a tcp 8080 -> 10.244.1.5:80', 'kube-system/b udp 5353 -> 10.244.1.6:53']);
    expect(out.defaults.map((d) => d.object)).toEqual(['Pod default/a', 'Pod kube-system/b']);
    expect(out.routeLocalnetFor).toEqual(['10.244.1.5', '10.244.1.6']);
    expect(out.diagnostics).toEqual([]);
  });

  it('dnatEntryOrder prepend puts the newest container first', () => {
    const out = compilePortmap({
      node: 'n1',
      dnatEntryOrder: 'prepend',
      pods: [
        { pod: a, containerNet: '10.244.1.5/24' },
        { pod: b, containerNet: '10.244.1.6/24' },
      ],
    });
    expect(
      chainLines(out.saveText, 'nat', 'CNI-HOSTPORT-DNAT').map((l) => l.split(' -j ')[1]),
    ).toEqual([chainB, chainA]);
  });

  it('more than 15 ports of one protocol split into several multiport rules', () => {
    const ports = Array.from({ length: 17 }, (_, i) => ({
      containerPort: 1000 + i,
      hostPort: 2000 + i,
    }));
    const out = compilePortmap({
      node: 'n1',
      pods: [{ pod: pod('many', [ports]), containerNet: '10.244.1.9/24' }],
    });
    const entries = chainLines(out.saveText, 'nat', 'CNI-HOSTPORT-DNAT');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toContain(
      '--dports 2000,2001,2002,2003,2004,2005,2006,2007,2008,2009,2010,2011,2012,2013,2014 ',
    );
    expect(entries[1]).toContain('--dports 2015,2016 ');
  });

  it('a pod without hostPorts leaves no rules at all', () => {
    const out = compilePortmap({
      node: 'n1',
      pods: [{ pod: pod('web', [[{ containerPort: 80 }]]), containerNet: '10.244.1.5/24' }],
    });
    expect(out.text).toBe('');
    expect(out.saveText).toBe('');
  });

  it('hostNetwork pods get no rules but hold their ports', () => {
    const host = pod('ingress', [[{ containerPort: 80 }]], { hostNetwork: true });
    const clash = pod('web', [[{ containerPort: 8080, hostPort: 80 }]]);
    const out = compilePortmap({
      node: 'n1',
      pods: [{ pod: host }, { pod: clash, containerNet: '10.244.1.5/24' }],
    });
    expect(out.text).toBe('');
    expect(out.diagnostics.map((d) => [d.code, d.object, d.field])).toEqual([
      [CODE_HOSTPORT_CONFLICT, 'Pod default/web', 'spec.containers[0].ports[0].hostPort'],
    ]);
  });

  it('masqAll: the hairpin rule matches every source, no localhost rule', () => {
    const out = compilePortmap({
      node: 'n1',
      masqAll: true,
      pods: [{ pod: a, containerNet: '10.244.1.5/24' }],
    });
    expect(chainLines(out.saveText, 'nat', chainA)).toEqual([
      `-A ${chainA} -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chainA} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80`,
    ]);
  });

  it('missing pod IP is an error naming the pod', () => {
    const out = compilePortmap({ node: 'n1', pods: [{ pod: a }] });
    expect(out.text).toBe('');
    expect(out.diagnostics).toMatchObject([
      { code: CODE_NO_POD_IP, severity: 'error', object: 'Pod default/a', field: 'status.podIP' },
    ]);
  });

  it.each([
    [{ markMasqBit: 32 }, 'MasqMarkBit must be between 0 and 31'],
    [
      { markMasqBit: 3, externalSetMarkChain: 'X' },
      'Cannot specify externalSetMarkChain and markMasqBit',
    ],
  ])('bad options %o fail every ADD: %s', (opts, msg) => {
    const out = compilePortmap({
      node: 'n1',
      ...opts,
      pods: [{ pod: a, containerNet: '10.244.1.5/24' }],
    });
    expect(out.text).toBe('');
    expect(out.diagnostics[0]).toMatchObject({ severity: 'error', message: msg });
  });
});

describe('kubelet MakePortMappings', () => {
  it('drops a repeated port name (or synthetic name) in one container and hostPort 0', () => {
    const p = pod('p', [
      [
        { name: 'http', containerPort: 80, hostPort: 8080 },
        { name: 'http', containerPort: 81, hostPort: 8081 },
        { containerPort: 82, hostPort: 8082 },
        { containerPort: 82, hostPort: 8082 },
        { containerPort: 83 },
      ],
      [{ containerPort: 84, hostPort: 8084, protocol: 'SCTP' }],
    ]);
    expect(podPortMappings(p).entries).toEqual([
      {
        hostPort: 8080,
        containerPort: 80,
        protocol: 'tcp',
        hostIP: '',
        field: 'spec.containers[0].ports[0]',
      },
      {
        hostPort: 8082,
        containerPort: 82,
        protocol: 'tcp',
        hostIP: '',
        field: 'spec.containers[0].ports[2]',
      },
      {
        hostPort: 8084,
        containerPort: 84,
        protocol: 'sctp',
        hostIP: '',
        field: 'spec.containers[1].ports[0]',
      },
    ]);
  });
});

describe('hostPort clashes (scheduler NodePorts semantics)', () => {
  const cases: { name: string; first: ContainerPort; second: ContainerPort; clash: boolean }[] = [
    {
      name: 'same port, no hostIP',
      first: { containerPort: 80, hostPort: 80 },
      second: { containerPort: 81, hostPort: 80 },
      clash: true,
    },
    {
      name: 'same port, other protocol',
      first: { containerPort: 80, hostPort: 80 },
      second: { containerPort: 80, hostPort: 80, protocol: 'UDP' },
      clash: false,
    },
    {
      name: 'wildcard vs specific IP',
      first: { containerPort: 80, hostPort: 80, hostIP: '0.0.0.0' },
      second: { containerPort: 80, hostPort: 80, hostIP: '192.168.1.10' },
      clash: true,
    },
    {
      name: 'two different specific IPs',
      first: { containerPort: 80, hostPort: 80, hostIP: '192.168.1.10' },
      second: { containerPort: 80, hostPort: 80, hostIP: '192.168.1.11' },
      clash: false,
    },
    {
      name: 'same specific IP',
      first: { containerPort: 80, hostPort: 80, hostIP: '192.168.1.10' },
      second: { containerPort: 80, hostPort: 80, hostIP: '192.168.1.10' },
      clash: true,
    },
    {
      name: 'different ports',
      first: { containerPort: 80, hostPort: 80 },
      second: { containerPort: 80, hostPort: 81 },
      clash: false,
    },
  ];
  it.each(cases)('$name → clash=$clash', (c) => {
    const p1 = pod('one', [[c.first]]);
    const p2 = pod('two', [[{ containerPort: 1 }], [c.second]]);
    const { diagnostics, refused } = checkHostPorts('node-1', [p1, p2]);
    expect(refused.has('default/two')).toBe(c.clash);
    if (c.clash) {
      expect(diagnostics).toHaveLength(1);
      const d = diagnostics[0]!;
      expect(d).toMatchObject({
        code: CODE_HOSTPORT_CONFLICT,
        severity: 'error',
        object: 'Pod default/two',
        field: 'spec.containers[1].ports[0].hostPort',
      });
      expect(d.message).toContain('Pod default/one');
      expect(d.message).toContain('spec.containers[0].ports[0].hostPort');
      expect(d.message).toContain('node-1');
    } else {
      expect(diagnostics).toEqual([]);
    }
  });

  it('the refused pod gets no rules; the first keeps its mapping', () => {
    const p1 = pod('one', [[{ containerPort: 80, hostPort: 8080 }]]);
    const p2 = pod('two', [[{ containerPort: 90, hostPort: 8080 }]]);
    const out = compilePortmap({
      node: 'n',
      pods: [
        { pod: p1, containerNet: '10.244.0.5/24' },
        { pod: p2, containerNet: '10.244.0.6/24' },
      ],
    });
    expect(out.mappings.map((m) => m.pod)).toEqual(['default/one']);
    expect(out.saveText).not.toContain('10.244.0.6');
  });

  it('a duplicate within one pod is an API validation error', () => {
    const p = pod('dup', [
      [{ containerPort: 80, hostPort: 80 }],
      [{ containerPort: 81, hostPort: 80 }],
    ]);
    const { diagnostics, refused } = checkHostPorts('n', [p]);
    expect(diagnostics).toMatchObject([
      { code: CODE_HOSTPORT_DUPLICATE, field: 'spec.containers[1].ports[0].hostPort' },
    ]);
    expect(refused.has('default/dup')).toBe(true);
  });

  it('scales linearly: 5000 pods with distinct ports', () => {
    const pods = Array.from({ length: 5000 }, (_, i) =>
      pod(`p${i}`, [[{ containerPort: 80, hostPort: 10000 + i }]]),
    );
    expect(checkHostPorts('n', pods).diagnostics).toEqual([]);
  });
});

describe('compilePortmapForNode (from a cluster model)', () => {
  const yaml = `
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: zeta, namespace: default}
spec:
  nodeName: node-1
  containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}]}]
status: {podIP: 10.244.1.7}
---
apiVersion: v1
kind: Pod
metadata: {name: alpha, namespace: default}
spec:
  nodeName: node-1
  containers: [{name: c, ports: [{containerPort: 81, hostPort: 8080}]}]
status: {podIP: 10.244.1.8}
`;
  const loaded = loadDocuments([{ path: 'cluster.yaml', text: yaml }]);
  const { model } = buildModel(loaded.objects);

  it('takes pods in input order, the podCIDR prefix for the hairpin rule, and locates the clash', () => {
    const out = compilePortmapForNode(model, 'node-1');
    // zeta comes first in the file, so it holds the port and alpha is refused.
    expect(out.mappings.map((m) => m.pod)).toEqual(['default/zeta']);
    expect(out.saveText).toContain(
      '-s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
    );
    expect(out.diagnostics).toMatchObject([
      {
        code: CODE_HOSTPORT_CONFLICT,
        object: 'Pod default/alpha',
        field: 'spec.containers[0].ports[0].hostPort',
        file: 'cluster.yaml',
        document: 3,
      },
    ]);
    expect(formatDiagnostic(out.diagnostics[0]!)).toMatch(
      /^cluster\.yaml:\d+: document 3: Pod default\/alpha: field spec\.containers\[0\]\.ports\[0\]\.hostPort: error: hostPort TCP 0\.0\.0\.0:8080 on node node-1 is already held by Pod default\/zeta/,
    );
  });

  it('ipamPrefix 32 (calico-ipam)', () => {
    const out = compilePortmapForNode(model, 'node-1', {
      ipamPrefix: 32,
      networkName: 'k8s-pod-network',
    });
    expect(out.saveText).toContain(
      '-s 10.244.1.7/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
    );
    expect(out.saveText).toContain('dnat name: \\"k8s-pod-network\\"');
  });
});
