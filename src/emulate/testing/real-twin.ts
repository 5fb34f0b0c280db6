/**
 * What the twin-in-real-namespaces suites (src/emulate/twin.kernel.test.ts,
 * src/emulate/nodeport.kernel.test.ts) share: a two-node cluster's Cluster
 * and Node objects, the plan (loaded without error diagnostics) built before
 * the suite, the real twin built once on first use from a cold instance of
 * that plan (emulate/twin.ts) and destroyed after the suite with the Lab's
 * processes, and one real TCP connection (a server in one namespace, a
 * client in another) whose results the tests compare with the twin's trace.
 * Test-only (tsconfig.build.json leaves `testing/` out of the build).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { loadDocuments } from '../../k8s/load.js';
import { buildModel } from '../../k8s/model.js';
import { planTwin, type TwinPlan } from '../../twin/index.js';
import { Lab } from '../netns.js';
import { runClient, startServer, type ClientResult, type ServerSaw } from '../traffic.js';
import { buildRealTwin, type RealTwin } from '../twin.js';

/**
 * The Cluster (`name`, `cni`, underlay `<subnet>.0/24` via `<subnet>.1`) and
 * its nodes node-a (10.244.1.0/24, `<subnet>.10`) and node-b (10.244.2.0/24,
 * `<subnet>.11`) as YAML documents.
 */
export const twoNodeCluster = (name: string, cni: string, subnet: string): string => `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: ${name}}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: ${cni}
  kubeProxy: {mode: iptables}
  cloud: {provider: none}
  underlay: {cidr: ${subnet}.0/24, gateway: ${subnet}.1}
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: ${subnet}.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: ${subnet}.11}]}
`;

export interface RealTwinSuite {
  readonly lab: Lab;
  /** The twin's plan (available once the suite has started). */
  plan(): TwinPlan;
  /** The real twin, built on first use from a fresh (cold) instance: the state every trace starts from. */
  real(): RealTwin;
}

/**
 * Registers, in the calling describe, the beforeAll that plans the cluster in
 * `text` (no error diagnostics allowed) and the afterAll that stops the lab's
 * processes and deletes the real twin's namespaces.
 */
export function realTwinSuite(
  path: string,
  text: string,
  opts: Parameters<typeof buildRealTwin>[1],
): RealTwinSuite {
  let plan: TwinPlan | undefined;
  let real: RealTwin | undefined;
  const lab = new Lab();
  beforeAll(() => {
    const loaded = loadDocuments([{ path, text }]);
    const built = buildModel(loaded.objects);
    expect(
      [...loaded.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error'),
    ).toEqual([]);
    plan = planTwin(built.model);
  });
  afterAll(() => {
    try {
      lab.destroy();
    } finally {
      real?.destroy();
    }
  });
  return {
    lab,
    plan: () => plan!,
    real: () => (real ??= buildRealTwin(plan!.instantiate(), opts)),
  };
}

/**
 * One real TCP connection: a server on 0.0.0.0:`listen` in twin host
 * `server`'s namespace, a client in `from`'s to dst:port from `sport`; the
 * server is stopped whatever the client got.
 */
export async function connectForReal(
  s: RealTwinSuite,
  c: {
    readonly server: string;
    readonly listen: number;
    readonly from: string;
    readonly dst: string;
    readonly port: number;
    readonly sport: number;
  },
): Promise<{ results: ClientResult[]; saw: ServerSaw[] }> {
  const real = s.real();
  const server = await startServer(s.lab, real.ns.get(c.server)!, {
    proto: 'tcp',
    listen: [{ host: '0.0.0.0', port: c.listen }],
  });
  let results: ClientResult[] = [];
  let saw: ServerSaw[] = [];
  try {
    results = await runClient(s.lab, real.ns.get(c.from)!, {
      proto: 'tcp',
      dst: c.dst,
      port: c.port,
      sport: c.sport,
      attemptTimeoutMs: 2000,
    });
  } finally {
    saw = await server.stop();
  }
  return { results, saw };
}
