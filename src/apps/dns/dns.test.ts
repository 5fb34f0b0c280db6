import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../k8s/index.js';
import type { ClusterModel } from '../../k8s/model.js';
import {
  candidates,
  coreDnsAnswer,
  coreDnsConfig,
  internetAnswer,
  parseCorefile,
  podResolvConf,
  renderResolvConf,
  resolve,
  type Answer,
  type Question,
  type ResolvConf,
  type Send,
} from './index.js';

const BASE = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec: {clusterCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12, cni: {plugin: bridge}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec: {nodeName: n1, containers: [{name: c, image: debian}]}
status: {podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: alpine, namespace: default}
spec: {nodeName: n1, containers: [{name: c, image: "alpine:3.19"}]}
status: {podIP: 10.244.1.6}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, hostname: web-0, subdomain: web, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.244.1.20}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, hostname: web-1, subdomain: web, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.244.1.21}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: None, selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {clusterIP: 10.96.5.5, selector: {app: web}, ports: [{name: http, port: 80}, {name: grpc, port: 9090}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec: {selector: {k8s-app: kube-dns}, ports: [{name: dns, port: 53, protocol: UDP}]}
---
apiVersion: packeteye.dev/v1alpha1
kind: ExternalHost
metadata: {name: dbhost}
spec: {address: 203.0.113.7, dnsNames: [db.example.com]}
`;

function model(extra = ''): ClusterModel {
  const { model, diagnostics } = loadCluster([{ path: 't.yaml', text: BASE + extra }]);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return model;
}

function ask(
  m: ClusterModel,
  name: string,
  type: Question['type'],
  transport: 'udp' | 'tcp' = 'udp',
): Answer {
  const cfg = coreDnsConfig(m);
  return coreDnsAnswer(m, cfg, { name, type }, transport, (q, s) => internetAnswer(m, q, s[0]!));
}

describe('resolv.conf (kubelet GetPodDNS)', () => {
  const m = model();
  it.each([
    [
      'default/client',
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
      'glibc',
    ],
    [
      'shop/web-0',
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
      'glibc',
    ],
    [
      'default/alpine',
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
      'musl',
    ],
  ])('%s', (pod, text, libc) => {
    const rc = podResolvConf(m, m.pods.get(pod)!);
    expect(renderResolvConf(rc)).toBe(text);
    expect(rc.libc).toBe(libc);
    expect(rc.ndots).toBe(5);
  });

  it('Default, None with dnsConfig, hostNetwork fallback, limits', () => {
    const m2 = model(`
---
apiVersion: v1
kind: Pod
metadata: {name: hn, namespace: default}
spec: {nodeName: n1, hostNetwork: true, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: none, namespace: default}
spec:
  nodeName: n1
  dnsPolicy: None
  dnsConfig: {nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, 1.0.0.1], searches: [a.example], options: [{name: ndots, value: "2"}, {name: edns0}]}
  containers: [{name: c}]
---
apiVersion: v1
kind: Pod
metadata: {name: merged, namespace: default}
spec:
  nodeName: n1
  dnsConfig: {searches: [corp.example, svc.cluster.local], options: [{name: ndots, value: "1"}]}
  containers: [{name: c}]
`);
    const hn = podResolvConf(m2, m2.pods.get('default/hn')!);
    expect(hn.policy).toBe('Default');
    expect(hn.nameservers).toEqual(['192.168.1.1']);
    const none = podResolvConf(m2, m2.pods.get('default/none')!);
    expect(none.nameservers).toEqual(['1.1.1.1', '8.8.8.8', '9.9.9.9']);
    expect(none.notes.join()).toContain('1.0.0.1 dropped');
    expect(none.ndots).toBe(2);
    expect(none.options).toEqual(['ndots:2', 'edns0']);
    const merged = podResolvConf(m2, m2.pods.get('default/merged')!);
    expect(merged.searches).toEqual([
      'default.svc.cluster.local',
      'svc.cluster.local',
      'cluster.local',
      'corp.example',
    ]);
    expect(merged.options).toEqual(['ndots:1']);
  });

  it('clusterDNS from the kubelet-config ConfigMap', () => {
    const m2 = model(`
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kubelet-config, namespace: kube-system}
data:
  kubelet: |
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    clusterDNS:
    - 10.96.0.53
    clusterDomain: cluster.local
