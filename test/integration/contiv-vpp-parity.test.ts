/**
 * One cluster, two data planes, every pair. Each example's cluster under
 * `cni.plugin: contiv-vpp` (VPP's graph: NAT44's self-twice-NAT mappings,
 * the ACL plugin's local and global tables) and under Calico (the Linux
 * kernel: kube-proxy's iptables, Felix's chains): every pod of the first
 * node — hostNetwork ones included — to every pod port (and a closed one),
 * Service port, external IP and NodePort there. A connection is `open` (the
 * client gets the SYN-ACK), `refused` (a RST: nothing listens) or `blocked`
 * (the SYN or its answer dropped); over UDP (a UDP Service's port), a
 * port unreachable is `refused`.
 *
 * Both data planes give the same answer, and it is `reach`'s (the policies'
 * verdict on the pod and TCP port the connection lands on), except in the
 * places where the data planes differ; there the VPP trace says where:
 *
 * - **A pod through a Service to itself**, when policies isolate it: Contiv
 *   installs every mapping self-twice-NAT and permits the NAT loopback in
 *   the pod's local table, so the connection opens (as `reach` says a pod
 *   may always reach itself); on Calico it arrives from itself, hairpinned,
 *   and Felix's ingress chain applies the policies to it.
 * - **The node's host stack to an ingress-isolated pod**: Contiv's local
 *   table ends in deny-all and has no rule for the host, so the vswitch
 *   drops it at the pod TAP's output ACL; Calico lets a node reach its own
 *   pods, as `reach` does.
 * - **UDP answered by ICMP port unreachable**, to a client that is
 *   ingress-isolated: the ACL plugin's reflexive session is the datagram's
 *   5-tuple, which the ICMP error does not match, so the client's local
 *   table drops it (Linux lets it through as RELATED to the connection);
 *   and to a pod reaching itself: `icmp_in2out` translates the error's
 *   source and quoted destination but not the twice-NAT destination, so it
 *   stays addressed to the NAT loopback.
 *
 * - **A named port**: Contiv v1.1 does not translate port names, and the
 *   number 0 it renders matches every port of the protocol, so a policy
 *   naming `http` lets the client reach any TCP port of the pod.
 *
 * A Service's backend straight to another backend's address and target port
 * answers as on Linux: vpp-agent sends every Service mapping out2in-only, so
 * the other backend's answer is not translated to its Service's VIP.
 *
 * A pod's connection to its own address never reaches the vswitch: the VPP
 * trace refuses it, saying so, and only the Linux side is checked.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../src/k8s/selector.js';
import type { ClusterModel } from '../../src/k8s/model.js';
import { evaluatePair } from '../../src/policy/evaluate.js';
import { worldFromYaml } from '../../src/policy/testing/yaml.js';
import { planExample } from '../../src/render/testing/golden.js';
import { traceConnection } from '../../src/trace/connection.js';
import { traceVppConnection, type VppConnectionTrace } from '../../src/trace/vpp.js';

type Outcome = 'open' | 'refused' | 'blocked';

const toCalico = (s: string): string =>
  s.replace(
    /cni: \{plugin: contiv-vpp, gateway: [\d.]+\}/,
    'cni: {plugin: calico}\n  networkPolicy: {enforcer: calico}',
  );

const ipAt = (b: Uint8Array, at: number): string => [...b.subarray(at, at + 4)].join('.');

/** The client's view: its answer must come from where it sent the SYN, or it resets it. */
function vppOutcome(t: VppConnectionTrace): Outcome {
  if (t.request.fate.kind !== 'transmit' || t.reply?.fate.kind !== 'transmit') return 'blocked';
  if (t.notes.some((n) => n.startsWith('the answer leaves as '))) return 'blocked';
  const ip = t.reply.fate.frame.subarray(14);
  if (ip[9] === 1) return ip[20] === 3 ? 'refused' : 'open'; // ICMP destination unreachable
  return (ip[20 + 13]! & 0x04) !== 0 ? 'refused' : 'open';
}

/** The destinations on `node`: pod ports and a closed one, Service ports, external IPs, node ports. */
function destinations(model: ClusterModel, node: string): string[] {
  const out: string[] = [];
  for (const p of model.podsByNode.get(node) ?? []) {
    if (p.spec.hostNetwork) continue;
    const ports = (p.spec.containers ?? []).flatMap((c) =>
      (c.ports ?? []).map((cp) => cp.containerPort),
    );
    for (const port of [...ports, 9]) out.push(`${p.status.podIP}:${port}`);
  }
  const nodeIp = model.nodes
    .get(node)!
    .status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  for (const [key, svc] of model.services)
    for (const port of svc.spec.ports) {
      if (key === 'default/kubernetes') continue; // its endpoint, the API server, is no pod here
      out.push(`svc/${key}:${port.port}`);
      for (const ip of svc.spec.externalIPs ?? []) out.push(`${ip}:${port.port}`);
      if (port.nodePort && nodeIp) out.push(`${nodeIp}:${port.nodePort}`);
    }
  return out;
}

