import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { planTwin } from '../twin/index.js';
import { ipRouteShow } from '../render/ip.js';
import { cniChainName, containerId, vethName } from './names.js';

function cluster(cni: string): string {
  return `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: ${cni}
  underlay: {cidr: 192.168.1.0/24, gateway: 192.168.1.1}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: h, namespace: default}
spec: {nodeName: n1, hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
`;
}

function twinOf(cni: string) {
  const loaded = loadDocuments([{ path: 't.yaml', text: cluster(cni) }]);
  const built = buildModel(loaded.objects);
  expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return planTwin(built.model).instantiate();
}

describe('names', () => {
  it('veth names are veth + 8 hex, stable per pod, distinct across pods', () => {
    expect(vethName('default/a')).toMatch(/^veth[0-9a-f]{8}$/);
    expect(vethName('default/a')).toBe(vethName('default/a'));
    expect(vethName('default/a')).not.toBe(vethName('default/b'));
  });
  it('CNI chain names are CNI- + 24 hex of sha512(network + id), 28 chars (plugins/pkg/utils FormatChainName)', () => {
    const c = cniChainName('cbr0', containerId('default/a'));
    expect(c).toMatch(/^CNI-[0-9a-f]{24}$/);
    // sha512("abc") starts ddaf35a193617aba cc417349ae204131…
    expect(cniChainName('a', 'bc')).toBe('CNI-ddaf35a193617abacc417349');
  });
});

describe('bridge plugin', () => {
  it('builds cni0 with the gateway, the pod veth on it, eth0 with the pod IP and the default route', () => {
    const t = twinOf('{plugin: bridge}');
    const node = t.host('n1');
    const pod = t.host('default/a');
    const veth = vethName('default/a');
    expect(node.addressesOf('cni0').map((a) => `${a.local}/${a.prefix}`)).toEqual([
      '10.244.1.1/24',
    ]);
    expect(node.getLink(veth)?.master).toBe('cni0');
    expect(node.getLink(veth)?.port?.hairpin).toBe(false);
    expect(node.getLink(veth)?.peer).toEqual({ host: 'default/a', name: 'eth0' });
    expect(pod.addressesOf('eth0').map((a) => `${a.local}/${a.prefix}`)).toEqual(['10.244.1.5/24']);
    expect(pod.getLink('lo')?.adminUp).toBe(true);
    expect(ipRouteShow(pod)).toBe(
      'default via 10.244.1.1 dev eth0 \n10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.5 \n',
    );
    expect(node.sysctl.get('net.ipv4.ip_forward')).toBe(1);
    expect(node.sysctl.get('net.bridge.bridge-nf-call-iptables')).toBe(1);
    // Sockets: the pod's containerPort in its namespace; the hostNetwork pod's in the node's.
    expect(pod.sockets.findListener('tcp', '10.244.1.5', 80)).toBeDefined();
    expect(node.sockets.findListener('tcp', '192.168.1.10', 9100)).toBeDefined();
    expect(
      t
        .host('gateway')
        .route.list('main')
        .map((r) => `${r.dst.network}/${r.dst.prefix} via ${r.via}`),
    ).toContain('10.244.1.0/24 via 192.168.1.10');
  });

  it('hairpinMode: true sets hairpin on every pod port', () => {
    const t = twinOf('{plugin: bridge, hairpinMode: true}');
    expect(t.host('n1').getLink(vethName('default/a'))?.port?.hairpin).toBe(true);
  });

  it("ipMasq adds the CNI-… chain in nat POSTROUTING, after kube-proxy's jump", () => {
    const t = twinOf('{plugin: bridge, ipMasq: true}');
    const text = t.nodeRules.get('n1')!.text;
    const chain = cniChainName('cbr0', containerId('default/a'));
    const nat = text.slice(text.indexOf('*nat'));
    expect(nat).toContain(`:${chain} - [0:0]`);
    const post = nat.split('\n').filter((l) => l.startsWith('-A POSTROUTING'));
    expect(post[0]).toMatch(/KUBE-POSTROUTING/);
    expect(post[1]).toBe(
      `-A POSTROUTING -s 10.244.1.5/32 -m comment --comment "name: \\"cbr0\\" id: \\"${containerId('default/a')}\\"" -j ${chain}`,
    );
    expect(nat).toContain(`-A ${chain} -d 10.244.1.0/24 `);
    expect(nat).toMatch(new RegExp(`-A ${chain} ! -d 224\\.0\\.0\\.0/4 .*-j MASQUERADE`));
    expect(t.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});
