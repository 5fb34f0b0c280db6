import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { ipNeighShow, ipRouteShow, bridgeFdbShow } from '../render/ip.js';
import { planTwin, type Twin } from '../twin/index.js';
import { Network } from '../kernel/network.js';
import { caliName } from './calico.js';
import { FlannelPlugin } from './flannel.js';

function twinOf(cni: string, opts: { annotations?: string; pod3?: string } = {}): Twin {
  const text = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  clusterCIDR: 10.244.0.0/16
  cni: ${cni}
  underlay: {cidr: 10.0.0.0/24, gateway: 10.0.0.1, mtu: 1500}
---
apiVersion: v1
kind: Node
metadata: {name: node1${opts.annotations ? `, annotations: ${opts.annotations}` : ''}}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.12}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default}
spec: {nodeName: node1, containers: [{name: c, image: x}]}
status: {podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: default}
spec: {nodeName: node2, containers: [{name: c, image: x}]}
status: {podIP: 10.244.2.7}
${
  opts.pod3
    ? `---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: default}
spec: {nodeName: node2, containers: [{name: c, image: x}]}
status: {podIP: ${opts.pod3}}`
    : ''
}
`;
  const loaded = loadDocuments([{ path: 't.yaml', text }]);
  const built = buildModel(loaded.objects);
  return planTwin(built.model).instantiate();
}

describe('flannel vxlan backend', () => {
  it('programs flannel.1, the onlink route, the permanent ARP entry and the FDB entry per remote node', () => {
    const t = twinOf('{plugin: flannel, backend: vxlan}');
    const n1 = t.host('node1');
    const mac2 = t.host('node2').getLink('flannel.1')!.mac;
    const l = n1.getLink('flannel.1')!;
    expect({ kind: l.kind, mtu: l.mtu }).toEqual({ kind: 'vxlan', mtu: 1450 });
    expect(n1.addressesOf('flannel.1').map((a) => `${a.local}/${a.prefix}`)).toEqual([
      '10.244.1.0/32',
    ]);
    expect(ipRouteShow(n1)).toContain('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink \n');
    expect(ipNeighShow(n1)).toBe(`10.244.2.0 dev flannel.1 lladdr ${mac2} PERMANENT \n`);
    expect(bridgeFdbShow(n1)).toContain(`${mac2} dev flannel.1 dst 10.0.0.12 self permanent\n`);
    // The delegate: cni0 and the pod's veth at FLANNEL_MTU, the pod routes FLANNEL_NETWORK via the gateway.
    expect(n1.getLink('cni0')!.mtu).toBe(1450);
    expect(ipRouteShow(t.host('default/a'))).toContain('10.244.0.0/16 via 10.244.1.1 dev eth0');
    expect(t.host('default/a').getLink('eth0')!.mtu).toBe(1450);
  });

  it("uses the VtepMAC of the node's backend-data annotation when there is one", () => {
    const t = twinOf('{plugin: flannel}', {
      annotations: `{flannel.alpha.coreos.com/backend-data: '{"VNI":1,"VtepMAC":"86:8e:21:3b:44:55"}'}`,
    });
    expect(t.host('node1').getLink('flannel.1')!.mac).toBe('86:8e:21:3b:44:55');
    expect(bridgeFdbShow(t.host('node2'))).toContain(
      '86:8e:21:3b:44:55 dev flannel.1 dst 10.0.0.11 self permanent',
    );
    expect(t.defaults.some((d) => d.object === 'Node node1' && d.field.includes('VtepMAC'))).toBe(
      false,
    );
  });

  it('installs flanneld masquerade rules', () => {
    const t = twinOf('{plugin: flannel}');
    const text = t.nodeRules.get('node1')!.text;
    expect(text).toContain(
      '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
    );
    expect(text).toContain(
      '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    );
  });
});

describe('flannel host-gw backend', () => {
  it('routes each remote lease via the node IP on eth0', () => {
    const t = twinOf('{plugin: flannel, backend: host-gw}');
    expect(ipRouteShow(t.host('node1'))).toContain('10.244.2.0/24 via 10.0.0.12 dev eth0 \n');
    expect(t.host('node1').getLink('flannel.1')).toBeUndefined();
    expect(t.host('node1').getLink('cni0')!.mtu).toBe(1500);
  });

  it('reports nodes that are not on one L2 segment and installs no route to them', () => {
    // The twin puts every node on one underlay segment, so build node1's namespace by hand
    // with a model whose node2 sits on another subnet.
    const text = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec: {clusterCIDR: 10.244.0.0/16, cni: {plugin: flannel, backend: host-gw}, underlay: {cidr: 10.0.0.0/24, gateway: 10.0.0.1}}
---
apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.1.0.12}]}
`;
    const model = buildModel(loadDocuments([{ path: 't.yaml', text }]).objects).model;
    const net = new Network();
    const h = net.addHost('node1', { loopbackUp: true });
    h.link.addEther('eth0');
    h.link.set('eth0', { up: true });
    h.addr.add('10.0.0.11/24', 'eth0');
    const plugin = new FlannelPlugin({ plugin: 'flannel', backend: 'host-gw' });
    plugin.setupNode({ model, node: model.nodes.get('node1')!, host: h });
    const d = plugin.diagnostics.filter((x) => x.code === 'flannel-host-gw-not-l2');
    expect(d.map((x) => x.object)).toEqual(['Node node1']);
    expect(d[0]!.message).toContain(
      "node2's 10.1.0.12 is not on node1's eth0 subnet (10.0.0.0/24)",
    );
    expect(ipRouteShow(h)).not.toContain('10.244.2.0/24');
  });
});

