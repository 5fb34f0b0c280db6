/**
 * The cluster's edge against seeds 000, 001 and 003: golden traces (text and
 * JSON, test/golden/edge-NAME.{txt,json}; regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run src/fabric`) and, for each, the facts the
 * seed states, checked on the trace itself.
 */
import { describe, expect, it } from 'vitest';
import { renderTraceText } from '../../src/render/trace.js';
import { traceConnection, type TraceOptions } from '../../src/trace/connection.js';
import type { ConnectionTrace, RewriteView } from '../../src/trace/model.js';
import { traceThroughIngress } from '../../src/trace/l7.js';
import type { L7Trace } from '../../src/trace/model.js';
import { expectTraceGolden, planExample as plan } from '../../src/render/testing/golden.js';
import type { TwinPlan } from '../../src/twin/index.js';

const noMasquerade = (s: string): string =>
  s.replace(
    '  cloud:\n    provider: gce',
    '  masquerade:\n    enabled: false\n  cloud:\n    provider: gce',
  );
/** What-if: kube-proxy does not masquerade the Service's external traffic (Cluster spec.kubeProxy.whatIf). */
const noExternalSnat =
  (svc: string) =>
  (s: string): string =>
    s.replace(
      '  kubeProxy:\n    mode: iptables\n',
      `  kubeProxy:\n    mode: iptables\n    whatIf:\n      noExternalMasquerade: [${svc}]\n`,
    );
const noIpModeProxy = (s: string): string => s.replaceAll(', ipMode: Proxy}', '}');

const short = (r: RewriteView): string =>
  `${r.leg} ${r.kind}@${r.host} ${r.field} ${r.from} → ${r.to}`;

/** Every step of the request at `host`. */
const stepsAt = (t: ConnectionTrace, host: string) =>
  t.request.hops.filter((h) => h.host === host).flatMap((h) => h.steps);
/** The hosts that routed or received the request (ARP exchanges left out). */
function path(t: ConnectionTrace): string[] {
  const out: string[] = [];
  for (const h of t.request.hops) {
    if (!h.steps.some((s) => s.kind === 'route' || s.kind === 'socket')) continue;
    if (out[out.length - 1] !== h.host) out.push(h.host);
  }
  return out;
}

interface Case {
  readonly name: string;
  readonly plan: () => TwinPlan;
  readonly opts: TraceOptions;
  readonly l7?: boolean;
  readonly expect: (t: L7Trace) => void;
}

/** The reply leg's rewrites are the request's, reversed, each inverted (DNAT ↔ un-DNAT on the other field). */
function expectRetracesInReverse(t: ConnectionTrace): void {
  const req = t.rewrites.filter((r) => r.leg === 'request');
  const rep = t.rewrites.filter((r) => r.leg === 'reply');
  expect(rep.map((r) => `${r.host} ${r.to} → ${r.from}`)).toEqual(
    [...req].reverse().map((r) => `${r.host} ${r.from} → ${r.to}`),
  );
  for (const r of rep) expect(r.kind.startsWith('un-')).toBe(true);
}