`);
    const rc = podResolvConf(m2, m2.pods.get('default/client')!);
    expect(rc.nameservers).toEqual(['10.96.0.53']);
    expect(rc.notes.join()).toContain('kubelet-config');
  });
});

describe('search order (glibc __res_context_search, musl name_from_dns_search)', () => {
  const rc = (
    libc: 'glibc' | 'musl',
    ndots = 5,
  ): Pick<ResolvConf, 'libc' | 'ndots' | 'searches'> => ({
    libc,
    ndots,
    searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  });
  it.each([
    [
      'glibc',
      'web',
      5,
      ['web.default.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.', 'web.'],
    ],
    [
      'glibc',
      'example.com',
      1,
      [
        'example.com.',
        'example.com.default.svc.cluster.local.',
        'example.com.svc.cluster.local.',
        'example.com.cluster.local.',
      ],
    ],
    ['glibc', 'example.com.', 5, ['example.com.']],
    ['musl', 'example.com', 1, ['example.com.']],
    [
      'musl',
      'web',
      5,
      ['web.default.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.', 'web.'],
    ],
  ] as const)('%s %s ndots:%d', (libc, name, ndots, want) => {
    expect(candidates(rc(libc, ndots), name).map((c) => c.name)).toEqual(want);
  });
});

describe('CoreDNS kubernetes plugin (kubeadm Corefile)', () => {
  const m = model();
  it.each([
    ['api.shop.svc.cluster.local.', 'A', 'NOERROR', ['10.96.5.5']],
    ['api.shop.svc.cluster.local.', 'AAAA', 'NOERROR', []],
    ['web.shop.svc.cluster.local.', 'A', 'NOERROR', ['10.244.1.20', '10.244.1.21']],
    ['web-0.web.shop.svc.cluster.local.', 'A', 'NOERROR', ['10.244.1.20']],
    [
      '_http._tcp.api.shop.svc.cluster.local.',
      'SRV',
      'NOERROR',
      ['0 100 80 api.shop.svc.cluster.local.'],
    ],
    [
      'api.shop.svc.cluster.local.',
      'SRV',
      'NOERROR',
      ['0 50 80 api.shop.svc.cluster.local.', '0 50 9090 api.shop.svc.cluster.local.'],
    ],
    [
      '_http._tcp.web.shop.svc.cluster.local.',
      'SRV',
      'NOERROR',
      ['0 50 80 web-0.web.shop.svc.cluster.local.', '0 50 80 web-1.web.shop.svc.cluster.local.'],
    ],
    ['nope.shop.svc.cluster.local.', 'A', 'NXDOMAIN', []],
    ['api.nons.svc.cluster.local.', 'A', 'NXDOMAIN', []],
    ['shop.svc.cluster.local.', 'A', 'NOERROR', []],
    ['cluster.local.', 'A', 'NOERROR', []],
    ['api.shop.svc.cluster.local.default.svc.cluster.local.', 'A', 'NXDOMAIN', []],
    ['10-244-1-5.default.pod.cluster.local.', 'A', 'NOERROR', ['10.244.1.5']],
    ['5.5.96.10.in-addr.arpa.', 'PTR', 'NOERROR', ['api.shop.svc.cluster.local.']],
    [
      '20.1.244.10.in-addr.arpa.',
      'PTR',
      'NOERROR',
      ['10-244-1-20.api.shop.svc.cluster.local.', 'web-0.web.shop.svc.cluster.local.'],
    ],
    ['db.shop.svc.cluster.local.', 'A', 'NOERROR', ['db.example.com.', '203.0.113.7']],
    ['example.org.', 'A', 'NXDOMAIN', []],
  ] as const)('%s %s → %s', (name, type, rcode, data) => {
    const a = ask(m, name, type);
    expect(a.rcode).toBe(rcode);
    expect(a.answer.map((r) => r.data)).toEqual(data);
    if (a.answer.length === 0 && rcode !== 'NOERROR')
      expect(a.authority.length + (a.upstream ? 1 : 0)).toBeGreaterThan(0);
  });

  it('NXDOMAIN and NODATA carry the zone SOA', () => {
    expect(ask(m, 'nope.shop.svc.cluster.local.', 'A').authority[0]?.type).toBe('SOA');
    expect(ask(m, 'api.shop.svc.cluster.local.', 'AAAA').authority[0]?.name).toBe('cluster.local.');
  });

  it('publishNotReadyAddresses and not-ready endpoints', () => {
    const extra = `
