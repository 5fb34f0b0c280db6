/**
 * Golden traces by name (trace/dns.ts) on examples/seed003-dns.yaml, seed
 * 003's kube-dns at 10.0.0.10: each query through the twin, then the
 * connection. Regenerate with `UPDATE_GOLDEN=1 npx vitest run src/trace`.
 */
import { describe, expect, it } from 'vitest';
import { expectGolden, expectTraceGolden, planExample } from '../render/testing/golden.js';
import { traceDocument } from '../render/document.js';
import { renderTraceText } from '../render/trace.js';
import { schemaErrors } from '../render/testing/schema.js';
import { validateTrace } from './validate.js';
import type { ConnectionTrace } from './model.js';
import { nameRef, traceByName } from './dns.js';

interface Case {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Also a JSON golden (each query's full trace makes these large: kept for two cases). */
  readonly json?: boolean;
  readonly expect: (t: ConnectionTrace) => void;
}

const queries = (t: ConnectionTrace): string[] =>
  (t.dns?.queries ?? []).map((q) => `${q.type} ${q.name} ${q.transport}`);

const CASES: Case[] = [
  {
    name: 'dns-seed003-kube-dns-by-name',
    from: 'shop/frontend',
    to: 'store-be:80',
    json: true,
    expect: (t) => {
      // The first search domain answers; A and AAAA go to the seed's 10.0.0.10 and are DNATed to a CoreDNS pod.
      expect(queries(t)).toEqual([
        'A store-be.shop.svc.cluster.local. udp',
        'AAAA store-be.shop.svc.cluster.local. udp',
      ]);
      const q = t.dns!.queries[0]!;
      expect(q.trace.request.sent.dst).toBe('10.0.0.10');
      expect(q.trace.rewrites.map((r) => r.kind)).toEqual(['DNAT', 'un-DNAT']);
      expect(q.trace.reply?.received?.src).toBe('10.0.0.10');
      expect(t.dns!.queries[1]!.answer?.answer).toEqual([]);
      expect(t.to).toMatchObject({ ref: 'store-be:80', ip: '10.0.3.76', port: 80 });
      expect(t.request.received?.dst).toBe('10.244.2.20');
    },
  },
  {
    name: 'dns-search-list-ndots5',
    from: 'shop/frontend',
    to: 'https://api.payments.example/',
    expect: (t) => {
      // Two dots < ndots 5: the three search domains first (NXDOMAIN each), then the name as is, forwarded upstream.
      expect(queries(t).filter((q) => q.startsWith('A '))).toEqual([
        'A api.payments.example.shop.svc.cluster.local. udp',
        'A api.payments.example.svc.cluster.local. udp',
        'A api.payments.example.cluster.local. udp',
        'A api.payments.example. udp',
      ]);
      expect(t.dns!.queries.slice(0, 6).every((q) => q.answer?.rcode === 'NXDOMAIN')).toBe(true);
      expect(t.dns!.queries[6]!.forward?.request.at).toBe('host/upstream-dns');
      expect(t.request.received?.dst).toBe('203.0.113.80');
      expect(t.to.port).toBe(443);
    },
  },
  {
    name: 'dns-headless-statefulset',
    from: 'shop/frontend',
    to: 'web-0.web:80',
    expect: (t) => {
      expect(t.dns!.result.results).toEqual(['10.244.1.30']);
      expect(t.dns!.result.answeredName).toBe('web-0.web.shop.svc.cluster.local.');
      expect(t.request.at).toBe('shop/web-0');
      expect(t.rewrites).toEqual([]);
    },
  },
  {
    name: 'dns-externalname',
    from: 'shop/frontend',
    to: 'payments:443',
    expect: (t) => {
      const a = t.dns!.queries[0]!.answer!;
      expect(a.answer.map((r) => `${r.type} ${r.data}`)).toEqual([
        'CNAME api.payments.example.',
        'A 203.0.113.80',
      ]);
      expect(t.dns!.result.canonical).toBe('api.payments.example.');
      expect(t.request.at).toBe('host/payments-api');
    },
  },
  {
    name: 'dns-nxdomain',
    from: 'shop/frontend',
    to: 'nope:80',
    expect: (t) => {
      expect(t.to.kind).toBe('name');
      expect(t.dns!.result).toMatchObject({ status: 'nxdomain', results: [] });
      expect(t.dns!.result.error).toContain('EAI_NONAME');
      expect(queries(t)).toHaveLength(8);
      expect(t.dns!.queries.every((q) => q.answer?.rcode === 'NXDOMAIN')).toBe(true);
      expect(t.proto).toBe('udp');
    },
  },
  {
    name: 'dns-default-deny-egress',
    from: 'locked/app',
    to: 'store-be.shop:80',
    json: true,
    expect: (t) => {
      // Every query dies in Calico's egress chain; glibc retries, then tries the name as is: EAI_AGAIN.
      expect(t.dns!.result.status).toBe('timeout');
      expect(t.dns!.queries.every((q) => q.timeout?.includes('dropped at node-a'))).toBe(true);
      expect(t.dns!.queries.map((q) => q.sends)).toEqual([2, 2, 2, 2]);
      expect(t.request).toMatchObject({ disposition: 'dropped', at: 'node-a' });
      expect(t.policy?.allowedByPolicy).toBe(false);
      // By address the connection is allowed: the policy set lacks only DNS.
      expect(t.dns!.byAddress).toMatchObject({ address: '10.0.3.76', reachable: true });
    },
  },
];

describe('golden traces by name (DNS)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const plan = planExample('seed003-dns');
      const ref = nameRef(plan.model, c.to);
      expect(ref).toBeDefined();
      const t = traceByName(plan, { from: c.from, to: c.to }, ref!);
      c.expect(t);
      for (const q of t.dns?.queries ?? []) expect(validateTrace(q.trace)).toEqual([]);
      if (c.json) expectTraceGolden(c.name, t);
      else {
        expect(validateTrace(t)).toEqual([]);
        expect(schemaErrors(JSON.parse(JSON.stringify(traceDocument(t))))).toEqual([]);
        expectGolden(c.name, { txt: renderTraceText(t) });
      }
    });
  }

  it('refs that are not names stay refs', () => {
    const plan = planExample('seed003-dns');
    for (const r of [
      'svc/shop/store-be:80',
      'shop/web-0:80',
      '10.0.3.76:80',
      '999.1.1.1:80',
      'host/upstream-dns:53',
    ])
      expect(nameRef(plan.model, r)).toBeUndefined();
    expect(() => nameRef(plan.model, 'store-be')).toThrow(/needs a port/);
  });
});
