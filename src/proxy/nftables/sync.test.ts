/**
 * The nftables generator's parts, table-driven: hashed names as upstream's
 * tests spell them, release layouts, --nodeport-addresses forms, IPv6, and
 * that every variant reads back with the nft reader without a diagnostic.
 */
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../diag.js';
import type { EndpointSlice, Service } from '../../k8s/types.js';
import { parseNft } from '../../iptables/nft/parse.js';
import type { ProxyInput } from '../proxier.js';
import { sortNftTransaction } from '../testing/nft-sort.js';
import { resolveNftLayout } from './layout.js';
import {
  hashAndTruncate,
  servicePortChainNameBase,
  servicePortEndpointChainNameBase,
} from './names.js';
import { generateNftablesRules } from './sync.js';

describe('hashed chain names (hashAndTruncate)', () => {
  const cases: [string, string][] = [
    ['ns1/svc1/tcp/p80', 'ULMVA6XW-ns1/svc1/tcp/p80'],
    ['ns1/svc1/tcp/p80__10.180.0.1/80', '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80'],
    ['ns5/svc5/tcp/p80', 'HVFWP5L3-ns5/svc5/tcp/p80'],
    ['ns2/svc2/tcp/p8080__10.0.2.1/8080', '7RVP4LUQ-ns2/svc2/tcp/p8080__10.0.2.1/8080'],
  ];
  it.each(cases)('%s -> %s', (name, want) => expect(hashAndTruncate(name)).toBe(want));

  // Upstream's Test_servicePortChainNameBase and Test_servicePortEndpointChainNameBase
  // (pkg/proxy/nftables/proxier_test.go at 030880a5), case by case.
  const NS = 'very-long-namespace-name-abcdefghijklmnopqrstuvwxyz0123456789xx';
  const SVC = 'very-long-service-name-why-would-you-even-do-this-i-mean-really';
  const PORT = 'port-443-providing-the-hypertext-transmission-protocol-with-tls';
  const LONG = `${NS}/${SVC}/sctp/${PORT}`;
  const serviceCases: [string, string, string, string, string][] = [
    ['testing', 'service', 'tcp', 'http', 'P4ZYZVCF-testing/service/tcp/http'],
    ['testing', 'service', 'tcp', 'https', 'LZBRENCP-testing/service/tcp/https'],
    [NS, SVC, 'sctp', PORT, `KR6NACJP-${LONG}`],
  ];
  it.each(serviceCases)('upstream service chain base %s/%s/%s/%s', (ns, name, proto, port, want) =>
    expect(servicePortChainNameBase(ns, name, proto, port)).toBe(want),
  );
  const endpointCases: [string, string, string, string, string, number, string][] = [
    [
      'testing',
      'service',
      'tcp',
      'http',
      '10.180.0.1',
      80,
      'JO2XBXZR-testing/service/tcp/http__10.180.0.1/80',
    ],
    [
      'testing',
      'service',
      'tcp',
      'http',
      '10.180.0.2',
      80,
      '5S6H3H22-testing/service/tcp/http__10.180.0.2/80',
    ],
    [
      'testing',
      'service',
      'tcp',
      'http',
      'fd80:abcd:12::a1b2:c3d4:e5f6:9999',
      80,
      'U7E2ET36-testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80',
    ],
    [
      NS,
      SVC,
      'sctp',
      PORT,
      '1234:5678:9abc:def0::abc:1234',
      443,
      `5YS7AFEA-${LONG}__1234.5678.9abc.def0..abc.1234/443`,
    ],
    [
      NS,
      SVC,
      'sctp',
      PORT,
      '1234:5678:9abc:def0::abcd:1234:5678',
      443,
      `CI6C53Q3-${LONG}__1234.5678.9abc.def0..abcd.1234...`,
    ],
    [
      NS,
      SVC,
      'sctp',
      PORT,
      '1234:5678:9abc:def0::abcd:1234:8765',
      443,
      `2FLXFK6X-${LONG}__1234.5678.9abc.def0..abcd.1234...`,
    ],
  ];
  it.each(endpointCases)(
    'upstream endpoint chain base %s/%s/%s/%s %s %d',
    (ns, name, proto, port, ip, p, want) =>
      expect(servicePortEndpointChainNameBase(ns, name, proto, port, ip, p)).toBe(want),
  );

  it('an IPv6 endpoint address has its colons as dots', () => {
    const n = servicePortEndpointChainNameBase('ns', 's', 'tcp', 'p', 'fd00:10:180::1', 80);
    expect(n).toMatch(/^[A-Z2-7]{8}-ns\/s\/tcp\/p__fd00.10.180..1\/80$/);
  });

  it('a name past 240 characters is cut to 240, ending in ...', () => {
    const n = hashAndTruncate(
      `${'a'.repeat(63)}/${'b'.repeat(63)}/tcp/${'c'.repeat(63)}__${'f'.repeat(39)}/65535`,
    );
    expect(n).toHaveLength(240);
    expect(n.endsWith('...')).toBe(true);
  });
});