describe('calico', () => {
  it('names host veths cali + sha1("<ns>.<pod>")[:11], like libcalico-go', () => {
    // `printf default.a | sha1sum` = acd53aa4120be3224500a4a41929aa1cfea9943c
    expect(caliName('default', 'a')).toBe('caliacd53aa4120');
    expect(caliName('kube-system', 'coredns-1')).not.toBe(caliName('kube-system', 'coredns-2'));
  });

  it('plumbs a pod: /32 in the pod, 169.254.1.1 gateway, proxy_arp and ee:ee:… on the host side, a /32 route on the host', () => {
    const t = twinOf('{plugin: calico, encapsulation: None}');
    const pod = t.host('default/a');
    const n1 = t.host('node1');
    const iface = caliName('default', 'a');
    expect(ipRouteShow(pod)).toBe(
      'default via 169.254.1.1 dev eth0 \n169.254.1.1 dev eth0 scope link \n',
    );
    expect(pod.addressesOf('eth0').map((a) => `${a.local}/${a.prefix}`)).toEqual(['10.244.1.5/32']);
    expect(n1.getLink(iface)!.mac).toBe('ee:ee:ee:ee:ee:ee');
    expect(n1.sysctl.number(`net.ipv4.conf.${iface}.proxy_arp`)).toBe(1);
    expect(ipRouteShow(n1)).toContain(`10.244.1.5 dev ${iface} scope link \n`);
  });

  it('routes remote /26 blocks as BIRD does per encapsulation, with a blackhole for its own', () => {
    const none = ipRouteShow(twinOf('{plugin: calico, encapsulation: None}').host('node1'));
    expect(none).toContain('blackhole 10.244.1.0/26 proto bird \n');
    expect(none).toContain('10.244.2.0/26 via 10.0.0.12 dev eth0 proto bird \n');
    const ipip = twinOf('{plugin: calico, encapsulation: IPIP}');
    expect(ipRouteShow(ipip.host('node1'))).toContain(
      '10.244.2.0/26 via 10.0.0.12 dev tunl0 proto bird onlink \n',
    );
    expect(ipip.host('node1').getLink('tunl0')!.mtu).toBe(1480);
    expect(
      ipip
        .host('node1')
        .addressesOf('tunl0')
        .map((a) => a.local),
    ).toEqual(['10.244.1.0']);
    const vx = twinOf('{plugin: calico, encapsulation: VXLAN}');
    const n1 = vx.host('node1');
    const mac2 = vx.host('node2').getLink('vxlan.calico')!.mac;
    expect(ipRouteShow(n1)).toContain(
      '10.244.2.0/26 via 10.244.2.0 dev vxlan.calico proto 80 onlink \n',
    );
    expect(ipNeighShow(n1)).toContain(`10.244.2.0 dev vxlan.calico lladdr ${mac2} PERMANENT`);
    expect(bridgeFdbShow(n1)).toContain(`${mac2} dev vxlan.calico dst 10.0.0.12 self permanent`);
    expect(n1.getLink('vxlan.calico')!.mtu).toBe(1450);
  });

  it('advertises a borrowed address as a /32 from the node that uses it', () => {
    const t = twinOf('{plugin: calico, encapsulation: None}', { pod3: '10.244.1.9' });
    expect(t.diagnostics.map((d) => d.code)).toContain('calico-borrowed-ip');
    expect(ipRouteShow(t.host('node1'))).toContain(
      '10.244.1.9 via 10.0.0.12 dev eth0 proto bird \n',
    );
  });

  it('installs cali-nat-outgoing for a natOutgoing pool', () => {
    const t = twinOf('{plugin: calico, encapsulation: None}');
    expect(t.nodeRules.get('node1')!.text).toContain('cali-nat-outgoing');
  });
});