---
apiVersion: v1
kind: Pod
metadata: {name: nr-0, namespace: shop, labels: {app: nr}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.1.30, conditions: [{type: Ready, status: "False"}]}
---
apiVersion: v1
kind: Service
metadata: {name: nr, namespace: shop}
spec: {clusterIP: None, selector: {app: nr}}
---
apiVersion: v1
kind: Service
metadata: {name: nrp, namespace: shop}
spec: {clusterIP: None, publishNotReadyAddresses: true, selector: {app: nr}}
`;
    const m2 = model(extra);
    expect(ask(m2, 'nr.shop.svc.cluster.local.', 'A').rcode).toBe('NXDOMAIN');
    expect(ask(m2, 'nrp.shop.svc.cluster.local.', 'A').answer.map((r) => r.data)).toEqual([
      '10.244.1.30',
    ]);
  });

  it('truncates a UDP answer over 512 bytes and answers in full over TCP', () => {
    const pods = Array.from(
      { length: 40 },
      (_, i) => `
---
apiVersion: v1
kind: Pod
metadata: {name: big-${i}, namespace: shop, labels: {app: big}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.1.${100 + i}}`,
    ).join('');
    const m2 = model(`${pods}
---
apiVersion: v1
kind: Service
metadata: {name: big, namespace: shop}
spec: {clusterIP: None, selector: {app: big}}
`);
    const udp = ask(m2, 'big.shop.svc.cluster.local.', 'A');
    expect(udp.tc).toBe(true);
    expect(udp.answer.length).toBeLessThan(40);
    const tcp = ask(m2, 'big.shop.svc.cluster.local.', 'A', 'tcp');
    expect(tcp.tc).toBe(false);
    expect(tcp.answer).toHaveLength(40);
  });
});

describe('Corefile', () => {
  const cm = (corefile: string) => `
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
${corefile
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;
  it('parses server blocks, nested options and comments', () => {
    const cf = parseCorefile(
      '# c\n.:53 {\n  kubernetes cluster.local {\n    pods verified # x\n  }\n  forward . "8.8.8.8"\n}\ncorp.example:53 {\n  forward . 10.1.1.1\n}\n',
    );
    expect(cf.blocks.map((b) => b.zones)).toEqual([['.'], ['corp.example.']]);
    expect(cf.blocks[0]!.directives[0]!.block[0]).toMatchObject({
      name: 'pods',
      args: ['verified'],
    });
    expect(cf.blocks[0]!.directives[1]!.args).toEqual(['.', '8.8.8.8']);
  });

  it('rewrite, hosts, stub domain, pods verified, fallthrough, unmodelled plugin', () => {
    const m2 = model(
      cm(`.:53 {
    errors
    rewrite name exact db.internal api.shop.svc.cluster.local
    hosts {
      192.0.2.1 legacy.corp
      fallthrough
    }
    kubernetes cluster.local in-addr.arpa {
      pods verified
      fallthrough in-addr.arpa
    }
    template IN A x.example { answer "x 1 IN A 1.2.3.4" }
    forward . 8.8.8.8
}
corp.example:53 {
    forward . 10.1.1.1
}`),
    );
    const cfg = coreDnsConfig(m2);
    expect(cfg.from).toBe('ConfigMap kube-system/coredns data.Corefile');
    expect(cfg.notes.join('\n')).toContain('plugin template is not modelled');
    const a = ask(m2, 'db.internal.', 'A');
    expect(a.answer).toEqual([{ name: 'db.internal.', type: 'A', ttl: 5, data: '10.96.5.5' }]);
    expect(ask(m2, 'legacy.corp.', 'A').answer[0]?.data).toBe('192.0.2.1');
    expect(ask(m2, '10-244-1-5.default.pod.cluster.local.', 'A').answer[0]?.data).toBe(
      '10.244.1.5',
    );
    expect(ask(m2, '10-244-1-99.default.pod.cluster.local.', 'A').rcode).toBe('NXDOMAIN');
    const stub = ask(m2, 'x.corp.example.', 'A');
    expect(stub.by).toContain('forward . → 10.1.1.1');
    expect(stub.upstream).toBe('10.1.1.1');
    const rev = ask(m2, '9.9.9.9.in-addr.arpa.', 'PTR');
    expect(rev.upstream).toBe('8.8.8.8');
  });
});