describe('release layouts (resolveNftLayout)', () => {
  const cases: [string, string, boolean, Diagnostic['severity'] | null][] = [
    ['1.29', '1.31', false, 'warning'],
    ['1.31', '1.31', false, null],
    ['v1.33.2', '1.33', false, null],
    ['1.34', '1.34', true, null],
    ['1.36', '1.34', true, 'info'],
    ['latest', '1.34', true, 'warning'],
  ];
  it.each(cases)('%s writes the %s layout', (v, want, preDnat, sev) => {
    const d: Diagnostic[] = [];
    const l = resolveNftLayout(v, d);
    expect([l.version, l.preDnatChains, l.masqueradeMatchesPort]).toEqual([
      want,
      preDnat,
      !preDnat,
    ]);
    expect(d.map((x) => x.severity)).toEqual(sev === null ? [] : [sev]);
  });
});

const SERVICES: Service[] = [
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'ns1', name: 'svc1' },
    spec: {
      type: 'NodePort',
      clusterIP: '172.30.0.41',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
    },
  } as Service,
];
const SLICES: EndpointSlice[] = [
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: 'ns1',
      name: 'svc1-1',
      labels: { 'kubernetes.io/service-name': 'svc1' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.1'] }],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  } as EndpointSlice,
];
const BASE: ProxyInput = {
  nodeName: 'n1',
  nodeIPs: ['192.168.0.2'],
  clusterCIDR: '10.0.0.0/8',
  serviceCIDRs: ['172.30.0.0/16'],
  services: SERVICES,
  endpointSlices: SLICES,
};

describe('generated table', () => {
  const variants: [string, Partial<ProxyInput>, string[], string[]][] = [
    [
      '1.34 default: --nodeport-addresses unset means the primary IP',
      { version: '1.34' },
      [
        'add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }',
        'add element ip kube-proxy nodeport-ips { 192.168.0.2 }',
        'add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports',
        'add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade',
        'add rule ip kube-proxy mark-for-masquerade mark set mark or 0x004000',
      ],
      ['filter-output-post-dnat'],
    ],
    [
      '1.33: filter chains at -110, the post-DNAT output chain, the port in the masquerade rule',
      { version: '1.33' },
      [
        'add chain ip kube-proxy filter-prerouting { type filter hook prerouting priority -110 ; }',
        'add chain ip kube-proxy filter-output-post-dnat { type filter hook output priority -90 ; }',
        'add rule ip kube-proxy filter-output-post-dnat ct state new jump cluster-ips-check',
        'add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade',
      ],
      ['pre-dnat'],
    ],
    [
      '--nodeport-addresses 0.0.0.0/0: no nodeport-ips set, every local address but localhost',
      { version: '1.34', nodePortAddresses: ['0.0.0.0/0'] },
      [
        'add rule ip kube-proxy services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
        'add rule ip kube-proxy nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports',
      ],
      ['nodeport-ips'],
    ],
    [
      'masqueradeAll, no local detector',
      {
        version: '1.34',
        masqueradeAll: true,
        clusterCIDR: undefined,
        localDetector: { mode: 'NoOp' },
      },
      [
        'add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 jump mark-for-masquerade',
      ],
      ['saddr != 10.0.0.0/8'],
    ],
    [
      'bridge-interface detector',
      { version: '1.34', localDetector: { mode: 'BridgeInterface', interfaceName: 'cni0' } },
      [
        'add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 iif != cni0 jump mark-for-masquerade',
      ],
      [],
    ],
  ];
  it.each(variants)('%s', (_name, over, has, hasNot) => {
    const out = generateNftablesRules({ ...BASE, ...over });
    expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const lines = out.text.split('\n');
    for (const l of has) expect(lines).toContain(l);
    for (const s of hasNot) expect(out.text).not.toContain(s);
    // nft -f reads what it writes (chains before the rules that name them), without a warning.
    expect(parseNft(out.text, 'kube-proxy.nft').diagnostics).toEqual([]);
  });

  // Upstream's TestLoadBalancerIngressRouteTypeProxy: an ingress with ipMode Proxy gets no service-ips element.
  it.each([
    ['Proxy', false],
    ['VIP', true],
    [undefined, true],
  ] as const)('load balancer ingress with ipMode %s: element in service-ips %s', (ipMode, want) => {
    const lb = {
      ...SERVICES[0]!,
      spec: { ...SERVICES[0]!.spec, type: 'LoadBalancer' },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ...(ipMode ? { ipMode } : {}) }] } },
    } as Service;
    const out = generateNftablesRules({ ...BASE, version: '1.34', services: [lb] });
    expect(out.text.includes('add element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 :')).toBe(
      want,
    );
  });

  // Upstream's TestProxier_OnServiceCIDRsChanged: the proxier's family only, joined by commas.
  it('drops traffic to unallocated addresses of every Service CIDR of its family', () => {
    const cidrs = ['172.30.0.0/16', '172.50.0.0/16', 'fd00:10:96::/112', 'fd00:172:30::/112'];
    const out = generateNftablesRules({ ...BASE, version: '1.34', serviceCIDRs: cidrs });
    expect(out.text).toContain(
      'add rule ip kube-proxy cluster-ips-check ip daddr { 172.30.0.0/16,172.50.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"',
    );
  });

  it('the IPv6 proxier writes an ip6 table', () => {
    const v6: ProxyInput = {
      ...BASE,
      version: '1.34',
      ipFamily: 'IPv6',
      nodeIPs: ['2001:db8::1'],
      clusterCIDR: 'fd00:10::/64',
      serviceCIDRs: ['fd00:10:96::/112'],
      services: [{ ...SERVICES[0]!, spec: { ...SERVICES[0]!.spec, clusterIP: 'fd00:10:96::41' } }],
      endpointSlices: [
        { ...SLICES[0]!, addressType: 'IPv6', endpoints: [{ addresses: ['fd00:10:180::1'] }] },
      ],
    };
    const out = generateNftablesRules(v6);
    expect(out.family).toBe('ip6');
    expect(out.text).toContain(
      'add set ip6 kube-proxy cluster-ips { type ipv6_addr ; comment "Active ClusterIPs" ; }',
    );
    expect(out.text).toContain('add element ip6 kube-proxy nodeport-ips { 2001:db8::1 }');
    expect(out.text).toMatch(
      /ip6 daddr fd00:10:96::41 ip6 saddr != fd00:10::\/64 jump mark-for-masquerade/,
    );
    expect(out.text).toMatch(/meta l4proto tcp dnat to \[fd00:10:180::1\]:80/);
    expect(parseNft(out.text, 'kube-proxy.nft').diagnostics).toEqual([]);
  });

  it('the upstream comparison notices a one-word change', () => {
    const a = generateNftablesRules({ ...BASE, version: '1.34' }).text;
    // Objects in another order (rules of a chain keep theirs) compare equal; rules in another order do not.
    const lines = a.split('\n');
    const rules = lines.filter((l) => l.startsWith('add rule'));
    const others = lines.filter((l) => !l.startsWith('add rule')).reverse();
    expect(sortNftTransaction([...others, ...rules].join('\n'))).toBe(sortNftTransaction(a));
    expect(sortNftTransaction([...lines].reverse().join('\n'))).not.toBe(sortNftTransaction(a));
    expect(sortNftTransaction(a.replace('mod 1', 'mod 2'))).not.toBe(sortNftTransaction(a));
  });
});
