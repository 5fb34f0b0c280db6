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
});