const CASES: Case[] = [
  {
    // Seed 000: the VPC's stateless 1:1 NAT there and back.
    name: 'edge-seed000-vm-through-vpc',
    plan: () => plan('gce-vm-seed000'),
    opts: { from: 'host/user', to: '35.211.248.124:80', sport: 32345 },
    expect: (t) => {
      expect(t.rewrites.map(short)).toEqual([
        'request DNAT@vpc dst 35.211.248.124:80 → 10.142.0.62:80',
        'reply un-DNAT@vpc src 10.142.0.62:80 → 35.211.248.124:80',
      ]);
      expectRetracesInReverse(t);
      expect(t.request.received).toMatchObject({
        src: '90.76.45.149',
        sport: 32345,
        dst: '10.142.0.62',
        dport: 80,
      });
      expect(t.reply?.received).toMatchObject({
        src: '35.211.248.124',
        sport: 80,
        dst: '90.76.45.149',
        dport: 32345,
      });
      // "no need for conntrack to remember": the VPC step is a fabric step, not a conntrack entry.
      const vpc = stepsAt(t, 'vpc');
      expect(vpc.some((s) => s.kind === 'fabric' && s.summary.includes('stateless'))).toBe(true);
      expect(vpc.some((s) => s.kind === 'conntrack')).toBe(false);
    },
  },
  {
    // Seed 001, Akrobateo / K3s servicelb: the seed's five rewrites plus Traefik's user-space termination.
    name: 'edge-seed001-akrobateo',
    plan: () => plan('gke-akrobateo'),
    opts: { from: 'host/user', to: '35.211.248.124:80', sport: 32345 },
    l7: true,
    expect: (t) => {
      const req = t.rewrites.filter((r) => r.leg === 'request');
      const firstLeg = req.slice(0, req.findIndex((r) => r.kind === 'proxy') + 1);
      // The seed's list: 1 DNAT by the VPC, 2 hostPort DNAT, 3 DNAT in the svclb pod, 4 ClusterIP DNAT,
      // 5 SNAT, 6 Traefik. The SNAT is the svclb pod's MASQUERADE, in the pod's POSTROUTING — before the
      // node sees the ClusterIP (examples/gke-akrobateo.yaml).
      expect(firstLeg.map((r) => `${r.kind}@${r.host}`)).toEqual([
        'DNAT@vpc',
        'DNAT@node-1',
        'DNAT@kube-system/svclb-traefik-node-1',
        'MASQUERADE@kube-system/svclb-traefik-node-1',
        'DNAT@node-1',
        'proxy@kube-system/traefik',
      ]);
      expect(firstLeg[1]!.rule?.chain).toMatch(/^CNI-DN-/);
      expect(firstLeg[2]!.to).toBe('10.24.3.12:80');
      expect(firstLeg[4]!.rule?.chain).toMatch(/^KUBE-SEP-/);
      expect(t.request.sent).toMatchObject({ src: '1.2.3.4', sport: 32345 });
      expect(t.proxy?.backend).toBe('10.20.1.9:80');
      // Leg 1's reply retraces leg 1 in reverse.
      const leg1 = t.rewrites.filter(
        (r) => r.kind !== 'proxy' && !t.upstream!.rewrites.includes(r),
      );
      expectRetracesInReverse({ ...t, rewrites: leg1 });
      expect(t.reply?.received).toMatchObject({
        src: '35.211.248.124',
        sport: 80,
        dst: '1.2.3.4',
        dport: 32345,
      });
    },
  },
  {
    // Without ipMode Proxy, kube-proxy owns the LB address (the node's own): it DNATs in KUBE-SERVICES
    // before portmap's CNI-HOSTPORT-DNAT, and the svclb pod never sees the packet.
    name: 'edge-seed001-akrobateo-kube-proxy-captures',
    plan: () => plan('gke-akrobateo', noIpModeProxy),
    opts: { from: 'host/user', to: '35.211.248.124:80', sport: 32345 },
    expect: (t) => {
      expect(t.request.at).toBe('kube-system/traefik');
      expect(t.rewrites.some((r) => r.host.includes('svclb'))).toBe(false);
      expect(t.rewrites.find((r) => r.host === 'node-1' && r.kind === 'DNAT')?.rule?.chain).toMatch(
        /^KUBE-SEP-/,
      );
    },
  },
  {
    // Seed 001, GKE: the NLB passes the packet unchanged to a node; kube-proxy DNATs (and SNATs, Cluster);
    // Traefik dials whoami anew.
    name: 'edge-seed001-gke-lb-traefik',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'host/user', to: '35.211.100.7:80', sport: 32345, allPaths: true },
    l7: true,
    expect: (t) => {
      expect(t.alternatives?.map((a) => a.probability)).toEqual(
        [1 / 3, 1 / 3, 1 / 3].map((p) => expect.closeTo(p, 9)),
      );
      const nodes = t.alternatives!.map(
        (a) => a.decisions.filter((d) => d.value).map((d) => d.label)[0] ?? '',
      );
      expect(nodes.length).toBe(3);
      const req = t.rewrites.filter((r) => r.leg === 'request');
      expect(req.slice(0, 3).map((r) => r.kind)).toEqual(['DNAT', 'MASQUERADE', 'proxy']);
      expect(req[0]!.from).toBe('35.211.100.7:80');
      expect(t.proxy?.ingress).toBe('default/whoami');
      const leg1 = t.rewrites.filter(
        (r) => r.kind !== 'proxy' && !t.upstream!.rewrites.includes(r),
      );
      expectRetracesInReverse({ ...t, rewrites: leg1 });
      expect(t.upstream?.request.disposition).toBe('delivered');
      expect(t.reply?.received).toMatchObject({
        src: '35.211.100.7',
        dst: '90.76.45.149',
        dport: 32345,
      });
      // The LB address stays the destination until the node: the VPC hop forwards it unchanged.
      const nlb = stepsAt(t, 'vpc').find(
        (s) =>
          s.kind === 'fabric' &&
          s.detail !== undefined &&
          'stage' in s.detail &&
          s.detail.stage === 'nlb',
      );
      expect(nlb?.packet?.dst).toBe('35.211.100.7');
    },
  },
  {
    // Seed 003 external-to-service, externalTrafficPolicy Cluster: the client address is lost.
    name: 'edge-seed003-external-to-service-cluster',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'host/user', to: '35.211.100.7:80', allPaths: true },
    expect: (t) => {
      for (const a of t.alternatives ?? []) {
        expect(a.request.disposition).toBe('delivered');
        expect(a.request.received?.src).not.toBe('90.76.45.149');
        expect(a.reply?.disposition).toBe('delivered');
      }
    },
  },
  {
    // Seed 003, "what if there were no SNAT": the endpoint is on node-1, the reply leaves
    // node-1 straight for the client, never meets node-2's conntrack (no un-DNAT), and GCE's
    // 1:1 NAT drops its pod source address.
    name: 'edge-seed003-external-to-service-no-snat',
    plan: () => plan('gke-lb-traefik', noExternalSnat('kube-system/traefik')),
    opts: { from: 'host/user', to: '35.211.100.7:80' },
    expect: (t) => {
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.received?.src).toBe('90.76.45.149');
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request DNAT@node-2',
      ]);
      expect(t.reply?.disposition).toBe('dropped');
      expect(t.reply?.at).toBe('vpc');
      expect(t.reply?.hops.map((h) => h.host)).not.toContain('node-2');
    },
  },
  {
    // The same what-if on a plain L2 segment (MetalLB): the reply reaches the client from the
    // pod's address, matches no connection there, and the client resets it.
    name: 'edge-seed003-no-snat-l2-client-resets',
    plan: () => plan('metallb-l2', noExternalSnat('default/web')),
    opts: { from: 'host/user', to: '192.168.60.240:80' },
    expect: (t) => {
      expect(t.request.received?.src).toBe('198.51.100.30');
      expect(t.reply?.disposition).toBe('rejected');
      expect(t.reply?.at).toBe('host/user');
      expect(t.reply?.received ?? t.reply?.hops.at(-1)?.steps.at(-1)?.packet).toMatchObject({
        src: '10.244.3.7',
      });
      expect(t.rewrites.filter((r) => r.leg === 'reply')).toEqual([]);
    },
  },
  {
    // Seed 003, Local: only node-2's health check passes; the client address is kept; one path.
    name: 'edge-seed003-external-to-service-local',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'host/user', to: '203.0.113.10:443', allPaths: true },
    expect: (t) => {
      expect(t.alternatives?.length).toBe(1);
      expect(t.request.received?.src).toBe('90.76.45.149');
      expect(path(t)).toEqual(['host/user', 'vpc', 'node-2', 'default/store-be-1']);
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request DNAT@node-2',
        'reply un-DNAT@node-2',
      ]);
      expect(
        t.defaults.some(
          (d) => d.field === 'status.loadBalancer.ingress' && d.value === '203.0.113.10',
        ),
      ).toBe(true);
    },
  },
  {
    name: 'edge-seed003-node-to-internet',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'node/node-1', to: 'host/internet:443' },
    expect: (t) => {
      expect(t.request.received?.src).toBe('35.211.248.124');
      expect(t.rewrites.filter((r) => r.host === 'vpc').map(short)).toEqual([
        expect.stringMatching(/^request SNAT@vpc src 10\.142\.0\.62:\d+ → 35\.211\.248\.124:\d+$/),
        expect.stringMatching(/^reply un-SNAT@vpc dst 35\.211\.248\.124:\d+ → 10\.142\.0\.62:\d+$/),
      ]);
      expect(t.reply?.disposition).toBe('delivered');
    },
  },
  {
    name: 'edge-seed003-pod-to-internet',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'default/store-be-1', to: 'host/internet:443' },
    expect: (t) => {
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request MASQUERADE@node-2',
        'request SNAT@vpc',
        'reply un-SNAT@vpc',
        'reply un-SNAT@node-2',
      ]);
      expect(t.rewrites[0]!.rule?.chain).toBe('IP-MASQ-AGENT');
      expect(t.request.received?.src).toBe('35.211.248.125');
      expect(t.reply?.received).toMatchObject({ src: '8.8.8.8', dst: '10.24.1.10' });
    },
  },
  {
    // An ICMP error about a connection the node let out through the 1:1 NAT: the VPC rewrites the
    // quoted packet too (RFC 5508), so conntrack finds the connection and the pod's socket the error.
    name: 'edge-pod-udp-port-unreachable-through-vpc',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'default/store-be-1', to: 'host/internet:443', proto: 'udp' },
    expect: (t) => {
      expect(t.request.disposition).toBe('rejected');
      expect(t.rewrites.map((r) => `${r.leg} ${r.kind}@${r.host}`)).toEqual([
        'request MASQUERADE@node-2',
        'request SNAT@vpc',
        'reply un-SNAT@vpc',
        'reply un-SNAT@node-2',
      ]);
      expect(t.reply?.disposition).toBe('delivered');
      expect(t.reply?.received).toMatchObject({ src: '8.8.8.8', dst: '10.24.1.10', proto: 'icmp' });
      const socket = t.reply?.hops.flatMap((h) => h.steps).find((s) => s.kind === 'socket');
      expect(socket?.summary).toContain('ECONNREFUSED');
    },
  },
  {
    // Seed 003: "dropped! … The 1:1 NAT only understands Node IPs".
    name: 'edge-seed003-pod-to-internet-no-masquerade',
    plan: () => plan('gke-lb-traefik', noMasquerade),
    opts: { from: 'default/store-be-1', to: 'host/internet:443' },
    expect: (t) => {
      expect(t.request.disposition).toBe('dropped');
      expect(t.request.at).toBe('vpc');
      expect(t.request.reason).toBe('vpc-no-nat');
      expect(t.request.received?.src).toBe('10.24.1.10');
      expect(t.reply).toBeNull();
    },
  },
  {
    // GKE opens no firewall hole for a LoadBalancer Service's node port: the VPC drops it.
    name: 'edge-firewall-nodeport-closed',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'host/user', to: '35.211.248.124:31080' },
    expect: (t) => {
      expect(t.request.disposition).toBe('dropped');
      expect(t.request.reason).toBe('vpc-firewall');
      expect(t.request.at).toBe('vpc');
    },
  },
  {
    // Inside the VPC to a node's external address: out through the edge and back in, NATed both ways.
    name: 'edge-gce-pod-to-node-external-ip',
    plan: () => plan('gke-lb-traefik'),
    opts: { from: 'default/store-be-1', to: '35.211.248.124', proto: 'icmp' },
    expect: (t) => {
      expect(t.rewrites.filter((r) => r.host === 'vpc').map(short)).toEqual([
        'request SNAT@vpc src 10.142.0.63 → 35.211.248.125',
        'request DNAT@vpc dst 35.211.248.124 → 10.142.0.62',
        'reply un-DNAT@vpc src 10.142.0.62 → 35.211.248.124',
        'reply un-SNAT@vpc dst 35.211.248.125 → 10.142.0.63',
      ]);
      expect(t.request.received?.src).toBe('35.211.248.125');
      expect(t.reply?.received).toMatchObject({ src: '35.211.248.124', dst: '10.24.1.10' });
    },
  },
  {
    // K3s servicelb: status = the nodes' addresses; kube-proxy's LB rule for the node's own address wins.
    name: 'edge-k3s-servicelb-kube-proxy-first',
    plan: () => plan('k3s-servicelb'),
    opts: { from: 'host/user', to: '192.168.50.11:80', sport: 32345 },
    expect: (t) => {
      expect(t.request.at).toBe('kube-system/traefik');
      expect(
        t.rewrites.filter((r) => r.leg === 'request').map((r) => `${r.kind}@${r.host}`),
      ).toEqual(['DNAT@node-1', 'MASQUERADE@node-1']);
      expect(t.defaults).toContainEqual(
        expect.objectContaining({
          object: 'Service kube-system/traefik',
          field: 'status.loadBalancer.ingress',
          value: '192.168.50.11,192.168.50.12',
        }),
      );
      expect(t.diagnostics).toContainEqual(
        expect.objectContaining({ code: 'lb-status-pending', object: 'Service default/orphan' }),
      );
    },
  },
  {
    // MetalLB layer 2, Cluster: the elected speaker (node-2) gets the frame; kube-proxy there DNATs and SNATs.
    name: 'edge-metallb-l2-cluster',
    plan: () => plan('metallb-l2'),
    opts: { from: 'host/user', to: '192.168.60.240:80' },
    expect: (t) => {
      expect(path(t)).toEqual([
        'host/user',
        'gateway',
        'node-2',
        'gateway',
        'node-3',
        'default/web-1',
      ]);
      expect(t.request.received?.src).toBe('192.168.60.12');
      expect(t.diagnostics).toContainEqual(
        expect.objectContaining({ code: 'lb-pool-not-modelled' }),
      );
    },
  },
  {
    // MetalLB layer 2, Local: only node-3 (the endpoint's node) may announce; the client address is kept.
    name: 'edge-metallb-l2-local',
    plan: () => plan('metallb-l2'),
    opts: { from: 'host/user', to: '192.168.60.241:80' },
    expect: (t) => {
      expect(path(t)).toEqual(['host/user', 'gateway', 'node-3', 'default/web-1']);
      expect(t.request.received?.src).toBe('198.51.100.30');
    },
  },
];

describe('edge golden traces (seeds 000, 001, 003)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const t: L7Trace = c.l7
        ? traceThroughIngress(c.plan(), c.opts)
        : traceConnection(c.plan(), c.opts);
      c.expect(t);
      const text =
        renderTraceText(t) +
        (t.upstream ? `\nupstream (${t.proxy?.why}):\n${renderTraceText(t.upstream)}` : '');
      expectTraceGolden(c.name, t, text);
    });
  }
});