interface Row {
  readonly from: string;
  readonly to: string;
  readonly vpp: Outcome;
  readonly linux: Outcome;
  readonly trace: VppConnectionTrace;
  /** The pod and port the request landed on (after NAT), if a pod. */
  readonly landed?: { readonly pod: string; readonly port: number };
}

function rows(example: string): { rows: Row[]; selfIp: string[] } {
  const vpp = planExample(example).model;
  const linux = planExample(example, toCalico);
  const node = [...vpp.nodes.keys()][0]!;
  const out: Row[] = [];
  const selfIp: string[] = [];
  for (const p of vpp.podsByNode.get(node) ?? []) {
    const from = `${p.metadata.namespace}/${p.metadata.name}`;
    for (const to of destinations(vpp, node)) {
      const l = traceConnection(linux, { from, to, seed: 1, sport: 40000 });
      const linuxOutcome: Outcome =
        l.request.disposition === 'rejected'
          ? 'refused'
          : l.request.disposition !== 'delivered'
            ? 'blocked'
            : l.reply?.what === 'TCP SYN-ACK' && l.reply.disposition === 'delivered'
              ? 'open'
              : l.reply?.what === 'TCP RST' && l.reply.disposition === 'delivered'
                ? 'refused'
                : 'blocked';
      if (!p.spec.hostNetwork && to.startsWith(`${p.status.podIP}:`)) {
        expect(() => traceVppConnection(vpp, { from, to, sport: 40000, seed: 1 })).toThrow(
          /own address; the pod's kernel answers it over lo/,
        );
        expect(linuxOutcome, `${from} → ${to} on Linux`).not.toBe('blocked');
        selfIp.push(`${from} → ${to}`);
        continue;
      }
      const trace = traceVppConnection(vpp, { from, to, sport: 40000, seed: 1 });
      const f = trace.request.fate;
      const landedIp = f.kind === 'transmit' ? ipAt(f.frame, 14 + 16) : undefined;
      const landedPod = [...vpp.pods.values()].find(
        (x) => !x.spec.hostNetwork && x.status.podIP === landedIp,
      );
      const landedPort = f.kind === 'transmit' ? (f.frame[36]! << 8) | f.frame[37]! : 0;
      out.push({
        from,
        to,
        vpp: vppOutcome(trace),
        linux: linuxOutcome,
        trace,
        ...(landedPod
          ? {
              landed: {
                pod: `${landedPod.metadata.namespace}/${landedPod.metadata.name}`,
                port: landedPort,
              },
            }
          : {}),
      });
    }
  }
  return { rows: out, selfIp };
}

