import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectDocument } from '../render/testing/schema.js';
import { memoryIo } from './io.js';
import { main } from './main.js';

const FILE = 'examples/seed003-dns.yaml';
const FILES = { [FILE]: readFileSync(FILE, 'utf8') };

async function cli(args: string[]) {
  const io = memoryIo(FILES);
  const code = await main(args, io);
  return { code, out: io.stdout, err: io.stderr };
}

const DNS = ['dns', '-f', FILE, '--from', 'shop/frontend'];

describe('packeteye dns', () => {
  it.each([
    [
      ['store-be'],
      'status: NOERROR',
      /store-be\.shop\.svc\.cluster\.local\.\t30\tIN\tA\t10\.0\.3\.76/,
    ],
    [
      ['_http._tcp.store-be', '--type', 'SRV'],
      'ADDITIONAL: 1',
      /SRV\t0 100 80 store-be\.shop\.svc\.cluster\.local\./,
    ],
    [
      ['10.0.3.76', '--type', 'PTR'],
      'status: NOERROR',
      /76\.3\.0\.10\.in-addr\.arpa\.\t30\tIN\tPTR\tstore-be\.shop\.svc\.cluster\.local\./,
    ],
    [['web', '--type', 'A'], 'ANSWER: 2', /IN\tA\t10\.244\.1\.30\n.*IN\tA\t10\.244\.2\.31/],
    [['nope.shop'], 'status: NXDOMAIN', /⇒ nxdomain: EAI_NONAME/],
  ])('%j', async (args, header, body) => {
    const r = await cli([...DNS, ...args]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(header);
    expect(r.out).toMatch(body);
    // The path of each query: to the seed's kube-dns address, DNATed to a CoreDNS pod.
    expect(r.out).toMatch(/> 10\.0\.0\.10:53 → 10\.244\.[12]\.2:53 \(DNAT at node-a\)/);
  });

  it('-o json is a DnsLookup document', async () => {
    const r = await cli([...DNS, 'web-0.web', '-o', 'json']);
    const doc = expectDocument<{ lookup: { result: { results: string[] } } }>(r.out, 'DnsLookup');
    expect(doc.lookup.result.results).toEqual(['10.244.1.30']);
  });

  it('bad --type and a non-pod --from are input errors', async () => {
    expect((await cli([...DNS, 'x', '--type', 'MX'])).code).toBe(2);
    const r = await cli(['dns', '-f', FILE, '--from', 'node/node-a', 'x']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/trace from a pod/);
  });

  it('reach --explain says when a pair is allowed by address but not by name', async () => {
    const locked = await cli([
      'reach',
      '-f',
      FILE,
      '--explain',
      'locked/app',
      'shop/store-be-1',
      '--port',
      'TCP/80',
    ]);
    expect(locked.out).toContain('=> allowed');
    expect(locked.out).toMatch(
      /by name it is not: locked\/app's DNS queries to kube-system\/coredns-a, kube-system\/coredns-b on UDP\/53 are denied/,
    );
    const open = await cli([
      'reach',
      '-f',
      FILE,
      '--explain',
      'shop/frontend',
      'shop/store-be-1',
      '--port',
      'TCP/80',
    ]);
    expect(open.out).not.toContain('by name');
  });

  it('Corefile plugins not modelled and NodeLocal DNSCache are said on stderr, the answer goes on', async () => {
    const extra = `
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
        }
        template IN A example.org {
           answer "{{ .Name }} 60 IN A 192.0.2.1"
        }
        forward . /etc/resolv.conf
    }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-local-dns, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - name: node-cache
          image: registry.k8s.io/dns/k8s-dns-node-cache:1.23.1
          args: ["-localip", "169.254.20.10,10.0.0.10", "-conf", "/etc/Corefile"]
`;
    const io = memoryIo({ ...FILES, 'extra.yaml': extra });
    const code = await main(
      ['dns', '-f', FILE, 'extra.yaml', '--from', 'shop/frontend', 'store-be', '--type', 'A'],
      io,
    );
    expect(code, io.stderr).toBe(0);
    expect(io.stdout).toContain('IN\tA\t10.0.3.76');
    expect(io.stdout).toContain('server: ConfigMap kube-system/coredns data.Corefile');
    expect(io.stderr).toMatch(
      /note: not modelled: Corefile line \d+: plugin template is not modelled/,
    );
    expect(io.stderr).toMatch(
      /NodeLocal DNSCache detected \(DaemonSet kube-system\/node-local-dns args -localip 169\.254\.20\.10,10\.0\.0\.10\)/,
    );
  });
});
