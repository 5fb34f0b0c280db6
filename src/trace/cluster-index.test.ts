/**
 * The cluster index answers as a scan of every node and pod does: for each
 * address a model holds (nodes', pods' — duplicates and hostNetwork pods
 * included —, podCIDRs' and beyond) and every set of kept nodes, whether the
 * address is another node's; for every port, the Services a node port leads to.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel, nodeInternalIP, type ClusterModel } from '../k8s/model.js';
import { cidrContains, intToIp, ipToInt, isIpv4, parseCidr } from '../wire/addr.js';
import { clusterIndex } from './cluster-index.js';

/** The owners of `ip` read from every node and every pod, in model order. */
function owners(model: ClusterModel, ip: string): string[] {
  const out: string[] = [];
  for (const [name, n] of model.nodes) {
    if (n.status.addresses.some((a) => a.address === ip)) out.push(name);
    for (const c of n.spec.podCIDRs ?? [n.spec.podCIDR])
      if (!c.includes(':') && isIpv4(ip) && cidrContains(parseCidr(c), ip)) out.push(name);
  }
  for (const p of model.pods.values()) if (p.status.podIP === ip) out.push(p.spec.nodeName);
  return out;
}

function nodePortScan(model: ClusterModel, port: number): string[] {
  return [...model.services]
    .filter(([, s]) =>
      s.spec.ports.some(
        (p) => p.nodePort === port || (s.spec.type === 'LoadBalancer' && p.port === port),
      ),
    )
    .map(([k]) => k);
}

function check(model: ClusterModel, extra: readonly string[] = []): void {
  const ix = clusterIndex(model);
  expect(clusterIndex(model)).toBe(ix);
  const names = [...model.nodes.keys()];
  const ips = new Set<string>(extra);
  for (const n of model.nodes.values()) {
    for (const a of n.status.addresses) ips.add(a.address);
    const c = parseCidr(n.spec.podCIDR);
    ips.add(c.network);
    ips.add(intToIp(ipToInt(c.network) + 1));
  }
  for (const p of model.pods.values()) ips.add(p.status.podIP);
  const keptSets = [[], ...names.map((n) => [n]), names, names.slice(1)];
  for (const kept of keptSets) {
    const keep = new Set(kept);
    for (const ip of ips)
      expect([kept, ip, ix.outside(keep, ip)]).toEqual([
        kept,
        ip,
        owners(model, ip).some((n) => !keep.has(n)),
      ]);
  }
  const ports = new Set<number>([80, 443, 30000]);
  for (const s of model.services.values())
    for (const p of s.spec.ports) {
      ports.add(p.port);
      if (p.nodePort !== undefined) ports.add(p.nodePort);
    }
  for (const port of ports)
    expect([port, ix.nodePortServices(port)]).toEqual([port, nodePortScan(model, port)]);
  const byInternalIP = new Map<string, string>();
  for (const [name, n] of model.nodes) byInternalIP.set(nodeInternalIP(n)!, name);
  expect([...ix.nodeByInternalIP]).toEqual([...byInternalIP]);
}

const node = (name: string, i: number, extra: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: `10.244.${i}.0/24` },
  status: {
    addresses: [
      { type: 'InternalIP', address: `192.168.1.${10 + i}` },
      { type: 'ExternalIP', address: `203.0.113.${10 + i}` },
    ],
  },
  ...extra,
});
type P = { ns?: string; name: string; node?: string; ip?: string; hostNetwork?: boolean };
const pod = ({ ns, name, node, ip, hostNetwork }: P) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns ?? 'a' },
  spec: {
    containers: [{ name: 'c' }],
    ...(node ? { nodeName: node } : {}),
    ...(hostNetwork ? { hostNetwork: true } : {}),
  },
  ...(ip ? { status: { podIP: ip } } : {}),
});
const service = (name: string, type: string, port: number, nodePort?: number) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'a' },
  spec: { type, selector: { app: name }, ports: [{ port, ...(nodePort ? { nodePort } : {}) }] },
});
const calico = {
  apiVersion: 'packeteye.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'c' },
  spec: { clusterCIDR: '10.244.0.0/16', cni: { plugin: 'calico' } },
};

const cases: [string, object[]][] = [
  [
    'pods on their nodes, one address twice, hostNetwork pods, addresses handed out',
    [
      node('n1', 0),
      node('n2', 1),
      node('n3', 2),
      pod({ name: 'x', node: 'n1', ip: '10.244.0.5' }),
      pod({ name: 'y', node: 'n2', ip: '10.244.0.5' }),
      pod({ name: 'z', node: 'n3', ip: '10.244.0.5' }),
      pod({ name: 'h', node: 'n2', hostNetwork: true }),
      pod({ name: 'g', node: 'n3', hostNetwork: true, ip: '192.168.1.99' }),
      pod({ name: 'm', node: 'n3' }),
      pod({ name: 'k', node: 'n1' }),
      service('np', 'NodePort', 80, 30080),
      service('lb', 'LoadBalancer', 443),
      service('np2', 'NodePort', 8080, 30080),
      service('c', 'ClusterIP', 80),
    ],
  ],
  [
    'calico: pods outside their node podCIDR, a name twice',
    [
      calico,
      node('n1', 0),
      node('n2', 1),
      pod({ name: 'x', node: 'n1', ip: '10.244.7.5' }),
      pod({ name: 'x', node: 'n2', ip: '10.244.9.5' }),
      pod({ name: 'w', node: 'n2', ip: '10.244.7.5' }),
    ],
  ],
  [
    'podCIDRs of several lengths (written with host bits, which the model clears)',
    [
      node('n1', 0, { spec: { podCIDR: '10.244.0.77/24' } }),
      node('n2', 1, { spec: { podCIDR: '10.245.3.9/16', podCIDRs: ['10.245.3.9/16'] } }),
      node('n3', 2, { spec: { podCIDR: '10.246.0.128/25' } }),
      pod({ name: 'x', node: 'n1', ip: '10.244.0.5' }),
      pod({ name: 'y', node: 'n2', ip: '10.245.200.5' }),
    ],
  ],
];

describe('clusterIndex answers as a scan of the model', () => {
  it.each(cases)('%s', (_, items) => {
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    check(buildModel(loadDocuments([{ path: 'c.json', text }]).objects).model, [
      '10.9.9.9',
      '8.8.8.8',
      'fd00::1',
    ]);
  });

  it.each(readdirSync('examples').filter((f) => f.endsWith('.yaml')))('examples/%s', (f) => {
    const path = `examples/${f}`;
    check(buildModel(loadDocuments([{ path, text: readFileSync(path, 'utf8') }]).objects).model);
  });
});