describe.each([
  ['contiv-vpp-host-endpoint', 7, 1],
  ['contiv-vpp-services', 38, 8],
])('%s under contiv-vpp and calico', (example, pairs, differing) => {
  const { rows: all, selfIp } = rows(example);
  const world = worldFromYaml(readFileSync(`examples/${example}.yaml`, 'utf8'), `${example}.yaml`);
  const isHost = (from: string): boolean =>
    planExample(example).model.pods.get(from)?.spec.hostNetwork === true;
  const selfViaService = (r: Row): boolean => r.landed?.pod === r.from;
  /** Let through on a port the policy names only by name (the vswitch's notes say so), which Linux blocks. */
  const namedPortAllowsMore = (r: Row): boolean =>
    r.vpp !== 'blocked' &&
    r.linux === 'blocked' &&
    r.landed !== undefined &&
    r.landed.pod !== r.from &&
    r.trace.notes.some((n) => /named port \S+ is rendered as every TCP port/.test(n));
  const isUdp = (r: Row): boolean =>
    r.trace.request.trace.some(
      (e) => e.record.node === 'ip4-input' && 'data' in e.record && e.record.data[9] === 17,
    );
  /** Both ends are Service backends on this node, and the client went to the other's own address. */
  const isBackendToBackend = (r: Row): boolean => {
    const model = planExample(example).model;
    const locals = new Set(
      [...model.slicesByService.values()].flatMap((ss) =>
        ss.flatMap((sl) => sl.endpoints.flatMap((e) => e.addresses)),
      ),
    );
    const fromIp = model.pods.get(r.from)?.status.podIP;
    return (
      !isHost(r.from) &&
      fromIp !== undefined &&
      locals.has(fromIp) &&
      r.landed !== undefined &&
      r.to.startsWith(`${model.pods.get(r.landed.pod)?.status.podIP}:`) &&
      locals.has(r.to.split(':')[0]!)
    );
  };
  const isolatedIngress = (pod: string): boolean =>
    world.policies.some(
      (np) =>
        np.namespace === pod.split('/')[0] &&
        np.isolates.ingress &&
        world.pods.some((p) => p.key === pod && matchesSelector(p.labels, np.podSelector)),
    );

  it(`traces all ${pairs} pairs (and the pods' own addresses on Linux only)`, () => {
    expect(all.length).toBe(pairs);
    expect(selfIp.length).toBeGreaterThan(0);
  });

  it('gives the same answer on both data planes, except where the data planes differ', () => {
    const same = all.filter((r) => r.vpp === r.linux);
    const diff = all.filter((r) => r.vpp !== r.linux);
    expect(diff.length, diff.map((r) => `${r.from} → ${r.to}`).join('\n')).toBe(differing);
    expect(same.length + diff.length).toBe(pairs);
    for (const r of diff) {
      const what = `${r.from} → ${r.to}: vpp ${r.vpp}, linux ${r.linux}`;
      if (namedPortAllowsMore(r)) {
        // A named port in the destination's policy: Contiv allows every port of its protocol.
        expect(r.vpp, what).not.toBe('blocked');
        expect(r.linux, what).toBe('blocked');
      } else if (isHost(r.from)) {
        // The host stack to an ingress-isolated pod: Contiv's local table denies it.
        expect(r.vpp, what).toBe('blocked');
        expect(isolatedIngress(`${ipOwner(example, r.to)}`), what).toBe(true);
        expect(r.trace.request.fate, what).toMatchObject({
          kind: 'drop',
          node: 'acl-plugin-out-ip4-fa',
        });
        expect(r.trace.notes.join('\n'), what).toMatch(/vpp-policy-LOCAL-.* rule \d+ denies it/);
      } else if (selfViaService(r) && !isUdp(r)) {
        // A pod through a Service to itself: self-twice-NAT and the NAT loopback rule.
        expect(r.vpp, what).toBe('open');
        expect(r.linux, what).toBe('blocked');
        expect(r.trace.notes.join('\n'), what).toMatch(/self-twice-NAT: the client/);
      } else if (selfViaService(r)) {
        // UDP to itself through a Service: the port unreachable keeps the NAT loopback as destination.
        expect(r.vpp, what).toBe('blocked');
        expect(r.linux, what).toBe('refused');
        expect(r.trace.notes.join('\n'), what).toMatch(
          /the ICMP error is addressed to [\d.]+, not the client/,
        );
      } else {
        // UDP from an ingress-isolated client: its local table drops the port unreachable.
        expect(isUdp(r) && isolatedIngress(r.from), what).toBe(true);
        expect(r.vpp, what).toBe('blocked');
        expect(r.linux, what).toBe('refused');
        expect(r.trace.reply?.fate, what).toMatchObject({ kind: 'drop', node: 'acl-plugin-out-ip4-fa' });
        expect(r.trace.notes.join('\n'), what).toContain(`vpp-policy-LOCAL-${r.from})`);
      }
    }
  });

  it('answers a Service backend straight to another backend as Linux does (the mappings are out2in-only)', () => {
    const b2b = all.filter(isBackendToBackend);
    if (example === 'contiv-vpp-services') expect(b2b.length).toBeGreaterThan(0);
    for (const r of b2b) expect(r.vpp, `${r.from} → ${r.to}`).toBe(r.linux);
  });

  it("agrees with reach's policy verdict where the connection lands on a pod", () => {
    for (const r of all) {
      // TCP: a UDP verdict comes back as ICMP, which the tables judge apart (above)
      if (!r.landed || isHost(r.from) || isUdp(r)) continue;
      const from = world.pods.find((p) => p.key === r.from)!;
      const to = world.pods.find((p) => p.key === r.landed!.pod)!;
      const allowed = evaluatePair(world, from, to).allowed.has('TCP', r.landed.port);
      if (namedPortAllowsMore(r)) expect(allowed).toBe(false);
      else
        expect(
          r.vpp === 'blocked',
          `${r.from} → ${r.to} (${r.landed.pod}:${r.landed.port})`,
        ).toBe(!allowed);
    }
  });
});

/** The pod whose address `IP:PORT` names. */
function ipOwner(example: string, to: string): string | undefined {
  const ip = to.split(':')[0];
  const p = [...planExample(example).model.pods.values()].find(
    (x) => !x.spec.hostNetwork && x.status.podIP === ip,
  );
  return p ? `${p.metadata.namespace}/${p.metadata.name}` : undefined;
}
