/**
 * Golden traces and kernel-state dumps for the overlay examples
 * (examples/flannel-vxlan.yaml, examples/calico-ipip.yaml), with the same
 * mechanism as src/trace/golden.test.ts: test/golden/NAME.{txt,json},
 * compared byte for byte; regenerate after an intended change with
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/integration/overlay.golden.test.ts
 *
 * Each case also checks what it is about on the trace itself, so a golden
 * cannot silently bless a wrong walk.
 */
import { describe, expect, it } from 'vitest';
import { renderRules } from '../../src/cli/rules.js';
import { traceConnection, type TraceOptions } from '../../src/trace/connection.js';
import type { ConnectionTrace } from '../../src/trace/model.js';
import { expectGolden, expectTraceGolden, planExample as plan } from '../../src/render/testing/golden.js';

interface Case {
  readonly name: string;
  readonly example: string;
  readonly opts: TraceOptions;
  readonly expect: (t: ConnectionTrace) => void;
}

const CASES: Case[] = [
  {
    name: 'flannel-vxlan-pod-to-pod',
    example: 'flannel-vxlan',
    opts: { from: 'default/pod1', to: 'default/pod4:80' },
    expect: (t) => {
      // Seed 003: src pod1/dst pod4 becomes src node1/dst node2 (encapsulated), then back.
      const encap = t.rewrites.find((r) => r.kind === 'ENCAP' && r.leg === 'request')!;
      expect(encap.host).toBe('node1');
      expect(encap.before).toMatchObject({ src: '10.244.1.5', dst: '10.244.2.7' });
      expect(encap.after).toMatchObject({
        src: '10.0.0.11',
        dst: '10.0.0.12',
        dport: 8472,
        proto: 'udp',
      });
      const decap = t.rewrites.find((r) => r.kind === 'DECAP' && r.leg === 'request')!;
      expect(decap.host).toBe('node2');
      expect(decap.after).toMatchObject({ src: '10.244.1.5', dst: '10.244.2.7' });
      expect(t.request.received).toMatchObject({ src: '10.244.1.5', dst: '10.244.2.7' });
      expect(t.reply?.received).toMatchObject({ src: '10.244.2.7', dst: '10.244.1.5' });
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request ENCAP@node1',
        'request DECAP@node2',
        'reply ENCAP@node2',
        'reply DECAP@node1',
      ]);
    },
  },
  {
    name: 'flannel-vxlan-pod-to-service',
    example: 'flannel-vxlan',
    opts: { from: 'default/pod1', to: 'svc/default/web:80', allPaths: true },
    expect: (t) => {
      // §11 A and B: DNAT to the endpoint on node2 (through flannel.1) or on node1 (bridged), un-DNAT on the reply.
      const alts = t.alternatives ?? [];
      expect(alts.map((a) => a.dnat).sort()).toEqual(['10.244.1.6:80', '10.244.2.7:80']);
      for (const a of alts) {
        expect(a.request.disposition).toBe('delivered');
        expect(a.reply?.received?.src).toBe('10.96.0.50');
      }
      const remote = alts.find((a) => a.dnat === '10.244.2.7:80')!;
      expect(remote.rewrites.map((r) => r.kind)).toEqual([
        'DNAT',
        'ENCAP',
        'DECAP',
        'ENCAP',
        'DECAP',
        'un-DNAT',
      ]);
    },
  },
  {
    name: 'flannel-vxlan-pod-to-internet',
    example: 'flannel-vxlan',
    opts: { from: 'default/pod1', to: 'host/internet:443' },
    expect: (t) => {
      // FLANNEL-POSTRTG: -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully.
      expect(t.request.received?.src).toBe('10.0.0.11');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['MASQUERADE', 'un-SNAT']);
      expect(t.reply?.received?.dst).toBe('10.244.1.5');
    },
  },
  {
    name: 'calico-ipip-pod-to-pod-same-node',
    example: 'calico-ipip',
    opts: { from: 'default/pod1', to: 'default/pod2:80' },
    expect: (t) => {
      // 169.254.1.1 answered by proxy ARP on the cali veth; routed by the /32 route, no NAT.
      const arp = t.request.hops
        .flatMap((h) => h.steps)
        .find((s) => s.kind === 'arp' && s.summary.includes('proxy reply 169.254.1.1'));
      expect(arp?.summary).toContain('is-at ee:ee:ee:ee:ee:ee');
      expect(t.request.received).toMatchObject({ src: '10.244.1.5', dst: '10.244.1.6' });
      expect(t.reply?.disposition).toBe('delivered');
    },
  },
  {
    name: 'calico-ipip-pod-to-pod',
    example: 'calico-ipip',
    opts: { from: 'default/pod1', to: 'default/pod4:80' },
    expect: (t) => {
      // BIRD's route via 10.0.0.12 dev tunl0 onlink: tunl0 (remote any) takes the next hop as
      // the outer destination; node1's eth0 address is the outer source; TTL inherited (63
      // after node1 forwarded it), DF copied (nopmtudisc). node2 decapsulates, pod4 receives.
      const encap = t.request.hops.flatMap((h) => h.steps).find((s) => s.kind === 'encap');
      expect(encap?.summary).toMatch(
        /^tunl0: ipip encap: via 10\.0\.0\.12 → outer 10\.0\.0\.11 > 10\.0\.0\.12 proto 4 ttl 63 DF,/,
      );
      const e = t.rewrites.find((r) => r.kind === 'ENCAP' && r.leg === 'request')!;
      expect(e.host).toBe('node1');
      expect(e.before).toMatchObject({ src: '10.244.1.5', dst: '10.244.2.7' });
      expect(e.after).toMatchObject({ src: '10.0.0.11', dst: '10.0.0.12', proto: 'ipip' });
      const d = t.rewrites.find((r) => r.kind === 'DECAP' && r.leg === 'request')!;
      expect(d.host).toBe('node2');
      expect(d.after).toMatchObject({ src: '10.244.1.5', dst: '10.244.2.7' });
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.received).toMatchObject({ src: '10.244.1.5', dst: '10.244.2.7' });
      expect(t.reply?.received).toMatchObject({ src: '10.244.2.7', dst: '10.244.1.5' });
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request ENCAP@node1',
        'request DECAP@node2',
        'reply ENCAP@node2',
        'reply DECAP@node1',
      ]);
    },
  },
  {
    name: 'calico-ipip-pod-to-internet',
    example: 'calico-ipip',
    opts: { from: 'default/pod1', to: 'host/internet:443' },
    expect: (t) => {
      // cali-nat-outgoing: source in the pool, destination in no pool ⇒ MASQUERADE to eth0's address.
      expect(t.request.received?.src).toBe('10.0.0.11');
      expect(t.rewrites.map((r) => r.kind)).toEqual(['MASQUERADE', 'un-SNAT']);
      expect(t.reply?.received?.dst).toBe('10.244.1.5');
    },
  },
];

describe('overlay golden traces', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const t = traceConnection(plan(c.example), c.opts);
      c.expect(t);
      expectTraceGolden(c.name, t);
    });
  }

  for (const example of ['flannel-vxlan', 'calico-ipip']) {
    it(`${example}: packeteye rules --node node1 (ip route, ip neigh, bridge fdb)`, () => {
      const twin = plan(example).instantiate();
      const text = (['routes', 'neigh', 'fdb'] as const)
        .map((s) => renderRules(twin, 'node1', s, 'node1'))
        .join('\n');
      if (example === 'flannel-vxlan') {
        expect(text).toContain('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink');
        expect(text).toMatch(/10\.244\.2\.0 dev flannel\.1 lladdr \S+ PERMANENT/);
        expect(text).toMatch(/\S+ dev flannel\.1 dst 10\.0\.0\.12 self permanent/);
      } else {
        expect(text).toContain('blackhole 10.244.1.0/26 proto bird');
        expect(text).toContain('10.244.2.0/26 via 10.0.0.12 dev tunl0 proto bird onlink');
      }
      expectGolden(`${example}-rules-node1`, { txt: text });
    });
  }
});
