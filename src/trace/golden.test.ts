/**
 * Golden traces for every example: the text view and the JSON trace,
 * compared byte for byte with test/golden/NAME.{txt,json}. After an intended
 * change, regenerate with
 *
 *   UPDATE_GOLDEN=1 npx vitest run src/trace
 *
 * and review the diff like code.
 */
import { describe, expect, it } from 'vitest';
import { traceConnection, type TraceOptions } from './connection.js';
import { expectTraceGolden, planExample as plan } from '../render/testing/golden.js';

interface Case {
  readonly name: string;
  readonly example: string;
  readonly opts: TraceOptions;
  /** What the case is about, checked on the trace itself (so a golden can't silently bless a wrong walk). */
  readonly expect: (t: ReturnType<typeof traceConnection>) => void;
}

const CASES: Case[] = [
  {
    name: 'same-node-pod-to-pod',
    example: 'same-node',
    opts: { from: 'default/pod-a', to: 'default/pod-b:80' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.at).toBe('default/pod-b');
      expect(t.rewrites).toEqual([]);
      expect(t.reply?.received?.src).toBe('10.244.4.40');
    },
  },
  {
    name: 'same-node-pod-to-service',
    example: 'same-node',
    opts: { from: 'default/pod-a', to: 'svc/default/web:80' },
    expect: (t) => {
      expect(t.request.received?.dst).toBe('10.244.4.40');
      expect(t.reply?.disposition).toBe('delivered');
      expect(t.reply?.received?.src).toBe('10.96.0.11');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['DNAT', 'un-DNAT']);
    },
  },
  {
    name: 'same-node-hairpin',
    example: 'same-node',
    opts: { from: 'default/pod-b', to: 'svc/default/web:80' },
    expect: (t) => {
      // The plain bridge plugin leaves hairpin_mode off: the bridge will not send the frame back out its port.
      expect(t.request.disposition).toBe('dropped');
      expect(t.request.reason).toBe('hairpin-off');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['DNAT']);
    },
  },
  {
    name: 'hairpin-pod-to-itself',
    example: 'hairpin',
    opts: { from: 'default/web', to: 'svc/default/web:80' },
    expect: (t) => {
      // §11 C: KUBE-MARK-MASQ (source is the endpoint), DNAT to itself, MASQUERADE to cni0's address, hairpin on the port.
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.received?.src).toBe('10.244.1.1');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['DNAT', 'MASQUERADE', 'un-SNAT', 'un-DNAT']);
      expect(t.reply?.received?.src).toBe('10.96.0.11');
      expect(t.reply?.received?.dst).toBe('10.244.1.6');
    },
  },
  {
    name: 'same-node-no-listener',
    example: 'same-node',
    opts: { from: 'default/pod-a', to: 'default/pod-b:8080' },
    expect: (t) => {
      expect(t.request.disposition).toBe('rejected');
      expect(t.request.reason).toBe('no-listener');
      expect(t.reply?.what).toBe('TCP RST');
      expect(t.reply?.socket).toContain('ECONNREFUSED');
    },
  },
  {
    name: 'same-node-node-to-clusterip',
    example: 'same-node',
    opts: { from: 'node/node-a', to: 'svc/default/web:80' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['DNAT', 'MASQUERADE', 'un-SNAT', 'un-DNAT']);
      expect(t.request.received?.src).toBe('10.244.4.1');
      expect(t.reply?.received?.src).toBe('10.96.0.11');
    },
  },
  {
    name: 'two-nodes-pod-to-pod',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'default/store-be-3:80' },
    expect: (t) => {
      expect(t.request.hops.map((h) => h.host)).toContain('vpc');
      expect(t.request.received?.src).toBe(t.from.ip);
      expect(t.rewrites).toEqual([]);
    },
  },
  {
    name: 'two-nodes-store-be-all-paths',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/default/store-be:80', allPaths: true },
    expect: (t) => {
      const alts = t.alternatives ?? [];
      expect(alts.map((a) => a.dnat).sort()).toEqual([
        '10.11.0.9:80',
        '10.11.5.3:80',
        '10.11.8.67:80',
      ]);
      for (const a of alts) {
        expect(a.probability).toBeCloseTo(1 / 3, 8);
        expect(a.request.disposition).toBe('delivered');
        expect(a.reply?.received?.src).toBe('10.9.3.76');
      }
    },
  },
  {
    name: 'gce-egress-pod-to-internet',
    example: 'gce-egress',
    opts: { from: 'default/app', to: 'host/internet:443' },
    expect: (t) => {
      // MASQUERADE (ip-masq-agent) to the node's InternalIP, then the VPC's 1:1 NAT to its ExternalIP; un-NAT twice back.
      expect(t.rewrites.map((r) => `${r.kind}@${r.host}`)).toEqual([
        'MASQUERADE@node-1',
        'SNAT@vpc',
        'un-SNAT@vpc',
        'un-SNAT@node-1',
      ]);
      expect(t.request.received?.src).toBe('34.76.10.2');
      expect(t.reply?.received).toMatchObject({ src: '8.8.8.8', dst: '10.52.1.5' });
    },
  },
  {
    name: 'two-nodes-kube-dns-udp',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/kube-system/kube-dns:53', proto: 'udp' },
    expect: (t) => {
      expect(t.proto).toBe('udp');
      expect(t.reply?.disposition).toBe('delivered');
      expect(t.reply?.received?.src).toBe('10.9.0.10');
    },
  },
];

describe('golden traces', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const t = traceConnection(plan(c.example), c.opts);
      c.expect(t);
      expectTraceGolden(c.name, t);
    });
  }

  it('is deterministic: the same trace twice is the same bytes', () => {
    const a = JSON.stringify(
      traceConnection(plan('two-nodes'), {
        from: 'default/frontend',
        to: 'svc/default/store-be:80',
        seed: 7,
      }),
    );
    const b = JSON.stringify(
      traceConnection(plan('two-nodes'), {
        from: 'default/frontend',
        to: 'svc/default/store-be:80',
        seed: 7,
      }),
    );
    expect(a).toBe(b);
  });
});