describe('resolve (the libc against CoreDNS)', () => {
  const m = model();
  const cfg = coreDnsConfig(m);
  const send: Send = (q, transport) => ({
    answer: coreDnsAnswer(m, cfg, q, transport, (qq, s) => internetAnswer(m, qq, s[0]!)),
  });
  const client = podResolvConf(m, m.pods.get('default/client')!);
  const alpine = podResolvConf(m, m.pods.get('default/alpine')!);

  it('glibc: api.shop walks the search list, A and AAAA together, until the answer', () => {
    const l = resolve(client, 'api.shop', ['A', 'AAAA'], send);
    expect(l.status).toBe('ok');
    expect(l.results).toEqual(['10.96.5.5']);
    expect(l.steps.map((s) => `${s.name} ${s.type}`)).toEqual([
      'api.shop.default.svc.cluster.local. A',
      'api.shop.default.svc.cluster.local. AAAA',
      'api.shop.svc.cluster.local. A',
      'api.shop.svc.cluster.local. AAAA',
    ]);
  });

  it('glibc: NXDOMAIN everywhere tries the name as is last', () => {
    const l = resolve(client, 'nope', ['A'], send);
    expect(l.status).toBe('nxdomain');
    expect(l.steps.map((s) => s.name)).toEqual([
      'nope.default.svc.cluster.local.',
      'nope.svc.cluster.local.',
      'nope.cluster.local.',
      'nope.',
    ]);
  });

  it('glibc goes on after NODATA; musl stops there', () => {
    // `shop` as a search expansion hits `shop.svc.cluster.local.`: the namespace exists, NODATA.
    const g = resolve(client, 'shop', ['A', 'AAAA'], send);
    expect(g.steps.map((s) => s.name)).toContain('shop.');
    expect(g.status).toBe('nodata');
    const mu = resolve(alpine, 'shop', ['A', 'AAAA'], send);
    expect(mu.steps.map((s) => s.name).at(-1)).toBe('shop.svc.cluster.local.');
    expect(mu.status).toBe('nodata');
  });

  it('a lost query: retries, waits, EAI_AGAIN, and glibc still tries the name as is', () => {
    const lost: Send = () => ({ timeout: { detail: 'dropped by policy' } });
    const l = resolve(client, 'api', ['A', 'AAAA'], lost);
    expect(l.status).toBe('timeout');
    expect(l.error).toContain('EAI_AGAIN');
    expect(l.steps.map((s) => `${s.name} ${s.type} ×${s.sends}`)).toEqual([
      'api.default.svc.cluster.local. A ×2',
      'api.default.svc.cluster.local. AAAA ×2',
      'api. A ×2',
      'api. AAAA ×2',
    ]);
    expect(l.waited).toBe(20);
  });

  it('TCP after a truncated UDP answer', () => {
    const tc: Send = (q, transport) => ({
      answer: {
        rcode: 'NOERROR',
        aa: true,
        tc: transport === 'udp',
        answer: transport === 'udp' ? [] : [{ name: q.name, type: 'A', ttl: 5, data: '10.0.0.1' }],
        authority: [],
        by: 't',
        notes: [],
      },
    });
    const l = resolve(client, 'x.y.z.w.v.u', ['A'], tc);
    expect(l.steps.map((s) => s.transport)).toEqual(['udp', 'tcp']);
    expect(l.results).toEqual(['10.0.0.1']);
  });

  it('glibc takes a NOERROR without records, AA or RA for a lame referral and asks again; musl does not', () => {
    const lame: Send = () => ({
      answer: {
        rcode: 'NOERROR',
        aa: false,
        tc: false,
        answer: [],
        authority: [],
        by: 't',
        notes: [],
      },
    });
    const g = resolve(client, 'x.y.z.w.v.u', ['A'], lame);
    // Each try sent `attempts` times; the first search element's failure (TRY_AGAIN, not SERVFAIL) ends the search.
    expect(g.steps.map((s) => `${s.name} ×${s.sends}`)).toEqual([
      'x.y.z.w.v.u. ×2',
      'x.y.z.w.v.u.default.svc.cluster.local. ×2',
    ]);
    expect(g.status).toBe('servfail');
    const withRa: Send = () => ({
      answer: {
        rcode: 'NOERROR',
        aa: false,
        ra: true,
        tc: false,
        answer: [],
        authority: [],
        by: 't',
        notes: [],
      },
    });
    expect(resolve(client, 'x.y.z.w.v.u', ['A'], withRa).status).toBe('nodata');
    expect(resolve(alpine, 'x.y.z.w.v.u', ['A'], lame).status).toBe('nodata');
  });

  it('hostAliases answer from /etc/hosts without a query', () => {
    const m2 = model(`
---
apiVersion: v1
kind: Pod
metadata: {name: ha, namespace: default}
spec: {nodeName: n1, hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local]}], containers: [{name: c}]}
`);
    const l = resolve(
      podResolvConf(m2, m2.pods.get('default/ha')!),
      'foo.local',
      ['A', 'AAAA'],
      send,
    );
    expect(l).toMatchObject({ fromHosts: true, results: ['10.1.2.3'], steps: [] });
  });
});
